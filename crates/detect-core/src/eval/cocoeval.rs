//! A line-by-line port of pycocotools' `COCOeval` for boxes: `_prepare`, `computeIoU`,
//! `evaluateImg` and `accumulate`, keeping every order, tie rule and float operation that
//! can change a number: stable (mergesort) score sorts, GT sorted with ignored ones last,
//! `iou = min(t, 1 − 1e−10)`, matches stored as ids (an id of 0 reads as "unmatched", as it
//! does there), crowd IoU over the detection's area, `tp + fp + eps` and the right-to-left
//! precision envelope, `searchsorted(side='left')` on recall.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::params::Params;
use crate::labels::{CocoDataset, CocoResult};

/// A ground-truth object as COCOeval sees it.
#[derive(Debug, Clone)]
pub(crate) struct Gt {
    pub id: u64,
    pub bbox: [f64; 4],
    pub area: f64,
    pub iscrowd: bool,
}

/// A detection as `loadRes` makes it: id = position in the results + 1, area = w·h.
#[derive(Debug, Clone)]
pub(crate) struct Dt {
    pub id: u64,
    pub bbox: [f64; 4],
    pub area: f64,
    pub score: f64,
}

/// The objects of one (image, category) pair; detections sorted by descending score
/// (stable) and cut to the largest `max_dets`; `ious[d * G + g]` over GT in file order.
#[derive(Debug, Default)]
pub(crate) struct Cell {
    pub gts: Vec<Gt>,
    pub dts: Vec<Dt>,
    pub ious: Vec<f64>,
}

/// `evaluateImg`'s result: per threshold `t` and detection `d` at `t * D + d`.
#[derive(Debug, Clone)]
pub(crate) struct EvalImg {
    pub dt_scores: Vec<f64>,
    /// id of the matched GT, 0 when unmatched.
    pub dt_matches: Vec<u64>,
    pub dt_ignore: Vec<bool>,
    /// GT ignore flags, ignored ones last.
    pub gt_ignore: Vec<bool>,
}

impl EvalImg {
    fn num_dets(&self) -> usize {
        self.dt_scores.len()
    }
}

/// The evaluation grid: `cells[k][i]` for category k (or the pooled one) and image i.
pub(crate) struct Prepared {
    pub img_ids: Vec<u64>,
    pub cat_ids: Vec<Option<u64>>,
    pub cells: Vec<Vec<Cell>>,
}

/// `_prepare` and `computeIoU` for every image and category.
pub(crate) fn prepare(gt: &CocoDataset, dets: &[CocoResult], p: &Params) -> Prepared {
    let mut img_ids: Vec<u64> = gt.images.iter().map(|i| i.id).collect();
    img_ids.sort_unstable();
    img_ids.dedup();
    let cat_ids: Vec<Option<u64>> = if p.use_cats {
        let mut c: Vec<u64> = gt.categories.iter().map(|c| c.id).collect();
        c.sort_unstable();
        c.dedup();
        c.into_iter().map(Some).collect()
    } else {
        vec![None]
    };
    let img_index: HashMap<u64, usize> =
        img_ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let cat_index: HashMap<Option<u64>, usize> =
        cat_ids.iter().enumerate().map(|(k, &id)| (id, k)).collect();
    let key = |cat: u64| if p.use_cats { Some(cat) } else { None };

    let mut cells: Vec<Vec<Cell>> = (0..cat_ids.len())
        .map(|_| (0..img_ids.len()).map(|_| Cell::default()).collect())
        .collect();
    for a in &gt.annotations {
        if let (Some(&i), Some(&k)) = (
            img_index.get(&a.image_id),
            cat_index.get(&key(a.category_id)),
        ) {
            cells[k][i].gts.push(Gt {
                id: a.id,
                bbox: a.bbox,
                area: a.area,
                iscrowd: a.iscrowd != 0,
            });
        }
    }
    for (n, r) in dets.iter().enumerate() {
        if let (Some(&i), Some(&k)) = (
            img_index.get(&r.image_id),
            cat_index.get(&key(r.category_id)),
        ) {
            cells[k][i].dts.push(Dt {
                id: n as u64 + 1,
                bbox: r.bbox,
                area: r.bbox[2] * r.bbox[3],
                score: r.score,
            });
        }
    }
    let max_det = p.max_dets.last().copied().unwrap_or(0);
    for cell in cells.iter_mut().flatten() {
        sort_by_score(&mut cell.dts);
        cell.dts.truncate(max_det);
        cell.ious = box_ious(&cell.dts, &cell.gts);
    }
    Prepared {
        img_ids,
        cat_ids,
        cells,
    }
}

/// Stable sort by descending score: numpy's `argsort(-score, kind='mergesort')`.
fn sort_by_score(dts: &mut [Dt]) {
    dts.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal));
}

/// pycocotools' `bbIou` (maskApi.c), the same operations in the same order.
fn box_ious(dts: &[Dt], gts: &[Gt]) -> Vec<f64> {
    let g_n = gts.len();
    let mut o = vec![0.0; dts.len() * g_n];
    for (gi, g) in gts.iter().enumerate() {
        let gb = g.bbox;
        let ga = gb[2] * gb[3];
        for (di, d) in dts.iter().enumerate() {
            let db = d.bbox;
            let da = db[2] * db[3];
            let w = (db[2] + db[0]).min(gb[2] + gb[0]) - db[0].max(gb[0]);
            if w <= 0.0 {
                continue;
            }
            let h = (db[3] + db[1]).min(gb[3] + gb[1]) - db[1].max(gb[1]);
            if h <= 0.0 {
                continue;
            }
            let i = w * h;
            let u = if g.iscrowd { da } else { da + ga - i };
            o[di * g_n + gi] = i / u;
        }
    }
    o
}

/// `evaluateImg` for one cell, area range `[lo, hi]`, `max_det` and IoU thresholds.
pub(crate) fn evaluate_img(
    cell: &Cell,
    lo: f64,
    hi: f64,
    max_det: usize,
    iou_thrs: &[f64],
) -> Option<EvalImg> {
    if cell.gts.is_empty() && cell.dts.is_empty() {
        return None;
    }
    let ignore: Vec<bool> = cell
        .gts
        .iter()
        .map(|g| g.iscrowd || g.area < lo || g.area > hi)
        .collect();
    let mut gtind: Vec<usize> = (0..cell.gts.len()).collect();
    gtind.sort_by_key(|&g| ignore[g]);
    let gt_ignore: Vec<bool> = gtind.iter().map(|&g| ignore[g]).collect();
    let dts = &cell.dts[..cell.dts.len().min(max_det)];
    let (t_n, g_n, d_n) = (iou_thrs.len(), cell.gts.len(), dts.len());
    let mut gt_matches = vec![0u64; t_n * g_n];
    let mut dt_matches = vec![0u64; t_n * d_n];
    let mut dt_ignore = vec![false; t_n * d_n];
    for (t, &thr) in iou_thrs.iter().enumerate() {
        for (d, dt) in dts.iter().enumerate() {
            let mut best = thr.min(1.0 - 1e-10);
            let mut m: Option<usize> = None;
            for (gi, &g) in gtind.iter().enumerate() {
                if gt_matches[t * g_n + gi] > 0 && !cell.gts[g].iscrowd {
                    continue;
                }
                if let Some(mi) = m
                    && !gt_ignore[mi]
                    && gt_ignore[gi]
                {
                    break;
                }
                let v = cell.ious[d * g_n + g];
                if v < best {
                    continue;
                }
                best = v;
                m = Some(gi);
            }
            if let Some(mi) = m {
                dt_ignore[t * d_n + d] = gt_ignore[mi];
                dt_matches[t * d_n + d] = cell.gts[gtind[mi]].id;
                gt_matches[t * g_n + mi] = dt.id;
            }
        }
    }
    for (d, dt) in dts.iter().enumerate() {
        let outside = dt.area < lo || dt.area > hi;
        for t in 0..t_n {
            let i = t * d_n + d;
            dt_ignore[i] = dt_ignore[i] || (dt_matches[i] == 0 && outside);
        }
    }
    Some(EvalImg {
        dt_scores: dts.iter().map(|d| d.score).collect(),
        dt_matches,
        dt_ignore,
        gt_ignore,
    })
}

/// `accumulate`'s output. Precision `[T][R][K][A][M]`, recall `[T][K][A][M]`, row-major;
/// −1 where there was nothing to measure.
#[derive(Debug, Clone)]
pub struct Accumulated {
    pub dims: [usize; 5],
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
}

impl Accumulated {
    pub fn precision_at(&self, t: usize, r: usize, k: usize, a: usize, m: usize) -> f64 {
        let [_, rn, kn, an, mn] = self.dims;
        self.precision[(((t * rn + r) * kn + k) * an + a) * mn + m]
    }

    pub fn recall_at(&self, t: usize, k: usize, a: usize, m: usize) -> f64 {
        let [_, _, kn, an, mn] = self.dims;
        self.recall[((t * kn + k) * an + a) * mn + m]
    }
}

/// `evaluate` + `accumulate`: every (category, area range, image) evaluated at the
/// largest `max_dets`, then precision/recall per threshold, category, area and limit.
pub(crate) fn accumulate(prep: &Prepared, p: &Params) -> Accumulated {
    let (t_n, r_n, k_n, a_n, m_n) = (
        p.iou_thrs.len(),
        p.rec_thrs.len(),
        prep.cat_ids.len(),
        p.area_rngs.len(),
        p.max_dets.len(),
    );
    let max_det = p.max_dets.last().copied().unwrap_or(0);
    let mut acc = Accumulated {
        dims: [t_n, r_n, k_n, a_n, m_n],
        precision: vec![-1.0; t_n * r_n * k_n * a_n * m_n],
        recall: vec![-1.0; t_n * k_n * a_n * m_n],
    };
    for k in 0..k_n {
        for (a, rng) in p.area_rngs.iter().enumerate() {
            let evals: Vec<EvalImg> = prep.cells[k]
                .iter()
                .filter_map(|c| evaluate_img(c, rng.lo, rng.hi, max_det, &p.iou_thrs))
                .collect();
            if evals.is_empty() {
                continue;
            }
            for (m, &md) in p.max_dets.iter().enumerate() {
                fill_curves(&mut acc, &evals, md, p, [k, a, m]);
            }
        }
    }
    acc
}

/// The inner body of `accumulate` for one (category, area range, limit).
fn fill_curves(
    acc: &mut Accumulated,
    evals: &[EvalImg],
    max_det: usize,
    p: &Params,
    kam: [usize; 3],
) {
    let [k, a, m] = kam;
    let [t_n, r_n, k_n, a_n, m_n] = acc.dims;
    let mut scores = Vec::new();
    // (eval index, detection index) in concatenation order.
    let mut refs = Vec::new();
    for (e, ev) in evals.iter().enumerate() {
        let n = ev.num_dets().min(max_det);
        scores.extend_from_slice(&ev.dt_scores[..n]);
        refs.extend((0..n).map(|d| (e, d)));
    }
    let mut inds: Vec<usize> = (0..scores.len()).collect();
    inds.sort_by(|&x, &y| scores[y].partial_cmp(&scores[x]).unwrap_or(Ordering::Equal));
    let npig = evals
        .iter()
        .flat_map(|e| e.gt_ignore.iter())
        .filter(|&&ig| !ig)
        .count();
    if npig == 0 {
        return;
    }
    for t in 0..t_n {
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut rc = Vec::with_capacity(inds.len());
        let mut pr = Vec::with_capacity(inds.len());
        for &i in &inds {
            let (e, d) = refs[i];
            let ev = &evals[e];
            let at = t * ev.num_dets() + d;
            if !ev.dt_ignore[at] {
                if ev.dt_matches[at] != 0 {
                    tp += 1;
                } else {
                    fp += 1;
                }
            }
            let (tpf, fpf) = (tp as f64, fp as f64);
            rc.push(tpf / npig as f64);
            pr.push(tpf / (fpf + tpf + f64::EPSILON));
        }
        let nd = rc.len();
        acc.recall[((t * k_n + k) * a_n + a) * m_n + m] = if nd > 0 { rc[nd - 1] } else { 0.0 };
        for i in (1..nd).rev() {
            if pr[i] > pr[i - 1] {
                pr[i - 1] = pr[i];
            }
        }
        // pycocotools stops filling at the first recall point out of reach (its try/except
        // around an IndexError); those points keep precision 0.
        let mut q = vec![0.0; r_n];
        for (r, &thr) in p.rec_thrs.iter().enumerate() {
            let pi = rc.partition_point(|&x| x < thr);
            if pi >= nd {
                break;
            }
            q[r] = pr[pi];
        }
        for (r, v) in q.into_iter().enumerate() {
            acc.precision[(((t * r_n + r) * k_n + k) * a_n + a) * m_n + m] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(id: u64, bbox: [f64; 4], iscrowd: bool) -> Gt {
        Gt {
            id,
            bbox,
            area: bbox[2] * bbox[3],
            iscrowd,
        }
    }

    fn dt(id: u64, bbox: [f64; 4], score: f64) -> Dt {
        Dt {
            id,
            bbox,
            area: bbox[2] * bbox[3],
            score,
        }
    }

    #[test]
    fn crowd_iou_divides_by_detection_area() {
        let g = [
            gt(1, [0.0, 0.0, 10.0, 10.0], true),
            gt(2, [0.0, 0.0, 10.0, 10.0], false),
        ];
        let d = [dt(1, [5.0, 5.0, 10.0, 10.0], 0.9)];
        let o = box_ious(&d, &g);
        assert_eq!(o, vec![25.0 / 100.0, 25.0 / 175.0]);
    }

    #[test]
    fn crowd_absorbs_many_detections_which_are_then_ignored() {
        let mut cell = Cell {
            gts: vec![gt(5, [0.0, 0.0, 100.0, 100.0], true)],
            dts: vec![
                dt(1, [0.0, 0.0, 10.0, 10.0], 0.9),
                dt(2, [50.0, 50.0, 10.0, 10.0], 0.8),
            ],
            ious: Vec::new(),
        };
        cell.ious = box_ious(&cell.dts, &cell.gts);
        let e = evaluate_img(&cell, 0.0, 1e10, 100, &[0.5]).unwrap();
        assert_eq!(e.dt_matches, vec![5, 5]);
        assert_eq!(e.dt_ignore, vec![true, true]);
        assert_eq!(e.gt_ignore, vec![true]);
    }

    #[test]
    fn regular_gt_is_preferred_over_ignored_gt() {
        // The detection overlaps an ignored (crowd) GT more, but a regular GT comes first
        // in the sorted order and is matched before the loop breaks at the ignored one.
        let mut cell = Cell {
            gts: vec![
                gt(1, [0.0, 0.0, 10.0, 10.0], true),
                gt(2, [2.0, 0.0, 10.0, 10.0], false),
            ],
            dts: vec![dt(1, [0.0, 0.0, 10.0, 10.0], 0.9)],
            ious: Vec::new(),
        };
        cell.ious = box_ious(&cell.dts, &cell.gts);
        let e = evaluate_img(&cell, 0.0, 1e10, 100, &[0.5]).unwrap();
        assert_eq!(e.dt_matches, vec![2]);
        assert_eq!(e.dt_ignore, vec![false]);
        assert_eq!(e.gt_ignore, vec![false, true]);
    }
}

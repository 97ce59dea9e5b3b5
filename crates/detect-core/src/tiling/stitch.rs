//! Stitching per-tile detections back into one scene list.
//!
//! 1. Each box moves to scene pixels and is clipped to the scene.
//! 2. A box touching an inner tile edge (within `edge_margin`) may be a part of a basin
//!    that continues in the neighbouring tile: it is *cut*.
//! 3. A cut box that an uncut box from another tile covers (`covered_thr` of its extent
//!    along the axes where it is not cut, touching it across the cut ones) is that basin
//!    seen whole there: the cut one goes.
//! 4. The remaining cut boxes are parts of basins no tile saw whole (overlap smaller than
//!    the basin, or none, as in the paper): parts on the two sides of a shared tile edge,
//!    each touching its side of it and overlapping along it (1-D IoS ≥ `merge_thr`), are
//!    merged into their union, with the best score. (This is SAHI's greedy merging with a
//!    test that also works without overlap: there the two parts only abut, so their IoS,
//!    which `nms::merge_partial` uses, is 0.)
//! 5. Greedy NMS (`nms_iou`) removes basins reported whole by several tiles.

use serde::{Deserialize, Serialize};

use super::plan::{Tile, TilePlan};
use crate::bbox::{BBox, Detection};
use crate::nms::nms;

/// The detections of one tile, in tile pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct TileDetections {
    pub tile: Tile,
    pub dets: Vec<Detection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StitchParams {
    /// How close (pixels) to an inner tile edge a box must come to count as cut. A network's
    /// box edges land within a few pixels of where they should: 4 by default.
    pub edge_margin: f64,
    /// Share of a cut box's extent (along each axis where it is not cut) an uncut box from
    /// another tile must cover to replace it.
    pub covered_thr: f64,
    /// 1-D intersection over the shorter extent, along the shared edge, to merge two parts.
    pub merge_thr: f64,
    /// IoU above which NMS drops the lower-scored of two boxes.
    pub nms_iou: f64,
    /// Boxes kept at the score threshold that overlap by at least this intersection over the
    /// smaller box become one box (their union, the higher score): one bowl, one box. The
    /// network often boxes the panels of one mine apart where the labels (and a person) draw
    /// the bowl they form together; on the validation scenes merging at 0.3 raised F1 from
    /// 0.745 to 0.791 (docs/results.md). Above 1: never merge.
    pub bowl_ios: f64,
    /// Only boxes scoring at least this (and the threshold asked for) join bowls: the model's
    /// operating point. A list down to a low score (for AP, or a user's low `--score`) is then
    /// the operating point's boxes plus the fainter ones as found, instead of faint boxes
    /// chaining into large unions that no basin has.
    pub bowl_from: f64,
}

impl Default for StitchParams {
    fn default() -> Self {
        Self {
            edge_margin: 4.0,
            covered_thr: 0.8,
            merge_thr: 0.5,
            nms_iou: 0.5,
            bowl_ios: 0.3,
            bowl_from: 0.0,
        }
    }
}

/// A detection in scene pixels with where it came from.
#[derive(Debug, Clone, Copy)]
struct Piece {
    det: Detection,
    tile: Tile,
    /// Cut at the left, top, right, bottom edge of its tile.
    cut: [bool; 4],
}

impl Piece {
    fn is_cut(&self) -> bool {
        self.cut.iter().any(|&c| c)
    }
}

/// Stitches per-tile detections into scene detections, by descending score.
pub fn stitch(plan: &TilePlan, tiles: &[TileDetections], p: &StitchParams) -> Vec<Detection> {
    let pieces = to_scene(plan, tiles, p.edge_margin);
    let (whole, cut): (Vec<Piece>, Vec<Piece>) = pieces.into_iter().partition(|pc| !pc.is_cut());
    let orphans: Vec<Piece> = cut
        .into_iter()
        .filter(|c| !seen_whole_elsewhere(c, &whole, p.covered_thr, p.edge_margin))
        .collect();
    let mut candidates: Vec<Detection> = whole.iter().map(|pc| pc.det).collect();
    candidates.extend(merge_parts(&orphans, p.merge_thr, p.edge_margin));
    nms(&candidates, p.nms_iou)
        .into_iter()
        .map(|i| candidates[i])
        .collect()
}

fn to_scene(plan: &TilePlan, tiles: &[TileDetections], margin: f64) -> Vec<Piece> {
    let (w, h) = (plan.scene_width as f64, plan.scene_height as f64);
    let mut out = Vec::new();
    for td in tiles {
        let t = td.tile;
        let inner = plan.inner_edges(&t);
        let r = t.rect();
        for d in &td.dets {
            let bbox = d.bbox.translate(t.x0 as f64, t.y0 as f64).clip(w, h);
            if !bbox.is_proper() {
                continue;
            }
            let cut = [
                inner[0] && bbox.x1 <= r.x1 + margin,
                inner[1] && bbox.y1 <= r.y1 + margin,
                inner[2] && bbox.x2 >= r.x2 - margin,
                inner[3] && bbox.y2 >= r.y2 - margin,
            ];
            out.push(Piece {
                det: Detection {
                    bbox,
                    score: d.score,
                },
                tile: t,
                cut,
            });
        }
    }
    out
}

/// True when an uncut box from another tile is the basin `c` is a part of. Across a cut
/// side, `c`'s extent says little (it stops at the tile edge, and a thin strip there is
/// only a few pixels of imprecise box): the two need only meet along that axis, within the
/// margin. Along an axis where `c` is not cut, its extent is the basin's, and the whole box,
/// widened by the margin for the imprecision of box edges, must cover `covered_thr` of it.
fn seen_whole_elsewhere(c: &Piece, whole: &[Piece], covered_thr: f64, margin: f64) -> bool {
    let b = &c.det.bbox;
    let cut_x = c.cut[0] || c.cut[2];
    let cut_y = c.cut[1] || c.cut[3];
    let axis_ok = |cut: bool, (p1, p2): (f64, f64), (w1, w2): (f64, f64)| {
        if cut {
            w1 <= p2 + margin && p1 <= w2 + margin
        } else {
            p2 > p1
                && (p2.min(w2 + margin) - p1.max(w1 - margin)).max(0.0) / (p2 - p1) >= covered_thr
        }
    };
    whole.iter().any(|w| {
        let wb = &w.det.bbox;
        (w.tile.row, w.tile.col) != (c.tile.row, c.tile.col)
            && axis_ok(cut_x, (b.x1, b.x2), (wb.x1, wb.x2))
            && axis_ok(cut_y, (b.y1, b.y2), (wb.y1, wb.y2))
    })
}

/// Unions of parts that continue one another across tile edges (union-find).
fn merge_parts(parts: &[Piece], merge_thr: f64, margin: f64) -> Vec<Detection> {
    let mut parent: Vec<usize> = (0..parts.len()).collect();
    for i in 0..parts.len() {
        for j in i + 1..parts.len() {
            if continues(&parts[i], &parts[j], merge_thr, margin)
                || continues(&parts[j], &parts[i], merge_thr, margin)
            {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut groups: Vec<Option<Detection>> = vec![None; parts.len()];
    for (i, part) in parts.iter().enumerate() {
        let r = root(&mut parent, i);
        let d = part.det;
        groups[r] = Some(match groups[r] {
            None => d,
            Some(g) => Detection {
                bbox: g.bbox.enclosing(&d.bbox),
                score: g.score.max(d.score),
            },
        });
    }
    groups.into_iter().flatten().collect()
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// True when `b` continues `a` past `a`'s right or bottom edge: neighbouring tiles, `a`
/// cut on that side, `b` cut on the facing side, the two meeting across the edge, and
/// overlapping along it.
fn continues(a: &Piece, b: &Piece, merge_thr: f64, margin: f64) -> bool {
    let (ta, tb) = (a.tile, b.tile);
    let (ba, bb) = (a.det.bbox, b.det.bbox);
    let horizontal = tb.col == ta.col + 1
        && tb.row.abs_diff(ta.row) <= 1
        && a.cut[2]
        && b.cut[0]
        && bb.x1 <= ba.x2 + 2.0 * margin
        && overlap_1d(ba.y1, ba.y2, bb.y1, bb.y2) >= merge_thr;
    let vertical = tb.row == ta.row + 1
        && tb.col.abs_diff(ta.col) <= 1
        && a.cut[3]
        && b.cut[1]
        && bb.y1 <= ba.y2 + 2.0 * margin
        && overlap_1d(ba.x1, ba.x2, bb.x1, bb.x2) >= merge_thr;
    horizontal || vertical
}

/// Length of the common part of two intervals over the shorter one's length.
fn overlap_1d(a1: f64, a2: f64, b1: f64, b2: f64) -> f64 {
    let shorter = (a2 - a1).min(b2 - b1);
    if shorter <= 0.0 {
        return 0.0;
    }
    ((a2.min(b2) - a1.max(b1)).max(0.0)) / shorter
}

/// The boxes a perfect detector would report in `tile`: each box's part inside the tile
/// and the scene, in tile pixels, score 1. For tests and for checking a tiling plan.
pub fn perfect_tile_detections(plan: &TilePlan, tile: &Tile, boxes: &[BBox]) -> TileDetections {
    let scene = BBox::new(0.0, 0.0, plan.scene_width as f64, plan.scene_height as f64);
    let area = tile.rect().intersection(&scene);
    let dets = boxes
        .iter()
        .filter_map(|b| area.and_then(|a| a.intersection(b)))
        .map(|b| Detection {
            bbox: b.translate(-(tile.x0 as f64), -(tile.y0 as f64)),
            score: 1.0,
        })
        .collect();
    TileDetections { tile: *tile, dets }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalOptions, evaluate};
    use crate::labels::{CocoDataset, CocoResult, ImageLabels, LabeledBox};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Random boxes of 20–150 px, at least `gap` apart from one another.
    fn random_boxes(rng: &mut ChaCha8Rng, w: usize, h: usize, n: usize, gap: f64) -> Vec<BBox> {
        let mut out: Vec<BBox> = Vec::new();
        while out.len() < n {
            let (bw, bh) = (rng.random_range(20.0..150.0), rng.random_range(20.0..150.0));
            let x = rng.random_range(0.0..w as f64 - bw).round();
            let y = rng.random_range(0.0..h as f64 - bh).round();
            let b = BBox::new(x, y, x + bw.round(), y + bh.round());
            let grown = BBox::new(b.x1 - gap, b.y1 - gap, b.x2 + gap, b.y2 + gap);
            if out.iter().all(|o| o.intersection_area(&grown) == 0.0) {
                out.push(b);
            }
        }
        out
    }

    fn stitched_boxes(plan: &TilePlan, truth: &[BBox]) -> Vec<Detection> {
        let per_tile: Vec<TileDetections> = plan
            .tiles()
            .map(|t| perfect_tile_detections(plan, &t, truth))
            .collect();
        stitch(plan, &per_tile, &StitchParams::default())
    }

    fn sorted(mut v: Vec<BBox>) -> Vec<BBox> {
        v.sort_by(|a, b| (a.x1, a.y1).partial_cmp(&(b.x1, b.y1)).unwrap());
        v
    }

    fn ap50(w: usize, h: usize, truth: &[BBox], found: &[Detection]) -> f64 {
        let labels = ImageLabels {
            file_name: "scene".into(),
            width: w as u32,
            height: h as u32,
            boxes: truth.iter().map(|&b| LabeledBox::new(b, 0)).collect(),
        };
        let gt = CocoDataset::from_labels(&[labels], &["basin".into()]);
        let dets: Vec<CocoResult> = found
            .iter()
            .map(|d| CocoResult {
                image_id: 1,
                category_id: 1,
                bbox: d.bbox.to_xywh(),
                score: d.score,
            })
            .collect();
        let r = evaluate(&gt, &dets, &EvalOptions::with_max_dets(1000, 0.5)).unwrap();
        r.large_limit.map_or(-1.0, |l| l.ap50)
    }

    #[test]
    fn perfect_tiles_stitch_back_to_the_scene_boxes() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (w, h) = (2300, 1700);
        let truth = random_boxes(&mut rng, w, h, 60, 12.0);
        let plan = TilePlan::new(w, h, 416, 160).unwrap();
        let found = stitched_boxes(&plan, &truth);
        assert_eq!(
            sorted(found.iter().map(|d| d.bbox).collect()),
            sorted(truth.clone())
        );
        assert_eq!(ap50(w, h, &truth, &found), 1.0);
    }

    #[test]
    fn paper_tiling_without_overlap_merges_the_parts() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (w, h) = (1900, 1500);
        let truth = random_boxes(&mut rng, w, h, 40, 12.0);
        let plan = TilePlan::new(w, h, 416, 0).unwrap();
        let cut_by_grid = truth
            .iter()
            .filter(|b| !plan.tiles().any(|t| t.rect().contains(b)))
            .count();
        assert!(
            cut_by_grid > 3,
            "the test needs basins cut by tile edges ({cut_by_grid})"
        );
        let found = stitched_boxes(&plan, &truth);
        assert_eq!(
            sorted(found.iter().map(|d| d.bbox).collect()),
            sorted(truth.clone())
        );
        assert_eq!(ap50(w, h, &truth, &found), 1.0);
    }

    #[test]
    fn imprecise_tile_boxes_still_give_one_box_per_basin() {
        // Each tile reports its view of a basin with every edge off by up to 2 px, as a
        // network would: no duplicates, no lost basins, AP50 still 1.
        for seed in 0..SEEDS {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (w, h) = (2000, 1600);
            let truth = random_boxes(&mut rng, w, h, 50, 16.0);
            jittered_case(&mut rng, w, h, &truth, seed);
        }
    }

    const SEEDS: u64 = 8;

    fn jittered_case(rng: &mut ChaCha8Rng, w: usize, h: usize, truth: &[BBox], seed: u64) {
        for overlap in [0, 160] {
            let plan = TilePlan::new(w, h, 416, overlap).unwrap();
            let per_tile: Vec<TileDetections> = plan
                .tiles()
                .map(|t| {
                    let mut td = perfect_tile_detections(&plan, &t, truth);
                    let (tw, th) = (t.width as f64, t.height as f64);
                    for d in &mut td.dets {
                        let mut j = || rng.random_range(-2.0..2.0);
                        let b = &d.bbox;
                        d.bbox =
                            BBox::new(b.x1 + j(), b.y1 + j(), b.x2 + j(), b.y2 + j()).clip(tw, th);
                        d.score = rng.random_range(0.5..1.0);
                    }
                    td
                })
                .collect();
            let found = stitch(&plan, &per_tile, &StitchParams::default());
            assert_eq!(found.len(), truth.len(), "seed {seed}, overlap {overlap}");
            assert_eq!(
                ap50(w, h, truth, &found),
                1.0,
                "seed {seed}, overlap {overlap}"
            );
        }
    }

    #[test]
    fn basin_larger_than_the_overlap_is_merged() {
        // 300 px wide: no tile of the 416/100 plan holds it whole.
        let truth = [BBox::new(250.0, 40.0, 550.0, 200.0)];
        let plan = TilePlan::new(1000, 416, 416, 100).unwrap();
        let found = stitched_boxes(&plan, &truth);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].bbox, truth[0]);
    }

    #[test]
    fn a_cut_part_next_to_an_unrelated_whole_box_is_kept() {
        let plan = TilePlan::new(832, 416, 416, 0).unwrap();
        let (a, b) = (plan.tile_at(0, 0), plan.tile_at(0, 1));
        let tiles = [
            // A part touching the inner edge x = 416 from the left…
            TileDetections {
                tile: a,
                dets: vec![Detection {
                    bbox: BBox::new(380.0, 10.0, 416.0, 60.0),
                    score: 0.7,
                }],
            },
            // …and a small whole basin elsewhere in the right tile.
            TileDetections {
                tile: b,
                dets: vec![Detection {
                    bbox: BBox::new(100.0, 300.0, 140.0, 340.0),
                    score: 0.9,
                }],
            },
        ];
        let out = stitch(&plan, &tiles, &StitchParams::default());
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].bbox, BBox::new(380.0, 10.0, 416.0, 60.0));
    }
}

//! `COCOeval.summarize`: means over the accumulated arrays, −1 entries left out.

use super::cocoeval::Accumulated;
use super::params::Params;

/// Which slice of the accumulated arrays to average.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice<'a> {
    /// Average precision (true) or recall (false).
    pub ap: bool,
    /// One IoU threshold (exact match, as `np.where(iouThr == p.iouThrs)`), or all.
    pub iou: Option<f64>,
    pub area: &'a str,
    pub max_det: usize,
}

/// The mean of the selected entries that are not −1; −1 when none is.
pub(crate) fn summarize(acc: &Accumulated, p: &Params, s: Slice<'_>) -> f64 {
    let [t_n, r_n, k_n, _, _] = acc.dims;
    let (Some(a), Some(m)) = (p.area_index(s.area), p.max_det_index(s.max_det)) else {
        return -1.0;
    };
    let ts: Vec<usize> = match s.iou {
        Some(thr) => p.iou_index(thr).into_iter().collect(),
        None => (0..t_n).collect(),
    };
    let mut sum = 0.0;
    let mut n = 0usize;
    let mut add = |v: f64| {
        if v > -1.0 {
            sum += v;
            n += 1;
        }
    };
    for &t in &ts {
        for k in 0..k_n {
            if s.ap {
                (0..r_n).for_each(|r| add(acc.precision_at(t, r, k, a, m)));
            } else {
                add(acc.recall_at(t, k, a, m));
            }
        }
    }
    if n == 0 { -1.0 } else { sum / n as f64 }
}

/// The twelve numbers `COCOeval.stats` holds, with their usual names; AP rows and the
/// size-class AR rows use `max_dets[2]`, the AR rows `max_dets[0..3]`.
pub(crate) fn coco_stats(acc: &Accumulated, p: &Params) -> Vec<(String, f64)> {
    let md = |i: usize| p.max_dets.get(i).copied().unwrap_or(0);
    let ap = |iou: Option<f64>, area: &'static str| Slice {
        ap: true,
        iou,
        area,
        max_det: md(2),
    };
    let ar = |area: &'static str, max_det: usize| Slice {
        ap: false,
        iou: None,
        area,
        max_det,
    };
    let rows: [(String, Slice<'_>); 12] = [
        ("AP".into(), ap(None, "all")),
        ("AP50".into(), ap(Some(0.5), "all")),
        ("AP75".into(), ap(Some(0.75), "all")),
        ("AP_small".into(), ap(None, "small")),
        ("AP_medium".into(), ap(None, "medium")),
        ("AP_large".into(), ap(None, "large")),
        (format!("AR{}", md(0)), ar("all", md(0))),
        (format!("AR{}", md(1)), ar("all", md(1))),
        (format!("AR{}", md(2)), ar("all", md(2))),
        ("AR_small".into(), ar("small", md(2))),
        ("AR_medium".into(), ar("medium", md(2))),
        ("AR_large".into(), ar("large", md(2))),
    ];
    rows.into_iter()
        .map(|(name, s)| (name, summarize(acc, p, s)))
        .collect()
}

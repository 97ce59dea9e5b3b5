//! COCOeval's parameters (iouType "bbox"), with its thresholds computed bit for bit as
//! numpy's `linspace` computes them: `i · ((stop − start)/(n − 1)) + start`, last = stop.
//! (the ninth is 0.8999999999999999, not 0.9; the thresholds must be the same doubles for the
//! `iou >= t` tests and `searchsorted` to fall the same way.)

use serde::{Deserialize, Serialize};

/// numpy's `np.linspace(start, stop, num)` (endpoint included).
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

/// A named object-size class: GT objects whose `area` lies in `[lo, hi]` (both inclusive,
/// as in COCOeval) count; others are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaRange {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
}

/// What COCOeval's `Params` holds for boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// IoU thresholds, default `np.linspace(.5, .95, 10)`.
    pub iou_thrs: Vec<f64>,
    /// Recall points, default `np.linspace(0, 1, 101)`.
    pub rec_thrs: Vec<f64>,
    /// Detections kept per image (highest scores), ascending; the summary's AP and AR use
    /// the third entry (100) as pycocotools does, the AR rows the first three.
    pub max_dets: Vec<usize>,
    pub area_rngs: Vec<AreaRange>,
    /// Evaluate per category and average (true), or pool all categories (false).
    pub use_cats: bool,
}

impl Default for Params {
    fn default() -> Self {
        let big = 1e5f64.powi(2);
        let rng = |label: &str, lo: f64, hi: f64| AreaRange {
            label: label.into(),
            lo,
            hi,
        };
        Self {
            iou_thrs: linspace(0.5, 0.95, 10),
            rec_thrs: linspace(0.0, 1.0, 101),
            max_dets: vec![1, 10, 100],
            area_rngs: vec![
                rng("all", 0.0, big),
                rng("small", 0.0, 32f64.powi(2)),
                rng("medium", 32f64.powi(2), 96f64.powi(2)),
                rng("large", 96f64.powi(2), big),
            ],
            use_cats: true,
        }
    }
}

impl Params {
    /// COCO defaults plus one more per-image detection limit above 100: whole scenes hold
    /// more than 100 basins. The standard summary still reads the limit 100; a limit of
    /// 100 or less adds nothing.
    pub fn with_extra_max_dets(extra: usize) -> Self {
        let mut p = Self::default();
        if p.max_dets.last().is_some_and(|&m| extra > m) {
            p.max_dets.push(extra);
            p.max_dets.sort_unstable();
        }
        p
    }

    /// Index of `thr` in `iou_thrs` by exact equality, as `np.where(iouThr == p.iouThrs)`.
    pub fn iou_index(&self, thr: f64) -> Option<usize> {
        self.iou_thrs.iter().position(|&t| t == thr)
    }

    pub fn area_index(&self, label: &str) -> Option<usize> {
        self.area_rngs.iter().position(|a| a.label == label)
    }

    pub fn max_det_index(&self, max_det: usize) -> Option<usize> {
        self.max_dets.iter().position(|&m| m == max_det)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy_doubles() {
        // Values printed by numpy 2.x: np.linspace(.5, .95, 10) and np.linspace(0, 1, 101).
        let iou = linspace(0.5, 0.95, 10);
        assert_eq!(iou[0], 0.5);
        assert_eq!(iou[1], 0.55);
        assert_eq!(iou[3], 0.65);
        assert_eq!(iou[5], 0.75);
        assert_eq!(iou[8], 0.8999999999999999);
        assert_eq!(iou[9], 0.95);
        let rec = linspace(0.0, 1.0, 101);
        assert_eq!(rec[3], 0.03);
        assert_eq!(rec[7], 0.07);
        assert_eq!(rec[29], 0.29);
        assert_eq!(rec[35], 0.35000000000000003);
        assert_eq!(rec[69], 0.6900000000000001);
        assert_eq!(rec[57], 0.5700000000000001);
        assert_eq!(rec[100], 1.0);
    }

    #[test]
    fn extra_max_dets_is_sorted_in() {
        assert_eq!(
            Params::with_extra_max_dets(1000).max_dets,
            vec![1, 10, 100, 1000]
        );
        assert_eq!(Params::with_extra_max_dets(100).max_dets, vec![1, 10, 100]);
        assert_eq!(Params::with_extra_max_dets(50).max_dets, vec![1, 10, 100]);
    }
}

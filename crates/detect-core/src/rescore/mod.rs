//! A second look at each box the network finds: measures of the phase in and around it
//! ([`features`]) weighed by a logistic model ([`logistic`], with boosted [`trees`] on top)
//! fitted on simulated scenes, so
//! that a box's final score says how likely it is a basin given what the network saw *and*
//! what the phase does there (an incoherent core in a coherent fringe rim, radial order,
//! how crowded with look-alikes the window is).
//!
//! It runs per window, before stitching, on the same phasors the network was given.

pub mod features;
pub mod logistic;
pub mod trees;

pub use features::{FEATURE_NAMES, FEATURES, Features, Phasors, WindowStats, box_features};
pub use logistic::{RescoreError, Rescorer};
pub use trees::Boosting;

use rayon::prelude::*;

use crate::iou::iou;
use crate::{BBox, Detection};

/// The features of every detection of one window (`dets` in window pixels), in order.
pub fn window_features(p: &Phasors, dets: &[Detection]) -> Vec<Features> {
    if dets.is_empty() || !p.is_consistent() {
        return vec![[0.0; FEATURES]; dets.len()];
    }
    let stats = features::window_stats(p);
    let valid = p
        .cos
        .iter()
        .zip(p.sin)
        .filter(|(c, s)| **c != 0.0 || **s != 0.0)
        .count();
    let crowd = dets.len() as f64 * 1e6 / valid.max(1) as f64;
    let measured: Vec<(Features, f64)> = dets
        .par_iter()
        .map(|d| features::measure(p, &d.bbox, d.score, stats, crowd))
        .collect();
    let signed: Vec<f64> = measured.iter().map(|m| m.1).collect();
    let scores: Vec<f64> = dets.iter().map(|d| d.score).collect();
    measured
        .into_iter()
        .zip(features::sign_agreement(&signed, &scores))
        .map(|((mut f, _), agree)| {
            f[features::SIGN_AGREEMENT] = agree;
            f
        })
        .collect()
}

/// Replaces each detection's score with the rescorer's probability.
pub fn rescore(rescorer: &Rescorer, dets: &mut [Detection], features: &[Features]) {
    for (d, f) in dets.iter_mut().zip(features) {
        d.score = rescorer.score(f);
    }
}

/// Whether each of a window's boxes is a basin for fitting: IoU ≥ `iou` with a true box
/// clipped to the window (a basin cut by the window's edge is seen only in part there).
/// `window` is the window's square in scene pixels, `dets` in window pixels, `truth` in
/// scene pixels.
pub fn labels(window: &BBox, dets: &[Detection], truth: &[BBox], iou_min: f64) -> Vec<bool> {
    let clipped: Vec<BBox> = truth
        .iter()
        .filter_map(|t| t.intersection(window))
        .map(|t| {
            BBox::new(
                t.x1 - window.x1,
                t.y1 - window.y1,
                t.x2 - window.x1,
                t.y2 - window.y1,
            )
        })
        .collect();
    dets.iter()
        .map(|d| clipped.iter().any(|t| iou(&d.bbox, t) >= iou_min))
        .collect()
}

/// Uniform draws in [0, 1) from a fixed LCG, for tests: the same sequence on every machine.
#[cfg(test)]
pub(crate) fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_truth_clipped_to_the_window() {
        let window = BBox::new(100.0, 100.0, 200.0, 200.0);
        // A basin crossing the window's left edge: its visible part is (0, 10)–(20, 30).
        let truth = [
            BBox::new(80.0, 110.0, 120.0, 130.0),
            BBox::new(500.0, 500.0, 510.0, 510.0),
        ];
        let det = |x1, y1, x2, y2| Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score: 0.5,
        };
        let dets = [
            det(0.0, 10.0, 20.0, 30.0),
            det(0.0, 10.0, 40.0, 60.0),
            det(60.0, 60.0, 70.0, 70.0),
        ];
        assert_eq!(
            labels(&window, &dets, &truth, 0.5),
            vec![true, false, false]
        );
    }

    #[test]
    fn inconsistent_planes_give_zero_features() {
        let (c, s) = (vec![1.0f32; 16], vec![0.0f32; 15]);
        let p = Phasors {
            cos: &c,
            sin: &s,
            width: 4,
            height: 4,
        };
        let dets = [Detection {
            bbox: BBox::new(0.0, 0.0, 2.0, 2.0),
            score: 0.9,
        }];
        assert_eq!(window_features(&p, &dets), vec![[0.0; FEATURES]]);
    }
}

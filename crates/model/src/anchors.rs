//! Anchors fitted to a data set for the YOLOv5 baseline: k-means (k = 9) on box sizes with
//! 1 − IoU as the distance (boxes compared as if sharing a corner, YOLOv2's choice, so big
//! and small boxes weigh alike), k-means++ seeding, several seeded restarts.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ModelError;
use crate::config::ANCHORS_PER_LEVEL;

/// YOLOv5's anchor-matching threshold: a box matches an anchor when neither side ratio
/// exceeds 4.
pub const ANCHOR_RATIO_THRESHOLD: f32 = 4.0;
/// Boxes smaller than this (pixels, either side) are ignored, as YOLOv5's autoanchor does.
pub const MIN_BOX_SIDE: f32 = 2.0;

const K: usize = 3 * ANCHORS_PER_LEVEL;
const RESTARTS: u64 = 8;
const MAX_ITERATIONS: usize = 300;

/// Result of [`fit_anchors`].
#[derive(Clone, Debug, PartialEq)]
pub struct AnchorFit {
    /// (w, h) pairs by level (strides 8, 16, 32), smallest area first.
    pub anchors: [[f32; 6]; 3],
    /// Mean over boxes of the best IoU with an anchor.
    pub mean_iou: f64,
    /// Best possible recall: share of boxes some anchor matches under YOLOv5's ratio rule.
    pub best_possible_recall: f64,
}

/// Fits 9 anchors to box sizes `wh` (pixels at the tile scale the model trains on).
pub fn fit_anchors(wh: &[[f32; 2]], seed: u64) -> Result<AnchorFit, ModelError> {
    let boxes: Vec<[f32; 2]> = wh
        .iter()
        .copied()
        .filter(|b| b[0].is_finite() && b[1].is_finite())
        .filter(|b| b[0] >= MIN_BOX_SIDE && b[1] >= MIN_BOX_SIDE)
        .collect();
    if boxes.len() < K {
        return Err(ModelError::Anchors(format!(
            "{} usable boxes (both sides ≥ {MIN_BOX_SIDE} px) of {}, need at least {K}",
            boxes.len(),
            wh.len()
        )));
    }
    let best = (0..RESTARTS)
        .map(|r| kmeans(&boxes, seed.wrapping_mul(RESTARTS).wrapping_add(r)))
        .map(|c| (mean_best_iou(&boxes, &c), c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .ok_or_else(|| ModelError::Anchors("no k-means restart ran".into()))?;
    let (mean_iou, mut centres) = best;
    centres.sort_by(|a, b| (a[0] * a[1]).total_cmp(&(b[0] * b[1])));
    let mut anchors = [[0.0f32; 6]; 3];
    for (i, c) in centres.iter().enumerate() {
        anchors[i / ANCHORS_PER_LEVEL][2 * (i % ANCHORS_PER_LEVEL)] = c[0];
        anchors[i / ANCHORS_PER_LEVEL][2 * (i % ANCHORS_PER_LEVEL) + 1] = c[1];
    }
    Ok(AnchorFit {
        anchors,
        mean_iou,
        best_possible_recall: best_possible_recall(&boxes, &centres),
    })
}

/// IoU of two sizes placed at the same corner.
pub fn wh_iou(a: [f32; 2], b: [f32; 2]) -> f32 {
    let inter = a[0].min(b[0]) * a[1].min(b[1]);
    inter / (a[0] * a[1] + b[0] * b[1] - inter)
}

/// Share of `boxes` whose best anchor has all side ratios within [`ANCHOR_RATIO_THRESHOLD`].
pub fn best_possible_recall(boxes: &[[f32; 2]], anchors: &[[f32; 2]]) -> f64 {
    if boxes.is_empty() {
        return 0.0;
    }
    let matched = boxes
        .iter()
        .filter(|b| {
            anchors.iter().any(|a| {
                let rw = b[0] / a[0];
                let rh = b[1] / a[1];
                rw.max(1.0 / rw).max(rh).max(1.0 / rh) < ANCHOR_RATIO_THRESHOLD
            })
        })
        .count();
    matched as f64 / boxes.len() as f64
}

fn mean_best_iou(boxes: &[[f32; 2]], centres: &[[f32; 2]]) -> f64 {
    let sum: f64 = boxes
        .iter()
        .map(|b| {
            centres
                .iter()
                .map(|c| wh_iou(*b, *c))
                .fold(0.0f32, f32::max) as f64
        })
        .sum();
    sum / boxes.len() as f64
}

fn nearest(b: [f32; 2], centres: &[[f32; 2]]) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, c) in centres.iter().enumerate() {
        let v = wh_iou(b, *c);
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// k-means++ seeding then Lloyd iterations until the assignment stops changing.
fn kmeans(boxes: &[[f32; 2]], seed: u64) -> Vec<[f32; 2]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres = vec![boxes[rng.random_range(0..boxes.len())]];
    while centres.len() < K {
        let d: Vec<f64> = boxes
            .iter()
            .map(|b| {
                let iou = centres
                    .iter()
                    .map(|c| wh_iou(*b, *c))
                    .fold(0.0f32, f32::max);
                ((1.0 - iou) as f64).powi(2)
            })
            .collect();
        let total: f64 = d.iter().sum();
        let pick = if total > 0.0 {
            let mut t = rng.random_range(0.0..total);
            d.iter()
                .position(|&v| {
                    t -= v;
                    t < 0.0
                })
                .unwrap_or(boxes.len() - 1)
        } else {
            rng.random_range(0..boxes.len())
        };
        centres.push(boxes[pick]);
    }
    let mut assign = vec![usize::MAX; boxes.len()];
    for _ in 0..MAX_ITERATIONS {
        let next: Vec<usize> = boxes.iter().map(|b| nearest(*b, &centres)).collect();
        if next == assign {
            break;
        }
        assign = next;
        let mut sums = vec![[0.0f64; 3]; K];
        for (b, &a) in boxes.iter().zip(&assign) {
            sums[a][0] += b[0] as f64;
            sums[a][1] += b[1] as f64;
            sums[a][2] += 1.0;
        }
        for (c, s) in centres.iter_mut().zip(&sums) {
            // An emptied cluster keeps its centre; it may win boxes back next round.
            if s[2] > 0.0 {
                *c = [(s[0] / s[2]) as f32, (s[1] / s[2]) as f32];
            }
        }
    }
    centres
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: [[f32; 2]; 9] = [
        [8.0, 10.0],
        [16.0, 12.0],
        [20.0, 30.0],
        [40.0, 36.0],
        [60.0, 80.0],
        [90.0, 70.0],
        [120.0, 150.0],
        [200.0, 180.0],
        [300.0, 320.0],
    ];

    fn clustered() -> Vec<[f32; 2]> {
        // Each true size with ±2 % jitter in a fixed symmetric pattern: the means are exact.
        let mut v = Vec::new();
        for s in SIZES {
            for (dw, dh) in [
                (0.98, 1.0),
                (1.02, 1.0),
                (1.0, 0.98),
                (1.0, 1.02),
                (1.0, 1.0),
            ] {
                v.push([s[0] * dw, s[1] * dh]);
            }
        }
        v
    }

    #[test]
    fn recovers_well_separated_sizes() {
        let fit = fit_anchors(&clustered(), 7).expect("enough boxes");
        let flat: Vec<[f32; 2]> = fit
            .anchors
            .iter()
            .flat_map(|l| [[l[0], l[1]], [l[2], l[3]], [l[4], l[5]]])
            .collect();
        for (got, want) in flat.iter().zip(SIZES) {
            assert!((got[0] - want[0]).abs() < 1e-3 * want[0], "{flat:?}");
            assert!((got[1] - want[1]).abs() < 1e-3 * want[1], "{flat:?}");
        }
        assert!(fit.mean_iou > 0.97, "{}", fit.mean_iou);
        assert_eq!(fit.best_possible_recall, 1.0);
    }

    #[test]
    fn same_seed_same_anchors() {
        let boxes: Vec<[f32; 2]> = (0..200)
            .map(|i| [4.0 + (i * 37 % 101) as f32, 4.0 + (i * 53 % 89) as f32])
            .collect();
        let a = fit_anchors(&boxes, 1).expect("fit");
        let b = fit_anchors(&boxes, 1).expect("fit");
        assert_eq!(a, b);
    }

    #[test]
    fn too_few_boxes_is_an_error() {
        let e = fit_anchors(&[[10.0, 10.0]; 3], 0).expect_err("3 boxes");
        assert!(e.to_string().contains("need at least 9"), "{e}");
    }

    #[test]
    fn wh_iou_and_recall_by_hand() {
        assert!((wh_iou([2.0, 2.0], [4.0, 1.0]) - 2.0 / 6.0).abs() < 1e-6);
        // 10×10 vs anchor 50×10: width ratio 5 > 4 → unmatched; vs 30×10 (ratio 3) matched.
        assert_eq!(best_possible_recall(&[[10.0, 10.0]], &[[50.0, 10.0]]), 0.0);
        assert_eq!(best_possible_recall(&[[10.0, 10.0]], &[[30.0, 10.0]]), 1.0);
    }
}

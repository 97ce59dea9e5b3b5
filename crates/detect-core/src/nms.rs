//! Greedy non-maximum suppression and greedy non-maximum merging (SAHI's NMM).

use std::cmp::Ordering;

use crate::bbox::Detection;
use crate::iou::{ios, iou};

/// Indices of `dets` by descending score; ties keep input order (a stable sort).
pub fn score_order(dets: &[Detection]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| {
        dets[b]
            .score
            .partial_cmp(&dets[a].score)
            .unwrap_or(Ordering::Equal)
    });
    order
}

/// Greedy NMS: walk the detections by descending score (stable) and keep each one whose
/// IoU with every kept one is at most `iou_thr`. Returns the kept indices in that order.
pub fn nms(dets: &[Detection], iou_thr: f64) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for i in score_order(dets) {
        let suppressed = kept
            .iter()
            .any(|&k| iou(&dets[k].bbox, &dets[i].bbox) > iou_thr);
        if !suppressed {
            kept.push(i);
        }
    }
    kept
}

/// One merged group: the union box with the best score, and the input indices it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub det: Detection,
    pub members: Vec<usize>,
}

/// Greedy non-maximum merging, as SAHI's `greedy_nmm`: by descending score, each detection
/// not yet taken takes every later one not yet taken whose IoS with it is at least
/// `ios_thr`; the group becomes the union of its boxes with the maximum score.
/// Parts of one basin cut by tile borders lie largely inside one another's extent, which
/// IoS (unlike IoU) measures regardless of their sizes.
pub fn merge_partial(dets: &[Detection], ios_thr: f64) -> Vec<Merged> {
    let order = score_order(dets);
    let mut taken = vec![false; dets.len()];
    let mut out = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let mut merged = Merged {
            det: dets[i],
            members: vec![i],
        };
        for &j in &order[pos + 1..] {
            if !taken[j] && ios(&dets[i].bbox, &dets[j].bbox) >= ios_thr {
                taken[j] = true;
                merged.det.bbox = merged.det.bbox.enclosing(&dets[j].bbox);
                merged.det.score = merged.det.score.max(dets[j].score);
                merged.members.push(j);
            }
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbox::BBox;

    fn det(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Detection {
        Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
        }
    }

    #[test]
    fn suppresses_overlapping_lower_scores() {
        // b overlaps a with IoU 81/119 ≈ 0.68, c is apart, d overlaps c with IoU 1/3.
        let dets = [
            det(0.0, 0.0, 10.0, 10.0, 0.9),
            det(1.0, 1.0, 11.0, 11.0, 0.8),
            det(20.0, 0.0, 30.0, 10.0, 0.7),
            det(25.0, 0.0, 35.0, 10.0, 0.95),
        ];
        assert_eq!(nms(&dets, 0.5), vec![3, 0, 2]);
        // IoU(c, d) = 50/150: suppressed only once the threshold is below 1/3.
        assert_eq!(nms(&dets, 0.3), vec![3, 0]);
    }

    #[test]
    fn ties_keep_input_order() {
        let dets = [
            det(0.0, 0.0, 10.0, 10.0, 0.5),
            det(0.0, 0.0, 10.0, 10.0, 0.5),
        ];
        assert_eq!(nms(&dets, 0.5), vec![0]);
        let dets = [
            det(0.0, 0.0, 10.0, 10.0, 0.5),
            det(50.0, 0.0, 60.0, 10.0, 0.5),
        ];
        assert_eq!(nms(&dets, 0.5), vec![0, 1]);
    }

    #[test]
    fn threshold_is_exclusive() {
        // IoU exactly 1/3 (∩ 50, ∪ 150): kept at a threshold of 1/3, suppressed below it.
        let dets = [
            det(0.0, 0.0, 10.0, 10.0, 0.9),
            det(5.0, 0.0, 15.0, 10.0, 0.8),
        ];
        assert_eq!(nms(&dets, 1.0 / 3.0), vec![0, 1]);
        assert_eq!(nms(&dets, 0.33), vec![0]);
    }

    #[test]
    fn merges_parts_of_one_basin() {
        // A basin cut in two, plus a separate one.
        let dets = [
            det(0.0, 0.0, 50.0, 40.0, 0.6),
            det(45.0, 2.0, 70.0, 38.0, 0.9),
            det(200.0, 0.0, 230.0, 30.0, 0.8),
        ];
        let m = merge_partial(&dets, 0.1);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].det, det(0.0, 0.0, 70.0, 40.0, 0.9));
        assert_eq!(m[0].members, vec![1, 0]);
        assert_eq!(m[1].members, vec![2]);
        // IoS of the parts = (5×36)/(25×36) = 0.2: a stricter threshold keeps them apart.
        assert_eq!(merge_partial(&dets, 0.25).len(), 3);
    }
}

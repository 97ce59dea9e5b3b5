//! Operating-point counts: TP/FP/FN, precision, recall and F1 of the detections scoring at
//! least a threshold, matched as COCOeval matches them (per image and category, greedy in
//! score order, crowd GT and detections on it ignored) at one IoU threshold.
//!
//! Matching is greedy from the highest score down, so the matches of the detections above
//! the threshold do not depend on those below: evaluating all and counting the top ones is
//! the same as evaluating only the top ones.

use serde::{Deserialize, Serialize};

use super::cocoeval::{Prepared, evaluate_img};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub iou_thr: f64,
    pub score_thr: f64,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Counts at each of `iou_thrs`, area "all" `[lo, hi]`, up to `max_det` detections per image.
pub(crate) fn counts_at(
    prep: &Prepared,
    iou_thrs: &[f64],
    score_thr: f64,
    max_det: usize,
    area: (f64, f64),
) -> Vec<Counts> {
    let t_n = iou_thrs.len();
    let mut tp = vec![0usize; t_n];
    let mut fp = vec![0usize; t_n];
    let mut npig = 0usize;
    for cell in prep.cells.iter().flatten() {
        let Some(e) = evaluate_img(cell, area.0, area.1, max_det, iou_thrs) else {
            continue;
        };
        npig += e.gt_ignore.iter().filter(|&&ig| !ig).count();
        let d_n = e.dt_scores.len();
        for t in 0..t_n {
            for (d, &s) in e.dt_scores.iter().enumerate() {
                let i = t * d_n + d;
                if s < score_thr || e.dt_ignore[i] {
                    continue;
                }
                if e.dt_matches[i] != 0 {
                    tp[t] += 1;
                } else {
                    fp[t] += 1;
                }
            }
        }
    }
    (0..t_n)
        .map(|t| make_counts(iou_thrs[t], score_thr, tp[t], fp[t], npig - tp[t]))
        .collect()
}

fn make_counts(iou_thr: f64, score_thr: f64, tp: usize, fp: usize, fn_: usize) -> Counts {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Counts {
        iou_thr,
        score_thr,
        tp,
        fp,
        fn_,
        precision,
        recall,
        f1,
    }
}

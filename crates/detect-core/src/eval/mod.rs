//! Detection evaluation exactly as pycocotools' `COCOeval` (iouType "bbox") computes it,
//! plus what COCO does not report: AP at every IoU step, a larger per-image detection
//! limit for whole scenes, and TP/FP/FN with precision/recall/F1 at a score threshold.

mod cocoeval;
mod counts;
mod params;
mod report;
pub mod scene;
mod summary;

pub use cocoeval::Accumulated;
pub use counts::Counts;
pub use params::{AreaRange, Params, linspace};
pub use report::{EvalReport, IouAp, LargeLimit, PrCurve, Stat};

use crate::labels::coco::check_results;
use crate::labels::{CocoDataset, CocoResult};
use summary::{Slice, coco_stats, summarize};

/// What to evaluate beyond the COCO parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    pub params: Params,
    /// Score threshold of the operating point (TP/FP/FN, precision, recall, F1).
    pub score_threshold: f64,
    /// IoU thresholds of the operating point: 0.5, and 0.3 so that the labelling
    /// convention (halo vs. fringe core) does not decide.
    pub count_ious: Vec<f64>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            params: Params::default(),
            score_threshold: 0.25,
            count_ious: vec![0.5, 0.3],
        }
    }
}

impl EvalOptions {
    /// COCO defaults plus the per-image limit `max_dets` when it is above 100.
    pub fn with_max_dets(max_dets: usize, score_threshold: f64) -> Self {
        Self {
            params: Params::with_extra_max_dets(max_dets),
            score_threshold,
            ..Self::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("invalid ground truth: {0}")]
    GroundTruth(String),
    #[error("invalid detections: {0}")]
    Detections(String),
    #[error("invalid parameters: {0}")]
    Params(String),
}

/// Evaluates `dets` against `gt`.
pub fn evaluate(
    gt: &CocoDataset,
    dets: &[CocoResult],
    opts: &EvalOptions,
) -> Result<EvalReport, EvalError> {
    let p = &opts.params;
    check_params(p)?;
    gt.validate(std::path::Path::new("ground truth"))
        .map_err(|e| EvalError::GroundTruth(e.to_string()))?;
    check_results(dets, Some(gt)).map_err(EvalError::Detections)?;
    let prep = cocoeval::prepare(gt, dets, p);
    let acc = cocoeval::accumulate(&prep, p);
    let standard = p.max_dets[2];
    let largest = p.max_dets[p.max_dets.len() - 1];
    let all = &p.area_rngs[0];
    Ok(EvalReport {
        num_images: prep.img_ids.len(),
        num_gt: gt.annotations.iter().filter(|a| a.iscrowd == 0).count(),
        num_crowd: gt.annotations.iter().filter(|a| a.iscrowd != 0).count(),
        num_dets: dets.len(),
        iou_thrs: p.iou_thrs.clone(),
        max_dets: p.max_dets.clone(),
        stats: coco_stats(&acc, p)
            .into_iter()
            .map(|(name, value)| Stat { name, value })
            .collect(),
        ap_per_iou: ap_per_iou(&acc, p, standard),
        large_limit: (largest > standard).then(|| large_limit(&acc, p, largest)),
        counts: counts::counts_at(
            &prep,
            &opts.count_ious,
            opts.score_threshold,
            largest,
            (all.lo, all.hi),
        ),
        pr_curves: pr_curves(&acc, p, largest),
    })
}

fn check_params(p: &Params) -> Result<(), EvalError> {
    if p.max_dets.len() < 3 || p.max_dets.windows(2).any(|w| w[0] >= w[1]) {
        return Err(EvalError::Params(format!(
            "max_dets must hold at least three increasing limits (COCO: 1, 10, 100), got {:?}",
            p.max_dets
        )));
    }
    if p.area_rngs.first().is_none_or(|a| a.label != "all") {
        return Err(EvalError::Params(
            "the first area range must be \"all\"".into(),
        ));
    }
    if p.iou_thrs.is_empty() || p.rec_thrs.is_empty() {
        return Err(EvalError::Params(
            "IoU and recall thresholds must not be empty".into(),
        ));
    }
    Ok(())
}

/// AP (area all, limit `max_det`) at each IoU threshold on its own.
fn ap_per_iou(acc: &Accumulated, p: &Params, max_det: usize) -> Vec<IouAp> {
    p.iou_thrs
        .iter()
        .map(|&iou| IouAp {
            iou,
            ap: summarize(
                acc,
                p,
                Slice {
                    ap: true,
                    iou: Some(iou),
                    area: "all",
                    max_det,
                },
            ),
        })
        .collect()
}

fn large_limit(acc: &Accumulated, p: &Params, max_det: usize) -> LargeLimit {
    let s = |ap: bool, iou: Option<f64>| {
        summarize(
            acc,
            p,
            Slice {
                ap,
                iou,
                area: "all",
                max_det,
            },
        )
    };
    LargeLimit {
        max_dets: max_det,
        ap: s(true, None),
        ap50: s(true, Some(0.5)),
        ap75: s(true, Some(0.75)),
        ar: s(false, None),
        ap_per_iou: ap_per_iou(acc, p, max_det),
    }
}

/// Interpolated precision at each recall point, averaged over categories (−1 left out),
/// for each IoU threshold; area all, limit `max_det`.
fn pr_curves(acc: &Accumulated, p: &Params, max_det: usize) -> Vec<PrCurve> {
    let [_, r_n, k_n, _, _] = acc.dims;
    let m = p.max_det_index(max_det).unwrap_or(0);
    p.iou_thrs
        .iter()
        .enumerate()
        .map(|(t, &iou)| {
            let precision = (0..r_n)
                .map(|r| {
                    let vals: Vec<f64> = (0..k_n)
                        .map(|k| acc.precision_at(t, r, k, 0, m))
                        .filter(|&v| v > -1.0)
                        .collect();
                    if vals.is_empty() {
                        -1.0
                    } else {
                        vals.iter().sum::<f64>() / vals.len() as f64
                    }
                })
                .collect();
            PrCurve {
                iou,
                recall: p.rec_thrs.clone(),
                precision,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;

//! Post-processing defaults, named once: what `detect`, `predict` and the library's
//! `PredictParams::default()` use when the user says nothing.

use detect_core::tiling::StitchParams;
pub use model::inference::{
    DEFAULT_IOU_THRESHOLD as NMS_IOU, DEFAULT_MAX_DETECTIONS as MAX_DETECTIONS,
    DEFAULT_SCORE_THRESHOLD as SCORE,
};
use model::{PredictParams, WeightsHeader};

/// Neighbouring scene tiles overlap by this many pixels: about the largest basin expected.
pub const TILE_OVERLAP: usize = 160;

/// Largest side of the windows a scene is run in (pixels; 0: the model's tiles, as the paper
/// cut scenes). Measured (docs/results.md): on the validation scenes 2,048-px windows score
/// the bundled model's F1 0.745 against 0.721 for 416 tiles, in half the time.
pub const WINDOW: usize = 2048;

/// Post-processing with the given score and NMS IoU thresholds.
pub fn predict_params(score: f64, iou: f64) -> PredictParams {
    PredictParams {
        score_threshold: score,
        iou_threshold: iou,
        max_detections: MAX_DETECTIONS,
    }
}

/// How tiles' boxes become scene boxes, with NMS at `nms_iou` within and across tiles.
pub fn stitch_params(nms_iou: f64) -> StitchParams {
    StitchParams {
        nms_iou,
        ..StitchParams::default()
    }
}

/// The score threshold to use and where it came from: the one given, else the weights'
/// calibration, else [`SCORE`].
pub fn score_threshold(given: Option<f64>, header: &WeightsHeader) -> (f64, String) {
    match (given, &header.calibration) {
        (Some(s), _) => (s, "given with --score".into()),
        (None, Some(c)) => (
            c.score_threshold,
            format!(
                "calibrated: best F1 at IoU {} on {} simulated validation scenes",
                c.iou, c.scenes
            ),
        ),
        (None, None) => (SCORE, "default; the weights carry no calibration".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_defaults_are_these() {
        let p = PredictParams::default();
        assert_eq!(
            (p.score_threshold, p.iou_threshold, p.max_detections),
            (SCORE, NMS_IOU, MAX_DETECTIONS)
        );
        assert_eq!(predict_params(SCORE, NMS_IOU), p);
        assert_eq!(stitch_params(0.3).nms_iou, 0.3);
    }
}

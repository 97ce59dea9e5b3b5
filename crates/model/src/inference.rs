//! Tiles → detections: forward, decode, score threshold, NMS (detect-core), per tile.
//!
//! Two engines give the same detections: the plain-burn reference (the network as trained,
//! in eval mode, decoded by the differentiable [`decode`]) and the folded fast path
//! ([`FastNet`]: BatchNorm folded into the convs, the `kernels` crate, [`decode_host`]).
//! [`Predictor::new`] takes the fast path on the CPU and burn elsewhere (a GPU device).

use burn::module::Module;
use burn::prelude::*;
use detect_core::bbox::{BBox, Detection};
use detect_core::nms::nms;

use crate::ModelError;
use crate::config::ModelConfig;
use crate::decode::{HostPrediction, decode};
use crate::detector::Detector;
use crate::fast::FastNet;

/// Score threshold when neither the user nor the weights' calibration give one.
pub const DEFAULT_SCORE_THRESHOLD: f64 = 0.25;
/// NMS IoU threshold of `detect` and `predict` (YOLOv5's inference default).
pub const DEFAULT_IOU_THRESHOLD: f64 = 0.45;
/// Detections kept per tile or image, best first.
pub const DEFAULT_MAX_DETECTIONS: usize = 300;

/// Post-processing settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PredictParams {
    /// Keep predictions with confidence at least this.
    pub score_threshold: f64,
    /// NMS: drop a box overlapping a better one by more than this IoU.
    pub iou_threshold: f64,
    /// At most this many detections per tile (best first).
    pub max_detections: usize,
}

impl Default for PredictParams {
    fn default() -> Self {
        Self {
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            iou_threshold: DEFAULT_IOU_THRESHOLD,
            max_detections: DEFAULT_MAX_DETECTIONS,
        }
    }
}

enum Engine {
    Reference(Box<Detector>),
    Fast(Box<FastNet>),
}

/// Runs a model on batches of tiles.
pub struct Predictor {
    engine: Engine,
    config: ModelConfig,
    device: Device,
    params: PredictParams,
}

impl Predictor {
    /// The fast folded path when `model` lives on the CPU, the burn path otherwise.
    pub fn new(model: &Detector) -> Result<Self, ModelError> {
        if model_on_cpu(model) {
            Self::fast(model)
        } else {
            Ok(Self::reference(model))
        }
    }

    /// The plain-burn path (eval mode) on the model's device.
    pub fn reference(model: &Detector) -> Self {
        let device = model_device(model);
        Self {
            config: model.config.clone(),
            engine: Engine::Reference(Box::new(model.valid())),
            device,
            params: PredictParams::default(),
        }
    }

    /// The folded fast path on the CPU kernels.
    pub fn fast(model: &Detector) -> Result<Self, ModelError> {
        Ok(Self {
            config: model.config.clone(),
            engine: Engine::Fast(Box::new(FastNet::from_detector(model)?)),
            device: model_device(model),
            params: PredictParams::default(),
        })
    }

    pub fn with_params(mut self, params: PredictParams) -> Self {
        self.params = params;
        self
    }

    pub fn params(&self) -> &PredictParams {
        &self.params
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// `"fast"` or `"burn"`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Reference(_) => "burn",
            Engine::Fast(_) => "fast",
        }
    }

    /// Detections per image of a `[batch, 3, h, w]` f32 NCHW batch (already encoded as the
    /// model's input kind), boxes clipped to the tile, best first.
    pub fn predict(
        &self,
        x: &[f32],
        batch: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<Vec<Detection>>, ModelError> {
        check_batch(x, batch, h, w)?;
        let min_score = self.params.score_threshold as f32;
        let preds = match &self.engine {
            Engine::Fast(net) => net.detect(x, batch, h, w, min_score)?,
            Engine::Reference(model) => {
                let t =
                    Tensor::from_data(TensorData::new(x.to_vec(), [batch, 3, h, w]), &self.device);
                reference_predictions(model, t, min_score)
            }
        };
        Ok(preds
            .into_iter()
            .map(|p| self.postprocess(p, w as f64, h as f64))
            .collect())
    }

    fn postprocess(&self, preds: Vec<HostPrediction>, w: f64, h: f64) -> Vec<Detection> {
        let dets: Vec<Detection> = preds
            .into_iter()
            .map(|p| Detection {
                bbox: BBox {
                    x1: p.bbox[0] as f64,
                    y1: p.bbox[1] as f64,
                    x2: p.bbox[2] as f64,
                    y2: p.bbox[3] as f64,
                }
                .clip(w, h),
                score: p.score as f64,
            })
            .filter(|d| d.bbox.width() > 0.0 && d.bbox.height() > 0.0)
            .collect();
        nms(&dets, self.params.iou_threshold)
            .into_iter()
            .take(self.params.max_detections)
            .map(|i| dets[i])
            .collect()
    }
}

/// The reference: burn forward, tensor decode, then scores and boxes read to the host.
fn reference_predictions(
    model: &Detector,
    x: Tensor<4>,
    min_score: f32,
) -> Vec<Vec<HostPrediction>> {
    let d = decode(&model.forward(x), &model.config);
    let [b, n, _] = d.boxes.dims();
    let mut score = burn::tensor::activation::sigmoid(d.obj_logits);
    if let Some(cls) = d.cls_logits {
        score = score * burn::tensor::activation::sigmoid(cls);
    }
    let boxes = host_vec(d.boxes);
    let score = host_vec(score);
    (0..b)
        .map(|bi| {
            (0..n)
                .filter(|&i| score[bi * n + i] >= min_score)
                .map(|i| {
                    let o = (bi * n + i) * 4;
                    HostPrediction {
                        bbox: [boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]],
                        score: score[bi * n + i],
                    }
                })
                .collect()
        })
        .collect()
}

fn host_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

fn check_batch(x: &[f32], batch: usize, h: usize, w: usize) -> Result<(), ModelError> {
    let shape = [batch, 3, h, w];
    if batch == 0 || h == 0 || w == 0 || !h.is_multiple_of(32) || !w.is_multiple_of(32) {
        return Err(ModelError::BatchShape { shape });
    }
    if x.len() != batch * 3 * h * w {
        return Err(ModelError::InputSize {
            what: "batch",
            got: x.len(),
            want: batch * 3 * h * w,
            width: w,
            height: h,
        });
    }
    Ok(())
}

fn model_device(model: &Detector) -> Device {
    model
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(Device::flex)
}

/// Whether the model's tensors live on the pure-Rust CPU backend, where the fast path wins
/// (device equality ignores autodiff, so a training model counts too).
fn model_on_cpu(model: &Detector) -> bool {
    model_device(model) == Device::flex()
}

impl Predictor {
    /// Refuses data of another input kind than the model was trained on.
    pub fn check_input(&self, data: crate::config::InputKind) -> Result<(), ModelError> {
        crate::input::check_input_kind(self.config.input, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InputKind, Scale, Variant};
    use crate::head::LevelHead;
    use burn::module::Param;

    /// A light N model whose confidence bias is raised so that many cells pass the score
    /// threshold: NMS and clipping then have real work.
    fn busy_model() -> Detector {
        let d = Device::flex();
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let mut m = Detector::new(&cfg, &d);
        for level in m.head.levels.iter_mut() {
            if let LevelHead::Double(h) = level {
                h.obj_pred.bias = Some(Param::from_tensor(Tensor::full([1], 2.0, &d)));
            }
        }
        m
    }

    fn input(batch: usize, side: usize) -> Vec<f32> {
        (0..batch * 3 * side * side)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
            .collect()
    }

    #[test]
    fn fast_and_reference_give_the_same_detections() {
        let m = busy_model();
        let params = PredictParams {
            score_threshold: 0.3,
            iou_threshold: 0.5,
            max_detections: 50,
        };
        let fast = Predictor::fast(&m).expect("fold").with_params(params);
        let reference = Predictor::reference(&m).with_params(params);
        assert_eq!(
            (fast.engine_name(), reference.engine_name()),
            ("fast", "burn")
        );
        let x = input(2, 64);
        let a = fast.predict(&x, 2, 64, 64).expect("fast");
        let b = reference.predict(&x, 2, 64, 64).expect("reference");
        assert_eq!(a.len(), 2);
        for (da, db) in a.iter().zip(&b) {
            assert!(!da.is_empty(), "the raised prior must give detections");
            assert!(da.len() <= 50);
            assert_eq!(da.len(), db.len());
            for (p, q) in da.iter().zip(db) {
                assert!((p.score - q.score).abs() < 1e-3);
                for (u, v) in [
                    (p.bbox.x1, q.bbox.x1),
                    (p.bbox.y1, q.bbox.y1),
                    (p.bbox.x2, q.bbox.x2),
                    (p.bbox.y2, q.bbox.y2),
                ] {
                    assert!((u - v).abs() < 1e-2, "{p:?} vs {q:?}");
                }
            }
            // Clipped to the tile, best first, and no two kept boxes overlap beyond the IoU.
            for (i, p) in da.iter().enumerate() {
                assert!(p.bbox.x1 >= 0.0 && p.bbox.y1 >= 0.0);
                assert!(p.bbox.x2 <= 64.0 && p.bbox.y2 <= 64.0);
                assert!(p.score >= 0.3);
                for q in &da[i + 1..] {
                    assert!(p.score >= q.score);
                    assert!(detect_core::iou::iou(&p.bbox, &q.bbox) <= 0.5);
                }
            }
        }
    }

    #[test]
    fn bad_batches_and_kinds_are_refused() {
        let m = busy_model();
        let p = Predictor::reference(&m);
        assert!(p.predict(&input(1, 64), 1, 60, 64).is_err());
        assert!(p.predict(&input(1, 64), 2, 64, 64).is_err());
        assert!(p.check_input(InputKind::Phase).is_ok());
        assert!(p.check_input(InputKind::Rgb).is_err());
    }
}

//! Validation during training: detections of the (EMA) model on the validation split,
//! scored by detect-core's COCO evaluator.

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Tensor, TensorData};
use detect_core::bbox::{BBox, Detection};
use detect_core::eval::{EvalOptions, evaluate};
use detect_core::labels::{CocoDataset, CocoResult, ImageLabels, LabeledBox};
use detect_core::nms::nms;
use model::{Detector, PredictParams, Predictor, decode};

use crate::data::loader::EncodedSample;
use crate::data::{DataError, Dataset, eval_sample};

/// Post-processing for mAP (COCO practice: a low threshold, many boxes per image).
const SCORE_THRESHOLD: f32 = 0.001;
const NMS_IOU: f64 = 0.6;
const MAX_DETS: usize = 100;
/// Candidates kept before NMS, best first (bounds NMS's quadratic cost on a blank model).
const PRE_NMS: usize = 1000;

/// What one validation pass measured.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalSummary {
    /// mAP@[.5:.95].
    pub map: f64,
    /// AP at IoU 0.5.
    pub ap50: f64,
    /// Images evaluated.
    pub images: usize,
}

/// Why validation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalFailure {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("evaluation: {0}")]
    Eval(#[from] detect_core::eval::EvalError),
    #[error(transparent)]
    Model(#[from] model::ModelError),
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32 just above")
}

/// Detections per image of one encoded batch `[B, 3, tile, tile]` by the plain burn network
/// in whatever mode `model` is in (validation itself goes through `model::Predictor`).
pub fn detect_batch(
    model: &Detector,
    images: Vec<f32>,
    batch: usize,
    tile: usize,
) -> Vec<Vec<Detection>> {
    let device = model
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(burn::tensor::Device::flex);
    let x = Tensor::<4>::from_data(TensorData::new(images, [batch, 3, tile, tile]), &device);
    let dec = decode(&model.forward(x), model.config());
    let [_, n, _] = dec.boxes.dims();
    let mut score = sigmoid(dec.obj_logits);
    if let Some(cls) = dec.cls_logits {
        score = score * sigmoid(cls);
    }
    let scores = host(score);
    let boxes = host(dec.boxes.reshape([batch * n, 4]));
    (0..batch)
        .map(|b| {
            let mut dets: Vec<Detection> = (0..n)
                .filter(|&j| scores[b * n + j] >= SCORE_THRESHOLD)
                .map(|j| {
                    let k = (b * n + j) * 4;
                    let t = tile as f64;
                    Detection {
                        bbox: BBox::new(
                            (boxes[k] as f64).clamp(0.0, t),
                            (boxes[k + 1] as f64).clamp(0.0, t),
                            (boxes[k + 2] as f64).clamp(0.0, t),
                            (boxes[k + 3] as f64).clamp(0.0, t),
                        ),
                        score: scores[b * n + j] as f64,
                    }
                })
                .filter(|d| d.bbox.x2 > d.bbox.x1 && d.bbox.y2 > d.bbox.y1)
                .collect();
            dets.sort_by(|a, b| b.score.total_cmp(&a.score));
            dets.truncate(PRE_NMS);
            let kept = nms(&dets, NMS_IOU);
            kept.into_iter().take(MAX_DETS).map(|i| dets[i]).collect()
        })
        .collect()
}

/// Loads a chunk of validation samples on `workers` threads.
fn load_chunk(
    ds: &Dataset,
    range: std::ops::Range<usize>,
    tile: usize,
    workers: usize,
) -> Result<Vec<EncodedSample>, DataError> {
    let idx: Vec<usize> = range.collect();
    let per = idx.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = idx
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|&i| eval_sample(ds, i, tile))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(idx.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| DataError::Stopped("a validation loader thread panicked".into()))?;
            for r in part {
                out.push(r?);
            }
        }
        Ok(out)
    })
}

/// mAP of `model` (put in eval mode by the caller) on the validation data set, detected as
/// `yolo-basin predict` does (model::Predictor: the folded fast path on the CPU).
pub fn validate(
    model: &Detector,
    ds: &Dataset,
    tile: usize,
    batch: usize,
    workers: usize,
) -> Result<EvalSummary, EvalFailure> {
    let predictor = Predictor::new(model)?.with_params(PredictParams {
        score_threshold: SCORE_THRESHOLD as f64,
        iou_threshold: NMS_IOU,
        max_detections: MAX_DETS,
    });
    let mut labels = Vec::with_capacity(ds.items.len());
    let mut results = Vec::new();
    let mut start = 0;
    while start < ds.items.len() {
        let end = (start + batch.max(1)).min(ds.items.len());
        let chunk = load_chunk(ds, start..end, tile, workers)?;
        let mut images = Vec::with_capacity(chunk.len() * 3 * tile * tile);
        for (x, boxes) in &chunk {
            images.extend_from_slice(x);
            let image_id = labels.len() as u64 + 1;
            labels.push(ImageLabels {
                file_name: format!("{image_id}"),
                width: tile as u32,
                height: tile as u32,
                boxes: boxes
                    .iter()
                    .map(|b| {
                        LabeledBox::new(
                            BBox::new(b[0] as f64, b[1] as f64, b[2] as f64, b[3] as f64),
                            0,
                        )
                    })
                    .collect(),
            });
        }
        let first_id = start as u64 + 1;
        let detections = predictor.predict(&images, chunk.len(), tile, tile)?;
        for (k, dets) in detections.into_iter().enumerate() {
            results.extend(dets.into_iter().map(|d| CocoResult {
                image_id: first_id + k as u64,
                category_id: 1,
                bbox: [
                    d.bbox.x1,
                    d.bbox.y1,
                    d.bbox.x2 - d.bbox.x1,
                    d.bbox.y2 - d.bbox.y1,
                ],
                score: d.score,
            }));
        }
        start = end;
    }
    let gt = CocoDataset::from_labels(&labels, &["basin".to_string()]);
    let report = evaluate(&gt, &results, &EvalOptions::default())?;
    Ok(EvalSummary {
        map: report.map(),
        ap50: report.stat("AP50").unwrap_or(-1.0),
        images: labels.len(),
    })
}

//! The anchor-free detection loss, paper Formula 1: L = L_obj + 5·L_box.
//!
//! Assignment runs on detached copies in plain Rust; the loss itself is a handful of
//! batched tensor ops (one gather of the positives), so the hot path has no per-prediction
//! loop on tensors.

use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::assign::{AssignConfig, ImagePreds, assign_image};
use crate::iou_loss::{IouKind, iou_loss};
use crate::obj_loss::ObjLoss;

/// Loss settings (paper defaults).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    /// Objectness loss (focal by default; BCE with `--no-focal`).
    pub obj: ObjLoss,
    /// Box loss family member (DIoU by default).
    pub iou: IouKind,
    /// λ of Formula 1.
    pub box_weight: f32,
    /// Assignment.
    pub assign: AssignConfig,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            obj: ObjLoss::default(),
            iou: IouKind::Diou,
            box_weight: 5.0,
            assign: AssignConfig::default(),
        }
    }
}

/// A loss to back-propagate and its parts, read back for logging.
#[derive(Debug)]
pub struct LossOutput {
    /// L_obj + λ·L_box, shape `[1]`, on the input's device (carries the graph).
    pub total: Tensor<1>,
    /// L_obj (already normalised by the positive count).
    pub obj: f32,
    /// L_box (already normalised by the positive count), before λ.
    pub boxes: f32,
    /// Number of positives in the batch.
    pub positives: usize,
}

/// A batch of decoded predictions in plain f32 (detached), `[B][N]`.
pub struct HostPreds {
    batch: usize,
    n: usize,
    boxes: Vec<[f32; 4]>,
    logits: Vec<f32>,
    centers: Vec<[f32; 2]>,
    strides: Vec<f32>,
}

fn host_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    // The decoded tensors are f32 on every backend this crate builds for.
    t.detach()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32 just above")
}

impl HostPreds {
    /// Copies the decoded predictions to the host.
    pub fn from_tensors(
        boxes: &Tensor<3>,
        obj_logits: &Tensor<2>,
        centers: &Tensor<2>,
        strides: &Tensor<1>,
    ) -> Self {
        let [batch, n, _] = boxes.dims();
        let b = host_vec(boxes.clone());
        let c = host_vec(centers.clone());
        Self {
            batch,
            n,
            boxes: b
                .chunks_exact(4)
                .map(|v| [v[0], v[1], v[2], v[3]])
                .collect(),
            logits: host_vec(obj_logits.clone()),
            centers: c.chunks_exact(2).map(|v| [v[0], v[1]]).collect(),
            strides: host_vec(strides.clone()),
        }
    }

    /// Image `b`'s predictions.
    pub fn image(&self, b: usize) -> ImagePreds<'_> {
        let r = b * self.n..(b + 1) * self.n;
        ImagePreds {
            boxes: &self.boxes[r.clone()],
            obj_logits: &self.logits[r],
            centers: &self.centers,
            strides: &self.strides,
        }
    }
}

/// Formula 1 over a batch: `boxes [B, N, 4]` pixel xyxy, `obj_logits [B, N]`,
/// `centers [N, 2]`, `strides [N]`, `gts[b]` image b's boxes (pixel xyxy).
pub fn detection_loss(
    cfg: &LossConfig,
    boxes: Tensor<3>,
    obj_logits: Tensor<2>,
    centers: &Tensor<2>,
    strides: &Tensor<1>,
    gts: &[Vec<[f32; 4]>],
) -> LossOutput {
    let device = boxes.device();
    let host = HostPreds::from_tensors(&boxes, &obj_logits, centers, strides);
    let (batch, n) = (host.batch, host.n);
    let mut target = vec![0.0f32; batch * n];
    let mut pos_index: Vec<i64> = Vec::new();
    let mut pos_gt: Vec<f32> = Vec::new();
    for (b, image_gts) in gts.iter().enumerate().take(batch) {
        let a = assign_image(&cfg.assign, &host.image(b), image_gts);
        for (j, g) in a.pairs {
            target[b * n + j] = 1.0;
            pos_index.push((b * n + j) as i64);
            pos_gt.extend_from_slice(&image_gts[g]);
        }
    }
    let positives = pos_index.len();
    let norm = positives.max(1) as f32;

    let target = Tensor::<2>::from_data(TensorData::new(target, [batch, n]), &device);
    let obj = cfg
        .obj
        .elementwise(obj_logits, target)
        .sum()
        .div_scalar(norm);
    let total_obj = obj.clone();
    let (total, box_value) = if positives > 0 {
        let idx = Tensor::<1, Int>::from_data(TensorData::new(pos_index, [positives]), &device);
        let pred = boxes.reshape([batch * n, 4]).select(0, idx);
        let gt = Tensor::<2>::from_data(TensorData::new(pos_gt, [positives, 4]), &device);
        let l_box = iou_loss(pred, gt, cfg.iou).sum().div_scalar(norm);
        let value = scalar(&l_box);
        (total_obj + l_box.mul_scalar(cfg.box_weight), value)
    } else {
        (total_obj, 0.0)
    };
    LossOutput {
        total,
        obj: scalar(&obj),
        boxes: box_value,
        positives,
    }
}

/// Reads a one-element tensor back to the host.
pub fn scalar(t: &Tensor<1>) -> f32 {
    host_vec(t.clone()).first().copied().unwrap_or(f32::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    /// One image, a 4×4 grid of stride-16 cells (64² image); every prediction is the box
    /// 16×16 around its cell centre; logits −2.
    fn batch(device: &Device) -> (Tensor<3>, Tensor<2>, Tensor<2>, Tensor<1>) {
        let mut boxes = Vec::new();
        let mut centers = Vec::new();
        for r in 0..4 {
            for c in 0..4 {
                let (x, y) = (c as f32 * 16.0 + 8.0, r as f32 * 16.0 + 8.0);
                centers.extend([x, y]);
                boxes.extend([x - 8.0, y - 8.0, x + 8.0, y + 8.0]);
            }
        }
        (
            Tensor::from_data(TensorData::new(boxes, [1, 16, 4]), device),
            Tensor::from_data(TensorData::new(vec![-2.0f32; 16], [1, 16]), device),
            Tensor::from_data(TensorData::new(centers, [16, 2]), device),
            Tensor::from_data(TensorData::new(vec![16.0f32; 16], [16]), device),
        )
    }

    #[test]
    fn exact_box_and_bce_give_hand_computed_loss() {
        let d = Device::flex();
        let (boxes, logits, centers, strides) = batch(&d);
        // The gt is exactly prediction 5's box (cell (1,1)): IoU 1 there, so with k = 1 the
        // single positive is cell 5 and its DIoU loss is 0.
        let cfg = LossConfig {
            obj: ObjLoss::Bce,
            assign: AssignConfig {
                lambda: 0.0,
                ..AssignConfig::default()
            },
            ..LossConfig::default()
        };
        let out = detection_loss(
            &cfg,
            boxes,
            logits,
            &centers,
            &strides,
            &[vec![[16.0, 16.0, 32.0, 32.0]]],
        );
        assert_eq!(out.positives, 1);
        assert!(out.boxes.abs() < 1e-5);
        // 15 negatives at BCE(σ(−2), 0) = ln(1 + e^−2) and one positive at ln(1 + e^2).
        let expect = 15.0 * (1.0 + (-2.0f32).exp()).ln() + (1.0 + 2.0f32.exp()).ln();
        assert!((out.obj - expect).abs() < 1e-4, "{} vs {expect}", out.obj);
        assert!((scalar(&out.total) - expect).abs() < 1e-4);
    }

    #[test]
    fn gradient_reaches_boxes_and_logits() {
        let ad = Device::flex().autodiff();
        let (boxes, logits, centers, strides) = batch(&ad);
        let boxes = boxes.require_grad();
        let logits = logits.require_grad();
        let out = detection_loss(
            &LossConfig::default(),
            boxes.clone(),
            logits.clone(),
            &centers,
            &strides,
            &[vec![[10.0, 12.0, 40.0, 36.0]]],
        );
        assert!(out.positives >= 1);
        let grads = out.total.backward();
        let gb = host_vec(boxes.grad(&grads).expect("box grad"));
        let gl = host_vec(logits.grad(&grads).expect("logit grad"));
        assert!(gb.iter().any(|v| v.abs() > 0.0));
        // Negatives are pushed down (positive gradient), positives up (negative gradient).
        assert!(gl.iter().any(|&v| v < 0.0) && gl.iter().any(|&v| v > 0.0));
    }

    #[test]
    fn empty_images_train_objectness_only() {
        let d = Device::flex();
        let (boxes, logits, centers, strides) = batch(&d);
        let out = detection_loss(
            &LossConfig::default(),
            boxes,
            logits,
            &centers,
            &strides,
            &[vec![]],
        );
        assert_eq!(out.positives, 0);
        assert_eq!(out.boxes, 0.0);
        assert!(out.obj > 0.0);
    }
}

//! YOLOv5's loss (utils/loss.py `ComputeLoss`, v7.0) for the `yolov5` baseline: CIoU box
//! loss over its assigned positives, objectness BCE against the (detached) IoU of each
//! positive, per-level balance 4 / 1 / 0.4, gains box 0.05 and obj 1·(tile/640)², all times
//! the batch size.
//!
//! One class: YOLOv5 itself skips the class loss then, but the model crate scores YOLOv5
//! boxes as σ(obj)·σ(cls), so the class logit is trained towards 1 at the positives (BCE,
//! gain 0.5) to keep that score calibrated.

use burn::tensor::{Int, Tensor, TensorData};

use crate::assign::yolov5::build_targets;
use crate::iou_loss::{IouKind, iou_loss};
use crate::loss::{LossOutput, scalar};
use crate::obj_loss::bce_with_logits;

/// YOLOv5's hyper-parameters (hyp.scratch-low.yaml).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct V5LossConfig {
    pub box_gain: f32,
    pub obj_gain: f32,
    pub cls_gain: f32,
    pub anchor_t: f32,
    pub balance: [f32; 3],
}

impl Default for V5LossConfig {
    fn default() -> Self {
        Self {
            box_gain: 0.05,
            obj_gain: 1.0,
            cls_gain: 0.5,
            anchor_t: 4.0,
            balance: [4.0, 1.0, 0.4],
        }
    }
}

/// One head level's geometry, in the order the model decodes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelGeom {
    pub stride: usize,
    pub h: usize,
    pub w: usize,
}

/// Inputs of the YOLOv5 loss: decoded `[B, N, 4]` boxes, `[B, N]` obj and cls logits in the
/// model's order (level, anchor, row-major cell).
pub struct V5Inputs {
    pub boxes: Tensor<3>,
    pub obj_logits: Tensor<2>,
    pub cls_logits: Tensor<2>,
    pub levels: Vec<LevelGeom>,
    /// Anchors (w, h pairs in pixels) per level.
    pub anchors: [[f32; 6]; 3],
    pub tile: usize,
}

fn host(t: Tensor<1>) -> Vec<f32> {
    t.detach()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32 just above")
}

/// The loss over a batch; `gts[b]` are image b's boxes (pixel xyxy).
pub fn yolov5_loss(cfg: &V5LossConfig, inp: V5Inputs, gts: &[Vec<[f32; 4]>]) -> LossOutput {
    let device = inp.boxes.device();
    let [batch, n, _] = inp.boxes.dims();
    let flat_boxes = inp.boxes.reshape([batch * n, 4]);
    let flat_cls = inp.cls_logits.reshape([batch * n]);
    let mut tobj = vec![0.0f32; batch * n];
    let mut l_box: Option<Tensor<1>> = None;
    let mut l_cls: Option<Tensor<1>> = None;
    let mut positives = 0;
    let mut offset = 0;
    let mut spans = Vec::new();
    for (li, g) in inp.levels.iter().enumerate() {
        let a = inp.anchors[li];
        let pairs = [[a[0], a[1]], [a[2], a[3]], [a[4], a[5]]];
        let cells = g.h * g.w;
        let targets = build_targets(gts, &pairs, g.stride as f32, (g.w, g.h), cfg.anchor_t);
        spans.push((offset, 3 * cells));
        if !targets.is_empty() {
            let s = g.stride as f32;
            let idx: Vec<i64> = targets
                .iter()
                .map(|t| (t.image * n + offset + t.anchor * cells + t.gj * g.w + t.gi) as i64)
                .collect();
            let tbox: Vec<f32> = targets
                .iter()
                .flat_map(|t| {
                    let (cx, cy) = ((t.gi as f32 + t.tbox[0]) * s, (t.gj as f32 + t.tbox[1]) * s);
                    let (w, h) = (t.tbox[2] * s, t.tbox[3] * s);
                    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
                })
                .collect();
            let p = targets.len();
            positives += p;
            let index = Tensor::<1, Int>::from_data(TensorData::new(idx.clone(), [p]), &device);
            let pred = flat_boxes.clone().select(0, index.clone());
            let gt = Tensor::<2>::from_data(TensorData::new(tbox, [p, 4]), &device);
            let ciou_loss = iou_loss(pred, gt, IouKind::Ciou);
            // Objectness target: the positive's CIoU, clamped at 0 (gr = 1); later
            // targets overwrite earlier ones in the same cell, as in YOLOv5.
            for (k, v) in host(ciou_loss.clone()).into_iter().enumerate() {
                tobj[idx[k] as usize] = (1.0 - v).max(0.0);
            }
            let lb = ciou_loss.mean();
            let cls = flat_cls.clone().select(0, index);
            let lc = bce_with_logits(cls.clone(), cls.ones_like()).mean();
            l_box = Some(l_box.map_or(lb.clone(), |acc| acc + lb));
            l_cls = Some(l_cls.map_or(lc.clone(), |acc| acc + lc));
        }
        offset += 3 * cells;
    }
    let tobj = Tensor::<2>::from_data(TensorData::new(tobj, [batch, n]), &device);
    let mut l_obj: Option<Tensor<1>> = None;
    for (li, (start, len)) in spans.into_iter().enumerate() {
        let logits = inp.obj_logits.clone().narrow(1, start, len);
        let target = tobj.clone().narrow(1, start, len);
        let lo = bce_with_logits(logits, target)
            .mean()
            .mul_scalar(cfg.balance[li.min(2)]);
        l_obj = Some(l_obj.map_or(lo.clone(), |acc| acc + lo));
    }
    let obj_gain = cfg.obj_gain * (inp.tile as f32 / 640.0).powi(2);
    let zero = || Tensor::<1>::zeros([1], &device);
    let l_obj = l_obj.unwrap_or_else(zero);
    let l_box = l_box.unwrap_or_else(zero);
    let l_cls = l_cls.unwrap_or_else(zero);
    let (obj_v, box_v) = (scalar(&l_obj), scalar(&l_box));
    let total = (l_box.mul_scalar(cfg.box_gain)
        + l_obj.mul_scalar(obj_gain)
        + l_cls.mul_scalar(cfg.cls_gain))
    .mul_scalar(batch as f32);
    LossOutput {
        total,
        obj: obj_v,
        boxes: box_v,
        positives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn perfect_prediction_has_zero_box_loss_and_hand_computed_obj() {
        let d = Device::flex();
        // One level, stride 8, 2×2 cells, 3 anchors → N = 12. The gt (8..24)² has its centre
        // at grid (2, 2): its own cell and the left/up neighbours all clamp to cell (1, 1).
        let levels = vec![LevelGeom {
            stride: 8,
            h: 2,
            w: 2,
        }];
        let anchors = [[16.0, 16.0, 100.0, 100.0, 200.0, 200.0], [1.0; 6], [1.0; 6]];
        let gt = [8.0f32, 8.0, 24.0, 24.0];
        let mut boxes = [[0.0f32, 0.0, 1.0, 1.0]; 12];
        // Anchor 0, cell (1, 1): index 0·4 + 1·2 + 1 = 3 predicts the gt exactly.
        boxes[3] = gt;
        let flat: Vec<f32> = boxes.iter().flatten().copied().collect();
        let inp = V5Inputs {
            boxes: Tensor::from_data(TensorData::new(flat, [1, 12, 4]), &d),
            obj_logits: Tensor::from_data(TensorData::new(vec![0.0f32; 12], [1, 12]), &d),
            cls_logits: Tensor::from_data(TensorData::new(vec![0.0f32; 12], [1, 12]), &d),
            levels,
            anchors,
            tile: 640,
        };
        let out = yolov5_loss(&V5LossConfig::default(), inp, &[vec![gt]]);
        // Only anchor 0 is within ratio 4 (100/16 > 4); every offset lands on cell (1, 1).
        assert!(out.positives >= 1);
        assert!(out.boxes.abs() < 1e-5, "{}", out.boxes);
        // Obj: logits 0 → BCE ln 2 for target 0; target 1 (IoU 1) costs ln 2 as well.
        assert!(
            (out.obj - 4.0 * std::f32::consts::LN_2).abs() < 1e-5,
            "{}",
            out.obj
        );
    }
}

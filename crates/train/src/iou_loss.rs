//! IoU-family box regression losses on burn tensors (paper Formula 3 and Table 5).
//!
//! Boxes are `[P, 4]` pixel `(x1, y1, x2, y2)`; the loss of each pair is returned as `[P]`
//! so callers choose how to reduce it. Everything is built from differentiable tensor ops,
//! so the gradient flows to the predicted boxes (the targets are constants).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Which member of the IoU family the box loss uses (paper Table 5 compares them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum IouKind {
    /// 1 − IoU.
    Iou,
    /// 1 − IoU + (|C| − |A ∪ B|) / |C|, C the smallest enclosing box.
    Giou,
    /// 1 − IoU + ρ²(centres) / c², c the enclosing box's diagonal (the paper's choice).
    #[default]
    Diou,
    /// DIoU + α·v, v the aspect-ratio consistency term, α = v / (1 − IoU + v) held constant.
    Ciou,
}

impl std::str::FromStr for IouKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "iou" => Ok(Self::Iou),
            "giou" => Ok(Self::Giou),
            "diou" => Ok(Self::Diou),
            "ciou" => Ok(Self::Ciou),
            other => Err(format!(
                "unknown IoU loss {other:?}: expected iou, giou, diou or ciou"
            )),
        }
    }
}

/// Keeps divisions finite for degenerate (zero-area, coincident) boxes.
const EPS: f32 = 1e-7;

/// The four coordinate columns of a `[P, 4]` box tensor, each `[P]`.
fn columns(boxes: Tensor<2>) -> [Tensor<1>; 4] {
    let mut cols = boxes.chunk(4, 1).into_iter().map(|c| c.squeeze_dim::<1>(1));
    // chunk(4) of a 4-wide dimension always yields exactly four columns.
    std::array::from_fn(|_| cols.next().expect("a [P, 4] box tensor has four columns"))
}

/// Per-pair box loss for the chosen IoU family member: `[P]`.
pub fn iou_loss(pred: Tensor<2>, target: Tensor<2>, kind: IouKind) -> Tensor<1> {
    let [px1, py1, px2, py2] = columns(pred);
    let [tx1, ty1, tx2, ty2] = columns(target);
    let pw = px2.clone() - px1.clone();
    let ph = py2.clone() - py1.clone();
    let tw = tx2.clone() - tx1.clone();
    let th = ty2.clone() - ty1.clone();

    let iw = (px2.clone().min_pair(tx2.clone()) - px1.clone().max_pair(tx1.clone())).clamp_min(0.0);
    let ih = (py2.clone().min_pair(ty2.clone()) - py1.clone().max_pair(ty1.clone())).clamp_min(0.0);
    let inter = iw * ih;
    let union = pw.clone() * ph.clone() + tw.clone() * th.clone() - inter.clone() + EPS;
    let iou = inter / union.clone();
    let base = iou.clone().neg().add_scalar(1.0);
    if kind == IouKind::Iou {
        return base;
    }

    let cw = px2.clone().max_pair(tx2.clone()) - px1.clone().min_pair(tx1.clone());
    let ch = py2.clone().max_pair(ty2.clone()) - py1.clone().min_pair(ty1.clone());
    if kind == IouKind::Giou {
        let c_area = cw * ch + EPS;
        return base + (c_area.clone() - union) / c_area;
    }

    let c2 = cw.square() + ch.square() + EPS;
    // ρ² of the centres, written with sums so no halving is needed: (Δ(x1+x2))² / 4.
    let dx = px1 + px2 - tx1 - tx2;
    let dy = py1 + py2 - ty1 - ty2;
    let rho2 = (dx.square() + dy.square()).div_scalar(4.0);
    let diou = base + rho2 / c2;
    if kind == IouKind::Diou {
        return diou;
    }

    let four_over_pi2 = 4.0 / (std::f32::consts::PI * std::f32::consts::PI);
    let v = ((tw / (th + EPS)).atan() - (pw / (ph + EPS)).atan())
        .square()
        .mul_scalar(four_over_pi2);
    // CIoU's trade-off weight is a constant in the original (computed under no_grad).
    let alpha = (v.clone() / (v.clone() - iou + (1.0 + EPS))).detach();
    diou + alpha * v
}

/// IoU of two `(x1, y1, x2, y2)` boxes in plain f32, for the assigners (no gradient needed).
pub fn iou_f32(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area_a = (a[2] - a[0]).max(0.0) * (a[3] - a[1]).max(0.0);
    let area_b = (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0);
    inter / (area_a + area_b - inter + EPS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t2(rows: &[[f32; 4]], device: &Device) -> Tensor<2> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), 4]), device)
    }

    fn loss1(p: [f32; 4], t: [f32; 4], kind: IouKind) -> f32 {
        let d = Device::flex();
        let v = iou_loss(t2(&[p], &d), t2(&[t], &d), kind).into_data();
        v.try_to_vec::<f32>().expect("f32 data")[0]
    }

    // A = [0,0,2,2], B = [1,1,3,3]: inter 1, union 7, IoU 1/7; enclosing 3×3 (area 9,
    // diagonal² 18); centres (1,1) and (2,2): ρ² = 2.
    const A: [f32; 4] = [0.0, 0.0, 2.0, 2.0];
    const B: [f32; 4] = [1.0, 1.0, 3.0, 3.0];

    #[test]
    fn hand_computed_values() {
        let iou = 1.0 / 7.0;
        assert!((loss1(A, B, IouKind::Iou) - (1.0 - iou)).abs() < 1e-5);
        assert!((loss1(A, B, IouKind::Giou) - (1.0 - iou + 2.0 / 9.0)).abs() < 1e-5);
        let diou = 1.0 - iou + 2.0 / 18.0;
        assert!((loss1(A, B, IouKind::Diou) - diou).abs() < 1e-5);
        // Same aspect ratio: v = 0, so CIoU = DIoU.
        assert!((loss1(A, B, IouKind::Ciou) - diou).abs() < 1e-5);
    }

    #[test]
    fn ciou_aspect_term_by_hand() {
        // P = [0,0,4,2] (w/h = 2), T = [0,0,2,2] (w/h = 1): inter 4, union 8, IoU 1/2.
        // Enclosing 4×2: c² = 20; centres (2,1) and (1,1): ρ² = 1.
        let (p, t) = ([0.0, 0.0, 4.0, 2.0], [0.0, 0.0, 2.0, 2.0]);
        let v = 4.0 / std::f32::consts::PI.powi(2) * (1.0f32.atan() - 2.0f32.atan()).powi(2);
        let alpha = v / (1.0 - 0.5 + v);
        let expect = 1.0 - 0.5 + 1.0 / 20.0 + alpha * v;
        assert!((loss1(p, t, IouKind::Ciou) - expect).abs() < 1e-5);
    }

    #[test]
    fn identical_boxes_cost_nothing_disjoint_boxes_cost_more_than_one() {
        for kind in [IouKind::Iou, IouKind::Giou, IouKind::Diou, IouKind::Ciou] {
            assert!(loss1(A, A, kind).abs() < 1e-5, "{kind:?}");
        }
        let far = [10.0, 0.0, 12.0, 2.0];
        assert!((loss1(A, far, IouKind::Iou) - 1.0).abs() < 1e-5);
        for kind in [IouKind::Giou, IouKind::Diou, IouKind::Ciou] {
            assert!(loss1(A, far, kind) > 1.0, "{kind:?}");
        }
    }

    /// Plain-f32 reference of the loss with CIoU's α frozen at `alpha` (None: computed),
    /// so a finite difference sees the same function autodiff differentiates.
    fn reference(p: [f32; 4], t: [f32; 4], kind: IouKind, alpha: Option<f32>) -> (f32, f32) {
        let iou = iou_f32(&p, &t);
        let cw = p[2].max(t[2]) - p[0].min(t[0]);
        let ch = p[3].max(t[3]) - p[1].min(t[1]);
        let rho2 =
            ((p[0] + p[2] - t[0] - t[2]).powi(2) + (p[1] + p[3] - t[1] - t[3]).powi(2)) / 4.0;
        let diou = 1.0 - iou + rho2 / (cw * cw + ch * ch);
        let v = 4.0 / std::f32::consts::PI.powi(2)
            * (((t[2] - t[0]) / (t[3] - t[1])).atan() - ((p[2] - p[0]) / (p[3] - p[1])).atan())
                .powi(2);
        let a = alpha.unwrap_or(v / (1.0 - iou + v));
        let inter =
            (p[2].min(t[2]) - p[0].max(t[0])).max(0.0) * (p[3].min(t[3]) - p[1].max(t[1])).max(0.0);
        let union = (p[2] - p[0]) * (p[3] - p[1]) + (t[2] - t[0]) * (t[3] - t[1]) - inter;
        let value = match kind {
            IouKind::Iou => 1.0 - iou,
            IouKind::Giou => 1.0 - iou + (cw * ch - union) / (cw * ch),
            IouKind::Diou => diou,
            IouKind::Ciou => diou + a * v,
        };
        (value, a)
    }

    #[test]
    fn reference_agrees_with_tensor_version() {
        let p = [0.3f32, 0.2, 2.6, 1.7];
        let t = [1.0f32, 0.5, 3.1, 3.3];
        for kind in [IouKind::Iou, IouKind::Giou, IouKind::Diou, IouKind::Ciou] {
            let (r, _) = reference(p, t, kind, None);
            assert!((r - loss1(p, t, kind)).abs() < 1e-5, "{kind:?}");
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let ad = Device::flex().autodiff();
        let p = [0.3f64, 0.2, 2.6, 1.7];
        let t = [1.0f32, 0.5, 3.1, 3.3];
        let pf = p.map(|x| x as f32);
        for kind in [IouKind::Iou, IouKind::Giou, IouKind::Diou, IouKind::Ciou] {
            let pred = t2(&[pf], &ad).require_grad();
            let loss = iou_loss(pred.clone(), t2(&[t], &ad), kind).sum();
            let grads = loss.backward();
            let g = pred.grad(&grads).expect("gradient of pred").into_data();
            let g = g.try_to_vec::<f32>().expect("f32");
            let (_, alpha) = reference(pf, t, kind, None);
            for k in 0..4 {
                let h = 1e-2f64;
                let at = |delta: f64| {
                    let mut q = p;
                    q[k] += delta;
                    reference(q.map(|x| x as f32), t, kind, Some(alpha)).0 as f64
                };
                let fd = ((at(h) - at(-h)) / (2.0 * h)) as f32;
                assert!(
                    (g[k] - fd).abs() < 2e-3,
                    "{kind:?} coord {k}: autodiff {} vs fd {fd}",
                    g[k]
                );
            }
        }
    }

    #[test]
    fn iou_f32_by_hand() {
        assert!((iou_f32(&A, &B) - 1.0 / 7.0).abs() < 1e-6);
        assert_eq!(iou_f32(&A, &[5.0, 5.0, 6.0, 6.0]), 0.0);
    }
}

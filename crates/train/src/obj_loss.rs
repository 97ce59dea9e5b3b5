//! Objectness losses on logits: binary cross-entropy and the focal loss (paper Formula 2).
//!
//! Both take raw logits so the log of the sigmoid is computed stably
//! (`softplus`-style), never as `log(sigmoid(x))` which underflows for confident logits.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The objectness loss of Formula 1 (`--no-focal` gives BCE, paper Table 4).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ObjLoss {
    /// Plain binary cross-entropy.
    Bce,
    /// Focal loss: −α(1−p)^γ log p for positives, −(1−α)p^γ log(1−p) for negatives.
    Focal { alpha: f32, gamma: f32 },
}

impl Default for ObjLoss {
    fn default() -> Self {
        Self::Focal {
            alpha: 0.25,
            gamma: 2.0,
        }
    }
}

/// Element-wise BCE with logits: max(x, 0) − x·y + log(1 + e^−|x|).
pub fn bce_with_logits<const D: usize>(logits: Tensor<D>, target: Tensor<D>) -> Tensor<D> {
    let softplus_tail = logits.clone().abs().neg().exp().log1p();
    logits.clone().clamp_min(0.0) - logits * target + softplus_tail
}

/// Element-wise focal loss with logits (targets in [0, 1]; 1 = positive).
pub fn focal_with_logits<const D: usize>(
    logits: Tensor<D>,
    target: Tensor<D>,
    alpha: f32,
    gamma: f32,
) -> Tensor<D> {
    let ce = bce_with_logits(logits.clone(), target.clone());
    let p = burn::tensor::activation::sigmoid(logits);
    // p_t is the probability given to the true class; (1 − p_t) = p + y − 2py.
    let one_minus_pt = p.clone() + target.clone() - (p * target.clone()).mul_scalar(2.0);
    let alpha_t = target.mul_scalar(2.0 * alpha - 1.0).add_scalar(1.0 - alpha);
    let modulator = if gamma == 0.0 {
        one_minus_pt.ones_like()
    } else {
        one_minus_pt.clamp_min(0.0).powf_scalar(gamma)
    };
    alpha_t * modulator * ce
}

impl ObjLoss {
    /// Element-wise loss of this kind.
    pub fn elementwise<const D: usize>(&self, logits: Tensor<D>, target: Tensor<D>) -> Tensor<D> {
        match *self {
            Self::Bce => bce_with_logits(logits, target),
            Self::Focal { alpha, gamma } => focal_with_logits(logits, target, alpha, gamma),
        }
    }
}

/// BCE(σ(x), 1) = softplus(−x) in plain f32, the assigners' confidence cost.
pub fn bce_positive_f32(logit: f32) -> f32 {
    (-logit).max(0.0) + (-logit.abs()).exp().ln_1p()
}

/// BCE(σ(x), 0) = softplus(x) in plain f32, the background's cost in Sinkhorn OTA.
pub fn bce_negative_f32(logit: f32) -> f32 {
    logit.max(0.0) + (-logit.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t1(v: &[f32], d: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), d)
    }

    fn vals(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32")
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Formula 2 evaluated literally in f64.
    fn focal_ref(x: f64, y: f64, alpha: f64, gamma: f64) -> f64 {
        let p = sigmoid(x);
        if y == 1.0 {
            -alpha * (1.0 - p).powf(gamma) * p.ln()
        } else {
            -(1.0 - alpha) * p.powf(gamma) * (1.0 - p).ln()
        }
    }

    #[test]
    fn bce_and_focal_match_formula_two() {
        let d = Device::flex();
        let xs = [-3.0f32, -0.5, 0.0, 0.7, 4.0];
        for y in [0.0f32, 1.0] {
            let ys = vec![y; xs.len()];
            let bce = vals(bce_with_logits(t1(&xs, &d), t1(&ys, &d)));
            let focal = vals(focal_with_logits(t1(&xs, &d), t1(&ys, &d), 0.25, 2.0));
            for (i, &x) in xs.iter().enumerate() {
                let p = sigmoid(x as f64);
                let bce_ref = if y == 1.0 { -p.ln() } else { -(1.0 - p).ln() };
                assert!((bce[i] as f64 - bce_ref).abs() < 1e-5, "bce x={x} y={y}");
                let f = focal_ref(x as f64, y as f64, 0.25, 2.0);
                assert!((focal[i] as f64 - f).abs() < 1e-5, "focal x={x} y={y}");
            }
        }
        // By hand: x = 0 → p = 1/2; positive: 0.25 · 0.25 · ln 2.
        let f0 = vals(focal_with_logits(t1(&[0.0], &d), t1(&[1.0], &d), 0.25, 2.0))[0];
        assert!((f0 - 0.0625 * std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn stable_for_confident_logits() {
        let d = Device::flex();
        let v = vals(bce_with_logits(t1(&[-80.0, 80.0], &d), t1(&[1.0, 0.0], &d)));
        assert!(
            (v[0] - 80.0).abs() < 1e-3 && (v[1] - 80.0).abs() < 1e-3,
            "{v:?}"
        );
        let f = vals(focal_with_logits(
            t1(&[-80.0], &d),
            t1(&[1.0], &d),
            0.25,
            2.0,
        ));
        assert!(f[0].is_finite() && (f[0] - 20.0).abs() < 1e-2);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let ad = Device::flex().autodiff();
        let xs = [-2.0f32, -0.3, 0.4, 1.5];
        for y in [0.0f32, 1.0] {
            for kind in [ObjLoss::Bce, ObjLoss::default()] {
                let x = t1(&xs, &ad).require_grad();
                let loss = kind.elementwise(x.clone(), t1(&[y; 4], &ad)).sum();
                let g = vals(x.grad(&loss.backward()).expect("grad"));
                for (i, &x0) in xs.iter().enumerate() {
                    let h = 1e-3f64;
                    let f = |x: f64| match kind {
                        ObjLoss::Bce => focal_ref(x, y as f64, 0.5, 0.0) * 2.0,
                        ObjLoss::Focal { alpha, gamma } => {
                            focal_ref(x, y as f64, alpha as f64, gamma as f64)
                        }
                    };
                    let fd = (f(x0 as f64 + h) - f(x0 as f64 - h)) / (2.0 * h);
                    assert!(
                        (g[i] as f64 - fd).abs() < 1e-3,
                        "{kind:?} y={y} x={x0}: {} vs {fd}",
                        g[i]
                    );
                }
            }
        }
    }

    #[test]
    fn plain_costs() {
        assert!((bce_positive_f32(0.0) - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((bce_positive_f32(-4.0) - (1.0 + 4f32.exp()).ln()).abs() < 1e-5);
        assert!((bce_negative_f32(2.0) - (1.0 + 2f32.exp()).ln()).abs() < 1e-5);
    }
}

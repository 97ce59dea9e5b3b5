//! Activations and the bias + activation epilogue, on a vectorised polynomial `exp`.
//!
//! `f32::exp` is a libm call per element that LLVM cannot vectorise; SiLU on it dominated the
//! element-wise time of the burn path. [`exp_approx`] is Cephes' `expf` (range reduction by
//! ln 2 split in two constants, degree-6 polynomial, 2ⁿ assembled in the exponent bits) in
//! branch-free form, so a loop over chunks of [`LANES`] vectorises.

use crate::simd::{LANES, multiversion};

/// The non-linearity applied after a convolution's bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    /// Identity: the detection heads' last 1×1 convolutions.
    #[default]
    None,
    /// `x · σ(x)`, YOLOv5's activation after every BatchNorm.
    Silu,
}

/// exp(88) ≈ 1.65e38 still fits f32; exp(−87) ≈ 1.6e−38 is still a normal number, so 2ⁿ can
/// be written straight into the exponent field for every clamped input.
const EXP_HI: f32 = 88.0;
const EXP_LO: f32 = -87.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 = LN2_HI + LN2_LO, LN2_HI exact in 9 bits so n·LN2_HI is exact for |n| ≤ 127.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding it rounds to an integer (ties to even) and leaves that integer in the
/// low mantissa bits (also [`crate::trig`]'s quadrant).
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x to about 2e−7 relative error for x in [−87, 88]; inputs outside are clamped to it,
/// NaN stays NaN.
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    // Fused multiply-adds throughout: one instruction each in the AVX2 and AVX-512 copies
    // (1.4× the speed of separate multiplies and adds, measured on the SiLU epilogue), and
    // correctly rounded everywhere, so every copy still gives the same bits.
    let shifted = x.mul_add(LOG2E, ROUND_MAGIC);
    let n = shifted - ROUND_MAGIC;
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    let mut p = 1.987_569_2e-4_f32;
    p = p.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 0.5);
    let er = (p * r).mul_add(r, r + 1.0);
    // The low mantissa bits of `shifted` hold n (plus 0x4B40_0000 above bit 22, which the
    // shift by 23 pushes out), so this is (n + 127) << 23: the f32 bits of 2ⁿ.
    let scale = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    er * scale
}

/// SiLU with the vectorisable exp.
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp_approx(-x))
}

#[inline(always)]
fn bias_silu_lanes(chunk: &mut [f32; LANES], bias: f32) {
    for v in chunk.iter_mut() {
        *v = silu(*v + bias);
    }
}

multiversion! {
    /// `row[i] = act(row[i] + bias)` in place: the epilogue of every convolution.
    pub fn bias_act(row: &mut [f32], bias: f32, act: Activation) {
        match act {
            Activation::None => {
                for v in row.iter_mut() {
                    *v += bias;
                }
            }
            Activation::Silu => {
                let (chunks, rest) = row.as_chunks_mut::<LANES>();
                for chunk in chunks {
                    bias_silu_lanes(chunk, bias);
                }
                for v in rest {
                    *v = silu(*v + bias);
                }
            }
        }
    }
}

/// `act` in place over a whole buffer.
pub fn apply(data: &mut [f32], act: Activation) {
    if act != Activation::None {
        bias_act(data, 0.0, act);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_over_the_whole_range() {
        let mut worst = 0.0_f64;
        let steps = 200_000;
        for i in 0..=steps {
            let x = EXP_LO + (EXP_HI - EXP_LO) * i as f32 / steps as f32;
            let truth = (x as f64).exp();
            let rel = ((exp_approx(x) as f64 - truth) / truth).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 1e-6, "worst relative error {worst:e}");
    }

    #[test]
    fn exp_exact_points_and_clamping() {
        assert_eq!(exp_approx(0.0), 1.0);
        assert!((exp_approx(1.0) - std::f32::consts::E).abs() < 1e-6);
        assert!((exp_approx(-1.0) - 1.0 / std::f32::consts::E).abs() < 1e-7);
        assert!(exp_approx(1000.0).is_finite());
        assert!(exp_approx(-1000.0) > 0.0);
        assert!(exp_approx(f32::NAN).is_nan() && silu(f32::NAN).is_nan());
    }

    #[test]
    fn silu_matches_definition() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.01;
            let truth = x as f64 / (1.0 + (-x as f64).exp());
            let got = silu(x) as f64;
            assert!(
                (got - truth).abs() <= 1e-6 * truth.abs().max(1e-3),
                "silu({x}) = {got}, expected {truth}"
            );
        }
        assert!(silu(-200.0) <= 0.0 && silu(-200.0) > -1e-30);
        assert_eq!(silu(200.0), 200.0);
    }

    #[test]
    fn epilogue_covers_chunks_and_tail() {
        let mut row: Vec<f32> = (0..19).map(|i| i as f32 * 0.3 - 3.0).collect();
        let expected: Vec<f32> = row.iter().map(|&v| silu(v + 0.5)).collect();
        bias_act(&mut row, 0.5, Activation::Silu);
        assert_eq!(row, expected);
        let mut row = vec![1.0, 2.0];
        bias_act(&mut row, -1.0, Activation::None);
        assert_eq!(row, vec![0.0, 1.0]);
    }
}

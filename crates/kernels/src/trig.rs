//! Unit phasors (cos φ, sin φ) of a phase raster on a vectorised sine and cosine.
//!
//! Encoding a scene as network input turns every phase into its phasor; glibc's `sinf` and
//! `cosf` are a call each per pixel that LLVM cannot vectorise, and took a tenth of a
//! scene's reading and encoding. [`sin_cos`] is Cephes' `sinf`/`cosf` in branch-free form:
//! the quadrant q = round(2φ/π) by the exponent trick [`crate::act::exp_approx`] uses,
//! φ − q·π/2 in three exact-ish parts (Cody–Waite), then the two polynomials on
//! [−π/4, π/4], swapped and signed by q. Absolute error ≤ 2e−7 for |φ| ≤ [`REDUCED_MAX`];
//! beyond it (never a wrapped phase) libm's answer is used.

use crate::act::ROUND_MAGIC;
use crate::simd::{LANES, multiversion};

/// |φ| up to which the three-part reduction keeps ≤ 2e−7 of error; larger phases (an
/// unwrapped raster given as wrapped) take libm's slower exact path.
pub const REDUCED_MAX: f32 = 8192.0;

/// π/2 = DP1 + DP2 + DP3, DP1 and DP2 short enough that q·DP1 and q·DP2 are exact for the
/// q of |φ| ≤ [`REDUCED_MAX`].
const DP1: f32 = 1.570_312_5;
const DP2: f32 = 4.837_513e-4;
const DP3: f32 = 7.549_79e-8;

/// (sin φ, cos φ) for |φ| ≤ [`REDUCED_MAX`] (NaN stays NaN).
#[inline(always)]
pub fn sin_cos(phi: f32) -> (f32, f32) {
    let shifted = phi.mul_add(std::f32::consts::FRAC_2_PI, ROUND_MAGIC);
    let q = shifted - ROUND_MAGIC;
    let quadrant = shifted.to_bits();
    let r = q.mul_add(-DP3, q.mul_add(-DP2, q.mul_add(-DP1, phi)));
    let z = r * r;
    let mut s = -1.951_529_6e-4_f32;
    s = s.mul_add(z, 8.332_161e-3);
    s = s.mul_add(z, -1.666_665_5e-1);
    let s = (s * z).mul_add(r, r);
    let mut c = 2.443_315_7e-5_f32;
    c = c.mul_add(z, -1.388_731_6e-3);
    c = c.mul_add(z, 4.166_664_6e-2);
    let c = (c * z).mul_add(z, z.mul_add(-0.5, 1.0));
    // q mod 4 picks the quadrant: odd ones swap sine and cosine, the sine is negative in
    // quadrants 2 and 3, the cosine in 1 and 2.
    let swap = quadrant & 1 == 1;
    let (sin, cos) = if swap { (c, s) } else { (s, c) };
    let sin_sign = (quadrant & 2) << 30;
    let cos_sign = (quadrant.wrapping_add(1) & 2) << 30;
    (
        f32::from_bits(sin.to_bits() ^ sin_sign),
        f32::from_bits(cos.to_bits() ^ cos_sign),
    )
}

#[inline(always)]
fn phasor(phi: f32) -> (f32, f32) {
    let (s, c) = sin_cos(phi);
    // Branch-free, so the loop vectorises; non-finite phases (no-data) have no direction.
    let finite = phi.is_finite();
    (if finite { c } else { 0.0 }, if finite { s } else { 0.0 })
}

multiversion! {
    /// `cos[i], sin[i] = cos φᵢ, sin φᵢ` for finite phases, 0 and 0 for the others (no-data).
    /// The three slices must have the same length.
    pub fn phasors_into(phase: &[f32], cos: &mut [f32], sin: &mut [f32]) {
        assert!(phase.len() == cos.len() && phase.len() == sin.len(), "phasor slices differ in length");
        let (chunks, rest) = phase.as_chunks::<LANES>();
        let (cos_chunks, cos_rest) = cos.as_chunks_mut::<LANES>();
        let (sin_chunks, sin_rest) = sin.as_chunks_mut::<LANES>();
        for ((p, c), s) in chunks.iter().zip(cos_chunks).zip(sin_chunks) {
            for i in 0..LANES {
                (c[i], s[i]) = phasor(p[i]);
            }
        }
        for ((p, c), s) in rest.iter().zip(cos_rest).zip(sin_rest) {
            (*c, *s) = phasor(*p);
        }
        // Rare (never a wrapped phase): redo large phases with libm.
        for ((p, c), s) in phase.iter().zip(cos.iter_mut()).zip(sin.iter_mut()) {
            if p.is_finite() && p.abs() > REDUCED_MAX {
                (*s, *c) = p.sin_cos();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst_error(phases: impl Iterator<Item = f32>) -> f64 {
        let phases: Vec<f32> = phases.collect();
        let (mut cos, mut sin) = (vec![9.0; phases.len()], vec![9.0; phases.len()]);
        phasors_into(&phases, &mut cos, &mut sin);
        let mut worst = 0.0f64;
        for ((&p, &c), &s) in phases.iter().zip(&cos).zip(&sin) {
            let (ts, tc) = f64::from(p).sin_cos();
            worst = worst
                .max((f64::from(c) - tc).abs())
                .max((f64::from(s) - ts).abs());
        }
        worst
    }

    #[test]
    fn matches_f64_over_wrapped_and_unwrapped_phases() {
        // Every float step near ±π and a dense sweep of ±100 rad, lengths off the lanes.
        let wrapped = (-400_001..=400_001).map(|i| i as f32 * (std::f32::consts::PI / 400_000.0));
        assert!(worst_error(wrapped) < 2e-7);
        let wide = (-1_000_003..=1_000_003).map(|i| i as f32 * 1e-4);
        assert!(worst_error(wide) < 2e-7);
        let far = (0..10_001).map(|i| REDUCED_MAX - 5.0 + i as f32 * 1e-3);
        assert!(worst_error(far) < 4e-7);
    }

    #[test]
    fn quadrant_boundaries_and_exact_points() {
        let (s, c) = sin_cos(0.0);
        assert_eq!((s, c), (0.0, 1.0));
        for k in -8..=8 {
            let phi = k as f32 * std::f32::consts::FRAC_PI_4;
            let (s, c) = sin_cos(phi);
            let (ts, tc) = f64::from(phi).sin_cos();
            assert!(
                (f64::from(s) - ts).abs() < 2e-7 && (f64::from(c) - tc).abs() < 2e-7,
                "{phi}"
            );
        }
    }

    #[test]
    fn no_data_and_huge_phases() {
        let phases = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e6, -3e9, 1.0];
        let (mut cos, mut sin) = ([7.0; 6], [7.0; 6]);
        phasors_into(&phases, &mut cos, &mut sin);
        assert_eq!((&cos[..3], &sin[..3]), (&[0.0; 3][..], &[0.0; 3][..]));
        for i in 3..5 {
            let (s, c) = phases[i].sin_cos();
            assert_eq!((sin[i], cos[i]), (s, c), "libm's answer for {}", phases[i]);
        }
        assert!((cos[5] - 1f32.cos()).abs() < 2e-7 && (sin[5] - 1f32.sin()).abs() < 2e-7);
    }
}

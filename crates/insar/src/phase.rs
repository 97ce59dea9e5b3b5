//! Wrapping, complex ↔ phase and line-of-sight displacement ↔ phase.
//!
//! Sign convention (ISCE, GAMMA, SNAP, MintPy): a displacement `d` towards the satellite
//! (positive LOS, shortening of the range) gives phase `−4π d / λ`; subsidence seen from above
//! lengthens the range (negative LOS) and so gives positive phase. One full fringe (2π) is a
//! LOS change of λ/2.

use rustfft::num_complex::Complex32;
use std::f64::consts::{PI, TAU};

/// Sentinel-1 C-band radar wavelength in metres (c / 5.405 GHz).
pub const S1_WAVELENGTH: f64 = 0.055465763;

/// Wraps a phase to (−π, π].
///
/// Computed in f64 so that `wrap(x + 2πk)` agrees with `wrap(x)` to f32 rounding for large
/// `k`; non-finite input gives NaN.
pub fn wrap(phi: f32) -> f32 {
    // In f32 terms the range is (−PI, PI] with PI = π rounded up: values inside are kept as
    // they are and −PI (the same angle as PI) maps to PI, instead of wrapping these slightly
    // out-of-range representations of ±π by a full turn.
    if phi == -std::f32::consts::PI {
        return std::f32::consts::PI;
    }
    if phi > -std::f32::consts::PI && phi <= std::f32::consts::PI {
        return phi;
    }
    let r = wrap64(f64::from(phi)) as f32;
    // Rounding to f32 can land a value just above −π on −π (f32 π exceeds true π).
    if r <= -std::f32::consts::PI {
        std::f32::consts::PI
    } else {
        r
    }
}

/// Wraps a phase to (−π, π] in f64.
pub fn wrap64(phi: f64) -> f64 {
    if !phi.is_finite() {
        return f64::NAN;
    }
    // k = ceil((φ − π) / 2π) is the smallest integer with φ − 2πk ≤ π, so φ − 2πk > −π too.
    let k = ((phi - PI) / TAU).ceil();
    let r = phi - TAU * k;
    // Guard the rounding of φ − 2πk for huge |φ|.
    if r <= -PI {
        r + TAU
    } else if r > PI {
        r - TAU
    } else {
        r
    }
}

/// Interferometric phase of a LOS displacement `d_m` (metres, positive towards the sensor).
pub fn los_to_phase(d_m: f64, wavelength: f64) -> f64 {
    -4.0 * PI * d_m / wavelength
}

/// LOS displacement in metres (positive towards the sensor) of an unwrapped phase.
pub fn phase_to_los(phi: f64, wavelength: f64) -> f64 {
    -phi * wavelength / (4.0 * PI)
}

/// LOS displacement of one fringe (a 2π cycle): λ/2.
pub fn fringe_los(wavelength: f64) -> f64 {
    wavelength / 2.0
}

/// Unit phasor `e^{iφ}`.
pub fn phasor(phi: f32) -> Complex32 {
    let (s, c) = phi.sin_cos();
    Complex32::new(c, s)
}

/// Unit phasors of a slice of phases.
pub fn phasors(phase: &[f32]) -> Vec<Complex32> {
    phase.iter().map(|&p| phasor(p)).collect()
}

/// Phase (argument, in (−π, π]) of each complex sample; an exact zero gives 0.
pub fn phase_of(data: &[Complex32]) -> Vec<f32> {
    // atan2 gives −π for a negative real with −0 imaginary part; wrap folds it onto π.
    data.iter().map(|z| wrap(z.im.atan2(z.re))).collect()
}

/// Argument of `re + i·im` in (−π, π] (an exact zero gives 0), as `atan2` but with a
/// branch-free polynomial that vectorises: simulating a scene takes the phase of ~10⁸
/// samples. |error| ≤ 5e-7 rad against the exact value (tested): about two steps of
/// f32 phases near ±π.
#[inline]
pub fn fast_arg(re: f32, im: f32) -> f32 {
    // atan on [0, 1]: odd polynomial of degree 15 (a weighted least-squares fit, max error
    // 4e-8 in exact arithmetic), then the octant.
    const C: [f32; 8] = [
        9.999_993e-1,
        -3.332_986e-1,
        1.994_656_5e-1,
        -1.390_863e-1,
        9.642_205e-2,
        -5.591_249e-2,
        2.186_310_1e-2,
        -4.054_614_2e-3,
    ];
    let (ax, ay) = (re.abs(), im.abs());
    let (lo, hi) = (ax.min(ay), ax.max(ay));
    let a = if hi > 0.0 { lo / hi } else { 0.0 };
    let t = a * a;
    let p = C[7];
    let p = p * t + C[6];
    let p = p * t + C[5];
    let p = p * t + C[4];
    let p = p * t + C[3];
    let p = p * t + C[2];
    let p = p * t + C[1];
    let p = (p * t + C[0]) * a;
    let r = if ay > ax {
        std::f32::consts::FRAC_PI_2 - p
    } else {
        p
    };
    let r = if re < 0.0 {
        std::f32::consts::PI - r
    } else {
        r
    };
    if im < 0.0 { -r } else { r }
}

/// Amplitude (modulus) of each complex sample.
pub fn amplitude(data: &[Complex32]) -> Vec<f32> {
    data.iter().map(|z| z.norm()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fast_arg_matches_atan2() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let t = i as f64 / 200_000.0 * std::f64::consts::TAU - PI;
            let r = 1e-3 + (i % 17) as f64;
            let (re, im) = ((r * t.cos()) as f32, (r * t.sin()) as f32);
            let exact = (im as f64).atan2(re as f64);
            let got = fast_arg(re, im) as f64;
            // Compare on the circle; like f32 atan2, values just below −π round to −π.
            worst = worst.max(wrap64(got - exact).abs());
            assert!(got.abs() <= std::f32::consts::PI as f64, "{got}");
        }
        assert!(worst < 5e-7, "max error {worst}");
        assert_eq!(fast_arg(0.0, 0.0), 0.0);
        assert_eq!(fast_arg(-1.0, 0.0), std::f32::consts::PI);
        assert_eq!(fast_arg(-1.0, -0.0), std::f32::consts::PI);
        assert_eq!(fast_arg(0.0, 2.0), std::f32::consts::FRAC_PI_2);
    }
    use std::f32::consts::PI as PI32;

    /// Distance on the circle, so that a result of π and one of −π+ε count as close.
    fn circ_dist(a: f32, b: f32) -> f32 {
        wrap(a - b).abs()
    }

    #[test]
    fn wrap_hand_cases() {
        assert_eq!(wrap(0.0), 0.0);
        assert_eq!(wrap(PI32), PI32);
        assert_eq!(wrap(-PI32), PI32);
        assert!((wrap(3.0 * PI32) - PI32).abs() < 1e-5);
        assert!((wrap(1.5 * PI32) - (-0.5 * PI32)).abs() < 1e-6);
        assert!((wrap(-1.5 * PI32) - 0.5 * PI32).abs() < 1e-6);
        assert!(wrap(f32::NAN).is_nan());
        assert!(wrap(f32::INFINITY).is_nan());
        assert_eq!(wrap64(-PI), PI);
        assert_eq!(wrap64(PI), PI);
    }

    proptest! {
        #[test]
        fn wrap_in_range(x in -1.0e5f32..1.0e5) {
            let r = wrap(x);
            prop_assert!(r > -PI32 && r <= PI32, "wrap({x}) = {r}");
        }

        #[test]
        fn wrap_is_periodic(x in -100.0f64..100.0, k in -1000i32..1000) {
            let shifted = x + TAU * f64::from(k);
            let a = wrap64(x);
            let b = wrap64(shifted);
            prop_assert!(b > -PI && b <= PI);
            // Adding 2πk costs at most a few ulps of |x + 2πk| ~ 6e3 (≈ 1e-12).
            prop_assert!(wrap64(a - b).abs() < 1e-9, "{a} vs {b}");
            let a32 = wrap(x as f32);
            let b32 = wrap(shifted as f32);
            prop_assert!(circ_dist(a32, b32) < 2e-3, "{a32} vs {b32}");
        }

        #[test]
        fn wrap_is_identity_inside(x in (-PI32 + 1e-6)..=PI32) {
            prop_assert_eq!(wrap(x), x);
        }

        #[test]
        fn phase_phasor_round_trip(x in -3.1f32..3.1) {
            let z = phasor(x);
            prop_assert!((z.norm() - 1.0).abs() < 1e-6);
            prop_assert!(circ_dist(phase_of(&[z])[0], x) < 1e-6);
        }

        #[test]
        fn los_round_trip(d in -1.0f64..1.0) {
            let back = phase_to_los(los_to_phase(d, S1_WAVELENGTH), S1_WAVELENGTH);
            prop_assert!((back - d).abs() < 1e-15);
        }
    }

    #[test]
    fn half_wavelength_is_one_fringe() {
        let phi = los_to_phase(S1_WAVELENGTH / 2.0, S1_WAVELENGTH);
        assert!((phi.abs() - TAU).abs() < 1e-12, "{phi}");
        assert!(phi < 0.0, "motion towards the sensor has negative phase");
        assert_eq!(fringe_los(S1_WAVELENGTH), S1_WAVELENGTH / 2.0);
        // 1 cm of subsidence (away from the sensor): +4π·0.01/λ ≈ 2.2655 rad.
        let sub = los_to_phase(-0.01, S1_WAVELENGTH);
        assert!((sub - 4.0 * PI * 0.01 / 0.055465763).abs() < 1e-12);
        assert!((sub - 2.265_609).abs() < 1e-5);
    }

    #[test]
    fn amplitude_and_phase_of_hand_values() {
        let z = [
            Complex32::new(3.0, 4.0),
            Complex32::new(0.0, -2.0),
            Complex32::new(0.0, 0.0),
        ];
        assert_eq!(amplitude(&z), vec![5.0, 2.0, 0.0]);
        let p = phase_of(&z);
        assert!((p[0] - (4.0f32).atan2(3.0)).abs() < 1e-7);
        assert!((p[1] + PI32 / 2.0).abs() < 1e-7);
        assert_eq!(p[2], 0.0);
        assert_eq!(phase_of(&[Complex32::new(-1.0, -0.0)])[0], PI32);
    }
}

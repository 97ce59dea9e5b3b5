//! The optional Goldstein filter before encoding, for unfiltered inputs.

use insar::{Complex32, GoldsteinParams};

/// Phase `w × h` filtered with strength `alpha` (insar's other settings); no-data (NaN)
/// enters as a zero phasor and stays NaN. An `alpha` outside [0, 1] or a size that is not
/// `phase`'s is an error.
pub fn goldstein_phase(
    phase: &[f32],
    w: usize,
    h: usize,
    alpha: f32,
) -> Result<Vec<f32>, insar::InsarError> {
    let z: Vec<Complex32> = phase
        .iter()
        .map(|&p| {
            if p.is_finite() {
                Complex32::from_polar(1.0, p)
            } else {
                Complex32::new(0.0, 0.0)
            }
        })
        .collect();
    let p = GoldsteinParams {
        alpha,
        ..GoldsteinParams::default()
    };
    Ok(insar::try_goldstein(&z, w, h, &p)?
        .iter()
        .zip(phase)
        .map(|(z, &p0)| if p0.is_finite() { z.arg() } else { f32::NAN })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_stays_no_data_and_a_plane_stays_a_plane() {
        let (w, h) = (64, 64);
        let mut phase = vec![0.5f32; w * h];
        phase[100] = f32::NAN;
        let out = goldstein_phase(&phase, w, h, 0.8).expect("valid alpha");
        assert!(out[100].is_nan());
        assert!(
            out.iter()
                .enumerate()
                .all(|(i, v)| i == 100 || (v - 0.5).abs() < 1e-3)
        );
    }

    /// `detect --goldstein 2` once panicked inside the filter.
    #[test]
    fn an_alpha_outside_zero_to_one_is_an_error() {
        for alpha in [2.0, -0.5, f32::INFINITY, f32::NAN] {
            let e = goldstein_phase(&[0.0; 64 * 64], 64, 64, alpha).expect_err("bad alpha");
            assert!(e.to_string().contains("alpha"), "{e}");
        }
        assert!(goldstein_phase(&[0.0; 10], 64, 64, 0.5).is_err());
    }
}

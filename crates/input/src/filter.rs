//! The optional Goldstein filter before encoding, for unfiltered inputs.

use insar::{Complex32, GoldsteinParams};

/// Phase `w × h` filtered with strength `alpha` (insar's other settings); no-data (NaN)
/// enters as a zero phasor and stays NaN.
pub fn goldstein_phase(phase: &[f32], w: usize, h: usize, alpha: f32) -> Vec<f32> {
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
    insar::goldstein(&z, w, h, &p)
        .iter()
        .zip(phase)
        .map(|(z, &p0)| if p0.is_finite() { z.arg() } else { f32::NAN })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_stays_no_data_and_a_plane_stays_a_plane() {
        let (w, h) = (64, 64);
        let mut phase = vec![0.5f32; w * h];
        phase[100] = f32::NAN;
        let out = goldstein_phase(&phase, w, h, 0.8);
        assert!(out[100].is_nan());
        assert!(
            out.iter()
                .enumerate()
                .all(|(i, v)| i == 100 || (v - 0.5).abs() < 1e-3)
        );
    }
}

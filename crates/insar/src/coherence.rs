//! Coherence estimation of a complex interferogram in a sliding window.
//!
//! γ̂ = |Σ z| / Σ |z| over a `win_x × win_y` boxcar centred on each pixel (clipped at the
//! borders). For unit phasors this is the length of the mean phasor: 1 for a constant phase,
//! about 1/√N for pure noise in an N-sample window. A smooth fringe pattern lowers it a little
//! (the phase varies inside the window), so compare filters on the same pattern.
//!
//! No-data samples (non-finite or exact zero) contribute nothing; a window without data gives 0.

use crate::error::{InsarError, check_size};
use crate::multilook::is_valid;
use rayon::prelude::*;
use rustfft::num_complex::Complex32;

/// Windowed coherence of `data` (`w × h`), one value in [0, 1] per pixel.
pub fn coherence(
    data: &[Complex32],
    w: usize,
    h: usize,
    win_x: usize,
    win_y: usize,
) -> Result<Vec<f32>, InsarError> {
    check_size("coherence input", data.len(), w, h)?;
    for (what, v) in [("win_x", win_x), ("win_y", win_y)] {
        if v == 0 {
            return Err(InsarError::BadParameter {
                what,
                value: v.to_string(),
                expected: "a window of at least 1 pixel",
            });
        }
    }
    if w == 0 || h == 0 {
        return Ok(Vec::new());
    }
    let (sum_z, sum_a) = horizontal_sums(data, w, win_x);
    let mut out = vec![0.0f32; w * h];
    let (before, after) = window_reach(win_y);
    out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        let y0 = y.saturating_sub(before);
        let y1 = (y + after + 1).min(h);
        for (x, o) in row.iter_mut().enumerate() {
            let (mut zr, mut zi, mut a) = (0.0f64, 0.0f64, 0.0f64);
            for yy in y0..y1 {
                let k = yy * w + x;
                zr += f64::from(sum_z[k].re);
                zi += f64::from(sum_z[k].im);
                a += f64::from(sum_a[k]);
            }
            *o = if a > 0.0 {
                ((zr.hypot(zi) / a) as f32).min(1.0)
            } else {
                0.0
            };
        }
    });
    Ok(out)
}

/// Mean of the windowed coherence over the whole raster (a one-number filtering score).
pub fn mean_coherence(
    data: &[Complex32],
    w: usize,
    h: usize,
    win: usize,
) -> Result<f64, InsarError> {
    let c = coherence(data, w, h, win, win)?;
    if c.is_empty() {
        return Ok(0.0);
    }
    Ok(c.iter().map(|&v| f64::from(v)).sum::<f64>() / c.len() as f64)
}

/// Pixels before and after the centre in a window of `n` (the extra one goes after if even).
fn window_reach(n: usize) -> (usize, usize) {
    ((n - 1) / 2, n / 2)
}

/// Row-wise window sums of z and |z| (valid samples only), kept in f32 to halve the memory of
/// whole scenes; the windows are small so the sums are short.
fn horizontal_sums(data: &[Complex32], w: usize, win_x: usize) -> (Vec<Complex32>, Vec<f32>) {
    let mut sum_z = vec![Complex32::new(0.0, 0.0); data.len()];
    let mut sum_a = vec![0.0f32; data.len()];
    let (before, after) = window_reach(win_x);
    sum_z
        .par_chunks_mut(w)
        .zip(sum_a.par_chunks_mut(w))
        .zip(data.par_chunks(w))
        .for_each(|((sz, sa), row)| {
            for x in 0..w {
                let x0 = x.saturating_sub(before);
                let x1 = (x + after + 1).min(w);
                let (mut z, mut a) = (Complex32::new(0.0, 0.0), 0.0f32);
                for v in row[x0..x1].iter().copied().filter(|v| is_valid(*v)) {
                    z += v;
                    a += v.norm();
                }
                sz[x] = z;
                sa[x] = a;
            }
        });
    (sum_z, sum_a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::phasor;

    #[test]
    fn constant_phase_has_unit_coherence() {
        let d = vec![phasor(1.2) * 3.0; 9 * 6];
        for v in coherence(&d, 9, 6, 5, 3).expect("sizes") {
            assert!((v - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn hand_case_alternating_signs() {
        // Row [1, −1, 1, −1]: a 3-wide window at x = 1 holds 1 − 1 + 1 → |1| / 3.
        let d: Vec<Complex32> = [1.0f32, -1.0, 1.0, -1.0]
            .iter()
            .map(|&r| Complex32::new(r, 0.0))
            .collect();
        let c = coherence(&d, 4, 1, 3, 1).expect("sizes");
        assert!((c[1] - 1.0 / 3.0).abs() < 1e-6);
        // At the left border the window is clipped to x ∈ {0, 1}: |1 − 1| / 2 = 0.
        assert!(c[0].abs() < 1e-6);
    }

    #[test]
    fn ramp_coherence_matches_dirichlet() {
        // A phase ramp a·x in a 1×n window: |Σ e^{iax}| / n = |sin(na/2) / (n sin(a/2))|.
        let (a, n) = (0.3f32, 5usize);
        let d: Vec<Complex32> = (0..20).map(|x| phasor(a * x as f32)).collect();
        let c = coherence(&d, 20, 1, n, 1).expect("sizes");
        let expect = ((n as f32 * a / 2.0).sin() / (n as f32 * (a / 2.0).sin())).abs();
        assert!((c[10] - expect).abs() < 1e-5, "{} vs {expect}", c[10]);
    }

    #[test]
    fn zero_window_is_an_error() {
        assert!(coherence(&[Complex32::new(1.0, 0.0)], 1, 1, 0, 1).is_err());
    }
}

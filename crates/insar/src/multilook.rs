//! Multilooking: the complex mean of each `looks_x × looks_y` block.
//!
//! As GAMMA `multi_cpx` and ISCE `looks.py` do, the output has `⌊w / looks_x⌋ × ⌊h / looks_y⌋`
//! samples: partial trailing blocks at the right and bottom edges are dropped, and output
//! sample (i, j) covers input columns `[i·lx, (i+1)·lx)` and rows `[j·ly, (j+1)·ly)`; its centre
//! in input pixel coordinates is `((i + ½)·lx, (j + ½)·ly)`.
//!
//! No-data samples (non-finite or exact complex zero, the raster crate's convention) are left
//! out of the mean; a block without any valid sample gives an exact zero (no-data).

use crate::error::{InsarError, check_size};
use rayon::prelude::*;
use rustfft::num_complex::Complex32;

/// Multilooks complex data; returns `(data, out_w, out_h)`.
///
/// # Panics
/// If `data.len() != w * h` or a look factor is 0 (see [`try_multilook`]).
pub fn multilook(
    data: &[Complex32],
    w: usize,
    h: usize,
    looks_x: usize,
    looks_y: usize,
) -> (Vec<Complex32>, usize, usize) {
    try_multilook(data, w, h, looks_x, looks_y).unwrap_or_else(|e| panic!("multilook: {e}"))
}

/// Checked [`multilook`].
pub fn try_multilook(
    data: &[Complex32],
    w: usize,
    h: usize,
    looks_x: usize,
    looks_y: usize,
) -> Result<(Vec<Complex32>, usize, usize), InsarError> {
    check_size("multilook input", data.len(), w, h)?;
    check_looks(looks_x, looks_y)?;
    let (ow, oh) = (w / looks_x, h / looks_y);
    let mut out = vec![Complex32::new(0.0, 0.0); ow * oh];
    if ow == 0 {
        return Ok((out, ow, oh));
    }
    out.par_chunks_mut(ow).enumerate().for_each(|(j, row)| {
        for (i, o) in row.iter_mut().enumerate() {
            *o = block_mean(data, w, i * looks_x, j * looks_y, looks_x, looks_y);
        }
    });
    Ok((out, ow, oh))
}

/// Multilooks real data (amplitude, coherence, power) with the same block rule.
///
/// Non-finite samples are left out; a block with no finite sample gives NaN.
pub fn multilook_real(
    data: &[f32],
    w: usize,
    h: usize,
    looks_x: usize,
    looks_y: usize,
) -> Result<(Vec<f32>, usize, usize), InsarError> {
    check_size("multilook input", data.len(), w, h)?;
    check_looks(looks_x, looks_y)?;
    let (ow, oh) = (w / looks_x, h / looks_y);
    let mut out = vec![0.0f32; ow * oh];
    if ow == 0 {
        return Ok((out, ow, oh));
    }
    out.par_chunks_mut(ow).enumerate().for_each(|(j, row)| {
        for (i, o) in row.iter_mut().enumerate() {
            let (mut sum, mut n) = (0.0f64, 0usize);
            for y in j * looks_y..(j + 1) * looks_y {
                for &v in &data[y * w + i * looks_x..y * w + (i + 1) * looks_x] {
                    if v.is_finite() {
                        sum += f64::from(v);
                        n += 1;
                    }
                }
            }
            *o = if n == 0 {
                f32::NAN
            } else {
                (sum / n as f64) as f32
            };
        }
    });
    Ok((out, ow, oh))
}

fn check_looks(looks_x: usize, looks_y: usize) -> Result<(), InsarError> {
    for (what, v) in [("looks_x", looks_x), ("looks_y", looks_y)] {
        if v == 0 {
            return Err(InsarError::BadParameter {
                what,
                value: v.to_string(),
                expected: "a look factor of at least 1",
            });
        }
    }
    Ok(())
}

/// Mean of the valid samples of one block, accumulated in f64 so large blocks stay exact.
fn block_mean(
    data: &[Complex32],
    w: usize,
    x0: usize,
    y0: usize,
    lx: usize,
    ly: usize,
) -> Complex32 {
    let (mut re, mut im, mut n) = (0.0f64, 0.0f64, 0usize);
    for y in y0..y0 + ly {
        for z in &data[y * w + x0..y * w + x0 + lx] {
            if is_valid(*z) {
                re += f64::from(z.re);
                im += f64::from(z.im);
                n += 1;
            }
        }
    }
    if n == 0 {
        return Complex32::new(0.0, 0.0);
    }
    Complex32::new((re / n as f64) as f32, (im / n as f64) as f32)
}

/// A sample holds data: finite and not an exact complex zero (the no-data convention).
pub(crate) fn is_valid(z: Complex32) -> bool {
    z.re.is_finite() && z.im.is_finite() && (z.re != 0.0 || z.im != 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::{phasor, wrap};

    #[test]
    fn constant_stays_constant_and_partial_blocks_drop() {
        let c = Complex32::new(0.3, -1.7);
        let (out, ow, oh) = multilook(&vec![c; 11 * 7], 11, 7, 3, 2);
        assert_eq!((ow, oh), (3, 3));
        assert_eq!(out.len(), 9);
        for z in out {
            assert!((z - c).norm() < 1e-6);
        }
    }

    #[test]
    fn linear_ramp_is_sampled_at_block_centres() {
        // φ(x, y) = a·x + b·y at pixel centres (x + ½, y + ½). The mean of e^{iφ} over a block
        // is e^{iφ(centre)} times a positive Dirichlet factor, so its phase is the ramp at the
        // block centre exactly.
        let (w, h, a, b) = (40usize, 30usize, 0.37f32, -0.21f32);
        let ramp = |x: f32, y: f32| a * x + b * y;
        let data: Vec<Complex32> = (0..w * h)
            .map(|k| phasor(ramp((k % w) as f32 + 0.5, (k / w) as f32 + 0.5)))
            .collect();
        let (lx, ly) = (4, 3);
        let (out, ow, oh) = multilook(&data, w, h, lx, ly);
        assert_eq!((ow, oh), (10, 10));
        for j in 0..oh {
            for i in 0..ow {
                let centre = ramp((i as f32 + 0.5) * lx as f32, (j as f32 + 0.5) * ly as f32);
                let z = out[j * ow + i];
                let err = wrap(z.im.atan2(z.re) - centre).abs();
                assert!(err < 1e-4, "block ({i},{j}): error {err}");
                // Dirichlet factor sin(L a/2) / (L sin(a/2)) per axis.
                let d = |l: f32, s: f32| (l * s / 2.0).sin() / (l * (s / 2.0).sin());
                let mag = d(lx as f32, a) * d(ly as f32, b);
                assert!((z.norm() - mag).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn no_data_is_left_out() {
        // A 2×1 block with one zero (no data) and one value: the mean is that value.
        let v = Complex32::new(2.0, 1.0);
        let (out, _, _) = multilook(&[Complex32::new(0.0, 0.0), v], 2, 1, 2, 1);
        assert_eq!(out[0], v);
        let (out, _, _) = multilook(&[Complex32::new(f32::NAN, 0.0); 4], 2, 2, 2, 2);
        assert_eq!(out[0], Complex32::new(0.0, 0.0));
    }

    #[test]
    fn real_multilook_hand_case() {
        let d = [1.0, 2.0, 3.0, 10.0, 4.0, 5.0, f32::NAN, 20.0];
        let (out, ow, oh) = multilook_real(&d, 4, 2, 2, 2).expect("valid sizes");
        assert_eq!((ow, oh), (2, 1));
        assert_eq!(out, vec![3.0, 11.0]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            try_multilook(&[Complex32::new(1.0, 0.0); 5], 2, 3, 1, 1),
            Err(InsarError::SizeMismatch {
                len: 5,
                expected: 6,
                ..
            })
        ));
        assert!(matches!(
            try_multilook(&[Complex32::new(1.0, 0.0); 6], 2, 3, 0, 1),
            Err(InsarError::BadParameter {
                what: "looks_x",
                ..
            })
        ));
    }
}

//! im2col: lays out the receptive fields of a k×k convolution as the columns of a matrix,
//! so that the convolution becomes one GEMM with the `[C_out, C_in·k·k]` weights.
//!
//! [`im2col`] builds an image's whole matrix (training, and the plain inference baseline);
//! [`im2col_block`] only the columns of a few thousand output pixels, which the blocked
//! inference route multiplies while they are in cache.

use rayon::prelude::*;

/// Geometry of a square-kernel convolution over one `[c, h, w]` image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub oh: usize,
    pub ow: usize,
}

impl Geometry {
    /// Output columns `[lo, hi)` whose input column `ox·s + kx − pad` falls inside the image.
    fn valid_cols(&self, kx: usize) -> (usize, usize) {
        let s = self.stride;
        // ox·s + kx ≥ pad  ⇔  ox ≥ ceil((pad − kx) / s)
        let lo = self.pad.saturating_sub(kx).div_ceil(s).min(self.ow);
        // ox·s + kx − pad ≤ w − 1  ⇔  ox ≤ (w − 1 + pad − kx) / s
        let hi = match (self.w + self.pad).checked_sub(kx + 1) {
            Some(last) => (last / s + 1).min(self.ow),
            None => 0,
        };
        (lo, hi.max(lo))
    }
}

/// Fills `col` (`[c·k·k, oh·ow]`, row-major) from the image `x` (`[c, h, w]`); rows of the
/// matrix are filled in parallel.
pub(crate) fn im2col(x: &[f32], g: &Geometry, col: &mut [f32]) {
    let (kk, hw, ohw) = (g.k * g.k, g.h * g.w, g.oh * g.ow);
    debug_assert_eq!(x.len(), g.c * hw);
    debug_assert_eq!(col.len(), g.c * kk * ohw);
    col.par_chunks_mut(ohw.max(1))
        .enumerate()
        .for_each(|(row, dst)| {
            let (ci, ky, kx) = (row / kk, (row / g.k) % g.k, row % g.k);
            let plane = &x[ci * hw..(ci + 1) * hw];
            for (oy, out) in dst.chunks_exact_mut(g.ow).enumerate() {
                fill_segment(plane, g, Tap { ky, kx }, oy, 0, out);
            }
        });
}

/// Fills `col` (`[c·k·k, len]`, row-major) with columns `j0..j0 + len` of the im2col
/// matrix only (output pixels in raster order), on the calling thread: the blocked
/// convolution builds its columns a few thousand pixels at a time, in cache.
pub(crate) fn im2col_block(x: &[f32], g: &Geometry, j0: usize, len: usize, col: &mut [f32]) {
    let (kk, hw) = (g.k * g.k, g.h * g.w);
    debug_assert_eq!(x.len(), g.c * hw);
    debug_assert_eq!(col.len(), g.c * kk * len);
    debug_assert!(j0 + len <= g.oh * g.ow);
    if len == 0 {
        return;
    }
    for (row, dst) in col.chunks_exact_mut(len).enumerate() {
        let (ci, ky, kx) = (row / kk, (row / g.k) % g.k, row % g.k);
        let plane = &x[ci * hw..(ci + 1) * hw];
        let mut done = 0;
        while done < len {
            let (oy, ox0) = ((j0 + done) / g.ow, (j0 + done) % g.ow);
            let span = (g.ow - ox0).min(len - done);
            fill_segment(
                plane,
                g,
                Tap { ky, kx },
                oy,
                ox0,
                &mut dst[done..done + span],
            );
            done += span;
        }
    }
}

/// One kernel position (row, column).
#[derive(Debug, Clone, Copy)]
struct Tap {
    ky: usize,
    kx: usize,
}

/// Output pixels `(oy, ox0..ox0 + out.len())` of one im2col row: input pixel
/// (oy·s + ky − pad, ox·s + kx − pad), zero outside the image.
fn fill_segment(plane: &[f32], g: &Geometry, tap: Tap, oy: usize, ox0: usize, out: &mut [f32]) {
    let iy = (oy * g.stride + tap.ky)
        .checked_sub(g.pad)
        .filter(|&iy| iy < g.h);
    let Some(iy) = iy else {
        out.fill(0.0);
        return;
    };
    let src = &plane[iy * g.w..(iy + 1) * g.w];
    let ox1 = ox0 + out.len();
    let (valid_lo, valid_hi) = g.valid_cols(tap.kx);
    // The valid columns, clipped to the segment and made relative to its start.
    let lo = valid_lo.clamp(ox0, ox1) - ox0;
    let hi = valid_hi.clamp(ox0, ox1) - ox0;
    let hi = hi.max(lo);
    out[..lo].fill(0.0);
    out[hi..].fill(0.0);
    if lo < hi {
        let first = (ox0 + lo) * g.stride + tap.kx - g.pad;
        copy_strided(&src[first..], g.stride, &mut out[lo..hi]);
    }
}

/// `out[i] = src[i·stride]`. Stride 2 (every downsampling layer) as pairs, which LLVM
/// vectorises; `step_by` stays scalar.
fn copy_strided(src: &[f32], stride: usize, out: &mut [f32]) {
    match stride {
        1 => out.copy_from_slice(&src[..out.len()]),
        2 => {
            let Some((last, body)) = out.split_last_mut() else {
                return;
            };
            let (pairs, _) = src.as_chunks::<2>();
            for (o, pair) in body.iter_mut().zip(pairs) {
                *o = pair[0];
            }
            *last = src[2 * body.len()];
        }
        _ => {
            for (o, v) in out.iter_mut().zip(src.iter().step_by(stride)) {
                *o = *v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_direct_indexing() {
        for &(h, w, k, s, p) in &[
            (5, 7, 3, 1, 1),
            (6, 6, 6, 2, 2),
            (7, 5, 3, 2, 1),
            (4, 4, 1, 1, 0),
            (8, 11, 3, 3, 1),
        ] {
            let c = 2;
            let oh = (h + 2 * p - k) / s + 1;
            let ow = (w + 2 * p - k) / s + 1;
            let g = Geometry {
                c,
                h,
                w,
                k,
                stride: s,
                pad: p,
                oh,
                ow,
            };
            let x: Vec<f32> = (0..c * h * w).map(|v| v as f32 + 1.0).collect();
            let mut col = vec![f32::NAN; c * k * k * oh * ow];
            im2col(&x, &g, &mut col);
            for ci in 0..c {
                for ky in 0..k {
                    for kx in 0..k {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let iy = (oy * s + ky) as isize - p as isize;
                                let ix = (ox * s + kx) as isize - p as isize;
                                let inside =
                                    iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                                let truth = if inside {
                                    x[ci * h * w + iy as usize * w + ix as usize]
                                } else {
                                    0.0
                                };
                                let row = (ci * k + ky) * k + kx;
                                assert_eq!(col[row * oh * ow + oy * ow + ox], truth);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every column block, whether inside one output row or across several, equals the
    /// same columns of the whole matrix (checked against direct indexing above).
    #[test]
    fn blocks_equal_the_whole_matrix_columns() {
        for &(h, w, k, s, p) in &[(9, 7, 3, 1, 1), (12, 10, 6, 2, 2), (7, 5, 3, 2, 1)] {
            let c = 3;
            let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
            let g = Geometry {
                c,
                h,
                w,
                k,
                stride: s,
                pad: p,
                oh,
                ow,
            };
            let x: Vec<f32> = (0..c * h * w).map(|v| v as f32 * 0.5 - 7.0).collect();
            let (rows, n) = (c * k * k, oh * ow);
            let mut whole = vec![f32::NAN; rows * n];
            im2col(&x, &g, &mut whole);
            for (j0, len) in [
                (0, n),
                (0, 1),
                (ow - 1, 2),
                (ow + 1, 2 * ow + 1),
                (n - 3, 3),
            ] {
                let mut block = vec![f32::NAN; rows * len];
                im2col_block(&x, &g, j0, len, &mut block);
                for r in 0..rows {
                    assert_eq!(
                        &block[r * len..(r + 1) * len],
                        &whole[r * n + j0..r * n + j0 + len],
                        "row {r}, columns {j0}..{}",
                        j0 + len
                    );
                }
            }
        }
    }
}

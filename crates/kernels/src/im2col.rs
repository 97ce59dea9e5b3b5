//! im2col: lays out the receptive fields of a k×k convolution as the columns of a matrix,
//! so that the convolution becomes one GEMM with the `[C_out, C_in·k·k]` weights.

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
            fill_row(plane, g, ky, kx, dst);
        });
}

/// One row of the im2col matrix: input pixel (oy·s + ky − pad, ox·s + kx − pad) for every
/// output pixel, zero outside the image.
fn fill_row(plane: &[f32], g: &Geometry, ky: usize, kx: usize, dst: &mut [f32]) {
    let (lo, hi) = g.valid_cols(kx);
    for (oy, out) in dst.chunks_exact_mut(g.ow).enumerate() {
        let iy = (oy * g.stride + ky)
            .checked_sub(g.pad)
            .filter(|&iy| iy < g.h);
        let Some(iy) = iy else {
            out.fill(0.0);
            continue;
        };
        let src = &plane[iy * g.w..(iy + 1) * g.w];
        out[..lo].fill(0.0);
        out[hi..].fill(0.0);
        if lo < hi {
            let first = lo * g.stride + kx - g.pad;
            if g.stride == 1 {
                out[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
            } else {
                let picked = src[first..].iter().step_by(g.stride);
                for (o, v) in out[lo..hi].iter_mut().zip(picked) {
                    *o = *v;
                }
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
}

//! Depthwise convolution (groups = channels) for training, as direct loops per image plane:
//! at a few multiply-adds per output, im2col + GEMM would only add copies.

use rayon::prelude::*;

use super::conv::{ConvGrads, ConvShape, input_row, sum_parts, valid_cols};

/// Where the kernel tap (ky, kx) of output row `oy` reads: the input row and the output
/// column span `[lo, hi)` with its first input column.
struct Tap {
    iy: usize,
    lo: usize,
    hi: usize,
    first: usize,
}

fn taps(s: &ConvShape, ow: usize, oy: usize) -> impl Iterator<Item = (usize, Tap)> + '_ {
    let k = s.kernel;
    (0..k * k).filter_map(move |t| {
        let (ky, kx) = (t / k, t % k);
        let iy = input_row(oy, ky, s.stride, s.padding, s.h)?;
        let (lo, hi) = valid_cols(s.w, ow, s.stride, s.padding, kx);
        (lo < hi).then(|| {
            let first = lo * s.stride + kx - s.padding;
            (t, Tap { iy, lo, hi, first })
        })
    })
}

pub(super) fn forward(s: &ConvShape, oh: usize, ow: usize, x: &[f32], w: &[f32], z: &mut [f32]) {
    let (hw, kk) = (s.h * s.w, s.kernel * s.kernel);
    z.par_chunks_mut(oh * ow)
        .enumerate()
        .for_each(|(plane, out)| {
            let c = plane % s.c_in;
            let xp = &x[plane * hw..(plane + 1) * hw];
            let wk = &w[c * kk..(c + 1) * kk];
            for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
                row.fill(0.0);
                for (t, tap) in taps(s, ow, oy) {
                    let src = &xp[tap.iy * s.w + tap.first..];
                    let dst = &mut row[tap.lo..tap.hi];
                    if s.stride == 1 {
                        for (d, v) in dst.iter_mut().zip(src) {
                            *d += wk[t] * v;
                        }
                    } else {
                        for (d, v) in dst.iter_mut().zip(src.iter().step_by(s.stride)) {
                            *d += wk[t] * v;
                        }
                    }
                }
            }
        });
}

pub(super) fn backward(
    s: &ConvShape,
    oh: usize,
    ow: usize,
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    need_input: bool,
) -> ConvGrads {
    let (hw, ohw, kk) = (s.h * s.w, oh * ow, s.kernel * s.kernel);
    let planes = s.batch * s.c_in;
    let mut dw_parts = vec![0.0f32; planes * kk];
    dw_parts
        .par_chunks_mut(kk)
        .enumerate()
        .for_each(|(plane, dw)| {
            let xp = &x[plane * hw..(plane + 1) * hw];
            let dzp = &dz[plane * ohw..(plane + 1) * ohw];
            let mut acc = vec![0.0f64; kk];
            for (oy, g) in dzp.chunks_exact(ow).enumerate() {
                for (t, tap) in taps(s, ow, oy) {
                    let src = &xp[tap.iy * s.w + tap.first..];
                    let g = &g[tap.lo..tap.hi];
                    let dot: f32 = if s.stride == 1 {
                        g.iter().zip(src).map(|(a, b)| a * b).sum()
                    } else {
                        g.iter()
                            .zip(src.iter().step_by(s.stride))
                            .map(|(a, b)| a * b)
                            .sum()
                    };
                    acc[t] += dot as f64;
                }
            }
            for (d, a) in dw.iter_mut().zip(&acc) {
                *d = *a as f32;
            }
        });
    // Partials are per (image, channel) plane: reduce over images in image order.
    let dw_c = sum_parts(&dw_parts, s.c_in * kk);
    let input = need_input.then(|| {
        let mut dx = vec![0.0f32; planes * hw];
        dx.par_chunks_mut(hw).enumerate().for_each(|(plane, dxp)| {
            let c = plane % s.c_in;
            let wk = &w[c * kk..(c + 1) * kk];
            let dzp = &dz[plane * ohw..(plane + 1) * ohw];
            for (oy, g) in dzp.chunks_exact(ow).enumerate() {
                for (t, tap) in taps(s, ow, oy) {
                    let dst = &mut dxp[tap.iy * s.w + tap.first..];
                    let g = &g[tap.lo..tap.hi];
                    if s.stride == 1 {
                        for (d, v) in dst.iter_mut().zip(g) {
                            *d += wk[t] * v;
                        }
                    } else {
                        for (d, v) in dst.iter_mut().step_by(s.stride).zip(g) {
                            *d += wk[t] * v;
                        }
                    }
                }
            }
        });
        dx
    });
    ConvGrads {
        input,
        weight: dw_c,
    }
}

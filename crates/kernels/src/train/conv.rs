//! Convolution forward and backward for training: dense 3×3 stride-1 layers by Winograd
//! (see `winograd.rs`), other dense ones as GEMMs over im2col columns, depthwise as direct
//! loops (see `depthwise.rs`).

use rayon::prelude::*;

use super::gemm::{Layout, gemm};
use super::{depthwise, winograd};
use crate::KernelError;
use crate::im2col::{Geometry, im2col};
use crate::scratch::with_scratch;

/// Sizes of a square-kernel convolution over a batch, without bias. Depthwise means
/// groups = `c_in` = `c_out` (weights `[c, 1, k, k]`); otherwise groups = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvShape {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub depthwise: bool,
}

impl ConvShape {
    /// Output rows and columns, or an error when the kernel does not fit the padded input.
    pub fn output_size(&self) -> Result<(usize, usize), KernelError> {
        let out = |len: usize| {
            (len + 2 * self.padding)
                .checked_sub(self.kernel)
                .map(|span| span / self.stride + 1)
        };
        match (out(self.h), out(self.w)) {
            (Some(oh), Some(ow)) => Ok((oh, ow)),
            _ => Err(KernelError::ShapeMismatch {
                op: "train conv",
                detail: format!(
                    "a {k}×{k} kernel with padding {p} does not fit a {h}×{w} input",
                    k = self.kernel,
                    p = self.padding,
                    h = self.h,
                    w = self.w
                ),
            }),
        }
    }

    /// Values per image of the input.
    pub fn input_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Values of the weight tensor.
    pub fn weight_len(&self) -> usize {
        let per_out = if self.depthwise { 1 } else { self.c_in };
        self.c_out * per_out * self.kernel * self.kernel
    }

    /// Checks the parameters and the lengths of the input and weight buffers.
    pub fn validate(&self, x: &[f32], weight: &[f32]) -> Result<(usize, usize), KernelError> {
        let params = [
            ("batch", self.batch),
            ("c_in", self.c_in),
            ("c_out", self.c_out),
            ("kernel", self.kernel),
            ("stride", self.stride),
        ];
        for (param, value) in params {
            if value == 0 {
                return Err(KernelError::Param {
                    op: "train conv",
                    param,
                    value,
                    expected: "at least 1",
                });
            }
        }
        if self.depthwise && self.c_in != self.c_out {
            return Err(KernelError::Channels {
                op: "train depthwise conv",
                expected: self.c_in,
                got: self.c_out,
            });
        }
        let size = self.output_size()?;
        let buffers = [
            ("train conv input", self.batch * self.input_len(), x.len()),
            ("train conv weight", self.weight_len(), weight.len()),
        ];
        for (what, expected, got) in buffers {
            if expected != got {
                return Err(KernelError::Length {
                    what,
                    detail: format!("{self:?}"),
                    expected,
                    got,
                });
            }
        }
        Ok(size)
    }

    fn geometry(&self, oh: usize, ow: usize) -> Geometry {
        Geometry {
            c: self.c_in,
            h: self.h,
            w: self.w,
            k: self.kernel,
            stride: self.stride,
            pad: self.padding,
            oh,
            ow,
        }
    }

    /// A 1×1, stride-1, unpadded convolution needs no im2col: the image is its own matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.padding == 0
    }
}

/// The convolution's output `[batch, c_out, oh, ow]`.
pub fn conv_forward(shape: &ConvShape, x: &[f32], weight: &[f32]) -> Result<Vec<f32>, KernelError> {
    let (oh, ow) = shape.validate(x, weight)?;
    let out_len = shape.c_out * oh * ow;
    let mut z = vec![0.0f32; shape.batch * out_len];
    if shape.depthwise {
        depthwise::forward(shape, oh, ow, x, weight, &mut z);
        return Ok(z);
    }
    if winograd::applies(shape) {
        winograd::forward(shape, x, weight, &mut z);
        return Ok(z);
    }
    let g = shape.geometry(oh, ow);
    let ckk = shape.c_in * shape.kernel * shape.kernel;
    z.par_chunks_mut(out_len)
        .zip(x.par_chunks(shape.input_len()))
        .for_each(|(zn, xn)| {
            with_columns(shape, &g, xn, |col| {
                gemm(
                    zn,
                    weight,
                    Layout::Plain,
                    col,
                    Layout::Plain,
                    shape.c_out,
                    oh * ow,
                    ckk,
                );
            });
        });
    Ok(z)
}

/// Gradients of a convolution's input (when asked for) and weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvGrads {
    pub input: Option<Vec<f32>>,
    pub weight: Vec<f32>,
}

/// Backward of [`conv_forward`] given the output gradient `dz`; the input gradient is only
/// computed when `need_input` (a network's first layer does not need it).
pub fn conv_backward(
    shape: &ConvShape,
    x: &[f32],
    weight: &[f32],
    dz: &[f32],
    need_input: bool,
) -> Result<ConvGrads, KernelError> {
    let (oh, ow) = shape.validate(x, weight)?;
    let out_len = shape.c_out * oh * ow;
    if dz.len() != shape.batch * out_len {
        return Err(KernelError::Length {
            what: "train conv output gradient",
            detail: format!("{shape:?}"),
            expected: shape.batch * out_len,
            got: dz.len(),
        });
    }
    if shape.depthwise {
        return Ok(depthwise::backward(
            shape, oh, ow, x, weight, dz, need_input,
        ));
    }
    if winograd::applies(shape) {
        return Ok(ConvGrads {
            input: need_input.then(|| winograd::input_grad(shape, weight, dz)),
            weight: winograd::weight_grad(shape, x, dz),
        });
    }
    let g = shape.geometry(oh, ow);
    let w_len = shape.weight_len();
    let mut dx = vec![0.0f32; if need_input { x.len() } else { 0 }];
    let mut dw_parts = vec![0.0f32; shape.batch * w_len];
    let image = |n: usize, dw_n: &mut [f32], dx_n: Option<&mut [f32]>| {
        let xn = &x[n * shape.input_len()..(n + 1) * shape.input_len()];
        let dzn = &dz[n * out_len..(n + 1) * out_len];
        dense_backward_image(shape, &g, xn, weight, dzn, dw_n, dx_n);
    };
    if need_input {
        dw_parts
            .par_chunks_mut(w_len)
            .zip(dx.par_chunks_mut(shape.input_len()))
            .enumerate()
            .for_each(|(n, (dw_n, dx_n))| image(n, dw_n, Some(dx_n)));
    } else {
        dw_parts
            .par_chunks_mut(w_len)
            .enumerate()
            .for_each(|(n, dw_n)| image(n, dw_n, None));
    }
    Ok(ConvGrads {
        input: need_input.then_some(dx),
        weight: sum_parts(&dw_parts, w_len),
    })
}

/// Sums per-image partial gradients in image order (fixed, whatever the thread count), in
/// parallel pieces of the gradient.
pub(crate) fn sum_parts(parts: &[f32], len: usize) -> Vec<f32> {
    const PIECE: usize = 16 * 1024;
    let mut total = vec![0.0f32; len];
    total
        .par_chunks_mut(PIECE)
        .enumerate()
        .for_each(|(k, piece)| {
            let start = k * PIECE;
            for part in parts.chunks_exact(len) {
                for (t, p) in piece.iter_mut().zip(&part[start..]) {
                    *t += p;
                }
            }
        });
    total
}

/// Calls `f` with the image's im2col matrix `[c_in·k·k, oh·ow]`.
fn with_columns<R>(shape: &ConvShape, g: &Geometry, xn: &[f32], f: impl FnOnce(&[f32]) -> R) -> R {
    if shape.is_pointwise() {
        return f(xn);
    }
    let len = shape.c_in * shape.kernel * shape.kernel * g.oh * g.ow;
    with_scratch(len, |col| {
        im2col(xn, g, col);
        f(col)
    })
}

/// One image: `dW_n = dZ_n · colᵀ`, `dcol = Wᵀ · dZ_n`, `dX_n = col2im(dcol)`.
fn dense_backward_image(
    shape: &ConvShape,
    g: &Geometry,
    xn: &[f32],
    weight: &[f32],
    dzn: &[f32],
    dw_n: &mut [f32],
    dx_n: Option<&mut [f32]>,
) {
    let ckk = shape.c_in * shape.kernel * shape.kernel;
    let ohw = g.oh * g.ow;
    with_columns(shape, g, xn, |col| {
        gemm(
            dw_n,
            dzn,
            Layout::Plain,
            col,
            Layout::Transposed,
            shape.c_out,
            ckk,
            ohw,
        );
    });
    let Some(dx_n) = dx_n else { return };
    if shape.is_pointwise() {
        gemm(
            dx_n,
            weight,
            Layout::Transposed,
            dzn,
            Layout::Plain,
            ckk,
            ohw,
            shape.c_out,
        );
        return;
    }
    with_scratch(ckk * ohw, |dcol| {
        gemm(
            dcol,
            weight,
            Layout::Transposed,
            dzn,
            Layout::Plain,
            ckk,
            ohw,
            shape.c_out,
        );
        col2im(dcol, g, dx_n);
    });
}

/// Output columns `[lo, hi)` whose input column `ox·s + kx − pad` lies inside `0..w`.
pub(crate) fn valid_cols(
    w: usize,
    ow: usize,
    stride: usize,
    pad: usize,
    kx: usize,
) -> (usize, usize) {
    let lo = pad.saturating_sub(kx).div_ceil(stride).min(ow);
    let hi = match (w + pad).checked_sub(kx + 1) {
        Some(last) => (last / stride + 1).min(ow),
        None => 0,
    };
    (lo, hi.max(lo))
}

/// Input row of output row `oy` and kernel row `ky`, if inside the image.
pub(crate) fn input_row(
    oy: usize,
    ky: usize,
    stride: usize,
    pad: usize,
    h: usize,
) -> Option<usize> {
    (oy * stride + ky).checked_sub(pad).filter(|&iy| iy < h)
}

/// The adjoint of im2col: every column entry is added back to the pixel it was copied from.
fn col2im(dcol: &[f32], g: &Geometry, dx: &mut [f32]) {
    let (kk, hw, ohw) = (g.k * g.k, g.h * g.w, g.oh * g.ow);
    dx.fill(0.0);
    for (row, src) in dcol.chunks_exact(ohw).enumerate() {
        let (ci, ky, kx) = (row / kk, (row / g.k) % g.k, row % g.k);
        let plane = &mut dx[ci * hw..(ci + 1) * hw];
        let (lo, hi) = valid_cols(g.w, g.ow, g.stride, g.pad, kx);
        if lo == hi {
            continue;
        }
        for oy in 0..g.oh {
            let Some(iy) = input_row(oy, ky, g.stride, g.pad, g.h) else {
                continue;
            };
            let first = lo * g.stride + kx - g.pad;
            let dst = &mut plane[iy * g.w + first..];
            let src = &src[oy * g.ow + lo..oy * g.ow + hi];
            if g.stride == 1 {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            } else {
                for (d, s) in dst.iter_mut().step_by(g.stride).zip(src) {
                    *d += s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::random_vec;

    /// Direct 7-loop convolution in f64: the independent truth.
    fn naive_forward(s: &ConvShape, x: &[f32], w: &[f32]) -> Vec<f64> {
        let (oh, ow) = s.output_size().unwrap();
        let mut out = vec![0.0f64; s.batch * s.c_out * oh * ow];
        for n in 0..s.batch {
            for co in 0..s.c_out {
                let cis: Vec<usize> = if s.depthwise {
                    vec![co]
                } else {
                    (0..s.c_in).collect()
                };
                for (wi, &ci) in cis.iter().enumerate() {
                    for ky in 0..s.kernel {
                        for kx in 0..s.kernel {
                            let wv = w[((co * cis.len() + wi) * s.kernel + ky) * s.kernel + kx];
                            for oy in 0..oh {
                                for ox in 0..ow {
                                    let iy = (oy * s.stride + ky) as isize - s.padding as isize;
                                    let ix = (ox * s.stride + kx) as isize - s.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize
                                    {
                                        continue;
                                    }
                                    let xv = x[((n * s.c_in + ci) * s.h + iy as usize) * s.w
                                        + ix as usize];
                                    out[((n * s.c_out + co) * oh + oy) * ow + ox] +=
                                        wv as f64 * xv as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// ⟨dz, conv(x, w)⟩ is bilinear, so its gradients are checked by central differences
    /// (exact up to rounding for a bilinear form).
    fn loss(s: &ConvShape, x: &[f32], w: &[f32], dz: &[f32]) -> f64 {
        naive_forward(s, x, w)
            .iter()
            .zip(dz)
            .map(|(a, b)| a * *b as f64)
            .sum()
    }

    fn shapes() -> Vec<ConvShape> {
        let base = ConvShape {
            batch: 2,
            c_in: 3,
            h: 7,
            w: 6,
            c_out: 4,
            kernel: 3,
            stride: 1,
            padding: 1,
            depthwise: false,
        };
        vec![
            ConvShape {
                kernel: 1,
                padding: 0,
                ..base
            },
            base,
            ConvShape { stride: 2, ..base },
            ConvShape {
                kernel: 6,
                stride: 2,
                padding: 2,
                h: 8,
                w: 9,
                ..base
            },
            ConvShape {
                c_out: 3,
                depthwise: true,
                ..base
            },
            ConvShape {
                c_out: 3,
                depthwise: true,
                stride: 2,
                ..base
            },
        ]
    }

    #[test]
    fn forward_matches_the_direct_loops() {
        for s in shapes() {
            let x = random_vec(s.batch * s.input_len(), 1);
            let w = random_vec(s.weight_len(), 2);
            let z = conv_forward(&s, &x, &w).unwrap();
            for (a, b) in z.iter().zip(naive_forward(&s, &x, &w)) {
                assert!((*a as f64 - b).abs() < 1e-5, "{s:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        for s in shapes() {
            let x = random_vec(s.batch * s.input_len(), 3);
            let w = random_vec(s.weight_len(), 4);
            let (oh, ow) = s.output_size().unwrap();
            let dz = random_vec(s.batch * s.c_out * oh * ow, 5);
            let grads = conv_backward(&s, &x, &w, &dz, true).unwrap();
            let dx = grads.input.clone().unwrap();
            let probe = |v: &[f32], i: usize, f: &dyn Fn(&[f32]) -> f64| {
                let (mut up, mut down) = (v.to_vec(), v.to_vec());
                up[i] += 0.5;
                down[i] -= 0.5;
                f(&up) - f(&down)
            };
            for i in (0..x.len()).step_by(5) {
                let fd = probe(&x, i, &|xv| loss(&s, xv, &w, &dz));
                assert!(
                    (dx[i] as f64 - fd).abs() < 1e-4,
                    "{s:?} dx[{i}]: {} vs {fd}",
                    dx[i]
                );
            }
            for i in 0..w.len() {
                let fd = probe(&w, i, &|wv| loss(&s, &x, wv, &dz));
                let got = grads.weight[i] as f64;
                assert!((got - fd).abs() < 1e-4, "{s:?} dw[{i}]: {got} vs {fd}");
            }
            let without = conv_backward(&s, &x, &w, &dz, false).unwrap();
            assert!(without.input.is_none());
            assert_eq!(without.weight, grads.weight);
        }
    }

    #[test]
    fn refuses_wrong_lengths() {
        let s = shapes()[1];
        let err = conv_forward(&s, &[0.0; 5], &vec![0.0; s.weight_len()]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("train conv input: expected 252"),
            "{err}"
        );
        let dw = ConvShape {
            c_out: 5,
            depthwise: true,
            ..s
        };
        assert!(conv_forward(&dw, &[], &[]).is_err());
    }
}

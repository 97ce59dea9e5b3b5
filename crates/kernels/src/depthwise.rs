//! Direct depthwise 3×3 convolution (padding 1, stride 1 or 2) with fused bias + activation.
//!
//! As a GEMM a depthwise convolution has K = 9 and wastes the machine; done directly it is
//! nine multiply-adds per output over contiguous rows. Each output row accumulates its (up
//! to) three input rows as whole-slice operations on shifted views, which LLVM vectorises;
//! stride 2 first splits each input row into its even and odd columns so those views stay
//! contiguous.

use rayon::prelude::*;

use crate::act::bias_act;
use crate::conv::check_destination;
use crate::simd::multiversion;
use crate::{Activation, KernelError, Shape, Tensor};

/// A depthwise 3×3 layer: weights `[c, 1, 3, 3]`, bias `[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Depthwise3x3 {
    channels: usize,
    stride: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
    act: Activation,
}

impl Depthwise3x3 {
    pub fn new(
        channels: usize,
        stride: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
        act: Activation,
    ) -> Result<Self, KernelError> {
        if !(1..=2).contains(&stride) {
            return Err(KernelError::Param {
                op: "depthwise3x3",
                param: "stride",
                value: stride,
                expected: "1 or 2",
            });
        }
        for (what, expected, got) in [
            ("depthwise3x3 weight", 9 * channels, weight.len()),
            ("depthwise3x3 bias", channels, bias.len()),
        ] {
            if expected != got {
                return Err(KernelError::Length {
                    what,
                    detail: format!("{channels} channels"),
                    expected,
                    got,
                });
            }
        }
        Ok(Self {
            channels,
            stride,
            weight,
            bias,
            act,
        })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn stride(&self) -> usize {
        self.stride
    }

    pub fn weight(&self) -> &[f32] {
        &self.weight
    }

    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    pub fn output_shape(&self, x: Shape) -> Result<Shape, KernelError> {
        if x.c != self.channels {
            return Err(KernelError::Channels {
                op: "depthwise3x3",
                expected: self.channels,
                got: x.c,
            });
        }
        if x.h == 0 || x.w == 0 {
            return Err(KernelError::ShapeMismatch {
                op: "depthwise3x3",
                detail: format!("empty input {x}"),
            });
        }
        let out = |len: usize| (len - 1) / self.stride + 1;
        Ok(Shape::new(x.n, x.c, out(x.h), out(x.w)))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, KernelError> {
        // forward_into writes every value of its channels, here all of them.
        let mut out = Tensor::for_overwrite(self.output_shape(x.shape())?);
        self.forward_into(x, &mut out, 0)?;
        Ok(out)
    }

    /// Writes the output into channels `c0..c0 + channels` of `out`.
    pub fn forward_into(&self, x: &Tensor, out: &mut Tensor, c0: usize) -> Result<(), KernelError> {
        let want = self.output_shape(x.shape())?;
        check_destination("depthwise3x3", want, out.shape(), c0)?;
        let s = x.shape();
        let (in_plane, out_plane) = (s.plane(), want.plane());
        let out_image = out.shape().image();
        for b in 0..s.n {
            let image = x.image(b);
            let start = b * out_image + c0 * out_plane;
            let dst = &mut out.data_mut()[start..start + s.c * out_plane];
            dst.par_chunks_mut(out_plane)
                .enumerate()
                .for_each(|(c, dst)| {
                    let src = &image[c * in_plane..(c + 1) * in_plane];
                    let taps = self.taps(c);
                    dst.fill(0.0);
                    if self.stride == 1 {
                        plane_stride1(src, s.h, s.w, &taps, dst);
                    } else {
                        plane_stride2(src, s.h, s.w, &taps, dst);
                    }
                    bias_act(dst, self.bias[c], self.act);
                });
        }
        Ok(())
    }

    fn taps(&self, c: usize) -> [f32; 9] {
        let mut taps = [0.0; 9];
        taps.copy_from_slice(&self.weight[9 * c..9 * (c + 1)]);
        taps
    }
}

/// Input rows feeding output row `oy`, with the kernel row each one meets.
fn input_rows(oy: usize, stride: usize, h: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..3).filter_map(move |ky| {
        let iy = (oy * stride + ky).checked_sub(1)?;
        (iy < h).then_some((ky, iy))
    })
}

multiversion! {
    fn plane_stride1(src: &[f32], h: usize, w: usize, taps: &[f32; 9], dst: &mut [f32]) {
        for (oy, out) in dst.chunks_exact_mut(w).enumerate() {
            for (ky, iy) in input_rows(oy, 1, h) {
                let row = &src[iy * w..(iy + 1) * w];
                accumulate_row_s1(out, row, taps[3 * ky], taps[3 * ky + 1], taps[3 * ky + 2]);
            }
        }
    }
}

/// `out[x] += a·row[x−1] + b·row[x] + c·row[x+1]`, the row's outside being zero.
#[inline(always)]
fn accumulate_row_s1(out: &mut [f32], row: &[f32], a: f32, b: f32, c: f32) {
    let w = out.len();
    if w == 1 {
        out[0] += b * row[0];
        return;
    }
    out[0] += b * row[0] + c * row[1];
    let (left, mid, right) = (&row[..w - 2], &row[1..w - 1], &row[2..]);
    let lanes = left.iter().zip(mid).zip(right);
    for (o, ((l, m), r)) in out[1..w - 1].iter_mut().zip(lanes) {
        *o += a * l + b * m + c * r;
    }
    out[w - 1] += a * row[w - 2] + b * row[w - 1];
}

multiversion! {
    fn plane_stride2(src: &[f32], h: usize, w: usize, taps: &[f32; 9], dst: &mut [f32]) {
        let ow = w.div_ceil(2);
        let mut even = vec![0.0_f32; ow];
        let mut odd = vec![0.0_f32; w / 2];
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            for (ky, iy) in input_rows(oy, 2, h) {
                let row = &src[iy * w..(iy + 1) * w];
                deinterleave(row, &mut even, &mut odd);
                accumulate_row_s2(out, &even, &odd, taps[3 * ky], taps[3 * ky + 1], taps[3 * ky + 2]);
            }
        }
    }
}

#[inline(always)]
fn deinterleave(row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    for (i, pair) in row.chunks(2).enumerate() {
        even[i] = pair[0];
        if let Some(&v) = pair.get(1) {
            odd[i] = v;
        }
    }
}

/// `out[x] += a·row[2x−1] + b·row[2x] + c·row[2x+1]` with row[2x] = even[x],
/// row[2x+1] = odd[x], the row's outside being zero.
#[inline(always)]
fn accumulate_row_s2(out: &mut [f32], even: &[f32], odd: &[f32], a: f32, b: f32, c: f32) {
    let ow = out.len();
    let n_odd = odd.len();
    // Column 0 has no left neighbour; the last column may lack a right one (odd width).
    out[0] += b * even[0] + if n_odd > 0 { c * odd[0] } else { 0.0 };
    let full = n_odd.max(1);
    if full > 1 {
        let (left, mid, right) = (&odd[..full - 1], &even[1..full], &odd[1..full]);
        let lanes = left.iter().zip(mid).zip(right);
        for (o, ((l, m), r)) in out[1..full].iter_mut().zip(lanes) {
            *o += a * l + b * m + c * r;
        }
    }
    if ow > full {
        out[ow - 1] += a * odd[ow - 2] + b * even[ow - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConvSpec;
    use crate::reference::{self, random_tensor, random_vec};

    fn check(shape: Shape, stride: usize, act: Activation, seed: u64) {
        let x = random_tensor(shape, seed);
        let weight = random_vec(9 * shape.c, seed + 1);
        let bias = random_vec(shape.c, seed + 2);
        let layer = Depthwise3x3::new(shape.c, stride, weight.clone(), bias.clone(), act).unwrap();
        let got = layer.forward(&x).unwrap();
        let spec = ConvSpec {
            c_in: shape.c,
            c_out: shape.c,
            kernel: 3,
            stride,
            padding: 1,
        };
        let truth = reference::conv2d(&x, &weight, &bias, spec, shape.c, act);
        reference::assert_close(&got, &truth, 1e-5);
    }

    #[test]
    fn matches_grouped_naive_convolution() {
        for stride in [1, 2] {
            for (i, &(h, w)) in [
                (1, 1),
                (1, 2),
                (2, 1),
                (2, 3),
                (5, 5),
                (8, 8),
                (7, 12),
                (13, 29),
            ]
            .iter()
            .enumerate()
            {
                for act in [Activation::None, Activation::Silu] {
                    check(
                        Shape::new(2, 3, h, w),
                        stride,
                        act,
                        i as u64 * 7 + stride as u64,
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_bad_parameters() {
        let err =
            Depthwise3x3::new(2, 3, vec![0.0; 18], vec![0.0; 2], Activation::None).unwrap_err();
        assert!(err.to_string().contains("stride = 3"), "{err}");
        let err =
            Depthwise3x3::new(2, 1, vec![0.0; 17], vec![0.0; 2], Activation::None).unwrap_err();
        assert!(err.to_string().contains("expected 18"), "{err}");
        let layer = Depthwise3x3::new(2, 1, vec![0.0; 18], vec![0.0; 2], Activation::None).unwrap();
        assert!(
            layer
                .forward(&Tensor::zeros(Shape::new(1, 3, 4, 4)))
                .is_err()
        );
    }
}

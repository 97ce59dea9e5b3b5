//! Dense 2-D convolution (groups = 1) as im2col + GEMM with a fused bias + activation.

use crate::im2col::{Geometry, im2col};
use crate::matmul::matmul_unchecked;
use crate::{Activation, KernelError, Shape, Tensor};

/// Sizes of a square-kernel convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvSpec {
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl ConvSpec {
    /// Output rows and columns for an `h × w` input, or an error when the kernel does not
    /// fit even once.
    pub fn output_size(&self, h: usize, w: usize) -> Result<(usize, usize), KernelError> {
        let out = |len: usize| {
            (len + 2 * self.padding)
                .checked_sub(self.kernel)
                .map(|span| span / self.stride + 1)
        };
        match (out(h), out(w)) {
            (Some(oh), Some(ow)) => Ok((oh, ow)),
            _ => Err(KernelError::ShapeMismatch {
                op: "conv2d",
                detail: format!(
                    "a {k}×{k} kernel with padding {p} does not fit a {h}×{w} input",
                    k = self.kernel,
                    p = self.padding
                ),
            }),
        }
    }

    fn validate(&self) -> Result<(), KernelError> {
        let checks = [
            ("c_in", self.c_in),
            ("c_out", self.c_out),
            ("kernel", self.kernel),
            ("stride", self.stride),
        ];
        for (param, value) in checks {
            if value == 0 {
                return Err(KernelError::Param {
                    op: "conv2d",
                    param,
                    value,
                    expected: "at least 1",
                });
            }
        }
        Ok(())
    }
}

/// A convolution layer with its (BatchNorm-folded) weights `[c_out, c_in, k, k]`, bias
/// `[c_out]` and activation.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    spec: ConvSpec,
    weight: Vec<f32>,
    bias: Vec<f32>,
    act: Activation,
}

impl Conv2d {
    pub fn new(
        spec: ConvSpec,
        weight: Vec<f32>,
        bias: Vec<f32>,
        act: Activation,
    ) -> Result<Self, KernelError> {
        spec.validate()?;
        let expected = spec.c_out * spec.c_in * spec.kernel * spec.kernel;
        if weight.len() != expected {
            return Err(KernelError::Length {
                what: "conv2d weight",
                detail: format!("[c_out, c_in, k, k] of {spec:?}"),
                expected,
                got: weight.len(),
            });
        }
        if bias.len() != spec.c_out {
            return Err(KernelError::Length {
                what: "conv2d bias",
                detail: format!("[c_out] of {spec:?}"),
                expected: spec.c_out,
                got: bias.len(),
            });
        }
        Ok(Self {
            spec,
            weight,
            bias,
            act,
        })
    }

    /// One layer computing several convolutions of the same input side by side, their
    /// output channels in order: the two 1×1 entries of a C3 block share one GEMM.
    pub fn stack(convs: &[&Conv2d]) -> Result<Self, KernelError> {
        let Some(first) = convs.first() else {
            return Err(KernelError::Param {
                op: "conv2d stack",
                param: "layers",
                value: 0,
                expected: "at least one layer",
            });
        };
        let shared = |spec: ConvSpec| ConvSpec { c_out: 0, ..spec };
        let mut spec = first.spec;
        spec.c_out = 0;
        let (mut weight, mut bias) = (Vec::new(), Vec::new());
        for conv in convs {
            if shared(conv.spec) != shared(first.spec) || conv.act != first.act {
                return Err(KernelError::ShapeMismatch {
                    op: "conv2d stack",
                    detail: format!("{:?} cannot share a GEMM with {:?}", conv.spec, first.spec),
                });
            }
            spec.c_out += conv.spec.c_out;
            weight.extend_from_slice(&conv.weight);
            bias.extend_from_slice(&conv.bias);
        }
        Self::new(spec, weight, bias, first.act)
    }

    pub fn spec(&self) -> ConvSpec {
        self.spec
    }

    pub fn weight(&self) -> &[f32] {
        &self.weight
    }

    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    pub fn act(&self) -> Activation {
        self.act
    }

    /// Output shape for an input of shape `x`.
    pub fn output_shape(&self, x: Shape) -> Result<Shape, KernelError> {
        if x.c != self.spec.c_in {
            return Err(KernelError::Channels {
                op: "conv2d",
                expected: self.spec.c_in,
                got: x.c,
            });
        }
        let (oh, ow) = self.spec.output_size(x.h, x.w)?;
        Ok(Shape::new(x.n, self.spec.c_out, oh, ow))
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor, KernelError> {
        let mut out = Tensor::zeros(self.output_shape(x.shape())?);
        self.forward_into(x, &mut out, 0)?;
        Ok(out)
    }

    /// Writes the output into channels `c0..c0 + c_out` of `out`, so that a following
    /// channel concatenation costs nothing.
    pub fn forward_into(&self, x: &Tensor, out: &mut Tensor, c0: usize) -> Result<(), KernelError> {
        let want = self.output_shape(x.shape())?;
        check_destination("conv2d", want, out.shape(), c0)?;
        let s = x.shape();
        let g = Geometry {
            c: s.c,
            h: s.h,
            w: s.w,
            k: self.spec.kernel,
            stride: self.spec.stride,
            pad: self.spec.padding,
            oh: want.h,
            ow: want.w,
        };
        let direct = g.k == 1 && g.stride == 1 && g.pad == 0;
        let (m, k, n) = (self.spec.c_out, g.c * g.k * g.k, want.h * want.w);
        let mut col = if direct { Vec::new() } else { vec![0.0; k * n] };
        let out_image = out.shape().image();
        for b in 0..s.n {
            let image = x.image(b);
            let rhs = if direct {
                image
            } else {
                im2col(image, &g, &mut col);
                &col
            };
            let start = b * out_image + c0 * n;
            let dst = &mut out.data_mut()[start..start + m * n];
            matmul_unchecked(&self.weight, rhs, dst, m, k, n, &self.bias, self.act);
        }
        Ok(())
    }
}

/// Checks that channels `c0..c0 + want.c` of a tensor shaped `have` can hold `want`.
pub(crate) fn check_destination(
    op: &'static str,
    want: Shape,
    have: Shape,
    c0: usize,
) -> Result<(), KernelError> {
    let fits = have.n == want.n && have.h == want.h && have.w == want.w && c0 + want.c <= have.c;
    if fits {
        Ok(())
    } else {
        Err(KernelError::ShapeMismatch {
            op,
            detail: format!("output {want} does not fit at channel {c0} of a destination {have}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{self, random_tensor, random_vec};
    use proptest::prelude::*;

    fn check_against_naive(x: Shape, spec: ConvSpec, act: Activation, seed: u64) {
        let input = random_tensor(x, seed);
        let k2 = spec.kernel * spec.kernel;
        let weight = random_vec(spec.c_out * spec.c_in * k2, seed + 1);
        let bias = random_vec(spec.c_out, seed + 2);
        let conv = Conv2d::new(spec, weight.clone(), bias.clone(), act).unwrap();
        let got = conv.forward(&input).unwrap();
        let truth = reference::conv2d(&input, &weight, &bias, spec, 1, act);
        reference::assert_close(&got, &truth, 1e-4);
    }

    #[test]
    fn every_layer_shape_of_the_networks() {
        // (kernel, stride, padding): the stem, 3×3 s1/s2 and pointwise convolutions.
        let layers = [(6, 2, 2), (3, 1, 1), (3, 2, 1), (1, 1, 0)];
        for (i, &(kernel, stride, padding)) in layers.iter().enumerate() {
            for act in [Activation::None, Activation::Silu] {
                let spec = ConvSpec {
                    c_in: 5,
                    c_out: 7,
                    kernel,
                    stride,
                    padding,
                };
                check_against_naive(Shape::new(2, 5, 13, 10), spec, act, i as u64 * 10);
                check_against_naive(Shape::new(1, 5, 16, 16), spec, act, i as u64 * 10 + 5);
            }
        }
    }

    #[test]
    fn larger_layer_spans_many_tiles() {
        let spec = ConvSpec {
            c_in: 24,
            c_out: 70,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        check_against_naive(Shape::new(1, 24, 40, 37), spec, Activation::Silu, 99);
    }

    #[test]
    fn writes_into_a_channel_range() {
        let spec = ConvSpec {
            c_in: 3,
            c_out: 2,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        let x = random_tensor(Shape::new(2, 3, 5, 6), 1);
        let conv =
            Conv2d::new(spec, random_vec(54, 2), random_vec(2, 3), Activation::Silu).unwrap();
        let alone = conv.forward(&x).unwrap();
        let mut wide = Tensor::zeros(Shape::new(2, 5, 5, 6));
        conv.forward_into(&x, &mut wide, 3).unwrap();
        assert_eq!(wide.channels(3, 2).unwrap(), alone);
        assert!(
            wide.channels(0, 3)
                .unwrap()
                .data()
                .iter()
                .all(|&v| v == 0.0)
        );
        assert!(conv.forward_into(&x, &mut wide, 4).is_err());
    }

    #[test]
    fn stacked_layers_equal_separate_ones() {
        let spec = |c_out| ConvSpec {
            c_in: 4,
            c_out,
            kernel: 1,
            stride: 1,
            padding: 0,
        };
        let a = Conv2d::new(
            spec(3),
            random_vec(12, 1),
            random_vec(3, 2),
            Activation::Silu,
        )
        .unwrap();
        let b = Conv2d::new(
            spec(2),
            random_vec(8, 3),
            random_vec(2, 4),
            Activation::Silu,
        )
        .unwrap();
        let both = Conv2d::stack(&[&a, &b]).unwrap();
        let x = random_tensor(Shape::new(1, 4, 6, 5), 5);
        let y = both.forward(&x).unwrap();
        reference::assert_close(&y.channels(0, 3).unwrap(), &a.forward(&x).unwrap(), 1e-6);
        reference::assert_close(&y.channels(3, 2).unwrap(), &b.forward(&x).unwrap(), 1e-6);
        let c = Conv2d::new(
            spec(2),
            random_vec(8, 3),
            random_vec(2, 4),
            Activation::None,
        )
        .unwrap();
        assert!(Conv2d::stack(&[&a, &c]).is_err());
    }

    #[test]
    fn refuses_bad_weights_and_inputs() {
        let spec = ConvSpec {
            c_in: 2,
            c_out: 3,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        let err = Conv2d::new(spec, vec![0.0; 53], vec![0.0; 3], Activation::None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("conv2d weight: expected 54 values"),
            "{err}"
        );
        let conv = Conv2d::new(spec, vec![0.0; 54], vec![0.0; 3], Activation::None).unwrap();
        let err = conv
            .forward(&Tensor::zeros(Shape::new(1, 3, 4, 4)))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "conv2d: input has 3 channels, the layer expects 2"
        );
        let big = ConvSpec {
            kernel: 7,
            padding: 0,
            ..spec
        };
        assert!(big.output_size(4, 9).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn random_shapes_match_naive(
            c_in in 1usize..6, c_out in 1usize..9, h in 1usize..12, w in 1usize..12,
            kernel in 1usize..5, stride in 1usize..3, pad in 0usize..3, seed in 0u64..1000,
        ) {
            let spec = ConvSpec { c_in, c_out, kernel, stride, padding: pad };
            prop_assume!(spec.output_size(h, w).is_ok());
            check_against_naive(Shape::new(2, c_in, h, w), spec, Activation::Silu, seed);
        }
    }
}

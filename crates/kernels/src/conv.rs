//! Dense 2-D convolution (groups = 1) with a fused bias + activation, by the cheapest of
//! three routes fixed when the layer is built:
//!
//! - 3×3, stride 1, padding 1 with at least [`WINOGRAD_MIN_CHANNELS`] channels in and out:
//!   Winograd F(4×4, 3×3) (`crate::winograd`), 2.5–4.5× faster than im2col on the
//!   network's layers.
//! - 1×1, stride 1, no padding: the image already is the GEMM's right operand.
//! - Anything else (the 6×6 stem, 3×3 stride 2): im2col + GEMM on blocks of output pixels
//!   (as many as keep the block's `[c_in·k·k, pixels]` columns near `COLUMN_BUDGET`),
//!   each block's columns built, multiplied and activated in one rayon task with reused
//!   scratch, so no buffer grows with the image.
//!
//! [`Conv2d::forward_into_im2col`] keeps the plain whole-image im2col + GEMM as the baseline
//! for tests and benchmarks.

use rayon::prelude::*;

use crate::im2col::{Geometry, im2col, im2col_block};
use crate::matmul::{Layer, OutPtr, Strided, gemm_bias_act_serial, matmul_unchecked};
use crate::scratch::with_scratch;
use crate::winograd::Winograd;
use crate::{Activation, KernelError, Shape, Tensor};

/// Fewest input and output channels that take the Winograd route. Measured by the
/// `conv_speed` example it already runs 4→4 and 8→8 layers twice as fast as im2col; below
/// that the transforms, not the multiplies, would dominate.
pub const WINOGRAD_MIN_CHANNELS: usize = 4;
/// Smallest image side that takes the Winograd route; smaller planes take im2col. A
/// 13-pixel side is 16 pixels of tiles (half again the work) and too few tiles to split
/// across cores: at 13² Winograd ran 256→256 at 0.78× the whole-image im2col's speed
/// (`conv_speed`, 2 threads), and in training (forward + backward, batch 8) at 0.55×; at
/// 26² it was already 1.2× faster in training, at 52² 1.7×.
pub const WINOGRAD_MIN_SIDE: usize = 20;
/// Values of an im2col column block (1 MB): cache-sized, though on the stem and a
/// stride-2 layer anything from 256 KB to 4 MB measured the same speed.
const COLUMN_BUDGET: usize = 256 * 1024;
/// Column blocks narrower than this waste the GEMM on packing; wider gain nothing.
const MIN_BLOCK_COLS: usize = 64;
const MAX_BLOCK_COLS: usize = 4096;
/// Column blocks are a multiple of this, the rows of `gemm`'s f32 register block.
const BLOCK_ALIGN: usize = 16;
/// Tasks wanted per layer to keep a few cores balanced.
const MIN_TASKS: usize = 8;
/// Fewest weight rows per task when rows must be split too.
const MIN_BLOCK_ROWS: usize = 32;

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
    pub const fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        Self {
            c_in,
            c_out,
            kernel,
            stride,
            padding,
        }
    }

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
    /// The weights transformed once for Winograd, on the layers that take that route.
    winograd: Option<Winograd>,
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
        let winograd = takes_winograd(spec).then(|| Winograd::new(spec.c_in, spec.c_out, &weight));
        Ok(Self {
            spec,
            weight,
            bias,
            act,
            winograd,
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
        // forward_into writes every value of its channels, here all of them.
        let mut out = Tensor::for_overwrite(self.output_shape(x.shape())?);
        self.forward_into(x, &mut out, 0)?;
        Ok(out)
    }

    /// Writes the output into channels `c0..c0 + c_out` of `out`, so that a following
    /// channel concatenation costs nothing.
    pub fn forward_into(&self, x: &Tensor, out: &mut Tensor, c0: usize) -> Result<(), KernelError> {
        let g = self.checked_geometry(x, out, c0)?;
        if let Some(winograd) = &self.winograd
            && winograd_pays_at(g.h, g.w)
        {
            winograd.forward(x, out, c0, &self.bias, self.act);
        } else if is_pointwise(&g) {
            self.forward_pointwise(x, out, c0);
        } else {
            self.forward_blocked(x, out, c0, &g);
        }
        Ok(())
    }

    /// [`Conv2d::forward_into`] by the plain route whatever the layer: each image's whole
    /// im2col matrix `[c_in·k·k, oh·ow]` built, then one GEMM. The baseline the faster
    /// routes are tested and timed against; it allocates that matrix on every call.
    pub fn forward_into_im2col(
        &self,
        x: &Tensor,
        out: &mut Tensor,
        c0: usize,
    ) -> Result<(), KernelError> {
        let g = self.checked_geometry(x, out, c0)?;
        if is_pointwise(&g) {
            self.forward_pointwise(x, out, c0);
            return Ok(());
        }
        let (m, k, n) = (self.spec.c_out, g.c * g.k * g.k, g.oh * g.ow);
        let mut col = vec![0.0; k * n];
        let out_image = out.shape().image();
        for b in 0..x.shape().n {
            im2col(x.image(b), &g, &mut col);
            let start = b * out_image + c0 * n;
            let dst = &mut out.data_mut()[start..start + m * n];
            matmul_unchecked(&self.weight, &col, dst, m, k, n, &self.bias, self.act);
        }
        Ok(())
    }

    /// Checks `x` and the destination, and returns the geometry of one image.
    fn checked_geometry(
        &self,
        x: &Tensor,
        out: &Tensor,
        c0: usize,
    ) -> Result<Geometry, KernelError> {
        let want = self.output_shape(x.shape())?;
        check_destination("conv2d", want, out.shape(), c0)?;
        let s = x.shape();
        Ok(Geometry {
            c: s.c,
            h: s.h,
            w: s.w,
            k: self.spec.kernel,
            stride: self.spec.stride,
            pad: self.spec.padding,
            oh: want.h,
            ow: want.w,
        })
    }

    /// 1×1 stride 1: each image `[c_in, h·w]` is the GEMM's right operand as it stands.
    fn forward_pointwise(&self, x: &Tensor, out: &mut Tensor, c0: usize) {
        let s = x.shape();
        let (m, k, n) = (self.spec.c_out, s.c, s.plane());
        let out_image = out.shape().image();
        for b in 0..s.n {
            let start = b * out_image + c0 * n;
            let dst = &mut out.data_mut()[start..start + m * n];
            matmul_unchecked(&self.weight, x.image(b), dst, m, k, n, &self.bias, self.act);
        }
    }

    /// im2col + GEMM a column block at a time: each task builds its block's columns in
    /// scratch, multiplies them by every weight row (or a share of the rows, on small
    /// images) and activates the result in place in `out`.
    fn forward_blocked(&self, x: &Tensor, out: &mut Tensor, c0: usize, g: &Geometry) {
        let (m, k, n) = (self.spec.c_out, g.c * g.k * g.k, g.oh * g.ow);
        let images = x.shape().n;
        let plan = ColumnPlan::new(images, m, k, n);
        let out_image = out.shape().image();
        let dst = OutPtr(out.data_mut().as_mut_ptr());
        let layer = Layer {
            w: &self.weight,
            k,
            bias: &self.bias,
            act: self.act,
        };
        (0..images * plan.blocks).into_par_iter().for_each(|task| {
            let (b, block) = (task / plan.blocks, task % plan.blocks);
            let j0 = block * plan.cols;
            let cols = plan.cols.min(n - j0);
            with_scratch(k * cols, |col| {
                im2col_block(x.image(b), g, j0, cols, col);
                let col: &[f32] = col;
                let start = b * out_image + c0 * n + j0;
                (0..plan.row_blocks).into_par_iter().for_each(|r| {
                    let rhs = Strided {
                        ptr: col.as_ptr(),
                        rs: cols,
                        cs: 1,
                    };
                    let i0 = r * plan.rows;
                    let rows = i0..(i0 + plan.rows).min(m);
                    // SAFETY: `col` holds k × cols values. Rows `rows` of this layer's
                    // channels, columns j0..j0 + cols of image b lie inside `out` (checked
                    // by `checked_geometry`) and belong to this task alone: tasks differ in
                    // image, column block or row block.
                    unsafe {
                        let at = dst.get().add(start + i0 * n);
                        gemm_bias_act_serial(layer, rows, rhs, cols, at, n);
                    }
                });
            });
        });
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

/// Whether a layer takes the Winograd route (on planes where [`winograd_pays_at`]).
pub(crate) fn takes_winograd(spec: ConvSpec) -> bool {
    let shape = (spec.kernel, spec.stride, spec.padding) == (3, 1, 1);
    shape && spec.c_in.min(spec.c_out) >= WINOGRAD_MIN_CHANNELS
}

/// Whether an `h × w` plane is large enough for Winograd ([`WINOGRAD_MIN_SIDE`]).
pub(crate) fn winograd_pays_at(h: usize, w: usize) -> bool {
    h.min(w) >= WINOGRAD_MIN_SIDE
}

fn is_pointwise(g: &Geometry) -> bool {
    g.k == 1 && g.stride == 1 && g.pad == 0
}

/// How the blocked im2col cuts one layer's work: from the shapes alone, never the thread
/// count, so the bits of the result do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ColumnPlan {
    /// Output pixels per column block, and blocks per image.
    cols: usize,
    blocks: usize,
    /// Weight rows per task, and tasks per column block.
    rows: usize,
    row_blocks: usize,
}

impl ColumnPlan {
    fn new(images: usize, m: usize, k: usize, n: usize) -> Self {
        let fit = (COLUMN_BUDGET / k.max(1)).clamp(MIN_BLOCK_COLS, MAX_BLOCK_COLS);
        let mut blocks = n.div_ceil(fit);
        let wanted = MIN_TASKS.div_ceil(images.max(1));
        if blocks < wanted {
            blocks = wanted.min(n.div_ceil(MIN_BLOCK_COLS)).max(blocks);
        }
        let cols = n.div_ceil(blocks.max(1)).next_multiple_of(BLOCK_ALIGN);
        let blocks = n.div_ceil(cols);
        // Too few column blocks (a small image): split the weight rows too.
        let tasks = images * blocks;
        let row_blocks = if tasks < MIN_TASKS {
            MIN_TASKS
                .div_ceil(tasks.max(1))
                .min(m.div_ceil(MIN_BLOCK_ROWS))
                .max(1)
        } else {
            1
        };
        let rows = m.div_ceil(row_blocks).max(1);
        Self {
            cols,
            blocks,
            rows,
            row_blocks: m.div_ceil(rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{self, random_tensor, random_vec};
    use proptest::prelude::*;

    /// Both routes, the layer's own and the plain im2col, against the f64 loops.
    fn check_against_naive(x: Shape, spec: ConvSpec, act: Activation, seed: u64) {
        let input = random_tensor(x, seed);
        let k2 = spec.kernel * spec.kernel;
        let weight = random_vec(spec.c_out * spec.c_in * k2, seed + 1);
        let bias = random_vec(spec.c_out, seed + 2);
        let conv = Conv2d::new(spec, weight.clone(), bias.clone(), act).unwrap();
        let truth = reference::conv2d(&input, &weight, &bias, spec, 1, act);
        reference::assert_close(&conv.forward(&input).unwrap(), &truth, 1e-4);
        let mut plain = Tensor::zeros(truth.shape());
        conv.forward_into_im2col(&input, &mut plain, 0).unwrap();
        reference::assert_close(&plain, &truth, 1e-5);
    }

    #[test]
    fn routes_follow_the_layer_shape() {
        let spec = ConvSpec::new;
        let winograd = |s: ConvSpec| {
            let k2 = s.kernel * s.kernel;
            let w = vec![0.0; s.c_out * s.c_in * k2];
            let conv = Conv2d::new(s, w, vec![0.0; s.c_out], Activation::None).unwrap();
            conv.winograd.is_some()
        };
        let few = WINOGRAD_MIN_CHANNELS;
        assert!(winograd(spec(few, few, 3, 1, 1)));
        assert!(winograd(spec(128, 256, 3, 1, 1)));
        assert!(!winograd(spec(few - 1, 64, 3, 1, 1)));
        assert!(!winograd(spec(64, few - 1, 3, 1, 1)));
        assert!(!winograd(spec(64, 64, 3, 2, 1)));
        assert!(!winograd(spec(64, 64, 3, 1, 0)));
        assert!(!winograd(spec(64, 64, 1, 1, 0)));
        assert!(!winograd(spec(64, 64, 5, 1, 2)));
        // Two layers below the threshold, stacked, cross it.
        let half = spec(few, few - 1, 3, 1, 1);
        let weights = vec![0.0; half.c_out * half.c_in * 9];
        let layer = Conv2d::new(half, weights, vec![0.0; half.c_out], Activation::None).unwrap();
        assert!(layer.winograd.is_none());
        let both = Conv2d::stack(&[&layer, &layer]).unwrap();
        assert!(both.winograd.is_some());
    }

    #[test]
    fn blocked_im2col_spans_column_and_row_blocks() {
        // The stem on a batch (several column blocks per image), and a stride-2 layer whose
        // output is one column block with its weight rows split in three.
        let stem = ConvSpec {
            c_in: 3,
            c_out: 32,
            kernel: 6,
            stride: 2,
            padding: 2,
        };
        assert!(ColumnPlan::new(2, 32, 108, 20 * 18).blocks > 1);
        check_against_naive(Shape::new(2, 3, 40, 36), stem, Activation::Silu, 7);
        let down = ConvSpec {
            c_in: 8,
            c_out: 70,
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        let plan = ColumnPlan::new(1, 70, 72, 25);
        assert_eq!((plan.blocks, plan.row_blocks), (1, 3));
        check_against_naive(Shape::new(1, 8, 10, 9), down, Activation::Silu, 8);
    }

    #[test]
    fn column_plan_covers_the_output_in_bounded_blocks() {
        for &(images, m, k, n) in &[
            (1, 32, 108, 896 * 896),
            (1, 128, 1152, 112 * 112),
            (2, 512, 2304, 13 * 13),
            (1, 7, 9, 1),
            (3, 1, 1, 5),
        ] {
            let plan = ColumnPlan::new(images, m, k, n);
            assert_eq!(plan, ColumnPlan::new(images, m, k, n));
            assert!(plan.blocks * plan.cols >= n && (plan.blocks - 1) * plan.cols < n);
            assert!(plan.row_blocks * plan.rows >= m && (plan.row_blocks - 1) * plan.rows < m);
            // The column block, not the image, sizes the scratch.
            let bound = COLUMN_BUDGET.max(k * MIN_BLOCK_COLS) + k * BLOCK_ALIGN;
            assert!(k * plan.cols <= bound, "{k} × {} values", plan.cols);
            assert_eq!(plan.cols % BLOCK_ALIGN, 0);
        }
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

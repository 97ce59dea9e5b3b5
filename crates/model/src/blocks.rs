//! The building blocks of YOLOv5 v7.0 (`models/common.py`) and YOLOX's depthwise separable
//! conv, as burn modules. Fields are public: the folded fast path (`fast.rs`) reads them.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::silu;
use burn::tensor::module::{interpolate, max_pool2d};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};

use crate::wiring::{Blocks, Family};

/// YOLOv5's BatchNorm settings (PyTorch momentum convention: weight of the new batch).
pub const BN_EPS: f64 = 1e-3;
pub const BN_MOMENTUM: f64 = 0.03;

/// Conv2d (no bias) + BatchNorm + SiLU: YOLOv5's `Conv`.
#[derive(Module, Debug)]
pub struct Conv {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl Conv {
    /// A `k`×`k` conv with padding `k / 2` ("same" for odd kernels at stride 1).
    pub fn new(c_in: usize, c_out: usize, k: usize, stride: usize, device: &Device) -> Self {
        Self::with_padding(c_in, c_out, k, stride, k / 2, 1, device)
    }

    /// Full control: explicit padding (the 6×6 stem uses 2) and groups (depthwise = c_in).
    pub fn with_padding(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        groups: usize,
        device: &Device,
    ) -> Self {
        let conv = Conv2dConfig::new([c_in, c_out], [k, k])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(
                padding, padding, padding, padding,
            ))
            .with_groups(groups)
            .with_bias(false)
            .init(device);
        let bn = BatchNormConfig::new(c_out)
            .with_epsilon(BN_EPS)
            .with_momentum(BN_MOMENTUM)
            .init(device);
        Self { conv, bn }
    }

    /// Training on an autodiff Flex device runs the fused op ([`crate::fused`]); everything
    /// else the plain burn layers.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match crate::fused::plan(self, &x) {
            Some(plan) => crate::fused::forward(self, x, plan),
            None => silu(self.bn.forward(self.conv.forward(x))),
        }
    }
}

/// Depthwise separable conv as YOLOX's `DWConv`: depthwise k×k `Conv` (groups = c_in) then
/// pointwise 1×1 `Conv`, each with its own BN and SiLU.
#[derive(Module, Debug)]
pub struct DwConv {
    pub dconv: Conv,
    pub pconv: Conv,
}

impl DwConv {
    pub fn new(c_in: usize, c_out: usize, k: usize, stride: usize, device: &Device) -> Self {
        Self {
            dconv: Conv::with_padding(c_in, c_in, k, stride, k / 2, c_in, device),
            pconv: Conv::new(c_in, c_out, 1, 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pconv.forward(self.dconv.forward(x))
    }
}

/// A 3×3 convolution that is either dense or depthwise separable, so one layout serves
/// YOLO-Basin and Light YOLO-Basin.
// A few dozen of these exist per network; boxing would only complicate the module tree.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Spatial {
    Dense(Conv),
    Depthwise(DwConv),
}

impl Spatial {
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        depthwise: bool,
        device: &Device,
    ) -> Self {
        if depthwise {
            Spatial::Depthwise(DwConv::new(c_in, c_out, k, stride, device))
        } else {
            Spatial::Dense(Conv::new(c_in, c_out, k, stride, device))
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Spatial::Dense(c) => c.forward(x),
            Spatial::Depthwise(c) => c.forward(x),
        }
    }
}

/// YOLOv5's `Bottleneck` with e = 1.0: 1×1 `Conv`, then 3×3, plus the input when `add`.
#[derive(Module, Debug)]
pub struct Bottleneck {
    pub cv1: Conv,
    pub cv2: Spatial,
    /// Residual connection (shortcut requested and input/output widths equal).
    pub add: bool,
}

impl Bottleneck {
    pub fn new(
        c_in: usize,
        c_out: usize,
        shortcut: bool,
        depthwise: bool,
        device: &Device,
    ) -> Self {
        // C3 builds its bottlenecks with e = 1.0, so the hidden width is c_out itself.
        let hidden = c_out;
        Self {
            cv1: Conv::new(c_in, hidden, 1, 1, device),
            cv2: Spatial::new(hidden, c_out, 3, 1, depthwise, device),
            add: shortcut && c_in == c_out,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.cv2.forward(self.cv1.forward(x.clone()));
        if self.add { x + y } else { y }
    }
}

/// YOLOv5's `C3` (CSP bottleneck with three convs): hidden width c_out / 2.
#[derive(Module, Debug)]
pub struct C3 {
    pub cv1: Conv,
    pub cv2: Conv,
    pub cv3: Conv,
    pub m: Vec<Bottleneck>,
}

impl C3 {
    pub fn new(
        c_in: usize,
        c_out: usize,
        n: usize,
        shortcut: bool,
        depthwise: bool,
        device: &Device,
    ) -> Self {
        let hidden = c_out / 2;
        Self {
            cv1: Conv::new(c_in, hidden, 1, 1, device),
            cv2: Conv::new(c_in, hidden, 1, 1, device),
            cv3: Conv::new(2 * hidden, c_out, 1, 1, device),
            m: (0..n)
                .map(|_| Bottleneck::new(hidden, hidden, shortcut, depthwise, device))
                .collect(),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut a = self.cv1.forward(x.clone());
        for b in &self.m {
            a = b.forward(a);
        }
        let b = self.cv2.forward(x);
        self.cv3.forward(Tensor::cat(vec![a, b], 1))
    }
}

/// Kernel of SPPF's max-pools; three chained 5×5 pools see 5, 9 and 13 pixels as SPP did.
pub const SPPF_POOL: usize = 5;

/// YOLOv5's `SPPF`: 1×1 to c_in / 2, three chained max-pools, concat of four, 1×1 to c_out.
#[derive(Module, Debug)]
pub struct Sppf {
    pub cv1: Conv,
    pub cv2: Conv,
}

impl Sppf {
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        let hidden = c_in / 2;
        Self {
            cv1: Conv::new(c_in, hidden, 1, 1, device),
            cv2: Conv::new(hidden * 4, c_out, 1, 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.cv1.forward(x);
        let y1 = sppf_pool(x.clone());
        let y2 = sppf_pool(y1.clone());
        let y3 = sppf_pool(y2.clone());
        self.cv2.forward(Tensor::cat(vec![x, y1, y2, y3], 1))
    }
}

/// 5×5 max-pool, stride 1, padding 2 (padding never wins: it is −∞).
pub fn sppf_pool(x: Tensor<4>) -> Tensor<4> {
    let p = SPPF_POOL / 2;
    max_pool2d(
        x,
        MaxPoolOptions::new([SPPF_POOL, SPPF_POOL])
            .with_stride([1, 1])
            .with_padding([p, p]),
    )
}

/// ×2 bilinear upsampling with half-pixel centres (align_corners = false), as the paper's
/// Figure 4 asks (YOLOv5 itself uses nearest).
pub fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size([2 * h, 2 * w]),
    )
}

/// The burn modules: a block [`Family`], and its evaluator of the wiring (infallible).
pub struct Modules;

impl Family for Modules {
    type Conv = Conv;
    type Spatial = Spatial;
    type C3 = C3;
    type Sppf = Sppf;
}

impl Blocks<Modules> for Modules {
    type X = Tensor<4>;
    type E = std::convert::Infallible;

    fn conv(&mut self, _: &str, l: &Conv, x: Tensor<4>) -> Result<Tensor<4>, Self::E> {
        Ok(l.forward(x))
    }
    fn spatial(&mut self, _: &str, l: &Spatial, x: Tensor<4>) -> Result<Tensor<4>, Self::E> {
        Ok(l.forward(x))
    }
    fn c3(&mut self, _: &str, l: &C3, x: Tensor<4>) -> Result<Tensor<4>, Self::E> {
        Ok(l.forward(x))
    }
    fn sppf(&mut self, _: &str, l: &Sppf, x: Tensor<4>) -> Result<Tensor<4>, Self::E> {
        Ok(l.forward(x))
    }
    fn up_cat(
        &mut self,
        _: &str,
        coarse: Tensor<4>,
        fine: Tensor<4>,
    ) -> Result<Tensor<4>, Self::E> {
        Ok(Tensor::cat(vec![upsample2(coarse), fine], 1))
    }
    fn cat(&mut self, _: &str, a: Tensor<4>, b: Tensor<4>) -> Result<Tensor<4>, Self::E> {
        Ok(Tensor::cat(vec![a, b], 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    fn tensor(data: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
        Tensor::from_data(TensorData::new(data, shape), &device())
    }

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().expect("f32 tensor")
    }

    #[test]
    fn upsample_is_half_pixel_bilinear() {
        // 1-D along x: [0, 4] → half-pixel sample points −0.25, 0.25, 0.75, 1.25 (clamped
        // at the edges) → 0, 1, 3, 4.
        let y = values(upsample2(tensor(vec![0.0, 4.0], [1, 1, 1, 2])));
        let want = [0.0, 1.0, 3.0, 4.0, 0.0, 1.0, 3.0, 4.0];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{y:?}");
        }
    }

    #[test]
    fn sppf_pool_is_a_padded_sliding_max() {
        // A single hot pixel spreads to its 5×5 neighbourhood; negative values stay where
        // no hot pixel reaches (the padding must not leak zeros in).
        let mut data = vec![-1.0f32; 49];
        data[3 * 7 + 3] = 5.0;
        data[0] = -0.5;
        let y = values(sppf_pool(tensor(data, [1, 1, 7, 7])));
        for r in 0..7usize {
            for c in 0..7usize {
                let near_hot = r.abs_diff(3) <= 2 && c.abs_diff(3) <= 2;
                let want = if near_hot {
                    5.0
                } else if r <= 2 && c <= 2 {
                    -0.5
                } else {
                    -1.0
                };
                assert_eq!(y[r * 7 + c], want, "at ({r}, {c})");
            }
        }
    }

    #[test]
    fn conv_shapes_and_strides() {
        let d = device();
        let stem = Conv::with_padding(3, 8, 6, 2, 2, 1, &d);
        let x = Tensor::<4>::zeros([1, 3, 64, 64], &d);
        assert_eq!(stem.forward(x.clone()).dims(), [1, 8, 32, 32]);
        let dw = DwConv::new(3, 16, 3, 2, &d);
        assert_eq!(dw.forward(x).dims(), [1, 16, 32, 32]);
        assert_eq!(dw.dconv.conv.weight.dims(), [3, 1, 3, 3]);
    }

    #[test]
    fn bottleneck_adds_only_when_shapes_match() {
        let d = device();
        assert!(Bottleneck::new(8, 8, true, false, &d).add);
        assert!(!Bottleneck::new(8, 8, false, false, &d).add);
        assert!(!Bottleneck::new(8, 16, true, false, &d).add);
    }
}

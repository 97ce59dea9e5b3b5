//! The folded twins of the burn blocks (`crate::blocks`), each running on the kernels.
//! Every layer keeps its path in the burn module tree so an error names it.

use kernels::{
    Activation, Conv2d, Depthwise3x3, Tensor, add_assign, max_pool_same, upsample_bilinear2x,
};

use super::FastError;
use super::fold::{Folded, fold};
use crate::blocks::{Bottleneck, C3, Conv, SPPF_POOL, Spatial, Sppf};

fn kernel_error(layer: &str) -> impl Fn(kernels::KernelError) -> FastError + '_ {
    move |source| FastError::Kernel {
        layer: layer.to_string(),
        source,
    }
}

/// A dense convolution with its folded bias and activation.
#[derive(Debug, Clone)]
pub(super) struct ConvLayer {
    pub name: String,
    pub op: Conv2d,
}

impl ConvLayer {
    /// YOLOv5 `Conv` (conv + BN + SiLU) folded; it must be dense.
    pub fn from_block(c: &Conv, name: &str) -> Result<Self, FastError> {
        Self::from_folded(fold(&c.conv, Some(&c.bn), Activation::Silu, name)?, name)
    }

    /// A bare conv with bias (the heads' output layers), no activation.
    pub fn from_bare(c: &burn::nn::conv::Conv2d, name: &str) -> Result<Self, FastError> {
        Self::from_folded(fold(c, None, Activation::None, name)?, name)
    }

    fn from_folded(f: Folded, name: &str) -> Result<Self, FastError> {
        match f {
            Folded::Dense(op) => Ok(Self {
                name: name.to_string(),
                op,
            }),
            Folded::Depthwise(_) => Err(FastError::Unsupported {
                layer: name.to_string(),
                detail: "a depthwise conv where a dense one was expected".into(),
            }),
        }
    }

    /// Two layers reading the same input as one GEMM, outputs side by side.
    pub fn stacked(a: &ConvLayer, b: &ConvLayer, name: &str) -> Result<Self, FastError> {
        let op = Conv2d::stack(&[&a.op, &b.op]).map_err(kernel_error(name))?;
        Ok(Self {
            name: name.to_string(),
            op,
        })
    }

    pub fn run(&self, x: &Tensor) -> Result<Tensor, FastError> {
        self.op.forward(x).map_err(kernel_error(&self.name))
    }

    pub fn run_into(&self, x: &Tensor, out: &mut Tensor, c0: usize) -> Result<(), FastError> {
        self.op
            .forward_into(x, out, c0)
            .map_err(kernel_error(&self.name))
    }

    pub fn c_out(&self) -> usize {
        self.op.spec().c_out
    }
}

/// A 3×3 convolution: dense, or depthwise 3×3 then pointwise 1×1 (`DWConv`).
#[derive(Debug, Clone)]
pub(super) enum SpatialLayer {
    Dense(ConvLayer),
    Separable {
        name: String,
        dw: Depthwise3x3,
        pw: ConvLayer,
    },
}

impl SpatialLayer {
    pub fn from_block(s: &Spatial, name: &str) -> Result<Self, FastError> {
        match s {
            Spatial::Dense(c) => Ok(Self::Dense(ConvLayer::from_block(c, name)?)),
            Spatial::Depthwise(d) => {
                let dw_name = format!("{name}.dconv");
                let dw = match fold(&d.dconv.conv, Some(&d.dconv.bn), Activation::Silu, &dw_name)? {
                    Folded::Depthwise(dw) => dw,
                    Folded::Dense(_) => {
                        return Err(FastError::Unsupported {
                            layer: dw_name,
                            detail: "a dense conv where a depthwise one was expected".into(),
                        });
                    }
                };
                Ok(Self::Separable {
                    name: dw_name,
                    dw,
                    pw: ConvLayer::from_block(&d.pconv, &format!("{name}.pconv"))?,
                })
            }
        }
    }

    pub fn run(&self, x: &Tensor) -> Result<Tensor, FastError> {
        match self {
            Self::Dense(c) => c.run(x),
            Self::Separable { name, dw, pw } => {
                let y = dw.forward(x).map_err(kernel_error(name))?;
                pw.run(&y)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct BottleneckLayer {
    cv1: ConvLayer,
    cv2: SpatialLayer,
    add: bool,
    name: String,
}

impl BottleneckLayer {
    pub fn from_block(b: &Bottleneck, name: &str) -> Result<Self, FastError> {
        Ok(Self {
            cv1: ConvLayer::from_block(&b.cv1, &format!("{name}.cv1"))?,
            cv2: SpatialLayer::from_block(&b.cv2, &format!("{name}.cv2"))?,
            add: b.add,
            name: name.to_string(),
        })
    }

    pub fn run(&self, x: &Tensor) -> Result<Tensor, FastError> {
        let mut y = self.cv2.run(&self.cv1.run(x)?)?;
        if self.add {
            add_assign(&mut y, x).map_err(kernel_error(&self.name))?;
        }
        Ok(y)
    }
}

/// C3 with cv1 and cv2 (both 1×1 on the input) computed as one GEMM whose output already
/// is the concatenation cv3 reads, once the bottlenecks have replaced its first half.
#[derive(Debug, Clone)]
pub(super) struct C3Layer {
    cv12: ConvLayer,
    hidden: usize,
    m: Vec<BottleneckLayer>,
    cv3: ConvLayer,
    name: String,
}

impl C3Layer {
    pub fn from_block(c: &C3, name: &str) -> Result<Self, FastError> {
        let cv1 = ConvLayer::from_block(&c.cv1, &format!("{name}.cv1"))?;
        let cv2 = ConvLayer::from_block(&c.cv2, &format!("{name}.cv2"))?;
        let m =
            c.m.iter()
                .enumerate()
                .map(|(i, b)| BottleneckLayer::from_block(b, &format!("{name}.m.{i}")))
                .collect::<Result<_, _>>()?;
        Ok(Self {
            cv12: ConvLayer::stacked(&cv1, &cv2, &format!("{name}.cv1+cv2"))?,
            hidden: cv1.c_out(),
            m,
            cv3: ConvLayer::from_block(&c.cv3, &format!("{name}.cv3"))?,
            name: name.to_string(),
        })
    }

    pub fn run(&self, x: &Tensor) -> Result<Tensor, FastError> {
        let mut both = self.cv12.run(x)?;
        if !self.m.is_empty() {
            let err = kernel_error(&self.name);
            let mut a = both.channels(0, self.hidden).map_err(&err)?;
            for b in &self.m {
                a = b.run(&a)?;
            }
            both.write_channels(0, &a).map_err(&err)?;
        }
        self.cv3.run(&both)
    }
}

/// SPPF with its four-way concatenation built in place.
#[derive(Debug, Clone)]
pub(super) struct SppfLayer {
    cv1: ConvLayer,
    cv2: ConvLayer,
    name: String,
}

impl SppfLayer {
    pub fn from_block(s: &Sppf, name: &str) -> Result<Self, FastError> {
        Ok(Self {
            cv1: ConvLayer::from_block(&s.cv1, &format!("{name}.cv1"))?,
            cv2: ConvLayer::from_block(&s.cv2, &format!("{name}.cv2"))?,
            name: name.to_string(),
        })
    }

    pub fn run(&self, x: &Tensor) -> Result<Tensor, FastError> {
        let err = kernel_error(&self.name);
        let mut y = self.cv1.run(x)?;
        let s = y.shape();
        let mut cat = Tensor::zeros(kernels::Shape::new(s.n, 4 * s.c, s.h, s.w));
        for i in 0..4 {
            cat.write_channels(i * s.c, &y).map_err(&err)?;
            if i < 3 {
                y = max_pool_same(&y, SPPF_POOL).map_err(&err)?;
            }
        }
        self.cv2.run(&cat)
    }
}

/// `cat([up2(a), b], channels)` with `up2` the bilinear ×2 of the neck.
pub(super) fn upsample_cat(a: &Tensor, b: &Tensor, name: &str) -> Result<Tensor, FastError> {
    cat2(&upsample_bilinear2x(a), b, name)
}

pub(super) fn cat2(a: &Tensor, b: &Tensor, name: &str) -> Result<Tensor, FastError> {
    kernels::concat_channels(&[a, b]).map_err(kernel_error(name))
}

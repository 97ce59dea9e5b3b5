//! The folded fast inference path: the same network as [`Detector`] in eval mode, with every
//! BatchNorm folded into its convolution and the forward run on the `kernels` crate (GEMM
//! convolutions with fused bias + SiLU, direct depthwise 3×3, vectorised exp) instead of
//! burn's primitive ops.
//!
//! [`FastNet::forward`] gives the raw head maps [`Detector::forward`] gives (to float
//! rounding: BN folding and a different summation order), as host [`LevelRaw`]s ready for
//! [`decode_host`]. The plain-burn path stays the reference; the tests hold the two
//! together on random weights with randomised BatchNorm statistics.

mod bench_impl;
mod fold;
mod layers;

pub use bench_impl::{BenchReport, bench_infer, peak_rss_kib};

use kernels::{KernelError, Shape, Tensor};
use rayon::prelude::*;

use crate::config::{ModelConfig, STRIDES};
use crate::decode::{HostPrediction, LevelRaw, decode_host};
use crate::detector::Detector;
use crate::head::LevelHead;
use crate::wiring::{self, BackboneParts, Blocks, Family, NeckParts, STAGES};
use layers::{C3Layer, ConvLayer, SpatialLayer, SppfLayer, cat2, upsample_cat};

/// What can go wrong building or running the fast path; each names the layer (its path in
/// the burn module tree) or the input at fault.
#[derive(Debug, thiserror::Error)]
pub enum FastError {
    #[error("{layer}: cannot fold: {detail}")]
    Unsupported { layer: String, detail: String },
    #[error("{layer}: reading {tensor} to the host failed: {detail}")]
    Read {
        layer: String,
        tensor: &'static str,
        detail: String,
    },
    #[error("{layer}: {source}")]
    Kernel {
        layer: String,
        #[source]
        source: KernelError,
    },
    #[error(
        "input has {got} values, expected {want} for a batch of {batch} × 3 × {height} × {width}"
    )]
    InputSize {
        got: usize,
        want: usize,
        batch: usize,
        height: usize,
        width: usize,
    },
    #[error(
        "input of {height}×{width} pixels, batch {batch}: sides must be positive multiples of \
         32 (the coarsest stride) and the batch at least 1"
    )]
    InputShape {
        batch: usize,
        height: usize,
        width: usize,
    },
}

#[derive(Debug, Clone)]
struct Stage {
    down: SpatialLayer,
    c3: C3Layer,
}

#[derive(Debug, Clone)]
struct Backbone {
    stem: ConvLayer,
    stages: [Stage; STAGES],
    sppf: SppfLayer,
}

#[derive(Debug, Clone)]
struct Neck {
    lat5: ConvLayer,
    td4: C3Layer,
    lat4: ConvLayer,
    out3: C3Layer,
    down3: SpatialLayer,
    out4: C3Layer,
    down4: SpatialLayer,
    out5: C3Layer,
}

#[derive(Debug, Clone)]
struct DoubleHead {
    stem: ConvLayer,
    reg: Vec<SpatialLayer>,
    reg_pred: ConvLayer,
    obj: Vec<SpatialLayer>,
    obj_pred: ConvLayer,
}

#[derive(Debug, Clone)]
enum Head {
    Coupled(ConvLayer),
    Double(Box<DoubleHead>),
}

/// A [`Detector`] folded for inference on the CPU kernels.
#[derive(Debug, Clone)]
pub struct FastNet {
    config: ModelConfig,
    backbone: Backbone,
    neck: Neck,
    heads: Vec<Head>,
}

impl FastNet {
    /// Folds the detector's current weights (BatchNorm running statistics included; the
    /// training flag is irrelevant: the fold is the eval-mode network).
    pub fn from_detector(det: &Detector) -> Result<Self, FastError> {
        Ok(Self {
            config: det.config.clone(),
            backbone: fold_backbone(&det.backbone)?,
            neck: fold_neck(&det.neck)?,
            heads: det
                .head
                .levels
                .iter()
                .enumerate()
                .map(|(i, h)| fold_head(h, &format!("head.levels.{i}")))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Raw head maps for a batch `x` of `[batch, 3, h, w]` f32 (NCHW), h and w multiples of
    /// 32: the same maps as [`Detector::forward`], levels at strides 8, 16, 32.
    pub fn forward(
        &self,
        x: &[f32],
        batch: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<LevelRaw>, FastError> {
        let input = check_input(x, batch, h, w)?;
        let [p3, p4, p5] = self.backbone_forward(input)?;
        let features = self.neck_forward(p3, p4, p5)?;
        // The three levels, and below the two branches of a double head, run side by side:
        // the coarse levels' GEMMs are too small to keep every core busy on their own.
        features
            .par_iter()
            .zip(&self.heads)
            .zip(STRIDES)
            .map(|((f, head), stride)| {
                let raw = head_forward(head, f)?;
                let s = raw.shape();
                Ok(LevelRaw {
                    stride,
                    shape: [s.n, s.c, s.h, s.w],
                    data: raw.into_data(),
                })
            })
            .collect()
    }

    /// Forward then [`decode_host`]: per image, the predictions scoring at least
    /// `min_score`, before NMS.
    pub fn detect(
        &self,
        x: &[f32],
        batch: usize,
        h: usize,
        w: usize,
        min_score: f32,
    ) -> Result<Vec<Vec<HostPrediction>>, FastError> {
        let raw = self.forward(x, batch, h, w)?;
        Ok(decode_host(&raw, &self.config, min_score))
    }

    fn backbone_forward(&self, x: Tensor) -> Result<[Tensor; 3], FastError> {
        let b = &self.backbone;
        let parts = BackboneParts {
            stem: &b.stem,
            stages: b.stages.each_ref().map(|s| wiring::Stage {
                down: &s.down,
                c3: &s.c3,
            }),
            sppf: &b.sppf,
        };
        wiring::backbone(&mut Layers, &parts, x)
    }

    fn neck_forward(&self, p3: Tensor, p4: Tensor, p5: Tensor) -> Result<[Tensor; 3], FastError> {
        let n = &self.neck;
        let parts = NeckParts {
            lat5: &n.lat5,
            td4: &n.td4,
            lat4: &n.lat4,
            out3: &n.out3,
            down3: &n.down3,
            out4: &n.out4,
            down4: &n.down4,
            out5: &n.out5,
        };
        wiring::neck(&mut Layers, &parts, [p3, p4, p5])
    }
}

/// The folded layers: a block [`Family`], and its evaluator of the wiring (the layers carry
/// their own names for errors).
struct Layers;

impl Family for Layers {
    type Conv = ConvLayer;
    type Spatial = SpatialLayer;
    type C3 = C3Layer;
    type Sppf = SppfLayer;
}

impl Blocks<Layers> for Layers {
    type X = Tensor;
    type E = FastError;

    fn conv(&mut self, _: &str, l: &ConvLayer, x: Tensor) -> Result<Tensor, FastError> {
        l.run(&x)
    }
    fn spatial(&mut self, _: &str, l: &SpatialLayer, x: Tensor) -> Result<Tensor, FastError> {
        l.run(&x)
    }
    fn c3(&mut self, _: &str, l: &C3Layer, x: Tensor) -> Result<Tensor, FastError> {
        l.run(&x)
    }
    fn sppf(&mut self, _: &str, l: &SppfLayer, x: Tensor) -> Result<Tensor, FastError> {
        l.run(&x)
    }
    fn up_cat(&mut self, name: &str, coarse: Tensor, fine: Tensor) -> Result<Tensor, FastError> {
        upsample_cat(&coarse, &fine, name)
    }
    fn cat(&mut self, name: &str, a: Tensor, b: Tensor) -> Result<Tensor, FastError> {
        cat2(&a, &b, name)
    }
}

fn check_input(x: &[f32], batch: usize, h: usize, w: usize) -> Result<Tensor, FastError> {
    let fits = |side: usize| side > 0 && side.is_multiple_of(32);
    if batch == 0 || !fits(h) || !fits(w) {
        return Err(FastError::InputShape {
            batch,
            height: h,
            width: w,
        });
    }
    let shape = Shape::new(batch, 3, h, w);
    if x.len() != shape.len() {
        return Err(FastError::InputSize {
            got: x.len(),
            want: shape.len(),
            batch,
            height: h,
            width: w,
        });
    }
    Tensor::from_fill(shape, |data| data.extend_from_slice(x)).map_err(|source| FastError::Kernel {
        layer: "input".into(),
        source,
    })
}

fn fold_backbone(b: &crate::backbone::Backbone) -> Result<Backbone, FastError> {
    let fold = |i: usize| {
        let (s, name) = (&b.stages[i], format!("backbone.stages.{i}"));
        Ok::<_, FastError>(Stage {
            down: SpatialLayer::from_block(&s.down, &format!("{name}.down"))?,
            c3: C3Layer::from_block(&s.c3, &format!("{name}.c3"))?,
        })
    };
    let [s1, s2, s3, s4] = std::array::from_fn(fold);
    Ok(Backbone {
        stem: ConvLayer::from_block(&b.stem, "backbone.stem")?,
        stages: [s1?, s2?, s3?, s4?],
        sppf: SppfLayer::from_block(&b.sppf, "backbone.sppf")?,
    })
}

fn fold_neck(n: &crate::neck::Neck) -> Result<Neck, FastError> {
    Ok(Neck {
        lat5: ConvLayer::from_block(&n.lat5, "neck.lat5")?,
        td4: C3Layer::from_block(&n.td4, "neck.td4")?,
        lat4: ConvLayer::from_block(&n.lat4, "neck.lat4")?,
        out3: C3Layer::from_block(&n.out3, "neck.out3")?,
        down3: SpatialLayer::from_block(&n.down3, "neck.down3")?,
        out4: C3Layer::from_block(&n.out4, "neck.out4")?,
        down4: SpatialLayer::from_block(&n.down4, "neck.down4")?,
        out5: C3Layer::from_block(&n.out5, "neck.out5")?,
    })
}

fn fold_head(h: &LevelHead, name: &str) -> Result<Head, FastError> {
    match h {
        LevelHead::Coupled(c) => Ok(Head::Coupled(ConvLayer::from_bare(c, name)?)),
        LevelHead::Double(d) => {
            let branch = |convs: &[crate::blocks::Spatial], branch: &str| {
                convs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| SpatialLayer::from_block(c, &format!("{name}.{branch}.{i}")))
                    .collect::<Result<Vec<_>, _>>()
            };
            Ok(Head::Double(Box::new(DoubleHead {
                stem: ConvLayer::from_block(&d.stem, &format!("{name}.stem"))?,
                reg: branch(&d.reg_convs, "reg_convs")?,
                reg_pred: ConvLayer::from_bare(&d.reg_pred, &format!("{name}.reg_pred"))?,
                obj: branch(&d.obj_convs, "obj_convs")?,
                obj_pred: ConvLayer::from_bare(&d.obj_pred, &format!("{name}.obj_pred"))?,
            })))
        }
    }
}

/// The head of one level; the double head writes its two predictions side by side
/// (regression then confidence), as `DoubleHead::forward` concatenates them.
fn head_forward(head: &Head, x: &Tensor) -> Result<Tensor, FastError> {
    match head {
        Head::Coupled(c) => c.run(x),
        Head::Double(d) => {
            let DoubleHead {
                stem,
                reg,
                reg_pred,
                obj,
                obj_pred,
            } = d.as_ref();
            let s = stem.run(x)?;
            // Each branch reads the stem's output in place (no copy of it per branch).
            let chain = |convs: &[SpatialLayer]| -> Result<Tensor, FastError> {
                match convs.split_first() {
                    Some((first, rest)) => rest.iter().try_fold(first.run(&s)?, |y, c| c.run(&y)),
                    None => Ok(s.clone()),
                }
            };
            let (r, o) = rayon::join(|| chain(reg), || chain(obj));
            let (r, o) = (r?, o?);
            let shape = r.shape();
            let c = reg_pred.c_out() + obj_pred.c_out();
            let mut out = Tensor::zeros(Shape::new(shape.n, c, shape.h, shape.w));
            reg_pred.run_into(&r, &mut out, 0)?;
            obj_pred.run_into(&o, &mut out, reg_pred.c_out())?;
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests;

//! Detection heads: YOLOv5's coupled 1×1 output conv (anchor-based) and the paper's double
//! head (regression and confidence branches, anchor-free).

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;

use crate::blocks::{Conv, Spatial};
use crate::config::{ANCHORS_PER_LEVEL, ModelConfig, STRIDES, YOLOV5_OUTPUTS};
use crate::neck::Neck;

/// Prior probability of an object at initialisation (RetinaNet/YOLOX): the confidence
/// bias starts at −ln((1 − p) / p) so the first focal-loss steps are not swamped by the
/// easy negatives.
pub const PRIOR_PROB: f64 = 0.01;

/// Output of the network: one raw map per level.
#[derive(Clone, Debug)]
pub struct HeadOutput {
    pub levels: Vec<LevelOutput>,
}

/// One level's raw map. Anchor-free: `[B, 5, H, W]` = (tx, ty, tw, th, obj logit).
/// YOLOv5: `[B, 3·6, H, W]`, channel `a·6 + k` = anchor `a`, output `k` of
/// (tx, ty, tw, th, obj, cls).
#[derive(Clone, Debug)]
pub struct LevelOutput {
    pub stride: usize,
    pub raw: Tensor<4>,
}

/// The anchor-free double head of one level.
#[derive(Module, Debug)]
pub struct DoubleHead {
    /// 1×1 `Conv` from the neck width to the head width ceil(256·w/8)·8.
    pub stem: Conv,
    /// Two 3×3 convs then a 1×1 conv with bias to (tx, ty, tw, th).
    pub reg_convs: Vec<Spatial>,
    pub reg_pred: Conv2d,
    /// Two 3×3 convs then a 1×1 conv with bias to the confidence logit.
    pub obj_convs: Vec<Spatial>,
    pub obj_pred: Conv2d,
}

impl DoubleHead {
    pub fn new(c_in: usize, width: usize, depthwise: bool, device: &Device) -> Self {
        let branch = || -> Vec<Spatial> {
            (0..2)
                .map(|_| Spatial::new(width, width, 3, 1, depthwise, device))
                .collect()
        };
        let mut obj_pred = Conv2dConfig::new([width, 1], [1, 1]).init(device);
        obj_pred.bias = Some(Param::from_tensor(Tensor::full(
            [1],
            prior_logit(PRIOR_PROB),
            device,
        )));
        Self {
            stem: Conv::new(c_in, width, 1, 1, device),
            reg_convs: branch(),
            reg_pred: Conv2dConfig::new([width, 4], [1, 1]).init(device),
            obj_convs: branch(),
            obj_pred,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.stem.forward(x);
        let run = |convs: &[Spatial], pred: &Conv2d| {
            let mut y = x.clone();
            for c in convs {
                y = c.forward(y);
            }
            pred.forward(y)
        };
        let reg = run(&self.reg_convs, &self.reg_pred);
        let obj = run(&self.obj_convs, &self.obj_pred);
        Tensor::cat(vec![reg, obj], 1)
    }
}

/// The head of one level.
// Three per network; boxing would only complicate the module tree.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum LevelHead {
    /// YOLOv5: one 1×1 conv with bias to 3 anchors × 6 outputs.
    Coupled(Conv2d),
    Double(DoubleHead),
}

impl LevelHead {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            LevelHead::Coupled(c) => c.forward(x),
            LevelHead::Double(h) => h.forward(x),
        }
    }
}

/// Heads for P3, P4, P5.
#[derive(Module, Debug)]
pub struct Head {
    pub levels: Vec<LevelHead>,
}

impl Head {
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let c_in = Neck::out_channels(cfg);
        let levels = (0..3)
            .map(|i| {
                if cfg.variant.is_anchor_free() {
                    LevelHead::Double(DoubleHead::new(
                        c_in[i],
                        cfg.channels(256),
                        cfg.depthwise_neck,
                        device,
                    ))
                } else {
                    LevelHead::Coupled(coupled_conv(c_in[i], STRIDES[i], cfg.tile, device))
                }
            })
            .collect();
        Self { levels }
    }

    pub fn forward(&self, features: [Tensor<4>; 3]) -> HeadOutput {
        let levels = features
            .into_iter()
            .zip(&self.levels)
            .zip(STRIDES)
            .map(|((x, h), stride)| LevelOutput {
                stride,
                raw: h.forward(x),
            })
            .collect();
        HeadOutput { levels }
    }
}

/// −ln((1 − p) / p): the logit whose sigmoid is `p`.
pub fn prior_logit(p: f64) -> f64 {
    -((1.0 - p) / p).ln()
}

/// YOLOv5's coupled output conv with its bias priors (`Detect._initialize_biases`): about
/// 8 objects per tile spread over the level's cells, and a class prior of 0.6 / (nc − 0.99).
fn coupled_conv(c_in: usize, stride: usize, tile: usize, device: &Device) -> Conv2d {
    let mut conv =
        Conv2dConfig::new([c_in, ANCHORS_PER_LEVEL * YOLOV5_OUTPUTS], [1, 1]).init(device);
    if let Some(bias) = conv.bias.take() {
        let mut b = bias
            .val()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_else(|_| vec![0.0; ANCHORS_PER_LEVEL * YOLOV5_OUTPUTS]);
        let cells = (tile as f64 / stride as f64).powi(2);
        let obj = (8.0 / cells).ln() as f32;
        let cls = (0.6f64 / (1.0 - 0.99)).ln() as f32;
        for a in 0..ANCHORS_PER_LEVEL {
            b[a * YOLOV5_OUTPUTS + 4] += obj;
            b[a * YOLOV5_OUTPUTS + 5] += cls;
        }
        let n = b.len();
        conv.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(b, [n]),
            device,
        )));
    }
    conv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Scale, Variant};
    use burn::tensor::activation::sigmoid;

    #[test]
    fn confidence_bias_starts_at_the_prior() {
        let d = Device::flex();
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N);
        let head = Head::new(&cfg, &d);
        for level in &head.levels {
            let LevelHead::Double(h) = level else {
                panic!("anchor-free variant built a coupled head");
            };
            let b = h.obj_pred.bias.as_ref().expect("bias").val();
            let p = sigmoid(b).into_scalar::<f32>() as f64;
            assert!((p - 0.01).abs() < 1e-6, "σ(bias) = {p}");
        }
        assert!((prior_logit(0.01) + 4.59512).abs() < 1e-4);
    }

    #[test]
    fn yolov5_biases_carry_the_object_prior() {
        let d = Device::flex();
        let cfg = ModelConfig::new(Variant::Yolov5, Scale::N);
        let head = Head::new(&cfg, &d);
        let LevelHead::Coupled(c) = &head.levels[2] else {
            panic!("yolov5 built a double head");
        };
        let b: Vec<f32> = c
            .bias
            .as_ref()
            .expect("bias")
            .val()
            .into_data()
            .try_into_vec()
            .expect("f32");
        // stride 32 at 416: 169 cells, ln(8/169) ≈ −3.05, plus a default init within ±1/√c_in.
        let bound = 1.0 / (256f32).sqrt();
        for a in 0..3 {
            let obj = b[a * 6 + 4];
            assert!((obj - (8.0f32 / 169.0).ln()).abs() <= bound + 1e-6, "{obj}");
        }
    }
}

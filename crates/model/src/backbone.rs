//! CSPDarknet53 of YOLOv5 v7.0 (backbone of `models/yolov5s.yaml`), with the Light
//! YOLO-Basin option of depthwise separable 3×3 convs after the stem.

use burn::module::Module;
use burn::prelude::*;

use crate::blocks::{C3, Conv, Modules, Spatial, Sppf};
use crate::config::ModelConfig;
use crate::wiring::{self, BackboneParts, STAGES};

/// Channels (before width scaling) after the stem and after each of the four stages.
pub const BACKBONE_CHANNELS: [usize; 5] = [64, 128, 256, 512, 1024];
/// C3 repeats (before depth scaling) of the four stages.
pub const BACKBONE_REPEATS: [usize; STAGES] = [3, 6, 9, 3];

/// One downsampling stage: a stride-2 3×3 conv, then a C3 with shortcuts.
#[derive(Module, Debug)]
pub struct Stage {
    pub down: Spatial,
    pub c3: C3,
}

/// Stem (6×6 s2 p2), four stages, SPPF.
#[derive(Module, Debug)]
pub struct Backbone {
    pub stem: Conv,
    pub stages: [Stage; STAGES],
    pub sppf: Sppf,
}

/// Backbone feature maps at strides 8, 16 and 32.
pub struct Features {
    pub p3: Tensor<4>,
    pub p4: Tensor<4>,
    pub p5: Tensor<4>,
}

impl Backbone {
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let ch = BACKBONE_CHANNELS.map(|c| cfg.channels(c));
        let dw = cfg.variant.depthwise_backbone();
        let stem = Conv::with_padding(3, ch[0], 6, 2, 2, 1, device);
        let stages = std::array::from_fn(|i| Stage {
            down: Spatial::new(ch[i], ch[i + 1], 3, 2, dw, device),
            c3: C3::new(
                ch[i + 1],
                ch[i + 1],
                cfg.repeats(BACKBONE_REPEATS[i]),
                true,
                dw,
                device,
            ),
        });
        let sppf = Sppf::new(ch[4], ch[4], device);
        Self { stem, stages, sppf }
    }

    /// The blocks for [`wiring::backbone`].
    pub fn parts(&self) -> BackboneParts<'_, Modules> {
        BackboneParts {
            stem: &self.stem,
            stages: self.stages.each_ref().map(|s| wiring::Stage {
                down: &s.down,
                c3: &s.c3,
            }),
            sppf: &self.sppf,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Features {
        let Ok([p3, p4, p5]) = wiring::backbone(&mut Modules, &self.parts(), x);
        Features { p3, p4, p5 }
    }
}

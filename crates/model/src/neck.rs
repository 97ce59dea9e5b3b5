//! PANet neck of YOLOv5 v7.0 (its yaml head section, layers 10–23), with bilinear ×2
//! upsampling (paper Figure 4) instead of nearest: the blocks; their wiring is
//! [`crate::wiring::neck`].

use burn::module::Module;
use burn::prelude::*;

use crate::backbone::Features;
use crate::blocks::{C3, Conv, Modules, Spatial};
use crate::config::ModelConfig;
use crate::wiring::{self, NeckParts};

/// Top-down then bottom-up path aggregation.
#[derive(Module, Debug)]
pub struct Neck {
    /// 1×1 to 512·w on P5 (its output is also the P5 lateral of the bottom-up path).
    pub lat5: Conv,
    /// C3 over [up(lat5), P4] to 512·w, no shortcut.
    pub td4: C3,
    /// 1×1 to 256·w (also the P4 lateral of the bottom-up path).
    pub lat4: Conv,
    /// C3 over [up(lat4), P3] to 256·w: the P3 output.
    pub out3: C3,
    /// 3×3 stride-2 conv 256·w → 256·w.
    pub down3: Spatial,
    /// C3 over [down3, lat4] to 512·w: the P4 output.
    pub out4: C3,
    /// 3×3 stride-2 conv 512·w → 512·w.
    pub down4: Spatial,
    /// C3 over [down4, lat5] to 1024·w: the P5 output.
    pub out5: C3,
}

impl Neck {
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let [c256, c512, c1024] = [256, 512, 1024].map(|c| cfg.channels(c));
        let n = cfg.repeats(3);
        let dw = cfg.depthwise_neck;
        Self {
            lat5: Conv::new(c1024, c512, 1, 1, device),
            td4: C3::new(2 * c512, c512, n, false, dw, device),
            lat4: Conv::new(c512, c256, 1, 1, device),
            out3: C3::new(2 * c256, c256, n, false, dw, device),
            down3: Spatial::new(c256, c256, 3, 2, dw, device),
            out4: C3::new(2 * c256, c512, n, false, dw, device),
            down4: Spatial::new(c512, c512, 3, 2, dw, device),
            out5: C3::new(2 * c512, c1024, n, false, dw, device),
        }
    }

    /// Output widths (P3, P4, P5) for a config: what the head takes in.
    pub fn out_channels(cfg: &ModelConfig) -> [usize; 3] {
        [256, 512, 1024].map(|c| cfg.channels(c))
    }

    /// The blocks for [`wiring::neck`].
    pub fn parts(&self) -> NeckParts<'_, Modules> {
        NeckParts {
            lat5: &self.lat5,
            td4: &self.td4,
            lat4: &self.lat4,
            out3: &self.out3,
            down3: &self.down3,
            out4: &self.out4,
            down4: &self.down4,
            out5: &self.out5,
        }
    }

    pub fn forward(&self, f: Features) -> [Tensor<4>; 3] {
        let Ok(out) = wiring::neck(&mut Modules, &self.parts(), [f.p3, f.p4, f.p5]);
        out
    }
}

//! What network to build: variant, scale, input encoding, tile size and anchors.
//!
//! Everything here is plain data (serde) so it travels in the weights header and in the
//! trainer's manifests unchanged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// YOLOv5 v7.0's default anchors (w, h pairs in pixels) for strides 8, 16 and 32.
pub const DEFAULT_ANCHORS: [[f32; 6]; 3] = [
    [10.0, 13.0, 16.0, 30.0, 33.0, 23.0],
    [30.0, 61.0, 62.0, 45.0, 59.0, 119.0],
    [116.0, 90.0, 156.0, 198.0, 373.0, 326.0],
];

/// The output strides of the three detection levels (P3, P4, P5).
pub const STRIDES: [usize; 3] = [8, 16, 32];
/// The coarsest stride: network inputs must be a multiple of it on each side.
pub const MAX_STRIDE: usize = STRIDES[STRIDES.len() - 1];
/// Largest training tile a configuration may name (a crafted header's 2^33 overflowed the
/// sizes computed from it); scenes run larger windows through `detect --window`.
pub const MAX_TILE: usize = 8192;

/// Anchors per level in the anchor-based head.
pub const ANCHORS_PER_LEVEL: usize = 3;

/// Outputs per anchor of the YOLOv5 head for one class: x, y, w, h, objectness, class.
pub const YOLOV5_OUTPUTS: usize = 6;

/// Outputs per cell of the anchor-free head: tx, ty, tw, th, objectness.
pub const ANCHOR_FREE_OUTPUTS: usize = 5;

/// The three networks compared in the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// YOLOv5 v7.0: anchor-based, one coupled 1×1 output conv per level.
    Yolov5,
    /// Anchor-free with the double (regression + confidence) head.
    YoloBasin,
    /// `YoloBasin` with depthwise separable 3×3 convolutions in the backbone.
    LightYoloBasin,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Yolov5, Variant::YoloBasin, Variant::LightYoloBasin];

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Yolov5 => "yolov5",
            Variant::YoloBasin => "yolo-basin",
            Variant::LightYoloBasin => "light-yolo-basin",
        }
    }

    pub fn is_anchor_free(self) -> bool {
        !matches!(self, Variant::Yolov5)
    }

    /// Whether the backbone's 3×3 convolutions after the stem are depthwise separable.
    pub fn depthwise_backbone(self) -> bool {
        matches!(self, Variant::LightYoloBasin)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Variant {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ModelError::Parse {
                what: "variant",
                got: s.to_string(),
                expected: "yolov5, yolo-basin or light-yolo-basin",
            })
    }
}

/// Depth and width multiples (YOLOv5's n/s/m/l; the paper uses S, M and L).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scale {
    N,
    S,
    M,
    L,
}

impl Scale {
    pub const ALL: [Scale; 4] = [Scale::N, Scale::S, Scale::M, Scale::L];

    /// Multiple of the number of repeats in each C3 block.
    pub fn depth(self) -> f64 {
        match self {
            Scale::N | Scale::S => 0.33,
            Scale::M => 0.67,
            Scale::L => 1.0,
        }
    }

    /// Multiple of every channel count.
    pub fn width(self) -> f64 {
        match self {
            Scale::N => 0.25,
            Scale::S => 0.50,
            Scale::M => 0.75,
            Scale::L => 1.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scale::N => "n",
            Scale::S => "s",
            Scale::M => "m",
            Scale::L => "l",
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scale {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scale::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ModelError::Parse {
                what: "scale",
                got: s.to_string(),
                expected: "n, s, m or l",
            })
    }
}

/// How the three input channels were made; a model only works on the encoding it was
/// trained with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// cos φ, sin φ, coherence (1 where there is none) from a wrapped-phase raster.
    Phase,
    /// R, G, B / 255 from a picture (e.g. a rendered interferogram).
    Rgb,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Phase => "phase",
            InputKind::Rgb => "rgb",
        }
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InputKind {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [InputKind::Phase, InputKind::Rgb]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ModelError::Parse {
                what: "input kind",
                got: s.to_string(),
                expected: "phase or rgb",
            })
    }
}

/// Everything needed to build a [`crate::Detector`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub variant: Variant,
    pub scale: Scale,
    pub input: InputKind,
    /// Side of the square tiles the model is trained and run on (pixels, multiple of 32).
    pub tile: usize,
    /// Make the neck and head 3×3 convolutions depthwise separable too (beyond the paper;
    /// meant for the N scale).
    #[serde(default)]
    pub depthwise_neck: bool,
    /// Anchors (w, h pairs, pixels) per level for `Yolov5`; `None` means YOLOv5's defaults.
    #[serde(default)]
    pub anchors: Option<[[f32; 6]; 3]>,
}

impl ModelConfig {
    /// A config with the paper's defaults: phase input, 416-pixel tiles, default anchors.
    pub fn new(variant: Variant, scale: Scale) -> Self {
        Self {
            variant,
            scale,
            input: InputKind::Phase,
            tile: 416,
            depthwise_neck: false,
            anchors: None,
        }
    }

    pub fn with_input(mut self, input: InputKind) -> Self {
        self.input = input;
        self
    }

    pub fn with_tile(mut self, tile: usize) -> Self {
        self.tile = tile;
        self
    }

    pub fn with_depthwise_neck(mut self, on: bool) -> Self {
        self.depthwise_neck = on;
        self
    }

    pub fn with_anchors(mut self, anchors: [[f32; 6]; 3]) -> Self {
        self.anchors = Some(anchors);
        self
    }

    /// A short name such as `light-yolo-basin-s` (`+dwneck` when the neck is depthwise).
    pub fn name(&self) -> String {
        let dw = if self.depthwise_neck { "+dwneck" } else { "" };
        format!("{}-{}{}", self.variant, self.scale, dw)
    }

    /// Channel count after width scaling: ceil(c · width / 8) · 8, as YOLOv5's
    /// `make_divisible`.
    pub fn channels(&self, c: usize) -> usize {
        scaled_channels(c, self.scale.width())
    }

    /// Repeat count after depth scaling: max(round(n · depth), 1).
    pub fn repeats(&self, n: usize) -> usize {
        ((n as f64 * self.scale.depth()).round() as usize).max(1)
    }

    /// Anchors in use (the configured ones or YOLOv5's defaults).
    pub fn anchors(&self) -> [[f32; 6]; 3] {
        self.anchors.unwrap_or(DEFAULT_ANCHORS)
    }

    /// Raw output channels per level of the head.
    pub fn outputs_per_level(&self) -> usize {
        if self.variant.is_anchor_free() {
            ANCHOR_FREE_OUTPUTS
        } else {
            ANCHORS_PER_LEVEL * YOLOV5_OUTPUTS
        }
    }

    /// Checks the numbers a network can be built from.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.tile == 0 || !self.tile.is_multiple_of(MAX_STRIDE) || self.tile > MAX_TILE {
            return Err(ModelError::Config(format!(
                "tile size {} must be a positive multiple of {MAX_STRIDE} (the coarsest \
                 stride) up to {MAX_TILE}",
                self.tile
            )));
        }
        if let Some(a) = &self.anchors
            && a.iter().flatten().any(|v| !(v.is_finite() && *v > 0.0))
        {
            return Err(ModelError::Config(format!(
                "anchors must be finite and positive, got {a:?}"
            )));
        }
        Ok(())
    }
}

/// ceil(c · width / 8) · 8.
pub fn scaled_channels(c: usize, width: f64) -> usize {
    ((c as f64 * width / 8.0).ceil() as usize) * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_matches_yolov5_make_divisible() {
        // yolov5s: 64→32, 1024→512; yolov5n: 64→16, 1024→256; yolov5m: 64→48, 1024→768.
        let s = ModelConfig::new(Variant::Yolov5, Scale::S);
        assert_eq!((s.channels(64), s.channels(1024)), (32, 512));
        let n = ModelConfig::new(Variant::Yolov5, Scale::N);
        assert_eq!((n.channels(64), n.channels(1024)), (16, 256));
        let m = ModelConfig::new(Variant::Yolov5, Scale::M);
        assert_eq!((m.channels(64), m.channels(1024)), (48, 768));
        // repeats: s 3,6,9 → 1,2,3; m → 2,4,6; l unchanged.
        assert_eq!([3, 6, 9].map(|r| s.repeats(r)), [1, 2, 3]);
        assert_eq!([3, 6, 9].map(|r| m.repeats(r)), [2, 4, 6]);
        let l = ModelConfig::new(Variant::Yolov5, Scale::L);
        assert_eq!([3, 6, 9].map(|r| l.repeats(r)), [3, 6, 9]);
    }

    #[test]
    fn names_parse_back() {
        for v in Variant::ALL {
            assert_eq!(v.as_str().parse::<Variant>().ok(), Some(v));
        }
        for s in Scale::ALL {
            assert_eq!(s.as_str().to_uppercase().parse::<Scale>().ok(), Some(s));
        }
        assert!("yolov8".parse::<Variant>().is_err());
        assert_eq!("RGB".parse::<InputKind>().ok(), Some(InputKind::Rgb));
    }

    #[test]
    fn config_round_trips_through_json() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N)
            .with_tile(320)
            .with_input(InputKind::Rgb)
            .with_depthwise_neck(true);
        let json = serde_json::to_string(&cfg).expect("serialise");
        assert!(json.contains("\"light-yolo-basin\""));
        let back: ModelConfig = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, cfg);
    }

    #[test]
    fn validate_refuses_bad_tiles_and_anchors() {
        let cfg = ModelConfig::new(Variant::YoloBasin, Scale::S);
        assert!(cfg.validate().is_ok());
        assert!(cfg.clone().with_tile(100).validate().is_err());
        assert!(cfg.clone().with_tile(1 << 33).validate().is_err());
        assert!(cfg.clone().with_tile(MAX_TILE).validate().is_ok());
        let mut bad = DEFAULT_ANCHORS;
        bad[1][3] = -1.0;
        assert!(cfg.with_anchors(bad).validate().is_err());
    }
}

//! The detection networks of Light YOLO-Basin (2022) and its baselines, on burn.
//!
//! - [`config`]: variant (YOLOv5, YOLO-Basin, Light YOLO-Basin), scale (N/S/M/L), input kind.
//! - [`blocks`], [`backbone`], [`neck`], [`head`], [`detector`]: the network as burn modules.
//! - [`wiring`]: which block feeds which, written once for the burn modules, the fast path
//!   and the analytic count.
//! - [`decode`]: raw head maps → boxes (differentiable, and a host twin for the fast path).
//! - [`weights`]: safetensors weights with a JSON header; loading checks every tensor.
//! - [`input`]: the three-channel encodings (phase: cos, sin, coherence; pictures: RGB/255).
//! - [`report`]: layers, parameters and GFLOPs counted analytically (paper Table 3).
//! - [`inference`]: tiles → detections (decode, score threshold, NMS).
//! - [`anchors`]: k-means anchors for the YOLOv5 baseline.
//! - [`device`]: `--device cpu|cuda|wgpu`; [`draw`]: boxes on pictures.
//! - [`fused`]: the fused Conv + BatchNorm + SiLU training op on Flex (autodiff-aware).

pub mod anchors;
pub mod backbone;
pub mod blocks;
pub mod config;
pub mod decode;
pub mod detector;
pub mod device;
pub mod draw;
pub mod error;
pub mod fast;
pub mod fused;
pub mod head;
pub mod inference;
pub mod input;
pub mod neck;
pub mod report;
pub mod weights;
pub mod wiring;

pub use config::{InputKind, ModelConfig, Scale, Variant};
pub use decode::{Decoded, LevelRaw, decode, decode_host};
pub use detector::Detector;
pub use error::ModelError;
pub use head::{HeadOutput, LevelOutput};
pub use inference::{PredictParams, Predictor};
pub use weights::{Calibration, WeightsHeader, load_weights, save_weights};

/// The burn device type, re-exported so callers need not name burn.
pub use burn::prelude::Device;

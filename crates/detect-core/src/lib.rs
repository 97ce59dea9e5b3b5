//! detect-core: everything about boxes that needs no neural network.
//!
//! - [`bbox`]: boxes in pixel coordinates and scored detections;
//! - [`labels`]: YOLO txt, Pascal VOC XML (LabelImg layout), COCO JSON;

pub mod bbox;
pub mod labels;

pub use bbox::{BBox, Detection};
pub mod eval;
pub mod iou;
pub mod nms;
pub mod plot;
pub mod tiling;

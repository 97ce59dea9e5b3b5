//! detect-core: everything about boxes that needs no neural network.
//!
//! - [`bbox`]: boxes in pixel coordinates (x1, y1, x2, y2; width = x2 − x1) and detections;
//! - [`iou`]: IoU, GIoU, DIoU, CIoU, IoS;
//! - [`nms`]: greedy NMS and SAHI-style greedy merging of partial boxes;
//! - [`labels`]: YOLO txt, Pascal VOC XML (LabelImg layout), COCO JSON, label folders;
//! - [`eval`]: pycocotools' COCOeval (bbox) reproduced to 1e-6, plus operating points;
//! - [`plot`]: precision–recall curves as PNG;
//! - [`rescore`]: a second look at each box (phase measures around it, a fitted logistic model);
//! - [`tiling`]: tile plans, strip-wise streaming of large scenes, stitching;
//! - [`tracks`]: basins linked across interferometric pairs (footprint overlap → tracks);
//! - [`output`]: GeoJSON / CSV / COCO results of scene detections.

pub mod bbox;
pub mod deformation;
pub mod eval;
pub mod iou;
pub mod labels;
pub mod nms;
pub mod output;
pub mod plot;
pub mod quicklook;
pub mod rescore;
pub mod tiling;
pub mod tracks;

pub use bbox::{BBox, Detection};

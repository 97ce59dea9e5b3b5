//! Label formats: YOLO txt, Pascal VOC XML (as LabelImg writes it), COCO JSON.
//!
//! All readers turn file content into [`ImageLabels`] (pixel boxes, see [`crate::bbox`]) or
//! [`coco::CocoDataset`]; all errors name the file, the line or field, and what was expected.

pub mod classes;
pub mod coco;
pub mod dir;
pub mod voc;
pub mod yolo;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::bbox::BBox;

pub use classes::{
    BASIN_NAMES, Ignored, basin_class, coco_basin_only, coco_results_for_basin, default_names,
    is_basin_name,
};
pub use coco::{
    CocoAnnotation, CocoCategory, CocoDataset, CocoImage, CocoResult, read_coco_dataset,
    read_coco_results, write_coco_dataset, write_coco_results,
};
pub use dir::{
    CLASS_LIST, LabelFormat, SizeSource, dataset_from_dir, image_size, read_class_list,
    read_label_dir,
};
pub use voc::{VocMeta, format_voc_xml, parse_voc_xml, read_voc_xml, write_voc_xml};
pub use yolo::{format_yolo_txt, parse_yolo_txt, read_yolo_txt, write_yolo_txt};

/// One labelled object. `extra` carries fields a format has beyond the box and class
/// (COCO annotation fields, VOC `truncated`/`difficult`), so that they survive a round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledBox {
    pub bbox: BBox,
    pub class_id: usize,
    pub extra: Map<String, Value>,
}

impl LabeledBox {
    pub fn new(bbox: BBox, class_id: usize) -> Self {
        Self {
            bbox,
            class_id,
            extra: Map::new(),
        }
    }
}

/// The labels of one picture.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLabels {
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    pub boxes: Vec<LabeledBox>,
}

/// What went wrong reading or writing labels, and where.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}, line {line}: {msg}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{}: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
    #[error("{}: not the expected COCO JSON: {cause}", path.display())]
    Json {
        path: PathBuf,
        cause: serde_json::Error,
    },
}

impl LabelError {
    pub(crate) fn io(path: &Path, cause: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn line(path: &Path, line: usize, msg: impl Into<String>) -> Self {
        Self::Line {
            path: path.to_path_buf(),
            line,
            msg: msg.into(),
        }
    }

    pub(crate) fn invalid(path: &Path, msg: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
}

pub(crate) fn read_text(path: &Path) -> Result<String, LabelError> {
    std::fs::read_to_string(path).map_err(|e| LabelError::io(path, e))
}

pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), LabelError> {
    raster::atomic::write(path, text).map_err(|e| LabelError::io(path, e))
}

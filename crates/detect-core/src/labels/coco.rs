//! COCO object-detection JSON: the data set (`images`, `annotations`, `categories`) and the
//! results list (`[{image_id, category_id, bbox, score}]`) that COCOeval reads.
//!
//! Fields this crate does not use are kept (`extra`, via `#[serde(flatten)]`) so a data set
//! read and written again loses nothing. Category ids are `class_id + 1`: COCO starts at 1
//! and many tools take 0 for background.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{ImageLabels, LabelError, LabeledBox, read_text, write_text};
use crate::bbox::BBox;

/// The single category of basin detection (id 1).
pub fn basin_category() -> CocoCategory {
    CocoCategory {
        id: category_id_of(0),
        name: "subsidence_basin".into(),
        supercategory: None,
        extra: Default::default(),
    }
}

/// The COCO category id of a class index.
pub fn category_id_of(class_id: usize) -> u64 {
    class_id as u64 + 1
}

/// The class index of a COCO category id (`None` for id 0, which no class has).
pub fn class_id_of(category_id: u64) -> Option<usize> {
    category_id.checked_sub(1).map(|c| c as usize)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoDataset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Value>,
    pub images: Vec<CocoImage>,
    #[serde(default)]
    pub annotations: Vec<CocoAnnotation>,
    pub categories: Vec<CocoCategory>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoAnnotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: u64,
    /// `[x, y, w, h]`, pixels, top-left corner.
    pub bbox: [f64; 4],
    /// COCOeval takes a ground-truth object's size class from this field, not from the box.
    pub area: f64,
    #[serde(default, deserialize_with = "int_or_bool")]
    pub iscrowd: u8,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoCategory {
    pub id: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supercategory: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One detection as COCO results files list them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CocoResult {
    pub image_id: u64,
    pub category_id: u64,
    /// `[x, y, w, h]`, pixels.
    pub bbox: [f64; 4],
    pub score: f64,
}

fn int_or_bool<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Int(u8),
        Bool(bool),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Int(v) => v,
        Flag::Bool(b) => u8::from(b),
    })
}

impl CocoDataset {
    /// A data set of `images` with ids 1, 2, … in the given order; annotation ids count
    /// from 1 too; `area` is the box area, `iscrowd` 0 unless a box's `extra` says otherwise.
    pub fn from_labels(images: &[ImageLabels], class_names: &[String]) -> Self {
        let mut annotations = Vec::new();
        let coco_images = images
            .iter()
            .enumerate()
            .map(|(i, img)| {
                let image_id = i as u64 + 1;
                for b in &img.boxes {
                    annotations.push(annotation_of(b, annotations.len() as u64 + 1, image_id));
                }
                CocoImage {
                    id: image_id,
                    file_name: img.file_name.clone(),
                    width: img.width,
                    height: img.height,
                    extra: Map::new(),
                }
            })
            .collect();
        let categories = class_names
            .iter()
            .enumerate()
            .map(|(k, name)| CocoCategory {
                id: category_id_of(k),
                name: name.clone(),
                supercategory: None,
                extra: Map::new(),
            })
            .collect();
        Self {
            info: None,
            images: coco_images,
            annotations,
            categories,
            extra: Map::new(),
        }
    }

    /// The labels of each image, in the order of `images`.
    pub fn to_labels(&self) -> Vec<ImageLabels> {
        let mut by_image: HashMap<u64, Vec<LabeledBox>> = HashMap::new();
        for a in &self.annotations {
            let mut extra = a.extra.clone();
            if a.iscrowd != 0 {
                extra.insert("iscrowd".into(), Value::from(a.iscrowd));
            }
            let b = LabeledBox {
                bbox: BBox::from_xywh(a.bbox),
                class_id: class_id_of(a.category_id).unwrap_or(0),
                extra,
            };
            by_image.entry(a.image_id).or_default().push(b);
        }
        self.images
            .iter()
            .map(|img| ImageLabels {
                file_name: img.file_name.clone(),
                width: img.width,
                height: img.height,
                boxes: by_image.remove(&img.id).unwrap_or_default(),
            })
            .collect()
    }

    /// Checks ids and boxes; `path` names the file in errors.
    pub fn validate(&self, path: &Path) -> Result<(), LabelError> {
        let mut image_ids = HashSet::new();
        for (i, img) in self.images.iter().enumerate() {
            if !image_ids.insert(img.id) {
                return Err(LabelError::invalid(
                    path,
                    format!("images[{i}]: id {} appears twice", img.id),
                ));
            }
        }
        let cat_ids: HashSet<u64> = self.categories.iter().map(|c| c.id).collect();
        // pycocotools looks annotations up by id: a repeated id would silently stand for
        // the last one of them.
        let mut ann_ids = HashSet::new();
        for (i, a) in self.annotations.iter().enumerate() {
            let at = format!("annotations[{i}] (id {})", a.id);
            if !ann_ids.insert(a.id) {
                return Err(LabelError::invalid(
                    path,
                    format!("{at}: the id appears twice"),
                ));
            }
            if !image_ids.contains(&a.image_id) {
                return Err(LabelError::invalid(
                    path,
                    format!("{at}: image_id {} is not in `images`", a.image_id),
                ));
            }
            if !cat_ids.contains(&a.category_id) {
                return Err(LabelError::invalid(
                    path,
                    format!("{at}: category_id {} is not in `categories`", a.category_id),
                ));
            }
            check_xywh(&a.bbox).map_err(|m| LabelError::invalid(path, format!("{at}: {m}")))?;
            if !a.area.is_finite() || a.area < 0.0 {
                return Err(LabelError::invalid(
                    path,
                    format!("{at}: area {} must be a non-negative number", a.area),
                ));
            }
        }
        Ok(())
    }
}

fn annotation_of(b: &LabeledBox, id: u64, image_id: u64) -> CocoAnnotation {
    let mut extra = b.extra.clone();
    let iscrowd = extra
        .remove("iscrowd")
        .and_then(|v| v.as_u64().or_else(|| v.as_bool().map(u64::from)))
        .map_or(0, |v| u8::from(v != 0));
    CocoAnnotation {
        id,
        image_id,
        category_id: category_id_of(b.class_id),
        bbox: b.bbox.to_xywh(),
        area: b.bbox.area(),
        iscrowd,
        extra,
    }
}

fn check_xywh(bbox: &[f64; 4]) -> Result<(), String> {
    if bbox.iter().any(|v| !v.is_finite()) {
        return Err(format!("bbox {bbox:?} has a non-finite value"));
    }
    if bbox[2] < 0.0 || bbox[3] < 0.0 {
        return Err(format!(
            "bbox {bbox:?} has a negative width or height (expected [x, y, w, h])"
        ));
    }
    Ok(())
}

/// Reads and validates a COCO data set.
pub fn read_coco_dataset(path: &Path) -> Result<CocoDataset, LabelError> {
    let text = read_text(path)?;
    let ds: CocoDataset = serde_json::from_str(&text).map_err(|cause| LabelError::Json {
        path: path.to_path_buf(),
        cause,
    })?;
    ds.validate(path)?;
    Ok(ds)
}

/// Writes a COCO data set (pretty-printed JSON).
pub fn write_coco_dataset(path: &Path, ds: &CocoDataset) -> Result<(), LabelError> {
    write_json(path, ds)
}

/// Reads a COCO results list. With `gt`, every `image_id` must be one of its images
/// (as pycocotools' `loadRes` demands).
pub fn read_coco_results(
    path: &Path,
    gt: Option<&CocoDataset>,
) -> Result<Vec<CocoResult>, LabelError> {
    let text = read_text(path)?;
    let results: Vec<CocoResult> =
        serde_json::from_str(&text).map_err(|cause| LabelError::Json {
            path: path.to_path_buf(),
            cause,
        })?;
    check_results(&results, gt).map_err(|m| LabelError::invalid(path, m))?;
    Ok(results)
}

/// Checks results for finite boxes and scores and, with `gt`, known image ids.
pub fn check_results(results: &[CocoResult], gt: Option<&CocoDataset>) -> Result<(), String> {
    let known: Option<HashSet<u64>> = gt.map(|g| g.images.iter().map(|i| i.id).collect());
    for (k, r) in results.iter().enumerate() {
        check_xywh(&r.bbox).map_err(|m| format!("detection #{k}: {m}"))?;
        if !r.score.is_finite() {
            return Err(format!(
                "detection #{k}: score {} is not a finite number",
                r.score
            ));
        }
        if let Some(ids) = &known
            && !ids.contains(&r.image_id)
        {
            return Err(format!(
                "detection #{k}: image_id {} is not an image of the ground truth",
                r.image_id
            ));
        }
    }
    Ok(())
}

/// Writes a COCO results list.
pub fn write_coco_results(path: &Path, results: &[CocoResult]) -> Result<(), LabelError> {
    write_json(path, &results)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), LabelError> {
    let text = serde_json::to_string_pretty(value).map_err(|cause| LabelError::Json {
        path: path.to_path_buf(),
        cause,
    })?;
    write_text(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GT: &str = r#"{
        "info": {"description": "t"},
        "licenses": [{"id": 1, "name": "x"}],
        "images": [{"id": 7, "file_name": "a.png", "width": 416, "height": 416, "date_captured": "2021"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 20, 30, 40],
                          "area": 1200, "iscrowd": 0, "segmentation": [], "depth_cm": 12.5}],
        "categories": [{"id": 1, "name": "basin", "supercategory": "deformation"}]
    }"#;

    fn parse(text: &str) -> Result<CocoDataset, LabelError> {
        let p = Path::new("gt.json");
        let ds: CocoDataset = serde_json::from_str(text).map_err(|cause| LabelError::Json {
            path: p.to_path_buf(),
            cause,
        })?;
        ds.validate(p)?;
        Ok(ds)
    }

    #[test]
    fn extra_fields_survive_a_round_trip() {
        let ds = parse(GT).unwrap();
        assert_eq!(ds.annotations[0].extra["depth_cm"], Value::from(12.5));
        assert_eq!(ds.images[0].extra["date_captured"], Value::from("2021"));
        assert!(ds.extra.contains_key("licenses"));
        let again: CocoDataset =
            serde_json::from_str(&serde_json::to_string(&ds).unwrap()).unwrap();
        assert_eq!(again, ds);
    }

    #[test]
    fn missing_field_is_named() {
        let text = GT.replace("\"area\": 1200,", "");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("gt.json") && err.contains("missing field `area`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_image_and_negative_width_are_errors() {
        let err = parse(&GT.replace("\"image_id\": 7", "\"image_id\": 8")).unwrap_err();
        assert!(
            err.to_string().contains("image_id 8 is not in `images`"),
            "{err}"
        );
        let err = parse(&GT.replace("[10, 20, 30, 40]", "[10, 20, -30, 40]")).unwrap_err();
        assert!(err.to_string().contains("negative width"), "{err}");
    }

    #[test]
    fn repeated_annotation_id_is_an_error() {
        let mut ds = parse(GT).unwrap();
        ds.annotations.push(ds.annotations[0].clone());
        let err = ds.validate(Path::new("gt.json")).unwrap_err();
        assert!(
            err.to_string()
                .contains("annotations[1] (id 1): the id appears twice"),
            "{err}"
        );
    }

    #[test]
    fn iscrowd_accepts_bool() {
        let ds = parse(&GT.replace("\"iscrowd\": 0", "\"iscrowd\": true")).unwrap();
        assert_eq!(ds.annotations[0].iscrowd, 1);
    }

    #[test]
    fn labels_round_trip() {
        let imgs = vec![ImageLabels {
            file_name: "a.png".into(),
            width: 100,
            height: 50,
            boxes: vec![LabeledBox::new(BBox::new(1.0, 2.0, 11.0, 22.0), 1)],
        }];
        let ds = CocoDataset::from_labels(&imgs, &["a".into(), "b".into()]);
        assert_eq!(ds.annotations[0].bbox, [1.0, 2.0, 10.0, 20.0]);
        assert_eq!(ds.annotations[0].area, 200.0);
        assert_eq!(ds.annotations[0].category_id, 2);
        assert_eq!(ds.to_labels(), imgs);
    }

    #[test]
    fn results_with_unknown_image_are_rejected() {
        let ds = parse(GT).unwrap();
        let r = [CocoResult {
            image_id: 3,
            category_id: 1,
            bbox: [0.0, 0.0, 1.0, 1.0],
            score: 0.5,
        }];
        let err = check_results(&r, Some(&ds)).unwrap_err();
        assert!(err.contains("detection #0: image_id 3"), "{err}");
    }
}

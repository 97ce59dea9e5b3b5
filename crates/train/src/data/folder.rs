//! The folder layouts: the simulator's (`images/`, `coherence/`, `labels/`,
//! `annotations.json`, `splits/`) and users' (images with YOLO txt, VOC XML or a COCO JSON
//! beside them, or in `labels/` / `Annotations/`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use detect_core::labels::{self, CocoDataset};

use super::DataError;
use super::dataset::{Entry, Split, input_kind_of};
use super::labels::{NameTables, RawBox, RawLabels};

/// Every n-th image goes to validation when a data set names no splits.
const HOLDOUT_EVERY: usize = 10;

/// The images of `split` in the folder `root` with their labels as read; the images'
/// folder is `root/images` or `root` itself.
pub fn entries(
    root: &Path,
    split: Split,
    tables: &mut NameTables,
) -> Result<Vec<Entry>, DataError> {
    let images_dir = if root.join("images").is_dir() {
        root.join("images")
    } else {
        root.to_path_buf()
    };
    let images = list_images(&images_dir)?;
    if images.is_empty() {
        return Err(DataError::invalid(
            &images_dir,
            "no images (.tif, .tiff, .png, .jpg, .jpeg) found",
        ));
    }
    let coco = find_coco(root, &images_dir)
        .map(|p| coco_index(&p, tables))
        .transpose()?;
    let listed = split_list(root, split)?;
    let mut out = Vec::new();
    for (pos, image) in images.iter().enumerate() {
        let stem = stem_of(image);
        let in_split = match (&listed, &coco) {
            (Some(set), _) => set.contains(&stem),
            (None, Some(idx)) if !idx.split.is_empty() => {
                idx.split.get(&stem).map(String::as_str) == Some(split.as_str())
            }
            _ => {
                holdout_split(pos) == split
                    || (split == Split::Test && holdout_split(pos) == Split::Val)
            }
        };
        if !in_split {
            continue;
        }
        let (width, height) = labels::image_size(image)?;
        let raw = match &coco {
            Some(idx) => idx.labels(&stem),
            None => file_labels(root, &images_dir, &stem, (width, height), tables)?,
        };
        let coherence = [
            root.join("coherence").join(format!("{stem}.tif")),
            root.join("coherence").join(format!("{stem}.tiff")),
        ]
        .into_iter()
        .find(|p| p.is_file());
        out.push(Entry {
            image: image.clone(),
            coherence,
            width,
            height,
            raw,
        });
    }
    Ok(out)
}

pub(super) fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn list_images(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_file() && input_kind_of(&path).is_some() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Where a label format keeps the file for `stem`, if it exists.
fn find_label(root: &Path, images: &Path, stem: &str, ext: &str) -> Option<PathBuf> {
    let mut dirs = vec![root.join("labels"), images.to_path_buf()];
    if ext == "xml" {
        dirs.insert(1, root.join("Annotations"));
    }
    dirs.into_iter()
        .map(|d| d.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

/// The YOLO or VOC labels of `stem`, or background when it has no label file.
fn file_labels(
    root: &Path,
    images: &Path,
    stem: &str,
    (width, height): (u32, u32),
    tables: &mut NameTables,
) -> Result<RawLabels, DataError> {
    if let Some(txt) = find_label(root, images, stem, "txt") {
        let dir = txt.parent().unwrap_or(root);
        let table = tables.yolo_dir(dir)?;
        let boxes = labels::read_yolo_txt(&txt, width, height)?;
        return Ok(RawLabels::from_file(txt, table, &boxes));
    }
    // All VOC files share one table: the names they use, in the order met.
    let table = tables.met(root);
    match find_label(root, images, stem, "xml") {
        Some(xml) => {
            let mut none = Vec::new();
            let names = tables.names_mut(table).unwrap_or(&mut none);
            let boxes = labels::read_voc_xml(&xml, names, true)?.boxes;
            Ok(RawLabels::from_file(xml, table, &boxes))
        }
        None => Ok(RawLabels::background(table)),
    }
}

fn find_coco(root: &Path, images: &Path) -> Option<PathBuf> {
    [
        root.join("annotations.json"),
        images.join("annotations.json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Boxes of each image of a COCO file, keyed by file name (without folders).
struct CocoIndex {
    path: PathBuf,
    table: usize,
    boxes: HashMap<String, Vec<RawBox>>,
    split: HashMap<String, String>,
}

impl CocoIndex {
    fn labels(&self, stem: &str) -> RawLabels {
        match self.boxes.get(stem) {
            Some(b) => RawLabels {
                source: Some(self.path.clone()),
                table: self.table,
                boxes: b.clone(),
            },
            None => RawLabels::background(self.table),
        }
    }
}

fn coco_index(path: &Path, tables: &mut NameTables) -> Result<CocoIndex, DataError> {
    let ds: CocoDataset = labels::read_coco_dataset(path)?;
    // Classes are the categories' positions; their ids may be anything.
    let class_of: HashMap<u64, usize> = ds
        .categories
        .iter()
        .enumerate()
        .map(|(k, c)| (c.id, k))
        .collect();
    let names = ds.categories.iter().map(|c| c.name.clone()).collect();
    let table = tables.listed(path, names);
    let mut by_id = HashMap::new();
    let mut boxes = HashMap::new();
    let mut split = HashMap::new();
    for img in &ds.images {
        let name = stem_of(Path::new(&img.file_name));
        by_id.insert(img.id, name.clone());
        boxes.insert(name.clone(), Vec::new());
        if let Some(s) = img.extra.get("split").and_then(|v| v.as_str()) {
            split.insert(name, s.to_string());
        }
    }
    for a in &ds.annotations {
        let at = |msg: String| DataError::invalid(path, format!("annotation {}: {msg}", a.id));
        let name = by_id
            .get(&a.image_id)
            .ok_or_else(|| at(format!("names unknown image {}", a.image_id)))?;
        let class = *class_of
            .get(&a.category_id)
            .ok_or_else(|| at(format!("names unknown category {}", a.category_id)))?;
        let [x, y, w, h] = a.bbox.map(|v| v as f32);
        if let Some(list) = boxes.get_mut(name) {
            list.push(RawBox {
                bbox: [x, y, x + w, y + h],
                class,
                crowd: a.iscrowd != 0,
            });
        }
    }
    Ok(CocoIndex {
        path: path.to_path_buf(),
        table,
        boxes,
        split,
    })
}

/// Stems listed in `splits/<split>.txt` (one name or path per line), if that file exists.
fn split_list(root: &Path, split: Split) -> Result<Option<HashSet<String>>, DataError> {
    let path = root.join("splits").join(format!("{}.txt", split.as_str()));
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
    Ok(Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| stem_of(Path::new(l)))
            .collect(),
    ))
}

/// The split of the image at sorted position `pos` when none is named: every tenth image
/// is held out for validation (and doubles as the test split).
fn holdout_split(pos: usize) -> Split {
    if pos % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 {
        Split::Val
    } else {
        Split::Train
    }
}

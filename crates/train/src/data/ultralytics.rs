//! The Ultralytics data layout: a `data.yaml` naming the splits and the classes, images in
//! `images/<split>/`, YOLO labels in `labels/<split>/`.
//!
//! Read as Ultralytics reads it (`check_det_dataset`, `img2label_paths`):
//! - `path` is the data set root; without it, the yaml's folder. A relative `path` is taken
//!   from the yaml's folder, else (as Ultralytics does) from the working directory.
//! - `train`, `val` (or `validation`) and `test` are each a folder, a `.txt` list of image
//!   paths, or a list of those, relative to the root; a value starting `../` that does not
//!   exist there is tried without it (Roboflow exports write `../train/images`).
//!   Folders are searched recursively; list lines starting `./` (or any relative line) are
//!   relative to the list's folder. Images are taken in sorted path order.
//! - `names` is a list or an `{index: name}` map; `nc`, if given, must equal its length;
//!   without `names`, classes are `class_0 … class_{nc-1}`.
//! - An image's label is the image path with its last `images` folder replaced by
//!   `labels` and the extension by `.txt`; an image without one is background.
//!   Coherence rasters, when there are any, sit the same way under `coherence`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use detect_core::labels::{self, CocoDataset, ImageLabels};
use serde_norway::Value;

use super::DataError;
use super::dataset::{Entry, Split, input_kind_of};
use super::labels::{NameTables, RawLabels};

/// File names that make a folder an Ultralytics data set.
pub const DATA_YAML_NAMES: [&str; 2] = ["data.yaml", "data.yml"];

/// Picture formats Ultralytics trains on that this tool cannot read: refused by name rather
/// than silently left out of a split.
const UNREADABLE_IMAGES: [&str; 6] = ["bmp", "webp", "dng", "mpo", "pfm", "heic"];

/// A `data.yaml`, with its paths resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct DataYaml {
    /// The yaml file itself.
    pub file: PathBuf,
    /// The data set root (`path`).
    pub root: PathBuf,
    /// Class names in class-id order.
    pub names: Vec<String>,
    splits: BTreeMap<&'static str, Vec<PathBuf>>,
}

/// The data.yaml that `data` is or holds, if any: a `.yaml`/`.yml` file, or a folder with
/// a `data.yaml`/`data.yml` in it.
pub fn data_yaml_of(data: &Path) -> Option<PathBuf> {
    if data.is_file() {
        let ext = data
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        return matches!(ext.as_deref(), Some("yaml" | "yml")).then(|| data.to_path_buf());
    }
    DATA_YAML_NAMES
        .iter()
        .map(|n| data.join(n))
        .find(|p| p.is_file())
}

/// Reads and resolves a data.yaml.
pub fn read_data_yaml(file: &Path) -> Result<DataYaml, DataError> {
    let text = std::fs::read_to_string(file).map_err(|e| DataError::io(file, e))?;
    let doc: Value = serde_norway::from_str(&text)
        .map_err(|e| DataError::invalid(file, format!("not valid YAML: {e}")))?;
    let Value::Mapping(map) = &doc else {
        return Err(DataError::invalid(
            file,
            "expected a mapping with keys path, train, val, names",
        ));
    };
    let get = |key: &str| map.get(key).filter(|v| !v.is_null());
    let bad = |msg: String| DataError::invalid(file, msg);
    let root = dataset_root(
        file,
        get("path")
            .map(|v| scalar(v, "path"))
            .transpose()
            .map_err(bad)?,
    );
    let names = class_names(get("names"), get("nc")).map_err(bad)?;
    let mut splits = BTreeMap::new();
    for (key, alias) in [("train", None), ("val", Some("validation")), ("test", None)] {
        let value = get(key).or_else(|| alias.and_then(get));
        let Some(value) = value else { continue };
        let sources = source_list(value, key).map_err(bad)?;
        let paths = sources.iter().map(|s| resolve_source(&root, s)).collect();
        splits.insert(key, paths);
    }
    if !splits.contains_key("train") && !splits.contains_key("val") {
        return Err(DataError::invalid(
            file,
            "names neither `train` nor `val`: expected e.g. `train: images/train` and `val: images/val`",
        ));
    }
    Ok(DataYaml {
        file: file.to_path_buf(),
        root,
        names,
        splits,
    })
}

impl DataYaml {
    /// The images of `split` in sorted path order (none when the yaml does not name it).
    pub fn images(&self, split: Split) -> Result<Vec<PathBuf>, DataError> {
        let Some(sources) = self.splits.get(split.as_str()) else {
            return Ok(Vec::new());
        };
        let mut images = Vec::new();
        for src in sources {
            let found = images_of_source(src, &self.file, split)?;
            if found.is_empty() {
                return Err(DataError::invalid(
                    &self.file,
                    format!(
                        "{}: no images (.tif, .tiff, .png, .jpg, .jpeg) in {}",
                        split.as_str(),
                        src.display()
                    ),
                ));
            }
            images.extend(found);
        }
        images.sort();
        images.dedup();
        Ok(images)
    }
}

/// The images of `split` named by the data.yaml `file`, with their labels as read (an
/// image without a label file is background).
pub(crate) fn entries(
    file: &Path,
    split: Split,
    tables: &mut NameTables,
) -> Result<Vec<Entry>, DataError> {
    let data = read_data_yaml(file)?;
    let table = tables.listed(file, data.names.clone());
    let mut out = Vec::new();
    for image in data.images(split)? {
        let (width, height) = labels::image_size(&image)?;
        let label = label_path(&image);
        let raw = if label.is_file() {
            let boxes = labels::read_yolo_txt(&label, width, height)?;
            RawLabels::from_file(label, table, &boxes)
        } else {
            RawLabels::background(table)
        };
        let coherence = coherence_candidates(&image)
            .into_iter()
            .find(|p| p.is_file());
        out.push(Entry {
            image,
            coherence,
            width,
            height,
            raw,
        });
    }
    Ok(out)
}

/// The labels of `split` as a COCO data set (for `eval`): image ids 1, 2, … in sorted path
/// order, as `predict` numbers the pictures of a folder; categories are the yaml's names.
/// An image without a label file has no boxes.
pub fn coco_ground_truth(file: &Path, split: Split) -> Result<CocoDataset, DataError> {
    let data = read_data_yaml(file)?;
    let images = data.images(split)?;
    if images.is_empty() {
        return Err(DataError::invalid(
            file,
            format!("names no {} split", split.as_str()),
        ));
    }
    let mut labelled = Vec::with_capacity(images.len());
    for image in &images {
        let (width, height) = labels::image_size(image)?;
        let label = label_path(image);
        let boxes = if label.is_file() {
            labels::read_yolo_txt(&label, width, height)?
        } else {
            Vec::new()
        };
        if let Some(b) = boxes.iter().find(|b| b.class_id >= data.names.len()) {
            return Err(DataError::invalid(
                &label,
                format!(
                    "class {} but {} names {} classes",
                    b.class_id,
                    file.display(),
                    data.names.len()
                ),
            ));
        }
        let name = image.strip_prefix(&data.root).unwrap_or(image);
        labelled.push(ImageLabels {
            file_name: name.to_string_lossy().into_owned(),
            width,
            height,
            boxes,
        });
    }
    Ok(CocoDataset::from_labels(&labelled, &data.names))
}

/// The YOLO label file of `image`: its last `images` folder becomes `labels`, its
/// extension `.txt`; beside the image when no folder is called `images`.
pub fn label_path(image: &Path) -> PathBuf {
    sibling_tree(image, "labels").with_extension("txt")
}

/// Coherence rasters of `image` (`.tif`, then `.tiff`), laid out as its label is.
pub fn coherence_candidates(image: &Path) -> [PathBuf; 2] {
    let p = sibling_tree(image, "coherence");
    [p.with_extension("tif"), p.with_extension("tiff")]
}

/// `image` with the last folder component named `images` replaced by `tree`.
fn sibling_tree(image: &Path, tree: &str) -> PathBuf {
    let parts: Vec<Component<'_>> = image.components().collect();
    // The file name itself never counts, as in Ultralytics' "/images/" split.
    let folders = parts.len().saturating_sub(1);
    let Some(at) = (0..folders)
        .rev()
        .find(|&i| parts[i].as_os_str() == "images")
    else {
        return image.to_path_buf();
    };
    parts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == at {
                Path::new(tree).as_os_str()
            } else {
                c.as_os_str()
            }
        })
        .collect()
}

fn scalar(v: &Value, key: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("`{key}`: expected a text value")),
    }
}

fn dataset_root(file: &Path, path: Option<String>) -> PathBuf {
    let yaml_dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match path.filter(|p| !p.trim().is_empty()) {
        None => yaml_dir.to_path_buf(),
        Some(p) => {
            let p = PathBuf::from(p.trim());
            if p.is_absolute() {
                return p;
            }
            let beside = clean(&yaml_dir.join(&p));
            if beside.exists() || !p.exists() {
                beside
            } else {
                p
            }
        }
    }
}

/// Class names from `names` (a list or an `{index: name}` map) and `nc`.
fn class_names(names: Option<&Value>, nc: Option<&Value>) -> Result<Vec<String>, String> {
    let nc = nc
        .map(|v| {
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| format!("`nc`: expected a class count, found {v:?}"))
        })
        .transpose()?;
    let names = match names {
        None => {
            let n = nc.ok_or("neither `names` nor `nc` is given: list the class names")?;
            return Ok((0..n).map(|k| format!("class_{k}")).collect());
        }
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .map(|(k, v)| scalar(v, &format!("names[{k}]")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Mapping(map)) => names_from_map(map)?,
        Some(other) => {
            return Err(format!(
                "`names`: expected a list or an {{index: name}} map, found {other:?}"
            ));
        }
    };
    if let Some(n) = nc.filter(|&n| n != names.len()) {
        return Err(format!(
            "`nc: {n}` but `names` has {} classes: they must match",
            names.len()
        ));
    }
    Ok(names)
}

fn names_from_map(map: &serde_norway::Mapping) -> Result<Vec<String>, String> {
    let mut by_index = BTreeMap::new();
    for (k, v) in map {
        let index = match k {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| format!("`names`: key {k:?} is not a class index (0, 1, …)"))?;
        by_index.insert(index, scalar(v, &format!("names[{index}]"))?);
    }
    let n = by_index.len();
    if let Some((&last, _)) = by_index.last_key_value()
        && last >= n
    {
        return Err(format!(
            "`names`: {n} classes need indices 0–{}, but index {last} is given",
            n.saturating_sub(1)
        ));
    }
    Ok(by_index.into_values().collect())
}

fn source_list(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(k, v)| scalar(v, &format!("{key}[{k}]")))
            .collect(),
        other => Ok(vec![scalar(other, key)?]),
    }
}

/// `root/value`, or `root/value` less a leading `../` when only that exists (Ultralytics).
fn resolve_source(root: &Path, value: &str) -> PathBuf {
    let value = value.trim();
    let direct = clean(&root.join(value));
    match value.strip_prefix("../") {
        Some(rest) if !direct.exists() => clean(&root.join(rest)),
        _ => direct,
    }
}

/// `.` and `..` folded away without touching the file system (for the `../` rule and
/// readable messages).
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let can_pop = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if can_pop {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn images_of_source(src: &Path, yaml: &Path, split: Split) -> Result<Vec<PathBuf>, DataError> {
    if src.is_dir() {
        let mut out = Vec::new();
        walk(src, &mut out)?;
        return Ok(out);
    }
    if src.is_file() {
        return image_list(src);
    }
    Err(DataError::invalid(
        yaml,
        format!(
            "{}: {} does not exist (a folder of images or a .txt list of image paths was expected)",
            split.as_str(),
            src.display()
        ),
    ))
}

/// Readable images under `dir`, at any depth.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if input_kind_of(&path).is_some() {
            out.push(path);
        } else if is_unreadable_image(&path) {
            return Err(unreadable(&path));
        }
    }
    Ok(())
}

/// The images a `.txt` list names, one a line.
fn image_list(list: &Path) -> Result<Vec<PathBuf>, DataError> {
    let text = std::fs::read_to_string(list).map_err(|e| DataError::io(list, e))?;
    let base = list.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let p = Path::new(line);
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            clean(&base.join(p))
        };
        let at = |msg: String| DataError::invalid(list, format!("line {}: {msg}", i + 1));
        if is_unreadable_image(&path) {
            return Err(unreadable(&path));
        }
        if input_kind_of(&path).is_none() {
            return Err(at(format!(
                "{line:?} is not an image this tool reads (.tif, .tiff, .png, .jpg, .jpeg)"
            )));
        }
        if !path.is_file() {
            return Err(at(format!("image {} does not exist", path.display())));
        }
        out.push(path);
    }
    Ok(out)
}

fn is_unreadable_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| UNREADABLE_IMAGES.iter().any(|u| u.eq_ignore_ascii_case(e)))
}

fn unreadable(path: &Path) -> DataError {
    DataError::invalid(
        path,
        "a picture format this tool does not read: convert it to PNG, JPEG or GeoTIFF",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("ultralytics-{name}"))
            .tempdir()
            .expect("temp dir")
    }

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, b"").expect("write");
    }

    #[test]
    fn label_path_replaces_the_last_images_folder() {
        assert_eq!(
            label_path(Path::new("/d/images/x/images/train/a.b.png")),
            PathBuf::from("/d/images/x/labels/train/a.b.txt")
        );
        // A file called `images` is not a folder; no `images` folder: beside the image.
        assert_eq!(
            label_path(Path::new("/d/pics/images.jpg")),
            PathBuf::from("/d/pics/images.txt")
        );
        assert_eq!(
            coherence_candidates(Path::new("r/images/val/t.tif"))[1],
            PathBuf::from("r/coherence/val/t.tiff")
        );
    }

    #[test]
    fn list_and_map_names_and_nc() {
        let d = tmp("names");
        let f = d.path().join("data.yaml");
        let read = |text: &str| {
            std::fs::write(&f, text).expect("write");
            read_data_yaml(&f)
        };
        let y = read("train: images/train\nnames: [road, basin]\n").expect("list");
        assert_eq!(y.names, ["road", "basin"]);
        assert_eq!(y.root, d.path());
        let y = read("val: v\nnc: 2\nnames:\n  1: basin\n  0: building\n").expect("map");
        assert_eq!(y.names, ["building", "basin"]);
        let y = read("train: t\nnc: 2\n").expect("nc only");
        assert_eq!(y.names, ["class_0", "class_1"]);
        let e = read("train: t\nnc: 3\nnames: [a, b]\n").expect_err("nc mismatch");
        assert!(e.to_string().contains("`nc: 3` but `names` has 2"), "{e}");
        let e = read("train: t\nnames: {0: a, 2: b}\n").expect_err("gap");
        assert!(e.to_string().contains("index 2"), "{e}");
        let e = read("names: [a]\n").expect_err("no splits");
        assert!(
            e.to_string().contains("data.yaml") && e.to_string().contains("train"),
            "{e}"
        );
        let e = read("train: [unclosed\n").expect_err("syntax");
        assert!(e.to_string().contains("not valid YAML"), "{e}");
    }

    #[test]
    fn splits_resolve_as_ultralytics_does() {
        let d = tmp("splits");
        let root = d.path();
        touch(&root.join("images/train/b.png"));
        touch(&root.join("images/train/sub/a.jpg"));
        touch(&root.join("images/train/notes.md"));
        touch(&root.join("valid/images/v.tif"));
        std::fs::write(
            root.join("test.txt"),
            "./images/train/b.png\n\nvalid/images/v.tif\n",
        )
        .expect("list");
        // `path` relative to the yaml, a Roboflow `../` value, a list of sources.
        let sub = root.join("cfg");
        std::fs::create_dir_all(&sub).expect("mkdir");
        let f = sub.join("data.yaml");
        std::fs::write(
            &f,
            "path: ..\ntrain: [images/train]\nvalidation: ../valid/images\ntest: test.txt\nnames: [basin]\n",
        )
        .expect("yaml");
        let y = read_data_yaml(&f).expect("yaml");
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| {
                    p.strip_prefix(root)
                        .expect("under root")
                        .display()
                        .to_string()
                })
                .collect()
        };
        assert_eq!(
            rel(y.images(Split::Train).expect("train")),
            ["images/train/b.png", "images/train/sub/a.jpg"]
        );
        assert_eq!(
            rel(y.images(Split::Val).expect("val")),
            ["valid/images/v.tif"]
        );
        assert_eq!(
            rel(y.images(Split::Test).expect("test")),
            ["images/train/b.png", "valid/images/v.tif"]
        );
        // A missing folder and an unreadable format are named.
        std::fs::write(&f, "path: ..\ntrain: images/nope\nnames: [basin]\n").expect("yaml");
        let e = read_data_yaml(&f)
            .expect("yaml")
            .images(Split::Train)
            .expect_err("missing");
        assert!(e.to_string().contains("images/nope does not exist"), "{e}");
        touch(&root.join("images/train/c.webp"));
        std::fs::write(&f, "path: ..\ntrain: images/train\nnames: [basin]\n").expect("yaml");
        let e = read_data_yaml(&f)
            .expect("yaml")
            .images(Split::Train)
            .expect_err("webp");
        assert!(e.to_string().contains("c.webp"), "{e}");
        assert!(
            read_data_yaml(&f)
                .expect("yaml")
                .images(Split::Test)
                .expect("none")
                .is_empty()
        );
    }

    #[test]
    fn a_folder_with_data_yaml_is_found() {
        let d = tmp("find");
        assert_eq!(data_yaml_of(d.path()), None);
        touch(&d.path().join("data.yml"));
        assert_eq!(data_yaml_of(d.path()), Some(d.path().join("data.yml")));
        touch(&d.path().join("other.YAML"));
        assert!(data_yaml_of(&d.path().join("other.YAML")).is_some());
        assert_eq!(data_yaml_of(&d.path().join("data.yml/x")), None);
    }

    #[test]
    fn a_split_as_coco_ground_truth() {
        let d = tmp("coco");
        let root = d.path();
        for stem in ["b", "a"] {
            let p = root.join(format!("images/val/{stem}.tif"));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            raster::write_geotiff_f32(&p, 40, 20, &[0.0; 800], None, None).expect("tif");
        }
        // a: one basin and one road; b: no label file (background).
        std::fs::create_dir_all(root.join("labels/val")).expect("mkdir");
        std::fs::write(
            root.join("labels/val/a.txt"),
            "1 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.1 0.1\n",
        )
        .expect("label");
        let f = root.join("data.yaml");
        std::fs::write(&f, "val: images/val\nnames: [road, basin]\n").expect("yaml");
        let gt = coco_ground_truth(&f, Split::Val).expect("gt");
        let files: Vec<(u64, &str)> = gt
            .images
            .iter()
            .map(|i| (i.id, i.file_name.as_str()))
            .collect();
        assert_eq!(files, [(1, "images/val/a.tif"), (2, "images/val/b.tif")]);
        let anns: Vec<(u64, u64, [f64; 4])> = gt
            .annotations
            .iter()
            .map(|a| (a.image_id, a.category_id, a.bbox))
            .collect();
        // 0.5·40 ± 0.25·40 → x 10..30; 0.5·20 ± 0.25·20 → y 5..15.
        assert_eq!(anns[0], (1, 2, [10.0, 5.0, 20.0, 10.0]));
        assert_eq!(anns.len(), 2);
        let e = coco_ground_truth(&f, Split::Test).expect_err("no test split");
        assert!(e.to_string().contains("no test split"), "{e}");
        std::fs::write(root.join("labels/val/b.txt"), "2 0.5 0.5 0.5 0.5\n").expect("label");
        let e = coco_ground_truth(&f, Split::Val).expect_err("class 2 of 2");
        assert!(
            e.to_string().contains("b.txt") && e.to_string().contains("class 2"),
            "{e}"
        );
    }
}

//! Finding a data set's images and labels: the simulator's layout and users' folders.
//!
//! Layouts understood (first match wins for the labels):
//! - COCO JSON: `annotations.json` in the root or the images folder (the simulator writes
//!   one, with each image's `"split"`).
//! - YOLO txt: `labels/<stem>.txt` beside `images/`, or `<stem>.txt` next to the image.
//! - Pascal VOC XML (LabelImg): `labels/<stem>.xml`, `Annotations/<stem>.xml` or next to
//!   the image.
//!
//! Images are GeoTIFF phase tiles (Float32 wrapped phase or CFloat32 interferograms, with an
//! optional `coherence/<stem>.tif`) or PNG/JPEG pictures; they live in `images/` or in the
//! root itself. An image with no label file has no basins (YOLO's convention), but a data
//! set where no image has one is refused.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use detect_core::labels::{self, CocoDataset};
use input::{ColormapSpec, InputSpec};
use model::InputKind;

use super::DataError;

/// Which part of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    /// Name as used in `splits/<name>.txt` and COCO's `"split"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// One labelled image.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The image (GeoTIFF or picture).
    pub image: PathBuf,
    /// Coherence raster beside it, if any.
    pub coherence: Option<PathBuf>,
    /// Size in pixels.
    pub width: u32,
    pub height: u32,
    /// Basins, pixel xyxy.
    pub boxes: Vec<[f32; 4]>,
}

/// The images of one split of a data set.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The folder it was read from.
    pub root: PathBuf,
    /// What the images are: phase tiles, or pictures.
    pub input: InputKind,
    /// What the model is fed: phase (pictures read back through `spec.colormap`) or the
    /// pictures' colours. The images' own kind until [`Dataset::for_model`] says otherwise.
    pub model_input: InputKind,
    /// How the images are read (the input crate's spec, shared with `predict`).
    pub spec: InputSpec,
    /// Images in file-name order.
    pub items: Vec<Item>,
}

impl Dataset {
    /// The data set read for a model trained on `model` input: phase tiles only feed a phase
    /// model; pictures feed a picture model as colours, a phase model through `colormap`.
    pub fn for_model(
        mut self,
        model: InputKind,
        colormap: ColormapSpec,
    ) -> Result<Self, DataError> {
        if self.input == InputKind::Phase && model == InputKind::Rgb {
            return Err(DataError::invalid(
                &self.root,
                "the data set holds phase tiles but the model is configured for rgb pictures",
            ));
        }
        self.model_input = model;
        self.spec.colormap = colormap;
        Ok(self)
    }
}

const TIFF_EXT: [&str; 2] = ["tif", "tiff"];
/// Coordinates may overshoot the image by rounding in the label tool.
const EDGE_TOLERANCE: f32 = 1.0;
/// Every n-th image goes to validation when a data set names no splits.
const HOLDOUT_EVERY: usize = 10;

fn ext_of(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Input kind an image file implies, from its extension.
pub fn input_kind_of(path: &Path) -> Option<InputKind> {
    let e = ext_of(path);
    if TIFF_EXT.contains(&e.as_str()) {
        Some(InputKind::Phase)
    } else if input::spec::is_picture_file(path) {
        Some(InputKind::Rgb)
    } else {
        None
    }
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

fn find_coco(root: &Path, images: &Path) -> Option<PathBuf> {
    [
        root.join("annotations.json"),
        images.join("annotations.json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Boxes of one image from COCO, keyed by file name (without folders).
struct CocoIndex {
    boxes: HashMap<String, Vec<[f32; 4]>>,
    split: HashMap<String, String>,
}

fn coco_index(path: &Path) -> Result<CocoIndex, DataError> {
    let ds: CocoDataset = labels::read_coco_dataset(path)?;
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
        let name = by_id.get(&a.image_id).ok_or_else(|| {
            DataError::invalid(
                path,
                format!("annotation {} names unknown image {}", a.id, a.image_id),
            )
        })?;
        let [x, y, w, h] = a.bbox.map(|v| v as f32);
        if let Some(list) = boxes.get_mut(name) {
            list.push([x, y, x + w, y + h]);
        }
    }
    Ok(CocoIndex { boxes, split })
}

fn read_file_labels(path: &Path, width: u32, height: u32) -> Result<Vec<[f32; 4]>, DataError> {
    let boxes = if ext_of(path) == "xml" {
        let mut classes = Vec::new();
        labels::read_voc_xml(path, &mut classes, true)?.boxes
    } else {
        labels::read_yolo_txt(path, width, height)?
    };
    Ok(boxes
        .iter()
        .map(|b| {
            [
                b.bbox.x1 as f32,
                b.bbox.y1 as f32,
                b.bbox.x2 as f32,
                b.bbox.y2 as f32,
            ]
        })
        .collect())
}

/// Refuses boxes that are empty or lie outside the image.
fn check_boxes(source: &Path, boxes: &[[f32; 4]], w: u32, h: u32) -> Result<(), DataError> {
    let (w, h) = (w as f32, h as f32);
    for (i, b) in boxes.iter().enumerate() {
        let inside = b[0] >= -EDGE_TOLERANCE
            && b[1] >= -EDGE_TOLERANCE
            && b[2] <= w + EDGE_TOLERANCE
            && b[3] <= h + EDGE_TOLERANCE;
        if !(b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1] && inside) {
            return Err(DataError::invalid(
                source,
                format!(
                    "box {} {:?} is empty or outside the {w}×{h} image",
                    i + 1,
                    b
                ),
            ));
        }
    }
    Ok(())
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

/// Reads one split of the data set in `root`; an empty split is an error.
pub fn open_dataset(root: &Path, split: Split) -> Result<Dataset, DataError> {
    let ds = open_split(root, split)?;
    if ds.items.is_empty() {
        return Err(DataError::invalid(
            root,
            format!("the {} split is empty", split.as_str()),
        ));
    }
    Ok(ds)
}

/// Reads one split of the data set in `root`, or None when the split is empty.
pub fn open_optional(root: &Path, split: Split) -> Result<Option<Dataset>, DataError> {
    let ds = open_split(root, split)?;
    Ok((!ds.items.is_empty()).then_some(ds))
}

fn open_split(root: &Path, split: Split) -> Result<Dataset, DataError> {
    if !root.is_dir() {
        return Err(DataError::invalid(root, "no such data set folder"));
    }
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
    let input = check_one_kind(&images)?;
    let coco = find_coco(root, &images_dir)
        .map(|p| coco_index(&p).map(|i| (p, i)))
        .transpose()?;
    let listed = split_list(root, split)?;

    let mut items = Vec::new();
    let mut labelled = 0usize;
    for (pos, image) in images.iter().enumerate() {
        let stem = stem_of(image);
        let in_split = match (&listed, &coco) {
            (Some(set), _) => set.contains(&stem),
            (None, Some((_, idx))) if !idx.split.is_empty() => {
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
        let (boxes, source) = match &coco {
            Some((path, idx)) => match idx.boxes.get(&stem) {
                Some(b) => (b.clone(), Some(path.clone())),
                None => (Vec::new(), None),
            },
            None => {
                let file = find_label(root, &images_dir, &stem, "txt")
                    .or_else(|| find_label(root, &images_dir, &stem, "xml"));
                match file {
                    Some(f) => (read_file_labels(&f, width, height)?, Some(f)),
                    None => (Vec::new(), None),
                }
            }
        };
        if let Some(src) = &source {
            labelled += 1;
            check_boxes(src, &boxes, width, height)?;
        }
        let coherence = [
            root.join("coherence").join(format!("{stem}.tif")),
            root.join("coherence").join(format!("{stem}.tiff")),
        ]
        .into_iter()
        .find(|p| p.is_file());
        items.push(Item {
            image: image.clone(),
            coherence,
            width,
            height,
            boxes,
        });
    }
    if labelled == 0 && !items.is_empty() {
        return Err(DataError::invalid(
            root,
            "no labels found: expected annotations.json, labels/<stem>.txt (YOLO), \
             <stem>.xml (VOC) or <stem>.txt beside each image",
        ));
    }
    Ok(Dataset {
        root: root.to_path_buf(),
        input,
        model_input: input,
        spec: InputSpec::default(),
        items,
    })
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

fn check_one_kind(images: &[PathBuf]) -> Result<InputKind, DataError> {
    let first = input_kind_of(&images[0]).unwrap_or(InputKind::Phase);
    if let Some(other) = images.iter().find(|p| input_kind_of(p) != Some(first)) {
        return Err(DataError::invalid(
            other,
            format!(
                "mixes GeoTIFF phase tiles and pictures; {} is not like {}",
                other.display(),
                images[0].display()
            ),
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("train-ds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn write_tif(path: &Path, w: usize, h: usize) {
        raster::write_geotiff_f32(path, w, h, &vec![0.5; w * h], None, None).expect("write tif");
    }

    #[test]
    fn yolo_folder_with_holdout_and_errors() {
        let root = tmpdir("yolo");
        std::fs::create_dir_all(root.join("images")).expect("mkdir");
        std::fs::create_dir_all(root.join("labels")).expect("mkdir");
        for i in 0..10 {
            write_tif(&root.join(format!("images/t{i:02}.tif")), 64, 32);
            std::fs::write(
                root.join(format!("labels/t{i:02}.txt")),
                "0 0.5 0.5 0.25 0.5\n",
            )
            .expect("write");
        }
        let train = open_dataset(&root, Split::Train).expect("train split");
        let val = open_dataset(&root, Split::Val).expect("val split");
        assert_eq!((train.items.len(), val.items.len()), (9, 1));
        assert_eq!(train.input, InputKind::Phase);
        // 0.5·64 ± 0.125·64 = 24..40; 0.5·32 ± 0.25·32 = 8..24.
        assert_eq!(train.items[0].boxes, vec![[24.0, 8.0, 40.0, 24.0]]);

        std::fs::write(root.join("labels/t03.txt"), "0 0.5 oops 0.25 0.5\n").expect("write");
        let err = open_dataset(&root, Split::Train)
            .expect_err("malformed line")
            .to_string();
        assert!(err.contains("t03.txt"), "{err}");
    }

    #[test]
    fn splits_files_and_missing_labels() {
        let root = tmpdir("splits");
        std::fs::create_dir_all(root.join("images")).expect("mkdir");
        std::fs::create_dir_all(root.join("splits")).expect("mkdir");
        for i in 0..3 {
            write_tif(&root.join(format!("images/s{i}.tif")), 32, 32);
        }
        std::fs::write(root.join("splits/train.txt"), "s0\ns2.tif\n").expect("write");
        let err = open_dataset(&root, Split::Train)
            .expect_err("no labels")
            .to_string();
        assert!(err.contains("no labels"), "{err}");
        std::fs::create_dir_all(root.join("labels")).expect("mkdir");
        std::fs::write(root.join("labels/s0.txt"), "").expect("write");
        let ds = open_dataset(&root, Split::Train).expect("train");
        let names: Vec<String> = ds.items.iter().map(|i| stem_of(&i.image)).collect();
        assert_eq!(names, vec!["s0", "s2"]);
        assert!(ds.items.iter().all(|i| i.boxes.is_empty()));
    }

    #[test]
    fn voc_labels_beside_pictures() {
        use detect_core::BBox;
        use detect_core::labels::{ImageLabels, LabeledBox, VocMeta, write_voc_xml};
        let root = tmpdir("voc");
        for i in 0..2 {
            let rgb = vec![128u8; 40 * 30 * 3];
            raster::write_png_rgb(&root.join(format!("p{i}.png")), 40, 30, &rgb).expect("png");
            let labels = ImageLabels {
                file_name: format!("p{i}.png"),
                width: 40,
                height: 30,
                boxes: vec![LabeledBox::new(BBox::new(5.0, 6.0, 20.0, 25.0), 0)],
            };
            let meta = VocMeta::labelimg("root", vec!["basin".into()]);
            write_voc_xml(&root.join(format!("p{i}.xml")), &labels, &meta).expect("xml");
        }
        // Two images, no splits: the tenth-image hold-out leaves both in train.
        let ds = open_dataset(&root, Split::Train).expect("voc data set");
        assert_eq!(ds.input, InputKind::Rgb);
        assert_eq!(ds.items.len(), 2);
        assert_eq!(ds.items[1].boxes, vec![[5.0, 6.0, 20.0, 25.0]]);
        assert!(open_optional(&root, Split::Val).expect("val").is_none());
    }

    #[test]
    fn coco_annotations_with_splits() {
        let root = tmpdir("coco");
        std::fs::create_dir_all(root.join("images")).expect("mkdir");
        for i in 0..3 {
            write_tif(&root.join(format!("images/c{i}.tif")), 32, 32);
        }
        let json = serde_json::json!({
            "images": [
                {"id": 1, "file_name": "c0.tif", "width": 32, "height": 32, "split": "train"},
                {"id": 2, "file_name": "c1.tif", "width": 32, "height": 32, "split": "val"},
                {"id": 3, "file_name": "c2.tif", "width": 32, "height": 32, "split": "train"}
            ],
            "annotations": [
                {"id": 1, "image_id": 3, "category_id": 1, "bbox": [2.0, 3.0, 10.0, 12.0], "area": 120.0, "iscrowd": 0}
            ],
            "categories": [{"id": 1, "name": "basin"}]
        });
        std::fs::write(root.join("annotations.json"), json.to_string()).expect("write");
        let train = open_dataset(&root, Split::Train).expect("train");
        let val = open_dataset(&root, Split::Val).expect("val");
        assert_eq!((train.items.len(), val.items.len()), (2, 1));
        assert_eq!(train.items[1].boxes, vec![[2.0, 3.0, 12.0, 15.0]]);
        assert!(train.items[0].boxes.is_empty());
    }

    #[test]
    fn box_outside_the_image_is_refused() {
        let root = tmpdir("outside");
        write_tif(&root.join("a.tif"), 32, 32);
        let b = [[10.0, 10.0, 40.0, 20.0]];
        let err = check_boxes(&root.join("a.txt"), &b, 32, 32).expect_err("outside");
        assert!(err.to_string().contains("outside"));
        assert!(check_boxes(&root.join("a.txt"), &[[0.0, 0.0, 32.0, 32.0]], 32, 32).is_ok());
    }
}

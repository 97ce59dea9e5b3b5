//! Finding a data set's images and labels: the simulator's layout and users' folders.
//!
//! An Ultralytics `data.yaml` (given itself, or in the folder) names the splits, the
//! classes and the images; labels sit in `labels/` beside `images/`
//! ([`super::ultralytics`]). Otherwise the folder's labels are found as
//! [`super::folder`] says (first match wins):
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
//!
//! Only the basin class trains ([`super::labels`]): other classes are left out and counted
//! in [`Dataset::ignored`], COCO crowd boxes are blanked out of the image.

use std::path::{Path, PathBuf};

use detect_core::labels::Ignored;
use input::{ColormapSpec, InputSpec};
use model::InputKind;

use super::DataError;
use super::labels::{LabelOptions, NameTables, RawLabels, targets};
use super::ultralytics;

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
    /// Crowd basin regions (COCO `iscrowd`), pixel xyxy: blanked out of the image, so that
    /// they are neither a target nor background.
    pub crowd: Vec<[f32; 4]>,
}

/// The images of one split of a data set.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The folder (or data.yaml) it was read from.
    pub root: PathBuf,
    /// What the images are: phase tiles, or pictures.
    pub input: InputKind,
    /// What the model is fed: phase (pictures read back through `spec.colormap`) or the
    /// pictures' colours. The images' own kind until [`Dataset::for_model`] says otherwise.
    pub model_input: InputKind,
    /// How the images are read (the input crate's spec, shared with `predict`).
    pub spec: InputSpec,
    /// Images in path order.
    pub items: Vec<Item>,
    /// Boxes of other classes than the basin, left out of this split.
    pub ignored: Ignored,
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

/// Input kind an image file implies, from its extension.
pub fn input_kind_of(path: &Path) -> Option<InputKind> {
    let e = input::spec::extension(path);
    if TIFF_EXT.contains(&e.as_str()) {
        Some(InputKind::Phase)
    } else if input::spec::is_picture_file(path) {
        Some(InputKind::Rgb)
    } else {
        None
    }
}

/// One image of a split with its labels as read, before the basin class is applied.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub image: PathBuf,
    pub coherence: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    pub raw: RawLabels,
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

/// Reads one split of the data set in `root` (a folder, or an Ultralytics data.yaml) with
/// the default basin class; an empty split is an error.
pub fn open_dataset(root: &Path, split: Split) -> Result<Dataset, DataError> {
    open_dataset_with(root, split, &LabelOptions::default())
}

/// Reads one split of the data set in `root`, or None when the split is empty.
pub fn open_optional(root: &Path, split: Split) -> Result<Option<Dataset>, DataError> {
    open_optional_with(root, split, &LabelOptions::default())
}

/// [`open_dataset`] with the basin class chosen by `opts`.
pub fn open_dataset_with(
    root: &Path,
    split: Split,
    opts: &LabelOptions,
) -> Result<Dataset, DataError> {
    let ds = open_split(root, split, opts)?;
    if ds.items.is_empty() {
        return Err(DataError::invalid(
            root,
            format!("the {} split is empty", split.as_str()),
        ));
    }
    Ok(ds)
}

/// [`open_optional`] with the basin class chosen by `opts`.
pub fn open_optional_with(
    root: &Path,
    split: Split,
    opts: &LabelOptions,
) -> Result<Option<Dataset>, DataError> {
    let ds = open_split(root, split, opts)?;
    Ok((!ds.items.is_empty()).then_some(ds))
}

fn open_split(root: &Path, split: Split, opts: &LabelOptions) -> Result<Dataset, DataError> {
    let mut tables = NameTables::default();
    let (expected, entries) = if let Some(yaml) = ultralytics::data_yaml_of(root) {
        let entries = ultralytics::entries(&yaml, split, &mut tables)?;
        let example = entries.first().map_or_else(
            || "labels/".to_string(),
            |e| ultralytics::label_path(&e.image).display().to_string(),
        );
        (format!("YOLO labels such as {example}"), entries)
    } else if root.is_dir() {
        let entries = super::folder::entries(root, split, &mut tables)?;
        (
            "annotations.json, labels/<stem>.txt (YOLO), <stem>.xml (VOC) or <stem>.txt \
             beside each image"
                .to_string(),
            entries,
        )
    } else {
        return Err(DataError::invalid(
            root,
            "no such data set folder (or data.yaml)",
        ));
    };
    let input = check_one_kind(&entries)?;
    let (items, ignored) = apply_classes(root, entries, &mut tables, opts, &expected)?;
    Ok(Dataset {
        root: root.to_path_buf(),
        input,
        model_input: input,
        spec: InputSpec::default(),
        items,
        ignored,
    })
}

/// The images' basin boxes and crowd regions under the data set's basin class.
fn apply_classes(
    root: &Path,
    entries: Vec<Entry>,
    tables: &mut NameTables,
    opts: &LabelOptions,
    expected: &str,
) -> Result<(Vec<Item>, Ignored), DataError> {
    for e in &entries {
        tables.note(&e.raw);
    }
    let decisions = tables.decide(opts)?;
    let mut ignored = Ignored::default();
    let mut labelled = 0usize;
    let mut items = Vec::with_capacity(entries.len());
    for e in entries {
        let t = targets(&e.raw, tables, &decisions, &mut ignored)?;
        if let Some(src) = &e.raw.source {
            labelled += 1;
            check_boxes(src, &t.boxes, e.width, e.height)?;
            check_boxes(src, &t.crowd, e.width, e.height)?;
        }
        items.push(Item {
            image: e.image,
            coherence: e.coherence,
            width: e.width,
            height: e.height,
            boxes: t.boxes,
            crowd: t.crowd,
        });
    }
    if labelled == 0 && !items.is_empty() {
        return Err(DataError::invalid(
            root,
            format!("no labels found: expected {expected}"),
        ));
    }
    Ok((items, ignored))
}

fn check_one_kind(entries: &[Entry]) -> Result<InputKind, DataError> {
    let Some(first_entry) = entries.first() else {
        return Ok(InputKind::Phase);
    };
    let first = input_kind_of(&first_entry.image).unwrap_or(InputKind::Phase);
    if let Some(other) = entries
        .iter()
        .find(|e| input_kind_of(&e.image) != Some(first))
    {
        return Err(DataError::invalid(
            &other.image,
            format!(
                "mixes GeoTIFF phase tiles and pictures; {} is not like {}",
                other.image.display(),
                first_entry.image.display()
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
        let names: Vec<String> = ds
            .items
            .iter()
            .map(|i| super::super::folder::stem_of(&i.image))
            .collect();
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

    /// An Ultralytics layout: 64×32 tiles in images/{train,val}, labels in labels/….
    fn ultralytics_layout(name: &str, names: &str) -> PathBuf {
        let root = tmpdir(name);
        for split in ["train", "val"] {
            std::fs::create_dir_all(root.join("images").join(split)).expect("mkdir");
            std::fs::create_dir_all(root.join("labels").join(split)).expect("mkdir");
        }
        for stem in ["a", "b"] {
            write_tif(&root.join(format!("images/train/{stem}.tif")), 64, 32);
        }
        write_tif(&root.join("images/val/c.tif"), 64, 32);
        // b has no label file: a background image.
        std::fs::write(
            root.join("labels/train/a.txt"),
            "1 0.5 0.5 0.25 0.5\n0 0.25 0.25 0.125 0.25\n0 0.75 0.75 0.125 0.25\n",
        )
        .expect("label");
        std::fs::write(root.join("labels/val/c.txt"), "1 0.5 0.5 0.25 0.5\n").expect("label");
        let yaml = format!("path: .\ntrain: images/train\nval: images/val\n{names}");
        std::fs::write(root.join("data.yaml"), yaml).expect("yaml");
        root
    }

    #[test]
    fn ultralytics_layout_with_a_names_map_and_a_background_image() {
        let root = ultralytics_layout("yaml-map", "names:\n  0: building\n  1: Subsidence\n");
        let train = open_dataset(&root.join("data.yaml"), Split::Train).expect("train");
        let stems: Vec<String> = train
            .items
            .iter()
            .map(|i| super::super::folder::stem_of(&i.image))
            .collect();
        assert_eq!(stems, ["a", "b"]);
        // 0.5·64 ± 0.125·64 = 24..40; 0.5·32 ± 0.25·32 = 8..24; the building boxes go.
        assert_eq!(train.items[0].boxes, vec![[24.0, 8.0, 40.0, 24.0]]);
        assert!(train.items[1].boxes.is_empty());
        assert_eq!(
            train.ignored.to_string(),
            "ignored 2 boxes of class building"
        );
        // The folder holding data.yaml is the same data set.
        let val = open_optional(&root, Split::Val)
            .expect("val")
            .expect("not empty");
        assert_eq!(val.items.len(), 1);
        assert!(val.ignored.is_empty());
        assert!(open_optional(&root, Split::Test).expect("test").is_none());
    }

    #[test]
    fn ultralytics_layout_with_a_names_list_and_a_chosen_class() {
        let root = ultralytics_layout("yaml-list", "names: [building, road]\n");
        let err = open_dataset(&root, Split::Train)
            .expect_err("no basin class")
            .to_string();
        assert!(err.contains("data.yaml"), "{err}");
        assert!(err.contains("\"building\", \"road\""), "{err}");
        // --class building keeps the two small boxes instead.
        let opts = LabelOptions::with_class(Some("Building".into()));
        let train = open_dataset_with(&root, Split::Train, &opts).expect("train");
        assert_eq!(
            train.items[0].boxes,
            vec![[12.0, 4.0, 20.0, 12.0], [44.0, 20.0, 52.0, 28.0]]
        );
        assert_eq!(train.ignored.to_string(), "ignored 1 box of class road");
    }

    #[test]
    fn yolo_folder_with_classes_txt_drops_other_classes() {
        let root = tmpdir("classes-txt");
        std::fs::create_dir_all(root.join("labels")).expect("mkdir");
        write_tif(&root.join("t.tif"), 64, 32);
        std::fs::write(root.join("labels/classes.txt"), "road\nbasin\n").expect("classes");
        std::fs::write(
            root.join("labels/t.txt"),
            "0 0.5 0.5 0.25 0.5\n1 0.25 0.25 0.125 0.25\n",
        )
        .expect("label");
        let ds = open_dataset(&root, Split::Train).expect("train");
        assert_eq!(ds.items[0].boxes, vec![[12.0, 4.0, 20.0, 12.0]]);
        assert_eq!(ds.ignored.to_string(), "ignored 1 box of class road");
        std::fs::write(root.join("labels/classes.txt"), "road\nbuilding\n").expect("classes");
        let err = open_dataset(&root, Split::Train)
            .expect_err("no basin")
            .to_string();
        assert!(
            err.contains("classes.txt") && err.contains("\"road\", \"building\""),
            "{err}"
        );
    }

    #[test]
    fn voc_names_decide_across_files() {
        use detect_core::BBox;
        use detect_core::labels::{ImageLabels, LabeledBox, VocMeta, write_voc_xml};
        let root = tmpdir("voc-classes");
        let rgb = vec![128u8; 40 * 30 * 3];
        // p0 holds only a car, p1 a car and a basin: the data set's names decide.
        for (i, names) in [vec!["car"], vec!["car", "Mining_Subsidence"]]
            .iter()
            .enumerate()
        {
            raster::write_png_rgb(&root.join(format!("p{i}.png")), 40, 30, &rgb).expect("png");
            let boxes = (0..names.len())
                .map(|k| LabeledBox::new(BBox::new(5.0 + k as f64, 6.0, 20.0, 25.0), k))
                .collect();
            let labels = ImageLabels {
                file_name: format!("p{i}.png"),
                width: 40,
                height: 30,
                boxes,
            };
            let meta = VocMeta::labelimg("root", names.iter().map(|s| s.to_string()).collect());
            write_voc_xml(&root.join(format!("p{i}.xml")), &labels, &meta).expect("xml");
        }
        let ds = open_dataset(&root, Split::Train).expect("voc");
        assert!(ds.items[0].boxes.is_empty());
        assert_eq!(ds.items[1].boxes, vec![[6.0, 6.0, 20.0, 25.0]]);
        assert_eq!(ds.ignored.to_string(), "ignored 2 boxes of class car");
    }

    /// A 64×64 COCO data set: one basin, one crowd basin region, one road.
    fn coco_with_crowd(name: &str) -> PathBuf {
        let root = tmpdir(name);
        write_tif(&root.join("c.tif"), 64, 64);
        let json = serde_json::json!({
            "images": [{"id": 4, "file_name": "c.tif", "width": 64, "height": 64}],
            "annotations": [
                {"id": 1, "image_id": 4, "category_id": 5, "bbox": [4.0, 4.0, 16.0, 16.0], "area": 256.0, "iscrowd": 0},
                {"id": 2, "image_id": 4, "category_id": 5, "bbox": [32.0, 32.0, 28.0, 28.0], "area": 784.0, "iscrowd": 1},
                {"id": 3, "image_id": 4, "category_id": 2, "bbox": [0.0, 40.0, 10.0, 10.0], "area": 100.0, "iscrowd": 0}
            ],
            "categories": [{"id": 2, "name": "road"}, {"id": 5, "name": "basin"}]
        });
        std::fs::write(root.join("annotations.json"), json.to_string()).expect("write");
        root
    }

    #[test]
    fn coco_crowd_boxes_are_regions_not_targets() {
        let root = coco_with_crowd("coco-crowd");
        let ds = open_dataset(&root, Split::Train).expect("train");
        assert_eq!(ds.items[0].boxes, vec![[4.0, 4.0, 20.0, 20.0]]);
        assert_eq!(ds.items[0].crowd, vec![[32.0, 32.0, 60.0, 60.0]]);
        assert_eq!(ds.ignored.to_string(), "ignored 1 box of class road");
    }

    #[test]
    fn a_crowd_region_gives_no_positive_and_no_signal() {
        use crate::assign::yolov5::build_targets;
        use crate::assign::{AssignConfig, ImagePreds, assign_image};
        let root = coco_with_crowd("coco-crowd-targets");
        let ds = open_dataset(&root, Split::Train).expect("train");
        let (x, gts) = crate::data::eval_sample(&ds, 0, 64).expect("sample");
        assert_eq!(gts, vec![[4.0, 4.0, 20.0, 20.0]]);
        // The crowd's pixels are no-data (coherence channel 0), the rest keeps coherence 1.
        let coherence = |px: usize, py: usize| x[2 * 64 * 64 + py * 64 + px];
        assert_eq!(coherence(40, 40), 0.0);
        assert_eq!(coherence(59, 59), 0.0);
        assert_eq!(coherence(31, 40), 1.0);
        assert_eq!(coherence(10, 10), 1.0);
        let in_crowd = |c: [f32; 2]| c[0] >= 32.0 && c[0] < 60.0 && c[1] >= 32.0 && c[1] < 60.0;
        // Anchor-free: an 8×8 grid of stride-8 cells predicting 16×16 boxes.
        let centers: Vec<[f32; 2]> = (0..64)
            .map(|k| [(k % 8) as f32 * 8.0 + 4.0, (k / 8) as f32 * 8.0 + 4.0])
            .collect();
        let boxes: Vec<[f32; 4]> = centers
            .iter()
            .map(|c| [c[0] - 8.0, c[1] - 8.0, c[0] + 8.0, c[1] + 8.0])
            .collect();
        let preds = ImagePreds {
            boxes: &boxes,
            obj_logits: &[0.0; 64],
            centers: &centers,
            strides: &[8.0; 64],
        };
        let a = assign_image(&AssignConfig::default(), &preds, &gts);
        assert!(!a.pairs.is_empty(), "the basin has positives");
        for &(p, g) in &a.pairs {
            assert_eq!(g, 0);
            assert!(
                !in_crowd(centers[p]),
                "positive at {:?} in the crowd",
                centers[p]
            );
        }
        // YOLOv5's targets: none in a cell of the crowd region.
        let anchors = [[12.0, 12.0], [16.0, 16.0], [24.0, 24.0]];
        let targets = build_targets(std::slice::from_ref(&gts), &anchors, 8.0, (8, 8), 4.0);
        assert!(!targets.is_empty(), "the basin has targets");
        for t in &targets {
            let c = [t.gi as f32 * 8.0 + 4.0, t.gj as f32 * 8.0 + 4.0];
            assert!(!in_crowd(c), "target cell {c:?} in the crowd");
        }
    }
}

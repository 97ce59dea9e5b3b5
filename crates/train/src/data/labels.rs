//! A data set's boxes as its label files give them, and how they become training targets:
//! the basin class (named, or chosen with `--class`) gives the boxes the network learns,
//! COCO crowd boxes (`iscrowd`) become regions blanked out of the image, boxes of other
//! classes are left out and counted.
//!
//! Class names come in tables, one per source: a YOLO `classes.txt`, a data.yaml's `names`,
//! a COCO file's `categories`, the `<name>`s met in VOC files, or none (YOLO labels without
//! a class list: class 0 is the basin). The basin class is decided per table once every
//! label file is read, so that a VOC data set is judged on all the names it uses.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use detect_core::labels::{self, Ignored, basin_class, default_names};

use super::DataError;

/// How a data set's labels are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelOptions {
    /// The basin class by name (any case); None: the class named basin, subsidence,
    /// subsidence_basin or mining_subsidence.
    pub class: Option<String>,
}

impl LabelOptions {
    pub fn with_class(class: Option<String>) -> Self {
        Self { class }
    }
}

/// One box as a label file gives it (pixel xyxy).
#[derive(Clone, Debug, PartialEq)]
pub struct RawBox {
    pub bbox: [f32; 4],
    /// Index into its table's names.
    pub class: usize,
    /// COCO `iscrowd`: a region of many objects, not one.
    pub crowd: bool,
}

/// The boxes of one image and where they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct RawLabels {
    /// The label file; None for an image without one (background).
    pub source: Option<PathBuf>,
    /// Its class-name table.
    pub table: usize,
    pub boxes: Vec<RawBox>,
}

impl RawLabels {
    /// The boxes a YOLO or VOC file `source` holds (they have no crowd flag).
    pub fn from_file(source: PathBuf, table: usize, boxes: &[labels::LabeledBox]) -> Self {
        let boxes = boxes
            .iter()
            .map(|b| RawBox {
                bbox: [
                    b.bbox.x1 as f32,
                    b.bbox.y1 as f32,
                    b.bbox.x2 as f32,
                    b.bbox.y2 as f32,
                ],
                class: b.class_id,
                crowd: false,
            })
            .collect();
        Self {
            source: Some(source),
            table,
            boxes,
        }
    }

    /// An image without a label file.
    pub fn background(table: usize) -> Self {
        Self {
            source: None,
            table,
            boxes: Vec::new(),
        }
    }
}

/// What one image's boxes become.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Targets {
    /// Basins: what the network learns to find.
    pub boxes: Vec<[f32; 4]>,
    /// Crowd basin regions: blanked out of the image (neither positive nor background).
    pub crowd: Vec<[f32; 4]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// The file lists its names; a class past its end is an error.
    Listed,
    /// Names are added as label files use them (VOC).
    Met,
    /// No names: `basin` for class 0, `class<k>` for the others.
    Unnamed,
}

#[derive(Clone, Debug)]
struct Table {
    source: PathBuf,
    kind: Kind,
    names: Vec<String>,
    /// Largest class seen (names unnamed classes).
    max_class: Option<usize>,
}

/// The class-name tables of a data set, keyed by their source.
#[derive(Clone, Debug, Default)]
pub struct NameTables {
    tables: Vec<Table>,
    by_source: HashMap<PathBuf, usize>,
}

impl NameTables {
    fn add(&mut self, source: &Path, kind: Kind, names: Vec<String>) -> usize {
        if let Some(&t) = self.by_source.get(source) {
            return t;
        }
        self.tables.push(Table {
            source: source.to_path_buf(),
            kind,
            names,
            max_class: None,
        });
        let t = self.tables.len() - 1;
        self.by_source.insert(source.to_path_buf(), t);
        t
    }

    /// The table of a file that lists its names (classes.txt, data.yaml, COCO JSON).
    pub fn listed(&mut self, source: &Path, names: Vec<String>) -> usize {
        self.add(source, Kind::Listed, names)
    }

    /// The table of VOC files, whose names are added as met; `source` names the data set.
    pub fn met(&mut self, source: &Path) -> usize {
        self.add(source, Kind::Met, Vec::new())
    }

    /// The table of YOLO labels without a class list (in the folder `source`).
    pub fn unnamed(&mut self, source: &Path) -> usize {
        self.add(source, Kind::Unnamed, Vec::new())
    }

    /// The table of YOLO labels in `dir`: its `classes.txt`, read once, or none.
    pub fn yolo_dir(&mut self, dir: &Path) -> Result<usize, DataError> {
        let list = dir.join(labels::CLASS_LIST);
        if let Some(&t) = self.by_source.get(&list) {
            return Ok(t);
        }
        if list.is_file() {
            let names = labels::read_class_list(&list)?;
            return Ok(self.listed(&list, names));
        }
        Ok(self.unnamed(dir))
    }

    /// The names of table `t`, to which VOC reading adds.
    pub fn names_mut(&mut self, t: usize) -> Option<&mut Vec<String>> {
        self.tables.get_mut(t).map(|x| &mut x.names)
    }

    /// Notes the classes `raw` uses (unnamed tables are named up to the largest).
    pub fn note(&mut self, raw: &RawLabels) {
        if let Some(t) = self.tables.get_mut(raw.table) {
            let most = raw.boxes.iter().map(|b| b.class).max();
            t.max_class = t.max_class.max(most);
        }
    }

    /// The basin class of every table, in table order.
    pub fn decide(&self, opts: &LabelOptions) -> Result<Vec<Decision>, DataError> {
        self.tables
            .iter()
            .map(|t| {
                let names = match t.kind {
                    Kind::Unnamed => default_names(t.max_class.map_or(1, |c| c + 1)),
                    Kind::Listed | Kind::Met => t.names.clone(),
                };
                // VOC files that name nothing hold no boxes: nothing to decide.
                if t.kind == Kind::Met && names.is_empty() {
                    return Ok(Decision { basin: None, names });
                }
                let basin = basin_class(&names, opts.class.as_deref(), &t.source)?;
                Ok(Decision {
                    basin: Some(basin),
                    names,
                })
            })
            .collect()
    }

    fn kind(&self, t: usize) -> Option<&Kind> {
        self.tables.get(t).map(|x| &x.kind)
    }

    fn source(&self, t: usize) -> Option<&Path> {
        self.tables.get(t).map(|x| x.source.as_path())
    }
}

/// A table's basin class and its names.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub basin: Option<usize>,
    pub names: Vec<String>,
}

/// What `raw`'s boxes become under `decisions`; boxes of other classes are counted into
/// `ignored`. A class past the end of a listed table is an error naming both files.
pub fn targets(
    raw: &RawLabels,
    tables: &NameTables,
    decisions: &[Decision],
    ignored: &mut Ignored,
) -> Result<Targets, DataError> {
    let decision = decisions.get(raw.table);
    let mut out = Targets::default();
    for b in &raw.boxes {
        let (basin, names) = decision.map_or((None, &[][..]), |d| (d.basin, &d.names[..]));
        if tables.kind(raw.table) == Some(&Kind::Listed) && b.class >= names.len() {
            let file = raw.source.as_deref().unwrap_or(Path::new("labels"));
            return Err(DataError::invalid(
                file,
                format!(
                    "class {} but {} lists {} class names",
                    b.class,
                    tables.source(raw.table).unwrap_or(Path::new("?")).display(),
                    names.len()
                ),
            ));
        }
        if Some(b.class) != basin {
            let name = names
                .get(b.class)
                .cloned()
                .unwrap_or_else(|| format!("class{}", b.class));
            ignored.add(&name, 1);
        } else if b.crowd {
            out.crowd.push(b.bbox);
        } else {
            out.boxes.push(b.bbox);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(table: usize, classes: &[(usize, bool)]) -> RawLabels {
        RawLabels {
            source: Some(PathBuf::from("a.txt")),
            table,
            boxes: classes
                .iter()
                .enumerate()
                .map(|(i, &(class, crowd))| RawBox {
                    bbox: [i as f32, 0.0, i as f32 + 1.0, 1.0],
                    class,
                    crowd,
                })
                .collect(),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn basin_boxes_crowds_and_others() {
        let mut t = NameTables::default();
        let coco = t.listed(Path::new("annotations.json"), names(&["road", "Basin"]));
        let r = raw(coco, &[(1, false), (0, false), (1, true), (0, true)]);
        let d = t.decide(&LabelOptions::default()).expect("decided");
        let mut ignored = Ignored::default();
        let got = targets(&r, &t, &d, &mut ignored).expect("targets");
        assert_eq!(got.boxes, vec![[0.0, 0.0, 1.0, 1.0]]);
        assert_eq!(got.crowd, vec![[2.0, 0.0, 3.0, 1.0]]);
        assert_eq!(ignored.to_string(), "ignored 2 boxes of class road");
        // --class road swaps them.
        let d = t
            .decide(&LabelOptions::with_class(Some("ROAD".into())))
            .expect("road");
        let got = targets(&r, &t, &d, &mut Ignored::default()).expect("targets");
        assert_eq!(got.boxes, vec![[1.0, 0.0, 2.0, 1.0]]);
    }

    #[test]
    fn class_past_a_listed_table_is_an_error() {
        let mut t = NameTables::default();
        let y = t.listed(Path::new("data.yaml"), names(&["basin"]));
        let d = t.decide(&LabelOptions::default()).expect("decided");
        let e = targets(&raw(y, &[(3, false)]), &t, &d, &mut Ignored::default())
            .expect_err("class 3 of 1");
        let msg = e.to_string();
        assert!(
            msg.contains("a.txt") && msg.contains("class 3") && msg.contains("data.yaml"),
            "{msg}"
        );
    }

    #[test]
    fn unnamed_yolo_makes_class_zero_the_basin_and_names_the_rest() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut t = NameTables::default();
        let u = t.yolo_dir(dir.path()).expect("table");
        let r = raw(u, &[(0, false), (2, false)]);
        t.note(&r);
        let d = t.decide(&LabelOptions::default()).expect("decided");
        let mut ignored = Ignored::default();
        let got = targets(&r, &t, &d, &mut ignored).expect("targets");
        assert_eq!(got.boxes.len(), 1);
        assert_eq!(ignored.to_string(), "ignored 1 box of class class2");
        // With a classes.txt the folder's names decide, read once.
        std::fs::write(dir.path().join("classes.txt"), "building\nroad\n").expect("write");
        let mut t = NameTables::default();
        let l = t.yolo_dir(dir.path()).expect("table");
        assert_eq!(t.yolo_dir(dir.path()).expect("again"), l);
        let e = t
            .decide(&LabelOptions::default())
            .expect_err("no basin")
            .to_string();
        assert!(
            e.contains("classes.txt") && e.contains("\"building\", \"road\""),
            "{e}"
        );
    }

    #[test]
    fn voc_names_are_judged_together() {
        let mut t = NameTables::default();
        let v = t.met(Path::new("voc-root"));
        assert_eq!(
            t.decide(&LabelOptions::default()).expect("empty")[0].basin,
            None
        );
        t.names_mut(v)
            .expect("table")
            .extend(names(&["car", "subsidence"]));
        assert_eq!(
            t.decide(&LabelOptions::default()).expect("decided")[0].basin,
            Some(1)
        );
    }
}

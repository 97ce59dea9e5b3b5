//! Which class of a labelled data set is the basin, and what becomes of the others.
//!
//! Users' data sets often hold several classes (buildings, roads, …) beside the basins. The
//! basin class is the one named as [`BASIN_NAMES`] lists (any case), or the one the user
//! chooses by name; boxes of every other class are left out and counted ([`Ignored`]), and a
//! list of names with no basin class is refused, naming what it holds. Label files without
//! any names take class 0 as the basin ([`default_names`]), as this project always has.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::{CocoCategory, CocoDataset, LabelError, coco};

/// Class names taken for the basin when no class is chosen (compared ignoring case).
pub const BASIN_NAMES: [&str; 4] = [
    "basin",
    "subsidence",
    "subsidence_basin",
    "mining_subsidence",
];

/// Names for `n` unnamed classes: `basin` for class 0, `class<k>` for the others.
pub fn default_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|k| {
            if k == 0 {
                "basin".to_string()
            } else {
                format!("class{k}")
            }
        })
        .collect()
}

/// Whether `name` is one of [`BASIN_NAMES`].
pub fn is_basin_name(name: &str) -> bool {
    let name = name.trim();
    BASIN_NAMES.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// The index of the basin class among `names`: the one called `chosen` (any case) when
/// given, else the one named as [`BASIN_NAMES`] lists. `source` is the file (or folder) the
/// names come from; the errors name it and list the names it has.
pub fn basin_class(
    names: &[String],
    chosen: Option<&str>,
    source: &Path,
) -> Result<usize, LabelError> {
    let listed = || quoted(names);
    if let Some(chosen) = chosen {
        let chosen = chosen.trim();
        return names
            .iter()
            .position(|n| n.trim().eq_ignore_ascii_case(chosen))
            .ok_or_else(|| {
                LabelError::invalid(
                    source,
                    format!(
                        "no class named {chosen:?} (--class); its classes are {}",
                        listed()
                    ),
                )
            });
    }
    let found: Vec<usize> = (0..names.len())
        .filter(|&k| is_basin_name(&names[k]))
        .collect();
    match found.as_slice() {
        [k] => Ok(*k),
        [] => Err(LabelError::invalid(
            source,
            format!(
                "no basin class among its classes {}: expected one named {} (any case), \
                 or choose one with --class NAME",
                listed(),
                BASIN_NAMES.join(", ")
            ),
        )),
        several => {
            let picked: Vec<String> = several.iter().map(|&k| names[k].clone()).collect();
            Err(LabelError::invalid(
                source,
                format!(
                    "several classes could be the basin ({}): choose one with --class NAME",
                    quoted(&picked)
                ),
            ))
        }
    }
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".into();
    }
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Boxes left out because they belong to other classes, counted per class name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignored {
    counts: BTreeMap<String, usize>,
}

impl Ignored {
    /// Counts `n` boxes of class `name`.
    pub fn add(&mut self, name: &str, n: usize) {
        if n > 0 {
            *self.counts.entry(name.to_string()).or_default() += n;
        }
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: &Ignored) {
        for (name, &n) in &other.counts {
            self.add(name, n);
        }
    }

    /// Boxes left out in all.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Boxes left out per class name, in name order.
    pub fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.counts.iter().map(|(k, &v)| (k.as_str(), v))
    }
}

/// `ignored 3 boxes of classes building, road` (or `… 1 box of class road`).
impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.total();
        let names: Vec<&str> = self.counts.keys().map(String::as_str).collect();
        write!(
            f,
            "ignored {n} {} of {} {}",
            if n == 1 { "box" } else { "boxes" },
            if names.len() == 1 { "class" } else { "classes" },
            names.join(", ")
        )
    }
}

/// The basin category of a COCO data set alone: its annotations (crowd ones included, as
/// COCOeval needs them) under category id 1, the id `predict` and `detect` write, and the
/// category keeps its name. Also returns the basin category's original id and the tally of
/// annotations of other categories. `source` names the file in errors.
pub fn coco_basin_only(
    ds: &CocoDataset,
    chosen: Option<&str>,
    source: &Path,
) -> Result<(CocoDataset, u64, Ignored), LabelError> {
    let names: Vec<String> = ds.categories.iter().map(|c| c.name.clone()).collect();
    let k = basin_class(&names, chosen, source)?;
    let basin = ds
        .categories
        .get(k)
        .ok_or_else(|| LabelError::invalid(source, "no categories"))?;
    let by_id: BTreeMap<u64, &str> = ds
        .categories
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    let new_id = coco::category_id_of(0);
    let mut ignored = Ignored::default();
    let mut annotations = Vec::with_capacity(ds.annotations.len());
    for a in &ds.annotations {
        if a.category_id == basin.id {
            let mut a = a.clone();
            a.category_id = new_id;
            annotations.push(a);
        } else {
            let name = by_id
                .get(&a.category_id)
                .map_or_else(|| format!("category {}", a.category_id), |n| n.to_string());
            ignored.add(&name, 1);
        }
    }
    let out = CocoDataset {
        annotations,
        categories: vec![CocoCategory {
            id: new_id,
            ..basin.clone()
        }],
        ..ds.clone()
    };
    Ok((out, basin.id, ignored))
}

/// The detections of the basin class, under category id 1 as [`coco_basin_only`] relabels
/// the ground truth, and how many of other categories were left out. Detections that use
/// the ground truth's own basin id (`basin_id`, a tool that kept the file's categories) are
/// the basins when there are any; otherwise those of id 1 are (what `predict` and
/// `detect` write, whatever the file's categories).
pub fn coco_results_for_basin(
    results: &[coco::CocoResult],
    basin_id: u64,
) -> (Vec<coco::CocoResult>, usize) {
    let new_id = coco::category_id_of(0);
    let wanted = if results.iter().any(|r| r.category_id == basin_id) {
        basin_id
    } else {
        new_id
    };
    let kept: Vec<coco::CocoResult> = results
        .iter()
        .filter(|r| r.category_id == wanted)
        .map(|r| coco::CocoResult {
            category_id: new_id,
            ..*r
        })
        .collect();
    let dropped = results.len() - kept.len();
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{CocoAnnotation, CocoImage};
    use serde_json::Map;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn basin_class_by_name_any_case_or_chosen() {
        let p = Path::new("classes.txt");
        let n = names(&["building", "Mining_Subsidence", "road"]);
        assert_eq!(basin_class(&n, None, p).unwrap(), 1);
        assert_eq!(basin_class(&n, Some("ROAD"), p).unwrap(), 2);
        assert_eq!(basin_class(&names(&["subsidence"]), None, p).unwrap(), 0);
        let err = basin_class(&n, Some("river"), p).unwrap_err().to_string();
        assert!(
            err.contains("classes.txt") && err.contains("\"river\""),
            "{err}"
        );
        assert!(
            err.contains("\"building\", \"Mining_Subsidence\", \"road\""),
            "{err}"
        );
    }

    #[test]
    fn missing_basin_class_lists_the_names() {
        let err = basin_class(&names(&["building", "road"]), None, Path::new("data.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("data.yaml: no basin class"), "{err}");
        assert!(err.contains("\"building\", \"road\""), "{err}");
        assert!(err.contains("--class"), "{err}");
        let err = basin_class(&names(&["basin", "subsidence"]), None, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("several classes"), "{err}");
    }

    #[test]
    fn ignored_boxes_are_counted_per_class_name() {
        let mut ignored = Ignored::default();
        ignored.add("road", 2);
        ignored.add("building", 1);
        ignored.add("empty", 0);
        assert_eq!(ignored.total(), 3);
        assert_eq!(
            ignored.to_string(),
            "ignored 3 boxes of classes building, road"
        );
        let mut one = Ignored::default();
        one.add("road", 1);
        assert_eq!(one.to_string(), "ignored 1 box of class road");
        ignored.merge(&one);
        let counts: Vec<(&str, usize)> = ignored.counts().collect();
        assert_eq!(counts, [("building", 1), ("road", 3)]);
    }

    #[test]
    fn unnamed_classes_make_class_zero_the_basin() {
        let n = default_names(3);
        assert_eq!(n, names(&["basin", "class1", "class2"]));
        assert_eq!(basin_class(&n, None, Path::new("labels")).unwrap(), 0);
    }

    #[test]
    fn coco_keeps_the_basin_category_as_id_one() {
        let ann = |id, cat, iscrowd| CocoAnnotation {
            id,
            image_id: 1,
            category_id: cat,
            bbox: [0.0, 0.0, 2.0, 2.0],
            area: 4.0,
            iscrowd,
            extra: Map::new(),
        };
        let cat = |id, name: &str| CocoCategory {
            id,
            name: name.into(),
            supercategory: None,
            extra: Map::new(),
        };
        let ds = CocoDataset {
            info: None,
            images: vec![CocoImage {
                id: 1,
                file_name: "a.png".into(),
                width: 8,
                height: 8,
                extra: Map::new(),
            }],
            annotations: vec![ann(1, 7, 0), ann(2, 3, 0), ann(3, 3, 1), ann(4, 9, 0)],
            categories: vec![cat(7, "building"), cat(3, "Subsidence")],
            extra: Map::new(),
        };
        let (only, old, ignored) = coco_basin_only(&ds, None, Path::new("gt.json")).unwrap();
        assert_eq!(old, 3);
        assert_eq!(only.categories, vec![cat(1, "Subsidence")]);
        let kept: Vec<(u64, u64, u8)> = only
            .annotations
            .iter()
            .map(|a| (a.id, a.category_id, a.iscrowd))
            .collect();
        assert_eq!(kept, vec![(2, 1, 0), (3, 1, 1)]);
        assert_eq!(
            ignored.to_string(),
            "ignored 2 boxes of classes building, category 9"
        );
        let det = |cat| coco::CocoResult {
            image_id: 1,
            category_id: cat,
            bbox: [0.0, 0.0, 1.0, 1.0],
            score: 0.5,
        };
        // The file's own basin id (3) is used: those are the basins, the rest other classes.
        let (kept, dropped) = coco_results_for_basin(&[det(3), det(7), det(1)], old);
        assert_eq!((kept, dropped), (vec![det(1)], 2));
        // No detection with id 3: id 1 is the detector's basin.
        let (kept, dropped) = coco_results_for_basin(&[det(1), det(7)], old);
        assert_eq!((kept.len(), dropped), (1, 1));
        let err = coco_basin_only(&ds, Some("road"), Path::new("gt.json")).unwrap_err();
        assert!(
            err.to_string().contains("\"building\", \"Subsidence\""),
            "{err}"
        );
    }
}

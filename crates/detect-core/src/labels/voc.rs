//! Pascal VOC XML labels, laid out exactly as LabelImg writes them (lxml pretty print with
//! tabs, no XML declaration, `source/database` Unknown, `segmented` 0, `pose` Unspecified).
//!
//! Pixel convention: LabelImg stores the corners of the box it drew on the canvas as whole
//! numbers and reads them back as the same corner coordinates; its own YOLO export uses
//! `w = xmax − xmin` (no +1). So `xmin ymin xmax ymax` are box *edges* in our convention
//! (pixel c covers [c, c+1)), not the 1-based inclusive pixel indices of the original VOC
//! devkit. We read them as such (keeping fractions if a tool wrote any) and write them
//! rounded to the nearest integer.
//!
//! LabelImg also raises any `xmin`/`ymin` below 1 to 1 (a workaround for an old Faster R-CNN
//! loader) and sets `truncated` to 1 when a box reaches the image border; both are
//! reproduced, the first one switchable with [`VocMeta::clamp_min_to_one`].

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::{ImageLabels, LabelError, LabeledBox, read_text, write_text};
use crate::bbox::BBox;
use raster::xml::{Element, parse};

/// What a VOC file holds beyond the boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct VocMeta {
    /// `<folder>`: the name of the folder holding the picture.
    pub folder: String,
    /// `<path>`: the picture's path; LabelImg writes the absolute path, omitted when `None`.
    pub image_path: Option<String>,
    /// `<depth>`: 3 for colour pictures, 1 for grey.
    pub depth: u32,
    /// `<name>` of each class id.
    pub class_names: Vec<String>,
    /// Raise `xmin`/`ymin` below 1 to 1, as LabelImg does.
    pub clamp_min_to_one: bool,
}

impl VocMeta {
    /// LabelImg's behaviour for a colour picture in `folder` with the given classes.
    pub fn labelimg(folder: impl Into<String>, class_names: Vec<String>) -> Self {
        Self {
            folder: folder.into(),
            image_path: None,
            depth: 3,
            class_names,
            clamp_min_to_one: true,
        }
    }
}

/// The XML text LabelImg would write for `labels`. `path` only names the target in errors.
pub fn format_voc_xml(
    labels: &ImageLabels,
    meta: &VocMeta,
    path: &Path,
) -> Result<String, LabelError> {
    let mut s = String::new();
    s.push_str("<annotation>\n");
    tag(&mut s, 1, "folder", &meta.folder);
    tag(&mut s, 1, "filename", &labels.file_name);
    if let Some(p) = &meta.image_path {
        tag(&mut s, 1, "path", p);
    }
    s.push_str("\t<source>\n");
    tag(&mut s, 2, "database", "Unknown");
    s.push_str("\t</source>\n\t<size>\n");
    tag(&mut s, 2, "width", &labels.width.to_string());
    tag(&mut s, 2, "height", &labels.height.to_string());
    tag(&mut s, 2, "depth", &meta.depth.to_string());
    s.push_str("\t</size>\n");
    tag(&mut s, 1, "segmented", "0");
    for (i, b) in labels.boxes.iter().enumerate() {
        let name = meta.class_names.get(b.class_id).ok_or_else(|| {
            LabelError::invalid(
                path,
                format!(
                    "box #{i} has class {} but only {} class names are given",
                    b.class_id,
                    meta.class_names.len()
                ),
            )
        })?;
        write_object(&mut s, labels, b, name, meta.clamp_min_to_one);
    }
    s.push_str("</annotation>\n");
    Ok(s)
}

fn write_object(s: &mut String, labels: &ImageLabels, b: &LabeledBox, name: &str, clamp: bool) {
    let lo = if clamp { 1.0 } else { f64::NEG_INFINITY };
    let xmin = b.bbox.x1.round().max(lo) as i64;
    let ymin = b.bbox.y1.round().max(lo) as i64;
    let xmax = b.bbox.x2.round() as i64;
    let ymax = b.bbox.y2.round() as i64;
    // LabelImg's rule, verbatim: touching the far border or sitting at the clamped 1.
    let truncated = ymax == i64::from(labels.height)
        || ymin == 1
        || xmax == i64::from(labels.width)
        || xmin == 1;
    let difficult = b
        .extra
        .get("difficult")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    s.push_str("\t<object>\n");
    tag(s, 2, "name", name);
    tag(s, 2, "pose", "Unspecified");
    tag(s, 2, "truncated", if truncated { "1" } else { "0" });
    tag(s, 2, "difficult", if difficult { "1" } else { "0" });
    s.push_str("\t\t<bndbox>\n");
    for (k, v) in [
        ("xmin", xmin),
        ("ymin", ymin),
        ("xmax", xmax),
        ("ymax", ymax),
    ] {
        tag(s, 3, k, &v.to_string());
    }
    s.push_str("\t\t</bndbox>\n\t</object>\n");
}

fn tag(s: &mut String, depth: usize, name: &str, text: &str) {
    let _ = writeln!(
        s,
        "{}<{name}>{}</{name}>",
        "\t".repeat(depth),
        escape_text(text)
    );
}

/// Writes `labels` as a LabelImg VOC file.
pub fn write_voc_xml(path: &Path, labels: &ImageLabels, meta: &VocMeta) -> Result<(), LabelError> {
    let text = format_voc_xml(labels, meta, path)?;
    write_text(path, &text)
}

/// Reads a VOC file. Class names are looked up in `classes`; a name not there is added
/// when `allow_new`, an error otherwise.
pub fn read_voc_xml(
    path: &Path,
    classes: &mut Vec<String>,
    allow_new: bool,
) -> Result<ImageLabels, LabelError> {
    let text = read_text(path)?;
    parse_voc_xml(&text, path, classes, allow_new)
}

/// Parses VOC XML content; `path` only names the source in errors.
/// `truncated` and `difficult` land in each box's `extra` as booleans.
pub fn parse_voc_xml(
    text: &str,
    path: &Path,
    classes: &mut Vec<String>,
    allow_new: bool,
) -> Result<ImageLabels, LabelError> {
    let root = parse(text).map_err(|e| LabelError::line(path, e.line, e.message))?;
    if root.name != "annotation" {
        return Err(LabelError::line(
            path,
            root.line,
            format!("expected root element <annotation>, found <{}>", root.name),
        ));
    }
    let file_name = required(&root, "filename", path)?.text.trim().to_string();
    let size = required(&root, "size", path)?;
    let width = number::<u32>(size, "width", path)?;
    let height = number::<u32>(size, "height", path)?;
    let mut boxes = Vec::new();
    for (i, obj) in root.children_named("object").enumerate() {
        boxes.push(parse_object(
            obj, i, path, classes, allow_new, width, height,
        )?);
    }
    Ok(ImageLabels {
        file_name,
        width,
        height,
        boxes,
    })
}

fn parse_object(
    obj: &Element,
    index: usize,
    path: &Path,
    classes: &mut Vec<String>,
    allow_new: bool,
    width: u32,
    height: u32,
) -> Result<LabeledBox, LabelError> {
    let name = required(obj, "name", path)?.text.trim().to_string();
    let class_id = match classes.iter().position(|c| *c == name) {
        Some(id) => id,
        None if allow_new => {
            classes.push(name);
            classes.len() - 1
        }
        None => {
            return Err(LabelError::line(
                path,
                obj.line,
                format!("object #{index}: class {name:?} is not one of {classes:?}"),
            ));
        }
    };
    let bnd = required(obj, "bndbox", path)?;
    let xmin = number::<f64>(bnd, "xmin", path)?;
    let ymin = number::<f64>(bnd, "ymin", path)?;
    let xmax = number::<f64>(bnd, "xmax", path)?;
    let ymax = number::<f64>(bnd, "ymax", path)?;
    let bbox = BBox::new(xmin, ymin, xmax, ymax);
    if !bbox.is_proper() {
        return Err(LabelError::line(
            path,
            bnd.line,
            format!(
                "object #{index}: expected xmin < xmax and ymin < ymax, found {xmin} {ymin} {xmax} {ymax}"
            ),
        ));
    }
    let (w, h) = (f64::from(width), f64::from(height));
    // A zero size means the writer did not know it; the box cannot be checked then.
    let size_known = width > 0 && height > 0;
    if size_known && (xmin < 0.0 || ymin < 0.0 || xmax > w || ymax > h) {
        return Err(LabelError::line(
            path,
            bnd.line,
            format!(
                "object #{index}: box {xmin} {ymin} {xmax} {ymax} lies outside the {width}x{height} image"
            ),
        ));
    }
    let mut b = LabeledBox::new(bbox, class_id);
    for flag in ["truncated", "difficult"] {
        if let Some(el) = obj.child(flag) {
            let on = el.text.trim().parse::<i64>().map(|v| v != 0).map_err(|_| {
                LabelError::line(
                    path,
                    el.line,
                    format!("<{flag}> {:?} is not 0 or 1", el.text),
                )
            })?;
            b.extra.insert(flag.into(), Value::Bool(on));
        }
    }
    Ok(b)
}

fn required<'a>(parent: &'a Element, name: &str, path: &Path) -> Result<&'a Element, LabelError> {
    parent.child(name).ok_or_else(|| {
        LabelError::line(
            path,
            parent.line,
            format!("<{}> has no <{name}> element", parent.name),
        )
    })
}

fn number<T: std::str::FromStr>(
    parent: &Element,
    name: &str,
    path: &Path,
) -> Result<T, LabelError> {
    let el = required(parent, name, path)?;
    el.text.trim().parse::<T>().map_err(|_| {
        LabelError::line(
            path,
            el.line,
            format!(
                "<{name}> {:?} is not a {}",
                el.text,
                std::any::type_name::<T>()
            ),
        )
    })
}

/// Escapes text content the way lxml serialises it (`&`, `<`, `>`).
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELIMG: &str = "<annotation>\n\t<folder>images</folder>\n\t<filename>t_0001.png</filename>\n\t<path>/data/images/t_0001.png</path>\n\t<source>\n\t\t<database>Unknown</database>\n\t</source>\n\t<size>\n\t\t<width>416</width>\n\t\t<height>416</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n\t<object>\n\t\t<name>basin</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>34</xmin>\n\t\t\t<ymin>50</ymin>\n\t\t\t<xmax>120</xmax>\n\t\t\t<ymax>131</ymax>\n\t\t</bndbox>\n\t</object>\n\t<object>\n\t\t<name>basin</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>1</truncated>\n\t\t<difficult>0</difficult>\n\t\t<bndbox>\n\t\t\t<xmin>1</xmin>\n\t\t\t<ymin>300</ymin>\n\t\t\t<xmax>60</xmax>\n\t\t\t<ymax>416</ymax>\n\t\t</bndbox>\n\t</object>\n</annotation>\n";

    fn sample() -> ImageLabels {
        ImageLabels {
            file_name: "t_0001.png".into(),
            width: 416,
            height: 416,
            boxes: vec![
                LabeledBox::new(BBox::new(33.6, 50.2, 120.4, 130.5), 0),
                LabeledBox::new(BBox::new(0.0, 300.0, 60.0, 416.0), 0),
            ],
        }
    }

    fn meta() -> VocMeta {
        VocMeta {
            image_path: Some("/data/images/t_0001.png".into()),
            ..VocMeta::labelimg("images", vec!["basin".into()])
        }
    }

    #[test]
    fn writes_byte_for_byte_what_labelimg_writes() {
        let s = format_voc_xml(&sample(), &meta(), Path::new("t.xml")).unwrap();
        assert_eq!(s, LABELIMG);
    }

    #[test]
    fn reads_labelimg_file() {
        let mut classes = vec!["basin".to_string()];
        let l = parse_voc_xml(LABELIMG, Path::new("t.xml"), &mut classes, false).unwrap();
        assert_eq!(l.file_name, "t_0001.png");
        assert_eq!((l.width, l.height), (416, 416));
        assert_eq!(l.boxes.len(), 2);
        assert_eq!(l.boxes[0].bbox, BBox::new(34.0, 50.0, 120.0, 131.0));
        assert_eq!(l.boxes[1].extra["truncated"], Value::Bool(true));
        assert_eq!(l.boxes[1].extra["difficult"], Value::Bool(false));
    }

    #[test]
    fn round_trip_of_integer_boxes_without_clamp() {
        let mut l = sample();
        l.boxes[0].bbox = BBox::new(34.0, 50.0, 120.0, 131.0);
        let m = VocMeta {
            clamp_min_to_one: false,
            ..meta()
        };
        let s = format_voc_xml(&l, &m, Path::new("t.xml")).unwrap();
        let mut classes = Vec::new();
        let back = parse_voc_xml(&s, Path::new("t.xml"), &mut classes, true).unwrap();
        assert_eq!(classes, vec!["basin".to_string()]);
        let got: Vec<BBox> = back.boxes.iter().map(|b| b.bbox).collect();
        assert_eq!(got, vec![l.boxes[0].bbox, l.boxes[1].bbox]);
    }

    #[test]
    fn unknown_class_names_the_line() {
        let mut classes = vec!["other".to_string()];
        let err = parse_voc_xml(LABELIMG, Path::new("t.xml"), &mut classes, false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.xml, line 14"), "{msg}");
        assert!(msg.contains("\"basin\""), "{msg}");
    }

    #[test]
    fn missing_coordinate_is_reported() {
        let text = LABELIMG.replace("\t\t\t<ymax>131</ymax>\n", "");
        let mut classes = vec!["basin".to_string()];
        let err = parse_voc_xml(&text, Path::new("t.xml"), &mut classes, false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("<bndbox> has no <ymax>"), "{msg}");
        assert!(msg.contains("line 19"), "{msg}");
    }

    #[test]
    fn box_outside_the_image_is_rejected() {
        let text = LABELIMG.replace("<xmax>120</xmax>", "<xmax>500</xmax>");
        let mut classes = vec!["basin".to_string()];
        let err = parse_voc_xml(&text, Path::new("t.xml"), &mut classes, false).unwrap_err();
        assert!(
            err.to_string().contains("outside the 416x416 image"),
            "{err}"
        );
    }

    #[test]
    fn inverted_box_is_rejected() {
        let text = LABELIMG.replace("<xmax>120</xmax>", "<xmax>20</xmax>");
        let mut classes = vec!["basin".to_string()];
        let err = parse_voc_xml(&text, Path::new("t.xml"), &mut classes, false).unwrap_err();
        assert!(err.to_string().contains("xmin < xmax"), "{err}");
    }

    #[test]
    fn special_characters_are_escaped() {
        let mut l = sample();
        l.file_name = "a&b<c>.png".into();
        l.boxes.clear();
        let s = format_voc_xml(&l, &meta(), Path::new("t.xml")).unwrap();
        assert!(s.contains("<filename>a&amp;b&lt;c&gt;.png</filename>"));
        let back = parse_voc_xml(&s, Path::new("t.xml"), &mut Vec::new(), true).unwrap();
        assert_eq!(back.file_name, "a&b<c>.png");
    }
}

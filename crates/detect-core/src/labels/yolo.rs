//! YOLO txt labels: one line per object, `class cx cy w h`, all four normalised by the image
//! width/height, written with 6 decimals (as YOLOv5 and LabelImg's YOLO mode write them).
//! Ultralytics' segment lines (`class x1 y1 x2 y2 x3 y3 …`, normalised) are read as the box
//! around the polygon, as Ultralytics trains a detector on them.

use std::fmt::Write as _;
use std::path::Path;

use super::{ImageLabels, LabelError, LabeledBox, read_text, write_text};
use crate::bbox::BBox;

/// Slack for boxes that poke out of [0, 1] only through the 6-decimal rounding
/// (each printed value is off by at most 5e-7, so an edge by at most 7.5e-7).
const EDGE_TOLERANCE: f64 = 1e-5;

/// The file content for `labels` (boxes clipped to the image first).
///
/// A box with no area inside the image cannot be expressed and is an error.
pub fn format_yolo_txt(labels: &ImageLabels, path: &Path) -> Result<String, LabelError> {
    let (w, h) = (f64::from(labels.width), f64::from(labels.height));
    if labels.width == 0 || labels.height == 0 {
        return Err(LabelError::invalid(
            path,
            format!(
                "image size {}x{} must be positive",
                labels.width, labels.height
            ),
        ));
    }
    let mut out = String::new();
    for (i, b) in labels.boxes.iter().enumerate() {
        let c = b.bbox.clip(w, h);
        if !c.is_proper() {
            return Err(LabelError::invalid(
                path,
                format!("box #{i} {:?} has no area inside the {w}x{h} image", b.bbox),
            ));
        }
        let [cx, cy, bw, bh] = c.to_cxcywh();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{} {:.6} {:.6} {:.6} {:.6}",
            b.class_id,
            cx / w,
            cy / h,
            bw / w,
            bh / h
        );
    }
    Ok(out)
}

/// Writes `labels` as a YOLO txt file.
pub fn write_yolo_txt(path: &Path, labels: &ImageLabels) -> Result<(), LabelError> {
    let text = format_yolo_txt(labels, path)?;
    write_text(path, &text)
}

/// Reads a YOLO txt file for an image of `width` × `height` pixels into pixel boxes.
pub fn read_yolo_txt(path: &Path, width: u32, height: u32) -> Result<Vec<LabeledBox>, LabelError> {
    let text = read_text(path)?;
    parse_yolo_txt(&text, path, width, height)
}

/// Parses YOLO txt content; `path` only names the source in errors.
/// Blank lines are allowed; every other line must be `class cx cy w h`.
pub fn parse_yolo_txt(
    text: &str,
    path: &Path,
    width: u32,
    height: u32,
) -> Result<Vec<LabeledBox>, LabelError> {
    let mut boxes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let b =
            parse_line(line, width, height).map_err(|msg| LabelError::line(path, i + 1, msg))?;
        boxes.push(b);
    }
    Ok(boxes)
}

fn parse_line(line: &str, width: u32, height: u32) -> Result<LabeledBox, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let n = fields.len();
    // Ultralytics also writes segment labels, `class x1 y1 x2 y2 x3 y3 …`: the box around
    // the polygon is the object's box (its `segments2boxes`).
    let is_polygon = n >= 7 && n % 2 == 1;
    if n != 5 && !is_polygon {
        return Err(format!(
            "expected 5 fields `class cx cy w h` (or a polygon `class x1 y1 x2 y2 x3 y3 …`), \
             found {n}: {line:?}"
        ));
    }
    let class_id: usize = fields[0]
        .parse()
        .map_err(|_| format!("class {:?} is not a non-negative integer", fields[0]))?;
    let values = fields[1..]
        .iter()
        .enumerate()
        .map(|(k, s)| {
            s.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("{} {s:?} is not a number", field_name(is_polygon, k)))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    let [x1, y1, x2, y2] = if is_polygon {
        polygon_bounds(&values)
    } else {
        let [cx, cy, w, h] = [values[0], values[1], values[2], values[3]];
        if w <= 0.0 || h <= 0.0 {
            return Err(format!("width {w} and height {h} must be positive"));
        }
        [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
    };
    if x2 <= x1 || y2 <= y1 {
        return Err(format!("the polygon {line:?} encloses no area"));
    }
    let outside = x1 < -EDGE_TOLERANCE
        || y1 < -EDGE_TOLERANCE
        || x2 > 1.0 + EDGE_TOLERANCE
        || y2 > 1.0 + EDGE_TOLERANCE;
    if outside {
        return Err(format!(
            "box {line:?} reaches outside the image (normalised values must keep it in [0, 1])"
        ));
    }
    let (fw, fh) = (f64::from(width), f64::from(height));
    let bbox = if is_polygon {
        BBox::new(x1 * fw, y1 * fh, x2 * fw, y2 * fh)
    } else {
        BBox::from_cxcywh(
            values[0] * fw,
            values[1] * fh,
            values[2] * fw,
            values[3] * fh,
        )
    };
    Ok(LabeledBox::new(bbox.clip(fw, fh), class_id))
}

fn field_name(polygon: bool, k: usize) -> String {
    match (polygon, k) {
        (false, _) => ["cx", "cy", "w", "h"]
            .get(k)
            .unwrap_or(&"value")
            .to_string(),
        (true, k) if k % 2 == 0 => format!("x{}", k / 2 + 1),
        (true, k) => format!("y{}", k / 2 + 1),
    }
}

/// `[x1, y1, x2, y2]` around the points `x, y, x, y, …`.
fn polygon_bounds(xy: &[f64]) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in xy.chunks_exact(2) {
        b = [
            b[0].min(p[0]),
            b[1].min(p[1]),
            b[2].max(p[0]),
            b[3].max(p[1]),
        ];
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(boxes: Vec<LabeledBox>) -> ImageLabels {
        ImageLabels {
            file_name: "a.png".into(),
            width: 416,
            height: 208,
            boxes,
        }
    }

    #[test]
    fn writes_six_decimals_normalised() {
        let l = labels(vec![LabeledBox::new(BBox::new(0.0, 0.0, 208.0, 52.0), 0)]);
        let s = format_yolo_txt(&l, Path::new("a.txt")).unwrap();
        assert_eq!(s, "0 0.250000 0.125000 0.500000 0.250000\n");
    }

    #[test]
    fn round_trip_is_within_rounding() {
        let b = BBox::new(13.3, 7.7, 100.1, 150.9);
        let l = labels(vec![LabeledBox::new(b, 2)]);
        let s = format_yolo_txt(&l, Path::new("a.txt")).unwrap();
        let back = parse_yolo_txt(&s, Path::new("a.txt"), 416, 208).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].class_id, 2);
        let r = back[0].bbox;
        for (x, y) in [(r.x1, b.x1), (r.y1, b.y1), (r.x2, b.x2), (r.y2, b.y2)] {
            assert!((x - y).abs() < 416.0 * 1e-6, "{x} vs {y}");
        }
    }

    #[test]
    fn skips_blank_lines_and_reports_bad_line_number() {
        let text = "0 0.5 0.5 0.1 0.1\n\n0 0.5 0.5 0.1\n";
        let err = parse_yolo_txt(text, Path::new("x.txt"), 10, 10).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x.txt, line 3"), "{msg}");
        assert!(msg.contains("expected 5 fields"), "{msg}");
    }

    #[test]
    fn polygon_lines_give_the_box_around_them() {
        // A triangle (0.1, 0.2), (0.5, 0.8), (0.3, 0.4) in a 100×50 image.
        let b = parse_yolo_txt("3 0.1 0.2 0.5 0.8 0.3 0.4\n", Path::new("s.txt"), 100, 50).unwrap();
        assert_eq!(b[0].class_id, 3);
        let r = b[0].bbox;
        for (got, want) in [(r.x1, 10.0), (r.y1, 10.0), (r.x2, 50.0), (r.y2, 40.0)] {
            assert!((got - want).abs() < 1e-9, "{r:?}");
        }
        let err =
            parse_yolo_txt("0 0.1 0.1 0.1 0.1 0.1 0.1", Path::new("s.txt"), 9, 9).unwrap_err();
        assert!(err.to_string().contains("no area"), "{err}");
        let err = parse_yolo_txt("0 0.1 0.2 0.5 0.8 0.3 x", Path::new("s.txt"), 9, 9).unwrap_err();
        assert!(err.to_string().contains("y3 \"x\""), "{err}");
        // Six fields are neither a box nor a polygon.
        let err = parse_yolo_txt("0 0.1 0.2 0.5 0.8 0.3", Path::new("s.txt"), 9, 9).unwrap_err();
        assert!(err.to_string().contains("found 6"), "{err}");
    }

    #[test]
    fn rejects_negative_width() {
        let err = parse_yolo_txt("0 0.5 0.5 -0.1 0.1", Path::new("n.txt"), 10, 10).unwrap_err();
        assert!(err.to_string().contains("must be positive"), "{err}");
    }

    #[test]
    fn rejects_box_outside_image() {
        let err = parse_yolo_txt("0 0.95 0.5 0.2 0.1", Path::new("o.txt"), 10, 10).unwrap_err();
        assert!(err.to_string().contains("outside the image"), "{err}");
    }

    #[test]
    fn rejects_non_numbers_and_bad_class() {
        let err = parse_yolo_txt("0 0.5 abc 0.2 0.1", Path::new("o.txt"), 10, 10).unwrap_err();
        assert!(err.to_string().contains("cy \"abc\""), "{err}");
        let err = parse_yolo_txt("-1 0.5 0.5 0.2 0.1", Path::new("o.txt"), 10, 10).unwrap_err();
        assert!(err.to_string().contains("class"), "{err}");
    }

    #[test]
    fn writing_a_box_outside_the_image_fails() {
        let l = labels(vec![LabeledBox::new(BBox::new(500.0, 0.0, 600.0, 10.0), 0)]);
        assert!(format_yolo_txt(&l, Path::new("a.txt")).is_err());
    }
}

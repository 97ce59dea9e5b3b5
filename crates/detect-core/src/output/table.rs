//! The basins as CSV: one row per basin with its pixel box, centroid in the scene's
//! coordinates, ground size in metres, the CRS of the centroid, then every statistic any
//! basin carries.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::frame::Frame;
use super::measure::measure;
use super::{Basin, MEASURE_KEYS, OutputError, measure_values, stat_keys, write_whole};

/// The CSV text: `id,score,x1,y1,x2,y2,centroid_x,centroid_y,width_m,height_m,area_m2,crs`
/// then the statistics (sorted by name; empty where a basin lacks one). `crs` names what
/// the centroid is in (`EPSG:32650`, or a sentence for an unknown CRS or pixel geometry);
/// the sizes are empty where they cannot be known in metres.
pub fn csv(basins: &[Basin], frame: &Frame) -> Result<String, OutputError> {
    let keys = stat_keys(basins);
    let mut s = String::from("id,score,x1,y1,x2,y2,centroid_x,centroid_y");
    for k in MEASURE_KEYS
        .iter()
        .chain(&["crs"])
        .copied()
        .chain(keys.iter().map(String::as_str))
    {
        s.push(',');
        s.push_str(&csv_field(k));
    }
    s.push('\n');
    let crs = csv_field(&match frame.crs().code() {
        Some(_) => frame.crs().label(),
        None => frame.crs().note(),
    });
    for (i, b) in basins.iter().enumerate() {
        let bb = &b.det.bbox;
        let [cx, cy] = bb.center();
        let c = frame.native(cx, cy);
        let m = measure(bb, frame)?;
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{}",
            i + 1,
            b.det.score,
            bb.x1,
            bb.y1,
            bb.x2,
            bb.y2,
            c[0],
            c[1]
        );
        for v in measure_values(m) {
            s.push(',');
            if let Some(v) = v {
                let _ = write!(s, "{v}");
            }
        }
        s.push(',');
        s.push_str(&crs);
        for k in &keys {
            s.push(',');
            s.push_str(&b.stats.get(k).map_or(String::new(), value_field));
        }
        s.push('\n');
    }
    Ok(s)
}

fn value_field(v: &Value) -> String {
    match v {
        Value::String(t) => csv_field(t),
        Value::Null => String::new(),
        other => csv_field(&other.to_string()),
    }
}

/// RFC 4180 quoting where needed.
fn csv_field(t: &str) -> String {
    if t.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", t.replace('"', "\"\""))
    } else {
        t.to_string()
    }
}

/// Writes [`csv`] to `path` (whole or not at all).
pub fn write_csv(path: &Path, basins: &[Basin], frame: &Frame) -> Result<(), OutputError> {
    write_whole(path, csv(basins, frame)?)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::basin;
    use super::*;
    use raster::{GeoInfo, GeoTransform};
    use serde_json::json;

    #[test]
    fn lists_all_stats_quotes_and_names_pixel_geometry() {
        let mut a = basin(0.0, 0.0, 10.0, 10.0, 0.5);
        a.stats.insert("note".into(), json!("a, \"b\""));
        // Sizes in the stats are the computed ones' business, not a second column.
        a.stats.insert("width_m".into(), json!(1.0));
        let mut b = basin(20.0, 0.0, 30.0, 10.0, 0.25);
        b.stats.insert("fringes".into(), json!(3));
        let text = csv(&[a, b], &Frame::new(None)).expect("csv");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "id,score,x1,y1,x2,y2,centroid_x,centroid_y,width_m,height_m,area_m2,crs,fringes,note"
        );
        let pixel = csv_field(super::super::crs::PIXEL_NOTE);
        assert!(pixel.starts_with('"'), "the note has commas: quoted");
        assert_eq!(
            lines[1],
            format!("1,0.5,0,0,10,10,5,-5,,,,{pixel},,\"a, \"\"b\"\"\"")
        );
        assert_eq!(lines[2], format!("2,0.25,20,0,30,10,25,-5,,,,{pixel},3,"));
    }

    #[test]
    fn georeferenced_rows_have_metres_and_the_code() {
        let geo = GeoInfo::new(
            GeoTransform::north_up(500_000.0, 4_000_000.0, 20.0, -20.0),
            Some(32650),
        );
        let text = csv(&[basin(0.0, 0.0, 50.0, 25.0, 0.5)], &Frame::new(Some(&geo))).expect("csv");
        let row: Vec<&str> = text.lines().nth(1).expect("a row").split(',').collect();
        assert_eq!(&row[6..8], ["500500", "3999750"]);
        let num = |i: usize| row[i].parse::<f64>().expect("a number");
        // Ground sizes on UTM's central meridian: grid / 0.9996.
        assert!((num(8) - 1000.0 / 0.9996).abs() < 0.01, "{}", row[8]);
        assert!((num(9) - 500.0 / 0.9996).abs() < 0.01, "{}", row[9]);
        assert_eq!(row[11], "EPSG:32650");
    }
}

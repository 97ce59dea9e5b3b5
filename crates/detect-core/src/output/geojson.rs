//! The basins as a GeoJSON FeatureCollection.
//!
//! By default RFC 7946: WGS84 longitude, latitude (degrees), counter-clockwise exterior
//! rings, no `crs` member, box edges densified to follow the projected box to
//! [`RING_TOLERANCE_PX`]. In native coordinates (`--geojson-native`, and whenever the CRS
//! cannot be reprojected) the 2008 `crs` member names the CRS as GDAL and QGIS read it:
//! `urn:ogc:def:crs:EPSG::<code>`, or for an unknown CRS and pixel geometry an undefined
//! Cartesian CRS — without it GDAL (so QGIS) would take the coordinates for degrees.
//! Top-level `yolo_basin:*` members say in words and codes what the coordinates are.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::frame::{Frame, RING_TOLERANCE_PX};
use super::measure::{Measures, measure};
use super::{Basin, MEASURE_KEYS, OutputError, measure_values, write_whole};

/// The `crs` member GDAL reads as an undefined Cartesian CRS: the same CRS it reads from a
/// GeoPackage's srs_id −1, so both layers open alike.
const UNDEFINED_CARTESIAN: &str = "LOCAL_CS[\"Undefined Cartesian SRS\"]";

/// Which coordinates the GeoJSON holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoJsonCoords {
    /// RFC 7946: WGS84 longitude, latitude, where the scene's CRS reprojects.
    Wgs84,
    /// The scene's own CRS, named in a `crs` member.
    Native,
}

/// The GeoJSON of the basins in `coords` (native where the CRS does not reproject).
pub fn geojson_in(
    basins: &[Basin],
    frame: &Frame,
    coords: GeoJsonCoords,
) -> Result<Value, OutputError> {
    let wgs84 = frame.wgs84().filter(|_| coords == GeoJsonCoords::Wgs84);
    let crs = frame.crs();
    let mut fc = Map::new();
    fc.insert("type".into(), json!("FeatureCollection"));
    let (label, note) = match wgs84 {
        Some(_) => (
            "OGC:CRS84".to_string(),
            format!(
                "WGS 84 longitude, latitude in degrees (RFC 7946), reprojected from {}",
                crs.note()
            ),
        ),
        None => (crs.label(), crs.note()),
    };
    fc.insert("yolo_basin:crs".into(), json!(label));
    fc.insert("yolo_basin:scene_crs".into(), json!(crs.label()));
    fc.insert("yolo_basin:coordinates".into(), json!(note));
    if wgs84.is_none() {
        let name = match crs.code() {
            Some(4326) => None,
            Some(code) => Some(format!("urn:ogc:def:crs:EPSG::{code}")),
            None => Some(UNDEFINED_CARTESIAN.to_string()),
        };
        if let Some(name) = name {
            fc.insert(
                "crs".into(),
                json!({"type": "name", "properties": {"name": name}}),
            );
        }
    }
    let mut features = Vec::with_capacity(basins.len());
    for (i, b) in basins.iter().enumerate() {
        let bb = &b.det.bbox;
        let [cx, cy] = bb.center();
        let (ring, centroid) = match wgs84 {
            Some(w) => (w.ring(bb, RING_TOLERANCE_PX)?, w.lonlat(cx, cy)?),
            None => (frame.native_ring(bb), frame.native(cx, cy)),
        };
        let m = measure(bb, frame)?;
        features.push(feature(i, b, ring, centroid, m));
    }
    fc.insert("features".into(), Value::Array(features));
    Ok(Value::Object(fc))
}

fn feature(
    i: usize,
    b: &Basin,
    ring: Vec<[f64; 2]>,
    centroid: [f64; 2],
    m: Option<Measures>,
) -> Value {
    let bb = &b.det.bbox;
    let mut props = Map::new();
    props.insert("id".into(), json!(i + 1));
    props.insert("score".into(), json!(b.det.score));
    props.insert("pixel_box".into(), json!([bb.x1, bb.y1, bb.x2, bb.y2]));
    props.insert("centroid".into(), json!(centroid));
    for (k, v) in MEASURE_KEYS.iter().zip(measure_values(m)) {
        props.insert((*k).into(), json!(v));
    }
    for (k, v) in b
        .stats
        .iter()
        .filter(|(k, _)| !MEASURE_KEYS.contains(&k.as_str()))
    {
        props.insert(k.clone(), v.clone());
    }
    json!({
        "type": "Feature",
        "id": i + 1,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": props,
    })
}

/// Writes [`geojson_in`] to `path` (whole or not at all).
pub fn write_geojson(
    path: &Path,
    basins: &[Basin],
    frame: &Frame,
    coords: GeoJsonCoords,
) -> Result<(), OutputError> {
    let text =
        serde_json::to_string_pretty(&geojson_in(basins, frame, coords)?).map_err(|cause| {
            OutputError::Json {
                path: path.to_path_buf(),
                cause,
            }
        })?;
    write_whole(path, text)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{UTM, basin};
    use super::super::frame::signed_area;
    use super::*;
    use raster::{GeoInfo, GeoTransform};

    #[test]
    fn rfc7946_by_default_native_with_crs_member_on_request() {
        let mut b = basin(0.0, 0.0, 10.0, 10.0, 0.9);
        b.stats.insert("max_los_mm".into(), json!(-31.5));
        let frame = Frame::new(Some(&UTM));
        let v = geojson_in(std::slice::from_ref(&b), &frame, GeoJsonCoords::Wgs84).expect("ok");
        assert!(v.get("crs").is_none(), "RFC 7946 has no crs member");
        assert_eq!(v["yolo_basin:crs"], "OGC:CRS84");
        assert_eq!(v["yolo_basin:scene_crs"], "EPSG:32650");
        let f = &v["features"][0];
        let ring: Vec<[f64; 2]> =
            serde_json::from_value(f["geometry"]["coordinates"][0].clone()).expect("ring");
        assert!(signed_area(&ring) > 0.0, "right-hand rule");
        // The box's north-west corner: pixel (0, 0) = (500 000 E, 4 000 000 N) in UTM 50N
        // is on the central meridian, 117° E.
        assert!(
            ring.iter()
                .any(|p| (p[0] - 117.0).abs() < 1e-12 && p[1] > 36.0)
        );
        assert_eq!(f["properties"]["score"], 0.9);
        assert_eq!(f["properties"]["max_los_mm"], -31.5);
        assert_eq!(f["properties"]["pixel_box"], json!([0.0, 0.0, 10.0, 10.0]));
        let area = f["properties"]["area_m2"].as_f64().expect("area");
        assert!(
            (area / 40_000.0 - 1.0 / 0.9996 / 0.9996).abs() < 1e-5,
            "{area}"
        );

        let native = geojson_in(&[b], &frame, GeoJsonCoords::Native).expect("ok");
        assert_eq!(
            native["crs"]["properties"]["name"],
            "urn:ogc:def:crs:EPSG::32650"
        );
        assert_eq!(native["yolo_basin:crs"], "EPSG:32650");
        let ring = &native["features"][0]["geometry"]["coordinates"][0];
        assert_eq!(ring.as_array().map(Vec::len), Some(5));
        assert!(
            ring.as_array()
                .is_some_and(|r| r.contains(&json!([500_200.0, 3_999_800.0])))
        );
    }

    #[test]
    fn unknown_crs_and_pixel_geometry_say_so() {
        let b = basin(0.0, 0.0, 10.0, 10.0, 0.9);
        let unknown = Frame::new(Some(&GeoInfo { epsg: None, ..UTM }));
        let v = geojson_in(std::slice::from_ref(&b), &unknown, GeoJsonCoords::Wgs84).expect("ok");
        assert_eq!(v["yolo_basin:crs"], "unknown");
        assert_eq!(v["crs"]["properties"]["name"], UNDEFINED_CARTESIAN);
        let f = &v["features"][0];
        assert_eq!(f["properties"]["area_m2"], Value::Null);
        assert_eq!(f["properties"]["centroid"], json!([500_100.0, 3_999_900.0]));

        let v = geojson_in(&[b], &Frame::new(None), GeoJsonCoords::Wgs84).expect("ok");
        assert_eq!(v["yolo_basin:crs"], "pixel");
        assert!(
            v["yolo_basin:coordinates"]
                .as_str()
                .is_some_and(|s| s.contains("radar geometry"))
        );
        assert_eq!(v["crs"]["properties"]["name"], UNDEFINED_CARTESIAN);
        assert_eq!(
            v["features"][0]["properties"]["centroid"],
            json!([5.0, -5.0])
        );
    }

    #[test]
    fn wgs84_scene_needs_no_crs_member_either_way() {
        let wgs = GeoInfo::new(
            GeoTransform::north_up(18.0, 50.0, 0.001, -0.001),
            Some(4326),
        );
        let frame = Frame::new(Some(&wgs));
        let b = basin(0.0, 0.0, 10.0, 10.0, 0.9);
        for coords in [GeoJsonCoords::Wgs84, GeoJsonCoords::Native] {
            let v = geojson_in(std::slice::from_ref(&b), &frame, coords).expect("ok");
            assert!(v.get("crs").is_none());
            let c = &v["features"][0]["properties"]["centroid"];
            assert!((c[0].as_f64().unwrap_or(0.0) - 18.005).abs() < 1e-12, "{c}");
        }
    }
}

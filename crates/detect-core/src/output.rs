//! Scene detections out: GeoJSON (opens in QGIS), CSV and COCO results.
//!
//! Pixel boxes become map polygons through a GDAL geotransform (pixel-corner convention:
//! `X = t0 + px·t1 + py·t2`, `Y = t3 + px·t4 + py·t5`). The GeoJSON carries a `crs` member
//! `urn:ogc:def:crs:EPSG::<code>` (the 2008 GeoJSON form GDAL and QGIS read) except for
//! EPSG:4326, where RFC 7946's default (WGS84 longitude, latitude) applies and none is written.
//! Georeferencing is raster's [`GeoInfo`] (its transform is always the pixel-corner one), and
//! whether a CRS counts in degrees is raster's one answer, [`GeoInfo::is_geographic`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use raster::GeoInfo;
use serde_json::{Map, Value, json};

use crate::bbox::{BBox, Detection};
use crate::labels::CocoResult;

/// WGS84 semi-major axis and first eccentricity squared.
const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 6.694_379_990_141_316e-3;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {cause}", path.display())]
    Json {
        path: PathBuf,
        cause: serde_json::Error,
    },
}

/// One detected basin with any per-basin statistics to publish (depth, fringe count, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Basin {
    pub det: Detection,
    pub stats: Map<String, Value>,
}

impl Basin {
    /// The basin with the figures a geodesist reads first: its box's ground width and height
    /// in metres (`width_m`, `height_m`), where the CRS counts in metres.
    pub fn sized(det: Detection, geo: Option<&GeoInfo>) -> Self {
        let mut b = Self::from(det);
        if let Some(g) = geo.filter(|g| !g.is_geographic()) {
            let (dx, dy) = g.transform.pixel_size();
            b.stats
                .insert("width_m".into(), (det.bbox.width() * dx.abs()).into());
            b.stats
                .insert("height_m".into(), (det.bbox.height() * dy.abs()).into());
        }
        b
    }
}

impl From<Detection> for Basin {
    fn from(det: Detection) -> Self {
        Self {
            det,
            stats: Map::new(),
        }
    }
}

/// The box as a closed ring in map coordinates, counter-clockwise (RFC 7946's right-hand
/// rule), or in pixels when there is no georeference.
pub fn box_ring(b: &BBox, geo: Option<&GeoInfo>) -> Vec<[f64; 2]> {
    let corners = [
        (b.x1, b.y1),
        (b.x2, b.y1),
        (b.x2, b.y2),
        (b.x1, b.y2),
        (b.x1, b.y1),
    ];
    let mut ring: Vec<[f64; 2]> = corners
        .iter()
        .map(|&(x, y)| geo.map_or([x, y], |g| g.pixel_to_map(x, y)))
        .collect();
    if signed_area(&ring) < 0.0 {
        ring.reverse();
    }
    ring
}

/// Shoelace area of a closed ring, positive when counter-clockwise.
fn signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

/// Centroid of a ring's vertices (the corners of a parallelogram: its centre).
fn ring_centroid(ring: &[[f64; 2]]) -> [f64; 2] {
    let n = (ring.len() - 1).max(1) as f64;
    let (sx, sy) = ring[..ring.len().saturating_sub(1)]
        .iter()
        .fold((0.0, 0.0), |(sx, sy), p| (sx + p[0], sy + p[1]));
    [sx / n, sy / n]
}

/// Ground area in m² of a ring in the CRS of `geo`: planar for projected CRSs (metres),
/// degrees scaled by the WGS84 meridian and parallel radii at the centroid's latitude for
/// geographic ones (exact to well under 0.1 % for basin-sized boxes).
pub fn ring_area_m2(ring: &[[f64; 2]], geo: &GeoInfo) -> f64 {
    let a = signed_area(ring).abs();
    if !geo.is_geographic() {
        return a;
    }
    let lat = ring_centroid(ring)[1].to_radians();
    let s2 = lat.sin().powi(2);
    let w = (1.0 - WGS84_E2 * s2).sqrt();
    let meridian = WGS84_A * (1.0 - WGS84_E2) / (w * w * w);
    let normal = WGS84_A / w;
    let per_deg = std::f64::consts::PI / 180.0;
    a * (per_deg * meridian) * (per_deg * normal * lat.cos())
}

/// A GeoJSON FeatureCollection of the basins' boxes.
pub fn geojson(basins: &[Basin], geo: Option<&GeoInfo>) -> Value {
    let features: Vec<Value> = basins
        .iter()
        .enumerate()
        .map(|(i, b)| feature(i, b, geo))
        .collect();
    let mut fc = Map::new();
    fc.insert("type".into(), json!("FeatureCollection"));
    if let Some(code) = geo.and_then(|g| g.epsg).filter(|&c| c != 4326) {
        fc.insert(
            "crs".into(),
            json!({"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{code}")}}),
        );
    }
    fc.insert("features".into(), Value::Array(features));
    Value::Object(fc)
}

fn feature(i: usize, b: &Basin, geo: Option<&GeoInfo>) -> Value {
    let ring = box_ring(&b.det.bbox, geo);
    let bb = &b.det.bbox;
    let mut props = Map::new();
    props.insert("id".into(), json!(i + 1));
    props.insert("score".into(), json!(b.det.score));
    props.insert("pixel_box".into(), json!([bb.x1, bb.y1, bb.x2, bb.y2]));
    props.insert("centroid".into(), json!(ring_centroid(&ring)));
    props.insert(
        "area_m2".into(),
        geo.map_or(Value::Null, |g| json!(ring_area_m2(&ring, g))),
    );
    for (k, v) in &b.stats {
        props.insert(k.clone(), v.clone());
    }
    json!({
        "type": "Feature",
        "id": i + 1,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": props,
    })
}

/// Writes [`geojson`] to `path`.
pub fn write_geojson(
    path: &Path,
    basins: &[Basin],
    geo: Option<&GeoInfo>,
) -> Result<(), OutputError> {
    let text =
        serde_json::to_string_pretty(&geojson(basins, geo)).map_err(|cause| OutputError::Json {
            path: path.to_path_buf(),
            cause,
        })?;
    raster::atomic::write(path, text).map_err(|cause| OutputError::Io {
        path: path.to_path_buf(),
        cause,
    })
}

/// One row per basin: id, score, pixel box, map centroid, area, then every statistic any
/// basin has (sorted by name; empty where a basin lacks it).
pub fn csv(basins: &[Basin], geo: Option<&GeoInfo>) -> String {
    let mut keys: Vec<&String> = basins.iter().flat_map(|b| b.stats.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut s = String::from("id,score,x1,y1,x2,y2,centroid_x,centroid_y,area_m2");
    for k in &keys {
        s.push(',');
        s.push_str(&csv_field(k));
    }
    s.push('\n');
    for (i, b) in basins.iter().enumerate() {
        let ring = box_ring(&b.det.bbox, geo);
        let c = ring_centroid(&ring);
        let area = geo.map_or(String::new(), |g| ring_area_m2(&ring, g).to_string());
        let bb = &b.det.bbox;
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{}",
            i + 1,
            b.det.score,
            bb.x1,
            bb.y1,
            bb.x2,
            bb.y2,
            c[0],
            c[1],
            area
        );
        for k in &keys {
            s.push(',');
            s.push_str(&b.stats.get(*k).map_or(String::new(), value_field));
        }
        s.push('\n');
    }
    s
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

/// Writes [`csv`] to `path`.
pub fn write_csv(path: &Path, basins: &[Basin], geo: Option<&GeoInfo>) -> Result<(), OutputError> {
    raster::atomic::write(path, csv(basins, geo)).map_err(|cause| OutputError::Io {
        path: path.to_path_buf(),
        cause,
    })
}

/// The basins as COCO results of one image (pixel boxes).
pub fn coco_results(basins: &[Basin], image_id: u64, category_id: u64) -> Vec<CocoResult> {
    basins
        .iter()
        .map(|b| CocoResult {
            image_id,
            category_id,
            bbox: b.det.bbox.to_xywh(),
            score: b.det.score,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basin(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Basin {
        Basin::from(Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
        })
    }

    /// UTM 50N, 20 m pixels, north up.
    const UTM: GeoInfo = GeoInfo {
        transform: raster::GeoTransform([500_000.0, 20.0, 0.0, 4_000_000.0, 0.0, -20.0]),
        epsg: Some(32650),
        pixel_is_point: false,
    };

    #[test]
    fn projected_box_to_ccw_polygon_with_area() {
        let b = basin(10.0, 20.0, 60.0, 45.0, 0.8);
        let ring = box_ring(&b.det.bbox, Some(&UTM));
        assert_eq!(ring.first(), ring.last());
        assert!(signed_area(&ring) > 0.0, "counter-clockwise");
        assert!(ring.contains(&[500_200.0, 3_999_600.0]));
        assert!(ring.contains(&[501_200.0, 3_999_100.0]));
        // 50 × 25 pixels of 20 m: 1000 m × 500 m.
        assert_eq!(ring_area_m2(&ring, &UTM), 500_000.0);
        assert_eq!(ring_centroid(&ring), [500_700.0, 3_999_350.0]);
    }

    #[test]
    fn geographic_area_uses_the_ellipsoid() {
        // 0.01° × 0.01° at the equator: 1105.74 m × 1113.19 m (WGS84 degree lengths).
        let geo = GeoInfo::new(
            raster::GeoTransform([110.0, 0.001, 0.0, 0.005, 0.0, -0.001]),
            Some(4326),
        );
        let ring = box_ring(&BBox::new(0.0, 0.0, 10.0, 10.0), Some(&geo));
        let want = 1105.74 * 1113.19;
        let got = ring_area_m2(&ring, &geo);
        assert!((got - want).abs() / want < 1e-4, "{got} vs {want}");
        // At 60° N a degree of longitude is half as long (55.8 km): the area about halves.
        let north = GeoInfo::new(
            raster::GeoTransform([110.0, 0.001, 0.0, 60.005, 0.0, -0.001]),
            Some(4326),
        );
        let ring = box_ring(&BBox::new(0.0, 0.0, 10.0, 10.0), Some(&north));
        let ratio = ring_area_m2(&ring, &north) / got;
        assert!((ratio - 0.5).abs() < 0.01, "{ratio}");
    }

    #[test]
    fn geojson_has_crs_member_except_for_wgs84() {
        let mut b = basin(0.0, 0.0, 10.0, 10.0, 0.9);
        b.stats.insert("max_los_mm".into(), json!(-31.5));
        let v = geojson(std::slice::from_ref(&b), Some(&UTM));
        assert_eq!(
            v["crs"]["properties"]["name"],
            "urn:ogc:def:crs:EPSG::32650"
        );
        let f = &v["features"][0];
        assert_eq!(f["geometry"]["type"], "Polygon");
        assert_eq!(f["properties"]["score"], 0.9);
        assert_eq!(f["properties"]["max_los_mm"], -31.5);
        assert_eq!(f["properties"]["pixel_box"], json!([0.0, 0.0, 10.0, 10.0]));
        assert_eq!(f["properties"]["area_m2"], 40_000.0);
        let wgs = GeoInfo {
            epsg: Some(4326),
            ..UTM
        };
        assert!(geojson(&[b], Some(&wgs)).get("crs").is_none());
    }

    #[test]
    fn csv_lists_all_stats_and_quotes() {
        let mut a = basin(0.0, 0.0, 10.0, 10.0, 0.5);
        a.stats.insert("note".into(), json!("a, \"b\""));
        let mut b = basin(20.0, 0.0, 30.0, 10.0, 0.25);
        b.stats.insert("fringes".into(), json!(3));
        let text = csv(&[a, b], None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "id,score,x1,y1,x2,y2,centroid_x,centroid_y,area_m2,fringes,note"
        );
        assert_eq!(lines[1], "1,0.5,0,0,10,10,5,5,,,\"a, \"\"b\"\"\"");
        assert_eq!(lines[2], "2,0.25,20,0,30,10,25,5,,3,");
    }

    #[test]
    fn ground_size_only_in_metres() {
        let det = basin(10.0, 20.0, 60.0, 45.0, 0.8).det;
        let b = Basin::sized(det, Some(&UTM));
        assert_eq!(b.stats["width_m"], 1000.0);
        assert_eq!(b.stats["height_m"], 500.0);
        let wgs = GeoInfo {
            epsg: Some(4326),
            ..UTM
        };
        assert!(Basin::sized(det, Some(&wgs)).stats.is_empty());
        assert!(Basin::sized(det, None).stats.is_empty());
    }

    #[test]
    fn coco_results_are_xywh() {
        let r = coco_results(&[basin(1.0, 2.0, 4.0, 8.0, 0.7)], 3, 1);
        assert_eq!(r[0].bbox, [1.0, 2.0, 3.0, 6.0]);
        assert_eq!((r[0].image_id, r[0].category_id, r[0].score), (3, 1, 0.7));
    }
}

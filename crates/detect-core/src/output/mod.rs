//! Scene detections out, ready for GIS: a GeoPackage (the layer to open first in QGIS), an
//! RFC 7946 GeoJSON (WGS84 longitude/latitude), CSV and COCO results.
//!
//! - [`crs`]: what the scene's coordinates mean (an EPSG definition, unknown, pixels);
//! - [`frame`]: pixel → native coordinates → WGS84, box rings, densification;
//! - [`measure`]: ground width, height and area in metres on the WGS84 ellipsoid;
//! - [`geojson`], [`table`] (CSV), [`gpkg`]: the layers.
//!
//! Georeferencing is raster's [`GeoInfo`] (its transform is always the pixel-corner one);
//! a [`Frame`] reads it once for all basins of a scene.

pub mod crs;
pub mod frame;
pub mod geojson;
pub mod gpkg;
pub mod measure;
pub mod table;

use std::path::{Path, PathBuf};

use raster::GeoInfo;
use serde_json::{Map, Value, json};

use crate::bbox::Detection;
use crate::labels::CocoResult;

pub use crs::{ReprojectError, SceneCrs};
pub use frame::Frame;
pub use geojson::{GeoJsonCoords, geojson_in, write_geojson};
pub use gpkg::write_gpkg;
pub use measure::{Measures, measure};
pub use table::{csv, write_csv};

/// The names of a basin's ground size, in every output (computed from the box and the CRS;
/// a statistic of the same name is not written twice).
pub const MEASURE_KEYS: [&str; 3] = ["width_m", "height_m", "area_m2"];

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
    #[error("{}: GeoPackage: {cause}", path.display())]
    Gpkg {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error("{}: {what}", path.display())]
    Column { path: PathBuf, what: String },
    #[error(transparent)]
    Reproject(#[from] ReprojectError),
}

/// One detected basin with any per-basin statistics to publish (depth, fringe count, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Basin {
    pub det: Detection,
    pub stats: Map<String, Value>,
}

impl Basin {
    /// The basin with the figures a geodesist reads first: its box's ground `width_m`,
    /// `height_m` and `area_m2` on the WGS84 ellipsoid, wherever the scene's CRS is known
    /// (see [`measure`]; none for an unknown CRS or pixel geometry, nor if reprojecting
    /// fails — the layers then say why).
    pub fn sized(det: Detection, geo: Option<&GeoInfo>) -> Self {
        Self::measured(det, &Frame::new(geo))
    }

    /// [`Basin::sized`] with the scene's frame read once.
    pub fn measured(det: Detection, frame: &Frame) -> Self {
        let mut b = Self::from(det);
        if let Ok(m @ Some(_)) = measure(&det.bbox, frame) {
            for (k, v) in MEASURE_KEYS.iter().zip(measure_values(m)) {
                b.stats.insert((*k).into(), json!(v));
            }
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

/// A box's ground size in the order of [`MEASURE_KEYS`], each `None` where unknown: what
/// every output lists under those names.
fn measure_values(m: Option<Measures>) -> [Option<f64>; 3] {
    m.map_or([None; 3], |m| {
        [Some(m.width_m), Some(m.height_m), Some(m.area_m2)]
    })
}

/// Writes `bytes` to `path` whole or not at all (temporary file, then rename).
fn write_whole(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), OutputError> {
    raster::atomic::write(path, bytes).map_err(|cause| OutputError::Io {
        path: path.to_path_buf(),
        cause,
    })
}

/// The names of the statistics the basins carry besides their sizes, sorted, each once.
fn stat_keys(basins: &[Basin]) -> Vec<String> {
    let mut keys: Vec<String> = basins
        .iter()
        .flat_map(|b| b.stats.keys())
        .filter(|k| !MEASURE_KEYS.contains(&k.as_str()))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The GeoJSON of the basins in the scene's own coordinates, never failing (what
/// `--geojson-native` writes; [`geojson_in`] gives RFC 7946 WGS84 too).
pub fn geojson(basins: &[Basin], geo: Option<&GeoInfo>) -> Value {
    let frame = Frame::new(geo);
    geojson_in(basins, &frame, GeoJsonCoords::Native).unwrap_or_else(|e| {
        // Native coordinates need no reprojection; only the sizes can fail. Keep the
        // layer without them and say why rather than lose the basins.
        let why = e.to_string();
        let bare = frame.without_reprojection(&why);
        let mut v = geojson_in(basins, &bare, GeoJsonCoords::Native).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("yolo_basin:error".into(), json!(why));
        }
        v
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

/// What the output modules' tests build their cases from.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::Basin;
    use crate::bbox::{BBox, Detection};
    use raster::{GeoInfo, GeoTransform};

    /// A basin of the pixel box (x1, y1)–(x2, y2), without sizes.
    pub fn basin(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Basin {
        Basin::from(Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
        })
    }

    /// UTM 50N, 20 m pixels, north up.
    pub const UTM: GeoInfo = GeoInfo {
        transform: GeoTransform([500_000.0, 20.0, 0.0, 4_000_000.0, 0.0, -20.0]),
        epsg: Some(32650),
        pixel_is_point: false,
    };
}

#[cfg(test)]
mod tests {
    use super::fixtures::{UTM, basin};
    use super::*;
    use crate::bbox::BBox;

    #[test]
    fn ground_size_in_metres_wherever_the_crs_is_known() {
        let det = basin(10.0, 20.0, 60.0, 45.0, 0.8).det;
        let b = Basin::sized(det, Some(&UTM));
        // 1000 m × 500 m of grid near UTM's central meridian: ground = grid / 0.9996.
        let w = b.stats["width_m"].as_f64().expect("width");
        let h = b.stats["height_m"].as_f64().expect("height");
        assert!((w - 1000.0 / 0.9996).abs() < 0.01 && (h - 500.0 / 0.9996).abs() < 0.01);
        // A geographic CRS outside the old hard-coded list (NAD83(2011), EPSG:6318) has
        // metres too: 0.01° × 0.01° at the equator is 1113.19 m × 1105.74 m.
        let nad = GeoInfo::new(
            raster::GeoTransform([-80.0, 0.001, 0.0, 0.005, 0.0, -0.001]),
            Some(6318),
        );
        let b = Basin::sized(BBox::new(0.0, 0.0, 10.0, 10.0).into_det(), Some(&nad));
        let w = b.stats["width_m"].as_f64().expect("width");
        let h = b.stats["height_m"].as_f64().expect("height");
        assert!(
            (w - 1113.19).abs() < 0.01 && (h - 1105.74).abs() < 0.01,
            "{w} {h}"
        );
        let a = b.stats["area_m2"].as_f64().expect("area");
        assert!((a / (w * h) - 1.0).abs() < 1e-4, "{a}");
        let unknown = GeoInfo { epsg: None, ..UTM };
        assert!(Basin::sized(det, Some(&unknown)).stats.is_empty());
        assert!(Basin::sized(det, None).stats.is_empty());
    }

    #[test]
    fn native_geojson_keeps_the_crs_member() {
        let v = geojson(&[basin(0.0, 0.0, 10.0, 10.0, 0.9)], Some(&UTM));
        assert_eq!(
            v["crs"]["properties"]["name"],
            "urn:ogc:def:crs:EPSG::32650"
        );
        assert_eq!(
            v["features"][0]["properties"]["pixel_box"],
            json!([0.0, 0.0, 10.0, 10.0])
        );
    }

    #[test]
    fn native_geojson_survives_a_failed_reprojection() {
        // 50,000 km east of the central meridian: transverse Mercator has no inverse there.
        let absurd = GeoInfo {
            transform: raster::GeoTransform([5e7, 20.0, 0.0, 4e6, 0.0, -20.0]),
            ..UTM
        };
        assert!(measure(&BBox::new(0.0, 0.0, 10.0, 10.0), &Frame::new(Some(&absurd))).is_err());
        let v = geojson(&[basin(0.0, 0.0, 10.0, 10.0, 0.9)], Some(&absurd));
        assert_eq!(
            v["crs"]["properties"]["name"],
            "urn:ogc:def:crs:EPSG::32650"
        );
        assert!(
            v["yolo_basin:error"]
                .as_str()
                .is_some_and(|e| e.contains("EPSG:32650"))
        );
        assert_eq!(v["features"][0]["properties"]["area_m2"], Value::Null);
    }

    #[test]
    fn coco_results_are_xywh() {
        let r = coco_results(&[basin(1.0, 2.0, 4.0, 8.0, 0.7)], 3, 1);
        assert_eq!(r[0].bbox, [1.0, 2.0, 3.0, 6.0]);
        assert_eq!((r[0].image_id, r[0].category_id, r[0].score), (3, 1, 0.7));
    }

    trait IntoDet {
        fn into_det(self) -> Detection;
    }

    impl IntoDet for BBox {
        fn into_det(self) -> Detection {
            Detection {
                bbox: self,
                score: 0.5,
            }
        }
    }
}

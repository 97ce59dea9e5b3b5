//! Basins as the Python package returns them: one JSON object per basin with every
//! attribute the CLI's layers carry, its ring in the scene's coordinates and, where the CRS
//! reprojects, in WGS84 longitude/latitude.

use detect_core::output::{Basin, Frame, GeoJsonCoords, geojson, geojson_in};
use raster::GeoInfo;
use serde_json::{Map, Value, json};

/// The basins as a JSON array of objects: the GeoJSON feature properties the CLI writes
/// (`id`, `score`, `pixel_box`, `centroid`, sizes in metres, LOS figures…) plus `x1, y1,
/// x2, y2` (pixels), `polygon` (the box's ring in the scene's CRS, or (col, −row) without
/// georeferencing), `crs` (its label) and `lonlat` (the densified WGS84 ring, or null).
pub fn basins_json(basins: &[Basin], geo: Option<&GeoInfo>) -> Value {
    let native = geojson(basins, geo);
    let frame = Frame::new(geo);
    // Longitude/latitude only where the CRS reprojects; a failure leaves them out.
    let wgs84 = frame
        .wgs84()
        .and_then(|_| geojson_in(basins, &frame, GeoJsonCoords::Wgs84).ok());
    let crs = native
        .get("yolo_basin:scene_crs")
        .cloned()
        .unwrap_or(Value::Null);
    let rings = |fc: Option<&Value>| -> Vec<Value> {
        fc.and_then(|v| v.get("features"))
            .and_then(Value::as_array)
            .map(|fs| fs.iter().map(ring_of).collect())
            .unwrap_or_default()
    };
    let (native_rings, wgs_rings) = (rings(Some(&native)), rings(wgs84.as_ref()));
    let features = native.get("features").and_then(Value::as_array);
    let out = basins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut o: Map<String, Value> = features
                .and_then(|fs| fs.get(i))
                .and_then(|f| f.get("properties"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let bb = &b.det.bbox;
            for (k, v) in [("x1", bb.x1), ("y1", bb.y1), ("x2", bb.x2), ("y2", bb.y2)] {
                o.insert(k.into(), json!(v));
            }
            o.insert("score".into(), json!(b.det.score));
            o.insert(
                "polygon".into(),
                native_rings.get(i).cloned().unwrap_or(Value::Null),
            );
            o.insert("crs".into(), crs.clone());
            o.insert(
                "lonlat".into(),
                wgs_rings.get(i).cloned().unwrap_or(Value::Null),
            );
            Value::Object(o)
        })
        .collect();
    Value::Array(out)
}

/// The exterior ring of a GeoJSON polygon feature.
fn ring_of(feature: &Value) -> Value {
    feature
        .pointer("/geometry/coordinates/0")
        .cloned()
        .unwrap_or(Value::Null)
}

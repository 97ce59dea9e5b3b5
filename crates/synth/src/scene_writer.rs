//! Whole scenes: one large area with coalfields of mines, its rasters, picture and a GeoJSON
//! of the true boxes in map coordinates.

use crate::config::SynthConfig;
use crate::dataset::{
    EPSG, Storage, area_extra, basin_extra, coco_box, random_georef, scene_paths, write_f32,
    write_json,
};
use crate::error::SynthError;
use crate::picture::{random_style, render, write_png_fast};
use crate::rng::{derive, rng_for, stream};
use crate::scene::{AreaConfig, MineLayout, SimArea, simulate};
use raster::GeoInfo;
use serde_json::{Value, json};
use std::path::Path;

/// Simulates scene `k` of a run (no margin: the scene is the window).
pub fn simulate_scene(cfg: &SynthConfig, k: usize) -> SimArea {
    simulate(&scene_area(cfg), derive(cfg.seed, stream::SCENE, k as u64))
}

/// How a run's whole scenes are simulated.
pub fn scene_area(cfg: &SynthConfig) -> AreaConfig {
    AreaConfig {
        w: cfg.scene_size,
        h: cfg.scene_size,
        pad: 0,
        looks: cfg.looks,
        orbit: cfg.orbit,
        layout: MineLayout::Scene,
        filtered_fraction: cfg.filtered_fraction,
        label_threshold_m: cfg.label_threshold.metres(),
        min_box_px: cfg.min_box_px,
        conditions: cfg.conditions.clone(),
    }
}

/// GeoJSON FeatureCollection of the basins' boxes (polygons in the raster's CRS).
pub fn scene_geojson(a: &SimArea, geo: &GeoInfo, threshold_m: f64, name: &str) -> Value {
    let t = &geo.transform;
    let features: Vec<Value> = a
        .basins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let corners = [
                (b.bbox.x1, b.bbox.y1),
                (b.bbox.x2, b.bbox.y1),
                (b.bbox.x2, b.bbox.y2),
                (b.bbox.x1, b.bbox.y2),
                (b.bbox.x1, b.bbox.y1),
            ];
            let ring: Vec<Value> = corners
                .iter()
                .map(|&(c, r)| {
                    let (x, y) = t.apply(c as f64, r as f64);
                    json!([x, y])
                })
                .collect();
            let mut props = basin_extra(a, b, threshold_m, 0);
            props.insert("id".into(), json!(i + 1));
            props.insert("bbox_px".into(), json!(coco_box(&b.bbox)));
            json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": props,
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "name": name,
        "width": a.w,
        "height": a.h,
        "pixel_area_m2": (t.0[1] * t.0[5] - t.0[2] * t.0[4]).abs(),
        "crs": {"type": "name", "properties": {"name": format!("urn:ogc:def:crs:EPSG::{EPSG}")}},
        "features": features,
    })
}

/// Writes scene `k` into `<out>/scenes/`; returns its number of basins.
pub fn write_scene(cfg: &SynthConfig, out: &Path, k: usize) -> Result<usize, SynthError> {
    let a = simulate_scene(cfg, k);
    let mut rng = rng_for(cfg.seed, stream::SCENE + 100, k as u64);
    let style = random_style(&mut rng, cfg.colormap);
    let geo = random_georef(&mut rng, a.viewing.dx_m, a.viewing.dy_m);
    let [phase, coh, los, png, gj] = scene_paths(out, k);
    let (w, h) = (a.w, a.h);
    let noisy = Storage::noisy(cfg.deflate);
    write_f32(&phase, w, h, &a.phase, &geo, noisy)?;
    write_f32(&coh, w, h, &a.coherence, &geo, noisy)?;
    write_f32(&los, w, h, &a.los, &geo, Storage::Deflate)?;
    write_png_fast(&png, w, h, &render(&a.phase, w, h, &style))?;
    let mut fc = scene_geojson(
        &a,
        &geo,
        cfg.label_threshold.metres(),
        &format!("scene_{k}"),
    );
    if let Value::Object(m) = &mut fc {
        m.insert("scene".into(), Value::Object(area_extra(&a, &style)));
    }
    write_json(&gj, &fc)?;
    Ok(a.basins.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::PixBox;
    use crate::scene::Basin;
    use raster::GeoTransform;

    #[test]
    fn geojson_corners_follow_the_geotransform() {
        let cfg = SynthConfig {
            scene_size: 300,
            ..SynthConfig::default()
        };
        let mut a = simulate_scene(&cfg, 0);
        a.basins = vec![Basin {
            bbox: PixBox {
                x1: 10,
                y1: 20,
                x2: 30,
                y2: 50,
            },
            bbox_half_fringe: None,
            max_abs_los_m: 0.05,
            truncated: false,
            panels: vec![],
            decorrelated_centre: false,
        }];
        let geo = GeoInfo::new(
            GeoTransform::north_up(500_000.0, 3_900_000.0, 20.0, -14.0),
            Some(EPSG),
        );
        let g = scene_geojson(&a, &geo, 0.0035, "s");
        let ring = &g["features"][0]["geometry"]["coordinates"][0];
        assert_eq!(ring[0], json!([500_200.0, 3_899_720.0]));
        assert_eq!(ring[2], json!([500_600.0, 3_899_300.0]));
        // What `eval` needs to count false alarms per km².
        assert_eq!(
            (g["width"].as_u64(), g["height"].as_u64()),
            (Some(300), Some(300))
        );
        assert_eq!(g["pixel_area_m2"].as_f64(), Some(280.0));
    }
}

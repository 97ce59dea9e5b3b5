//! `detect`'s extras end to end on a small simulated scene: the quicklook picture
//! (`--quicklook-size`) and per-basin deformation (`--unwrapped`, `--pixel-size`).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{bin, read_json, run, scratch, synth_scene};

/// Scene 0 of seed 5 at 600 × 600 px (four basins, two of them whole and clear enough
/// for the bundled model): its folder `<dir>/sim/scenes`.
fn simulate(dir: &Path) -> PathBuf {
    let sim = dir.join("sim");
    synth_scene(&sim, 600, 5, &[]);
    sim.join("scenes")
}

fn features(geojson: &Path) -> Vec<Value> {
    read_json(geojson)["features"]
        .as_array()
        .expect("features")
        .clone()
}

/// A feature's property as a number, if it has it.
fn num(f: &Value, key: &str) -> Option<f64> {
    f["properties"][key].as_f64()
}

/// Pixel box (x1, y1, x2, y2) of a detection feature, or of a truth feature's COCO box.
fn pixel_box(f: &Value) -> [f64; 4] {
    let p = &f["properties"];
    let v = |a: &Value, i: usize| a[i].as_f64().expect("number");
    if p["pixel_box"].is_array() {
        let b = &p["pixel_box"];
        [v(b, 0), v(b, 1), v(b, 2), v(b, 3)]
    } else {
        let b = &p["bbox_px"];
        [v(b, 0), v(b, 1), v(b, 0) + v(b, 2), v(b, 1) + v(b, 3)]
    }
}

fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let area = |r: &[f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    w * h / (area(a) + area(b) - w * h)
}

#[test]
fn detect_draws_a_quicklook_and_measures_basins_on_the_los_raster() {
    let dir = scratch("los");
    let scenes = simulate(&dir);
    let out = dir.join("out");
    let said = run(bin()
        .arg("detect")
        .arg(scenes.join("scene_0.tif"))
        .arg("--unwrapped")
        .arg(scenes.join("scene_0_los.tif"))
        .args(["--quicklook-size", "256", "--out-dir"])
        .arg(&out));
    let stdout = String::from_utf8_lossy(&said.stdout);
    assert!(stdout.contains("deformation of"), "{stdout}");

    // 600 px at most 256: 3 looks, a 200 × 200 overview beside the 250-px legend, at least
    // 240 px tall.
    let png = raster::read_picture(&out.join("scene_0.basins.png")).expect("quicklook");
    assert_eq!((png.width, png.height), (450, 240));

    let truth = features(&scenes.join("scene_0.geojson"));
    let found = features(&out.join("scene_0.basins.geojson"));
    assert!(
        !found.is_empty(),
        "the bundled model finds this scene's clear basins"
    );
    let mut matched = 0;
    for f in &found {
        let peak = num(f, "peak_los_mm").expect("every basin measured");
        assert!(peak < 0.0, "subsidence is away from the satellite: {peak}");
        assert!(num(f, "volume_m3").expect("georeferenced: volumes") < 0.0);
        let b = pixel_box(f);
        let Some(t) = truth.iter().find(|t| iou(&pixel_box(t), &b) >= 0.5) else {
            continue;
        };
        // The LOS raster holds the basins alone: the box's extreme is the basin's peak.
        let want = num(t, "max_los_m").expect("truth peak") * 1e3;
        assert!(
            (peak.abs() - want).abs() < 0.02 * want + 3.5,
            "peak {peak} mm vs truth {want} mm"
        );
        matched += 1;
    }
    assert!(matched >= 1, "no detection matches a true basin: {found:?}");
    let csv = std::fs::read_to_string(out.join("scene_0.basins.csv")).expect("csv");
    let header = csv.lines().next().expect("header");
    for key in ["peak_los_mm", "mean_los_mm", "volume_m3"] {
        assert!(header.contains(key), "{key} in the CSV: {header}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quicklook_size_and_no_quicklook() {
    let dir = scratch("size");
    let scenes = simulate(&dir);
    let scene = scenes.join("scene_0.tif");
    let out = dir.join("default");
    run(bin().arg("detect").arg(&scene).arg("--out-dir").arg(&out));
    // The default (2,048 px) holds the whole 600-px scene at full resolution.
    let png = raster::read_picture(&out.join("scene_0.basins.png")).expect("quicklook");
    assert_eq!((png.width, png.height), (850, 600));
    let out = dir.join("none");
    run(bin()
        .arg("detect")
        .arg(&scene)
        .args(["--quicklook-size", "0", "--out-dir"])
        .arg(&out));
    assert!(out.join("scene_0.basins.geojson").is_file());
    assert!(!out.join("scene_0.basins.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn volumes_in_pixel_geometry_need_the_pixel_size() {
    let dir = scratch("pixels");
    let scenes = simulate(&dir);
    // The same scene and deformation in radar geometry: no georeference at all.
    let strip = |name: &str, to: &str| {
        let r = raster::read_geotiff(&scenes.join(name)).expect("tif");
        let raster::Pixels::F32(v) = &r.pixels else {
            panic!("float raster")
        };
        let p = dir.join(to);
        raster::write_geotiff_f32(&p, r.width, r.height, v, None, None).expect("write");
        p
    };
    let scene = strip("scene_0.tif", "radar.tif");
    let los = strip("scene_0_los.tif", "radar_los.tif");
    let volumes = |extra: &[&str], out: &str| -> (Vec<Option<f64>>, String) {
        let out = dir.join(out);
        let said = run(bin()
            .arg("detect")
            .arg(&scene)
            .arg("--unwrapped")
            .arg(&los)
            .args(extra)
            .args(["--quicklook-size", "0", "--out-dir"])
            .arg(&out));
        let f = features(&out.join("radar.basins.geojson"));
        assert!(!f.is_empty(), "basins found");
        assert!(f.iter().all(|f| num(f, "peak_los_mm").is_some()));
        (
            f.iter().map(|f| num(f, "volume_m3")).collect(),
            String::from_utf8_lossy(&said.stdout).into_owned(),
        )
    };
    let (none, said) = volumes(&[], "bare");
    assert!(none.iter().all(Option::is_none), "{none:?}");
    assert!(said.contains("pixel size"), "{said}");
    let (small, _) = volumes(&["--pixel-size", "20x14"], "small");
    let (large, _) = volumes(&["--pixel-size", "40x14"], "large");
    for (s, l) in small.iter().zip(&large) {
        let (s, l) = (s.expect("volume"), l.expect("volume"));
        assert!(s < 0.0 && (l / s - 2.0).abs() < 1e-3, "{s} m³ vs {l} m³");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwrapped_raster_of_another_grid_is_refused_with_both_names() {
    let dir = scratch("grid");
    let scenes = simulate(&dir);
    let small = dir.join("small.unw.tif");
    raster::write_geotiff_f32(&small, 50, 50, &vec![0.0; 2500], None, None).expect("tif");
    let out = bin()
        .arg("detect")
        .arg(scenes.join("scene_0.tif"))
        .arg("--unwrapped")
        .arg(&small)
        .arg("--out-dir")
        .arg(dir.join("out"))
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("small.unw.tif") && err.contains("scene_0.tif") && err.contains("same grid"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

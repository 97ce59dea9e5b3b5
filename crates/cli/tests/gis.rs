//! `detect`'s GIS outputs read back by GDAL, as QGIS reads them: the GeoPackage and the
//! GeoJSON of a small simulated scene (UTM 50N), and of the same scene stripped of its EPSG
//! code and of all georeferencing.
//!
//! GDAL's `ogrinfo` (and `gdaltransform` for an independent UTM → longitude/latitude) come
//! with Debian's `gdal-bin`, which CI installs; where they are missing the test fails under
//! CI (env `CI` set) and is skipped otherwise, saying so.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{bin, read_json, run, scratch, synth_scene};

/// True when GDAL's tools are here; otherwise fails under CI and tells why elsewhere.
fn gdal_present() -> bool {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("ogrinfo") && have("gdaltransform") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "GDAL's ogrinfo/gdaltransform are missing but CI must check the GIS outputs with them: \
         .ci/run installs gdal-bin (apt-get install -y gdal-bin)"
    );
    eprintln!("SKIPPED: GDAL's ogrinfo/gdaltransform not found (apt-get install gdal-bin)");
    false
}

/// `ogrinfo -ro -al` of a vector file: its text report.
fn ogrinfo(path: &Path) -> String {
    let out = run(Command::new("ogrinfo")
        .args(["-ro", "-al", "-geom=ISO_WKT"])
        .arg(path));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One feature as ogrinfo prints it: its fields and polygon ring.
#[derive(Debug)]
struct Feature {
    fields: Vec<(String, String)>,
    ring: Vec<[f64; 2]>,
}

impl Feature {
    fn num(&self, name: &str) -> f64 {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("numeric field {name} in {self:?}"))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The features of an ogrinfo report: `  name (Type) = value` lines, then `  POLYGON ((…))`.
fn features(report: &str) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    for line in report.lines() {
        if line.starts_with("OGRFeature(") {
            out.push(Feature {
                fields: Vec::new(),
                ring: Vec::new(),
            });
            continue;
        }
        let Some(f) = out.last_mut() else { continue };
        let l = line.trim();
        if let Some(body) = l.strip_prefix("POLYGON ((") {
            f.ring = body
                .trim_end_matches("))")
                .split(',')
                .map(|p| {
                    let v: Vec<f64> = p
                        .split_whitespace()
                        .map(|x| x.parse().expect("a coordinate"))
                        .collect();
                    [v[0], v[1]]
                })
                .collect();
        } else if let Some((head, value)) = l.split_once(" = ")
            && let Some((name, _ty)) = head.split_once(" (")
        {
            f.fields.push((name.to_string(), value.to_string()));
        }
    }
    out
}

fn feature_count(report: &str) -> usize {
    report
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a feature count in {report}"))
}

/// WGS84 lon/lat points to UTM 50N through GDAL/PROJ (independent of our proj4rs).
fn lonlat_to_utm50(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut child = Command::new("gdaltransform")
        .args([
            "-s_srs",
            "+proj=longlat +datum=WGS84 +no_defs",
            "-t_srs",
            "EPSG:32650",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gdaltransform runs");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for p in points {
            writeln!(stdin, "{:.12} {:.12}", p[0], p[1]).expect("write a point");
        }
    }
    let out = child.wait_with_output().expect("gdaltransform output");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .map(|x| x.parse().expect("a number"))
                .collect();
            [v[0], v[1]]
        })
        .collect()
}

/// Pixel position of map point p under a north-up geotransform.
fn to_pixel(t: &[f64; 6], p: [f64; 2]) -> [f64; 2] {
    [(p[0] - t[0]) / t[1], (p[1] - t[3]) / t[5]]
}

/// Distance (pixels) from p to the outline of box b = [x1, y1, x2, y2].
fn off_outline(p: [f64; 2], b: [f64; 4]) -> f64 {
    let inside_x = p[0] >= b[0] - 1e-6 && p[0] <= b[2] + 1e-6;
    let inside_y = p[1] >= b[1] - 1e-6 && p[1] <= b[3] + 1e-6;
    let dx = (p[0] - b[0]).abs().min((p[0] - b[2]).abs());
    let dy = (p[1] - b[1]).abs().min((p[1] - b[3]).abs());
    match (inside_x, inside_y) {
        (true, true) => dx.min(dy),
        (true, false) => dy,
        (false, true) => dx,
        (false, false) => dx.hypot(dy),
    }
}

/// `detect` on `scene` into `out` at a low score (so a small scene has basins): stderr.
fn detect(scene: &Path, out: &Path, extra: &[&str]) -> String {
    let o = run(bin()
        .arg("detect")
        .arg(scene)
        .args(["--score", "0.05", "--out-dir"])
        .arg(out)
        .args(extra));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pixel_box(f: &Feature) -> [f64; 4] {
    [f.num("x1"), f.num("y1"), f.num("x2"), f.num("y2")]
}

#[test]
fn geopackage_and_geojson_read_back_by_gdal() {
    if !gdal_present() {
        return;
    }
    let dir = scratch("layers");
    let sim = dir.join("sim");
    synth_scene(&sim, 900, 5, &[]);
    let scene = sim.join("scenes/scene_0.tif");
    let raster = raster::read_geotiff(&scene).expect("the simulated scene");
    let geo = raster.geo.expect("synth scenes are georeferenced");
    assert_eq!(geo.epsg, Some(32650));
    let t = geo.transform.0;
    assert_eq!((t[2], t[4]), (0.0, 0.0), "north-up");

    let out = dir.join("utm");
    let stderr = detect(&scene, &out, &[]);
    assert!(!stderr.contains("warning"), "{stderr}");

    // The GeoPackage: the scene's CRS, one feature per basin, boxes through the geotransform.
    let gpkg = ogrinfo(&out.join("scene_0.basins.gpkg"));
    assert!(gpkg.contains("Layer name: basins"), "{gpkg}");
    assert!(
        gpkg.contains("ID[\"EPSG\",32650]") || gpkg.contains("AUTHORITY[\"EPSG\",\"32650\"]"),
        "EPSG:32650 in {gpkg}"
    );
    let n = feature_count(&gpkg);
    assert!(n > 0, "a scene with basins gives some at score 0.05");
    let feats = features(&gpkg);
    assert_eq!(feats.len(), n);
    let coco = read_json(&out.join("scene_0.basins.coco.json"));
    assert_eq!(coco.as_array().map(Vec::len), Some(n));
    for (k, f) in feats.iter().enumerate() {
        assert_eq!(f.num("id"), (k + 1) as f64);
        let b = pixel_box(f);
        let want_box = coco[k]["bbox"].as_array().expect("xywh");
        let xywh: Vec<f64> = want_box
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        assert!((b[0] - xywh[0]).abs() < 1e-9 && (b[2] - b[0] - xywh[2]).abs() < 1e-6);
        assert!((f.num("score") - coco[k]["score"].as_f64().expect("score")).abs() < 1e-12);
        // Corners exactly where the geotransform puts the box's corners (ogrinfo prints
        // 15 significant digits: a micrometre here).
        assert_eq!(f.ring.len(), 5, "{f:?}");
        for &[x, y] in &f.ring[..4] {
            let near = |a: f64, c: f64| (a - c).abs() < 1e-6;
            assert!(
                near(x, t[0] + b[0] * t[1]) || near(x, t[0] + b[2] * t[1]),
                "{x}"
            );
            assert!(
                near(y, t[3] + b[1] * t[5]) || near(y, t[3] + b[3] * t[5]),
                "{y}"
            );
        }
        // Ground size: the grid size divided by UTM's scale factor, which lies between
        // 0.9996 and 1.001 inside a zone.
        let (gw, gh) = ((b[2] - b[0]) * t[1], (b[3] - b[1]) * -t[5]);
        for (m, grid) in [(f.num("width_m"), gw), (f.num("height_m"), gh)] {
            assert!(
                m > grid * 0.998 && m < grid / 0.9995,
                "{m} m for {grid} m of grid"
            );
        }
        // A box a few km wide is a rectangle on the ground to well under 0.1 %.
        let area = f.num("area_m2");
        assert!(
            (area / (f.num("width_m") * f.num("height_m")) - 1.0).abs() < 1e-3,
            "{area}"
        );
    }

    // The GeoJSON: WGS84 (GDAL's default for a file without `crs`), lon/lat that map back
    // (through GDAL's own PROJ) onto the box outlines.
    let path = out.join("scene_0.basins.geojson");
    let gj = read_json(&path);
    assert!(gj.get("crs").is_none(), "RFC 7946: no crs member");
    assert_eq!(gj["yolo_basin:scene_crs"], "EPSG:32650");
    let report = ogrinfo(&path);
    assert!(report.contains("WGS 84"), "{report}");
    assert_eq!(feature_count(&report), n);
    for (f, g) in features(&report).iter().zip(&feats) {
        let b = pixel_box(g);
        assert!(
            f.ring
                .iter()
                .all(|p| (100.0..140.0).contains(&p[0]) && (20.0..50.0).contains(&p[1]))
        );
        let ring_area: f64 = f
            .ring
            .windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum();
        assert!(ring_area > 0.0, "counter-clockwise exterior ring");
        for (p, q) in lonlat_to_utm50(&f.ring).into_iter().zip(&f.ring) {
            let px = to_pixel(&t, p);
            assert!(off_outline(px, b) < 1e-3, "{q:?} → pixel {px:?}, box {b:?}");
        }
        assert!((f.num("area_m2") - g.num("area_m2")).abs() < 1e-6 * g.num("area_m2"));
    }
    let csv = std::fs::read_to_string(out.join("scene_0.basins.csv")).expect("csv");
    assert!(
        csv.starts_with("id,score,x1,y1,x2,y2,centroid_x,centroid_y,width_m,height_m,area_m2,crs")
    );
    assert_eq!(csv.lines().count(), n + 1);
    assert!(csv.lines().skip(1).all(|l| l.contains(",EPSG:32650")));

    // `--geojson-native`: the scene's CRS, named as GDAL reads it.
    let native = dir.join("native");
    detect(&scene, &native, &["--geojson-native"]);
    let report = ogrinfo(&native.join("scene_0.basins.geojson"));
    assert!(report.contains("32650"), "{report}");
    let f = features(&report);
    assert_eq!(f.len(), n);
    assert_eq!(f[0].ring.len(), 5, "native boxes need no densifying");

    // Without an EPSG code: the same coordinates, CRS undefined everywhere, a warning.
    let mut no_code = raster.clone();
    no_code.geo = Some(raster::GeoInfo { epsg: None, ..geo });
    let unknown_scene = dir.join("unknown/scene_0.tif");
    std::fs::create_dir_all(dir.join("unknown")).expect("folder");
    raster::write_geotiff(&unknown_scene, &no_code, &raster::WriteOptions::default())
        .expect("written");
    let out = dir.join("unknown-out");
    let stderr = detect(&unknown_scene, &out, &[]);
    assert!(
        stderr.contains("warning") && stderr.contains("no EPSG code"),
        "{stderr}"
    );
    let report = ogrinfo(&out.join("scene_0.basins.gpkg"));
    assert!(report.contains("Undefined Cartesian SRS"), "{report}");
    let unknown = features(&report);
    assert_eq!(unknown.len(), n);
    for (u, g) in unknown.iter().zip(&feats) {
        assert_eq!(pixel_box(u), pixel_box(g), "the same basins");
        assert_eq!(u.ring, g.ring, "the same native coordinates");
        assert_eq!(
            u.text("area_m2"),
            Some("(null)"),
            "no metres in an unknown CRS"
        );
    }
    let gj = read_json(&out.join("scene_0.basins.geojson"));
    assert_eq!(gj["yolo_basin:crs"], "unknown");
    let report = ogrinfo(&out.join("scene_0.basins.geojson"));
    assert!(
        !report.contains("WGS 84"),
        "not taken for degrees: {report}"
    );

    // Without georeferencing (radar geometry): pixel coordinates, said in every output.
    let mut bare = raster.clone();
    bare.geo = None;
    let pixel_scene = dir.join("pixel/scene_0.tif");
    std::fs::create_dir_all(dir.join("pixel")).expect("folder");
    raster::write_geotiff(&pixel_scene, &bare, &raster::WriteOptions::default()).expect("written");
    let out = dir.join("pixel-out");
    let stderr = detect(&pixel_scene, &out, &[]);
    assert!(stderr.contains("no georeferencing"), "{stderr}");
    let report = ogrinfo(&out.join("scene_0.basins.gpkg"));
    assert!(
        report.contains("pixel coordinates (radar geometry)"),
        "{report}"
    );
    for (p, g) in features(&report).iter().zip(&feats) {
        let b = pixel_box(g);
        let near = |a: f64, c: f64| (a - c).abs() < 1e-9 * c.abs().max(1.0);
        for &[x, y] in &p.ring {
            let on_x = near(x, b[0]) || near(x, b[2]);
            assert!(
                on_x && (near(-y, b[1]) || near(-y, b[3])),
                "({x}, {y}) for {b:?}"
            );
        }
    }
    let gj = read_json(&out.join("scene_0.basins.geojson"));
    assert_eq!(gj["yolo_basin:crs"], "pixel");
    assert!(
        gj["yolo_basin:coordinates"]
            .as_str()
            .is_some_and(|s| s.contains("radar geometry"))
    );
    let csv = std::fs::read_to_string(out.join("scene_0.basins.csv")).expect("csv");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains("pixel coordinates (radar geometry)"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

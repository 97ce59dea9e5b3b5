//! What `detect` adds to its layer besides the boxes: a quicklook picture of the scene with
//! the basins drawn on it (`<stem>.basins.png`), and each basin's deformation measured on
//! an unwrapped-phase or LOS-displacement raster (`peak_los_mm`, `mean_los_mm`,
//! `volume_m3`, … in every output; see `detect_core::deformation` for the definitions).
//!
//! Sign convention of the figures: LOS displacement positive towards the satellite, so
//! subsidence is negative.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use detect_core::deformation::{PixelArea, add_deformation as measure_basins};
use detect_core::output::{Basin, Frame};
use detect_core::quicklook::{Overview, write_quicklook};
use input::los_raster::LosRaster;
use input::overview::scene_overview;
use input::{InputSpec, Kind, SceneSource};
use model::InputKind;
use raster::GeoInfo;

/// Default longest side of the quicklook's phase overview, in pixels.
pub const QUICKLOOK_SIZE: usize = 2048;

/// `<dir>/<scene stem>.basins.png`, beside the other outputs.
pub fn quicklook_path(dir: &Path, scene: &Path) -> PathBuf {
    let stem = scene
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scene".into());
    dir.join(format!("{stem}.basins.png"))
}

/// Draws the quicklook of `scene` (read as `spec` says) with `basins` (scene pixels) into
/// `out`: the phase reduced by whole-pixel complex multilook to at most `max_side` pixels
/// on its longest side, read in strips.
pub fn quicklook(
    scene: &Path,
    spec: &InputSpec,
    max_side: usize,
    basins: &[Basin],
    out: &Path,
) -> Result<()> {
    // Phase only: coherence is not drawn, and a picture is read back to phase even when a
    // picture model detected on its colours.
    let spec = InputSpec {
        coherence: None,
        ..spec.clone()
    };
    let mut src = SceneSource::open(scene, &spec, InputKind::Phase)
        .with_context(|| format!("opening scene {} for its quicklook", scene.display()))?;
    let ov = scene_overview(&mut src, max_side, scene)
        .with_context(|| format!("reducing {} for its quicklook", scene.display()))?;
    write_quicklook_of(&ov, basins, src.geo(), out)
}

/// Draws the quicklook of an overview already made (by the scan that detected the basins).
pub fn write_quicklook_of(
    ov: &Overview,
    basins: &[Basin],
    geo: Option<&GeoInfo>,
    out: &Path,
) -> Result<()> {
    write_quicklook(out, ov, basins, geo)
        .with_context(|| format!("writing the quicklook {}", out.display()))
}

/// Where basins were measured and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct DeformationSummary {
    pub source: PathBuf,
    pub kind: Kind,
    pub measured: usize,
    pub basins: usize,
    /// Whether volumes could be given (a georeference or a pixel size was known).
    pub volumes: bool,
}

impl fmt::Display for DeformationSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Kind::Los => "LOS displacement",
            _ => "unwrapped phase",
        };
        write!(
            f,
            "deformation of {} of {} basins from {} ({what}; LOS positive towards the \
             satellite, subsidence negative)",
            self.measured,
            self.basins,
            self.source.display()
        )?;
        if self.measured < self.basins {
            write!(f, "; the others lack valid pixels in or around their box")?;
        }
        if !self.volumes {
            write!(
                f,
                "; no volumes: the scene has no georeference in a known CRS, give its pixel size \
                 in metres"
            )?;
        }
        Ok(())
    }
}

/// Adds each basin's deformation figures to its statistics, measured on `unwrapped` (an
/// unwrapped-phase raster, or LOS displacement when its name says so, on the scene's grid)
/// or, without it, on the scene itself when it holds unwrapped phase or LOS displacement.
/// `geo` is the scene's georeference; without one in a known CRS, `pixel_size_m` (ground
/// metres along a row and a column) gives volumes, and without both volumes are left out.
/// `None` when there is nothing to measure on (a wrapped, complex or picture scene and no
/// `unwrapped`).
pub fn add_deformation(
    scene: &Path,
    spec: &InputSpec,
    unwrapped: Option<&Path>,
    geo: Option<&GeoInfo>,
    pixel_size_m: Option<(f64, f64)>,
    basins: &mut [Basin],
) -> Result<Option<DeformationSummary>> {
    let Some((path, mut src)) = open_los(scene, spec, unwrapped)? else {
        return Ok(None);
    };
    let area = pixel_area(geo.or(src.geo()), pixel_size_m);
    let measured = measure_basins(&mut src, basins, &area)
        .with_context(|| format!("measuring basins on {}", path.display()))?;
    Ok(Some(DeformationSummary {
        source: path,
        kind: src.kind(),
        measured,
        basins: basins.len(),
        volumes: !matches!(area, PixelArea::Unknown),
    }))
}

/// Ground pixel areas from the georeference where its CRS is known, else from the pixel
/// size the user gave, else none.
fn pixel_area(geo: Option<&GeoInfo>, pixel_size_m: Option<(f64, f64)>) -> PixelArea {
    let frame = geo.map(|g| Frame::new(Some(g)));
    match (frame, pixel_size_m) {
        (Some(f), _) if f.wgs84().is_some() => PixelArea::Geo(f),
        (_, Some((dx, dy))) => PixelArea::SquareMetres(dx * dy),
        _ => PixelArea::Unknown,
    }
}

/// The raster to measure on, opened: `unwrapped` checked against the scene's grid, or the
/// scene when its kind is unwrapped phase or LOS displacement.
fn open_los(
    scene: &Path,
    spec: &InputSpec,
    unwrapped: Option<&Path>,
) -> Result<Option<(PathBuf, LosRaster)>> {
    let Some(path) = unwrapped else {
        let kind = input::los_raster::scene_kind(scene, spec)
            .with_context(|| format!("reading scene {}", scene.display()))?;
        if !matches!(kind, Kind::Unwrapped | Kind::Los) {
            return Ok(None);
        }
        let src = LosRaster::with_spec(scene, kind, spec)
            .with_context(|| format!("opening scene {} for deformation", scene.display()))?;
        return Ok(Some((scene.to_path_buf(), src)));
    };
    // Another file: its own band and no-data, the scene's wavelength and GAMMA width.
    let own = InputSpec {
        wavelength: spec.wavelength,
        width: spec.width,
        ..InputSpec::default()
    };
    let src = LosRaster::with_spec(path, LosRaster::kind_by_name(path), &own)
        .with_context(|| format!("opening the unwrapped raster {}", path.display()))?;
    let scene_size = raster::open_any(scene, &spec.read_options())
        .map(|r| (r.width(), r.height()))
        .with_context(|| format!("reading scene {}", scene.display()))?;
    src.check_grid(scene, scene_size)?;
    Ok(Some((path.to_path_buf(), src)))
}

/// Parses a ground pixel size in metres: `20` (square) or `20x14` (along a row, a column).
pub fn parse_pixel_size(s: &str) -> Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(['x', 'X']).collect();
    let num = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("{t:?} in {s:?} is not a positive number of metres"))
    };
    match parts.as_slice() {
        [d] => num(d).map(|d| (d, d)),
        [dx, dy] => Ok((num(dx)?, num(dy)?)),
        _ => Err(format!(
            "{s:?}: expected METRES or DXxDY, e.g. 20 or 13.9x15.6"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A simulated 400 × 400 scene (seed 5: two basins) in `dir`: its phase, LOS and truth.
    fn scene(dir: &Path) -> (PathBuf, PathBuf, Value) {
        let cfg = synth::config::SynthConfig {
            scene_size: 400,
            seed: 5,
            ..synth::config::SynthConfig::default()
        };
        let d = dir.join("scenes");
        std::fs::create_dir_all(&d).expect("scenes folder");
        synth::scene_writer::write_scene(&cfg, dir, 0).expect("simulated scene");
        let truth = std::fs::read_to_string(d.join("scene_0.geojson")).expect("truth");
        (
            d.join("scene_0.tif"),
            d.join("scene_0_los.tif"),
            serde_json::from_str(&truth).expect("json"),
        )
    }

    /// The true boxes as basins, and their peak |LOS| in metres.
    fn truth_basins(truth: &Value) -> Vec<(Basin, f64)> {
        truth["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| {
                let b: Vec<f64> = f["properties"]["bbox_px"]
                    .as_array()
                    .expect("bbox")
                    .iter()
                    .map(|v| v.as_f64().expect("number"))
                    .collect();
                let det = detect_core::Detection {
                    bbox: detect_core::BBox::from_xywh([b[0], b[1], b[2], b[3]]),
                    score: 0.9,
                };
                let peak = f["properties"]["max_los_m"].as_f64().expect("peak");
                (Basin::from(det), peak)
            })
            .collect()
    }

    #[test]
    fn quicklook_of_a_simulated_scene_draws_its_basins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (phase, _, truth) = scene(dir.path());
        let basins: Vec<Basin> = truth_basins(&truth).into_iter().map(|(b, _)| b).collect();
        assert_eq!(basins.len(), 2);
        let out = quicklook_path(dir.path(), &phase);
        assert!(out.ends_with("scene_0.basins.png"));
        quicklook(&phase, &InputSpec::default(), 128, &basins, &out).expect("quicklook");
        // 400 px at most 128: 4 looks, a 100 × 100 overview beside the legend.
        let png = raster::read_picture(&out).expect("png");
        let (w, h) = (
            100 + detect_core::quicklook::PANEL_WIDTH,
            detect_core::quicklook::MIN_HEIGHT,
        );
        assert_eq!((png.width, png.height), (w, h));
        let raster::Pixels::U8(px) = &png.pixels else {
            panic!("8-bit picture expected");
        };
        for b in &basins {
            // The middle of each box's left edge, in overview pixels.
            let x = (b.det.bbox.x1 / 4.0).floor() as usize;
            let y = ((b.det.bbox.y1 + b.det.bbox.y2) / 8.0) as usize;
            let o = (y * w + x) * 3;
            assert_eq!(
                px[o..o + 3],
                detect_core::quicklook::BOX_COLOUR,
                "box at ({x}, {y})"
            );
        }
        let e = quicklook(
            &dir.path().join("none.tif"),
            &InputSpec::default(),
            128,
            &basins,
            &out,
        )
        .expect_err("no scene");
        assert!(format!("{e:#}").contains("none.tif"), "{e:#}");
    }

    #[test]
    fn basins_measured_on_a_los_raster_or_an_unwrapped_scene_agree_with_the_truth() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (phase, los, truth) = scene(dir.path());
        let spec = InputSpec::default();
        let (mut basins, peaks): (Vec<Basin>, Vec<f64>) = truth_basins(&truth).into_iter().unzip();
        // A wrapped scene alone has nothing to measure on.
        let none = add_deformation(&phase, &spec, None, None, None, &mut basins).expect("wrapped");
        assert_eq!(none, None);
        assert!(basins.iter().all(|b| b.stats.is_empty()));

        let done = add_deformation(&phase, &spec, Some(&los), None, None, &mut basins)
            .expect("measured")
            .expect("something to measure on");
        assert_eq!((done.kind, done.measured, done.basins), (Kind::Los, 2, 2));
        assert!(done.volumes, "the LOS raster's georeference gives volumes");
        for (b, want) in basins.iter().zip(&peaks) {
            let s = &b.stats;
            let peak = s["peak_los_mm"].as_f64().expect("peak");
            let bg = s["los_background_mm"].as_f64().expect("background");
            // The truth box ends where |LOS| falls to λ/16 (3.5 mm): the ring sees less.
            assert!(bg.abs() < 3.5, "background {bg} mm");
            assert!(
                (peak.abs() - want * 1e3).abs() < 0.01 * want * 1e3 + 3.5,
                "peak {peak} mm vs |{}| mm",
                want * 1e3
            );
            assert!(
                peak < 0.0 && s["volume_m3"].as_f64().expect("volume") < 0.0,
                "subsidence"
            );
        }

        // The same deformation as an unwrapped-phase scene gives the same figures.
        let r = raster::read_geotiff(&los).expect("los");
        let raster::Pixels::F32(d) = &r.pixels else {
            panic!("float LOS")
        };
        let unw: Vec<f32> = d
            .iter()
            .map(|&m| insar::los_to_phase(f64::from(m), spec.wavelength) as f32)
            .collect();
        let unw_path = dir.path().join("scene_0.unw.tif");
        raster::write_geotiff_f32(&unw_path, r.width, r.height, &unw, r.geo.as_ref(), None)
            .expect("unw");
        let mut again: Vec<Basin> = truth_basins(&truth).into_iter().map(|(b, _)| b).collect();
        let done = add_deformation(&unw_path, &spec, None, None, None, &mut again)
            .expect("measured")
            .expect("an unwrapped scene");
        assert_eq!((done.kind, done.measured), (Kind::Unwrapped, 2));
        for (a, b) in basins.iter().zip(&again) {
            let (pa, pb) = (
                a.stats["peak_los_mm"].as_f64(),
                b.stats["peak_los_mm"].as_f64(),
            );
            let (pa, pb) = (pa.expect("peak"), pb.expect("peak"));
            assert!((pa - pb).abs() <= 0.02, "{pa} vs {pb}");
        }
    }

    #[test]
    fn volumes_need_a_georeference_or_a_pixel_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (60, 60);
        // A 1 cm deep square pit of 10 × 10 pixels on a flat background, no georeference.
        let los: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if (25..35).contains(&x) && (25..35).contains(&y) {
                    -0.01
                } else {
                    0.0
                }
            })
            .collect();
        let p = dir.path().join("pit_disp.tif");
        raster::write_geotiff_f32(&p, w, h, &los, None, None).expect("tif");
        let boxed = || {
            vec![Basin::from(detect_core::Detection {
                bbox: detect_core::BBox::new(25.0, 25.0, 35.0, 35.0),
                score: 0.5,
            })]
        };
        let spec = InputSpec::default();
        let mut basins = boxed();
        let s = add_deformation(&p, &spec, None, None, None, &mut basins)
            .expect("measured")
            .expect("a LOS scene");
        assert!(!s.volumes && !basins[0].stats.contains_key("volume_m3"));
        assert!(s.to_string().contains("pixel size"), "{s}");
        let mut basins = boxed();
        add_deformation(&p, &spec, None, None, Some((20.0, 15.0)), &mut basins).expect("measured");
        // 100 pixels of 300 m², 1 cm down: −300 m³.
        assert_eq!(basins[0].stats["volume_m3"], -300.0);
        assert_eq!(basins[0].stats["peak_los_mm"], -10.0);
        assert_eq!(basins[0].stats["mean_los_mm"], -10.0);

        let small = dir.path().join("small.unw.tif");
        raster::write_geotiff_f32(&small, 30, 30, &vec![0.0; 900], None, None).expect("tif");
        let e = add_deformation(&p, &spec, Some(&small), None, None, &mut boxed())
            .expect_err("another grid");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("small.unw.tif") && msg.contains("pit_disp.tif"),
            "{msg}"
        );
    }

    #[test]
    fn pixel_sizes_parse_with_their_range() {
        assert_eq!(parse_pixel_size("20"), Ok((20.0, 20.0)));
        assert_eq!(parse_pixel_size("13.9x15.6"), Ok((13.9, 15.6)));
        assert!(parse_pixel_size("0").is_err());
        assert!(parse_pixel_size("-3x4").is_err());
        assert!(parse_pixel_size("1x2x3").unwrap_err().contains("DXxDY"));
    }
}

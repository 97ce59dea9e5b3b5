//! Sets of simulated whole scenes run through `detect`: the held-out benchmark
//! (`bench scenes`) and the validation scenes of `calibrate`. Each scene is made by the
//! simulator from a fixed seed, detected once at a low score, and then scored at any
//! threshold by re-stitching (`detect_core::tiling::stitch_at`), exactly as `detect` at
//! that threshold would return it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use detect_core::eval::scene::{SceneDetection, SceneTruth, ScenesReport};
use detect_core::tiling::{StitchParams, stitch_at};
use synth::{Conditions, OrbitChoice, SynthConfig, Weather};

use super::detect::{self, LoadedModel, SceneTiles};

/// Lowest score kept in the one detection pass of a scene (AP and calibration sweeps).
pub const LOW_SCORE: f64 = 0.05;

/// Benchmark scenes' synth seeds start here; validation scenes' at
/// [`VALIDATION_SEED_BASE`]; training scenes come from other streams altogether.
pub const BENCH_SEED_BASE: u64 = 90_000;
pub const VALIDATION_SEED_BASE: u64 = 70_000;
/// The scenes `calibrate --rescore-scenes` fits the second look on.
pub const RESCORE_SEED_BASE: u64 = 60_000;

/// One scene of a set: a name, its seed and the conditions fixed for it.
#[derive(Clone, Debug)]
pub struct SceneSpec {
    pub name: String,
    pub seed: u64,
    pub orbit: OrbitChoice,
    pub conditions: Conditions,
}

/// The benchmark: ten scenes that span what users hold (never trained or calibrated on).
pub fn benchmark_specs() -> Vec<SceneSpec> {
    let c = |weather, filtered, span, relief: Option<bool>, coherence: Option<f64>| Conditions {
        weather: Some(weather),
        filtered: Some(filtered),
        span_days: Some(span),
        relief,
        ramp_fringes_per_10km: None,
        coherence,
        mines: None,
    };
    use OrbitChoice::{Asc, Desc};
    use Weather::{Summer, Winter};
    let list: Vec<(&str, OrbitChoice, Conditions)> = vec![
        (
            "winter-quiet-filtered",
            Asc,
            c(Winter, true, 12.0, Some(false), Some(0.8)),
        ),
        (
            "winter-unfiltered-farmland",
            Desc,
            c(Winter, false, 24.0, Some(false), Some(0.6)),
        ),
        (
            "winter-unfiltered-poor",
            Asc,
            c(Winter, false, 12.0, None, Some(0.4)),
        ),
        (
            "summer-turbulent-filtered",
            Desc,
            c(Summer, true, 12.0, None, None),
        ),
        (
            "summer-turbulent-unfiltered",
            Asc,
            c(Summer, false, 36.0, None, Some(0.6)),
        ),
        (
            "relief-stratified",
            Asc,
            c(Winter, true, 24.0, Some(true), None),
        ),
        (
            "orbital-ramp-48d",
            Desc,
            Conditions {
                ramp_fringes_per_10km: Some(1.5),
                ..c(Winter, true, 48.0, None, None)
            },
        ),
        (
            "no-basin-winter",
            Desc,
            Conditions {
                mines: Some(false),
                ..c(Winter, true, 12.0, None, None)
            },
        ),
        (
            "no-basin-summer",
            Asc,
            Conditions {
                mines: Some(false),
                ..c(Summer, true, 24.0, None, None)
            },
        ),
        (
            "no-basin-relief-unfiltered",
            Desc,
            Conditions {
                mines: Some(false),
                ..c(Summer, false, 12.0, Some(true), Some(0.5))
            },
        ),
    ];
    list.into_iter()
        .enumerate()
        .map(|(k, (name, orbit, conditions))| SceneSpec {
            name: name.to_string(),
            seed: BENCH_SEED_BASE + k as u64,
            orbit,
            conditions,
        })
        .collect()
}

/// Validation scenes: conditions drawn as for training data; every fourth has no mine.
pub fn validation_specs(n: usize, seed_base: u64) -> Vec<SceneSpec> {
    (0..n)
        .map(|k| SceneSpec {
            name: format!("val-{k}"),
            seed: seed_base + k as u64,
            orbit: OrbitChoice::Random,
            conditions: Conditions {
                mines: (k % 4 == 3).then_some(false),
                ..Conditions::default()
            },
        })
        .collect()
}

/// A scene detected once at [`LOW_SCORE`], with its truth.
pub struct ScoredScene {
    pub truth: SceneTruth,
    pub run: SceneTiles,
}

impl ScoredScene {
    /// What `detect` returns at `score`.
    pub fn detections_at(&self, score: f64, args: &detect::Args) -> Vec<SceneDetection> {
        self.detections_down_to(score, score, args)
    }

    /// The boxes down to `score`, merged into bowls as at the operating point `point`.
    pub fn detections_down_to(
        &self,
        score: f64,
        point: f64,
        args: &detect::Args,
    ) -> Vec<SceneDetection> {
        let params = StitchParams {
            bowl_from: point,
            ..detect::stitch_params(args)
        };
        stitch_at(&self.run.plan, &self.run.tiles, score, &params)
            .into_iter()
            .map(|d| SceneDetection {
                bbox: d.bbox,
                score: d.score,
            })
            .collect()
    }
}

/// Simulates `spec` (side `size`) into `dir/<name>/` and returns the scene raster and its
/// truth GeoJSON.
pub fn make_scene(spec: &SceneSpec, size: usize, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let out = dir.join(&spec.name);
    let cfg = SynthConfig {
        seed: spec.seed,
        tiles: 0,
        scenes: 1,
        scene_size: size,
        orbit: spec.orbit,
        conditions: spec.conditions.clone(),
        ..SynthConfig::default()
    };
    synth::write_dataset(&cfg, &out, true, &|| {})
        .with_context(|| format!("simulating scene {} into {}", spec.name, out.display()))?;
    let [tif, _, _, _, geojson] = synth::dataset::scene_paths(&out, 0);
    Ok((tif, geojson))
}

/// Simulates and detects one scene.
pub fn score_scene(
    spec: &SceneSpec,
    size: usize,
    dir: &Path,
    model: &LoadedModel,
    args: &detect::Args,
) -> anyhow::Result<ScoredScene> {
    let (tif, geojson) = make_scene(spec, size, dir)?;
    let run = detect::detect_tiles_of(&tif, args, model, false)?;
    let mut truth = super::eval::read_scene_truth(&geojson)?;
    truth.name = spec.name.clone();
    Ok(ScoredScene { truth, run })
}

/// Scores every scene at `score`. Each scene's list holds every box down to LOW_SCORE, with
/// bowls as at the operating point: the boxes at or above `score` are what `detect` returns
/// there (`stitch_at` thresholds after stitching), so the counts take them, AP ranks them all,
/// and each miss is put down to its score or its box.
pub fn report_at(
    scenes: &[ScoredScene],
    score: f64,
    args: &detect::Args,
) -> anyhow::Result<ScenesReport> {
    let ranked: Vec<_> = scenes
        .iter()
        .map(|s| {
            (
                s.truth.clone(),
                s.detections_down_to(LOW_SCORE, score, args),
            )
        })
        .collect();
    Ok(detect_core::eval::scene::evaluate_scenes(&ranked, score)?)
}

/// Scratch folder for a run's scenes.
pub fn scratch(given: Option<&Path>, tag: &str) -> PathBuf {
    given.map_or_else(
        || std::env::temp_dir().join(format!("yolo-basin-{tag}-{}", std::process::id())),
        Path::to_path_buf,
    )
}

//! `yolo-basin bench scan`: the paper's whole-scene scan (a 7,636 × 8,205 interferogram),
//! end to end (read, tile, encode, network, stitch, write), for each window setting, each in
//! its own `detect` process so that its peak memory (which it reports itself: a child's
//! rusage would count the simulating parent it was forked from) is its own. Speeds are
//! quoted as ratios to the first setting, measured in the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use detect_core::BBox;
use detect_core::iou::iou;
use detect_core::labels::coco::read_coco_results;
use raster::tiff_read::GeoTiffReader;
use raster::tiff_write::{GeoTiffWriter, RasterSpec, SampleType, WriteOptions};
use raster::{Pixels, Raster};
use serde::Serialize;
use synth::SynthConfig;

use super::detect::{self, Timings};
use super::scenes::scratch;

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench scan --windows 0,1024,2048 --out scan.json   # 0 (tiles): the baseline
";

/// Time a whole scene takes through `detect`, per stage, for tiles and for windows.
///
/// Simulates the paper's 7,636 × 8,205 scene once, then runs `detect` on it in a child
/// process per setting (so each peak memory is its own); the first setting is the baseline
/// the others are compared with (0 = the model's 416-pixel tiles).
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Model weights (default: the bundled model).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// Scene width in pixels (the paper's scene: 7,636 × 8,205).
    #[arg(long, default_value_t = 7636)]
    pub width: usize,
    /// Scene height in pixels.
    #[arg(long, default_value_t = 8205)]
    pub height: usize,
    /// Synth seed of the scene.
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
    /// Window settings to run (`detect --window`), comma-separated; the first is the baseline.
    #[arg(long, value_delimiter = ',', default_value = "0,1024,2048")]
    pub windows: Vec<usize>,
    /// Write the table as JSON here too.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder for the scene and the outputs (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub scratch: Option<PathBuf>,
}

/// One setting's run.
#[derive(Serialize, Debug)]
struct Row {
    window: usize,
    timings: Timings,
    total_secs: f64,
    /// Against the first setting's total.
    speedup: f64,
    /// Boxes of the baseline matched here at IoU ≥ 0.5, and the largest score change.
    matched: usize,
    max_score_change: f64,
}

pub fn run(args: Args) -> Result<()> {
    if args.windows.is_empty() {
        bail!("--windows needs at least one setting");
    }
    let dir = scratch(args.scratch.as_deref(), "bench-scan");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let scene = make_scene(&args, &dir)?;
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(|| detect::bundled(detect::DEFAULT_WEIGHTS));
    let mut rows: Vec<Row> = Vec::new();
    let mut baseline: Option<(f64, Vec<ScoredBox>)> = None;
    for &window in &args.windows {
        eprintln!("detect --window {window} …");
        let out = dir.join(format!("window-{window}"));
        let timings = run_detect(&scene, &weights, window, &out)?;
        let boxes = read_boxes(&out.join("scene.basins.coco.json"))?;
        let total = timings.total();
        let (base_total, base_boxes) = baseline.get_or_insert_with(|| (total, boxes.clone()));
        let (matched, max_score_change) = agreement(base_boxes, &boxes);
        rows.push(Row {
            window,
            total_secs: total,
            speedup: *base_total / total,
            matched,
            max_score_change,
            timings,
        });
    }
    print_table(&args, &rows);
    if let Some(out) = &args.out {
        super::atomic_write(out, serde_json::to_string_pretty(&rows)?.as_bytes())?;
    }
    if args.scratch.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Simulates a square scene of the larger side and keeps its top-left `width × height`.
fn make_scene(args: &Args, dir: &Path) -> Result<PathBuf> {
    let scene = dir.join("scene.tif");
    if scene.is_file() {
        return Ok(scene);
    }
    let side = args.width.max(args.height);
    eprintln!("simulating a {side}² scene (seed {}) …", args.seed);
    let cfg = SynthConfig {
        seed: args.seed,
        tiles: 0,
        scenes: 1,
        scene_size: side,
        ..SynthConfig::default()
    };
    let sim = dir.join("sim");
    synth::write_dataset(&cfg, &sim, true, &|| {}).context("simulating the scene")?;
    let [tif, ..] = synth::dataset::scene_paths(&sim, 0);
    crop(&tif, &scene, args.width, args.height)?;
    Ok(scene)
}

/// The top-left `width × height` of a single-band float32 GeoTIFF, streamed.
fn crop(src: &Path, dst: &Path, width: usize, height: usize) -> Result<()> {
    let mut r = GeoTiffReader::open(src)?;
    if r.bands() != 1 || r.width() < width || r.height() < height {
        bail!(
            "{}: expected one band of at least {width}×{height}",
            src.display()
        );
    }
    let spec = RasterSpec {
        width,
        height,
        bands: 1,
        sample: SampleType::F32,
        geo: r.geo().copied(),
        nodata: r.nodata(),
    };
    let mut w = GeoTiffWriter::create(dst, spec, WriteOptions::default())?;
    for y0 in (0..height).step_by(256) {
        let n = 256.min(height - y0);
        let Raster {
            pixels: Pixels::F32(v),
            width: full,
            ..
        } = r.read_rows(y0, n)?
        else {
            bail!("{}: expected float32 pixels", src.display());
        };
        let rows: Vec<f32> = v
            .chunks_exact(full)
            .flat_map(|row| &row[..width])
            .copied()
            .collect();
        w.write_rows(&Pixels::F32(rows))?;
    }
    w.finish()?;
    Ok(())
}

/// Runs `detect` in a child process; returns its timings (peak memory included).
fn run_detect(scene: &Path, weights: &Path, window: usize, out: &Path) -> Result<Timings> {
    let timings_path = out.with_extension("timings.json");
    let status = Command::new(std::env::current_exe().context("finding this program")?)
        .arg("detect")
        .arg(scene)
        .arg("--weights")
        .arg(weights)
        .arg("--window")
        .arg(window.to_string())
        .arg("--out-dir")
        .arg(out)
        .arg("--timings")
        .arg(&timings_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .context("starting detect")?;
    if !status.success() {
        bail!("detect --window {window} failed ({status})");
    }
    let text = std::fs::read_to_string(&timings_path)
        .with_context(|| format!("reading {}", timings_path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// A box and its score.
type ScoredBox = (BBox, f64);

fn read_boxes(path: &Path) -> Result<Vec<ScoredBox>> {
    let results = read_coco_results(path, None)?;
    Ok(results
        .iter()
        .map(|r| (BBox::from_xywh(r.bbox), r.score))
        .collect())
}

/// How many of `base`'s boxes `other` finds at IoU ≥ 0.5, and the largest score change
/// among those.
fn agreement(base: &[ScoredBox], other: &[ScoredBox]) -> (usize, f64) {
    let mut matched = 0;
    let mut worst = 0.0f64;
    for (b, s) in base {
        let best = other
            .iter()
            .map(|(o, so)| (iou(b, o), (s - so).abs()))
            .max_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((_, ds)) = best.filter(|(v, _)| *v >= 0.5) {
            matched += 1;
            worst = worst.max(ds);
        }
    }
    (matched, worst)
}

fn print_table(args: &Args, rows: &[Row]) {
    println!(
        "{} × {} scene, seed {}; speed-up against --window {}",
        args.width, args.height, args.seed, rows[0].window
    );
    println!(
        "{:>7} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>10}",
        "window",
        "side",
        "tiles",
        "total s",
        "read s",
        "encode",
        "network",
        "stitch",
        "speedup",
        "peak MiB",
        "matched"
    );
    for r in rows {
        let t = &r.timings;
        println!(
            "{:>7} {:>6} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>7.2} {:>7.2}× {:>8.0} {:>4}/{:<3} Δs≤{:.2}",
            r.window,
            t.side,
            t.tiles,
            r.total_secs,
            t.read_secs,
            t.encode_secs,
            t.network_secs,
            t.stitch_secs,
            r.speedup,
            t.peak_rss_mib,
            r.matched,
            rows[0].timings.basins,
            r.max_score_change
        );
    }
}

//! `yolo-basin bench scan`: the paper's whole-scene scan (a 7,636 × 8,205 interferogram),
//! end to end at `detect`'s defaults (read, tile, encode, network, stitch, write, the
//! quicklook picture), for each model and window
//! setting, each in its own `detect` process so that its peak memory (which it reports
//! itself: a child's rusage would count the simulating parent it was forked from) is its
//! own. Speeds are quoted as ratios to the first run (or to another build of `yolo-basin`
//! given as the baseline), measured in the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use detect_core::BBox;
use detect_core::iou::iou;
use detect_core::labels::coco::read_coco_results;
use raster::Pixels;
use raster::tiff_read::GeoTiffReader;
use raster::tiff_write::{GeoTiffWriter, RasterSpec, SampleType, WriteOptions};
use serde::Serialize;
use synth::SynthConfig;

use super::detect::{self, Timings};
use super::scenes::scratch;

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench scan --windows 0,1024,2048 --out scan.json   # 0 (tiles): the baseline
  yolo-basin bench scan --windows 2048 --baseline-exe ./yolo-basin-old   # against another build
  yolo-basin bench scan --width 20000 --height 20000 --windows 2048      # peak memory at scale
";

/// The largest side simulated; larger scenes repeat it mirrored (memory and speed do not
/// depend on the content repeating, and the simulator's memory grows with the area).
const MAX_SIMULATED: usize = 8205;

/// Time a whole scene takes through `detect`, per stage, for tiles and for windows.
///
/// Simulates the paper's 7,636 × 8,205 scene once (a larger one repeats an 8,205² simulation
/// mirrored), then runs `detect` on it in a child process per model and setting (so each
/// peak memory is its own); the first run is the baseline the others are compared with
/// (0 = the model's 416-pixel tiles), or `--baseline-exe`'s run of the first setting.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Model weights, comma-separated, each timed at every window setting (default: the
    /// bundled model).
    #[arg(short, long, value_delimiter = ',')]
    pub weights: Vec<PathBuf>,
    /// Another `yolo-basin` executable (an earlier build) run first on the first model and
    /// window setting: the baseline every speed-up is quoted against.
    #[arg(long, value_name = "FILE")]
    pub baseline_exe: Option<PathBuf>,
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
    /// Times to run every setting, alternating them; each setting keeps its fastest run.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
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
    /// The weights file's name, with the executable's where it is the baseline build.
    model: String,
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
    let this = std::env::current_exe().context("finding this program")?;
    let mut runs: Vec<(PathBuf, PathBuf, usize, String)> = Vec::new();
    let models = models(&args);
    if let (Some(exe), Some(first)) = (&args.baseline_exe, models.first()) {
        let label = format!("{} ({})", file_name(first), file_name(exe));
        runs.push((exe.clone(), first.clone(), args.windows[0], label));
    }
    for weights in &models {
        for &window in &args.windows {
            runs.push((this.clone(), weights.clone(), window, file_name(weights)));
        }
    }
    // Each setting's fastest round: rounds alternate the settings, so a slow spell of a
    // shared machine does not fall on one setting alone.
    let mut best: Vec<Option<(Timings, Vec<ScoredBox>)>> = vec![None; runs.len()];
    for round in 0..args.rounds.max(1) {
        for (i, (exe, weights, window, model)) in runs.iter().enumerate() {
            eprintln!("{model}: detect --window {window} (round {}) …", round + 1);
            let out = dir.join(format!("run-{i}"));
            let timings = run_detect(exe, &scene, weights, *window, &out)?;
            let boxes = read_boxes(&out.join("scene.basins.coco.json"))?;
            if best[i]
                .as_ref()
                .is_none_or(|(t, _)| timings.total() < t.total())
            {
                best[i] = Some((timings, boxes));
            }
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut baseline: Option<(f64, Vec<ScoredBox>)> = None;
    for ((_, _, window, model), (timings, boxes)) in
        runs.into_iter().zip(best.into_iter().flatten())
    {
        let total = timings.total();
        let (base_total, base_boxes) = baseline.get_or_insert_with(|| (total, boxes.clone()));
        let (matched, max_score_change) = agreement(base_boxes, &boxes);
        rows.push(Row {
            model,
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

/// The weights to time: those given, else the bundled default.
fn models(args: &Args) -> Vec<PathBuf> {
    if args.weights.is_empty() {
        vec![detect::weights_or_bundled(None)]
    } else {
        args.weights.clone()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// Simulates a square scene of the larger side (at most [`MAX_SIMULATED`]) and writes its
/// top-left `width × height`, repeated mirrored where the scene is larger.
fn make_scene(args: &Args, dir: &Path) -> Result<PathBuf> {
    let scene = dir.join("scene.tif");
    if scene.is_file() {
        return Ok(scene);
    }
    let side = args.width.max(args.height).min(MAX_SIMULATED);
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
    mirror_crop(&tif, &scene, args.width, args.height)?;
    let _ = std::fs::remove_dir_all(&sim);
    Ok(scene)
}

/// Index into a side of `len` of position `i` of a tiling that repeats it mirrored
/// (…, reversed, as is, reversed, …), so neighbouring copies meet without a seam.
fn mirrored(i: usize, len: usize) -> usize {
    let j = i % (2 * len);
    if j < len { j } else { 2 * len - 1 - j }
}

/// Rows of the source kept in memory: one block of a fixed number of rows.
const BLOCK_ROWS: usize = 256;

/// `width × height` of a single-band float32 GeoTIFF, its top-left corner where it is large
/// enough, else repeated mirrored; streamed one block of rows at a time.
fn mirror_crop(src: &Path, dst: &Path, width: usize, height: usize) -> Result<()> {
    let mut r = GeoTiffReader::open(src)?;
    let (sw, sh) = (r.width(), r.height());
    if r.bands() != 1 || sw == 0 || sh == 0 {
        bail!("{}: expected one band of float32 pixels", src.display());
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
    let mut block: Option<(usize, Vec<f32>)> = None;
    for y0 in (0..height).step_by(BLOCK_ROWS) {
        let n = BLOCK_ROWS.min(height - y0);
        let mut rows = Vec::with_capacity(n * width);
        for y in y0..y0 + n {
            let sy = mirrored(y, sh);
            let first = sy - sy % BLOCK_ROWS;
            let v = match block.take() {
                Some((b, v)) if b == first => v,
                _ => match r.read_rows(first, BLOCK_ROWS.min(sh - first))?.pixels {
                    Pixels::F32(v) => v,
                    _ => bail!("{}: expected float32 pixels", src.display()),
                },
            };
            let row = &v[(sy - first) * sw..(sy - first + 1) * sw];
            rows.extend((0..width).map(|x| row[mirrored(x, sw)]));
            block = Some((first, v));
        }
        w.write_rows(&Pixels::F32(rows))?;
    }
    w.finish()?;
    Ok(())
}

/// Runs `detect` in a child process; returns its timings (peak memory included).
fn run_detect(
    exe: &Path,
    scene: &Path,
    weights: &Path,
    window: usize,
    out: &Path,
) -> Result<Timings> {
    let timings_path = out.with_extension("timings.json");
    let status = Command::new(exe)
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
        bail!(
            "{}: detect --window {window} failed ({status})",
            exe.display()
        );
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
        "{} × {} scene, seed {}; fastest of {} round(s); speed-up against {} --window {}",
        args.width,
        args.height,
        args.seed,
        args.rounds.max(1),
        rows[0].model,
        rows[0].window
    );
    println!(
        "{:<44} {:>7} {:>10} {:>6} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9} {:>8} {:>8} {:>10}",
        "model",
        "window",
        "side",
        "tiles",
        "total s",
        "wait s",
        "encode",
        "network",
        "stitch",
        "quicklook",
        "speedup",
        "peak MiB",
        "matched"
    );
    for r in rows {
        let t = &r.timings;
        println!(
            "{:<44} {:>7} {:>10} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>7.2} {:>9.2} {:>7.2}× {:>8.0} {:>4}/{:<3} Δs≤{:.2}",
            r.model,
            r.window,
            // Older builds' timings give one side: their windows were square.
            format!(
                "{}×{}",
                t.side,
                if t.side_height > 0 {
                    t.side_height
                } else {
                    t.side
                }
            ),
            t.tiles,
            r.total_secs,
            t.read_secs,
            t.encode_secs,
            t.network_secs,
            t.stitch_secs,
            t.extras_secs,
            r.speedup,
            t.peak_rss_mib,
            r.matched,
            rows[0].timings.basins,
            r.max_score_change
        );
    }
}

#[cfg(test)]
mod tests {
    use super::mirrored;

    #[test]
    fn mirrored_tiling_repeats_without_a_seam() {
        let got: Vec<usize> = (0..10).map(|i| mirrored(i, 3)).collect();
        assert_eq!(got, [0, 1, 2, 2, 1, 0, 0, 1, 2, 2]);
        assert_eq!(mirrored(5, 7), 5);
    }
}

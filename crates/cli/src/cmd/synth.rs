//! `yolo-basin synth`: simulated Sentinel-1 interferograms of longwall mining subsidence
//! with exact labels (all logic lives in the `synth` crate).

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use synth::{Conditions, Looks, OrbitChoice, SynthConfig, Threshold, Weather};

const EXAMPLES: &str = "\
Examples:
  yolo-basin synth --out sim          # the paper's 1,160 tiles and one 8,000² scene
  yolo-basin synth --tiles 2000 --scene-tiles 3000 --scenes 0 --split 0.9,0.1 --out sim-scenes
  yolo-basin synth --tiles 0 --scene-size 4000 --weather summer --no-mines --out empty-summer
";

/// Simulate a training data set (tiles) and whole scenes.
///
/// Each tile is a wrapped-phase interferogram over a coal belt: longwall panels modelled with
/// the probability integral method (Knothe time function for the advancing face), projected
/// on the Sentinel-1 line of sight, plus turbulent and stratified atmosphere, orbit ramp,
/// DEM-error texture, look-alikes (convective bull's-eyes, groundwater bowls, topographic
/// fringes, spoil heaps) and decorrelation noise of a realistic coherence map; most tiles are
/// Goldstein-filtered as users' inputs are. Labels are exact: the box of the pixels where
/// each basin's own deformation reaches the label threshold. Layout of OUT: see
/// docs/simulator.md (images/, coherence/, los/, png/, labels/, voc/, splits/, scenes/,
/// annotations.json, manifest.json). Same seed → same bytes, whatever --threads.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Output directory; must be empty or absent unless --force.
    #[arg(long, default_value = "synth-out")]
    pub out: PathBuf,
    /// Write into a non-empty output directory (files of the same name are replaced).
    #[arg(long)]
    pub force: bool,
    /// Number of tiles (the paper's data set has 1,160).
    #[arg(long, default_value_t = 1160)]
    pub tiles: usize,
    /// Tile side in pixels (YOLO input size).
    #[arg(long, default_value_t = 416)]
    pub tile_size: usize,
    /// Number of whole scenes written to OUT/scenes (with a GeoJSON of the true boxes).
    #[arg(long, default_value_t = 1)]
    pub scenes: usize,
    /// Side of each whole scene in pixels (8,000 ≈ 148 × 111 km at the default looks).
    #[arg(long, default_value_t = 8000)]
    pub scene_size: usize,
    /// Tiles cut from whole simulated training scenes of 5 × 5 tiles (coalfields of mines
    /// among every look-alike, in a scene's proportions: most such tiles hold no basin).
    /// They are written beside the basin-centred tiles as `stile_NNNNN`; all tiles of one
    /// scene go to the same split. Detectors trained with them raise far fewer false alarms
    /// on whole scenes.
    #[arg(long, default_value_t = 0)]
    pub scene_tiles: usize,
    /// Fix the weather of every pair: winter (smooth delay) or summer (turbulent cells of
    /// 1–5 km up to about a fringe, convective bull's-eyes of 1–2 fringes). Drawn per
    /// area when absent (35 % summer).
    #[arg(long)]
    pub weather: Option<Weather>,
    /// Fix the time span of every pair, in days (drawn from 12/24/36/48 when absent).
    #[arg(long)]
    pub span_days: Option<f64>,
    /// Fix the relief: `hills` (up to 80–400 m, strong stratified delay drawing
    /// topographic fringes) or `plain` (weak delay). Drawn per area when absent.
    #[arg(long, value_parser = parse_relief)]
    pub relief: Option<bool>,
    /// Fix the orbit ramp, in fringes per 10 km (drawn in 0–1.5 when absent).
    #[arg(long)]
    pub ramp: Option<f64>,
    /// Fix the median coherence of the farmland background (0.35 poor … 0.9 good; drawn
    /// in that range when absent).
    #[arg(long)]
    pub coherence_level: Option<f64>,
    /// Place no mine anywhere: scenes and tiles without a single basin (to measure false
    /// alarms).
    #[arg(long)]
    pub no_mines: bool,
    /// Random seed; every tile and scene derives its own from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train,val,test fractions (the paper: 70/30 train/val, no test).
    #[arg(long, default_value = "0.7,0.3,0", value_parser = parse_split)]
    pub split: [f64; 3],
    /// Share of tiles that are Goldstein-filtered (α 0.5–1.0, 32-px windows); real inputs
    /// usually are.
    #[arg(long, default_value_t = 0.7)]
    pub filtered_fraction: f64,
    /// Share of tiles with no basin at all (background and hard negatives only).
    #[arg(long, default_value_t = 0.15)]
    pub negative_fraction: f64,
    /// LOS deformation at which a basin counts as visible (its box edge). In metres
    /// (`0.0035`, `3.5mm`, `0.35cm`) or as a fraction of the wavelength λ = 5.55 cm
    /// (`lambda/16`, `0.0625lambda`). Default λ/16 = 3.47 mm = π/4 of phase; `lambda/4`
    /// gives half-fringe boxes (the COCO file records those for every basin anyway).
    #[arg(long, default_value = "lambda/16", value_parser = parse_threshold)]
    pub label_threshold: Threshold,
    /// Smallest box side in pixels; smaller (or fainter than λ/8) basins are left out of the
    /// tile's simulation rather than left visible and unlabelled.
    #[arg(long, default_value_t = 8)]
    pub min_box: usize,
    /// Palette of the PNGs (cyclic, jet, jet64, hsv, gamma, gray); random per tile if absent.
    /// Phase offset and cycle direction are random per tile either way.
    #[arg(long, value_parser = parse_colormap)]
    pub colormap: Option<insar::Colormap>,
    /// Multilook as RANGExAZIMUTH looks; 5x1 (the paper's 1:5) gives pixels of about
    /// 18.5 m (range, columns) × 13.9 m (azimuth, rows) at 39° incidence.
    #[arg(long, default_value = "5x1", value_parser = parse_looks)]
    pub looks: Looks,
    /// Pass direction: asc (heading −10°), desc (190°) or random per tile.
    #[arg(long, default_value = "random", value_parser = parse_orbit)]
    pub orbit: OrbitChoice,
    /// Deflate the phase and coherence GeoTIFFs too (floating-point predictor): 12–20 %
    /// smaller, but writing then takes about as long as simulating. The truth rasters are
    /// always deflated.
    #[arg(long)]
    pub deflate: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_split(s: &str) -> Result<[f64; 3], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>().map_err(|e| format!("`{x}`: {e}")))
        .collect::<Result<_, _>>()?;
    match v.as_slice() {
        [a, b] => Ok([*a, *b, 0.0]),
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err("expected train,val[,test] fractions, e.g. 0.7,0.3,0".into()),
    }
}

fn parse_threshold(s: &str) -> Result<Threshold, String> {
    Threshold::parse(s).ok_or_else(|| {
        format!("`{s}`: expected metres (0.0035, 3.5mm) or a fraction of λ (lambda/16)")
    })
}

fn parse_colormap(s: &str) -> Result<insar::Colormap, String> {
    s.parse::<insar::Colormap>()
        .map_err(|e| format!("`{s}`: {e} (cyclic, jet, jet64, hsv, gamma, gray)"))
}

fn parse_looks(s: &str) -> Result<Looks, String> {
    Looks::parse(s).ok_or_else(|| {
        format!(
            "`{s}`: expected RANGExAZIMUTH looks of 1–{} each, e.g. 5x1",
            synth::geometry::MAX_LOOKS
        )
    })
}

fn parse_relief(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "hills" => Ok(true),
        "plain" => Ok(false),
        _ => Err(format!("`{s}`: expected hills or plain")),
    }
}

fn parse_orbit(s: &str) -> Result<OrbitChoice, String> {
    match s.to_ascii_lowercase().as_str() {
        "asc" | "ascending" => Ok(OrbitChoice::Asc),
        "desc" | "descending" => Ok(OrbitChoice::Desc),
        "random" => Ok(OrbitChoice::Random),
        _ => Err(format!("`{s}`: expected asc, desc or random")),
    }
}

impl Args {
    pub fn config(&self) -> SynthConfig {
        SynthConfig {
            seed: self.seed,
            tiles: self.tiles,
            tile_size: self.tile_size,
            scenes: self.scenes,
            scene_size: self.scene_size,
            split: self.split,
            filtered_fraction: self.filtered_fraction,
            negative_fraction: self.negative_fraction,
            label_threshold: self.label_threshold,
            min_box_px: self.min_box,
            colormap: self.colormap,
            looks: self.looks,
            orbit: self.orbit,
            deflate: self.deflate,
            scene_tiles: self.scene_tiles,
            conditions: Conditions {
                weather: self.weather,
                filtered: None,
                span_days: self.span_days,
                relief: self.relief,
                ramp_fringes_per_10km: self.ramp,
                coherence: self.coherence_level,
                mines: self.no_mines.then_some(false),
            },
        }
    }
}

/// A rayon pool of `threads` workers (all cores when `None`).
pub fn pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        anyhow::ensure!(n > 0, "--threads must be at least 1");
        b = b.num_threads(n);
    }
    b.build().context("cannot start the worker threads")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = args.config();
    cfg.validate().context("invalid synth options")?;
    let pb = ProgressBar::new((cfg.tiles + cfg.scene_tiles + cfg.scenes) as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} tiles+scenes ({eta} left)",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let t0 = std::time::Instant::now();
    let summary = pool(args.threads)?
        .install(|| synth::write_dataset(&cfg, &args.out, args.force, &|| pb.inc(1)))
        .with_context(|| format!("writing the simulated data set to {}", args.out.display()))?;
    pb.finish_and_clear();
    println!(
        "wrote {} tiles ({} cut from training scenes; {} train / {} val / {} test; {} without a basin, {} filtered) with {} basins \
         ({} cut by the tile edge, {} with decorrelated centres), {} scene(s) with {} basins, to {} in {:.1} s",
        summary.tiles,
        summary.scene_tiles,
        summary.split_counts[0],
        summary.split_counts[1],
        summary.split_counts[2],
        summary.negative_tiles,
        summary.filtered_tiles,
        summary.basins,
        summary.truncated_basins,
        summary.decorrelated_centres,
        summary.scenes,
        summary.scene_basins,
        args.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

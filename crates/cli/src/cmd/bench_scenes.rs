//! `yolo-basin bench scenes`: the scene benchmark — the bundled (or any) model at its
//! default settings on a fixed, seeded, held-out set of whole simulated scenes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use detect_core::eval::scene::scenes_table;

use super::detect;
use super::scenes::{LOW_SCORE, benchmark_specs, report_at, score_scene, scratch};

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench scenes --out scenes.json
  yolo-basin bench scenes -w light-s-calibrated.safetensors --window 0
";

/// Score a model on the scene benchmark (accuracy on whole scenes).
///
/// Ten simulated scenes (4,000² by default, about
/// 74 × 56 km each) that span what users hold — quiet winter pairs, unfiltered farmland,
/// poor coherence, summer turbulence (filtered and not), stratified delay over relief, an
/// orbital ramp over 48 days, and three scenes without any basin (winter, summer with
/// convective bull's-eyes, unfiltered relief). Seeds are fixed (90,000 + k) and never used
/// for training or calibration.
///
/// Reported per scene and overall at IoU 0.5 and 0.3: recall, precision, F1, AP50, false
/// alarms per 1,000 km², recall by peak LOS (< 3, 3–10, > 10 cm) and for decorrelated
/// centres. Counts are at the model's default score threshold (its calibration, or
/// --score); AP and mAP come from the same pass down to score 0.05.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Model weights (default: the bundled model).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// Side of each scene in pixels (at least 4,000 for the reported benchmark).
    #[arg(long, default_value_t = 4000)]
    pub size: usize,
    /// Score threshold (default: the model's calibrated one, else 0.25).
    #[arg(long)]
    pub score: Option<f64>,
    /// Only the scenes whose name contains this.
    #[arg(long)]
    pub only: Option<String>,
    /// Write the whole report (per scene and overall) as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder for the simulated scenes (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    /// Largest window side the scenes run in, as `detect --window` (0: the model's tiles).
    #[arg(long, default_value_t = input::defaults::WINDOW)]
    pub window: usize,
    /// The network's own scores, without the second look the weights carry (give --score:
    /// the stored threshold is for the second look's scores).
    #[arg(long)]
    pub no_rescore: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let weights = detect::weights_or_bundled(args.weights.as_deref());
    let mut dargs = detect::default_args();
    dargs.score = args.score;
    dargs.window = args.window;
    dargs.no_rescore = args.no_rescore;
    let model = detect::load_model(&weights, &dargs, Some(LOW_SCORE))?;
    let (score, why) = detect::score_threshold(args.score, &model.header);
    let dir = scratch(args.scratch.as_deref(), "bench-scenes");
    let specs: Vec<_> = benchmark_specs()
        .into_iter()
        .filter(|s| args.only.as_deref().is_none_or(|o| s.name.contains(o)))
        .collect();
    anyhow::ensure!(!specs.is_empty(), "no benchmark scene matches --only");
    let t0 = Instant::now();
    let mut scored = Vec::new();
    for (k, spec) in specs.iter().enumerate() {
        let s = score_scene(spec, args.size, &dir, &model, &dargs)?;
        eprintln!(
            "[{}/{}] {}: {} basins, {} tiles, detected in {:.1} s",
            k + 1,
            specs.len(),
            spec.name,
            s.truth.basins.len(),
            s.run.plan.len(),
            s.run.secs
        );
        scored.push(s);
    }
    let report = report_at(&scored, score, &dargs)?;
    let look = match &model.rescorer {
        Some(_) => "with the second look",
        None => "network scores",
    };
    println!(
        "bench scenes: {} ({look}) at score ≥ {score} ({why}), {} scenes of {}², {:.0} s",
        weights.display(),
        scored.len(),
        args.size,
        t0.elapsed().as_secs_f64()
    );
    print!("{}", scenes_table(&report));
    if let Some(out) = &args.out {
        super::atomic_write(out, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("report: {}", out.display());
    }
    if args.scratch.is_none() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

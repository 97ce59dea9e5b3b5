//! `yolo-basin calibrate`: choose a model's default score threshold on simulated
//! validation scenes and store it in the weights header.

use std::path::PathBuf;

use anyhow::{Context, bail};
use detect_core::eval::scene::evaluate_scenes;

use super::detect;
use super::scenes::{LOW_SCORE, VALIDATION_SEED_BASE, score_scene, scratch, validation_specs};

const EXAMPLES: &str = "\
Examples:
  yolo-basin calibrate -w runs/light-s/best.safetensors -o light-s-calibrated.safetensors
";

/// Choose a model's default score threshold on simulated validation scenes.
///
/// The threshold `detect` uses by default is the one with the best F1 at IoU 0.5
/// over simulated validation scenes (conditions drawn as for training; every fourth scene
/// without any mine, so false alarms on empty ground weigh in). The scenes' seeds
/// (70,000 + k by default) are neither the benchmark's nor the training scenes'. Writes a
/// copy of the weights with the threshold in its header (`calibration`); the input is left
/// as it is.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Weights to calibrate (default: the bundled model).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// Where to write the calibrated weights (must differ from --weights; replaced if it
    /// exists).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Validation scenes.
    #[arg(long, default_value_t = 8)]
    pub scenes: usize,
    /// Side of each scene in pixels.
    #[arg(long, default_value_t = 3000)]
    pub size: usize,
    /// First synth seed of the validation scenes.
    #[arg(long, default_value_t = VALIDATION_SEED_BASE)]
    pub seed: u64,
    /// Folder for the simulated scenes (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    /// Largest window side the scenes run in, as `detect --window` (0: the model's tiles).
    #[arg(long, default_value_t = input::defaults::WINDOW)]
    pub window: usize,
}

/// Thresholds tried: 0.05, 0.06, …, 0.95.
fn candidates() -> impl Iterator<Item = f64> {
    (5..=95).map(|k| k as f64 / 100.0)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let weights = detect::weights_or_bundled(args.weights.as_deref());
    if weights.canonicalize().ok() == args.out.canonicalize().ok() {
        bail!(
            "--out {} is the input weights: write the calibrated copy elsewhere",
            args.out.display()
        );
    }
    anyhow::ensure!(args.scenes > 0, "--scenes must be at least 1");
    let mut dargs = detect::default_args();
    dargs.window = args.window;
    let model = detect::load_model(&weights, &dargs, Some(LOW_SCORE))?;
    let dir = scratch(args.scratch.as_deref(), "calibrate");
    let mut scored = Vec::new();
    for spec in validation_specs(args.scenes, args.seed) {
        let s = score_scene(&spec, args.size, &dir, &model, &dargs)?;
        eprintln!(
            "{}: {} basins, {} tiles",
            spec.name,
            s.truth.basins.len(),
            s.run.plan.len()
        );
        scored.push(s);
    }
    let mut best: Option<(f64, detect_core::eval::scene::SceneCounts)> = None;
    println!(
        "score   recall  precision  F1  (IoU 0.5, {} validation scenes)",
        scored.len()
    );
    for thr in candidates() {
        let at: Vec<_> = scored
            .iter()
            .map(|s| (s.truth.clone(), s.detections_at(thr, &dargs)))
            .collect();
        let r = evaluate_scenes(&at, thr)?;
        let c = r.overall.at(0.5).cloned().context("IoU 0.5 counts")?;
        if ((thr * 100.0).round() as u32).is_multiple_of(5) {
            println!(
                "{thr:.2}   {:.3}   {:.3}      {:.3}",
                c.recall, c.precision, c.f1
            );
        }
        // Ties go to the higher threshold: fewer false alarms for the same F1.
        if best.as_ref().is_none_or(|(_, b)| c.f1 >= b.f1) {
            best = Some((thr, c));
        }
    }
    let (thr, c) = best.context("no threshold tried")?;
    let device = model::device::select_device("cpu")?;
    let (net, mut header) = model::load_weights(&weights, &device)
        .with_context(|| format!("loading {}", weights.display()))?;
    header.calibration = Some(model::Calibration {
        score_threshold: thr,
        f1: c.f1,
        recall: c.recall,
        precision: c.precision,
        iou: 0.5,
        scenes: scored.len(),
        scene_size: args.size,
        seed: args.seed,
    });
    model::save_weights(&args.out, &net, &header)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "calibrated score threshold {thr:.2}: recall {:.3}, precision {:.3}, F1 {:.3} at IoU 0.5 → {}",
        c.recall,
        c.precision,
        c.f1,
        args.out.display()
    );
    if args.scratch.is_none() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

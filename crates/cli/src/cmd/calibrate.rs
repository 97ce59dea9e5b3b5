//! `yolo-basin calibrate`: fit the second look at each box on simulated training scenes
//! (optional), then choose the default score threshold on simulated validation scenes, and
//! store both in the weights header.

use std::path::PathBuf;

use anyhow::{Context, bail};
use detect_core::eval::scene::{SceneCounts, evaluate_scenes};
use detect_core::rescore::{Boosting, Rescorer, rescore};
use detect_core::tiling::{StitchParams, stitch_at};

use super::detect;
use super::scenes::{
    LOW_SCORE, RESCORE_SEED_BASE, ScoredScene, VALIDATION_SEED_BASE, score_scene, scratch,
    validation_specs,
};

const EXAMPLES: &str = "\
Examples:
  yolo-basin calibrate -w runs/light-s/best.safetensors -o light-s-calibrated.safetensors
  yolo-basin calibrate --rescore-scenes 96 --rescore-trees 0,50 -o look.safetensors
";

/// Penalty on the rescorer's standardised weights.
const RESCORE_L2: f64 = 1.0;

/// Choose a model's default score threshold on simulated validation scenes, after fitting
/// a second look at each box on simulated training scenes.
///
/// With `--rescore-scenes N`, N training scenes (seeds 60,000 + k by default, conditions
/// drawn as for training) are detected first and every box the network returns in a window
/// (down to score 0.05) is measured: the phase gradient's coherence and fringe rate in the
/// box's core, its rim and a ring around it, how radial the gradient is, the box's size, the
/// window's roughness and how many boxes it holds. A logistic model of "this box is a
/// basin (IoU ≥ 0.5)" on those measures and the network's score is stored in the weights;
/// `detect` then replaces each box's score by its probability before stitching. The
/// network's own scores are calibrated beside each fit, and the best on the validation
/// scenes is kept.
///
/// The threshold `detect` uses by default is the one with the best F1 at IoU 0.5 (where F1
/// is flat, the highest within 0.005 of the best: fewer false alarms for the same F1)
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
    /// Fit a new second look at each box on this many simulated training scenes (each
    /// --size px) before choosing the threshold. 0: keep the one the weights carry, if any.
    #[arg(long, default_value_t = 0, overrides_with = "rescore_scenes")]
    pub rescore_scenes: usize,
    /// First synth seed of the rescorer's training scenes.
    #[arg(long, default_value_t = RESCORE_SEED_BASE)]
    pub rescore_seed: u64,
    /// Boosted trees added to the second look's weighted sum; several counts (`0,100`) fit
    /// one each, and the best on the validation scenes is kept.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub rescore_trees: Vec<usize>,
    /// Drop the second look the weights carry and calibrate the network's own scores.
    #[arg(long, conflicts_with = "rescore_scenes")]
    pub no_rescore: bool,
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
    // The network alone; each rescorer tried is applied to the kept features afterwards,
    // exactly as `detect` applies it to each window's boxes before stitching.
    dargs.no_rescore = true;
    let mut model = detect::load_model(&weights, &dargs, Some(LOW_SCORE))?;
    let dir = scratch(args.scratch.as_deref(), "calibrate");
    let tried: Vec<(String, Option<Rescorer>)> = if args.rescore_scenes > 0 {
        fit_rescorers(&args, &dir, &mut model, &dargs)?
    } else if args.no_rescore {
        vec![("network scores".into(), None)]
    } else {
        let own = model.header.rescorer.clone();
        if let Some(r) = &own {
            r.check()
                .with_context(|| format!("model weights {}", weights.display()))?;
        }
        vec![("the weights' own scores".into(), own)]
    };
    model.keep_features = tried.iter().any(|(_, r)| r.is_some());
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
    let mut chosen: Option<(f64, SceneCounts, Option<Rescorer>)> = None;
    for (name, rescorer) in tried {
        let scenes = rescored(&scored, rescorer.as_ref());
        println!(
            "{name}: score   recall  precision  F1  (IoU 0.5, {} validation scenes)",
            scenes.len()
        );
        let (thr, c) = best_threshold(&scenes, &dargs)?;
        println!(
            "  best: {thr:.2} with recall {:.3}, precision {:.3}, F1 {:.3}",
            c.recall, c.precision, c.f1
        );
        if chosen.as_ref().is_none_or(|(_, b, _)| c.f1 > b.f1) {
            chosen = Some((thr, c, rescorer));
        }
    }
    let (thr, c, rescorer) = chosen.context("nothing calibrated")?;
    where_basins_go(&rescored(&scored, rescorer.as_ref()), thr, &dargs);
    model.rescorer = rescorer;
    let device = model::device::select_device("cpu")?;
    let (net, mut header) = model::load_weights(&weights, &device)
        .with_context(|| format!("loading {}", weights.display()))?;
    header.rescorer = model.rescorer.clone();
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

/// F1 within this of the best counts as a tie: far inside the sampling noise of a few
/// hundred validation basins (~0.02).
const F1_TIE: f64 = 0.005;

/// The threshold of best F1 at IoU 0.5 over `scenes`, printing every fifth. Where F1 is flat
/// the highest threshold within [`F1_TIE`] of the best is taken: fewer false alarms for the
/// same F1, and fewer faint boxes joining bowls (whose merges then hang on small changes of
/// the input, such as a picture's palette steps).
fn best_threshold(
    scenes: &[ScoredScene],
    dargs: &detect::Args,
) -> anyhow::Result<(f64, SceneCounts)> {
    let mut all = Vec::new();
    for thr in candidates() {
        let at: Vec<_> = scenes
            .iter()
            .map(|s| (s.truth.clone(), s.detections_at(thr, dargs)))
            .collect();
        let r = evaluate_scenes(&at, thr)?;
        let c = r.overall.at(0.5).cloned().context("IoU 0.5 counts")?;
        if ((thr * 100.0).round() as u32).is_multiple_of(5) {
            println!(
                "  {thr:.2}   {:.3}   {:.3}      {:.3}",
                c.recall, c.precision, c.f1
            );
        }
        all.push((thr, c));
    }
    let top = all
        .iter()
        .map(|(_, c)| c.f1)
        .fold(f64::NEG_INFINITY, f64::max);
    all.into_iter()
        .filter(|(_, c)| c.f1 >= top - F1_TIE)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .context("no threshold tried")
}

/// Prints how many validation basins some box matches (IoU ≥ 0.5) at each stage from the
/// windows' boxes to `detect`'s output at `thr`: where the recall goes.
fn where_basins_go(scenes: &[ScoredScene], thr: f64, dargs: &detect::Args) {
    let no_bowls = StitchParams {
        bowl_ios: 2.0,
        ..detect::stitch_params(dargs)
    };
    let mut counts = [0usize; 5];
    for s in scenes {
        let truth = truth_boxes(s);
        let stitched = |min: f64, p: &StitchParams| -> Vec<detect_core::BBox> {
            stitch_at(&s.run.plan, &s.run.tiles, min, p)
                .iter()
                .map(|d| d.bbox)
                .collect()
        };
        let out: Vec<_> = s.detections_at(thr, dargs).iter().map(|d| d.bbox).collect();
        let stages = [
            truth.len(),
            matched(&truth, &window_boxes(s)),
            matched(&truth, &stitched(0.0, &no_bowls)),
            matched(&truth, &stitched(thr, &no_bowls)),
            matched(&truth, &out),
        ];
        for (c, v) in counts.iter_mut().zip(stages) {
            *c += v;
        }
    }
    println!(
        "validation basins matched (IoU ≥ 0.5) of {}: by a window's box {}, after stitching {}, at score ≥ {thr:.2} {}, merged into bowls (detect's output) {}",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );
}

/// A scene's true boxes.
fn truth_boxes(s: &ScoredScene) -> Vec<detect_core::BBox> {
    s.truth.basins.iter().map(|b| b.bbox).collect()
}

/// Every box the network returned in the scene's windows, in scene pixels, before stitching.
fn window_boxes(s: &ScoredScene) -> Vec<detect_core::BBox> {
    s.run
        .tiles
        .iter()
        .flat_map(|t| {
            let r = t.tile.rect();
            t.dets.iter().map(move |d| d.bbox.translate(r.x1, r.y1))
        })
        .collect()
}

/// How many of `truth` some box of `boxes` matches at IoU ≥ 0.5.
fn matched(truth: &[detect_core::BBox], boxes: &[detect_core::BBox]) -> usize {
    truth
        .iter()
        .filter(|t| boxes.iter().any(|b| detect_core::iou::iou(t, b) >= 0.5))
        .count()
}

/// The scenes with each window box's score replaced by `rescorer`'s (as is without one).
fn rescored(scenes: &[ScoredScene], rescorer: Option<&Rescorer>) -> Vec<ScoredScene> {
    scenes
        .iter()
        .map(|s| {
            let mut run = s.run.clone();
            if let Some(r) = rescorer {
                for (t, f) in run.tiles.iter_mut().zip(&s.run.features) {
                    rescore(r, &mut t.dets, f);
                }
            }
            ScoredScene {
                truth: s.truth.clone(),
                run,
            }
        })
        .collect()
}

/// Fits the second look on `args.rescore_scenes` training scenes detected with `model`'s
/// network alone, once per `--rescore-trees` count.
fn fit_rescorers(
    args: &Args,
    dir: &std::path::Path,
    model: &mut detect::LoadedModel,
    dargs: &detect::Args,
) -> anyhow::Result<Vec<(String, Option<Rescorer>)>> {
    anyhow::ensure!(
        model.header.config.input != model::InputKind::Rgb,
        "--rescore-scenes: the second look measures phase, and this model reads pictures"
    );
    model.keep_features = true;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let (mut basins, mut basins_boxed) = (0, 0);
    let specs = validation_specs(args.rescore_scenes, args.rescore_seed);
    for spec in specs.iter().map(|s| super::scenes::SceneSpec {
        name: format!("train-{}", s.seed - args.rescore_seed),
        ..s.clone()
    }) {
        let s = score_scene(&spec, args.size, dir, model, dargs)?;
        // Only its boxes are needed: 96 scenes of 3,000² would hold ~10 GB.
        std::fs::remove_dir_all(dir.join(&spec.name))
            .with_context(|| format!("removing the training scene {}", spec.name))?;
        let before = y.len();
        let boxed = add_samples(&s, &mut x, &mut y);
        let found = y[before..].iter().filter(|&&v| v).count();
        eprintln!(
            "{}: {} basins ({boxed} with a true box), {} boxes of which {found} true",
            spec.name,
            s.truth.basins.len(),
            y.len() - before
        );
        (basins, basins_boxed) = (basins + s.truth.basins.len(), basins_boxed + boxed);
    }
    model.keep_features = false;
    println!(
        "{} boxes ({} true) of {} training scenes; {basins_boxed} of {basins} basins have a true box (the most any rescoring can find)",
        y.len(),
        y.iter().filter(|&&v| v).count(),
        args.rescore_scenes
    );
    // The network's own scores compete too: a second look is kept only where it helps.
    let mut fitted = vec![("network scores".to_string(), None)];
    for &rounds in &args.rescore_trees {
        let boosting = (rounds > 0).then(|| Boosting {
            rounds,
            ..Boosting::default()
        });
        let r = Rescorer::fit(&x, &y, RESCORE_L2, boosting.as_ref())
            .context("fitting the second look on the training scenes' boxes")?;
        if rounds == 0 {
            println!("linear second look, standardised weights:");
            for (name, w) in r.features.iter().zip(&r.weights) {
                println!("  {name:<26} {w:+.3}");
            }
        }
        fitted.push((format!("second look, {rounds} trees"), Some(r)));
    }
    Ok(fitted)
}

/// Every window box of a scene, its features and whether it is a basin (IoU ≥ 0.5 with a
/// true box clipped to the window); returns how many of the scene's basins some box in
/// scene pixels matches at IoU ≥ 0.5.
fn add_samples(
    s: &ScoredScene,
    x: &mut Vec<detect_core::rescore::Features>,
    y: &mut Vec<bool>,
) -> usize {
    let truth = truth_boxes(s);
    for (t, f) in s.run.tiles.iter().zip(&s.run.features) {
        y.extend(detect_core::rescore::labels(
            &t.tile.rect(),
            &t.dets,
            &truth,
            0.5,
        ));
        x.extend_from_slice(f);
    }
    matched(&truth, &window_boxes(s))
}

//! `yolo-basin train`: train a detector on a simulated or user-labelled data set.

use std::path::PathBuf;

use anyhow::Context;
use input::picture::{COLORMAP_HELP, ColormapSpec};
use model::{InputKind, ModelConfig, Scale, Variant};
use train::data::{Dataset, LabelOptions, Split, open_dataset_with, open_optional_with};
use train::{AssignerKind, DeviceKind, EmaConfig, IouKind, ObjLoss, TrainConfig};

/// Train a detector (paper defaults: Adam 1e-3, poly decay over 60,000 steps, focal
/// objectness + 5·DIoU, approximate OTA with Z = 10, EMA weights).
///
/// The data set is the simulator's folder (`images/`, `coherence/`, `labels/`,
/// `annotations.json`, `splits/`), an Ultralytics `data.yaml`, or your own folder: GeoTIFF
/// phase tiles or PNG/JPEG pictures with YOLO txt, LabelImg VOC XML or COCO JSON labels
/// (without `splits/`, every tenth image validates). Only the basin class trains (see
/// `--class`); COCO crowd boxes (`iscrowd`) are blanked out of the images. The run folder gets `last.ckpt` (resumable), `best.safetensors` (best
/// validation mAP, EMA weights; give it to `predict`/`detect`), `step-NNNNNN.safetensors` at
/// every validation (to choose by scene F1 with `calibrate`), `last.safetensors`, `log.csv`,
/// `curves.png` and `report.json`.
///
/// Example: `yolo-basin train --data sim/ --out runs/light-s --max-iter 20000 --batch 8`;
/// after an interruption, `yolo-basin train --out runs/light-s --resume`.
#[derive(clap::Args)]
#[command(after_help = "\
The data set is the simulator's folder (images/, coherence/, labels/, annotations.json, splits/), \
an Ultralytics data.yaml (or a folder holding one: images/train, labels/train, images/val, \
labels/val; an image without a label file is background), or your own folder: GeoTIFF phase \
tiles or PNG/JPEG pictures with YOLO txt, LabelImg VOC XML or COCO JSON labels (without \
splits/, every tenth image validates).

Classes: only the basin class trains, the one named basin, subsidence, subsidence_basin or \
mining_subsidence (any case) in classes.txt, the data.yaml names, the VOC <name>s or the COCO \
categories, or the one --class names; boxes of other classes are left out (and counted). \
YOLO labels without any class list take class 0 as the basin. COCO crowd boxes (iscrowd) are \
blanked out of the images (as padding is), so they are neither targets nor background.

The run folder gets last.ckpt (resumable), best.safetensors (best validation mAP, EMA weights: \
give it to predict/detect), step-NNNNNN.safetensors at every validation (calibrate each on validation scenes to choose by scene F1), last.safetensors, log.csv, curves.png, report.json, config.json.

Examples:
  yolo-basin train --data sim --out runs/light-s --max-iter 20000 --batch 8
  yolo-basin train --data sim --out runs/tuned --init models/light-yolo-basin-s.safetensors
  yolo-basin train --data mine/data.yaml --class subsidence_area --out runs/mine
  yolo-basin train --out runs/light-s --resume --no-progress")]
pub struct Args {
    /// Data set: a folder, or an Ultralytics data.yaml.
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// The basin class by name (any case), for data sets with several classes; default: the
    /// class named basin, subsidence, subsidence_basin or mining_subsidence.
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,
    /// Run folder (created; holds checkpoints, weights, log and curves). A new run replaces
    /// the files of a run already there; `--resume` continues it.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out exactly where its last checkpoint left it (its stored
    /// settings are used; only --workers and --no-progress may change).
    #[arg(long)]
    pub resume: bool,
    /// Network: yolov5, yolo-basin or light-yolo-basin.
    #[arg(long, default_value = "light-yolo-basin")]
    pub variant: Variant,
    /// Width/depth scale: n, s, m or l.
    #[arg(long, default_value = "s")]
    pub scale: Scale,
    /// What the model is trained on: phase (cos φ, sin φ, coherence) or rgb (a picture's
    /// colours). Default: what the data set holds. Pictures (LabelImg data) train a phase
    /// model with `--input phase`, read back to phase through --colormap, as `detect` and
    /// `predict` read them.
    #[arg(long)]
    pub input: Option<InputKind>,
    /// For pictures and a phase model: the colormap they were drawn with.
    #[arg(long, default_value = "auto", long_help = COLORMAP_HELP)]
    pub colormap: ColormapSpec,
    /// Make the neck and head 3×3 convolutions depthwise too (beyond the paper).
    #[arg(long)]
    pub depthwise_neck: bool,
    /// Tile side in pixels (multiple of 32); larger images are cropped, smaller padded.
    #[arg(long, default_value_t = 416)]
    pub tile: usize,
    /// Images per step (1–1024).
    #[arg(long, default_value_t = 8, value_parser = super::batch_size(1024))]
    pub batch: usize,
    /// Steps (the paper: 60,000).
    #[arg(long, default_value_t = 60_000)]
    pub max_iter: u64,
    /// Initial learning rate; decays as lr·(1 − step/max_iter)^0.9.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// L2 weight decay (as PyTorch Adam's weight_decay); 0 = none.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Keep an EMA of the weights (YOLOv5's decay 0.9999·(1 − e^(−t/2000))) and evaluate
    /// and export it: on / off.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub ema: String,
    /// The EMA's decay d₀ (its horizon is ~1/(1 − d₀) steps). With the defaults the decay is
    /// only 0.39 at step 1,000, so a short leg from `--init` barely averages: try 0.998 and
    /// `--ema-tau 100`.
    #[arg(long, default_value_t = 0.9999, value_parser = parse_decay)]
    pub ema_decay: f64,
    /// Steps τ over which the EMA's decay ramps up to d₀ (d₀·(1 − e^(−t/τ))).
    #[arg(long, default_value_t = 2000.0, value_parser = parse_tau)]
    pub ema_tau: f64,
    /// Assignment: ota (paper's approximation, Formula 6), yolox (k = ⌊Σ top-Z IoU⌋) or
    /// sinkhorn (original OTA, slower). Ignored by yolov5, which uses its own.
    #[arg(long, default_value = "ota")]
    pub assigner: AssignerKind,
    /// Z of Formula 6: predictions (by IoU) whose costs set each ground truth's k.
    #[arg(long, default_value_t = 10)]
    pub z: usize,
    /// Box loss: iou, giou, diou (paper) or ciou.
    #[arg(long, default_value = "diou")]
    pub loss_iou: IouKind,
    /// Plain BCE objectness instead of the focal loss (paper Table 4).
    #[arg(long)]
    pub no_focal: bool,
    /// Focal loss α.
    #[arg(long, default_value_t = 0.25)]
    pub focal_alpha: f32,
    /// Focal loss γ.
    #[arg(long, default_value_t = 2.0)]
    pub focal_gamma: f32,
    /// Validate (mAP on the val split) every N steps; 0 = only at the end.
    #[arg(long, default_value_t = 2000)]
    pub eval_every: u64,
    /// Checkpoint every N steps (and always at the end).
    #[arg(long, default_value_t = 500)]
    pub ckpt_every: u64,
    /// Seed of every random draw (same seed and threads → same weights).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Data-loading threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Device: cpu, cuda or wgpu (GPU ones need a build with that feature).
    #[arg(long, default_value = "cpu")]
    pub device: DeviceKind,
    /// Start from these weights (same variant and scale).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

fn config_from_args(args: &Args) -> anyhow::Result<TrainConfig> {
    let data = args
        .data
        .clone()
        .context("--data is required for a new run")?;
    // The model's input encoding follows the data (phase tiles or pictures) unless --input
    // asks for phase from pictures; refused here, before a run folder is made, if it cannot.
    let labels = LabelOptions::with_class(args.class.clone());
    let ds = open_dataset_with(&data, Split::Train, &labels)
        .with_context(|| format!("reading the data set in {}", data.display()))?;
    report_labels("train", &ds);
    let val = open_optional_with(&data, Split::Val, &labels)
        .with_context(|| format!("reading the validation split of {}", data.display()))?;
    if let Some(val) = &val {
        report_labels("val", val);
    }
    let input = args.input.unwrap_or(ds.input);
    ds.for_model(input, args.colormap.clone())
        .with_context(|| format!("--input {input} on the data set in {}", data.display()))?;
    let model = ModelConfig::new(args.variant, args.scale)
        .with_input(input)
        .with_tile(args.tile)
        .with_depthwise_neck(args.depthwise_neck);
    let mut cfg = TrainConfig::paper(data, args.out.clone(), model);
    cfg.colormap = args.colormap.clone();
    cfg.class = args.class.clone();
    cfg.batch = args.batch;
    cfg.max_iter = args.max_iter;
    cfg.lr = args.lr;
    cfg.warmup = args.warmup;
    cfg.weight_decay = args.weight_decay;
    cfg.ema = (args.ema == "on").then_some(EmaConfig {
        decay: args.ema_decay,
        tau: args.ema_tau,
    });
    cfg.loss.assign.kind = args.assigner;
    cfg.loss.assign.z = args.z;
    cfg.loss.iou = args.loss_iou;
    cfg.loss.obj = if args.no_focal {
        ObjLoss::Bce
    } else {
        ObjLoss::Focal {
            alpha: args.focal_alpha,
            gamma: args.focal_gamma,
        }
    };
    cfg.eval_every = args.eval_every;
    cfg.ckpt_every = args.ckpt_every;
    cfg.seed = args.seed;
    cfg.workers = args.workers;
    cfg.device = args.device;
    cfg.init = args.init.clone();
    cfg.progress = !args.no_progress;
    Ok(cfg)
}

/// Says what of a split's labels does not train: other classes, crowd regions.
fn report_labels(split: &str, ds: &Dataset) {
    if !ds.ignored.is_empty() {
        eprintln!("{split}: {}", ds.ignored);
    }
    let crowd: usize = ds.items.iter().map(|i| i.crowd.len()).sum();
    if crowd > 0 {
        eprintln!("{split}: {crowd} crowd boxes (iscrowd) blanked out of the images");
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = if args.resume {
        let mut cfg = train::config::load_run_config(&args.out)
            .with_context(|| format!("resuming the run in {}", args.out.display()))?;
        cfg.workers = args.workers;
        cfg.progress = !args.no_progress;
        cfg
    } else {
        config_from_args(&args)?
    };
    let report = train::train(&cfg, args.resume).context("training")?;
    println!(
        "{} steps; loss {:.4} → {:.4} (mean of first/last tenth {:.4} → {:.4}); {:.2} images/s",
        report.steps,
        report.first_loss,
        report.last_loss,
        report.early_mean_loss,
        report.late_mean_loss,
        report.images_per_s
    );
    if let Some(b) = report.best {
        println!(
            "best validation mAP {:.4} (AP50 {:.4}) at step {} → {}",
            b.map,
            b.ap50,
            report.best_step,
            cfg.out.join(train::trainer::BEST_WEIGHTS).display()
        );
    }
    Ok(())
}

/// `--ema-decay`: a number in [0, 1).
fn parse_decay(s: &str) -> Result<f64, String> {
    super::number_in(s, |v: &f64| (0.0..1.0).contains(v), "[0, 1)")
}

/// `--ema-tau`: a positive number of steps.
fn parse_tau(s: &str) -> Result<f64, String> {
    super::number_in(s, |&v: &f64| v.is_finite() && v > 0.0, "(0, ∞)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_settings_are_checked() {
        assert_eq!(parse_decay("0.998"), Ok(0.998));
        assert_eq!(parse_decay("0"), Ok(0.0));
        for bad in ["1", "1.5", "-0.1", "NaN", "x"] {
            assert!(parse_decay(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_tau("100"), Ok(100.0));
        for bad in ["0", "-5", "inf", "NaN", ""] {
            assert!(parse_tau(bad).is_err(), "{bad}");
        }
    }
}

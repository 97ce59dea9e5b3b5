//! The training loop: batches from the loader, forward, assignment + loss, backward, Adam
//! with the poly schedule, EMA, checkpoints, validation and the best weights, the log.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::{Detector, WeightsHeader, decode, save_weights};

use crate::checkpoint::{CheckpointError, CheckpointMeta, load_checkpoint, save_checkpoint};
use crate::config::{DeviceKind, TrainConfig};
use crate::data::{Batch, DataError, Dataset, Loader, LoaderConfig, Split};
use crate::ema::Ema;
use crate::eval::{EvalFailure, EvalSummary, validate};
use crate::log::{CsvLog, LogRow, plot_curves};
use crate::loss::{LossOutput, detection_loss, scalar};
use crate::loss_v5::{LevelGeom, V5Inputs, yolov5_loss};
use crate::schedule::Schedule;

/// File names inside the run folder.
pub const CHECKPOINT_FILE: &str = "last.ckpt";
pub const BEST_WEIGHTS: &str = "best.safetensors";
pub const LAST_WEIGHTS: &str = "last.safetensors";
pub const LOG_FILE: &str = "log.csv";
pub const CURVES_FILE: &str = "curves.png";
pub const REPORT_FILE: &str = "report.json";

/// The weights saved at each validation, `step-000400.safetensors`.
pub fn eval_weights_file(step: u64) -> String {
    format!("step-{step:06}.safetensors")
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Model(#[from] model::ModelError),
    #[error("validation failed: {0}")]
    Eval(#[from] EvalFailure),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the loss became {value} at step {step} (obj {obj}, box {boxes}): stopped; the last good \
         checkpoint is {checkpoint} — resume from it with a lower --lr or some --warmup"
    )]
    NonFinite {
        step: u64,
        value: f32,
        obj: f32,
        boxes: f32,
        checkpoint: String,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    RunConfig(#[from] crate::config::RunConfigError),
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainReport {
    /// Steps completed (in total, across resumes).
    pub steps: u64,
    /// Loss of the first step this process ran, and of the last.
    pub first_loss: f32,
    pub last_loss: f32,
    /// Mean loss over the first and last tenth of the steps this process ran.
    pub early_mean_loss: f32,
    pub late_mean_loss: f32,
    /// Best validation so far and its step.
    pub best: Option<EvalSummary>,
    pub best_step: u64,
    /// Validation of the final weights.
    pub last_eval: Option<EvalSummary>,
    /// Mean throughput of this process's steps.
    pub images_per_s: f64,
}

/// The burn device for a kind (model::device's names: cpu, cuda, wgpu).
pub fn make_device(kind: DeviceKind) -> Result<Device, TrainError> {
    let name = match kind {
        DeviceKind::Cpu => "cpu",
        DeviceKind::Cuda => "cuda",
        DeviceKind::Wgpu => "wgpu",
    };
    Ok(model::device::select_device(name)?)
}

/// Forward, decode and loss for one batch (the model on an autodiff device).
pub fn batch_loss(
    model: &Detector,
    cfg: &TrainConfig,
    batch: Batch,
    device: &Device,
) -> LossOutput {
    let (b, t) = (batch.size, batch.tile);
    let x = Tensor::<4>::from_data(TensorData::new(batch.images, [b, 3, t, t]), device);
    let out = model.forward(x);
    let levels: Vec<LevelGeom> = out
        .levels
        .iter()
        .map(|l| {
            let [_, _, h, w] = l.raw.dims();
            LevelGeom {
                stride: l.stride,
                h,
                w,
            }
        })
        .collect();
    let dec = decode(&out, model.config());
    if model.config().variant.is_anchor_free() {
        detection_loss(
            &cfg.loss,
            dec.boxes,
            dec.obj_logits,
            &dec.centers,
            &dec.strides,
            &batch.gts,
        )
    } else {
        let cls = dec
            .cls_logits
            .unwrap_or_else(|| dec.obj_logits.zeros_like());
        let inputs = V5Inputs {
            boxes: dec.boxes,
            obj_logits: dec.obj_logits,
            cls_logits: cls,
            levels,
            anchors: model.config().anchors(),
            tile: t,
        };
        yolov5_loss(&cfg.loss_v5, inputs, &batch.gts)
    }
}

/// Adam with the run's ε and weight decay.
pub fn optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let mut adam = AdamConfig::new().with_epsilon(cfg.adam_epsilon as f32);
    if cfg.weight_decay > 0.0 {
        adam = adam.with_weight_decay(Some(WeightDecayConfig::new(cfg.weight_decay as f32)));
    }
    adam.init()
}

struct Finite(bool);

impl ModuleVisitor for Finite {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.0 {
            let t = param.val().without_autodiff();
            self.0 = t.is_finite().all().into_scalar::<bool>();
        }
    }
}

fn all_finite<M: Module>(m: &M) -> bool {
    let mut f = Finite(true);
    m.visit(&mut f);
    f.0
}

/// The training state that persists across steps.
struct Run {
    model: Detector,
    optim: ModuleOptimizer,
    ema: Option<Ema<Detector>>,
    step: u64,
    best_map: f64,
    best_step: u64,
    best: Option<EvalSummary>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn open_datasets(cfg: &TrainConfig) -> Result<(Arc<Dataset>, Option<Dataset>), TrainError> {
    let labels = crate::data::LabelOptions::with_class(cfg.class.clone());
    let train = crate::data::dataset::open_dataset_with(&cfg.data, Split::Train, &labels)?
        .for_model(cfg.model.input, cfg.colormap.clone())?;
    let val = crate::data::dataset::open_optional_with(&cfg.data, Split::Val, &labels)?
        .map(|v| v.for_model(cfg.model.input, cfg.colormap.clone()))
        .transpose()?;
    Ok((Arc::new(train), val))
}

/// Builds a fresh run, or the one in the run folder's checkpoint when `resume`.
fn start_run(
    cfg: &TrainConfig,
    resume: bool,
    ad: &Device,
    plain: &Device,
) -> Result<Run, TrainError> {
    let mut model = Detector::try_seeded(&cfg.model, ad, cfg.seed)?;
    if let Some(init) = &cfg.init {
        let (loaded, header) = model::load_weights(init, ad)?;
        if header.config.variant != cfg.model.variant || header.config.scale != cfg.model.scale {
            return Err(TrainError::Config(format!(
                "--init {} is a {} but the run trains a {}",
                init.display(),
                header.config.name(),
                cfg.model.name()
            )));
        }
        model = loaded.train();
    }
    let mut run = Run {
        ema: cfg.ema.map(|c| Ema::new(&model, c)),
        model,
        optim: optimizer(cfg),
        step: 0,
        best_map: -1.0,
        best_step: 0,
        best: None,
    };
    if !resume {
        return Ok(run);
    }
    let path = cfg.out.join(CHECKPOINT_FILE);
    let ck = load_checkpoint(&path)?;
    if ck.meta.config != cfg.identity() {
        return Err(TrainError::Config(format!(
            "{} was written by a run with other settings; resume with the same ones \
             (stored: {})",
            path.display(),
            ck.meta.config
        )));
    }
    let load_err = |what: &str, e: burn::store::RecordError| {
        TrainError::Checkpoint(CheckpointError::Format {
            path: path.clone(),
            msg: format!("{what}: {e}"),
        })
    };
    run.model = Detector::try_new(&cfg.model, ad)?
        .try_load_record(ck.model)
        .map_err(|e| load_err("model", e))?;
    run.optim = optimizer(cfg)
        .from_bytes(ck.optim)
        .map_err(|e| load_err("optimiser", e))?;
    if let (Some(c), Some(rec)) = (cfg.ema, ck.ema) {
        let m = Detector::try_new(&cfg.model, plain)?
            .try_load_record(rec)
            .map_err(|e| load_err("EMA", e))?;
        run.ema = Some(Ema::resume(m, ck.meta.ema_updates, c));
    }
    run.step = ck.meta.step;
    run.best_map = ck.meta.best_map;
    run.best_step = ck.meta.best_step;
    Ok(run)
}

impl Run {
    fn eval_model(&self) -> Detector {
        match &self.ema {
            Some(e) => e.module.clone(),
            None => self.model.valid(),
        }
    }

    fn checkpoint(&self, cfg: &TrainConfig) -> Result<(), TrainError> {
        let path = cfg.out.join(CHECKPOINT_FILE);
        if !all_finite(&self.model) {
            return Err(TrainError::NonFinite {
                step: self.step,
                value: f32::NAN,
                obj: f32::NAN,
                boxes: f32::NAN,
                checkpoint: format!(
                    "{} (weights became non-finite; not overwritten)",
                    path.display()
                ),
            });
        }
        let meta = CheckpointMeta {
            step: self.step,
            ema_updates: self.ema.as_ref().map_or(0, |e| e.updates),
            best_map: self.best_map,
            best_step: self.best_step,
            config: cfg.identity(),
        };
        save_checkpoint(
            &path,
            &meta,
            &self.model,
            &self.optim,
            self.ema.as_ref().map(|e| &e.module),
        )?;
        Ok(())
    }

    fn save_weights(
        &self,
        cfg: &TrainConfig,
        file: &str,
        eval: Option<&EvalSummary>,
    ) -> Result<(), TrainError> {
        let header = WeightsHeader::new(&cfg.model)
            .with_training(serde_json::json!({
                "step": self.step,
                "config": cfg,
                "ema": cfg.ema.is_some(),
            }))
            .with_metrics(serde_json::to_value(eval).unwrap_or_default());
        save_weights(&cfg.out.join(file), &self.eval_model(), &header)?;
        Ok(())
    }

    /// Validates, keeps the best weights; returns the summary.
    fn validate(&mut self, cfg: &TrainConfig, val: &Dataset) -> Result<EvalSummary, TrainError> {
        let summary = validate(
            &self.eval_model(),
            val,
            cfg.model.tile,
            cfg.batch,
            cfg.workers,
        )?;
        // Tile mAP picks `best`; a scene-level choice (`calibrate` each, keep the best F1)
        // needs every validated step's weights too.
        self.save_weights(cfg, &eval_weights_file(self.step), Some(&summary))?;
        if summary.map > self.best_map {
            self.best_map = summary.map;
            self.best_step = self.step;
            self.best = Some(summary);
            self.save_weights(cfg, BEST_WEIGHTS, Some(&summary))?;
        }
        Ok(summary)
    }
}

fn progress_bar(cfg: &TrainConfig, start: u64) -> ProgressBar {
    let bar = ProgressBar::new(cfg.max_iter);
    if !cfg.progress {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template(
        "{bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {per_sec} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_position(start);
    bar
}

/// Trains per `cfg` (resuming from the run folder's checkpoint when `resume`).
pub fn train(cfg: &TrainConfig, resume: bool) -> Result<TrainReport, TrainError> {
    train_until(cfg, resume, None)
}

/// As [`train`], but stops (as if killed, after its checkpoint) once `stop_after` steps are
/// done: what the resume test uses.
pub fn train_until(
    cfg: &TrainConfig,
    resume: bool,
    stop_after: Option<u64>,
) -> Result<TrainReport, TrainError> {
    if cfg.batch == 0 || cfg.max_iter == 0 {
        return Err(TrainError::Config(
            "--batch and --max-iter must be positive".into(),
        ));
    }
    std::fs::create_dir_all(&cfg.out).map_err(io_err(&cfg.out))?;
    let (train_ds, val_ds) = open_datasets(cfg)?;
    let plain = make_device(cfg.device)?;
    let ad = plain.clone().autodiff();
    let mut run = start_run(cfg, resume, &ad, &plain)?;
    if !resume {
        crate::config::save_run_config(cfg)?;
    }
    let log_path = cfg.out.join(LOG_FILE);
    let mut log = CsvLog::open(&log_path, resume.then_some(run.step)).map_err(io_err(&log_path))?;
    let schedule = Schedule {
        lr: cfg.lr,
        max_iter: cfg.max_iter,
        power: 0.9,
        warmup: cfg.warmup,
    };
    let loader_cfg = LoaderConfig {
        batch: cfg.batch,
        tile: cfg.model.tile,
        workers: cfg.workers.max(1),
        prefetch: 2,
        seed: cfg.seed,
        augment: cfg.augment,
    };
    let mut loader = Loader::start(Arc::clone(&train_ds), loader_cfg, run.step);
    let bar = progress_bar(cfg, run.step);
    let started = Instant::now();
    let first_step = run.step;
    let mut losses: Vec<f32> = Vec::new();
    let mut last_eval = None;

    while run.step < cfg.max_iter {
        let t0 = Instant::now();
        let batch = loader.next_batch()?;
        let out = batch_loss(&run.model, cfg, batch, &ad);
        let value = scalar(&out.total);
        if !value.is_finite() {
            bar.abandon();
            return Err(TrainError::NonFinite {
                step: run.step + 1,
                value,
                obj: out.obj,
                boxes: out.boxes,
                checkpoint: cfg.out.join(CHECKPOINT_FILE).display().to_string(),
            });
        }
        let grads = GradientsParams::from_grads(out.total.backward(), &run.model);
        let lr = schedule.lr_at(run.step);
        run.model = run.optim.step(lr, run.model, grads);
        if let Some(ema) = &mut run.ema {
            ema.update(&run.model);
        }
        run.step += 1;
        losses.push(value);

        let done = run.step == cfg.max_iter;
        let mut val = None;
        if let Some(vds) = &val_ds
            && (done || (cfg.eval_every > 0 && run.step.is_multiple_of(cfg.eval_every)))
        {
            let s = run.validate(cfg, vds)?;
            last_eval = Some(s);
            val = Some((s.map, s.ap50));
        }
        if done
            || (cfg.ckpt_every > 0 && run.step.is_multiple_of(cfg.ckpt_every))
            || stop_after == Some(run.step)
        {
            run.checkpoint(cfg)?;
        }
        let row = LogRow {
            step: run.step,
            lr,
            loss: value,
            obj: out.obj,
            boxes: out.boxes,
            positives: out.positives,
            images_per_s: cfg.batch as f64 / t0.elapsed().as_secs_f64().max(1e-9),
            val,
        };
        log.append(&row).map_err(io_err(&log_path))?;
        bar.set_position(run.step);
        bar.set_message(format!(
            "loss {value:.4} (obj {:.4} box {:.4}, {} pos) lr {lr:.2e} {:.2} img/s{}",
            out.obj,
            out.boxes,
            out.positives,
            row.images_per_s,
            run.best
                .map_or(String::new(), |b| format!(" best mAP {:.4}", b.map)),
        ));
        if stop_after == Some(run.step) {
            break;
        }
    }
    bar.finish();
    drop(loader);

    let finished = run.step == cfg.max_iter;
    if finished {
        run.save_weights(cfg, LAST_WEIGHTS, last_eval.as_ref())?;
        if let Ok(rows) = log.rows() {
            // The curve is a convenience: a drawing failure must not fail a finished run.
            if let Err(e) = plot_curves(&cfg.out.join(CURVES_FILE), &rows) {
                eprintln!("warning: could not draw {}: {e}", CURVES_FILE);
            }
        }
    }
    let report = summarise(&run, &losses, first_step, started, cfg.batch, last_eval);
    let report_path = cfg.out.join(REPORT_FILE);
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    raster::atomic::write(&report_path, json).map_err(io_err(&report_path))?;
    Ok(report)
}

fn summarise(
    run: &Run,
    losses: &[f32],
    first_step: u64,
    started: Instant,
    batch: usize,
    last_eval: Option<EvalSummary>,
) -> TrainReport {
    let tenth = (losses.len() / 10).max(1);
    let mean = |s: &[f32]| {
        if s.is_empty() {
            f32::NAN
        } else {
            s.iter().sum::<f32>() / s.len() as f32
        }
    };
    let ran = run.step - first_step;
    TrainReport {
        steps: run.step,
        first_loss: losses.first().copied().unwrap_or(f32::NAN),
        last_loss: losses.last().copied().unwrap_or(f32::NAN),
        early_mean_loss: mean(&losses[..tenth.min(losses.len())]),
        late_mean_loss: mean(&losses[losses.len().saturating_sub(tenth)..]),
        best: run.best,
        best_step: run.best_step,
        last_eval,
        images_per_s: (ran as f64 * batch as f64) / started.elapsed().as_secs_f64().max(1e-9),
    }
}

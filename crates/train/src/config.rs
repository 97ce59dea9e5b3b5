//! Everything a training run is made of, as plain serialisable data (it is stored in every
//! checkpoint and in the weights' header).

use std::path::PathBuf;

use input::ColormapSpec;
use model::ModelConfig;
use serde::{Deserialize, Serialize};

use crate::data::AugmentConfig;
use crate::ema::EmaConfig;
use crate::loss::LossConfig;
use crate::loss_v5::V5LossConfig;

/// Where the tensors live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DeviceKind {
    /// Burn's Flex CPU backend.
    #[default]
    Cpu,
    /// CUDA device 0 (a build with the `cuda` feature).
    Cuda,
    /// wgpu's default adapter (a build with the `wgpu` feature).
    Wgpu,
}

impl std::str::FromStr for DeviceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "wgpu" => Ok(Self::Wgpu),
            other => Err(format!(
                "unknown device {other:?}: expected cpu, cuda or wgpu"
            )),
        }
    }
}

/// A training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Data set folder.
    pub data: PathBuf,
    /// Run folder (checkpoints, weights, log, curves).
    pub out: PathBuf,
    /// The network (phase tiles need a phase model; pictures go to either).
    pub model: ModelConfig,
    /// For pictures and a phase model: the colormap they were drawn with (auto: the known
    /// one that explains each picture best). Runs from before it existed read `auto`.
    #[serde(default)]
    pub colormap: ColormapSpec,
    /// The basin class of a data set with several classes (`train --class`); None: the class
    /// named basin / subsidence / subsidence_basin / mining_subsidence (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Images per step.
    pub batch: usize,
    /// Steps (the paper: 60,000).
    pub max_iter: u64,
    /// Initial learning rate (paper: 1e-3).
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// L2 weight decay added to the gradient (PyTorch Adam's `weight_decay`); 0 = none.
    pub weight_decay: f64,
    /// Adam's ε (PyTorch's default 1e-8, which the paper's runs used).
    pub adam_epsilon: f64,
    /// Keep an EMA of the weights and evaluate / export it.
    pub ema: Option<EmaConfig>,
    /// Anchor-free loss and assignment.
    pub loss: LossConfig,
    /// YOLOv5 loss (the `yolov5` variant).
    pub loss_v5: V5LossConfig,
    /// Augmentation.
    pub augment: AugmentConfig,
    /// Validate every this many steps (0 = only at the end).
    pub eval_every: u64,
    /// Checkpoint every this many steps (the last step always checkpoints).
    pub ckpt_every: u64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Data-loading threads.
    pub workers: usize,
    /// Start from these weights (a `.safetensors` of the model crate's format).
    pub init: Option<PathBuf>,
    /// Device.
    pub device: DeviceKind,
    /// Draw a progress bar.
    pub progress: bool,
}

impl TrainConfig {
    /// The paper's settings for `model`, on `data`, into `out`.
    pub fn paper(data: PathBuf, out: PathBuf, model: ModelConfig) -> Self {
        Self {
            data,
            out,
            model,
            colormap: ColormapSpec::Auto,
            class: None,
            batch: 8,
            max_iter: 60_000,
            lr: 1e-3,
            warmup: 0,
            weight_decay: 0.0,
            adam_epsilon: 1e-8,
            ema: Some(EmaConfig::default()),
            loss: LossConfig::default(),
            loss_v5: V5LossConfig::default(),
            augment: AugmentConfig::default(),
            eval_every: 2000,
            ckpt_every: 500,
            seed: 0,
            workers: 2,
            init: None,
            device: DeviceKind::Cpu,
            progress: true,
        }
    }

    /// Settings that, when changed, make a checkpoint a different run (resume refuses).
    pub fn identity(&self) -> serde_json::Value {
        let mut id = self.base_identity();
        // Only a chosen colormap joins, so checkpoints from before it existed still resume.
        if self.colormap != ColormapSpec::Auto
            && let Some(map) = id.as_object_mut()
        {
            map.insert("colormap".into(), self.colormap.to_string().into());
        }
        // Likewise the class: another class is another run.
        if let (Some(class), Some(map)) = (&self.class, id.as_object_mut()) {
            map.insert("class".into(), class.clone().into());
        }
        id
    }

    fn base_identity(&self) -> serde_json::Value {
        serde_json::json!({
            "model": self.model,
            "batch": self.batch,
            "max_iter": self.max_iter,
            "lr": self.lr,
            "warmup": self.warmup,
            "weight_decay": self.weight_decay,
            "adam_epsilon": self.adam_epsilon,
            "ema": self.ema,
            "loss": self.loss,
            "loss_v5": self.loss_v5,
            "augment": self.augment,
            "seed": self.seed,
        })
    }
}

/// The run folder's copy of its configuration (what `--resume` continues with).
pub const CONFIG_FILE: &str = "config.json";

/// Why a run's stored configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RunConfigError {
    #[error("{}: {source} (is this a run folder made by `yolo-basin train`?)", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a training configuration: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Writes `cfg` into its run folder.
pub fn save_run_config(cfg: &TrainConfig) -> Result<(), RunConfigError> {
    let path = cfg.out.join(CONFIG_FILE);
    let json = serde_json::to_string_pretty(cfg).map_err(|source| RunConfigError::Json {
        path: path.clone(),
        source,
    })?;
    raster::atomic::write(&path, json).map_err(|source| RunConfigError::Io { path, source })
}

/// Reads the configuration stored in a run folder.
pub fn load_run_config(out: &std::path::Path) -> Result<TrainConfig, RunConfigError> {
    let path = out.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| RunConfigError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| RunConfigError::Json { path, source })
}

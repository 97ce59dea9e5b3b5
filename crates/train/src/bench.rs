//! Training-step speed: forward, assignment + loss, backward and the Adam step of a network
//! on a synthetic batch, timed phase by phase.

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use model::{Detector, ModelConfig, decode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::TrainConfig;
use crate::loss::{detection_loss, scalar};
use crate::trainer::{batch_loss, optimizer};

/// Seconds per phase of one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct StepTiming {
    pub forward: f64,
    pub loss: f64,
    pub backward: f64,
    pub optimizer: f64,
    pub total: f64,
}

/// Timings of the measured steps (after `warmup` untimed ones).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BenchResult {
    pub batch: usize,
    pub tile: usize,
    pub steps: Vec<StepTiming>,
}

impl BenchResult {
    /// Median of a phase over the steps.
    pub fn median(&self, f: impl Fn(&StepTiming) -> f64) -> f64 {
        let mut v: Vec<f64> = self.steps.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// Images per second at the median step time.
    pub fn images_per_s(&self) -> f64 {
        self.batch as f64 / self.median(|t| t.total)
    }
}

/// A batch of random phase-like inputs with three boxes per image.
fn synthetic_batch(batch: usize, tile: usize, seed: u64) -> (Vec<f32>, Vec<Vec<[f32; 4]>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let images = (0..batch * 3 * tile * tile)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let gts = (0..batch)
        .map(|_| {
            (0..3)
                .map(|_| {
                    let side = rng.random_range(0.1..0.3) * tile as f32;
                    let x = rng.random_range(0.0..tile as f32 - side);
                    let y = rng.random_range(0.0..tile as f32 - side);
                    [x, y, x + side, y + side]
                })
                .collect()
        })
        .collect();
    (images, gts)
}

/// The same training steps timed on the plain burn path and on the fused Conv block path
/// (`model::fused`), in one process.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PathComparison {
    pub plain: BenchResult,
    pub fused: BenchResult,
}

impl PathComparison {
    /// Median plain step time over median fused step time.
    pub fn speedup(&self) -> f64 {
        self.plain.median(|t| t.total) / self.fused.median(|t| t.total)
    }
}

/// [`bench_train_steps`] with the fused Conv block path forced on or off (on this thread,
/// where the network's forward runs).
pub fn bench_train_path(
    model_cfg: &ModelConfig,
    batch: usize,
    warmup: usize,
    steps: usize,
    device: &Device,
    fused: bool,
) -> BenchResult {
    model::fused::with_enabled(fused, || {
        bench_train_steps(model_cfg, batch, warmup, steps, device)
    })
}

/// Plain burn first, then the fused path, on the same synthetic batches.
pub fn bench_train_compare(
    model_cfg: &ModelConfig,
    batch: usize,
    warmup: usize,
    steps: usize,
    device: &Device,
) -> PathComparison {
    PathComparison {
        plain: bench_train_path(model_cfg, batch, warmup, steps, device, false),
        fused: bench_train_path(model_cfg, batch, warmup, steps, device, true),
    }
}

/// Times `steps` training steps of `model_cfg` at `batch` on `device` (CPU: Flex).
pub fn bench_train_steps(
    model_cfg: &ModelConfig,
    batch: usize,
    warmup: usize,
    steps: usize,
    device: &Device,
) -> BenchResult {
    let ad = device.clone().autodiff();
    let cfg = TrainConfig::paper("bench".into(), "bench".into(), model_cfg.clone());
    let tile = model_cfg.tile;
    let mut model = Detector::new(model_cfg, &ad);
    let mut optim = optimizer(&cfg);
    let mut timings = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let (images, gts) = synthetic_batch(batch, tile, i as u64);
        let t0 = Instant::now();
        let x = Tensor::<4>::from_data(TensorData::new(images, [batch, 3, tile, tile]), &ad);
        let out = model.forward(x);
        let dec = decode(&out, model.config());
        // Reading one value waits for the forward to finish on lazy backends.
        let _ = scalar(&dec.obj_logits.clone().sum());
        let t1 = Instant::now();
        let loss = if model_cfg.variant.is_anchor_free() {
            detection_loss(
                &cfg.loss,
                dec.boxes,
                dec.obj_logits,
                &dec.centers,
                &dec.strides,
                &gts,
            )
        } else {
            let b = crate::data::Batch {
                step: 0,
                images: vec![0.0; batch * 3 * tile * tile],
                gts: gts.clone(),
                size: batch,
                tile,
            };
            // The anchor-based loss needs the level layout: time its forward with the loss.
            batch_loss(&model, &cfg, b, &ad)
        };
        let t2 = Instant::now();
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        let t3 = Instant::now();
        model = optim.step(1e-3, model, grads);
        let _ = model.valid();
        let t4 = Instant::now();
        if i >= warmup {
            let s = |a: Instant, b: Instant| (b - a).as_secs_f64();
            timings.push(StepTiming {
                forward: s(t0, t1),
                loss: s(t1, t2),
                backward: s(t2, t3),
                optimizer: s(t3, t4),
                total: s(t0, t4),
            });
        }
    }
    BenchResult {
        batch,
        tile,
        steps: timings,
    }
}

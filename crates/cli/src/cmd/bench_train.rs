//! `yolo-basin bench train`: training-step speed of a network and batch size.

use anyhow::Context;
use model::{ModelConfig, Scale, Variant};
use train::DeviceKind;
use train::bench::bench_train_steps;
use train::trainer::make_device;

/// The reference: one batch-8 416² training step of Light YOLO-Basin-S on the paper's
/// CPU with PyTorch takes 1.73 s.
const PYTORCH_CPU_STEP_S: f64 = 1.73;

/// Time training steps (forward, assignment + loss, backward, Adam) on synthetic batches and
/// compare with PyTorch CPU's 1.73 s per batch-8 step of Light YOLO-Basin-S at 416².
#[derive(clap::Args)]
pub struct Args {
    /// Network: yolov5, yolo-basin or light-yolo-basin.
    #[arg(long, default_value = "light-yolo-basin")]
    pub variant: Variant,
    /// Scale: n, s, m or l.
    #[arg(long, default_value = "s")]
    pub scale: Scale,
    /// Images per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Tile side (multiple of 32).
    #[arg(long, default_value_t = 416)]
    pub tile: usize,
    /// Timed steps (after one untimed warm-up step).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Device: cpu, cuda or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceKind,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = ModelConfig::new(args.variant, args.scale).with_tile(args.tile);
    cfg.validate().context("model configuration")?;
    let device = make_device(args.device)?;
    let r = bench_train_steps(&cfg, args.batch, 1, args.steps.max(1), &device);
    let med = |f: fn(&train::bench::StepTiming) -> f64| r.median(f);
    let step = med(|t| t.total);
    println!(
        "{} batch {} tile {} on {:?}, median of {} steps:",
        cfg.name(),
        args.batch,
        args.tile,
        args.device,
        r.steps.len()
    );
    println!(
        "  forward {:.3} s, assignment + loss {:.3} s, backward {:.3} s, Adam {:.3} s",
        med(|t| t.forward),
        med(|t| t.loss),
        med(|t| t.backward),
        med(|t| t.optimizer)
    );
    println!("  step {step:.3} s = {:.2} images/s", r.images_per_s());
    let same_setting = args.batch == 8 && args.tile == 416 && args.scale == Scale::S;
    if same_setting && args.variant == Variant::LightYoloBasin {
        println!(
            "  PyTorch CPU reference 1.73 s/step: {:.2}× its speed",
            PYTORCH_CPU_STEP_S / step
        );
    } else {
        println!(
            "  (the PyTorch CPU reference, 1.73 s/step, is for light-yolo-basin-s, batch 8, 416²)"
        );
    }
    Ok(())
}

//! `yolo-basin bench train`: training-step speed of a network and batch size.

use anyhow::Context;
use model::{ModelConfig, Scale, Variant};
use train::DeviceKind;
use train::bench::{BenchResult, StepTiming, bench_train_path};
use train::trainer::make_device;

/// The reference: one batch-8 416² training step of Light YOLO-Basin-S on the paper's
/// CPU with PyTorch takes 1.73 s.
const PYTORCH_CPU_STEP_S: f64 = 1.73;

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench train --scale s --batch 8 --steps 5
";

/// Time training steps against PyTorch CPU's reference.
///
/// Forward, assignment + loss, backward and Adam on synthetic batches, on
/// the plain burn path and the fused Conv block path, and compare with PyTorch CPU's 1.73 s
/// per batch-8 step of Light YOLO-Basin-S at 416².
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Network: yolov5, yolo-basin or light-yolo-basin.
    #[arg(long, default_value = "light-yolo-basin")]
    pub variant: Variant,
    /// Scale: n, s, m or l.
    #[arg(long, default_value = "s")]
    pub scale: Scale,
    /// Images per step (1–1024).
    #[arg(long, default_value_t = 8, value_parser = super::batch_size(1024))]
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
    /// Conv block implementation(s) to time: both (CPU), plain or fused.
    #[arg(long, value_enum, default_value = "both")]
    pub paths: Paths,
}

/// Which implementation of the `Conv` blocks' training step to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Paths {
    /// Plain burn, then the fused op, same batches, with the ratio (CPU only).
    Both,
    /// burn's Conv2d + BatchNorm + SiLU with autodiff.
    Plain,
    /// The fused Conv + BatchNorm + SiLU op (Flex; other devices run plain burn).
    Fused,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = ModelConfig::new(args.variant, args.scale).with_tile(args.tile);
    cfg.validate().context("model configuration")?;
    let device = make_device(args.device)?;
    let steps = args.steps.max(1);
    println!(
        "{} batch {} tile {} on {:?}, median of {} steps:",
        cfg.name(),
        args.batch,
        args.tile,
        args.device,
        steps
    );
    let on_cpu = args.device == DeviceKind::Cpu;
    let paths = if on_cpu { args.paths } else { Paths::Plain };
    let mut medians = Vec::new();
    for (name, fused) in [("plain burn", false), ("fused Conv blocks", true)] {
        let wanted = match paths {
            Paths::Both => true,
            Paths::Plain => !fused,
            Paths::Fused => fused,
        };
        if wanted {
            let r = bench_train_path(&cfg, args.batch, 1, steps, &device, fused);
            medians.push(report(name, &r, &args));
        }
    }
    if let [plain, fused] = medians[..] {
        println!("fused vs plain: {:.2}× faster per step", plain / fused);
    }
    Ok(())
}

/// Prints one path's phases and returns its median step time.
fn report(name: &str, r: &BenchResult, args: &Args) -> f64 {
    let med = |f: fn(&StepTiming) -> f64| r.median(f);
    let step = med(|t| t.total);
    println!("{name}:");
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
    step
}

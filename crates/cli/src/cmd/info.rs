//! `yolo-basin info`: describe a network or a weights file as the paper's Table 3 does —
//! layers, parameters, GFLOPs at the tile size, weights size and inference memory.

use std::path::PathBuf;

use anyhow::{Context, bail};
use model::report::{peak_memory_of, profile};
use model::weights::load_weights;
use model::{Detector, ModelConfig, Predictor, Scale, Variant};

const EXAMPLES: &str = "\
Examples:
  yolo-basin info                     # Light YOLO-Basin-S, as a row of the paper's Table 3
  yolo-basin info --variant yolov5 --scale m --layers
  yolo-basin info --weights models/light-yolo-basin-s.safetensors
";

/// Describe a model or weights file: layers, parameters, GFLOPs, memory (paper's Table 3).
///
/// Without `--weights` a freshly built network of the variant and scale is described; with it,
/// the network its header names. GFLOPs count one multiply-add as two operations at the tile
/// size; inference memory is the fast path's peak for one tile, measured by running it.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Network to describe: yolov5, yolo-basin or light-yolo-basin (ignored with --weights).
    #[arg(long, default_value = "light-yolo-basin")]
    pub variant: String,
    /// Scale: n, s, m or l (the paper uses S, M, L).
    #[arg(long, default_value = "s")]
    pub scale: String,
    /// Make the neck and head 3×3 convs depthwise separable too (beyond the paper; for N).
    #[arg(long)]
    pub depthwise_neck: bool,
    /// Describe a weights file instead (its header says the network, input kind and tile).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Input side in pixels for GFLOPs and memory (default: the tile size, 416 unless the
    /// weights say otherwise). A multiple of 32.
    #[arg(long)]
    pub tile: Option<usize>,
    /// Also list every conv layer (shape, stride, parameters, multiply-adds).
    #[arg(long)]
    pub layers: bool,
    /// Skip measuring inference memory (which runs one forward pass).
    #[arg(long)]
    pub no_memory: bool,
    /// Engine for the memory measurement: fast (folded, CPU kernels) or burn (reference).
    #[arg(long, default_value = "fast")]
    pub engine: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let device = model::Device::flex();
    let (detector, header) = match &args.weights {
        Some(path) => {
            let (d, h) = load_weights(path, &device)
                .with_context(|| format!("loading weights {}", path.display()))?;
            (d, Some(h))
        }
        None => {
            let variant: Variant = args.variant.parse()?;
            let scale: Scale = args.scale.parse()?;
            let cfg = ModelConfig::new(variant, scale).with_depthwise_neck(args.depthwise_neck);
            (Detector::try_new(&cfg, &device)?, None)
        }
    };
    let side = args.tile.unwrap_or(detector.config.tile);
    if side == 0 || !side.is_multiple_of(32) {
        bail!("--tile {side}: the input side must be a positive multiple of 32");
    }
    let report = profile(&detector, [side, side]);
    print!("{}", report.render(args.layers));
    let cfg = &detector.config;
    println!(
        "variant {}, scale {}, input {}, tile {}, depthwise neck {}",
        cfg.variant, cfg.scale, cfg.input, cfg.tile, cfg.depthwise_neck
    );
    if !cfg.variant.is_anchor_free() {
        println!("anchors {:?}", cfg.anchors());
    }
    println!(
        "parameters        {:>12} ({:.2} MB as f32)",
        report.params,
        report.params as f64 * 4.0 / 1e6
    );
    println!(
        "GFLOPs @{side}       {:>12.2} (conv only {:.2}; BN counted as thop does)",
        report.gflops, report.conv_gflops
    );
    println!("conv layers       {:>12}", report.conv_layers());
    println!("weights size      {:>12.2} MiB", report.weights_mib());
    if let Some(h) = &header {
        if !h.training.is_null() {
            println!("training          {}", h.training);
        }
        if !h.metrics.is_null() {
            println!("metrics           {}", h.metrics);
        }
    }
    if !args.no_memory {
        let predictor = match args.engine.as_str() {
            "fast" => Predictor::fast(&detector)?,
            "burn" => Predictor::reference(&detector),
            other => bail!("--engine {other}: expected fast or burn"),
        };
        // A 32×32 warm-up materialises lazily initialised weights and thread pools without
        // leaving a tile-sized heap behind; a full-size warm-up would, and the allocator
        // keeping it would hide the peak measured next.
        predictor.predict(&[0.0f32; 3 * 32 * 32], 1, 32, 32)?;
        let x = vec![0.0f32; 3 * side * side];
        let (res, kib) = peak_memory_of(|| predictor.predict(&x, 1, side, side));
        res?;
        let total = model::report::proc_status_kib("VmHWM");
        match kib {
            Some(k) => println!(
                "inference memory  {:>12.2} MiB (peak resident increase over the loaded model, one \
                 {side}×{side} tile, batch 1, {} engine; process peak {:.2} MiB)",
                k as f64 / 1024.0,
                predictor.engine_name(),
                total.unwrap_or(0) as f64 / 1024.0
            ),
            None => println!("inference memory  unavailable (no /proc/self/status)"),
        }
    }
    Ok(())
}

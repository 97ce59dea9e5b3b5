//! `yolo-basin bench infer`: batch-1 tile inference, the plain burn path against the folded
//! fast path (BatchNorm folded, fused GEMM/depthwise kernels), timed in the same run, and
//! the peak resident memory of one forward of each.

use std::path::PathBuf;

use anyhow::Context;
use model::fast::{BenchReport, bench_infer};
use model::{Detector, Device, ModelConfig, Scale, Variant};

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench infer --scale s --runs 20
  yolo-basin bench infer --weights models/light-yolo-basin-s.safetensors --tile 832
";

/// Time one-tile inference: plain burn against the fast path, same weights, same input.
///
/// Speed does not depend on the weight values, so by default a freshly initialised network
/// of the chosen variant and scale is timed; `--weights` times a trained one instead. Run
/// it on an otherwise idle machine: both paths share the cores, and the report quotes the
/// median with the fastest and slowest run so the spread is visible.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Network: yolov5, yolo-basin or light-yolo-basin (ignored with --weights).
    #[arg(long, default_value = "light-yolo-basin")]
    pub variant: Variant,
    /// Scale: n, s, m or l (ignored with --weights).
    #[arg(long, default_value = "s")]
    pub scale: Scale,
    /// Make the neck and head 3×3 convolutions depthwise too (ignored with --weights).
    #[arg(long)]
    pub depthwise_neck: bool,
    /// A weights file to time instead of a freshly initialised network.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Tile side in pixels (a multiple of 32; the paper's tiles are 416).
    #[arg(long, default_value_t = 416)]
    pub tile: usize,
    /// Timed runs of each path; the median is reported.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Untimed runs of each path first (allocator, caches, thread pool).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Worker threads for both paths (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the number of worker threads")?;
    }
    if args.tile == 0 || !args.tile.is_multiple_of(32) {
        anyhow::bail!("--tile {} must be a positive multiple of 32", args.tile);
    }
    let device = Device::flex();
    let det = match &args.weights {
        Some(path) => {
            let (det, _header) = model::load_weights(path, &device)
                .with_context(|| format!("loading weights {}", path.display()))?;
            det
        }
        None => {
            let cfg = ModelConfig::new(args.variant, args.scale)
                .with_tile(args.tile)
                .with_depthwise_neck(args.depthwise_neck);
            Detector::try_new(&cfg, &device).context("building the network")?
        }
    };
    let report = bench_infer(&det, args.tile, args.runs, args.warmup)
        .context("running the fast inference path")?;
    print_report(&report);
    Ok(())
}

fn print_report(r: &BenchReport) {
    let mib = |kib: Option<u64>| match kib {
        Some(k) => format!("{:.0} MiB", k as f64 / 1024.0),
        None => "n/a".to_string(),
    };
    println!(
        "bench infer: {}, {t}×{t} tile, batch 1, {} threads, median of {} runs [fastest–slowest]",
        r.model,
        r.threads,
        r.runs,
        t = r.tile
    );
    println!(
        "  plain burn   {:8.1} ms  [{:.1}–{:.1}]",
        r.burn_ms, r.burn_range_ms.0, r.burn_range_ms.1
    );
    println!(
        "  fast path    {:8.1} ms  [{:.1}–{:.1}]   (folding once: {:.0} ms)",
        r.fast_ms, r.fast_range_ms.0, r.fast_range_ms.1, r.fold_ms
    );
    println!("  speed-up     {:8.2}×", r.speedup());
    println!(
        "  agreement    max |fast − burn| = {:.1e} of max |burn| = {:.2e}",
        r.max_rel_diff, r.output_scale
    );
    println!(
        "  peak memory  (VmHWM during a first forward) fast {}, burn {}; resident before {}",
        mib(r.fast_peak_kib),
        mib(r.burn_peak_kib),
        mib(r.base_rss_kib)
    );
}

//! `yolo-basin bench <what>`: benchmarks, each quoting its speed as a ratio to a baseline
//! measured in the same run.

use clap::Subcommand;

use super::{bench_infer, bench_pictures, bench_scan, bench_scenes, bench_synth, bench_train};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Simulator: the paper's 1,160-tile data set and one whole scene.
    Synth(bench_synth::Args),
    /// Tile inference: fast (folded, fused kernels) path against plain burn; peak memory.
    Infer(bench_infer::Args),
    /// Training step speed (images/s) for a network and batch size.
    Train(bench_train::Args),
    /// Scene accuracy: a model at its default settings on ten held-out simulated scenes.
    Scenes(bench_scenes::Args),
    /// Pictures read back to phase: error and AP50 per colormap, PNG and JPEG.
    Pictures(bench_pictures::Args),
    /// Whole-scene scan (the paper's 7,636 × 8,205): time per stage and peak memory, for
    /// tiles and windows.
    Scan(bench_scan::Args),
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Synth(a) => bench_synth::run(a),
        What::Infer(a) => bench_infer::run(a),
        What::Train(a) => bench_train::run(a),
        What::Scenes(a) => bench_scenes::run(a),
        What::Pictures(a) => bench_pictures::run(a),
        What::Scan(a) => bench_scan::run(a),
    }
}

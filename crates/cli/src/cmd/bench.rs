//! `yolo-basin bench <what>`: benchmarks, each quoting its speed as a ratio to a baseline
//! measured in the same run.

use clap::Subcommand;

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench scenes               # accuracy on the ten held-out benchmark scenes
  yolo-basin bench scan --windows 0,2048
";

use super::{bench_infer, bench_pictures, bench_scan, bench_scenes, bench_synth, bench_train};

/// Benchmarks of speed, memory and accuracy.
///
/// Each quotes its speed as a ratio to a baseline measured in the same run (speed and memory targets are checked here, never by timed tests), or, for `scenes` and
/// `pictures`, accuracy on fixed held-out simulated data.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    Synth(bench_synth::Args),
    Infer(bench_infer::Args),
    Train(bench_train::Args),
    Scenes(bench_scenes::Args),
    Pictures(bench_pictures::Args),
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

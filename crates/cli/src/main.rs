//! `yolo-basin`: the command-line edge over the library crates. Each subcommand lives in
//! its own module under `cmd/` (the `cli` library) with an `Args` (clap) and a `run`.

use clap::{Parser, Subcommand};
use cli::cmd;

const EXAMPLES: &str = "\
Examples:
  yolo-basin detect                      # the bundled model on the bundled demo scene → out/
  yolo-basin detect 20201230_20210111.geo.diff_pha.tif -o out
  yolo-basin detect --help               # what detect reads and writes
";

/// Find mining subsidence basins in InSAR interferograms (Light YOLO-Basin, 2022).
///
/// Point `detect` at a wrapped-phase GeoTIFF (LiCSAR, HyP3), a GAMMA raw raster, an unwrapped or
/// LOS raster, a complex interferogram or a rendered picture: it writes a map layer of every
/// basin with a score (GeoJSON for QGIS, CSV, COCO). `synth` simulates labelled interferograms,
/// `train` and `eval` make and measure models. Every subcommand's `--help` explains its options
/// and shows examples; a later occurrence of an option overrides an earlier one.
#[derive(Parser)]
#[command(
    name = "yolo-basin",
    version,
    propagate_version = true,
    args_override_self = true,
    after_long_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Detect(cmd::detect::Args),
    Batch(cmd::batch::Args),
    Merge(cmd::merge::Args),
    Synth(cmd::synth::Args),
    Train(cmd::train::Args),
    Eval(cmd::eval::Args),
    Calibrate(cmd::calibrate::Args),
    HardNegatives(cmd::mine::Args),
    Predict(cmd::predict::Args),
    Info(cmd::info::Args),
    Raster(cmd::raster::Args),
    Phase(cmd::phase::Args),
    Bench(cmd::bench::Args),
    Fuzz(cmd::fuzz::Args),
}

/// Simulation, tiling and inference allocate and free buffers of megabytes over and over.
/// glibc hands each one back to the kernel and the next one costs fresh page faults (on
/// a VM, a sixth of the simulator's time); keeping up to 32 MiB blocks and 1 GiB of free
/// heap in the process removes most of that.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

fn main() {
    tune_allocator();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Detect(a) => cmd::detect::run(a),
        Command::Batch(a) => cmd::batch::run(a),
        Command::Merge(a) => cmd::merge::run(a),
        Command::Synth(a) => cmd::synth::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Calibrate(a) => cmd::calibrate::run(a),
        Command::HardNegatives(a) => cmd::mine::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Raster(a) => cmd::raster::run(a),
        Command::Phase(a) => cmd::phase::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Fuzz(a) => cmd::fuzz::run(a),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

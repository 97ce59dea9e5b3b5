//! `yolo-basin`: the command-line edge over the library crates. Each subcommand lives in
//! its own module under `cmd/` with an `Args` (clap) and a `run`.

use clap::{Parser, Subcommand};

mod cmd;

/// Find mining subsidence basins in InSAR interferograms (Light YOLO-Basin, 2022).
///
/// Typical use: `yolo-basin detect scene.tif -o basins.geojson` on a wrapped-phase
/// GeoTIFF, GAMMA raster or rendered picture; `yolo-basin synth` to make simulated
/// training data with exact labels; `yolo-basin train` and `yolo-basin eval` to make
/// and measure models.
#[derive(Parser)]
#[command(name = "yolo-basin", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Detect subsidence basins in a whole scene (tiles, detects, stitches; GeoJSON/CSV/COCO out).
    Detect(cmd::detect::Args),
    /// Simulate interferograms of mining subsidence with exact labels (data sets and whole scenes).
    Synth(cmd::synth::Args),
    /// Train a detector on a simulated or user-labelled data set.
    Train(cmd::train::Args),
    /// Evaluate detections against ground truth, exactly as pycocotools' COCOeval (bbox).
    Eval(cmd::eval::Args),
    /// Choose a model's default score threshold on simulated validation scenes.
    Calibrate(cmd::calibrate::Args),
    /// Add tiles where a model raises false alarms on fresh simulated scenes to a data set.
    HardNegatives(cmd::mine::Args),
    /// Run a model on a folder of tiles or pictures; write COCO results and annotated PNGs.
    Predict(cmd::predict::Args),
    /// Describe a model or weights file: layers, parameters, GFLOPs, memory (paper's Table 3).
    Info(cmd::info::Args),
    /// Inspect and convert rasters (GeoTIFF, GAMMA raw) as GDAL would report them.
    Raster(cmd::raster::Args),
    /// Phase tools: Goldstein filter, multilook, render wrapped phase to colour pictures.
    Phase(cmd::phase::Args),
    /// Benchmarks (speed and memory), each against a baseline measured in the same run.
    Bench(cmd::bench::Args),
    /// Fuzz the file readers with damaged inputs: every one must end in a clean error.
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

//! `yolo-basin bench synth`: time the paper-sized data set and one whole scene, each against
//! a baseline measured in the same run (the same work without Goldstein filtering).

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;
use synth::SynthConfig;

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench synth
";

/// Time the simulator.
///
/// The paper's 1,160 tiles of 416² (targets ≤ 30 s on 2 cores) and one
/// 8,000² scene (≤ 10 s). Baseline: the same runs with no tile filtered, which shows what the
/// Goldstein filter costs. Files are written to a scratch directory and removed.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Tiles in the data-set run.
    #[arg(long, default_value_t = 1160)]
    pub tiles: usize,
    /// Tile side in pixels.
    #[arg(long, default_value_t = 416)]
    pub tile_size: usize,
    /// Side of the whole scene in pixels (0 skips the scene).
    #[arg(long, default_value_t = 8000)]
    pub scene_size: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Share of tiles filtered in the measured run (the default data set's share).
    #[arg(long, default_value_t = 0.7)]
    pub filtered_fraction: f64,
    /// Skip the unfiltered baseline runs.
    #[arg(long)]
    pub no_baseline: bool,
    /// Scratch directory (default: the system temp directory); removed afterwards.
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

fn scratch_dir(args: &Args, tag: &str) -> PathBuf {
    let base = args.scratch.clone().unwrap_or_else(std::env::temp_dir);
    base.join(format!(
        "yolo-basin-bench-synth-{}-{tag}",
        std::process::id()
    ))
}

fn time_tiles(cfg: &SynthConfig, dir: &Path) -> anyhow::Result<(f64, synth::Summary)> {
    let _ = std::fs::remove_dir_all(dir);
    let t0 = Instant::now();
    let s = synth::write_dataset(cfg, dir, false, &|| {})
        .with_context(|| format!("writing tiles to {}", dir.display()))?;
    let dt = t0.elapsed().as_secs_f64();
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok((dt, s))
}

fn time_scene(cfg: &SynthConfig, dir: &Path) -> anyhow::Result<(f64, f64, usize)> {
    let _ = std::fs::remove_dir_all(dir);
    let scenes = dir.join("scenes");
    std::fs::create_dir_all(&scenes).with_context(|| format!("creating {}", scenes.display()))?;
    let t0 = Instant::now();
    let a = synth::scene_writer::simulate_scene(cfg, 0);
    let sim = t0.elapsed().as_secs_f64();
    drop(a);
    let t0 = Instant::now();
    let n = synth::scene_writer::write_scene(cfg, dir, 0).context("writing the scene")?;
    let total = t0.elapsed().as_secs_f64();
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    Ok((sim, total, n))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let pool = super::synth::pool(args.threads)?;
    let threads = pool.current_num_threads();
    let tiles_cfg = |filtered: f64| SynthConfig {
        seed: args.seed,
        tiles: args.tiles,
        tile_size: args.tile_size,
        scenes: 0,
        filtered_fraction: filtered,
        ..SynthConfig::default()
    };
    let scene_cfg = |filtered: f64| SynthConfig {
        seed: args.seed,
        tiles: 0,
        scenes: 1,
        scene_size: args.scene_size,
        filtered_fraction: filtered,
        ..SynthConfig::default()
    };
    println!("bench synth: {threads} threads");
    pool.install(|| -> anyhow::Result<()> {
        let dir = scratch_dir(&args, "tiles");
        let (t, s) = time_tiles(&tiles_cfg(args.filtered_fraction), &dir)?;
        println!(
            "data set: {} tiles of {}² ({} filtered), {} basins: {:.2} s ({:.1} tiles/s)",
            s.tiles,
            args.tile_size,
            s.filtered_tiles,
            s.basins,
            t,
            s.tiles as f64 / t
        );
        if !args.no_baseline {
            let (b, _) = time_tiles(&tiles_cfg(0.0), &dir)?;
            println!("  baseline, no tile filtered: {b:.2} s (filtering costs {:.2}x)", t / b);
        }
        if args.scene_size > 0 {
            let dir = scratch_dir(&args, "scene");
            let (sim, total, n) = time_scene(&scene_cfg(1.0), &dir)?;
            println!(
                "scene: {0}² filtered, {n} basins: simulate {sim:.2} s, simulate + write {total:.2} s",
                args.scene_size
            );
            if !args.no_baseline {
                let (bsim, btotal, _) = time_scene(&scene_cfg(0.0), &dir)?;
                println!(
                    "  baseline, unfiltered: simulate {bsim:.2} s, simulate + write {btotal:.2} s \
                     (filtering costs {:.2}x)",
                    total / btotal
                );
            }
        }
        Ok(())
    })
}

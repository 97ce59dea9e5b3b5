//! `yolo-basin hard-negatives`: hard-negative mining. A model runs over freshly simulated
//! training scenes; wherever it raises a false alarm, the tile around it (with whatever
//! true basins it holds, labelled) is added to a data set, so the next training leg sees
//! exactly the backgrounds this model mistakes for basins.

use std::path::PathBuf;

use anyhow::{Context, bail};
use detect_core::BBox;
use detect_core::iou::iou;
use detect_core::tiling::stitch_at;
use rand::{Rng, SeedableRng};
use synth::SynthConfig;
use synth::dataset::{AreaTile, Storage, append_tiles, random_georef, write_area_tile, write_f32};
use synth::scene_tiles::crop_area;
use synth::scene_writer::{scene_area, simulate_scene};

use super::detect;

const EXAMPLES: &str = "\
Examples:
  yolo-basin hard-negatives -w runs/light-s/best.safetensors --data sim --scenes 20 --seed 5
  yolo-basin train --data sim --out runs/light-s --resume   # then train on, with the new tiles
";

/// Add tiles where a model raises false alarms on fresh simulated scenes to a data set.
///
/// Mine hard negatives for training: simulate training scenes (scene layout, conditions
/// drawn as for training data, seeds from --seed, never the benchmark's 90,000+ or the
/// validation's 70,000+), detect with the model, and for each box scoring at least --score
/// that overlaps no true basin (IoU < 0.3), add the 416² tile around it to the data set
/// --data (a `synth` folder): rasters, picture, labels of the true basins inside, split
/// `train`. Then continue training on the data set (`train --resume` reads it anew).
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Model weights (default: the bundled model).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// The data set to extend (written by `yolo-basin synth`).
    #[arg(long)]
    pub data: PathBuf,
    /// Training scenes to simulate.
    #[arg(long, default_value_t = 20)]
    pub scenes: usize,
    /// Side of each scene in pixels.
    #[arg(long, default_value_t = 2080)]
    pub size: usize,
    /// Synth seed of the scenes.
    #[arg(long)]
    pub seed: u64,
    /// Score from which an unmatched box counts as a false alarm.
    #[arg(long, default_value_t = 0.2)]
    pub score: f64,
    /// At most this many tiles per scene (the highest-scored false alarms first).
    #[arg(long, default_value_t = 25)]
    pub max_per_scene: usize,
}

/// A false alarm is a box whose best IoU with any true basin is below this.
const FALSE_ALARM_IOU: f64 = 0.3;

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.data.join("annotations.json").is_file() {
        bail!(
            "{} holds no annotations.json: give a data set written by `yolo-basin synth`",
            args.data.display()
        );
    }
    let weights = detect::weights_or_bundled(args.weights.as_deref());
    let dargs = detect::default_args();
    let model = detect::load_model(&weights, &dargs, Some(args.score))?;
    let ts = model.header.config.tile;
    let cfg = SynthConfig {
        seed: args.seed,
        tiles: 0,
        tile_size: ts,
        scenes: args.scenes,
        scene_size: args.size,
        ..SynthConfig::default()
    };
    cfg.validate().context("invalid scene options")?;
    anyhow::ensure!(
        args.size >= ts,
        "--size must be at least the tile ({ts} px)"
    );
    let scratch = std::env::temp_dir().join(format!("yolo-basin-mine-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let (mut added, mut alarms) = (0usize, 0usize);
    for k in 0..args.scenes {
        let a = simulate_scene(&cfg, k);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed ^ ((k as u64) << 20));
        let geo = random_georef(&mut rng, a.viewing.dx_m, a.viewing.dy_m);
        let tif = scratch.join("scene.tif");
        write_f32(&tif, a.w, a.h, &a.phase, &geo, Storage::Raw)?;
        let run = detect::detect_tiles_of(&tif, &dargs, &model, false)?;
        let truth: Vec<BBox> = a
            .basins
            .iter()
            .map(|b| {
                BBox::new(
                    b.bbox.x1 as f64,
                    b.bbox.y1 as f64,
                    b.bbox.x2 as f64,
                    b.bbox.y2 as f64,
                )
            })
            .collect();
        let dets = stitch_at(
            &run.plan,
            &run.tiles,
            args.score,
            &detect::stitch_params(&dargs),
        );
        let false_alarms: Vec<_> = dets
            .iter()
            .filter(|d| truth.iter().all(|t| iou(&d.bbox, t) < FALSE_ALARM_IOU))
            .collect();
        alarms += false_alarms.len();
        let mut cut: Vec<BBox> = Vec::new();
        let mut tiles = Vec::new();
        for d in false_alarms.iter().take(args.max_per_scene) {
            let [cx, cy] = d.bbox.center();
            if cut.iter().any(|c| {
                c.x1 + 48.0 <= cx && cx < c.x2 - 48.0 && c.y1 + 48.0 <= cy && cy < c.y2 - 48.0
            }) {
                continue;
            }
            // The alarm anywhere in the tile but its outer 48 px, as a scene tile would hold it.
            let jitter = (ts as f64 / 2.0 - 48.0).max(0.0);
            let place = |c: f64, extent: usize, rng: &mut rand_chacha::ChaCha8Rng| -> usize {
                let x0 = c - ts as f64 / 2.0 + rng.random_range(-jitter..=jitter);
                x0.clamp(0.0, (extent - ts) as f64) as usize
            };
            let (x0, y0) = (place(cx, a.w, &mut rng), place(cy, a.h, &mut rng));
            cut.push(BBox::new(
                x0 as f64,
                y0 as f64,
                (x0 + ts) as f64,
                (y0 + ts) as f64,
            ));
            let crop = crop_area(&a, x0, y0, ts, &scene_area(&cfg));
            let tile = AreaTile {
                stem: format!("hneg_{}_{k:03}_{:03}", args.seed, tiles.len()),
                image_id: 0,
                split: "train",
                negative: crop.basins.is_empty(),
            };
            tiles.push(write_area_tile(&cfg, &args.data, &crop, &tile, &mut rng)?);
        }
        added += append_tiles(&args.data, tiles)?;
        eprintln!(
            "scene {}/{}: {} basins, {} false alarms at score ≥ {}, {added} tiles added so far",
            k + 1,
            args.scenes,
            truth.len(),
            false_alarms.len(),
            args.score
        );
    }
    std::fs::remove_dir_all(&scratch).ok();
    println!(
        "{added} hard-negative tiles from {alarms} false alarms on {} scenes added to {}",
        args.scenes,
        args.data.display()
    );
    Ok(())
}

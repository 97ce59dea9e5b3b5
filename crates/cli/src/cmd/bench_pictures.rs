//! `yolo-basin bench pictures`: how well pictures read back to phase. Validation tiles of a
//! simulated data set are rendered in every known colormap (random offset and direction),
//! saved as PNG and as JPEG (quality 75), read back with `--colormap auto`, and scored
//! against the phase they came from: the median phase error (up to offset and sign), how
//! often auto chose the map they were drawn with, and the detector's AP50 through the
//! picture path beside its AP50 on the phase tiles themselves.

use anyhow::{Context, bail};
use detect_core::eval::{EvalOptions, evaluate};
use detect_core::labels::{CocoDataset, CocoResult};
use insar::Colormap;
use insar::invert::aligned_error;
use model::input::encode_phase;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

use super::detect;
use input::{ColormapSpec, InputSpec, invert_picture};

const EXAMPLES: &str = "\
Examples:
  yolo-basin bench pictures --data sim --tiles 200
";

/// Measure reading pictures back to phase, per colormap, PNG and JPEG.
///
/// Each validation tile is drawn in every colormap (random offset and direction), saved as
/// PNG and as JPEG, read back to phase as `detect` reads pictures, and run through the model:
/// the table has the phase error and AP50 per row against the phase tiles' own AP50.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// A data set written by `yolo-basin synth` (its `val` split is used).
    #[arg(long)]
    pub data: PathBuf,
    /// Model weights (default: the bundled model).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// Validation tiles to use (the first ones).
    #[arg(long, default_value_t = 100)]
    pub tiles: usize,
    /// JPEG quality of the lossy renderings.
    #[arg(long, default_value_t = 75)]
    pub quality: u8,
    /// Seed of the rendering offsets and directions.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write the table as JSON here too.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One colormap and format.
#[derive(serde::Serialize)]
struct Row {
    colormap: &'static str,
    format: &'static str,
    median_error_rad: f64,
    auto_chose_it: usize,
    ap50: f64,
    ap50_phase: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let weights = detect::weights_or_bundled(args.weights.as_deref());
    let dargs = detect::default_args();
    let model = detect::load_model(&weights, &dargs, Some(0.001))?;
    let (gt, tiles) = validation_tiles(&args.data, args.tiles)?;
    let ap_phase = ap50(&model, &gt, &tiles)?;
    eprintln!("phase tiles: AP50 {ap_phase:.3} on {} tiles", tiles.len());

    let scratch = super::scenes::scratch(None, "pictures");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut rows = Vec::new();
    for cmap in Colormap::ALL {
        for format in ["png", "jpeg"] {
            let mut errors = Vec::new();
            let mut chose = 0;
            let mut read_back = Vec::new();
            for (k, t) in tiles.iter().enumerate() {
                let rgb = insar::render_phase(
                    &t.phase,
                    t.width,
                    t.height,
                    cmap,
                    rng.random_range(-std::f32::consts::PI..std::f32::consts::PI),
                    rng.random_bool(0.5),
                );
                let path = scratch.join(format!("{k}.{format}"));
                if format == "png" {
                    raster::write_png_rgb(&path, t.width, t.height, &rgb)?;
                } else {
                    raster::write_jpeg_rgb(&path, t.width, t.height, &rgb, args.quality)?;
                }
                let inv = invert_picture(&path, &ColormapSpec::Auto)
                    .with_context(|| format!("{cmap} {format}, tile {}", t.name))?;
                chose += usize::from(inv.palette == cmap.name());
                errors.extend(aligned_error(&inv.phase, &t.phase));
                read_back.push(Tile {
                    phase: inv.phase,
                    ..t.clone()
                });
            }
            let row = Row {
                colormap: cmap.name(),
                format,
                median_error_rad: median(&mut errors),
                auto_chose_it: chose,
                ap50: ap50(&model, &gt, &read_back)?,
                ap50_phase: ap_phase,
            };
            eprintln!(
                "{:9} {:5} median error {:.3} rad, auto chose it {}/{}, AP50 {:.3}",
                row.colormap,
                row.format,
                row.median_error_rad,
                row.auto_chose_it,
                tiles.len(),
                row.ap50
            );
            rows.push(row);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    print_table(&rows, tiles.len(), args.quality);
    if let Some(out) = &args.out {
        super::atomic_write(out, serde_json::to_string_pretty(&rows)?.as_bytes())?;
    }
    Ok(())
}

#[derive(Clone)]
struct Tile {
    name: String,
    image_id: u64,
    width: usize,
    height: usize,
    phase: Vec<f32>,
}

/// The first `n` validation tiles of a synth data set and their ground truth.
fn validation_tiles(data: &Path, n: usize) -> anyhow::Result<(CocoDataset, Vec<Tile>)> {
    let ann = data.join("annotations.json");
    let text =
        std::fs::read_to_string(&ann).with_context(|| format!("reading {}", ann.display()))?;
    let mut gt: CocoDataset =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", ann.display()))?;
    let is_val = |im: &detect_core::labels::CocoImage| {
        im.extra.get("split").and_then(|s| s.as_str()) == Some("val")
    };
    gt.images.retain(is_val);
    gt.images.sort_by_key(|im| im.id);
    gt.images.truncate(n);
    if gt.images.is_empty() {
        bail!("{}: no validation tiles (split \"val\")", ann.display());
    }
    let ids: std::collections::HashSet<u64> = gt.images.iter().map(|im| im.id).collect();
    gt.annotations.retain(|a| ids.contains(&a.image_id));
    let tiles = gt
        .images
        .iter()
        .map(|im| {
            let stem = Path::new(&im.file_name)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = data.join("images").join(format!("{stem}.tif"));
            let r = raster::read_geotiff(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let phase = input::image::raster_phase(&r, &path, &InputSpec::default())?;
            Ok(Tile {
                name: stem,
                image_id: im.id,
                width: r.width,
                height: r.height,
                phase,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((gt, tiles))
}

/// AP at IoU 0.5 of the model on phase tiles (all of one size, a multiple of 32).
fn ap50(model: &detect::LoadedModel, gt: &CocoDataset, tiles: &[Tile]) -> anyhow::Result<f64> {
    let mut results = Vec::new();
    for chunk in tiles.chunks(8) {
        let (w, h) = (chunk[0].width, chunk[0].height);
        let mut x = Vec::new();
        for t in chunk {
            if (t.width, t.height) != (w, h) {
                bail!(
                    "tile {} is {}×{}, the others {w}×{h}",
                    t.name,
                    t.width,
                    t.height
                );
            }
            x.extend(encode_phase(&t.phase, None, w, h)?);
        }
        let dets = model.predictor.predict(&x, chunk.len(), h, w)?;
        for (t, d) in chunk.iter().zip(dets) {
            results.extend(d.into_iter().map(|det| CocoResult {
                image_id: t.image_id,
                category_id: 1,
                bbox: det.bbox.clip(w as f64, h as f64).to_xywh(),
                score: det.score,
            }));
        }
    }
    let report = evaluate(gt, &results, &EvalOptions::default())?;
    report.stat("AP50").context("AP50 missing from the report")
}

fn median(v: &mut [f32]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    f64::from(*v.select_nth_unstable_by(mid, f32::total_cmp).1)
}

fn print_table(rows: &[Row], n: usize, quality: u8) {
    println!(
        "| colormap | format | median phase error (rad) | auto chose it (of {n}) | AP50 picture | AP50 phase | Δ |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        let format = if r.format == "jpeg" {
            format!("JPEG q{quality}")
        } else {
            "PNG".into()
        };
        println!(
            "| {} | {format} | {:.3} | {} | {:.3} | {:.3} | {:+.3} |",
            r.colormap,
            r.median_error_rad,
            r.auto_chose_it,
            r.ap50,
            r.ap50_phase,
            r.ap50 - r.ap50_phase
        );
    }
}

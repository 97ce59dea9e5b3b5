//! `yolo-basin predict`: run a trained model on a folder of tiles (wrapped-phase GeoTIFFs)
//! or pictures (PNG/JPEG); write COCO results and annotated PNGs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use detect_core::Detection;
use detect_core::labels::coco::basin_category;
use detect_core::labels::{CocoDataset, CocoImage, CocoResult};
use indicatif::{ProgressBar, ProgressStyle};
use insar::Colormap;
use model::draw::draw_rect;
use model::input::{encode_phase, encode_rgb};
use model::weights::load_weights;
use model::{InputKind, PredictParams, Predictor};
use raster::{Pixels, Raster};

#[derive(clap::Args)]
pub struct Args {
    /// Weights file written by `yolo-basin train` (its header says the network and input).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// A folder of tiles or pictures, or one file. `.tif`/`.tiff` are wrapped-phase rasters
    /// (float32 radians, or complex64 whose argument is taken; coherence read from a
    /// `../coherence/<name>.tif` beside it when present, else 1); `.png`/`.jpg` are pictures,
    /// read back to phase with `--colormap` for a model trained on phase. A model trained on
    /// pictures takes pictures only.
    pub input: PathBuf,
    /// For pictures and a model trained on phase: the colormap they were drawn with.
    #[arg(long, default_value = "auto", long_help = super::picture::COLORMAP_HELP)]
    pub colormap: super::picture::ColormapSpec,
    /// Output folder: `results.json` (COCO results), `images.json` (image ids ↔ files) and
    /// one `<name>.png` per input with the detections drawn.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Keep detections with confidence at least this.
    #[arg(long, default_value_t = 0.25)]
    pub score: f64,
    /// NMS IoU threshold: a box overlapping a better one by more than this is dropped.
    #[arg(long, default_value_t = 0.45)]
    pub iou: f64,
    /// At most this many detections per image.
    #[arg(long, default_value_t = 300)]
    pub max_det: usize,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// cpu (fast folded path), cuda[:N] or wgpu (needs a build with that feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// On the CPU, run the plain burn network instead of the folded fast path (reference).
    #[arg(long)]
    pub reference: bool,
    /// Skip writing annotated PNGs.
    #[arg(long)]
    pub no_png: bool,
}

/// One input, decoded and encoded for the network.
struct Item {
    path: PathBuf,
    width: usize,
    height: usize,
    /// Encoded `[3, H', W']`, zero-padded to multiples of 32.
    input: Vec<f32>,
    padded: [usize; 2],
    /// What to draw on.
    picture: Vec<u8>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let device = model::device::select_device(&args.device)?;
    let (detector, header) = load_weights(&args.weights, &device)
        .with_context(|| format!("loading weights {}", args.weights.display()))?;
    let params = PredictParams {
        score_threshold: args.score,
        iou_threshold: args.iou,
        max_detections: args.max_det,
    };
    let predictor = if args.reference {
        Predictor::reference(&detector)
    } else {
        Predictor::new(&detector)?
    }
    .with_params(params);
    let files = list_inputs(&args.input)?;
    if files.is_empty() {
        bail!(
            "{}: no .tif/.tiff/.png/.jpg/.jpeg inputs found",
            args.input.display()
        );
    }
    let model_input = header.config.input;
    for f in &files {
        // A phase model reads pictures through their colormap.
        let as_given = match (kind_of(f), model_input) {
            (InputKind::Rgb, InputKind::Phase) => InputKind::Phase,
            (k, _) => k,
        };
        predictor
            .check_input(as_given)
            .with_context(|| format!("{} (model {})", f.display(), header.config.name()))?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;

    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut images = Vec::new();
    let mut results = Vec::new();
    for (chunk_i, chunk) in files.chunks(args.batch).enumerate() {
        let items = chunk
            .iter()
            .map(|p| load_item(p, model_input, &args.colormap))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // One forward per group of equal padded size (tiles of a scene all share one).
        let mut groups: BTreeMap<[usize; 2], Vec<usize>> = BTreeMap::new();
        for (i, it) in items.iter().enumerate() {
            groups.entry(it.padded).or_default().push(i);
        }
        let mut dets: Vec<Vec<Detection>> = vec![Vec::new(); items.len()];
        for ([h, w], idx) in groups {
            let x: Vec<f32> = idx
                .iter()
                .flat_map(|&i| items[i].input.iter().copied())
                .collect();
            let out = predictor.predict(&x, idx.len(), h, w).with_context(|| {
                format!("running the model on {}", items[idx[0]].path.display())
            })?;
            for (i, d) in idx.into_iter().zip(out) {
                dets[i] = d;
            }
        }
        for (k, (mut it, d)) in items.into_iter().zip(dets).enumerate() {
            let image_id = (chunk_i * args.batch + k + 1) as u64;
            let d: Vec<Detection> = d
                .into_iter()
                .map(|mut det| {
                    det.bbox = det.bbox.clip(it.width as f64, it.height as f64);
                    det
                })
                .filter(|det| det.bbox.width() > 0.0 && det.bbox.height() > 0.0)
                .collect();
            for det in &d {
                results.push(CocoResult {
                    image_id,
                    category_id: 1,
                    bbox: det.bbox.to_xywh(),
                    score: det.score,
                });
            }
            if !args.no_png {
                write_annotated(&args.out, &mut it, &d)?;
            }
            images.push(CocoImage {
                id: image_id,
                file_name: it.path.display().to_string(),
                width: it.width as u32,
                height: it.height as u32,
                extra: Default::default(),
            });
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let listing = CocoDataset {
        info: Some(serde_json::json!({
            "model": header.config.name(),
            "weights": args.weights.display().to_string(),
            "score_threshold": args.score,
            "iou_threshold": args.iou,
            "engine": predictor.engine_name(),
        })),
        images,
        annotations: Vec::new(),
        categories: vec![basin_category()],
        extra: Default::default(),
    };
    write_json(&args.out.join("results.json"), &results)?;
    write_json(&args.out.join("images.json"), &listing)?;
    println!(
        "{} images, {} detections → {}",
        listing.images.len(),
        results.len(),
        args.out.display()
    );
    Ok(())
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn kind_of(path: &Path) -> InputKind {
    match extension(path).as_str() {
        "tif" | "tiff" => InputKind::Phase,
        _ => InputKind::Rgb,
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Inputs in name order: the file itself, or the folder's supported files.
fn list_inputs(input: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let supported = |p: &Path| {
        matches!(
            extension(p).as_str(),
            "tif" | "tiff" | "png" | "jpg" | "jpeg"
        )
    };
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(input)
        .with_context(|| format!("reading folder {}", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && supported(p))
        .collect();
    files.sort();
    Ok(files)
}

fn load_item(
    path: &Path,
    model_input: InputKind,
    colormap: &super::picture::ColormapSpec,
) -> anyhow::Result<Item> {
    match (kind_of(path), model_input) {
        (InputKind::Phase, _) => load_phase(path),
        (InputKind::Rgb, InputKind::Rgb) => load_picture(path),
        (InputKind::Rgb, InputKind::Phase) => load_inverted(path, colormap),
    }
}

/// A picture read back to phase; the picture itself is what gets drawn on.
fn load_inverted(path: &Path, colormap: &super::picture::ColormapSpec) -> anyhow::Result<Item> {
    let inv = super::picture::invert_picture(path, colormap)?;
    let encoded = encode_phase(&inv.phase, None, inv.width, inv.height)?;
    let r = raster::read_picture(path).with_context(|| format!("reading {}", path.display()))?;
    let Pixels::U8(rgb) = r.pixels else {
        bail!("{}: expected 8-bit RGB pixels", path.display());
    };
    Ok(padded_item(path, inv.width, inv.height, encoded, rgb))
}

fn load_picture(path: &Path) -> anyhow::Result<Item> {
    let r = raster::read_picture(path).with_context(|| format!("reading {}", path.display()))?;
    let Pixels::U8(rgb) = r.pixels else {
        bail!("{}: expected 8-bit RGB pixels", path.display());
    };
    let encoded = encode_rgb(&rgb, r.width, r.height)?;
    Ok(padded_item(path, r.width, r.height, encoded, rgb))
}

fn load_phase(path: &Path) -> anyhow::Result<Item> {
    let r = raster::read_geotiff(path).with_context(|| format!("reading {}", path.display()))?;
    let phase = phase_of(&r, path)?;
    let coherence = coherence_beside(path, r.width, r.height)?;
    let encoded = encode_phase(&phase, coherence.as_deref(), r.width, r.height)?;
    let picture = insar::render_phase(&phase, r.width, r.height, Colormap::Cyclic, 0.0, false);
    Ok(padded_item(path, r.width, r.height, encoded, picture))
}

/// Wrapped phase of band 1: float32 values, or the argument of complex64; no-data → NaN.
pub(crate) fn phase_of(r: &Raster, path: &Path) -> anyhow::Result<Vec<f32>> {
    let valid = r.valid_mask(); // one flag per pixel
    let n = r.width * r.height;
    let phase: Vec<f32> = match &r.pixels {
        Pixels::F32(v) => v.iter().step_by(r.bands).take(n).copied().collect(),
        Pixels::C32(v) => v.iter().step_by(r.bands).take(n).map(|c| c.arg()).collect(),
        Pixels::U8(_) => bail!(
            "{}: 8-bit raster; phase tiles must be float32 radians or complex64",
            path.display()
        ),
    };
    Ok(phase
        .into_iter()
        .zip(valid.iter())
        .map(|(p, &ok)| if ok { p } else { f32::NAN })
        .collect())
}

/// `<dir>/../coherence/<file name>` (the simulator's data-set layout), when it exists.
fn coherence_beside(path: &Path, w: usize, h: usize) -> anyhow::Result<Option<Vec<f32>>> {
    let Some(name) = path.file_name() else {
        return Ok(None);
    };
    let Some(parent) = path.parent().and_then(|p| p.parent()) else {
        return Ok(None);
    };
    let coh = parent.join("coherence").join(name);
    if !coh.is_file() {
        return Ok(None);
    }
    let r = raster::read_geotiff(&coh).with_context(|| format!("reading {}", coh.display()))?;
    if (r.width, r.height) != (w, h) {
        bail!(
            "{}: coherence is {}×{}, the phase tile {}×{}",
            coh.display(),
            r.width,
            r.height,
            w,
            h
        );
    }
    let Pixels::F32(v) = r.pixels else {
        bail!("{}: coherence must be float32", coh.display());
    };
    Ok(Some(v.into_iter().step_by(r.bands.max(1)).collect()))
}

/// Pads the encoded planes with zeros to multiples of 32 (the coarsest stride).
fn padded_item(path: &Path, w: usize, h: usize, encoded: Vec<f32>, picture: Vec<u8>) -> Item {
    let (pw, ph) = (w.div_ceil(32).max(1) * 32, h.div_ceil(32).max(1) * 32);
    let input = if (pw, ph) == (w, h) {
        encoded
    } else {
        let mut out = vec![0.0f32; 3 * pw * ph];
        for c in 0..3 {
            for y in 0..h {
                let src = &encoded[(c * h + y) * w..(c * h + y + 1) * w];
                out[(c * ph + y) * pw..(c * ph + y) * pw + w].copy_from_slice(src);
            }
        }
        out
    };
    Item {
        path: path.to_path_buf(),
        width: w,
        height: h,
        input,
        padded: [ph, pw],
        picture,
    }
}

fn write_annotated(out: &Path, it: &mut Item, dets: &[Detection]) -> anyhow::Result<()> {
    let thickness = (it.width.max(it.height) / 200).max(2);
    for d in dets {
        let b = &d.bbox;
        draw_rect(
            &mut it.picture,
            it.width,
            it.height,
            [b.x1, b.y1, b.x2, b.y2],
            [255, 32, 32],
            thickness,
        );
    }
    let stem = it
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let png = out.join(format!("{stem}.png"));
    raster::write_png_rgb(&png, it.width, it.height, &it.picture)
        .with_context(|| format!("writing {}", png.display()))
}

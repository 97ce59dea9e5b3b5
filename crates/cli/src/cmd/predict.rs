//! `yolo-basin predict`: run a trained model on a folder of tiles (wrapped-phase GeoTIFFs)
//! or pictures (PNG/JPEG); write COCO results and annotated PNGs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use detect_core::Detection;
use detect_core::labels::coco::basin_category;
use detect_core::labels::{CocoDataset, CocoImage, CocoResult};
use indicatif::{ProgressBar, ProgressStyle};
use input::image::{data_input, kind_by_name};
use input::picture::{COLORMAP_HELP, ColormapSpec};
use input::{InputSpec, Planes, coherence, defaults, load_image, pad_to_stride};
use insar::Colormap;
use model::draw::draw_rect;
use model::weights::load_weights;
use model::{InputKind, PredictParams, Predictor};

const EXAMPLES: &str = "\
Examples:
  yolo-basin predict --weights models/light-yolo-basin-s.safetensors --out pred sim/images
  yolo-basin predict --weights models/light-yolo-basin-s.safetensors -o pred-mine mine/images/val
";

/// Run a model on a folder of tiles or pictures; write COCO results and annotated PNGs.
///
/// Every input is read exactly as `detect` reads a scene and training reads a tile (the same
/// tensor), run whole (padded to the network's stride), and its boxes kept from `--score`.
/// OUT gets COCO results (image ids 1, 2, … in file-name order, as `eval` expects) and one PNG
/// per input with its boxes drawn.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Weights file written by `yolo-basin train` (its header says the network and input).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// A folder of tiles or pictures, or one file. `.tif`/`.tiff` are phase rasters read as
    /// `detect` reads scenes (float32 radians, wrapped unless the file name says `unw` or
    /// `los`/`disp`, or complex64 whose argument is taken; coherence, float32 or byte, read
    /// from a `../coherence/<name>` beside it when present, else 1); `.png`/`.jpg` are pictures,
    /// read back to phase with `--colormap` for a model trained on phase. A model trained on
    /// pictures takes pictures only.
    pub input: PathBuf,
    /// For pictures and a model trained on phase: the colormap they were drawn with.
    #[arg(long, default_value = "auto", long_help = COLORMAP_HELP)]
    pub colormap: ColormapSpec,
    /// Output folder: `results.json` (COCO results), `images.json` (image ids ↔ files) and
    /// one `<name>.png` per input with the detections drawn. Files of those names there are
    /// replaced (each written whole); a folder where a picture would replace an input is
    /// refused.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Keep detections with confidence at least this.
    #[arg(long, default_value_t = defaults::SCORE)]
    pub score: f64,
    /// NMS IoU threshold: a box overlapping a better one by more than this is dropped.
    #[arg(long, default_value_t = defaults::NMS_IOU)]
    pub iou: f64,
    /// At most this many detections per image.
    #[arg(long, default_value_t = defaults::MAX_DETECTIONS)]
    pub max_det: usize,
    /// Images per forward pass (1–256).
    #[arg(long, default_value_t = 8, value_parser = super::batch_size(256))]
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
    /// The band of multi-band rasters holding the values, by number (from 1) or name
    /// (`--band 2`, `--band Phase_ifg_VV_01Jan2020_13Jan2020`). Default: the only band, or
    /// the one the format's convention names (ISCE `.unw`: band 2; SNAP `.dim`: the phase
    /// band, else the i/q pair as complex); a raster of several bands and no convention is
    /// refused, its bands listed.
    #[arg(long, value_name = "N|NAME")]
    pub band: Option<raster::BandChoice>,
    /// Incidence angle in degrees from the vertical, to read vertical displacement (HyP3
    /// `*_vert_disp.tif`, up positive) as line-of-sight: LOS = vertical × cos(incidence),
    /// uplift towards the satellite. Without it vertical displacement is refused.
    #[arg(long, value_name = "DEG")]
    pub incidence: Option<f64>,
}

/// One input, decoded and encoded for the network.
struct Item {
    path: PathBuf,
    width: usize,
    height: usize,
    /// Encoded `[3, H', W']`, zero-padded to multiples of the coarsest stride.
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
    let spec = input_spec(&args);
    for f in &files {
        let as_given = data_input(kind_by_name(f, &spec), model_input);
        predictor
            .check_input(as_given)
            .with_context(|| format!("{} (model {})", f.display(), header.config.name()))?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let drawn = annotated_paths(&args.out, &files)?;

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
            .map(|p| load_item(p, model_input, &spec))
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
                write_annotated(&drawn[chunk_i * args.batch + k], &mut it, &d)?;
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
    super::atomic_write(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// Where each input's annotated picture goes in `out`: `<stem>.png`, or `<name>.png` for
/// inputs sharing a stem (`a.tif` and `a.png` would both draw `a.png`). Refused when one of
/// them is an input: predict never draws over what it reads.
fn annotated_paths(out: &Path, files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().to_lowercase());
    let mut stems: HashMap<Option<String>, usize> = HashMap::new();
    for f in files {
        *stems.entry(stem(f)).or_default() += 1;
    }
    let inputs: HashMap<PathBuf, &PathBuf> = files
        .iter()
        .filter_map(|f| Some((raster::convert::resolved(f)?, f)))
        .collect();
    files
        .iter()
        .map(|f| {
            let shared = stems.get(&stem(f)).is_some_and(|&n| n > 1);
            let name = if shared { f.file_name() } else { f.file_stem() };
            let name = name.map_or("image".into(), |n| n.to_string_lossy().into_owned());
            let drawn = out.join(format!("{name}.png"));
            if let Some(input) = raster::convert::resolved(&drawn).and_then(|r| inputs.get(&r)) {
                bail!(
                    "{} would be drawn over the input {}: give --out another folder",
                    drawn.display(),
                    input.display()
                );
            }
            Ok(drawn)
        })
        .collect()
}

/// How predict reads each input: as `detect` reads scenes, colormap, band and incidence
/// as given.
fn input_spec(args: &Args) -> InputSpec {
    InputSpec {
        colormap: args.colormap.clone(),
        band: args.band.clone(),
        incidence: args.incidence,
        ..InputSpec::default()
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

/// One input read through the input crate, encoded and padded, with what to draw on: the
/// picture itself, or the phase drawn in the cyclic colormap.
fn load_item(path: &Path, model_input: InputKind, spec: &InputSpec) -> anyhow::Result<Item> {
    let mut image = load_image(path, coherence::beside(path).as_deref(), spec, model_input)
        .with_context(|| format!("reading {}", path.display()))?;
    let (width, height) = (image.width, image.height);
    let picture = match (image.picture.take(), &image.planes) {
        (Some(rgb), _) => rgb,
        (None, Planes::Phase { phase, .. }) => {
            insar::render_phase(phase, width, height, Colormap::Cyclic, 0.0, false)
        }
        (None, Planes::Rgb(_)) => bail!(
            "{}: colours from a raster that is no picture",
            path.display()
        ),
    };
    let (input, padded) = pad_to_stride(image.encode()?, width, height);
    Ok(Item {
        path: path.to_path_buf(),
        width,
        height,
        input,
        padded,
        picture,
    })
}

fn write_annotated(png: &Path, it: &mut Item, dets: &[Detection]) -> anyhow::Result<()> {
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
    raster::write_png_rgb(png, it.width, it.height, &it.picture)
        .with_context(|| format!("writing {}", png.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect_core::tiling::{TilePlan, TileStream};
    use train::data::{Split, eval_sample, open_dataset};

    fn predict_args(input: &Path) -> Args {
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            args: Args,
        }
        let input = input.to_str().expect("utf-8 path");
        <Wrap as clap::Parser>::parse_from(["predict", "--weights", "w", "--out", "o", input]).args
    }

    /// A 64×64 phase tile with no-data and a byte coherence in the simulator's layout, read
    /// by `detect` (a tile-sized scene, overlap 0), `predict` and training validation.
    #[test]
    fn detect_predict_and_validation_encode_a_tile_alike() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("ds");
        for sub in ["images", "coherence", "labels"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        let (w, h) = (64, 64);
        let phase: Vec<f32> = (0..w * h)
            .map(|i| {
                if i % 97 == 3 {
                    -9999.0
                } else {
                    insar::wrap(i as f32 * 0.37)
                }
            })
            .collect();
        let coh: Vec<u8> = (0..w * h).map(|i| (i % 256) as u8).collect();
        let tif = root.join("images").join("t0.tif");
        raster::write_geotiff_f32(&tif, w, h, &phase, None, Some(-9999.0)).expect("tif");
        let cc = root.join("coherence").join("t0.tif");
        raster::write_geotiff_u8(&cc, w, h, 1, &coh, None, None).expect("coherence");
        std::fs::write(root.join("labels").join("t0.txt"), "0 0.5 0.5 0.25 0.25\n").expect("txt");

        let args = predict_args(&tif);
        let item = load_item(&tif, InputKind::Phase, &input_spec(&args)).expect("predict");
        assert_eq!(item.padded, [h, w]);

        let mut dargs = super::super::detect::default_args();
        dargs.scene = Some(tif.clone());
        dargs.coherence = Some(cc);
        dargs.overlap = 0;
        let mut source =
            super::super::detect::open_scene(&tif, &dargs, InputKind::Phase, false).expect("scene");
        let plan = TilePlan::new(w, h, w, dargs.overlap).expect("plan");
        let tiles: Vec<_> = TileStream::new(&mut source, &plan)
            .expect("stream")
            .collect::<Result<_, _>>()
            .expect("tiles");
        assert_eq!(tiles.len(), 1);
        let detect_x =
            input::encode_tile(&tiles[0], source.input_kind(), dargs.goldstein).expect("detect");

        let ds = open_dataset(&root, Split::Train).expect("data set");
        let (val_x, _) = eval_sample(&ds, 0, w).expect("validation");

        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        assert_eq!(bits(&item.input), bits(&detect_x), "predict vs detect");
        assert_eq!(bits(&item.input), bits(&val_x), "predict vs validation");
        // The byte coherence reached all three (no-data pixels carry none).
        assert_eq!(item.input[2 * w * h + 5], 5.0 / 255.0);
        assert_eq!(item.input[2 * w * h + 3], 0.0);
    }
}

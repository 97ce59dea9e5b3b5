//! `yolo-basin detect`: a whole scene in, a map layer of basins out.
//!
//! The scene is streamed in strips of tile rows (never read whole), cut into overlapping
//! tiles, each batch of tiles run through the model, and the tiles' detections stitched
//! back into scene boxes, then written as GeoJSON (QGIS), CSV and COCO results.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use detect_core::output::{Basin, GeoRef, coco_results, write_csv, write_geojson};
use detect_core::tiling::{
    RowSource, StitchParams, Strip, TileData, TileDetections, TilePlan, detect_tiles, stitch,
};
use detect_core::{BBox, Detection};
use indicatif::{ProgressBar, ProgressStyle};
use insar::{Complex32, GoldsteinParams};
use model::{InputKind, PredictParams, Predictor};
use raster::any::{ReadOptions, RowReader, open_any};
use raster::{Pixels, Raster};

/// The bundled default model and demo scene, relative to the repository root.
pub const DEFAULT_WEIGHTS: &str = "models/light-yolo-basin-s.safetensors";
pub const DEFAULT_SCENE: &str = "data/demo/demo-scene.tif";

/// Detect subsidence basins in a whole interferogram.
///
/// Input: a wrapped-phase raster (GeoTIFF such as LiCSAR `*.geo.diff_pha.tif` or HyP3
/// `*_wrapped_phase.tif`, or a GAMMA raw `.diff`/`.unw` with its `.par`), an unwrapped phase or
/// LOS displacement raster (wrapped here), a complex interferogram (its phase is used), or a
/// rendered picture (PNG/JPEG): its colours are read back to phase with `--colormap` (auto by
/// default) for a model trained on phase, or given as they are to a model trained on
/// pictures. Run with no arguments it detects with the bundled model on the bundled demo
/// scene.
///
/// Output (in --out-dir): `<scene>.basins.geojson` (polygons in the scene's CRS, open it in
/// QGIS over the raster), `<scene>.basins.csv` and `<scene>.basins.coco.json`.
#[derive(clap::Args)]
pub struct Args {
    /// The scene to search (default: the bundled demo scene).
    pub scene: Option<PathBuf>,
    /// Model weights (default: the bundled Light YOLO-Basin-S).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// A coherence raster of the same size (used as the third input channel; 1 where absent).
    #[arg(long)]
    pub coherence: Option<PathBuf>,
    /// What the scene's values are: wrapped phase (rad), unwrapped phase (rad), LOS
    /// displacement (m), a complex interferogram or a picture. `auto` decides from the data
    /// type and the file name (`unw` → unwrapped, `los`/`disp` → displacement).
    #[arg(long, value_enum, default_value_t = Kind::Auto)]
    pub kind: Kind,
    /// For a picture and a model trained on phase: the colormap it was drawn with.
    #[arg(long, default_value = "auto", long_help = super::picture::COLORMAP_HELP)]
    pub colormap: super::picture::ColormapSpec,
    /// Radar wavelength in metres, to turn LOS displacement into phase (Sentinel-1 C band).
    #[arg(long, default_value_t = insar::S1_WAVELENGTH)]
    pub wavelength: f64,
    /// Where to write the outputs (created if missing).
    #[arg(short, long, default_value = "out")]
    pub out_dir: PathBuf,
    /// Overlap of neighbouring tiles in pixels: at least the largest basin you expect, so
    /// every basin lies whole in some tile. 0 cuts without overlap as the paper did.
    #[arg(long, default_value_t = 160)]
    pub overlap: usize,
    /// Keep detections scoring at least this. Default: the threshold stored in the weights
    /// by `yolo-basin calibrate` (best F1 on simulated validation scenes), else 0.25.
    #[arg(long)]
    pub score: Option<f64>,
    /// NMS IoU threshold, within tiles and across them.
    #[arg(long, default_value_t = 0.45)]
    pub iou: f64,
    /// Tiles per forward pass.
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Goldstein-filter each tile (α) before detection, for unfiltered inputs; 0 = off.
    #[arg(long, default_value_t = 0.0)]
    pub goldstein: f32,
    /// Width of a GAMMA raw raster when no `.par` lies beside it.
    #[arg(long)]
    pub width: Option<usize>,
    /// `cpu` (default), or `cuda` / `wgpu` when built with those features.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Use the plain-burn inference path instead of the fast folded kernels (for checking).
    #[arg(long)]
    pub reference: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Auto,
    Wrapped,
    Unwrapped,
    Los,
    Complex,
    Picture,
}

/// Finds a bundled file: as given, else relative to the repository this binary was built in.
pub fn bundled(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.exists() {
        return p;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Score threshold used when neither `--score` nor the weights give one.
pub const FALLBACK_SCORE: f64 = 0.25;

/// The score threshold to use and where it came from.
pub fn score_threshold(given: Option<f64>, header: &model::WeightsHeader) -> (f64, String) {
    match (given, &header.calibration) {
        (Some(s), _) => (s, "given with --score".into()),
        (None, Some(c)) => (
            c.score_threshold,
            format!(
                "calibrated: best F1 at IoU {} on {} simulated validation scenes",
                c.iou, c.scenes
            ),
        ),
        (None, None) => (
            FALLBACK_SCORE,
            "default; the weights carry no calibration".into(),
        ),
    }
}

/// A loaded model ready for scenes.
pub struct LoadedModel {
    pub predictor: Predictor,
    pub header: model::WeightsHeader,
    pub path: PathBuf,
}

/// Loads `weights` for detection with scores down to `min_score`.
pub fn load_model(weights: &Path, args: &Args, min_score: Option<f64>) -> Result<LoadedModel> {
    if !weights.is_file() {
        bail!(
            "model weights {} not found: pass --weights FILE (a .safetensors written by `yolo-basin train`)",
            weights.display()
        );
    }
    let device = model::device::select_device(&args.device)?;
    let (net, header) = model::load_weights(weights, &device)
        .with_context(|| format!("loading model weights {}", weights.display()))?;
    let score = min_score.unwrap_or_else(|| score_threshold(args.score, &header).0);
    let params = PredictParams {
        score_threshold: score,
        iou_threshold: args.iou,
        ..PredictParams::default()
    };
    let predictor = if args.reference {
        Predictor::reference(&net)
    } else {
        Predictor::new(&net)?
    }
    .with_params(params);
    Ok(LoadedModel {
        predictor,
        header,
        path: weights.to_path_buf(),
    })
}

pub fn run(args: Args) -> Result<()> {
    let scene = args.scene.clone().unwrap_or_else(|| bundled(DEFAULT_SCENE));
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(|| bundled(DEFAULT_WEIGHTS));
    if !scene.is_file() {
        bail!(
            "scene {} not found: give a wrapped-phase GeoTIFF, GAMMA raw raster or picture",
            scene.display()
        );
    }
    let model = load_model(&weights, &args, None)?;
    let (score, why) = score_threshold(args.score, &model.header);
    let run = detect_tiles_of(&scene, &args, &model, true)?;
    let dets = stitch(&run.plan, &run.tiles, &stitch_params(&args));
    let basins: Vec<Basin> = dets.iter().map(|d| basin(d, run.geo.as_ref())).collect();
    write_outputs(&args.out_dir, &scene, &basins, run.geo.as_ref())?;
    println!(
        "{} basins in {} ({}×{} px, {} tiles of {}, overlap {}) in {:.1} s with {} [{}], score ≥ {score} ({why})",
        basins.len(),
        scene.display(),
        run.plan.scene_width,
        run.plan.scene_height,
        run.plan.len(),
        run.plan.tile,
        args.overlap,
        run.secs,
        weights.display(),
        model.predictor.engine_name(),
    );
    Ok(())
}

/// How tiles' boxes become scene boxes.
pub fn stitch_params(args: &Args) -> StitchParams {
    StitchParams {
        nms_iou: args.iou,
        ..StitchParams::default()
    }
}

/// A scene run through the model, before stitching.
pub struct SceneTiles {
    pub plan: TilePlan,
    pub tiles: Vec<TileDetections>,
    pub geo: Option<GeoRef>,
    pub secs: f64,
}

/// Streams `scene` through the model tile by tile (the options of `args`: kind, coherence,
/// overlap, batch, Goldstein, width), with a progress bar when `progress`.
pub fn detect_tiles_of(
    scene: &Path,
    args: &Args,
    model: &LoadedModel,
    progress: bool,
) -> Result<SceneTiles> {
    let predictor = &model.predictor;
    let tile = model.header.config.tile;
    let weights = &model.path;
    let opts = ReadOptions {
        width: args.width,
        ..ReadOptions::default()
    };
    let reader =
        open_any(scene, &opts).with_context(|| format!("opening scene {}", scene.display()))?;
    let coherence = match &args.coherence {
        Some(p) => Some(
            open_any(p, &ReadOptions::default())
                .with_context(|| format!("opening coherence {}", p.display()))?,
        ),
        None => None,
    };
    let mut source = SceneSource::new(reader, coherence, scene, args)?;
    if source.kind == Kind::Picture && model.header.config.input == InputKind::Phase {
        let inv = super::picture::invert_picture(scene, &args.colormap)?;
        if progress {
            eprintln!("{}", inv.summary());
        }
        source.inverted = Some(inv.phase);
    }
    let data_kind = source.input_kind();
    predictor
        .check_input(data_kind)
        .with_context(|| format!("model {} on scene {}", weights.display(), scene.display()))?;

    let plan = TilePlan::new(source.width(), source.height(), tile, args.overlap)
        .context("planning tiles")?;
    let bar = if progress {
        ProgressBar::new(plan.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    let bar = bar.with_style(
        ProgressStyle::with_template(
            "{spinner} detecting [{bar:30}] {pos}/{len} tiles {per_sec} eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let goldstein = args.goldstein;
    let detector = |tiles: &[TileData]| -> Result<Vec<Vec<Detection>>, model::ModelError> {
        let mut x = Vec::with_capacity(tiles.len() * 3 * tile * tile);
        for t in tiles {
            x.extend(encode_tile(t, data_kind, goldstein)?);
        }
        let dets = predictor.predict(&x, tiles.len(), tile, tile)?;
        bar.inc(tiles.len() as u64);
        Ok(dets)
    };
    let tiles = detect_tiles(&mut source, &plan, args.batch, detector)
        .with_context(|| format!("detecting basins in {}", scene.display()))?;
    bar.finish_and_clear();
    Ok(SceneTiles {
        plan,
        tiles,
        geo: source.geo.map(|g| GeoRef {
            transform: g.transform.0,
            epsg: g.epsg,
        }),
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The options `detect` has when given only a scene: what benchmarks and calibration run.
pub fn default_args() -> Args {
    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }
    <Wrap as clap::Parser>::parse_from(["detect"]).args
}

fn write_outputs(dir: &Path, scene: &Path, basins: &[Basin], geo: Option<&GeoRef>) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating output folder {}", dir.display()))?;
    let stem = scene
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scene".into());
    let gj = dir.join(format!("{stem}.basins.geojson"));
    write_geojson(&gj, basins, geo).with_context(|| format!("writing {}", gj.display()))?;
    let csv = dir.join(format!("{stem}.basins.csv"));
    write_csv(&csv, basins, geo).with_context(|| format!("writing {}", csv.display()))?;
    let coco = dir.join(format!("{stem}.basins.coco.json"));
    let results = coco_results(basins, 1, 1);
    super::atomic_write(&coco, serde_json::to_string_pretty(&results)?.as_bytes())?;
    println!(
        "wrote {}, {}, {}",
        gj.display(),
        csv.display(),
        coco.display()
    );
    Ok(())
}

/// Per-basin figures a geodesist reads first: the box's ground size.
fn basin(d: &Detection, geo: Option<&GeoRef>) -> Basin {
    let mut b = Basin::from(*d);
    if let Some(g) = geo.filter(|g| !g.is_geographic()) {
        let BBox { x1, y1, x2, y2 } = d.bbox;
        b.stats
            .insert("width_m".into(), ((x2 - x1) * g.transform[1].abs()).into());
        b.stats
            .insert("height_m".into(), ((y2 - y1) * g.transform[5].abs()).into());
    }
    b
}

/// The model's three input planes of one tile; no-data pixels carry no phase.
fn encode_tile(
    t: &TileData,
    kind: InputKind,
    goldstein: f32,
) -> Result<Vec<f32>, model::ModelError> {
    let s = t.tile.size;
    let n = s * s;
    match kind {
        InputKind::Rgb => {
            let mut rgb = vec![0u8; 3 * n];
            for i in 0..n {
                for b in 0..3 {
                    rgb[3 * i + b] = t.data[b * n + i].clamp(0.0, 255.0) as u8;
                }
            }
            model::input::encode_rgb(&rgb, s, s)
        }
        InputKind::Phase => {
            let mut phase: Vec<f32> = (0..n)
                .map(|i| if t.valid[i] { t.data[i] } else { f32::NAN })
                .collect();
            if goldstein > 0.0 {
                phase = filter_phase(&phase, s, goldstein);
            }
            let coh = (t.bands > 1).then(|| &t.data[n..2 * n]);
            model::input::encode_phase(&phase, coh, s, s)
        }
    }
}

fn filter_phase(phase: &[f32], s: usize, alpha: f32) -> Vec<f32> {
    let z: Vec<Complex32> = phase
        .iter()
        .map(|&p| {
            if p.is_finite() {
                Complex32::from_polar(1.0, p)
            } else {
                Complex32::new(0.0, 0.0)
            }
        })
        .collect();
    let p = GoldsteinParams {
        alpha,
        ..GoldsteinParams::default()
    };
    insar::goldstein(&z, s, s, &p)
        .iter()
        .zip(phase)
        .map(|(z, &p0)| if p0.is_finite() { z.arg() } else { f32::NAN })
        .collect()
}

/// The scene (and its coherence) as rows of wrapped phase, or of RGB for pictures.
struct SceneSource {
    reader: RowReader,
    coherence: Option<RowReader>,
    kind: Kind,
    wavelength: f64,
    geo: Option<raster::GeoInfo>,
    path: PathBuf,
    /// A picture read back to wrapped phase (all of it: pictures are held whole anyway).
    inverted: Option<Vec<f32>>,
}

impl SceneSource {
    fn new(
        mut reader: RowReader,
        coherence: Option<RowReader>,
        path: &Path,
        args: &Args,
    ) -> Result<Self> {
        if let Some(c) = &coherence
            && (c.width() != reader.width() || c.height() != reader.height())
        {
            bail!(
                "coherence is {}×{} but the scene {} is {}×{}: they must be the same grid",
                c.width(),
                c.height(),
                path.display(),
                reader.width(),
                reader.height()
            );
        }
        let kind = match args.kind {
            Kind::Auto => guess_kind(&mut reader, path)?,
            k => k,
        };
        Ok(Self {
            geo: reader.geo().copied(),
            reader,
            coherence,
            kind,
            wavelength: args.wavelength,
            path: path.to_path_buf(),
            inverted: None,
        })
    }

    /// Whether the model gets the picture's colours as they are.
    fn raw_picture(&self) -> bool {
        self.kind == Kind::Picture && self.inverted.is_none()
    }

    fn input_kind(&self) -> InputKind {
        if self.raw_picture() {
            InputKind::Rgb
        } else {
            InputKind::Phase
        }
    }

    /// One row of the scene as wrapped phase.
    fn to_phase(&self, r: &Raster) -> Result<Vec<f32>> {
        let name = self.path.display();
        Ok(match (&r.pixels, self.kind) {
            (Pixels::C32(z), _) => z.iter().map(|z| z.arg()).collect(),
            (Pixels::F32(v), Kind::Wrapped) => v.clone(),
            (Pixels::F32(v), Kind::Unwrapped) => v.iter().map(|&p| insar::wrap(p)).collect(),
            (Pixels::F32(v), Kind::Los) => v
                .iter()
                .map(|&d| insar::wrap(insar::los_to_phase(d as f64, self.wavelength) as f32))
                .collect(),
            (Pixels::U8(_), k) => {
                bail!("{name} holds 8-bit pixels, not phase: use --kind picture (was {k:?})")
            }
            (p, k) => bail!("{name}: cannot read {} data as {k:?}", p.type_name()),
        })
    }
}

fn guess_kind(reader: &mut RowReader, path: &Path) -> Result<Kind> {
    let first = reader
        .read_rows(0, 1)
        .with_context(|| format!("reading the first row of {}", path.display()))?;
    let name = path.to_string_lossy().to_lowercase();
    Ok(match first.pixels {
        Pixels::C32(_) => Kind::Complex,
        Pixels::U8(_) => Kind::Picture,
        Pixels::F32(_) if name.contains("unw") => Kind::Unwrapped,
        Pixels::F32(_) if name.contains("los") || name.contains("disp") => Kind::Los,
        Pixels::F32(_) => Kind::Wrapped,
    })
}

impl RowSource for SceneSource {
    fn width(&self) -> usize {
        self.reader.width()
    }

    fn height(&self) -> usize {
        self.reader.height()
    }

    fn bands(&self) -> usize {
        match (self.raw_picture(), &self.coherence) {
            (true, _) => 3,
            (false, Some(_)) => 2,
            (false, None) => 1,
        }
    }

    fn read_rows(
        &mut self,
        y0: usize,
        n: usize,
    ) -> Result<Strip, Box<dyn std::error::Error + Send + Sync>> {
        let (mut data, valid) = if let Some(phase) = &self.inverted {
            let w = self.reader.width();
            let rows = phase
                .get(y0 * w..(y0 + n) * w)
                .ok_or_else(|| format!("rows {y0}..{} beyond the picture", y0 + n))?
                .to_vec();
            let valid = rows.iter().map(|v| v.is_finite()).collect();
            (rows, valid)
        } else {
            let r = self.reader.read_rows(y0, n)?;
            let valid = r.valid_mask();
            if self.raw_picture() {
                return Ok(Strip {
                    data: picture_planes(&r, &self.path)?,
                    valid,
                });
            }
            (self.to_phase(&r)?, valid)
        };
        if let Some(c) = &mut self.coherence {
            let c = c.read_rows(y0, n)?;
            match c.pixels {
                Pixels::F32(v) => data.extend(v),
                Pixels::U8(v) => data.extend(v.iter().map(|&b| b as f32 / 255.0)),
                p => return Err(format!("coherence holds {} data", p.type_name()).into()),
            }
        }
        Ok(Strip { data, valid })
    }
}

/// Interleaved 8-bit samples (gray or RGB[A]) as three band-sequential planes of 0..255.
fn picture_planes(r: &Raster, path: &Path) -> Result<Vec<f32>> {
    let Pixels::U8(v) = &r.pixels else {
        bail!("{} is not an 8-bit picture", path.display());
    };
    let n = r.width * r.height;
    let b = r.bands.max(1);
    let mut out = vec![0.0f32; 3 * n];
    for i in 0..n {
        for c in 0..3 {
            out[c * n + i] = v[i * b + c.min(b - 1)] as f32;
        }
    }
    Ok(out)
}

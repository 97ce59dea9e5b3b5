//! `yolo-basin detect`: a whole scene in, a map layer of basins out.
//!
//! The scene is streamed in strips of tile rows (never read whole), cut into overlapping
//! tiles, each batch of tiles run through the model, and the tiles' detections stitched
//! back into scene boxes, then written as GeoJSON (QGIS), CSV and COCO results.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use detect_core::output::{
    Basin, Frame, GeoJsonCoords, coco_results, write_csv, write_geojson, write_gpkg,
};
use detect_core::quicklook::Overview;
use detect_core::rescore::{Features, Phasors, Rescorer, rescore, window_features};
use detect_core::tiling::{
    RowSource, StitchParams, TileData, TileDetections, TilePlan, detect_tiles_prepared, stitch_at,
};
use indicatif::{ProgressBar, ProgressStyle};
use input::overview::{OverviewBuilder, OverviewTap};
use input::picture::{COLORMAP_HELP, ColormapSpec};
use input::{InputSpec, SceneSource, defaults, encode_tile};
use model::{InputKind, Predictor};
use raster::GeoInfo;

const EXAMPLES: &str = "\
Examples:
  yolo-basin detect                      # the bundled model on the demo scene → out/
  yolo-basin detect sim/scenes/scene_0.tif -o out
  yolo-basin detect 20201230_20210111.geo.diff_pha.tif --unwrapped 20201230_20210111.geo.unw.tif
  yolo-basin detect S1AA_*_wrapped_phase.tif --goldstein 0.5 -o out   # HyP3, unfiltered
  yolo-basin detect 20201230_20210111.diff --geojson-native --quicklook-size 1024 -o out
  yolo-basin detect ifg.png --colormap jet -o out     # a picture, read back to phase
  yolo-basin detect sim/scenes/scene_0.tif --fast -o out-fast   # Light-N: 1.7x as fast
";

/// The bundled default model and demo scene, relative to the repository root.
pub const DEFAULT_WEIGHTS: &str = "models/light-yolo-basin-s.safetensors";
pub const DEFAULT_SCENE: &str = "data/demo/demo-scene.tif";
/// The bundled fast model (`--fast`).
pub const FAST_WEIGHTS: &str = "models/light-yolo-basin-n.safetensors";

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
/// Output (in --out-dir): `<scene>.basins.gpkg`, a GeoPackage layer of the boxes in the
/// scene's CRS with every attribute (open it in QGIS over the raster);
/// `<scene>.basins.geojson` in WGS84 longitude/latitude (RFC 7946; `--geojson-native` keeps
/// the scene's CRS); `<scene>.basins.csv` and `<scene>.basins.coco.json` (pixel boxes). Each
/// basin's width, height and area are ground sizes in metres on the WGS84 ellipsoid, for
/// every EPSG CRS. A scene with a geotransform but no EPSG code keeps its coordinates with
/// the CRS marked unknown, a scene without georeferencing (radar geometry) is written in
/// pixel coordinates (x = column, y = −row, where QGIS draws such a raster); both have no
/// metres, and `detect` warns.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// The scene to search (default: the bundled demo scene).
    pub scene: Option<PathBuf>,
    #[command(flatten)]
    pub options: SceneOptions,
    /// A coherence raster of the same size (used as the third input channel; 1 where absent).
    #[arg(long)]
    pub coherence: Option<PathBuf>,
    /// Where to write the outputs (created if missing). Outputs of the same names there are
    /// replaced, each written whole (temporary file, then rename).
    #[arg(short, long, default_value = "out")]
    pub out_dir: PathBuf,
    /// Use the plain-burn inference path instead of the fast folded kernels (for checking).
    #[arg(long)]
    pub reference: bool,
    /// Write where the time went (reading, encoding, network, stitching, writing) as JSON
    /// here (what `bench scan` reads).
    #[arg(long, value_name = "FILE")]
    pub timings: Option<PathBuf>,
    /// Longest side in pixels of the quicklook picture `<scene>.basins.png`: the scene's
    /// wrapped phase reduced by whole-pixel complex multilook (phasors averaged, so fringes
    /// stay where they are), no-data grey, every box with its score, a scale bar and a
    /// legend. 0: no quicklook.
    #[arg(long, default_value_t = super::extras::QUICKLOOK_SIZE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
              .range(0..=detect_core::quicklook::MAX_SIDE as u64))]
    pub quicklook_size: usize,
    /// An unwrapped-phase raster (radians) on the scene's grid, or LOS displacement in metres
    /// when its file name says so (`los`, `disp…`): each basin gets `peak_los_mm`,
    /// `mean_los_mm` and `volume_m3` relative to the median of a ring around its box (LOS
    /// positive towards the satellite: subsidence is negative). An unwrapped or LOS scene
    /// is measured without it.
    #[arg(long, value_name = "FILE")]
    pub unwrapped: Option<PathBuf>,
    /// Ground size of a pixel in metres, `20` or `DXxDY` (along a row, a column), for basin
    /// volumes on a scene without georeferencing in a known CRS (radar geometry).
    #[arg(long, value_name = "METRES", value_parser = super::extras::parse_pixel_size)]
    pub pixel_size: Option<(f64, f64)>,
    /// Write the GeoJSON in the scene's own CRS (with the 2008 `crs` member GDAL and QGIS
    /// read) instead of RFC 7946 WGS84 longitude/latitude.
    #[arg(long)]
    pub geojson_native: bool,
}

/// How a scene is read and searched: the options `detect` and `batch` share, declared once
/// so both commands take the same flags with the same defaults and help.
#[derive(clap::Args, Clone)]
pub struct SceneOptions {
    /// Model weights (default: the bundled Light YOLO-Basin-S).
    #[arg(short, long)]
    pub weights: Option<PathBuf>,
    /// Use the bundled fast model, Light YOLO-Basin-N, instead of Light-S: a quarter of the
    /// multiply-adds, about 1.7× as fast on a scene, a little less accurate (README, "Speed").
    #[arg(long, conflicts_with = "weights")]
    pub fast: bool,
    /// What the scene's values are: wrapped phase (rad), unwrapped phase (rad), LOS
    /// displacement (m), a complex interferogram or a picture. `auto` decides from the data
    /// type and the file's name, never its folders (a word starting `unw` → unwrapped;
    /// `los` or a word starting `disp` → displacement).
    #[arg(long, default_value = "auto", value_parser = kind_parser())]
    pub kind: input::Kind,
    /// For a picture and a model trained on phase: the colormap it was drawn with.
    #[arg(long, default_value = "auto", long_help = COLORMAP_HELP)]
    pub colormap: ColormapSpec,
    /// Radar wavelength in metres, to turn LOS displacement into phase (Sentinel-1 C band).
    #[arg(long, default_value_t = insar::S1_WAVELENGTH)]
    pub wavelength: f64,
    /// Overlap of neighbouring tiles in pixels: at least the largest basin you expect, so
    /// every basin lies whole in some tile. 0 cuts without overlap as the paper did.
    #[arg(long, default_value_t = defaults::TILE_OVERLAP)]
    pub overlap: usize,
    /// Keep detections scoring at least this. Default: the threshold stored in the weights
    /// by `yolo-basin calibrate` (best F1 on simulated validation scenes), else 0.25.
    #[arg(long)]
    pub score: Option<f64>,
    /// NMS IoU threshold, within tiles and across them.
    #[arg(long, default_value_t = defaults::NMS_IOU)]
    pub iou: f64,
    /// Largest side in pixels (a multiple of 32) of the windows the network runs on. It is
    /// fully convolutional, so a scene can run in a few large windows that overlap only where
    /// they meet, instead of a grid of model-sized tiles that overlap everywhere; the side is
    /// chosen up to this to cover the scene with the least area. 0: the model's own tile
    /// (416), as the paper cut scenes.
    #[arg(long, default_value_t = defaults::WINDOW)]
    pub window: usize,
    /// Tiles per forward pass, 1–256 (with `--window`: as many windows as hold as many
    /// pixels, at least one).
    #[arg(long, default_value_t = 4, value_parser = super::batch_size(256))]
    pub batch: usize,
    /// Goldstein-filter each tile with strength α in [0, 1] before detection, for unfiltered
    /// inputs; 0 = off.
    #[arg(long, default_value_t = 0.0, value_parser = super::unit_interval)]
    pub goldstein: f32,
    /// Width of a GAMMA raw raster when no `.par` lies beside it.
    #[arg(long)]
    pub width: Option<usize>,
    /// The band holding the values, by number (from 1) or name (`--band 2`, `--band
    /// Phase_ifg_VV_01Jan2020_13Jan2020`). Default: the only band, or the one the format's
    /// convention names (ISCE `.unw`: band 2; SNAP `.dim`: the phase band, else the i/q pair
    /// as complex); a raster of several bands and no convention is refused, its bands listed.
    #[arg(long, value_name = "N|NAME")]
    pub band: Option<raster::BandChoice>,
    /// Incidence angle in degrees from the vertical, to read vertical displacement (HyP3
    /// `*_vert_disp.tif`, up positive) as line-of-sight: LOS = vertical × cos(incidence),
    /// uplift towards the satellite. Without it vertical displacement is refused.
    #[arg(long, value_name = "DEG")]
    pub incidence: Option<f64>,
    /// A no-data value overriding the one the file declares.
    #[arg(long)]
    pub nodata: Option<f64>,
    /// `cpu` (default), or `cuda` / `wgpu` when built with those features.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Keep the network's own scores: skip the second look at each box that weights
    /// calibrated with `calibrate --rescore-scenes` carry (phase measures in and around the
    /// box, weighed by a model fitted on simulated scenes). Their stored threshold is for
    /// the second look's scores, so give `--score` with this.
    #[arg(long)]
    pub no_rescore: bool,
}

impl SceneOptions {
    /// The weights to run: `--weights`, else the bundled fast model with `--fast`, else the
    /// bundled default.
    pub fn weights_path(&self) -> PathBuf {
        match (&self.weights, self.fast) {
            (None, true) => bundled(FAST_WEIGHTS),
            (given, _) => weights_or_bundled(given.as_deref()),
        }
    }
}

// `Args` is its scene options plus the scene and the outputs: callers (benchmarks,
// calibration, the Python module) read and set the options as fields of `Args`.
impl std::ops::Deref for Args {
    type Target = SceneOptions;

    fn deref(&self) -> &SceneOptions {
        &self.options
    }
}

impl std::ops::DerefMut for Args {
    fn deref_mut(&mut self) -> &mut SceneOptions {
        &mut self.options
    }
}

/// `--kind`: the input crate's kinds by name, listed in `--help`.
fn kind_parser() -> impl clap::builder::TypedValueParser<Value = input::Kind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(input::Kind::NAMES.map(|(_, n)| n))
        .map(|s| s.parse().unwrap_or(input::Kind::Auto))
}

impl Args {
    /// How the scene is read, in the input crate's terms.
    pub fn input_spec(&self) -> InputSpec {
        InputSpec {
            kind: self.kind,
            band: self.band.clone(),
            colormap: self.colormap.clone(),
            wavelength: self.wavelength,
            coherence: self.coherence.clone(),
            goldstein: self.goldstein,
            width: self.width,
            nodata: self.nodata,
            incidence: self.incidence,
        }
    }
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

/// The weights a command was given, else the bundled default model: every command's
/// `--weights` default.
pub fn weights_or_bundled(given: Option<&Path>) -> PathBuf {
    given.map_or_else(|| bundled(DEFAULT_WEIGHTS), Path::to_path_buf)
}

/// The score threshold to use and where it came from.
pub fn score_threshold(given: Option<f64>, header: &model::WeightsHeader) -> (f64, String) {
    defaults::score_threshold(given, header)
}

/// A loaded model ready for scenes.
pub struct LoadedModel {
    pub predictor: Predictor,
    pub header: model::WeightsHeader,
    pub path: PathBuf,
    /// The second look at each box, when the weights carry one and `--no-rescore` is off.
    pub rescorer: Option<Rescorer>,
    /// Keep every window box's features in [`SceneTiles::features`] (to fit a rescorer).
    pub keep_features: bool,
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
    let params = defaults::predict_params(score, args.iou);
    let predictor = if args.reference {
        Predictor::reference(&net)
    } else {
        Predictor::new(&net)?
    }
    .with_params(params);
    let rescorer = match (&header.rescorer, args.no_rescore) {
        (Some(r), false) => {
            r.check()
                .with_context(|| format!("model weights {}", weights.display()))?;
            Some(r.clone())
        }
        _ => None,
    };
    Ok(LoadedModel {
        predictor,
        header,
        path: weights.to_path_buf(),
        rescorer,
        keep_features: false,
    })
}

pub fn run(args: Args) -> Result<()> {
    let scene = args.scene.clone().unwrap_or_else(|| bundled(DEFAULT_SCENE));
    let weights = args.weights_path();
    if !scene.is_file() {
        bail!(
            "scene {} not found: give a wrapped-phase GeoTIFF, GAMMA raw raster or picture",
            scene.display()
        );
    }
    let (model, score, why) = load_for_scenes(&weights, &args)?;
    if args.no_rescore && model.header.rescorer.is_some() && args.score.is_none() {
        eprintln!(
            "warning: --no-rescore keeps the network's scores, but the threshold stored in {} was chosen for the second look's: give --score",
            weights.display()
        );
    }
    let (run, overview) =
        detect_tiles_with_overview(&scene, &args, &model, true, args.quicklook_size)?;
    let t0 = Instant::now();
    let mut basins = stitched_basins(&run, &model, score, &args);
    let t1 = Instant::now();
    if let Some(s) = super::extras::add_deformation(
        &scene,
        &args.input_spec(),
        args.unwrapped.as_deref(),
        run.geo.as_ref(),
        args.pixel_size,
        &mut basins,
    )? {
        println!("{s}");
    }
    let t2 = Instant::now();
    let written = write_outputs_as(
        &args.out_dir,
        &scene,
        &basins,
        run.geo.as_ref(),
        geojson_coords(&args),
    )?;
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    println!("wrote {}", names.join(", "));
    let t3 = Instant::now();
    if args.quicklook_size > 0 {
        let png = super::extras::quicklook_path(&args.out_dir, &scene);
        let spec = args.input_spec();
        let drawn = match overview {
            Some(ov) => super::extras::write_quicklook_of(&ov, &basins, run.geo.as_ref(), &png),
            // A picture model's scan reads colours: read the phase again for the picture.
            None => super::extras::quicklook(&scene, &spec, args.quicklook_size, &basins, &png),
        };
        match drawn {
            Ok(()) => println!("wrote {}", png.display()),
            Err(e) => eprintln!("warning: no quicklook: {e:#}"),
        }
    }
    let t4 = Instant::now();
    let timings = Timings {
        read_secs: run.secs - run.network_secs - run.rescore_secs,
        encode_secs: run.encode_secs,
        // Encoding ran beside the network: not added.
        total_secs: run.secs + (t4 - t0).as_secs_f64(),
        network_secs: run.network_secs,
        rescore_secs: run.rescore_secs,
        stitch_secs: (t1 - t0).as_secs_f64(),
        write_secs: (t3 - t2).as_secs_f64(),
        extras_secs: (t2 - t1).as_secs_f64() + (t4 - t3).as_secs_f64(),
        tiles: run.plan.len(),
        side: run.plan.tile_width,
        side_height: run.plan.tile_height,
        basins: basins.len(),
        peak_rss_mib: model::fast::peak_rss_kib().map_or(0.0, |k| k as f64 / 1024.0),
    };
    let pieces = if args.window == 0 { "tiles" } else { "windows" };
    println!(
        "{} basins in {} ({}×{} px, {} {pieces} of {}×{}, overlap {}) in {:.1} s with {} [{}], score ≥ {score} ({why})",
        basins.len(),
        scene.display(),
        run.plan.scene_width,
        run.plan.scene_height,
        run.plan.len(),
        run.plan.tile_width,
        run.plan.tile_height,
        args.overlap,
        timings.total(),
        weights.display(),
        model.predictor.engine_name(),
    );
    if let Some(r) = &model.rescorer {
        println!(
            "  scores from the second look at each box (phase around it; fitted on {} boxes of simulated scenes); --no-rescore keeps the network's",
            r.samples
        );
    }
    println!(
        "  reading and encoding the network waited for {:.1} s (encoding {:.1} s beside it), network {:.1} s, second look {:.2} s, stitching {:.2} s, writing {:.2} s, quicklook and deformation {:.1} s",
        timings.read_secs,
        timings.encode_secs,
        timings.network_secs,
        timings.rescore_secs,
        timings.stitch_secs,
        timings.write_secs,
        timings.extras_secs
    );
    if let Some(path) = &args.timings {
        super::atomic_write(path, serde_json::to_string_pretty(&timings)?.as_bytes())?;
    }
    Ok(())
}

/// The model for whole scenes, with the score threshold (and where it came from) that
/// applies after stitching.
pub fn load_for_scenes(weights: &Path, args: &Args) -> Result<(LoadedModel, f64, String)> {
    // Tiles are detected down to a low score and stitched with every box they found; the
    // threshold applies after stitching (`stitch_at`), as calibration measured it.
    let floor = super::scenes::LOW_SCORE.min(args.score.unwrap_or(f64::INFINITY));
    let model = load_model(weights, args, Some(floor))?;
    let (score, why) = score_threshold(args.score, &model.header);
    Ok((model, score, why))
}

/// The scene's basins scoring at least `score`, its tiles' boxes stitched, each sized on
/// the ground where the scene's CRS is known. Boxes join bowls from the model's own
/// operating point (its calibrated threshold), whatever `score` is, as calibration measured.
pub fn stitched_basins(
    run: &SceneTiles,
    model: &LoadedModel,
    score: f64,
    args: &Args,
) -> Vec<Basin> {
    let params = StitchParams {
        bowl_from: score_threshold(None, &model.header).0,
        ..stitch_params(args)
    };
    stitch_at(&run.plan, &run.tiles, score, &params)
        .iter()
        .map(|&d| Basin::sized(d, run.geo.as_ref()))
        .collect()
}

/// Where a scene's time went (`--timings`, `bench scan`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Timings {
    /// Reading, cutting and encoding the scene's tiles, as far as the network waited for
    /// them (they run on a thread beside it). Builds before session 28 read first and
    /// encoded after, and counted only the reading here.
    pub read_secs: f64,
    /// Encoding the tiles as network input (and Goldstein filtering), beside the network
    /// since session 28: not a share of the total then, a share before.
    pub encode_secs: f64,
    pub network_secs: f64,
    /// The second look at the network's boxes (`detect_core::rescore`).
    #[serde(default)]
    pub rescore_secs: f64,
    pub stitch_secs: f64,
    pub write_secs: f64,
    /// The quicklook picture (a second, multilooked read of the scene) and per-basin
    /// deformation figures.
    #[serde(default)]
    pub extras_secs: f64,
    pub tiles: usize,
    /// Width of the tiles or windows run.
    pub side: usize,
    /// Their height; 0 (absent) in older builds' timings, whose windows were square.
    #[serde(default)]
    pub side_height: usize,
    pub basins: usize,
    /// The process's peak resident memory (VmHWM; 0 where the system does not say).
    pub peak_rss_mib: f64,
    /// The whole run's seconds; 0 (absent) in older builds' timings, whose stages add up
    /// to it.
    #[serde(default)]
    pub total_secs: f64,
}

impl Timings {
    pub fn total(&self) -> f64 {
        if self.total_secs > 0.0 {
            return self.total_secs;
        }
        self.read_secs
            + self.encode_secs
            + self.network_secs
            + self.rescore_secs
            + self.stitch_secs
            + self.write_secs
            + self.extras_secs
    }
}

/// How tiles' boxes become scene boxes.
pub fn stitch_params(args: &Args) -> StitchParams {
    defaults::stitch_params(args.iou)
}

/// A scene run through the model, before stitching.
#[derive(Clone)]
pub struct SceneTiles {
    pub plan: TilePlan,
    pub tiles: Vec<TileDetections>,
    pub geo: Option<GeoInfo>,
    /// Seconds from opening the scene to the last tile's boxes.
    pub secs: f64,
    /// Encoding tiles (and Goldstein filtering), on the reading thread beside the network,
    /// so not a share of `secs`.
    pub encode_secs: f64,
    /// Of `secs`, in the network and in the second look at its boxes.
    pub network_secs: f64,
    pub rescore_secs: f64,
    /// Each tile's boxes' features, in the order of `tiles`, when the model keeps them.
    pub features: Vec<Vec<Features>>,
}

/// Streams `scene` through the model tile by tile (the options of `args`: kind, coherence,
/// overlap, batch, Goldstein, width), with a progress bar when `progress`.
pub fn detect_tiles_of(
    scene: &Path,
    args: &Args,
    model: &LoadedModel,
    progress: bool,
) -> Result<SceneTiles> {
    Ok(detect_tiles_with_overview(scene, args, model, progress, 0)?.0)
}

/// [`detect_tiles_of`] that also builds the quicklook's overview (longest side
/// `overview_side`) from the rows the scan reads anyway, when it reads the scene as phase;
/// `None` when it does not (a picture model) or `overview_side` is 0.
fn detect_tiles_with_overview(
    scene: &Path,
    args: &Args,
    model: &LoadedModel,
    progress: bool,
    overview_side: usize,
) -> Result<(SceneTiles, Option<Overview>)> {
    let mut source = open_scene(scene, args, model.header.config.input, progress)?;
    let data_kind = source.input_kind();
    let geo = source.geo().copied();
    let what = scene.display().to_string();
    let builder = OverviewBuilder::new(source.width(), source.height(), overview_side);
    match builder {
        Ok(builder) if data_kind == InputKind::Phase => {
            let mut tap = OverviewTap::new(&mut source, builder);
            let run = detect_source(&mut tap, data_kind, geo, &what, args, model, progress)?;
            Ok((run, tap.into_overview()))
        }
        _ => {
            let run = detect_source(&mut source, data_kind, geo, &what, args, model, progress)?;
            Ok((run, None))
        }
    }
}

/// Runs any scene held as rows through the model tile by tile: a file opened as a
/// [`SceneSource`] (`detect_tiles_of`) or an array in memory (the Python package), so both
/// share the tiling, batching, encoding and network runs. `source` gives what a
/// `SceneSource` gives (masked wrapped phase, then coherence; or a picture's colours, as
/// `data_kind` says), `geo` is where it lies, `what` names it in messages; the options of
/// `args` used here are overlap, window, batch and Goldstein.
pub fn detect_source<S: RowSource + Send>(
    source: &mut S,
    data_kind: InputKind,
    geo: Option<GeoInfo>,
    what: &str,
    args: &Args,
    model: &LoadedModel,
    progress: bool,
) -> Result<SceneTiles> {
    let predictor = &model.predictor;
    let tile = model.header.config.tile;
    let weights = &model.path;
    predictor
        .check_input(data_kind)
        .with_context(|| format!("model {} on scene {what}", weights.display()))?;

    let plan = plan_for(source.width(), source.height(), tile, args)?;
    let (tw, th) = (plan.tile_width, plan.tile_height);
    let batch = (args.batch.saturating_mul(tile.pow(2)) / (tw * th)).max(1);
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
    let (mut encode_secs, mut network_secs, mut rescore_secs) = (0.0, 0.0, 0.0);
    let mut features = Vec::new();
    let second_look = data_kind == InputKind::Phase;
    // Runs on the reading thread, beside the network.
    let encoder = |tiles: &[TileData]| -> Result<(Vec<f32>, f64), BoxError> {
        let t0 = Instant::now();
        let mut x = Vec::with_capacity(tiles.len() * 3 * tw * th);
        for t in tiles {
            x.extend(encode_tile(t, data_kind, goldstein)?);
        }
        Ok((x, t0.elapsed().as_secs_f64()))
    };
    let detector = |tiles: &[TileData], (x, secs): (Vec<f32>, f64)| {
        let t1 = Instant::now();
        let mut dets = predictor.predict(&x, tiles.len(), th, tw)?;
        let t2 = Instant::now();
        if second_look && (model.rescorer.is_some() || model.keep_features) {
            for (planes, d) in x.chunks_exact(3 * tw * th).zip(dets.iter_mut()) {
                let f = window_features(&phasors(planes, tw, th), d);
                if let Some(r) = &model.rescorer {
                    rescore(r, d, &f);
                }
                if model.keep_features {
                    features.push(f);
                }
            }
        }
        encode_secs += secs;
        network_secs += (t2 - t1).as_secs_f64();
        rescore_secs += t2.elapsed().as_secs_f64();
        // Tiles come in plan order, those without data skipped: the bar stands after the
        // last one run, so skipped tiles count as passed.
        if let Some(last) = tiles.last() {
            bar.set_position((last.tile.row * plan.cols() + last.tile.col + 1) as u64);
        }
        Ok::<_, BoxError>(dets)
    };
    let tiles = detect_tiles_prepared(source, &plan, batch, encoder, detector)
        .with_context(|| format!("detecting basins in {what}"))?;
    bar.finish_and_clear();
    Ok(SceneTiles {
        plan,
        tiles,
        geo,
        secs: started.elapsed().as_secs_f64(),
        encode_secs,
        network_secs,
        rescore_secs,
        features,
    })
}

/// The unit phasors of one encoded phase window `[cos, sin, coherence]` of `width` ×
/// `height`.
fn phasors(planes: &[f32], width: usize, height: usize) -> Phasors<'_> {
    let n = width * height;
    Phasors {
        cos: &planes[..n],
        sin: &planes[n..2 * n],
        width,
        height,
    }
}

/// The tiles of a `width` × `height` scene for a model of input `tile`: its own tiles, or
/// windows up to `args.window` (a multiple of the coarsest stride, at least the tile).
fn plan_for(width: usize, height: usize, tile: usize, args: &Args) -> Result<TilePlan> {
    if args.window == 0 {
        return TilePlan::new(width, height, tile, args.overlap).context("planning tiles");
    }
    let stride = model::config::MAX_STRIDE;
    if args.window < tile || !args.window.is_multiple_of(stride) {
        bail!(
            "--window {} must be 0 or a multiple of {stride} no smaller than the model's tile {tile}",
            args.window
        );
    }
    TilePlan::windows(width, height, [tile, args.window], args.overlap, stride)
        .context("planning windows")
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

/// The GeoJSON's coordinates `args` ask for.
pub fn geojson_coords(args: &Args) -> GeoJsonCoords {
    if args.geojson_native {
        GeoJsonCoords::Native
    } else {
        GeoJsonCoords::Wgs84
    }
}

/// Writes a scene's basins as `detect` does by default (RFC 7946 GeoJSON); the paths written.
pub fn write_outputs(
    dir: &Path,
    scene: &Path,
    basins: &[Basin],
    geo: Option<&GeoInfo>,
) -> Result<Vec<PathBuf>> {
    write_outputs_as(dir, scene, basins, geo, GeoJsonCoords::Wgs84)
}

/// Writes `<stem>.basins.gpkg`, `.geojson` (in `coords`), `.csv` and `.coco.json` into
/// `dir`, each whole or not at all, warning on stderr where the scene's CRS leaves the
/// outputs without a known CRS or metres; the paths written.
pub fn write_outputs_as(
    dir: &Path,
    scene: &Path,
    basins: &[Basin],
    geo: Option<&GeoInfo>,
    coords: GeoJsonCoords,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating output folder {}", dir.display()))?;
    let stem = scene
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scene".into());
    let frame = Frame::new(geo);
    if let Some(w) = frame.crs().warning() {
        eprintln!("warning: {}: {w}", scene.display());
    }
    let gpkg = dir.join(format!("{stem}.basins.gpkg"));
    write_gpkg(&gpkg, basins, &frame, &stem)
        .with_context(|| format!("writing {}", gpkg.display()))?;
    let gj = dir.join(format!("{stem}.basins.geojson"));
    write_geojson(&gj, basins, &frame, coords)
        .with_context(|| format!("writing {}", gj.display()))?;
    let csv = dir.join(format!("{stem}.basins.csv"));
    write_csv(&csv, basins, &frame).with_context(|| format!("writing {}", csv.display()))?;
    let coco = dir.join(format!("{stem}.basins.coco.json"));
    let results = coco_results(basins, 1, 1);
    super::atomic_write(&coco, serde_json::to_string_pretty(&results)?.as_bytes())?;
    Ok(vec![gpkg, gj, csv, coco])
}

/// Errors of the tile callback: the input crate's or the model's.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens `scene` as `args` say for a model trained on `model_input`, telling the user how a
/// picture was read.
pub fn open_scene(
    scene: &Path,
    args: &Args,
    model_input: InputKind,
    progress: bool,
) -> Result<SceneSource> {
    let source = SceneSource::open(scene, &args.input_spec(), model_input)
        .with_context(|| format!("opening scene {}", scene.display()))?;
    if let (Some(inv), true) = (source.inversion(), progress) {
        eprintln!("{}", inv.summary());
    }
    Ok(source)
}

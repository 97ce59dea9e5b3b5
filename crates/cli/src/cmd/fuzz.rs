//! `yolo-basin fuzz`: feeds damaged files to the real readers (GeoTIFF, GAMMA raw + `.par`,
//! ISCE/ENVI/SNAP raw rasters with their headers, PNG/JPEG, scene input, VOC/YOLO/COCO
//! labels, weights, checkpoints) and reports every input that makes one panic, abort, or
//! hang. Mutation engine and driver: the `fuzz` crate.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use detect_core::BBox;
use detect_core::labels::{
    CocoDataset, CocoResult, ImageLabels, LabeledBox, VocMeta, format_voc_xml, format_yolo_txt,
};
use detect_core::tiling::{RowSource, TilePlan, TileStream};
use fuzz::{Event, Input, Options, Outcome, Report, Seed};
use model::{InputKind, ModelConfig, Scale, Variant};
use raster::{
    Compression, GeoInfo, GeoTransform, Layout, Pixels, Raster, ReadOptions, WriteOptions,
};

/// Fuzz the file readers: every damaged input must end in a clean error, never a panic,
/// an abort or a hang, and memory must stay bounded.
///
/// Each target has a corpus of valid files: the real GAMMA/PyRate fixtures
/// (`../shared/fixtures/real`), files our own writers make (GeoTIFF of every sample type,
/// layout, compression and BigTIFF; GAMMA raw + `.par`; PNG/JPEG; labels; a Light-N
/// tile-64 weights file and training checkpoint). The corpus files run first, unchanged,
/// and must be accepted; then each input is a corpus file with 1–6 stacked mutations (bit
/// flips, boundary bytes, huge integers in 2/4/8-byte fields and TIFF IFD entries,
/// truncation, duplicated or deleted ranges, splices of two files; in text: numbers turned
/// huge/negative/NaN/inf, deep nesting, lines deleted or repeated thousands of times).
/// Input `i` depends only on `--seed` and `i`, so a failure is replayed with
/// `--seed S --start i --iterations 1`.
///
/// By default each target runs in a child process limited to `--memory-limit-mib` of
/// address space, so an abort (stack overflow, failed allocation under the cap) or a hang
/// (`--hang-seconds`) is caught and reported with its input, and the run continues after it.
///
/// Exits non-zero when any input failed; `--save DIR` keeps each failing input (its files,
/// plus `failure.txt`: message, location, mutations, the replay command).
#[derive(clap::Args)]
#[command(after_long_help = "\
Examples:
  yolo-basin fuzz --list                      # the targets
  yolo-basin fuzz --iterations 500            # every target, 500 inputs each
  yolo-basin fuzz --target geotiff,gamma --iterations 100000 --seed 7 --save findings/
  yolo-basin fuzz --target coco --seed 7 --start 4711 --iterations 1 --save f/")]
pub struct Args {
    /// Targets, comma-separated, or `all` (see `--list`).
    #[arg(long, default_value = "all")]
    target: String,
    /// Run each target this many seconds.
    #[arg(long, conflicts_with = "iterations")]
    seconds: Option<f64>,
    /// Run each target on this many inputs (default 1000 when `--seconds` is not given).
    #[arg(long)]
    iterations: Option<u64>,
    /// Seed of the mutations (input i is a function of seed and i alone).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// First input to run (0: the unmodified corpus first); with `--iterations 1`, replays
    /// one input.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Keep every failing input here, one folder per failure.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Run in this process instead of a child: faster to start, but an abort or stack
    /// overflow ends the whole run and a hang is not detected.
    #[arg(long)]
    in_process: bool,
    /// Address-space limit of the fuzzing process (RLIMIT_AS) in MiB, so that an attempted
    /// huge allocation fails (and is reported) instead of filling the machine; 0: none.
    #[arg(long, default_value_t = 4096)]
    memory_limit_mib: u64,
    /// An input still running after this many seconds counts as a hang (child mode).
    #[arg(long, default_value_t = 120)]
    hang_seconds: u64,
    /// The real fixtures (default: ../shared/fixtures/real beside the source tree, when it
    /// exists; without them the corpus holds our own files only).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Also write each target's corpus into this folder.
    #[arg(long)]
    keep_corpus: Option<PathBuf>,
    /// Also print the N most frequent kinds of refusal per target (digits masked): what
    /// the readers say to damaged files, and how deep the mutations reach.
    #[arg(long, default_value_t = 0)]
    errors: usize,
    /// List the targets and their corpora, then stop.
    #[arg(long)]
    list: bool,
    /// Internal: run as the child of a fuzz run, on the corpus in this folder.
    #[arg(long, hide = true)]
    child: Option<PathBuf>,
}

/// One reader under test.
struct Target {
    name: &'static str,
    about: &'static str,
    corpus: fn(&CorpusCtx) -> anyhow::Result<Vec<Seed>>,
    run: fn(&RunCtx, &Input) -> Result<(), String>,
    /// Part of `all` (the harness self-check is run only by name).
    in_all: bool,
}

const TARGETS: &[Target] = &[
    Target {
        name: "geotiff",
        about: "raster::read_any, open_any + read_rows (head, middle, last, past the end), \
                describe; fixtures' .tif + ours (f32/c32/u8, strips/tiles, none/LZW/Deflate/\
                PackBits, predictors, BigTIFF) + GDAL's ZSTD/LZMA ones",
        corpus: geotiff_corpus,
        run: run_raster,
        in_all: true,
    },
    Target {
        name: "gamma",
        about: "GAMMA raw rasters with the .par beside them (both mutated): read_any, open_any + \
                read_rows, describe; fixtures' .unw/.par + ours (fcomplex, UTM, bytes, \
                little-endian)",
        corpus: gamma_corpus,
        run: run_raster,
        in_all: true,
    },
    Target {
        name: "par",
        about: "GAMMA parameter files alone: parse_par, width, lines, dem_par_geo",
        corpus: par_corpus,
        run: run_par,
        in_all: true,
    },
    Target {
        name: "isce",
        about: "ISCE2 images with their .xml and .vrt (all mutated): read_any, open_any + \
                read_rows, describe, open_band, also through the .vrt alone; the raster \
                crate's ISCE fixtures (.flat CFLOAT, .unw two-band BIL, geocoded .unw.geo)",
        corpus: isce_corpus,
        run: run_headered,
        in_all: true,
    },
    Target {
        name: "envi",
        about: "ENVI rasters with their .hdr (both mutated): read_any, open_any + read_rows, \
                describe, open_band; the raster crate's ENVI fixtures (BIP big-endian UTM with \
                band names, ISCE's DEM header, complex BSQ)",
        corpus: envi_corpus,
        run: run_headered,
        in_all: true,
    },
    Target {
        name: "dimap",
        about: "SNAP BEAM-DIMAP: the .dim and every band's .hdr/.img in its .data folder (all \
                mutated): open_any + read_rows, describe, open_band (phase band, i/q pair, by \
                number and name); the raster crate's two SNAP fixtures",
        corpus: dimap_corpus,
        run: run_dimap,
        in_all: true,
    },
    Target {
        name: "picture",
        about: "PNG/JPEG: raster::read_picture_rgba, read_any, detect-core image_size",
        corpus: picture_corpus,
        run: run_picture,
        in_all: true,
    },
    Target {
        name: "scene",
        about: "the input crate over GeoTIFF/GAMMA/pictures: SceneSource (detect's row source) \
                through the tile stream and encode_tile, load_image (phase and RGB models)",
        corpus: scene_corpus,
        run: run_scene,
        in_all: true,
    },
    Target {
        name: "voc",
        about: "VOC XML labels: detect-core read_voc_xml (known classes only, and new allowed)",
        corpus: voc_corpus,
        run: run_voc,
        in_all: true,
    },
    Target {
        name: "yolo",
        about: "YOLO txt labels: detect-core read_yolo_txt",
        corpus: yolo_corpus,
        run: run_yolo,
        in_all: true,
    },
    Target {
        name: "coco",
        about: "COCO JSON: read_coco_dataset (+ to_labels, evaluate), read_coco_results (+ \
                evaluate against a ground truth)",
        corpus: coco_corpus,
        run: run_coco,
        in_all: true,
    },
    Target {
        name: "scene-eval",
        about: "`eval scenes` inputs: scene truth (synth's GeoJSON or COCO) and detections \
                (detect's GeoJSON or COCO results), both mutated: truth_from_json, \
                detections_from_json, evaluate_scenes, scenes_table",
        corpus: scene_eval_corpus,
        run: run_scene_eval,
        in_all: true,
    },
    Target {
        name: "weights",
        about: "weights files: model::weights::read_header and load_weights on a saved \
                Light-N tile-64 model (whole file, and header JSON mutated apart)",
        corpus: weights_corpus,
        run: run_weights,
        in_all: true,
    },
    Target {
        name: "checkpoint",
        about: "training checkpoints: train::checkpoint::load_checkpoint on a saved Light-N \
                checkpoint (whole file, and metadata JSON mutated apart)",
        corpus: checkpoint_corpus,
        run: run_checkpoint,
        in_all: true,
    },
    Target {
        name: "selftest",
        about: "the harness itself (not in `all`): input 10 of every 50 panics, 20 aborts, 30 \
                allocates 1 TiB, 40 hangs; each must be reported and the run go on",
        corpus: selftest_corpus,
        run: run_selftest,
        in_all: false,
    },
];

/// Where corpus builders find fixtures and write scratch files.
struct CorpusCtx {
    fixtures: Option<PathBuf>,
    scratch: PathBuf,
}

/// What a target run needs besides the input.
struct RunCtx {
    /// Emptied before each input; the input's files are written here.
    dir: PathBuf,
    dir_text: String,
    device: model::Device,
    /// Ground truth the COCO results are checked and evaluated against.
    gt: CocoDataset,
}

impl RunCtx {
    fn new(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir_text: dir.display().to_string(),
            dir,
            device: model::Device::flex(),
            gt: CocoDataset::from_labels(&sample_labels(), &["basin".to_string()]),
        })
    }

    /// Empties the work folder and writes the input's files into it.
    fn write(&self, input: &Input) -> Result<Vec<PathBuf>, String> {
        for e in std::fs::read_dir(&self.dir).map_err(|e| format!("harness: {e}"))? {
            let p = e.map_err(|e| format!("harness: {e}"))?.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
        input
            .write_to(&self.dir)
            .map_err(|e| format!("harness: writing the input: {e}"))
    }

    /// An error as text, the work folder's path taken out (so kinds of errors group).
    fn err(&self, e: impl std::fmt::Display) -> String {
        e.to_string().replace(&self.dir_text, "")
    }
}

/// Collects the outcome of several calls on one input: Ok only if all were.
#[derive(Default)]
struct Calls(Option<String>);

impl Calls {
    fn note<T, E: std::fmt::Display>(&mut self, ctx: &RunCtx, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.get_or_insert_with(|| ctx.err(e));
                None
            }
        }
    }

    fn done(self) -> Result<(), String> {
        self.0.map_or(Ok(()), Err)
    }
}

/// A call whose error is expected even on a valid file (rows past the end…): only a panic
/// in it counts.
fn probe<T, E>(r: Result<T, E>) -> Option<T> {
    r.ok()
}

/// A reader's raster must hold as many samples as its size says.
fn check_raster(r: &Raster, what: &str) {
    let want = r.width as u128 * r.height as u128 * r.bands as u128;
    assert_eq!(
        r.pixels.len() as u128,
        want,
        "{what}: {} samples for {}×{}×{}",
        r.pixels.len(),
        r.width,
        r.height,
        r.bands
    );
}

// ---------------------------------------------------------------- raster targets

fn run_raster(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let mut calls = Calls::default();
    exercise_raster(ctx, &paths[0], &mut calls);
    calls.done()
}

/// Every reader call on the raster at `path`: whole, by rows (head, middle, last, past the
/// end), described, and one band of it (`open_band`: by convention, band 1, a name).
fn exercise_raster(ctx: &RunCtx, path: &Path, calls: &mut Calls) {
    if let Some(r) = calls.note(ctx, raster::read_any(path)) {
        check_raster(&r, "read_any");
    }
    if let Some(mut rd) = calls.note(ctx, raster::open_any(path, &ReadOptions::default())) {
        let (w, h) = (rd.width(), rd.height());
        for (y0, n) in [(0, h.min(16)), (h / 2, 1), (h.saturating_sub(1), 1)] {
            if let Some(r) = calls.note(ctx, rd.read_rows(y0, n)) {
                check_raster(&r, "read_rows");
                assert_eq!((r.width, r.height), (w, n), "read_rows({y0}, {n}) size");
            }
        }
        // Past the end and empty: refused or clamped, never a panic.
        for (y0, n) in [(h.saturating_sub(1), 3), (h, 1), (0, 0), (usize::MAX, 2)] {
            if let Some(r) = probe(rd.read_rows(y0, n)) {
                check_raster(&r, "read_rows past the end");
            }
        }
    }
    calls.note(ctx, raster::describe(path, &ReadOptions::default()));
    // One band: refusals (several bands, no convention) are expected, panics are not.
    let choices = [
        None,
        Some(raster::BandChoice::Number(1)),
        Some(raster::BandChoice::Name("phase".into())),
    ];
    for choice in &choices {
        if let Some(mut rd) = probe(raster::open_band(
            path,
            &ReadOptions::default(),
            choice.as_ref(),
        )) && let Some(r) = probe(rd.read_rows(0, rd.height().min(4)))
        {
            check_raster(&r, "open_band read_rows");
            assert_eq!(r.bands, rd.bands(), "open_band bands");
        }
    }
}

/// A raster with its header(s) beside it: the data file first; every other part that is a
/// header of its own (`.vrt`, `.hdr`, an ISCE `.xml`) is opened too.
fn run_headered(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let mut calls = Calls::default();
    exercise_raster(ctx, &paths[0], &mut calls);
    for p in paths.iter().skip(1) {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "vrt" | "hdr" | "xml") {
            exercise_raster(ctx, p, &mut calls);
        }
    }
    calls.done()
}

/// A SNAP product: parts named `<p>.data%<file>` go into the `<p>.data/` folder (corpus
/// parts are flat files); the `.dim` is the first part.
fn run_dimap(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    for p in &paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some((folder, file)) = name.split_once('%') {
            let dir = ctx.dir.join(folder);
            std::fs::create_dir_all(&dir).map_err(|e| format!("harness: {e}"))?;
            std::fs::rename(p, dir.join(file)).map_err(|e| format!("harness: {e}"))?;
        }
    }
    let mut calls = Calls::default();
    exercise_raster(ctx, &paths[0], &mut calls);
    calls.done()
}

fn run_par(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let mut calls = Calls::default();
    if let Some(par) = calls.note(ctx, raster::gamma::parse_par(&paths[0])) {
        calls.note(ctx, par.width());
        calls.note(ctx, par.lines());
        calls.note(
            ctx,
            par.get_f64(&["radar_frequency", "post_lat", "corner_lon"]),
        );
        calls.note(ctx, raster::gamma::dem_par_geo(&par));
    }
    calls.done()
}

fn run_picture(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let path = &paths[0];
    let mut calls = Calls::default();
    if let Some((w, h, c, samples)) = calls.note(ctx, raster::read_picture_rgba(path)) {
        assert_eq!(samples.len(), w * h * c, "read_picture_rgba: {w}×{h}×{c}");
    }
    if let Some(r) = calls.note(ctx, raster::read_any(path)) {
        check_raster(&r, "read_any");
    }
    calls.note(ctx, detect_core::labels::image_size(path));
    calls.done()
}

fn run_scene(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let path = &paths[0];
    let spec = input::InputSpec::default();
    let mut calls = Calls::default();
    if let Some(mut src) = calls.note(ctx, input::SceneSource::open(path, &spec, InputKind::Phase))
        && let Some(plan) = calls.note(ctx, TilePlan::for_scene(src.width(), src.height()))
        && let Some(stream) = calls.note(ctx, TileStream::new(&mut src, &plan))
    {
        for tile in stream.take(8) {
            if let Some(t) = calls.note(ctx, tile) {
                calls.note(ctx, input::encode_tile(&t, InputKind::Phase, 0.0));
            }
        }
    }
    calls.note(ctx, input::load_image(path, None, &spec, InputKind::Phase));
    // A picture also feeds an RGB model; phase data is refused by one (by design).
    let picture = [".png", ".jpg"]
        .iter()
        .any(|e| input.parts[0].name.ends_with(e));
    let rgb = input::load_image(path, None, &spec, InputKind::Rgb);
    if picture {
        calls.note(ctx, rgb);
    }
    calls.done()
}

// ---------------------------------------------------------------- label targets

fn run_voc(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let mut calls = Calls::default();
    let mut classes = vec!["basin".to_string()];
    calls.note(
        ctx,
        detect_core::labels::read_voc_xml(&paths[0], &mut classes, false),
    );
    calls.note(
        ctx,
        detect_core::labels::read_voc_xml(&paths[0], &mut classes, true),
    );
    calls.done()
}

fn run_yolo(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let mut calls = Calls::default();
    for (w, h) in [(416, 416), (1, 1), (u32::MAX, u32::MAX)] {
        calls.note(ctx, detect_core::labels::read_yolo_txt(&paths[0], w, h));
    }
    calls.done()
}

fn run_coco(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let path = &paths[0];
    let opts = detect_core::eval::EvalOptions::default();
    // Either kind of COCO file may come: Ok when one reader accepts it (and evaluating it
    // works), each reader refusing the other kind cleanly.
    let mut calls = Calls::default();
    let mut accepted = false;
    if let Some(ds) = probe(detect_core::labels::read_coco_dataset(path)) {
        accepted = true;
        let _ = ds.to_labels();
        let dets: Vec<CocoResult> = ds
            .annotations
            .iter()
            .map(|a| CocoResult {
                image_id: a.image_id,
                category_id: a.category_id,
                bbox: a.bbox,
                score: 0.9,
            })
            .collect();
        calls.note(ctx, detect_core::eval::evaluate(&ds, &dets, &opts));
    }
    if let Some(res) = probe(detect_core::labels::read_coco_results(path, Some(&ctx.gt))) {
        accepted = true;
        calls.note(ctx, detect_core::eval::evaluate(&ctx.gt, &res, &opts));
    }
    let loose = detect_core::labels::read_coco_results(path, None);
    if !accepted {
        // The error of the reader the file looks meant for.
        let results_like = input.parts[0]
            .bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            == Some(&b'[');
        if results_like {
            calls.note(ctx, loose);
        } else {
            calls.note(ctx, detect_core::labels::read_coco_dataset(path));
        }
    }
    calls.done()
}

fn run_scene_eval(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    use detect_core::eval::scene;
    let (Some(truth), Some(dets)) = (input.part("truth.json"), input.part("dets.json")) else {
        return Err("harness: a scene-eval input needs truth.json and dets.json".into());
    };
    let json = |b: &[u8], what: &str| {
        serde_json::from_slice::<serde_json::Value>(b).map_err(|e| format!("{what}: {e}"))
    };
    let truth = scene::truth_from_json("scene", &json(truth, "truth")?)?;
    let dets = scene::detections_from_json(&json(dets, "detections")?)?;
    let report = scene::evaluate_scenes(&[(truth, dets)], 0.25).map_err(|e| ctx.err(e))?;
    let _ = scene::scenes_table(&report);
    Ok(())
}

// ---------------------------------------------------------------- model targets

/// The safetensors file: the whole file as one part, or `header.json` + `tensors` (the
/// 8-byte length prefix then written to fit the header).
fn assemble_weights(ctx: &RunCtx, input: &Input, paths: &[PathBuf]) -> Result<PathBuf, String> {
    match (input.part("header.json"), input.part("tensors")) {
        (Some(h), Some(t)) => {
            let path = ctx.dir.join("model.safetensors");
            let bytes = [&(h.len() as u64).to_le_bytes()[..], h, t].concat();
            std::fs::write(&path, bytes).map_err(|e| format!("harness: {e}"))?;
            Ok(path)
        }
        _ => Ok(paths[0].clone()),
    }
}

fn run_weights(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let path = assemble_weights(ctx, input, &paths)?;
    let mut calls = Calls::default();
    // load_weights reads the same header first: only a readable one is worth a load.
    if calls
        .note(ctx, model::weights::read_header(&path))
        .is_some()
    {
        calls.note(ctx, model::load_weights(&path, &ctx.device));
    }
    calls.done()
}

const CKPT_MAGIC: &[u8; 8] = b"YBCKPT01";

fn run_checkpoint(ctx: &RunCtx, input: &Input) -> Result<(), String> {
    let paths = ctx.write(input)?;
    let path = match (input.part("meta.json"), input.part("records")) {
        (Some(m), Some(r)) => {
            let path = ctx.dir.join("last.ckpt");
            let bytes = [&CKPT_MAGIC[..], &(m.len() as u64).to_le_bytes(), m, r].concat();
            std::fs::write(&path, bytes).map_err(|e| format!("harness: {e}"))?;
            path
        }
        _ => paths[0].clone(),
    };
    train::checkpoint::load_checkpoint(&path)
        .map(|_| ())
        .map_err(|e| ctx.err(e))
}

fn run_selftest(_: &RunCtx, input: &Input) -> Result<(), String> {
    match input.iteration % 50 {
        10 => panic!("selftest: a panic"),
        20 => std::process::abort(),
        30 => {
            let v = vec![0u8; 1 << 40];
            Err(format!(
                "selftest: {} bytes allocated",
                std::hint::black_box(v).len()
            ))
        }
        40 => {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        }
        k if k % 2 == 1 => Err("selftest: refused".into()),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- corpora

fn selftest_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    Ok(vec![Seed::new("selftest").text("input.txt", "value: 5\n")])
}

/// The real fixtures folder, if present.
fn default_fixtures() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/real"
    ));
    p.canonicalize().ok().filter(|p| p.is_dir())
}

fn fixture(ctx: &CorpusCtx, name: &str) -> Option<Vec<u8>> {
    let dir = ctx.fixtures.as_ref()?;
    std::fs::read(dir.join("pyrate").join(name)).ok()
}

/// Smooth values with a few NaN and no-data (0) pixels.
fn f32_data(w: usize, h: usize) -> Vec<f32> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            match i % 97 {
                5 => f32::NAN,
                11 => 0.0,
                _ => (x * 0.37 + y * 0.11).sin() * 3.0,
            }
        })
        .collect()
}

fn geo(epsg: u32) -> GeoInfo {
    let t = if epsg == 4326 {
        GeoTransform::north_up(150.387, -33.383, 6.9e-5, -6.9e-5)
    } else {
        GeoTransform::north_up(500_000.0, 5_600_000.0, 40.0, -40.0)
    };
    GeoInfo::new(t, Some(epsg))
}

fn read_back(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// name, pixels, bands, georeferencing, no-data, how to write it.
type TiffVariant = (
    &'static str,
    Pixels,
    usize,
    Option<GeoInfo>,
    Option<f64>,
    WriteOptions,
);

fn geotiff_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for name in [
        "cropA_20180106-20180130_VV_8rlks_eqa_unw.tif",
        "cropA_20180106-20180130_VV_8rlks_flat_eqa_cc.tif",
        "16x20_20090713-20090817_VV_4rlks_utm.tif",
    ] {
        if let Some(b) = fixture(ctx, name) {
            seeds.push(Seed::new(format!("fixture:{name}")).binary("input.tif", b));
        }
    }
    let (w, h) = (37, 29);
    let f = f32_data(w, h);
    let c: Vec<raster::Complex32> = f
        .iter()
        .map(|v| raster::Complex32::from_polar(1.0, *v))
        .collect();
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    let gray: Vec<u8> = (0..w * h).map(|i| (i * 3 % 256) as u8).collect();
    let tiles = Layout::Tiles {
        width: 16,
        height: 16,
    };
    let opts = |compression, layout, bigtiff, predictor| WriteOptions {
        compression,
        layout,
        bigtiff,
        predictor,
    };
    let variants: Vec<TiffVariant> = vec![
        (
            "f32-strips-deflate-utm-nodata",
            Pixels::F32(f.clone()),
            1,
            Some(geo(32632)),
            Some(0.0),
            opts(
                Compression::Deflate,
                Layout::Strips { rows: 8 },
                false,
                false,
            ),
        ),
        (
            "f32-tiles-lzw-predictor",
            Pixels::F32(f.clone()),
            1,
            Some(geo(4326)),
            None,
            opts(Compression::Lzw, tiles, false, true),
        ),
        (
            "f32-strips-packbits-bigtiff",
            Pixels::F32(f.clone()),
            1,
            None,
            Some(-9999.0),
            opts(
                Compression::PackBits,
                Layout::Strips { rows: 5 },
                true,
                false,
            ),
        ),
        (
            "f32-auto-none",
            Pixels::F32(f.clone()),
            1,
            Some(GeoInfo {
                pixel_is_point: true,
                ..geo(4326)
            }),
            None,
            opts(Compression::None, Layout::Auto, false, false),
        ),
        (
            "c32-tiles-deflate",
            Pixels::C32(c.clone()),
            1,
            Some(geo(32632)),
            None,
            opts(Compression::Deflate, tiles, false, false),
        ),
        (
            "c32-tiles-packbits-bigtiff",
            Pixels::C32(c),
            1,
            None,
            None,
            opts(Compression::PackBits, tiles, true, false),
        ),
        (
            "u8-rgb-tiles-deflate-predictor",
            Pixels::U8(rgb.clone()),
            3,
            Some(geo(4326)),
            None,
            opts(Compression::Deflate, tiles, false, true),
        ),
        (
            "u8-gray-strips-packbits",
            Pixels::U8(gray),
            1,
            None,
            Some(0.0),
            opts(
                Compression::PackBits,
                Layout::Strips { rows: 3 },
                false,
                false,
            ),
        ),
        (
            "u8-rgb-strips-lzw-bigtiff",
            Pixels::U8(rgb),
            3,
            None,
            None,
            opts(Compression::Lzw, Layout::Strips { rows: 4 }, true, false),
        ),
        (
            "f32-tiles-lzw-bigtiff",
            Pixels::F32(f),
            1,
            Some(geo(32632)),
            Some(0.0),
            opts(Compression::Lzw, tiles, true, false),
        ),
    ];
    // Compressions only GDAL writes here: ZSTD and LZMA (strips, tiles, predictors).
    for name in [
        "f32_zstd_pred3_tiled.tif",
        "f32_lzma_strips.tif",
        "i16_zstd_pred2_strips.tif",
        "c32_lzma_tiled.tif",
        "f32x3_described_zstd.tif",
    ] {
        let bytes = raster_test_data(&format!("gdal/{name}"))?;
        seeds.push(Seed::new(format!("gdal:{name}")).binary("input.tif", bytes));
    }
    for (name, pixels, bands, geo, nodata, wo) in variants {
        let path = ctx.scratch.join(format!("{name}.tif"));
        let r = Raster {
            width: w,
            height: h,
            bands,
            pixels,
            geo,
            nodata,
        };
        raster::write_geotiff(&path, &r, &wo).with_context(|| format!("writing {name}"))?;
        seeds.push(Seed::new(format!("ours:{name}")).binary("input.tif", read_back(&path)?));
    }
    Ok(seeds)
}

fn be_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

fn gamma_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    if let (Some(raw), Some(par)) = (
        fixture(ctx, "16x20_20090713-20090817_VV_4rlks_utm.unw"),
        fixture(ctx, "dem16x20raw.dem.par"),
    ) {
        seeds.push(
            Seed::new("fixture:16x20 .unw + dem16x20raw.dem.par")
                .binary("a.unw", raw)
                .text("a.unw.par", par),
        );
    }
    if let (Some(raw), Some(par)) = (
        fixture(ctx, "20060619-20061002_utm.unw"),
        fixture(ctx, "20060619_utm_dem.par"),
    ) {
        // The original names: the date-pair rule finds the DEM parameters.
        seeds.push(
            Seed::new("fixture:20060619-20061002_utm.unw + 20060619_utm_dem.par")
                .binary("20060619-20061002_utm.unw", raw)
                .text("20060619_utm_dem.par", par),
        );
    }
    if let Some(par) = fixture(ctx, "20060619_slc.par") {
        // The real SLC layout, its size cut to a 10 × 6 interferogram.
        let par = String::from_utf8_lossy(&par)
            .replace("8630", "10")
            .replace("8571", "6");
        let c: Vec<f32> = (0..120).map(|i| ((i as f32) * 0.3).sin()).collect();
        seeds.push(
            Seed::new("fixture:20060619_slc.par (10×6) + ours .diff")
                .binary("s.diff", be_f32(&c))
                .text("s.diff.par", par),
        );
    }
    let (w, h) = (23, 17);
    let f = f32_data(w, h);
    let c: Vec<raster::Complex32> = f
        .iter()
        .map(|v| raster::Complex32::from_polar(1.0, *v))
        .collect();
    let p = ctx.scratch.join("c.diff");
    raster::gamma::write_raw_c32_be(&p, &c)?;
    let par = ctx.scratch.join("c.dem_par");
    raster::gamma::write_dem_par(&par, w, h, &geo(4326))?;
    seeds.push(
        Seed::new("ours:fcomplex EQA")
            .binary("c.diff", read_back(&p)?)
            .text("c.dem_par", read_back(&par)?),
    );
    let p = ctx.scratch.join("d.unw");
    raster::gamma::write_raw_f32_be(&p, &f)?;
    let par = ctx.scratch.join("d_dem.par");
    raster::gamma::write_dem_par(&par, w, h, &geo(32632))?;
    seeds.push(
        Seed::new("ours:float UTM")
            .binary("d.unw", read_back(&p)?)
            .text("d_dem.par", read_back(&par)?),
    );
    let simple_par = format!("width: {w}\nnlines: {h}\n");
    seeds.push(
        Seed::new("ours:LiCSBAS byte coherence .cc")
            .binary("e.cc", (0..w * h).map(|i| (i * 5 % 256) as u8).collect())
            .text("e.cc.par", simple_par.clone()),
    );
    seeds.push(
        Seed::new("ours:little-endian float .unw")
            .binary(
                "f.unw",
                f.iter()
                    .map(|v| if v.is_nan() { 1.5 } else { *v + 10.0 })
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
            )
            .text("f.unw.par", simple_par),
    );
    Ok(seeds)
}

/// A file of the raster crate's test data (GDAL-made GeoTIFFs, raw-format fixtures).
fn raster_test_data(rel: &str) -> anyhow::Result<Vec<u8>> {
    read_back(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../raster/tests/data")
            .join(rel),
    )
}

/// A seed of files from one folder of the raster crate's raw fixtures: `(name, text?)`.
fn raw_seed(folder: &str, files: &[(&str, bool)]) -> anyhow::Result<Seed> {
    let mut seed = Seed::new(format!("fixture:raster {folder}/{}", files[0].0));
    for &(name, text) in files {
        let bytes = raster_test_data(&format!("raw/{folder}/{name}"))?;
        let part = name.replace('/', "%");
        seed = if text {
            seed.text(part, bytes)
        } else {
            seed.binary(part, bytes)
        };
    }
    Ok(seed)
}

fn isce_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for name in [
        "filt_topophase.flat",
        "filt_topophase.unw",
        "filt_topophase.unw.geo",
    ] {
        let (xml, vrt) = (format!("{name}.xml"), format!("{name}.vrt"));
        seeds.push(raw_seed(
            "isce",
            &[(name, false), (xml.as_str(), true), (vrt.as_str(), true)],
        )?);
    }
    // The VRT alone, as GDAL users pass it around.
    seeds.push(raw_seed(
        "isce",
        &[
            ("filt_topophase.unw.conncomp", false),
            ("filt_topophase.unw.conncomp.vrt", true),
        ],
    )?);
    Ok(seeds)
}

fn envi_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let dem = "demLat_N50_N51_Lon_E018_E019.dem.wgs84";
    let dem_hdr = format!("{dem}.hdr");
    Ok(vec![
        raw_seed("envi", &[("disp_utm.img", false), ("disp_utm.hdr", true)])?,
        raw_seed("envi", &[(dem, false), (dem_hdr.as_str(), true)])?,
        raw_seed("envi", &[("ifg.cpx", false), ("ifg.hdr", true)])?,
    ])
}

fn dimap_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let sfx = "VV_01Jan2020_13Jan2020";
    let mut seeds = Vec::new();
    for (product, bands) in [
        ("S1_ifg_TC", ["i_ifg", "q_ifg", "coh_IW1"]),
        ("S1_ifg_deb_flt", ["Intensity_ifg", "Phase_ifg", "coh_IW1"]),
    ] {
        let mut files = vec![(format!("{product}.dim"), true)];
        for b in bands {
            files.push((format!("{product}.data/{b}_{sfx}.hdr"), true));
            files.push((format!("{product}.data/{b}_{sfx}.img"), false));
        }
        let files: Vec<(&str, bool)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        seeds.push(raw_seed("dimap", &files)?);
    }
    Ok(seeds)
}

fn par_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let mut seeds: Vec<Seed> = [
        "20060619-20061002_base.par",
        "20060619_slc.par",
        "20060619_utm_dem.par",
        "dem16x20raw.dem.par",
    ]
    .into_iter()
    .filter_map(|n| Some(Seed::new(format!("fixture:{n}")).text("input.par", fixture(ctx, n)?)))
    .collect();
    for (name, epsg) in [("EQA", 4326), ("UTM", 32632), ("UTM south", 32755)] {
        let p = ctx.scratch.join("x.dem_par");
        raster::gamma::write_dem_par(&p, 23, 17, &geo(epsg))?;
        seeds.push(Seed::new(format!("ours:{name} dem_par")).text("input.par", read_back(&p)?));
    }
    Ok(seeds)
}

fn picture_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let (w, h) = (23, 17);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 13 % 256) as u8).collect();
    let gray: Vec<u8> = (0..w * h).map(|i| (i * 7 % 256) as u8).collect();
    let mut seeds = Vec::new();
    let p = ctx.scratch.join("rgb.png");
    raster::write_png_rgb(&p, w, h, &rgb)?;
    seeds.push(Seed::new("ours:png rgb").binary("input.png", read_back(&p)?));
    let p = ctx.scratch.join("gray.png");
    raster::write_png_gray(&p, w, h, &gray)?;
    seeds.push(Seed::new("ours:png gray").binary("input.png", read_back(&p)?));
    for q in [90, 30] {
        let p = ctx.scratch.join(format!("q{q}.jpg"));
        raster::write_jpeg_rgb(&p, w, h, &rgb, q)?;
        seeds.push(Seed::new(format!("ours:jpeg q{q}")).binary("input.jpg", read_back(&p)?));
    }
    Ok(seeds)
}

fn scene_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    // Scenes: phase rasters and pictures (byte GeoTIFFs and byte coherence are not phase
    // input, and are refused as such).
    let mut seeds = geotiff_corpus(ctx)?;
    seeds.extend(gamma_corpus(ctx)?);
    // Headered formats: ISCE's interferogram and its .unw (phase band by convention), an
    // ENVI one-band raster, SNAP's products are their own target (a folder of files).
    seeds.extend(isce_corpus(ctx)?);
    let dem = "demLat_N50_N51_Lon_E018_E019.dem.wgs84";
    let dem_hdr = format!("{dem}.hdr");
    seeds.push(raw_seed("envi", &[(dem, false), (dem_hdr.as_str(), true)])?);
    // Not phase input, refused as such: bytes, byte coherence, connected components, and
    // rasters of several bands with no band given.
    seeds.retain(|s| {
        !["u8-", "byte coherence", "conncomp", "f32x3"]
            .iter()
            .any(|n| s.name.contains(n))
    });
    seeds.extend(picture_corpus(ctx)?);
    Ok(seeds)
}

fn sample_labels() -> Vec<ImageLabels> {
    let b = |x1, y1, x2, y2| LabeledBox::new(BBox { x1, y1, x2, y2 }, 0);
    vec![
        ImageLabels {
            file_name: "tile_0001.png".into(),
            width: 416,
            height: 416,
            boxes: vec![b(10.0, 20.0, 110.0, 95.0), b(300.0, 0.0, 416.0, 60.0)],
        },
        ImageLabels {
            file_name: "tile_0002.png".into(),
            width: 416,
            height: 416,
            boxes: vec![b(200.5, 150.25, 260.0, 230.0)],
        },
        ImageLabels {
            file_name: "tile_0003.png".into(),
            width: 416,
            height: 416,
            boxes: vec![],
        },
    ]
}

fn voc_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let meta = VocMeta::labelimg("tiles", vec!["basin".to_string()]);
    let mut seeds = Vec::new();
    for (k, l) in sample_labels().iter().enumerate() {
        let text = format_voc_xml(l, &meta, Path::new("x.xml"))?;
        seeds.push(Seed::new(format!("ours:voc {k}")).text("input.xml", text));
    }
    seeds.push(
        Seed::new("hand:LabelImg with path, truncated, difficult, entities").text(
            "input.xml",
            "<?xml version=\"1.0\"?>\n<annotation verified=\"yes\">\n\t<folder>tiles</folder>\n\
         \t<filename>a &amp; b.png</filename>\n\t<path>/data/a &amp; b.png</path>\n\
         \t<source><database>Unknown</database></source>\n\
         \t<size><width>416</width><height>300</height><depth>3</depth></size>\n\
         \t<segmented>0</segmented>\n<!-- a comment -->\n\
         \t<object><name>basin</name><pose>Unspecified</pose><truncated>1</truncated>\
         <difficult>0</difficult><bndbox><xmin>0.5</xmin><ymin>1</ymin><xmax>416</xmax>\
         <ymax>299.75</ymax></bndbox></object>\n</annotation>\n",
        ),
    );
    Ok(seeds)
}

fn yolo_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let mut seeds = Vec::new();
    for (k, l) in sample_labels().iter().enumerate().take(2) {
        let text = format_yolo_txt(l, Path::new("x.txt"))?;
        seeds.push(Seed::new(format!("ours:yolo {k}")).text("input.txt", text));
    }
    seeds.push(Seed::new("hand:blank lines, CRLF, exponents").text(
        "input.txt",
        "\n0 0.5 0.5 0.25 0.125\r\n\n0 1e-1 9.5E-1 0.05 0.05\r\n0 0.999 0.001 0.002 0.002\n",
    ));
    Ok(seeds)
}

fn coco_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let labels = sample_labels();
    let ds = CocoDataset::from_labels(&labels, &["basin".to_string()]);
    let results: Vec<CocoResult> = ds
        .annotations
        .iter()
        .enumerate()
        .map(|(k, a)| CocoResult {
            image_id: a.image_id,
            category_id: a.category_id,
            bbox: [a.bbox[0] + 2.0, a.bbox[1] - 1.0, a.bbox[2], a.bbox[3] * 0.9],
            score: 0.9 - 0.1 * k as f64,
        })
        .collect();
    Ok(vec![
        Seed::new("ours:coco data set").text("input.json", serde_json::to_string_pretty(&ds)?),
        Seed::new("ours:coco data set (compact)").text("input.json", serde_json::to_string(&ds)?),
        Seed::new("ours:coco results").text("input.json", serde_json::to_string_pretty(&results)?),
        Seed::new("hand:coco with info, licenses, iscrowd true, extra fields").text(
            "input.json",
            r#"{"info": {"year": 2022, "version": "1"}, "licenses": [],
  "images": [{"id": 7, "file_name": "a.png", "width": 640, "height": 480, "date": "x"}],
  "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "bbox": [1.5, 2, 30, 40.25],
                   "area": 1207.5, "iscrowd": true, "segmentation": []},
                  {"id": 2, "image_id": 7, "category_id": 1, "bbox": [100, 100, 5e1, 6E1],
                   "area": 3000, "iscrowd": 0}],
  "categories": [{"id": 1, "name": "basin", "supercategory": "subsidence"}]}"#,
        ),
    ])
}

fn scene_eval_corpus(_: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    use detect_core::output::{Basin, coco_results, geojson};
    let g = geo(32632);
    let truth_geojson = serde_json::json!({
        "type": "FeatureCollection", "name": "scene-90001", "width": 1200, "height": 900,
        "pixel_area_m2": 1600.0,
        "features": [
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[500000.0,
              5600000.0], [504000.0, 5600000.0], [504000.0, 5596000.0], [500000.0, 5600000.0]]]},
             "properties": {"id": 1, "bbox_px": [100, 120, 80, 64], "max_los_m": 0.045,
                            "decorrelated_centre": false}},
            {"type": "Feature", "geometry": null,
             "properties": {"id": 2, "bbox_px": [600.5, 400, 150, 120.25], "max_los_m": 0.21,
                            "decorrelated_centre": true}}
        ]
    });
    let det = |x1, y1, x2, y2, score| detect_core::Detection {
        bbox: BBox { x1, y1, x2, y2 },
        score,
    };
    let basins: Vec<Basin> = [
        det(98.0, 118.0, 182.0, 186.0, 0.91),
        det(610.0, 395.0, 740.0, 515.0, 0.47),
        det(1000.0, 10.0, 1050.0, 40.0, 0.3),
    ]
    .into_iter()
    .map(|d| Basin::sized(d, Some(&g)))
    .collect();
    let truth_coco = serde_json::json!({
        "images": [{"id": 1, "file_name": "scene.tif", "width": 1200, "height": 900,
                    "pixel_area_m2": 1600.0}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [100, 120, 80, 64],
                         "area": 5120, "iscrowd": 0, "max_los_m": 0.045}],
        "categories": [{"id": 1, "name": "basin"}]
    });
    Ok(vec![
        Seed::new("synth-style truth GeoJSON + detect GeoJSON")
            .text("truth.json", serde_json::to_string_pretty(&truth_geojson)?)
            .text(
                "dets.json",
                serde_json::to_string_pretty(&geojson(&basins, Some(&g)))?,
            ),
        Seed::new("COCO truth + detect COCO results")
            .text("truth.json", serde_json::to_string_pretty(&truth_coco)?)
            .text(
                "dets.json",
                serde_json::to_string(&coco_results(&basins, 1, 1))?,
            ),
    ])
}

fn small_model_config() -> ModelConfig {
    ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64)
}

fn weights_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let device = model::Device::flex();
    let cfg = small_model_config();
    let net = model::Detector::try_new(&cfg, &device)?;
    let path = ctx.scratch.join("light-n.safetensors");
    let header = model::WeightsHeader::new(&cfg)
        .with_training(serde_json::json!({"seed": 3, "data": "d13", "max_iter": 1800}))
        .with_metrics(serde_json::json!({"map": 0.41, "ap50": 0.77}));
    model::save_weights(&path, &net, &header)?;
    let bytes = read_back(&path)?;
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    Ok(vec![
        Seed::new("ours:light-yolo-basin N tile 64").binary("model.safetensors", bytes.clone()),
        Seed::new("ours:light-yolo-basin N tile 64, header apart")
            .text("header.json", bytes[8..8 + n].to_vec())
            .binary("tensors", bytes[8 + n..].to_vec()),
    ])
}

fn checkpoint_corpus(ctx: &CorpusCtx) -> anyhow::Result<Vec<Seed>> {
    let device = model::Device::flex();
    let cfg = small_model_config();
    let net = model::Detector::try_new(&cfg, &device)?;
    let tcfg = train::TrainConfig::paper(ctx.scratch.join("data"), ctx.scratch.join("run"), cfg);
    let optim = train::trainer::optimizer(&tcfg);
    let meta = train::checkpoint::CheckpointMeta {
        step: 500,
        ema_updates: 500,
        best_map: 0.25,
        best_step: 400,
        config: tcfg.identity(),
    };
    let mut seeds = Vec::new();
    for (name, ema) in [("with EMA", Some(&net)), ("without EMA", None)] {
        let path = ctx.scratch.join("last.ckpt");
        train::checkpoint::save_checkpoint(&path, &meta, &net, &optim, ema)?;
        let bytes = read_back(&path)?;
        if ema.is_some() {
            let n = u64::from_le_bytes(bytes[8..16].try_into()?) as usize;
            seeds.push(
                Seed::new("ours:light-n checkpoint, metadata apart")
                    .text("meta.json", bytes[16..16 + n].to_vec())
                    .binary("records", bytes[16 + n..].to_vec()),
            );
        }
        seeds.push(Seed::new(format!("ours:light-n checkpoint {name}")).binary("last.ckpt", bytes));
    }
    Ok(seeds)
}

// ---------------------------------------------------------------- running

fn find_target(name: &str) -> anyhow::Result<&'static Target> {
    TARGETS.iter().find(|t| t.name == name).with_context(|| {
        format!(
            "no fuzz target `{name}`: expected all or some of {}",
            TARGETS
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn selected(spec: &str) -> anyhow::Result<Vec<&'static Target>> {
    if spec == "all" {
        return Ok(TARGETS.iter().filter(|t| t.in_all).collect());
    }
    spec.split(',').map(|n| find_target(n.trim())).collect()
}

/// Builds a target's corpus in `scratch`.
fn build_corpus(
    t: &Target,
    fixtures: Option<PathBuf>,
    scratch: &Path,
) -> anyhow::Result<Vec<Seed>> {
    std::fs::create_dir_all(scratch)?;
    let seeds = (t.corpus)(&CorpusCtx {
        fixtures,
        scratch: scratch.to_path_buf(),
    })
    .with_context(|| format!("building the {} corpus", t.name))?;
    if seeds.is_empty() {
        bail!("the {} corpus is empty", t.name);
    }
    Ok(seeds)
}

/// The first inputs of a run are the corpus itself: each must be accepted, or the corpus
/// (or the reader) is wrong and the mutations start from nothing useful.
fn corpus_refusals(corpus: &[Seed], input: &Input, outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Error(e)
            if input.mutations.is_empty() && (input.iteration as usize) < corpus.len() =>
        {
            Some(format!("corpus entry {} was refused: {e}", input.seed_name))
        }
        _ => None,
    }
}

/// Runs `t` in this process (tests; `--in-process`). Returns the report and the corpus
/// entries that were refused.
fn fuzz_in_process(
    t: &Target,
    corpus: &[Seed],
    opts: &Options,
    work: &Path,
    mut progress: impl FnMut(&Event<'_>),
) -> anyhow::Result<(Report, Vec<String>)> {
    let ctx = RunCtx::new(work.to_path_buf())?;
    let mut refused = Vec::new();
    let report = fuzz::run_observed(
        corpus,
        opts,
        |input| (t.run)(&ctx, input),
        |ev| {
            if let Event::Done(input, outcome, _) = &ev
                && let Some(r) = corpus_refusals(corpus, input, outcome)
            {
                refused.push(r);
            }
            progress(&ev);
        },
    );
    Ok((report, refused))
}

/// Limits this process's address space (Linux/glibc builds; elsewhere a no-op).
fn limit_memory(mib: u64) -> anyhow::Result<()> {
    if mib == 0 {
        return Ok(());
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let bytes = mib.saturating_mul(1 << 20);
        let lim = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // SAFETY: setrlimit reads the struct passed by pointer and changes only this
        // process's limit.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
        if rc != 0 {
            bail!(
                "setrlimit(RLIMIT_AS, {mib} MiB): {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in KiB, where /proc says it.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A failing input found by a run, in-process or in a child.
#[derive(Debug, Clone)]
struct Found {
    iteration: u64,
    /// panic, abort (the child died), or hang.
    kind: &'static str,
    message: String,
    location: Option<String>,
    /// The end of a dead child's stderr (backtrace included).
    detail: Option<String>,
}

/// A target's totals over all its child processes.
#[derive(Debug, Default)]
struct Totals {
    inputs: u64,
    ok: u64,
    errors: u64,
    found: Vec<Found>,
    error_kinds: BTreeMap<String, u64>,
    slowest: Option<(u64, f64)>,
    peak_rss_kib: u64,
    refused: Vec<String>,
    children: u64,
}

impl Totals {
    fn add_report(&mut self, r: &Report) {
        self.inputs += r.inputs_run;
        self.ok += r.ok;
        self.errors += r.errors;
        for (k, n) in &r.error_kinds {
            *self.error_kinds.entry(k.clone()).or_insert(0) += n;
        }
        if let Some((i, d)) = r.slowest
            && self.slowest.is_none_or(|(_, s)| d.as_secs_f64() > s)
        {
            self.slowest = Some((i, d.as_secs_f64()));
        }
        self.found.extend(r.failures.iter().map(|f| Found {
            iteration: f.input.iteration,
            kind: "panic",
            message: f.message.clone(),
            location: f.location.clone(),
            detail: None,
        }));
    }
}

/// The child side: runs the target on the corpus in `corpus_dir`, telling the parent on
/// stdout which input it starts (`S i`), how each ended (`R o|e`), each panic
/// (`P i {json}`) and, at the end, the report (`D {json}`).
fn run_child(args: &Args, corpus_dir: &Path) -> anyhow::Result<()> {
    limit_memory(args.memory_limit_mib)?;
    let t = find_target(&args.target)?;
    let corpus = load_corpus(corpus_dir)?;
    let opts = options(args);
    let work = corpus_dir.with_file_name(format!("work-{}-{}", t.name, std::process::id()));
    let out = std::io::stdout();
    let (report, refused) = fuzz_in_process(t, &corpus, &opts, &work, |ev| {
        let mut o = out.lock();
        let _ = match ev {
            Event::Start(input) => writeln!(o, "S {}", input.iteration),
            Event::Done(input, outcome, _) => match outcome {
                Outcome::Ok => writeln!(o, "R o"),
                Outcome::Error(_) => writeln!(o, "R e"),
                Outcome::Panic { message, location } => writeln!(
                    o,
                    "P {} {}",
                    input.iteration,
                    serde_json::json!({"message": message, "location": location})
                ),
            },
        };
        let _ = o.flush();
    })?;
    let _ = std::fs::remove_dir_all(&work);
    let summary = serde_json::json!({
        "ok": report.ok,
        "errors": report.errors,
        "error_kinds": report.error_kinds,
        "slowest": report.slowest.map(|(i, d)| (i, d.as_secs_f64())),
        "peak_rss_kib": peak_rss_kib(),
        "refused": refused,
    });
    let mut o = out.lock();
    writeln!(o, "D {summary}")?;
    o.flush()?;
    Ok(())
}

fn options(args: &Args) -> Options {
    let mut opts = match (args.seconds, args.iterations) {
        (Some(s), _) => Options::for_duration(args.seed, Duration::from_secs_f64(s.max(0.0))),
        (None, n) => Options::iterations(args.seed, n.unwrap_or(1000)),
    };
    opts.start = args.start;
    opts
}

/// Writes a corpus as `manifest.json` plus one file per part.
fn save_corpus(corpus: &[Seed], dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut manifest = Vec::new();
    for (k, s) in corpus.iter().enumerate() {
        let mut parts = Vec::new();
        for (j, p) in s.parts.iter().enumerate() {
            let file = format!("{k:03}-{j}-{}", p.name);
            std::fs::write(dir.join(&file), &p.bytes)?;
            parts.push(serde_json::json!({"name": p.name, "text": p.text, "file": file}));
        }
        manifest.push(serde_json::json!({"name": s.name, "parts": parts}));
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(())
}

fn load_corpus(dir: &Path) -> anyhow::Result<Vec<Seed>> {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .with_context(|| format!("reading {}/manifest.json", dir.display()))?;
    let manifest: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    let mut corpus = Vec::new();
    for s in manifest {
        let mut seed = Seed::new(s["name"].as_str().unwrap_or("?"));
        for p in s["parts"].as_array().context("corpus manifest: parts")? {
            let name = p["name"].as_str().context("corpus manifest: part name")?;
            let file = p["file"].as_str().context("corpus manifest: part file")?;
            let bytes = std::fs::read(dir.join(file))?;
            seed = if p["text"].as_bool() == Some(true) {
                seed.text(name, bytes)
            } else {
                seed.binary(name, bytes)
            };
        }
        corpus.push(seed);
    }
    Ok(corpus)
}

/// The parent side: runs `t` in child processes until its budget is spent, starting a new
/// child after the input that killed (or hung) the last one.
fn fuzz_in_children(
    t: &Target,
    args: &Args,
    corpus_dir: &Path,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Totals> {
    let exe = std::env::current_exe().context("finding this program")?;
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut next = args.start;
    loop {
        let left_iterations = match (args.seconds, args.iterations) {
            (Some(_), _) => None,
            (None, n) => Some(n.unwrap_or(1000).saturating_sub(next - args.start)),
        };
        let left_seconds = args.seconds.map(|s| s - started.elapsed().as_secs_f64());
        if left_iterations == Some(0) || left_seconds.is_some_and(|s| s <= 0.0) {
            break;
        }
        let mut cmd = Command::new(&exe);
        cmd.arg("fuzz")
            .args(["--target", t.name])
            .arg("--child")
            .arg(corpus_dir)
            .args(["--seed", &args.seed.to_string()])
            .args(["--start", &next.to_string()])
            .args(["--memory-limit-mib", &args.memory_limit_mib.to_string()]);
        match (left_seconds, left_iterations) {
            (Some(s), _) => cmd.args(["--seconds", &format!("{s:.3}")]),
            (None, Some(n)) => cmd.args(["--iterations", &n.to_string()]),
            (None, None) => unreachable!("a budget in seconds or iterations"),
        };
        // A backtrace on stderr says where an abort came from.
        let mut child = cmd
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting a fuzz child process")?;
        totals.children += 1;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut stderr = child.stderr.take().context("child stderr")?;
        let err_reader = std::thread::spawn(move || {
            // The last 64 KiB of the child's stderr, however much it writes.
            let (mut buf, mut chunk) = (Vec::new(), [0u8; 8192]);
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > 128 << 10 {
                    buf.drain(..buf.len() - (64 << 10));
                }
            }
            let text = String::from_utf8_lossy(&buf).into_owned();
            let cut = text.len().saturating_sub(64 << 10);
            let cut = (cut..text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            text[cut..].to_string()
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut current: Option<u64> = None;
        let mut finished = false;
        let mut hung = false;
        let hang = Duration::from_secs(args.hang_seconds.max(1));
        loop {
            match rx.recv_timeout(hang) {
                Ok(line) => {
                    let (tag, rest) = line.split_once(' ').unwrap_or((&line, ""));
                    match tag {
                        "S" => {
                            current = rest.parse().ok();
                        }
                        "R" => {
                            totals.inputs += 1;
                            if rest == "o" {
                                totals.ok += 1;
                            } else {
                                totals.errors += 1;
                            }
                            bar.set_message(status(t.name, &totals));
                            bar.inc(1);
                        }
                        "P" => {
                            let (i, json) = rest.split_once(' ').unwrap_or((rest, "{}"));
                            let v: serde_json::Value =
                                serde_json::from_str(json).unwrap_or_default();
                            totals.inputs += 1;
                            totals.found.push(Found {
                                iteration: i.parse().unwrap_or(0),
                                kind: "panic",
                                message: v["message"].as_str().unwrap_or("?").to_string(),
                                location: v["location"].as_str().map(str::to_string),
                                detail: None,
                            });
                            bar.inc(1);
                            bar.println(format!(
                                "{}: input {i} panicked: {}",
                                t.name, v["message"]
                            ));
                        }
                        "D" => {
                            let v: serde_json::Value =
                                serde_json::from_str(rest).unwrap_or_default();
                            if let Some(kinds) = v["error_kinds"].as_object() {
                                for (k, n) in kinds {
                                    *totals.error_kinds.entry(k.clone()).or_insert(0) +=
                                        n.as_u64().unwrap_or(0);
                                }
                            }
                            if let (Some(i), Some(s)) =
                                (v["slowest"][0].as_u64(), v["slowest"][1].as_f64())
                                && totals.slowest.is_none_or(|(_, best)| s > best)
                            {
                                totals.slowest = Some((i, s));
                            }
                            if let Some(kib) = v["peak_rss_kib"].as_u64() {
                                totals.peak_rss_kib = totals.peak_rss_kib.max(kib);
                            }
                            if let Some(r) = v["refused"].as_array() {
                                totals
                                    .refused
                                    .extend(r.iter().filter_map(|x| x.as_str()).map(String::from));
                            }
                            finished = true;
                        }
                        _ => {}
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    hung = true;
                    let _ = child.kill();
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = child.wait().context("waiting for a fuzz child")?;
        let tail = err_reader.join().unwrap_or_default();
        if finished && status.success() {
            break;
        }
        // The child died (or hung) on input `current`: record it and go on after it.
        let Some(i) = current else {
            bail!(
                "the {} fuzz child failed before its first input ({status}):\n{tail}",
                t.name
            );
        };
        let already = totals.found.iter().any(|f| f.iteration == i);
        if !already {
            totals.inputs += 1;
            let message = if hung {
                format!("still running after {} s (killed)", args.hang_seconds)
            } else {
                format!("the process died ({status}): {}", death_summary(&tail))
            };
            bar.println(format!("{}: input {i}: {message}", t.name));
            totals.found.push(Found {
                iteration: i,
                kind: if hung { "hang" } else { "abort" },
                message,
                location: None,
                detail: Some(death_detail(&tail)),
            });
        }
        next = i + 1;
        if totals.children > 10_000 {
            bail!("{}: too many child processes died; stopping", t.name);
        }
    }
    Ok(totals)
}

/// The line of a dead process's stderr that says why it died.
fn death_summary(stderr: &str) -> String {
    const SIGNS: [&str; 5] = [
        "memory allocation of",
        "has overflowed its stack",
        "fatal runtime error",
        "panicked at",
        "panic in a function that cannot unwind",
    ];
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    lines
        .iter()
        .find(|l| SIGNS.iter().any(|s| l.contains(s)))
        .or_else(|| {
            lines
                .iter()
                .rev()
                .find(|l| !l.is_empty() && !l.starts_with("note:"))
        })
        .unwrap_or(&"(nothing on stderr)")
        .to_string()
}

/// What to keep of a dead process's stderr: from the line saying why, 80 lines (the
/// backtrace), else its last 40 lines.
fn death_detail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let summary = death_summary(stderr);
    let from = lines
        .iter()
        .position(|l| l.trim() == summary)
        .unwrap_or(lines.len().saturating_sub(40));
    lines[from..(from + 80).min(lines.len())].join("\n")
}

fn status(name: &str, t: &Totals) -> String {
    format!(
        "{name}: {} inputs, {} ok, {} refused, {} failing",
        t.inputs,
        t.ok,
        t.errors,
        t.found.len()
    )
}

/// Saves a failing input (regenerated from its iteration) with a note on what it did.
fn save_failure(
    dir: &Path,
    t: &Target,
    corpus: &[Seed],
    seed: u64,
    f: &Found,
) -> anyhow::Result<PathBuf> {
    let input = fuzz::input_at(corpus, seed, f.iteration, fuzz::DEFAULT_MAX_LEN);
    let out = dir.join(format!("{}-seed{seed}-{}", t.name, f.iteration));
    input.write_to(&out)?;
    let note = format!(
        "target: {}\nkind: {}\nmessage: {}\nlocation: {}\ncorpus entry: {}\nmutations: {}\n\
         replay: yolo-basin fuzz --target {} --seed {seed} --start {} --iterations 1\n",
        t.name,
        f.kind,
        f.message,
        f.location.as_deref().unwrap_or("(unknown)"),
        input.seed_name,
        input.mutations.join(", "),
        t.name,
        f.iteration,
    );
    let note = match &f.detail {
        Some(d) => format!("{note}\nstderr of the child process (its end):\n{d}\n"),
        None => note,
    };
    std::fs::write(out.join("failure.txt"), note)?;
    Ok(out)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(dir) = args.child.clone() {
        return run_child(&args, &dir);
    }
    let targets = selected(&args.target)?;
    let fixtures = args.fixtures.clone().or_else(default_fixtures);
    if args.list {
        for t in &targets {
            println!("{:<11} {}", t.name, t.about);
        }
        println!(
            "fixtures: {}",
            fixtures
                .as_ref()
                .map_or("(none found)".to_string(), |p| p.display().to_string())
        );
        return Ok(());
    }
    if fixtures.is_none() {
        eprintln!("note: no real fixtures found (--fixtures); the corpus holds our own files only");
    }
    if args.in_process {
        limit_memory(args.memory_limit_mib)?;
    }
    let base = std::env::temp_dir().join(format!("yolo-basin-fuzz-{}", std::process::id()));
    let result = fuzz_targets(&args, &targets, fixtures, &base);
    let _ = std::fs::remove_dir_all(&base);
    let failing = result?;
    if failing > 0 {
        bail!("{failing} failing inputs (panics, aborts or hangs)");
    }
    Ok(())
}

fn fuzz_targets(
    args: &Args,
    targets: &[&Target],
    fixtures: Option<PathBuf>,
    base: &Path,
) -> anyhow::Result<usize> {
    let mut failing = 0;
    for t in targets {
        let corpus = build_corpus(
            t,
            fixtures.clone(),
            &base.join(format!("scratch-{}", t.name)),
        )?;
        let corpus_dir = base.join(format!("corpus-{}", t.name));
        save_corpus(&corpus, &corpus_dir)?;
        if let Some(keep) = &args.keep_corpus {
            save_corpus(&corpus, &keep.join(t.name))?;
        }
        let bar = match (args.seconds, args.iterations) {
            (Some(_), _) => indicatif::ProgressBar::new_spinner(),
            (None, n) => indicatif::ProgressBar::new(n.unwrap_or(1000)),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(500));
        let started = Instant::now();
        let totals = if args.in_process {
            let mut totals = Totals::default();
            let mut last = Instant::now();
            let mut counts = (0u64, 0u64, 0u64);
            let (report, refused) = fuzz_in_process(
                t,
                &corpus,
                &options(args),
                &base.join(format!("work-{}", t.name)),
                |ev| {
                    if let Event::Done(_, o, _) = ev {
                        counts.0 += 1;
                        match o {
                            Outcome::Ok => counts.1 += 1,
                            Outcome::Error(_) => counts.2 += 1,
                            Outcome::Panic { .. } => {}
                        }
                        if last.elapsed() > Duration::from_millis(250) {
                            last = Instant::now();
                            bar.set_message(format!(
                                "{}: {} inputs, {} ok, {} refused",
                                t.name, counts.0, counts.1, counts.2
                            ));
                        }
                    }
                },
            )?;
            totals.add_report(&report);
            totals.refused = refused;
            totals.peak_rss_kib = peak_rss_kib().unwrap_or(0);
            totals
        } else {
            fuzz_in_children(t, args, &corpus_dir, &bar)?
        };
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:<11} {} inputs in {secs:.1} s ({:.1}/s) from {} corpus files: {} ok, {} refused \
             ({} kinds of error), {} failing; slowest input {}; peak RSS {} MiB{}",
            t.name,
            totals.inputs,
            totals.inputs as f64 / secs.max(1e-9),
            corpus.len(),
            totals.ok,
            totals.errors,
            totals.error_kinds.len(),
            totals.found.len(),
            totals
                .slowest
                .map_or("-".to_string(), |(i, s)| format!("#{i} {s:.2} s")),
            totals.peak_rss_kib / 1024,
            if args.in_process {
                ""
            } else {
                " (largest child)"
            }
        );
        let mut kinds: Vec<(&String, &u64)> = totals.error_kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (k, n) in kinds.into_iter().take(args.errors) {
            println!("  {n:>8} × {k}");
        }
        for r in &totals.refused {
            println!("  warning: {r}");
        }
        // One bug often fails many inputs: group them by kind and place (or masked
        // message), print each group once and keep its first few inputs.
        let mut groups: BTreeMap<String, Vec<&Found>> = BTreeMap::new();
        for f in &totals.found {
            let place = f.location.clone().unwrap_or_else(|| {
                f.message
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect()
            });
            groups
                .entry(format!("{} {place}", f.kind))
                .or_default()
                .push(f);
        }
        for group in groups.values() {
            let f = group[0];
            println!(
                "  {} at input {}: {} [{}]",
                f.kind,
                f.iteration,
                f.message,
                f.location.as_deref().unwrap_or("location unknown")
            );
            if group.len() > 1 {
                let more: Vec<String> = group[1..]
                    .iter()
                    .take(10)
                    .map(|f| f.iteration.to_string())
                    .collect();
                println!(
                    "    and {} more inputs like it ({}{})",
                    group.len() - 1,
                    more.join(", "),
                    if group.len() > 11 { ", …" } else { "" }
                );
            }
            if let Some(dir) = &args.save {
                for f in group.iter().take(3) {
                    let out = save_failure(dir, t, &corpus, args.seed, f)?;
                    println!("    saved to {}", out.display());
                }
            }
        }
        failing += totals.found.len();
    }
    Ok(failing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short seeded run of one target, in this process; no input may panic and every
    /// corpus file must be accepted.
    fn short_run(name: &str, iterations: u64) {
        let t = find_target(name).expect("target");
        let base = std::env::temp_dir().join(format!(
            "yolo-basin-fuzz-test-{name}-{}",
            std::process::id()
        ));
        let corpus = build_corpus(t, default_fixtures(), &base.join("scratch")).expect("corpus");
        let (report, refused) = fuzz_in_process(
            t,
            &corpus,
            &Options::iterations(20_260_101, corpus.len() as u64 + iterations),
            &base.join("work"),
            |_| {},
        )
        .expect("run");
        let _ = std::fs::remove_dir_all(&base);
        assert!(refused.is_empty(), "{refused:#?}");
        let failures: Vec<String> = report
            .failures
            .iter()
            .map(|f| {
                format!(
                    "input {} ({}; {}): {} at {:?}",
                    f.input.iteration,
                    f.input.seed_name,
                    f.input.mutations.join(", "),
                    f.message,
                    f.location
                )
            })
            .collect();
        assert!(failures.is_empty(), "{name}: {failures:#?}");
        assert_eq!(report.inputs_run, corpus.len() as u64 + iterations);
        // The mutations must reach past the first check: several kinds of refusal.
        assert!(
            report.error_kinds.len() >= 3,
            "{name}: {:#?}",
            report.error_kinds
        );
    }

    #[test]
    fn fuzz_geotiff_short() {
        short_run("geotiff", 3000);
    }

    #[test]
    fn fuzz_gamma_short() {
        short_run("gamma", 1500);
    }

    #[test]
    fn fuzz_par_short() {
        short_run("par", 2000);
    }

    #[test]
    fn fuzz_picture_short() {
        short_run("picture", 3000);
    }

    #[test]
    fn fuzz_isce_short() {
        short_run("isce", 1500);
    }

    #[test]
    fn fuzz_envi_short() {
        short_run("envi", 1500);
    }

    #[test]
    fn fuzz_dimap_short() {
        short_run("dimap", 800);
    }

    #[test]
    fn fuzz_scene_short() {
        short_run("scene", 800);
    }

    #[test]
    fn fuzz_voc_short() {
        short_run("voc", 1500);
    }

    #[test]
    fn fuzz_yolo_short() {
        short_run("yolo", 1500);
    }

    #[test]
    fn fuzz_coco_short() {
        short_run("coco", 2000);
    }

    #[test]
    fn fuzz_scene_eval_short() {
        short_run("scene-eval", 2000);
    }

    #[test]
    fn fuzz_weights_short() {
        short_run("weights", 100);
    }

    #[test]
    fn fuzz_checkpoint_short() {
        short_run("checkpoint", 300);
    }

    #[test]
    fn corpus_round_trips_through_its_folder() {
        let base =
            std::env::temp_dir().join(format!("yolo-basin-fuzz-corpus-{}", std::process::id()));
        let corpus = build_corpus(
            find_target("gamma").expect("gamma"),
            default_fixtures(),
            &base,
        )
        .expect("corpus");
        save_corpus(&corpus, &base.join("c")).expect("save");
        let back = load_corpus(&base.join("c")).expect("load");
        let _ = std::fs::remove_dir_all(&base);
        assert_eq!(back, corpus);
    }

    #[test]
    fn every_target_is_selectable_and_names_are_checked() {
        assert_eq!(selected("all").expect("all").len(), TARGETS.len() - 1);
        assert_eq!(selected("selftest").expect("by name").len(), 1);
        assert_eq!(selected("coco, yolo").expect("two").len(), 2);
        let err = selected("tiff").err().expect("unknown").to_string();
        assert!(err.contains("geotiff"), "{err}");
    }
}

//! `yolo-basin eval`: score detections against ground truth exactly as pycocotools'
//! COCOeval (bbox) does, plus AP at every IoU step, a larger per-image limit for whole
//! scenes and operating points at a score threshold. All logic lives in `detect_core::eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::ValueEnum;
use detect_core::eval::scene::{self, SceneDetection, SceneTruth};
use detect_core::eval::{EvalOptions, evaluate};
use detect_core::labels::{
    CLASS_LIST, CocoDataset, CocoResult, LabelFormat, SizeSource, coco_basin_only,
    coco_results_for_basin, dataset_from_dir, read_coco_dataset, read_coco_results,
};
use detect_core::plot::write_pr_png;
use train::data::Split;
use train::data::ultralytics;

/// Ground-truth label format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// YOLO txt, one file per picture: `class cx cy w h`, normalised (needs picture sizes).
    Yolo,
    /// Pascal VOC XML as LabelImg writes it, one file per picture (sizes inside).
    Voc,
    /// One COCO data set JSON (give it with --gt).
    Coco,
}

/// How the numbers are made and what the inputs are; shown under `--help`.
const DETAILS: &str = "\
Numbers equal pycocotools' COCOeval (iouType bbox) to 1e-6: 10 IoU thresholds
0.50:0.05:0.95, 101-point interpolated precision, crowd boxes ignored, object size from the
annotation's \"area\". The table adds AP at every IoU step (AP50 ... AP95) and operating
points (TP/FP/FN, precision, recall, F1) at --score-threshold for IoU 0.5 and the looser 0.3
(so that the labelling convention, halo or fringe core, does not decide). pycocotools keeps at
most 100 detections per image; whole scenes hold more basins, so --max-dets N (> 100) adds
the numbers at N, labelled as such.

Ground truth is a COCO JSON (--gt), a folder of label files (--labels-dir with
--format yolo|voc) or an Ultralytics data set (--data data.yaml, its --split). A folder's
pictures get image ids 1, 2, ... in file-name order of the label files, a data.yaml split's
in sorted path order of its images (as `yolo-basin predict images/val` numbers them); the
detections (--dets, a COCO results JSON as `yolo-basin predict` writes) must use those ids.

Classes: only the basin class is scored, the one named basin, subsidence, subsidence_basin
or mining_subsidence (any case) among the COCO categories, the classes.txt / VOC names /
--classes, or the data.yaml names, or the one --class names; boxes of other classes are left
out (and counted). Detections count as basins when their category_id is the ground truth's
basin category, or else 1 (what predict and detect write). Crowd boxes (iscrowd 1) are COCO's
ignore regions: a detection over one is neither a true nor a false positive.

Whole scenes: give the scene's truth as --gt (the GeoJSON `synth` writes beside each scene,
scenes/scene_K.geojson, or a COCO data set of one image with --scene) and what `detect` wrote
as --dets (OUT/NAME.basins.coco.json or OUT/NAME.basins.geojson). The report then has, at
IoU 0.5 and 0.3: recall, precision, F1, false alarms per 1,000 km², recall by peak LOS
(< 3 cm, 3-10 cm, > 10 cm) and for basins with a decorrelated centre; and AP50 / mAP. Every
box detect wrote counts unless --score-threshold is given (detect has applied its own).

Examples:
  yolo-basin eval --gt sim/scenes/scene_0.geojson --dets out/scene_0.basins.coco.json
  yolo-basin eval --gt sim/annotations.json --dets pred/results.json --pr-png pr.png
  yolo-basin eval --labels-dir sim/labels --images-dir sim/png --dets pred/results.json
  yolo-basin eval --labels-dir sim/voc --format voc --dets pred/results.json --max-dets 1000
  yolo-basin eval --data mine/data.yaml --class subsidence_area --dets pred-mine/results.json";

/// Evaluate detections against ground truth (COCO mAP@[.5:.95], AP50 ... AP95, AR, P/R/F1).
///
/// Tiles (COCO data sets, label folders, Ultralytics data sets) or whole scenes (the truth
/// GeoJSON `synth` writes against what `detect` wrote); the details follow the options.
#[derive(clap::Args, Debug)]
#[command(after_long_help = DETAILS)]
pub struct Args {
    /// Ground truth: a COCO data set JSON (images, annotations with bbox/area/iscrowd,
    /// categories).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["labels_dir", "data"],
        required_unless_present_any = ["labels_dir", "data"]
    )]
    pub gt: Option<PathBuf>,

    /// Ground truth: a folder with one label file per picture (see --format).
    #[arg(long, value_name = "DIR", conflicts_with = "data")]
    pub labels_dir: Option<PathBuf>,

    /// Ground truth: an Ultralytics data set, a data.yaml or a folder holding one (labels
    /// in labels/ beside images/; an image without a label file has no basins).
    #[arg(long, value_name = "YAML")]
    pub data: Option<PathBuf>,

    /// With --data: the split to score (train, val or test).
    #[arg(long, default_value = "val", value_parser = parse_split)]
    pub split: Split,

    /// The basin class by name (any case), for ground truth with several classes; default:
    /// the class named basin, subsidence, subsidence_basin or mining_subsidence.
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,

    /// Format of the ground truth: yolo or voc with --labels-dir, coco with --gt.
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Folder with the pictures, to read each picture's size (YOLO labels are normalised).
    /// A picture is found by the label file's name with .png/.jpg/.jpeg/.tif/.tiff/.bmp.
    #[arg(long, value_name = "DIR", conflicts_with = "size")]
    pub images_dir: Option<PathBuf>,

    /// Size of every picture instead of --images-dir: WIDTHxHEIGHT, or one number for
    /// squares (e.g. 416).
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,

    /// Class names in class-id order for label folders (default: classes.txt beside YOLO
    /// labels, the names in VOC files, else "basin" for class 0).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub classes: Vec<String>,

    /// Detections: a COCO results JSON, [{"image_id", "category_id", "bbox": [x, y, w, h],
    /// "score"}, ...], pixel coordinates.
    #[arg(long, value_name = "FILE")]
    pub dets: PathBuf,

    /// Also report with up to this many detections per image (pycocotools stops at 100).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_dets: usize,

    /// Score threshold of the operating point (TP/FP/FN, precision, recall, F1 at IoU 0.5
    /// and 0.3). Default 0.25 (detection's default score) for data sets; for a scene every
    /// box given counts.
    #[arg(long, value_name = "S")]
    pub score_threshold: Option<f64>,

    /// The ground truth is one whole scene (implied when --gt is a GeoJSON): report scene
    /// figures (false alarms per 1,000 km², recall by basin strength).
    #[arg(long)]
    pub scene: bool,

    /// Write the full report (all numbers, P-R curves) as JSON here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Draw the precision–recall curves (one per IoU threshold) into this PNG.
    #[arg(long, value_name = "FILE")]
    pub pr_png: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected WIDTHxHEIGHT or one number, got {s:?}");
    let (w, h) = match s.split_once(['x', 'X']) {
        Some((w, h)) => (
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let n = s.trim().parse().map_err(|_| bad())?;
            (n, n)
        }
    };
    if w == 0 || h == 0 {
        return Err(bad());
    }
    Ok((w, h))
}

fn parse_split(s: &str) -> Result<Split, String> {
    [Split::Train, Split::Val, Split::Test]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| format!("expected train, val or test, got {s:?}"))
}

/// The ground truth as given, and the file or folder it came from.
fn load_ground_truth(args: &Args) -> anyhow::Result<(CocoDataset, PathBuf)> {
    if let Some(gt) = &args.gt {
        if matches!(args.format, Some(Format::Yolo | Format::Voc)) {
            bail!("--gt takes a COCO JSON; use --labels-dir for YOLO or VOC label folders");
        }
        let ds = read_coco_dataset(gt).context("reading the ground truth (--gt)")?;
        return Ok((ds, gt.clone()));
    }
    if let Some(data) = &args.data {
        let yaml = ultralytics::data_yaml_of(data).with_context(|| {
            format!(
                "--data {}: expected a data.yaml, or a folder holding data.yaml",
                data.display()
            )
        })?;
        let ds = ultralytics::coco_ground_truth(&yaml, args.split).with_context(|| {
            format!(
                "reading the {} split of {}",
                args.split.as_str(),
                yaml.display()
            )
        })?;
        return Ok((ds, yaml));
    }
    let Some(dir) = &args.labels_dir else {
        bail!("give the ground truth with --gt FILE, --labels-dir DIR or --data YAML");
    };
    let format = match args.format.unwrap_or(Format::Yolo) {
        Format::Yolo => LabelFormat::Yolo,
        Format::Voc => LabelFormat::Voc,
        Format::Coco => bail!("--format coco takes one JSON file: give it with --gt"),
    };
    let sizes = match (&args.images_dir, args.size) {
        (Some(images), _) => SizeSource::ImagesDir(images),
        (None, Some((w, h))) => SizeSource::Fixed(w, h),
        (None, None) if format == LabelFormat::Voc => SizeSource::Fixed(0, 0),
        (None, None) => bail!("YOLO labels are normalised: give --images-dir or --size"),
    };
    let ds = dataset_from_dir(dir, format, sizes, &args.classes)
        .with_context(|| format!("reading the labels in {}", dir.display()))?;
    // Errors about the class names name the file they came from, when there is one.
    let list = dir.join(CLASS_LIST);
    let from_list = format == LabelFormat::Yolo && args.classes.is_empty() && list.is_file();
    Ok((ds, if from_list { list } else { dir.clone() }))
}

/// The ground truth and detections of the basin class alone (see DETAILS), with notes on
/// what was left out.
fn basin_only(
    gt: &CocoDataset,
    source: &Path,
    dets: &[CocoResult],
    class: Option<&str>,
) -> anyhow::Result<(CocoDataset, Vec<CocoResult>)> {
    let (gt, basin_id, ignored) =
        coco_basin_only(gt, class, source).context("choosing the basin class")?;
    if !ignored.is_empty() {
        eprintln!("ground truth: {ignored}");
    }
    let (dets, dropped) = coco_results_for_basin(dets, basin_id);
    if dropped > 0 {
        eprintln!("detections: ignored {dropped} of other categories than the basin's");
    }
    Ok((gt, dets))
}

/// Reads a JSON file, saying which file was at fault.
pub fn read_json(path: &Path, what: &str) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{what} {} is not JSON", path.display()))
}

/// A scene's truth, read from the GeoJSON `synth` writes (or a one-image COCO file).
pub fn read_scene_truth(truth: &Path) -> anyhow::Result<SceneTruth> {
    let name = truth
        .file_stem()
        .map_or("scene".into(), |s| s.to_string_lossy().into_owned());
    scene::truth_from_json(&name, &read_json(truth, "the scene truth")?)
        .map_err(|e| anyhow!("{}: {e}", truth.display()))
}

/// Truth and detections of one scene, read from the files `synth` and `detect` write.
pub fn read_scene(truth: &Path, dets: &Path) -> anyhow::Result<(SceneTruth, Vec<SceneDetection>)> {
    let t = read_scene_truth(truth)?;
    let d = scene::detections_from_json(&read_json(dets, "the detections")?)
        .map_err(|e| anyhow!("{}: {e}", dets.display()))?;
    Ok((t, d))
}

fn run_scene(gt: &Path, args: &Args) -> anyhow::Result<()> {
    let s = read_scene(gt, &args.dets)?;
    let report = scene::evaluate_scenes(&[s], args.score_threshold.unwrap_or(0.0))
        .context("evaluating the scene")?;
    print!("{}", scene::scenes_table(&report));
    if let Some(out) = &args.out {
        super::atomic_write(out, serde_json::to_string_pretty(&report)?.as_bytes())?;
        println!("report: {}", out.display());
    }
    Ok(())
}

fn is_geojson(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    ext.eq_ignore_ascii_case("geojson")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(gt) = args.gt.as_deref().filter(|g| args.scene || is_geojson(g)) {
        return run_scene(gt, &args);
    }
    let (gt, source) = load_ground_truth(&args)?;
    let dets =
        read_coco_results(&args.dets, Some(&gt)).context("reading the detections (--dets)")?;
    let (gt, dets) = basin_only(&gt, &source, &dets, args.class.as_deref())?;
    let opts = EvalOptions::with_max_dets(
        args.max_dets,
        args.score_threshold.unwrap_or(input::defaults::SCORE),
    );
    let report = evaluate(&gt, &dets, &opts).context("evaluating")?;
    print!("{}", report.to_table());
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&report).context("serialising the report")?;
        super::atomic_write(out, text.as_bytes())?;
        println!("report: {}", out.display());
    }
    if let Some(png) = &args.pr_png {
        // The curves are drawn at the largest limit: quote the mAP at that limit too.
        let (limit, map) = report
            .large_limit
            .as_ref()
            .map_or((100, report.map()), |l| (l.max_dets, l.ap));
        let title = format!("Precision-recall, maxDets={limit}, mAP@[.5:.95] {map:.3}");
        write_pr_png(png, &report.pr_curves, &title, (900, 650))?;
        println!("P-R curves: {}", png.display());
    }
    Ok(())
}

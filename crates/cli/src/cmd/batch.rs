//! `yolo-basin batch`: `detect` over an archive — every pair of every frame — with the model
//! loaded once per process, sharded over a Slurm or Kubernetes array, resumable.
//!
//! Each scene's outputs go to their own folder `OUTDIR/<stem>/` (detect's file names
//! inside), closed by a completion record written last ([`record`]); a per-shard manifest
//! ([`manifest`]) lists what this process did. A folder per scene rather than files side by
//! side: the record sits with the outputs it vouches for, a scene is one unit to check or
//! delete, and a results folder of 10⁵ scenes holds 10⁵ entries instead of 4·10⁵ (listing
//! large folders is what parallel file systems do slowest).

pub mod dates;
pub mod manifest;
pub mod record;
pub mod shard;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::detect::{self, LoadedModel};
use manifest::{Row, Status};
use record::{Check, MadeWith, Record};
use shard::Shard;

const EXAMPLES: &str = "\
Examples:
  yolo-basin batch 2020*.geo.diff_pha.tif -o results
  yolo-basin batch --list scenes.txt -o results --shard 3/100
  sbatch --array=0-99 deploy/slurm/scan.sbatch   # each task a shard (SLURM_ARRAY_TASK_*)
  yolo-basin merge results -o merged.gpkg
";

/// Search many scenes for subsidence basins: an archive, one task of a Slurm or Kubernetes
/// array.
///
/// Runs what `detect` runs on every scene given (arguments and `--list`), loading the model
/// once. Scenes are sorted and deduplicated; `--shard I/N` (or a Slurm array task, or a
/// Kubernetes indexed job, read from the environment) takes every N-th from the I-th, so
/// the tasks of an array share one list and one results folder with no coordinator.
///
/// Output (in --out-dir): a folder per scene named after its file (`<stem>/`, plus a short
/// digest of its path when two scenes share a name, as every LiCSAR frame's pairs do) with
/// detect's outputs and `batch-done.json`, the completion record written last; and
/// `manifest-<I>-of-<N>.csv`: scene, pair dates, status (done, skipped, failed), seconds,
/// basins, error. Rerunning is safe and cheap: scenes with complete outputs of the same
/// weights and options are skipped; a scene that fails is recorded and the others go on,
/// and the exit status is 1 if any failed. `yolo-basin merge` joins the results.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Scenes to search (any raster `detect` reads); added to those of --list.
    pub scenes: Vec<PathBuf>,
    /// A text file naming scenes, one path a line; blank lines and lines starting with `#`
    /// are skipped. Relative paths are taken from the current folder, as on the command line.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// The results folder (created if missing), shared by every shard.
    #[arg(short, long, value_name = "OUTDIR")]
    pub out_dir: PathBuf,
    /// Search shard I of N (from 0): the I-th, (I+N)-th, … scene of the sorted list. Wins
    /// over the environment: SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of
    /// SLURM_ARRAY_TASK_COUNT, else Kubernetes' JOB_COMPLETION_INDEX of --shard-count or
    /// JOB_COMPLETIONS. Without any: every scene.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// The number of shards, for a Kubernetes indexed job, or a Slurm array resubmitted in
    /// part (`sbatch --array=3,17`): then the array task id itself is the shard index.
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub shard_count: Option<usize>,
    /// Search every scene again, even those with complete outputs.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub options: detect::SceneOptions,
}

/// The least time between two rewrites of the manifest.
const MANIFEST_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let all = scene_list(&args.scenes, args.list.as_deref())?;
    let names = folder_names(&all);
    let (shard, origin) = shard::resolve(args.shard, args.shard_count, |k| std::env::var(k).ok())
        .map_err(anyhow::Error::msg)?;
    let mine = shard.select(&all.iter().zip(&names).collect::<Vec<_>>());
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating results folder {}", args.out_dir.display()))?;
    let manifest_path = manifest::path(&args.out_dir, shard);
    eprintln!(
        "batch: shard {shard} ({origin}): {} of {} scenes → {}",
        mine.len(),
        all.len(),
        args.out_dir.display()
    );
    let mut searcher = Searcher::new(&args)?;
    let bar = ProgressBar::new(mine.len() as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} scenes [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )?
        .progress_chars("=> "),
    );
    let mut rows = Vec::with_capacity(mine.len());
    let mut written = None;
    for (k, (scene, name)) in mine.iter().enumerate() {
        let row = searcher.scene(scene, &args.out_dir.join(name), args.force);
        log_row(&bar, k + 1, mine.len(), &row);
        rows.push(row);
        // After every scene, but at most once a second: a rerun skipping 10⁵ finished scenes
        // in milliseconds each would otherwise rewrite a growing file 10⁵ times.
        if written.is_none_or(|t: Instant| t.elapsed() >= MANIFEST_EVERY) {
            manifest::write(&manifest_path, &rows)?;
            written = Some(Instant::now());
        }
        bar.inc(1);
    }
    manifest::write(&manifest_path, &rows)?;
    bar.finish_and_clear();
    summarise(
        &rows,
        shard,
        &manifest_path,
        started.elapsed().as_secs_f64(),
    )
}

/// The scenes named on the command line and in `list`, sorted and deduplicated, so every
/// shard of an array sees the same sequence.
pub fn scene_list(given: &[PathBuf], list: Option<&Path>) -> Result<Vec<PathBuf>> {
    let mut all = given.to_vec();
    if let Some(list) = list {
        let text = std::fs::read_to_string(list)
            .with_context(|| format!("reading the scene list {}", list.display()))?;
        all.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(PathBuf::from),
        );
    }
    if all.is_empty() {
        bail!("no scenes: give scene files or --list FILE (one path a line)");
    }
    all.sort();
    all.dedup();
    Ok(all)
}

/// Each scene's output folder name: its file stem, with 8 hex digits of a digest of its
/// path appended where two scenes of the list share a stem (LiCSAR names the same pair
/// alike in every frame). Decided on the whole list, so every shard names alike.
pub fn folder_names(scenes: &[PathBuf]) -> Vec<String> {
    let stems: Vec<String> = scenes.iter().map(|p| stem_of(p)).collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for s in &stems {
        *uses.entry(s.as_str()).or_default() += 1;
    }
    scenes
        .iter()
        .zip(&stems)
        .map(|(path, stem)| {
            if uses.get(stem.as_str()).copied().unwrap_or(0) > 1 {
                let mut h = record::Fnv1a::default();
                h.update(path.to_string_lossy().as_bytes());
                format!("{stem}-{:08x}", h.0 >> 32)
            } else {
                stem.clone()
            }
        })
        .collect()
}

/// The file stem `detect` names its outputs after.
fn stem_of(scene: &Path) -> String {
    scene
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scene".into())
}

/// One line per scene where no bar is drawn (batch jobs log to files); failures always.
fn log_row(bar: &ProgressBar, k: usize, n: usize, row: &Row) {
    let line = format!(
        "[{k}/{n}] {} {} ({} basins, {:.1} s){}",
        row.status,
        row.scene.display(),
        row.basins,
        row.seconds,
        if row.error.is_empty() {
            String::new()
        } else {
            format!(": {}", row.error)
        }
    );
    if bar.is_hidden() {
        eprintln!("{line}");
    } else if row.status == Status::Failed {
        bar.println(line);
    }
}

/// The closing line; an error (exit status 1) when any scene failed.
fn summarise(rows: &[Row], shard: Shard, manifest: &Path, secs: f64) -> Result<()> {
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    let (done, skipped, failed) = (
        count(Status::Done),
        count(Status::Skipped),
        count(Status::Failed),
    );
    let basins: usize = rows.iter().map(|r| r.basins).sum();
    println!(
        "batch shard {shard}: {done} done, {skipped} skipped, {failed} failed of {} scenes, \
         {basins} basins, in {secs:.1} s; manifest {}",
        rows.len(),
        manifest.display()
    );
    if failed > 0 {
        bail!(
            "{failed} of {} scenes failed (status \"failed\" in {}); rerun the same command to retry them",
            rows.len(),
            manifest.display()
        );
    }
    Ok(())
}

/// The model (loaded when a scene first needs it, so a rerun with everything done costs
/// no load) and what every scene's outputs are made with.
struct Searcher {
    detect: detect::Args,
    weights: PathBuf,
    score: f64,
    made_with: MadeWith,
    model: Option<LoadedModel>,
}

impl Searcher {
    fn new(args: &Args) -> Result<Self> {
        let weights = args.options.weights_path();
        let d = detect_args(args, &weights);
        if !weights.is_file() {
            bail!(
                "model weights {} not found: pass --weights FILE (a .safetensors written by `yolo-basin train`)",
                weights.display()
            );
        }
        let header = model::weights::read_header(&weights)
            .with_context(|| format!("reading the header of weights {}", weights.display()))?;
        let (score, _) = detect::score_threshold(args.options.score, &header);
        let made_with = MadeWith {
            weights: weights.clone(),
            weights_digest: record::digest(&weights)?,
            options: options_of(&d, score),
        };
        Ok(Self {
            detect: d,
            weights,
            score,
            made_with,
            model: None,
        })
    }

    /// Searches `scene` into `dir` unless complete outputs are there; never fails: a
    /// failure (a panic included) is the row's error.
    fn scene(&mut self, scene: &Path, dir: &Path, force: bool) -> Row {
        let t0 = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| self.search_or_skip(scene, dir, force)))
            .unwrap_or_else(|panic| Err(anyhow::anyhow!("panicked: {}", panic_text(&panic))));
        let (status, basins, error) = match outcome {
            Ok((status, basins)) => (status, basins, String::new()),
            Err(e) => (Status::Failed, 0, format!("{e:#}")),
        };
        Row {
            scene: scene.to_path_buf(),
            dates: dates::iso_columns(dates::pair_of(scene)),
            status,
            seconds: t0.elapsed().as_secs_f64(),
            basins,
            error,
        }
    }

    fn search_or_skip(&mut self, scene: &Path, dir: &Path, force: bool) -> Result<(Status, usize)> {
        let scene_bytes = std::fs::metadata(scene)
            .with_context(|| format!("scene {}", scene.display()))?
            .len();
        if !force && let Check::Complete(rec) = record::check(dir, &self.made_with, scene_bytes) {
            return Ok((Status::Skipped, rec.basins));
        }
        let rec = self.search(scene, dir, scene_bytes)?;
        Ok((Status::Done, rec.basins))
    }

    /// `detect` on one scene: tiles at a low score, stitched, kept from the threshold up,
    /// written as detect writes them, then the record.
    fn search(&mut self, scene: &Path, dir: &Path, scene_bytes: u64) -> Result<Record> {
        let t0 = Instant::now();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating scene folder {}", dir.display()))?;
        record::remove(dir)?;
        let model = loaded(&mut self.model, &self.weights, &self.detect, self.score)?;
        let run = detect::detect_tiles_of(scene, &self.detect, model, false)?;
        let basins = detect::stitched_basins(&run, model, self.score, &self.detect);
        let written = detect::write_outputs(dir, scene, &basins, run.geo.as_ref())?;
        let rec = Record {
            format: record::FORMAT.into(),
            scene: scene.to_path_buf(),
            scene_bytes,
            made_with: self.made_with.clone(),
            yolo_basin: env!("CARGO_PKG_VERSION").into(),
            basins: basins.len(),
            seconds: t0.elapsed().as_secs_f64(),
            geo: run.geo.map(|g| record::SceneGeo {
                transform: g.transform.0,
                epsg: g.epsg,
            }),
            outputs: written
                .iter()
                .map(|p| record::output_of(p))
                .collect::<Result<_>>()?,
        };
        record::write(dir, &rec)?;
        Ok(rec)
    }
}

/// The model, loaded on first use. As in detect, tiles are searched down to a low score and
/// the threshold applies after stitching.
fn loaded<'m>(
    model: &'m mut Option<LoadedModel>,
    weights: &Path,
    args: &detect::Args,
    score: f64,
) -> Result<&'m LoadedModel> {
    if model.is_none() {
        let floor = super::scenes::LOW_SCORE.min(score);
        *model = Some(detect::load_model(weights, args, Some(floor))?);
    }
    model.as_ref().context("model not loaded")
}

/// detect's options from batch's (the same options, the weights resolved).
fn detect_args(a: &Args, weights: &Path) -> detect::Args {
    let mut d = detect::default_args();
    d.options = a.options.clone();
    d.options.weights = Some(weights.to_path_buf());
    d
}

/// The options that change a scene's outputs (not the batch size or device, which only
/// change the speed), with the score threshold resolved.
fn options_of(d: &detect::Args, score: f64) -> serde_json::Value {
    json!({
        "score": score,
        "iou": d.iou,
        "overlap": d.overlap,
        "window": d.window,
        "kind": d.kind.to_string(),
        "colormap": d.colormap.to_string(),
        "wavelength": d.wavelength,
        "goldstein": d.goldstein,
        "band": d.band.as_ref().map(ToString::to_string),
        "incidence": d.incidence,
        "nodata": d.nodata,
        "width": d.width,
    })
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_deduplicated_and_commented() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("scenes.txt");
        std::fs::write(&list, "# frame 106D\nb.tif\n\n  a.tif  \nc.tif\n").unwrap();
        let got = scene_list(&["c.tif".into(), "d.tif".into()], Some(&list)).unwrap();
        let want: Vec<PathBuf> = ["a.tif", "b.tif", "c.tif", "d.tif"]
            .map(PathBuf::from)
            .into();
        assert_eq!(got, want);
        assert!(scene_list(&[], None).is_err());
        std::fs::write(&list, "# nothing\n\n").unwrap();
        assert!(scene_list(&[], Some(&list)).is_err());
        assert!(scene_list(&[], Some(&dir.path().join("missing.txt"))).is_err());
    }

    #[test]
    fn folder_names_are_stems_made_unique_where_they_collide() {
        let scenes: Vec<PathBuf> = [
            "106D/20201230_20210111.geo.diff_pha.tif",
            "179A/20201230_20210111.geo.diff_pha.tif",
            "179A/20210111_20210123.geo.diff_pha.tif",
        ]
        .map(PathBuf::from)
        .into();
        let names = folder_names(&scenes);
        assert_eq!(names[2], "20210111_20210123.geo.diff_pha");
        for n in &names[..2] {
            assert!(n.starts_with("20201230_20210111.geo.diff_pha-"), "{n}");
            assert_eq!(n.len(), "20201230_20210111.geo.diff_pha-".len() + 8);
        }
        assert_ne!(names[0], names[1]);
        // The same list gives the same names (every shard computes them on its own).
        assert_eq!(folder_names(&scenes), names);
    }

    #[test]
    fn options_change_with_what_changes_outputs_only() {
        let parse = |extra: &[&str]| {
            #[derive(clap::Parser)]
            struct Wrap {
                #[command(flatten)]
                args: Args,
            }
            let argv = ["batch", "-o", "out"].iter().chain(extra);
            <Wrap as clap::Parser>::parse_from(argv).args
        };
        let w = Path::new("m.safetensors");
        let base = options_of(&detect_args(&parse(&[]), w), 0.35);
        let faster = options_of(&detect_args(&parse(&["--batch", "16"]), w), 0.35);
        assert_eq!(base, faster);
        let other = options_of(&detect_args(&parse(&["--overlap", "64"]), w), 0.35);
        assert_ne!(base, other);
        assert_ne!(base, options_of(&detect_args(&parse(&[]), w), 0.5));
    }

    #[test]
    fn batch_gives_detect_the_options_detect_would_parse() {
        #[derive(clap::Parser)]
        struct Batch {
            #[command(flatten)]
            args: Args,
        }
        #[derive(clap::Parser)]
        struct Detect {
            #[command(flatten)]
            args: detect::Args,
        }
        let flags = [
            "--kind",
            "los",
            "--colormap",
            "jet",
            "--wavelength",
            "0.24",
            "--overlap",
            "64",
            "--score",
            "0.4",
            "--iou",
            "0.3",
            "--window",
            "0",
            "--batch",
            "8",
            "--goldstein",
            "0.5",
            "--width",
            "300",
            "--band",
            "2",
            "--incidence",
            "39.5",
            "--nodata=-9999",
        ];
        let w = Path::new("m.safetensors");
        let batch =
            <Batch as clap::Parser>::parse_from(["batch", "-o", "out"].iter().chain(&flags));
        let detect = <Detect as clap::Parser>::parse_from(
            ["detect", "-w", "m.safetensors"].iter().chain(&flags),
        );
        let from_batch = detect_args(&batch.args, w);
        assert_eq!(options_of(&from_batch, 0.4), options_of(&detect.args, 0.4));
        assert_eq!(from_batch.weights.as_deref(), Some(w));
        assert_eq!((from_batch.batch, from_batch.device.as_str()), (8, "cpu"));
        // Not the defaults: every flag reached detect's options.
        assert_ne!(
            options_of(&from_batch, 0.4),
            options_of(&detect::default_args(), 0.4)
        );
    }
}

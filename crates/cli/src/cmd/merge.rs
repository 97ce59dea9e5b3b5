//! `yolo-basin merge`: every scene's basins from `batch` results in one GeoPackage, linked
//! into tracks across pairs.
//!
//! A scene counts when its completion record stands (every output it lists is there at its
//! size). Its basins are read from its GeoJSON, which is WGS84 longitude/latitude — the one
//! CRS every frame of an archive shares, whatever UTM zone each scene is in — and linked by
//! [`detect_core::tracks`]. Manifests are read for what did not finish: failed scenes are
//! reported, never merged.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use detect_core::output::{Basin, Frame, write_gpkg};
use detect_core::tracks::{self, Sighting, Tracks};
use detect_core::{BBox, Detection};
use raster::{GeoInfo, GeoTransform};
use serde_json::{Value, json};

use super::batch::manifest::{self, Status};
use super::batch::{dates, record};

const EXAMPLES: &str = "\
Examples:
  yolo-basin merge results -o merged.gpkg
  yolo-basin merge results more-results -o coal-basin.gpkg --csv coal-basin.basins.csv
";

/// Join `batch` results into one GeoPackage of every basin, linked into tracks.
///
/// Reads every scene folder of the results folders (the completion record and the
/// GeoJSON) and their manifests, and writes one layer `basins` in WGS84 longitude/latitude
/// (EPSG:4326): per basin its scene, pair dates, score, pixel box, footprint, ground size
/// and `track_id`. Footprints that overlap by at least half of the smaller one are the
/// same basin; tracks are the chains of such overlaps, across pairs and overlapping
/// frames. Beside the GeoPackage, `<name>.tracks.csv`: one row per track and pair (the
/// pair's best detection), sorted by track then date. Ids are deterministic: basins by
/// first date then position, tracks by their first basin, so two merges of the same
/// results give the same files.
#[derive(clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct Args {
    /// Results folders written by `yolo-basin batch` (all shards write to one).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The merged GeoPackage (replaced whole); `<name>.tracks.csv` goes beside it.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Also write every basin of the layer as CSV here (for spreadsheets and diffs).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Least overlap, as a share of the smaller footprint, that makes two detections one
    /// basin.
    #[arg(long, default_value_t = tracks::MIN_OVERLAP, value_parser = overlap_share)]
    pub min_overlap: f64,
}

pub fn run(args: Args) -> Result<()> {
    let mut found = Found::default();
    for dir in &args.dirs {
        found.read_results(dir)?;
    }
    found.report_manifests(&args.dirs)?;
    let sightings: Vec<Sighting> = found.basins.iter().map(MergedBasin::sighting).collect();
    let linked = tracks::link(&sightings, args.min_overlap);
    write_layer(&args.out, &found.basins, &linked)?;
    let tracks_csv = tracks_path(&args.out);
    super::atomic_write(
        &tracks_csv,
        tracks_table(&found.basins, &sightings, &linked).as_bytes(),
    )?;
    if let Some(p) = &args.csv {
        super::atomic_write(p, basins_table(&found.basins, &linked).as_bytes())?;
    }
    println!(
        "merged {} basins of {} scenes into {} tracks: {}, {}{}",
        found.basins.len(),
        found.scenes.len(),
        linked.count,
        args.out.display(),
        tracks_csv.display(),
        args.csv
            .as_ref()
            .map_or(String::new(), |p| format!(", {}", p.display()))
    );
    Ok(())
}

/// `--min-overlap`: a share in (0, 1] (0 would link footprints that merely touch).
fn overlap_share(s: &str) -> Result<f64, String> {
    super::number_in(s, |&v: &f64| v > 0.0 && v <= 1.0, "(0, 1]")
}

/// `merged.gpkg` → `merged.tracks.csv`.
pub fn tracks_path(out: &Path) -> PathBuf {
    out.with_extension("tracks.csv")
}

/// One basin of one scene, as read from the scene's outputs.
#[derive(Debug, Clone)]
struct MergedBasin {
    scene: String,
    dates: [String; 2],
    score: f64,
    /// In the scene's pixels.
    pixel_box: [f64; 4],
    /// The envelope of its WGS84 polygon: x longitude, y latitude.
    footprint: BBox,
    /// The box's ground size as the scene's outputs give it (None where unknown).
    sizes: [Option<f64>; 3],
}

impl MergedBasin {
    fn sighting(&self) -> Sighting {
        Sighting {
            footprint: self.footprint,
            first_date: self.dates[0].clone(),
            second_date: self.dates[1].clone(),
            scene: self.scene.clone(),
            score: self.score,
        }
    }
}

/// What the results folders hold.
#[derive(Default)]
struct Found {
    basins: Vec<MergedBasin>,
    /// Merged scenes and the folder holding each (a scene twice is refused).
    scenes: HashMap<PathBuf, PathBuf>,
    /// What the scenes were made with, by digest and options, to warn about mixtures.
    made_with: BTreeMap<String, usize>,
}

impl Found {
    /// Every complete scene folder of `dir`, in name order.
    fn read_results(&mut self, dir: &Path) -> Result<()> {
        let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("listing results folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        folders.sort();
        let (mut unfinished, mut unplaced) = (Vec::new(), 0usize);
        for folder in &folders {
            let Some(rec) = complete_record(folder) else {
                unfinished.push(folder.clone());
                continue;
            };
            if let Some(other) = self.scenes.insert(rec.scene.clone(), folder.clone()) {
                bail!(
                    "scene {} has results in both {} and {}: merge one of them",
                    rec.scene.display(),
                    other.display(),
                    folder.display()
                );
            }
            let key = format!(
                "weights {} options {}",
                rec.made_with.weights_digest, rec.made_with.options
            );
            *self.made_with.entry(key).or_default() += 1;
            match read_scene(folder, &rec)? {
                Some(b) => self.basins.extend(b),
                None => unplaced += 1,
            }
        }
        if !unfinished.is_empty() {
            eprintln!(
                "warning: {} folders of {} have no complete batch record (unfinished, failed or not batch output), left out: {}",
                unfinished.len(),
                dir.display(),
                sample(&unfinished)
            );
        }
        if unplaced > 0 {
            eprintln!(
                "warning: {unplaced} scenes of {} have no CRS that reprojects to WGS84 (radar \
                 geometry or an unknown CRS): their basins cannot be placed on the map, left out",
                dir.display()
            );
        }
        Ok(())
    }

    /// Warns about scenes the manifests say failed and that have no results, and about
    /// mixtures of models or options.
    fn report_manifests(&self, dirs: &[PathBuf]) -> Result<()> {
        let mut failed: BTreeMap<PathBuf, String> = BTreeMap::new();
        for dir in dirs {
            for path in manifest::find(dir)? {
                for row in manifest::read(&path)? {
                    if row.status == Status::Failed && !self.scenes.contains_key(&row.scene) {
                        failed.insert(row.scene, row.error);
                    }
                }
            }
        }
        if !failed.is_empty() {
            let list: Vec<String> = failed
                .iter()
                .take(5)
                .map(|(s, e)| format!("{} ({e})", s.display()))
                .collect();
            eprintln!(
                "warning: {} scenes failed in batch and have no results: {}{}",
                failed.len(),
                list.join("; "),
                if failed.len() > 5 { "; …" } else { "" }
            );
        }
        if self.made_with.len() > 1 {
            eprintln!(
                "warning: the scenes were searched with {} different models or option sets: {:?}",
                self.made_with.len(),
                self.made_with
            );
        }
        Ok(())
    }
}

/// The first few paths, for a warning.
fn sample(paths: &[PathBuf]) -> String {
    let mut s: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 3 {
        s.push("…".into());
    }
    s.join(", ")
}

/// The folder's record where it stands (outputs all there at their sizes).
fn complete_record(folder: &Path) -> Option<record::Record> {
    let rec = record::read(folder).ok().flatten()?;
    record::intact(folder, &rec).ok()?;
    Some(rec)
}

/// The basins of one scene folder; `None` when its GeoJSON is not in WGS84.
fn read_scene(folder: &Path, rec: &record::Record) -> Result<Option<Vec<MergedBasin>>> {
    let geojson = rec
        .outputs
        .iter()
        .find(|o| o.file.ends_with(".geojson"))
        .map(|o| folder.join(&o.file))
        .with_context(|| format!("{}: the record lists no GeoJSON", folder.display()))?;
    let text = std::fs::read_to_string(&geojson)
        .with_context(|| format!("reading {}", geojson.display()))?;
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", geojson.display()))?;
    if v.get("yolo_basin:crs").and_then(Value::as_str) != Some("OGC:CRS84") {
        return Ok(None);
    }
    let scene = rec.scene.to_string_lossy().into_owned();
    let dates = dates::iso_columns(dates::pair_of(&rec.scene));
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .with_context(|| format!("{}: no features array", geojson.display()))?;
    features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            basin_of(f, &scene, &dates)
                .with_context(|| format!("{}: feature {}", geojson.display(), i + 1))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// A GeoJSON feature of detect's as a merged basin.
fn basin_of(f: &Value, scene: &str, dates: &[String; 2]) -> Result<MergedBasin> {
    let props = f.get("properties").context("no properties")?;
    let num = |k: &str| props.get(k).and_then(Value::as_f64);
    let score = num("score").context("no score")?;
    let pixel_box: [f64; 4] = props
        .get("pixel_box")
        .and_then(|b| serde_json::from_value(b.clone()).ok())
        .context("no pixel_box of four numbers")?;
    let ring = f
        .pointer("/geometry/coordinates/0")
        .and_then(Value::as_array)
        .context("no polygon ring")?;
    let mut env = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in ring {
        let (Some(lon), Some(lat)) = (
            p.get(0).and_then(Value::as_f64),
            p.get(1).and_then(Value::as_f64),
        ) else {
            bail!("a ring point that is not [longitude, latitude]");
        };
        env = [
            env[0].min(lon),
            env[1].min(lat),
            env[2].max(lon),
            env[3].max(lat),
        ];
    }
    let footprint = BBox::new(env[0], env[1], env[2], env[3]);
    if !footprint.is_proper() {
        bail!("the polygon encloses no area");
    }
    Ok(MergedBasin {
        scene: scene.to_string(),
        dates: dates.clone(),
        score,
        pixel_box,
        footprint,
        sizes: [num("width_m"), num("height_m"), num("area_m2")],
    })
}

/// The basins in id order.
fn in_order<'a>(
    basins: &'a [MergedBasin],
    linked: &'a Tracks,
) -> impl Iterator<Item = (usize, &'a MergedBasin, usize)> {
    linked
        .order
        .iter()
        .enumerate()
        .filter_map(|(k, &i)| Some((k + 1, basins.get(i)?, *linked.track.get(i)?)))
}

/// The GeoPackage layer: footprints in EPSG:4326, one row per basin in id order.
fn write_layer(out: &Path, basins: &[MergedBasin], linked: &Tracks) -> Result<()> {
    let rows: Vec<Basin> = in_order(basins, linked)
        .map(|(_, b, track)| {
            let mut layer = Basin::from(Detection {
                bbox: b.footprint,
                score: b.score,
            });
            let [x1, y1, x2, y2] = b.pixel_box;
            for (k, v) in [
                ("track_id", json!(track)),
                ("scene", json!(b.scene)),
                ("first_date", json!(b.dates[0])),
                ("second_date", json!(b.dates[1])),
                ("pixel_x1", json!(x1)),
                ("pixel_y1", json!(y1)),
                ("pixel_x2", json!(x2)),
                ("pixel_y2", json!(y2)),
                ("box_area_m2", json!(b.sizes[2])),
            ] {
                layer.stats.insert(k.into(), v);
            }
            layer
        })
        .collect();
    // Longitude/latitude in the place of pixels: the layer's boxes are the footprints.
    let lonlat = GeoInfo::new(GeoTransform([0.0, 1.0, 0.0, 0.0, 0.0, 1.0]), Some(4326));
    write_gpkg(out, &rows, &Frame::new(Some(&lonlat)), "merged")
        .with_context(|| format!("writing {}", out.display()))
}

/// One row per (track, pair): the pair's best detection, sorted by track then dates.
fn tracks_table(basins: &[MergedBasin], sightings: &[Sighting], linked: &Tracks) -> String {
    let id_of: HashMap<usize, usize> = linked
        .order
        .iter()
        .enumerate()
        .map(|(k, &i)| (i, k + 1))
        .collect();
    let mut s =
        String::from("track_id,first_date,second_date,basin_id,scene,score,area_m2,detections\n");
    for row in tracks::by_pair(sightings, linked) {
        let Some(b) = basins.get(row.best) else {
            continue;
        };
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{}",
            row.track,
            b.dates[0],
            b.dates[1],
            id_of.get(&row.best).copied().unwrap_or(0),
            csv_field(&b.scene),
            b.score,
            b.sizes[2].map_or(String::new(), |a| a.to_string()),
            row.sightings
        );
    }
    s
}

/// Every basin in id order: the layer's attributes and its footprint's envelope.
fn basins_table(basins: &[MergedBasin], linked: &Tracks) -> String {
    let mut s = String::from(
        "basin_id,track_id,scene,first_date,second_date,score,x1,y1,x2,y2,\
         lon_min,lat_min,lon_max,lat_max,width_m,height_m,area_m2\n",
    );
    for (id, b, track) in in_order(basins, linked) {
        let [x1, y1, x2, y2] = b.pixel_box;
        let f = &b.footprint;
        let size = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let _ = writeln!(
            s,
            "{id},{track},{},{},{},{},{x1},{y1},{x2},{y2},{},{},{},{},{},{},{}",
            csv_field(&b.scene),
            b.dates[0],
            b.dates[1],
            b.score,
            f.x1,
            f.y1,
            f.x2,
            f.y2,
            size(b.sizes[0]),
            size(b.sizes[1]),
            size(b.sizes[2]),
        );
    }
    s
}

/// RFC 4180 quoting where needed (scene paths may hold commas).
fn csv_field(t: &str) -> String {
    if t.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", t.replace('"', "\"\""))
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(ring: &[[f64; 2]], score: f64) -> Value {
        json!({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"score": score, "pixel_box": [1.0, 2.0, 3.0, 4.0],
                           "width_m": 100.0, "height_m": null, "area_m2": 5000.0},
        })
    }

    #[test]
    fn footprint_is_the_rings_envelope() {
        let ring = [
            [117.5, 33.9],
            [117.52, 33.91],
            [117.51, 33.93],
            [117.49, 33.92],
            [117.5, 33.9],
        ];
        let dates = ["2021-01-01".to_string(), "2021-01-13".to_string()];
        let b = basin_of(&feature(&ring, 0.7), "s.tif", &dates).unwrap();
        assert_eq!(b.footprint, BBox::new(117.49, 33.9, 117.52, 33.93));
        assert_eq!(b.pixel_box, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(b.sizes, [Some(100.0), None, Some(5000.0)]);
        assert!(basin_of(&feature(&[[1.0, 1.0], [1.0, 1.0]], 0.7), "s", &dates).is_err());
        let mut no_score = feature(&ring, 0.7);
        no_score["properties"]
            .as_object_mut()
            .unwrap()
            .remove("score");
        assert!(basin_of(&no_score, "s", &dates).is_err());
    }

    #[test]
    fn tables_follow_ids_and_tracks() {
        let mk = |scene: &str, d: [&str; 2], x: f64, score: f64| MergedBasin {
            scene: scene.into(),
            dates: d.map(String::from),
            score,
            pixel_box: [0.0, 0.0, 10.0, 10.0],
            footprint: BBox::new(x, 50.0, x + 0.01, 50.01),
            sizes: [None, None, Some(1.0e6)],
        };
        let basins = vec![
            mk("b.tif", ["2021-01-13", "2021-01-25"], 18.0, 0.6),
            mk("a,1.tif", ["2021-01-01", "2021-01-13"], 18.002, 0.9),
            mk("a,1.tif", ["2021-01-01", "2021-01-13"], 19.0, 0.8),
        ];
        let sightings: Vec<Sighting> = basins.iter().map(MergedBasin::sighting).collect();
        let linked = tracks::link(&sightings, tracks::MIN_OVERLAP);
        let t = tracks_table(&basins, &sightings, &linked);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[1],
            "1,2021-01-01,2021-01-13,1,\"a,1.tif\",0.9,1000000,1"
        );
        assert_eq!(lines[2], "1,2021-01-13,2021-01-25,3,b.tif,0.6,1000000,1");
        assert_eq!(
            lines[3],
            "2,2021-01-01,2021-01-13,2,\"a,1.tif\",0.8,1000000,1"
        );
        let b = basins_table(&basins, &linked);
        assert!(
            b.lines()
                .nth(1)
                .unwrap()
                .starts_with("1,1,\"a,1.tif\",2021-01-01,")
        );
        assert!(
            b.lines()
                .nth(3)
                .unwrap()
                .starts_with("3,1,b.tif,2021-01-13,")
        );
        assert_eq!(
            tracks_path(Path::new("out/m.gpkg")),
            Path::new("out/m.tracks.csv")
        );
    }
}

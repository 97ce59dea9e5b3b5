//! The data-set writer: tiles with their rasters, pictures and labels in every format, the
//! COCO file, splits and the manifest (layout in `docs/simulator.md`).

use crate::config::SynthConfig;
use crate::error::SynthError;
use crate::labels::PixBox;
use crate::picture::{RenderStyle, random_style, render, write_png_fast};
use crate::rng::{derive, rng_for, stream};
use crate::scene::{AreaConfig, MineLayout, SimArea, simulate};
use detect_core::BBox;
use detect_core::labels::coco::{
    CocoAnnotation, CocoCategory, CocoDataset, CocoImage, category_id_of,
};
use detect_core::labels::{ImageLabels, LabeledBox, VocMeta, write_voc_xml, write_yolo_txt};
use rand::Rng;
use rand::seq::SliceRandom;
use raster::{
    Compression, GeoInfo, GeoTiffWriter, GeoTransform, Pixels, RasterSpec, SampleType, WriteOptions,
};
use rayon::prelude::*;
use serde_json::{Map, Value, json};
use std::fs;
use std::path::{Path, PathBuf};

/// Name of the single class.
pub const CLASS_NAME: &str = "subsidence_basin";
/// The CRS all simulated rasters claim: WGS 84 / UTM zone 50N (Jining, Huaibei).
pub const EPSG: u32 = 32650;
/// Margin simulated around each tile and cropped away.
pub const TILE_PAD: usize = 16;

/// What a run wrote.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub tiles: usize,
    /// Of `tiles`, those cut from whole training scenes.
    pub scene_tiles: usize,
    pub negative_tiles: usize,
    pub filtered_tiles: usize,
    pub basins: usize,
    pub truncated_basins: usize,
    pub decorrelated_centres: usize,
    pub empty_positive_tiles: usize,
    pub split_counts: [usize; 3],
    pub scenes: usize,
    pub scene_basins: usize,
}

/// Refuses a non-empty `out` unless `force`; creates the sub-directories.
pub fn prepare_out_dir(out: &Path, force: bool, dirs: &[&str]) -> Result<(), SynthError> {
    if out.exists() {
        let mut it = fs::read_dir(out).map_err(|e| SynthError::io(out, e))?;
        if it.next().is_some() && !force {
            return Err(SynthError::OutDirNotEmpty {
                path: out.to_path_buf(),
            });
        }
    }
    for d in dirs {
        let p = out.join(d);
        fs::create_dir_all(&p).map_err(|e| SynthError::io(&p, e))?;
    }
    Ok(())
}

/// A plausible UTM 50N position for an area of `w × h` pixels (pixel-corner origin), in
/// the Jining–Huaibei coal belt.
pub fn random_georef<R: Rng>(rng: &mut R, dx: f64, dy: f64) -> GeoInfo {
    let e = (rng.random_range(400_000.0..520_000.0f64) / 10.0).round() * 10.0;
    let n = (rng.random_range(3_690_000.0..3_975_000.0f64) / 10.0).round() * 10.0;
    GeoInfo::new(GeoTransform::north_up(e, n, dx, -dy), Some(EPSG))
}

/// How a float32 raster is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Raw,
    Deflate,
    /// Deflate after the floating-point predictor (smaller, slower).
    DeflatePredicted,
}

impl Storage {
    /// Phase and coherence: noisy, they shrink by only 12–20 % and writing takes about as
    /// long as simulating, so they are raw unless the user asks (`--deflate`).
    pub fn noisy(deflate: bool) -> Self {
        if deflate {
            Storage::DeflatePredicted
        } else {
            Storage::Raw
        }
    }
}

/// Float32 GeoTIFF with geo tags. The truth raster (mostly zeros) is always deflated.
pub fn write_f32(
    path: &Path,
    w: usize,
    h: usize,
    data: &[f32],
    geo: &GeoInfo,
    storage: Storage,
) -> Result<(), SynthError> {
    let spec = RasterSpec {
        width: w,
        height: h,
        bands: 1,
        sample: SampleType::F32,
        geo: Some(*geo),
        nodata: None,
    };
    let opts = WriteOptions {
        compression: match storage {
            Storage::Raw => Compression::None,
            _ => Compression::Deflate,
        },
        predictor: storage == Storage::DeflatePredicted,
        ..WriteOptions::default()
    };
    // In bands of rows: a scene's raster is a quarter of a gigabyte, never copied whole.
    let mut out = GeoTiffWriter::create(path, spec, opts)?;
    for rows in data.chunks((w * 256).max(1)) {
        out.write_rows(&Pixels::F32(rows.to_vec()))?;
    }
    out.finish()?;
    Ok(())
}

/// `[x, y, w, h]` of a pixel box.
pub fn coco_box(b: &PixBox) -> [f64; 4] {
    [
        b.x1 as f64,
        b.y1 as f64,
        b.width() as f64,
        b.height() as f64,
    ]
}

/// Per-panel facts for the annotation's `panel` field.
pub fn panel_json(a: &SimArea, idx: &[usize]) -> Value {
    Value::Array(
        idx.iter()
            .map(|&i| {
                let p = &a.panels[i];
                json!({
                    "params": p.panel,
                    "face": p.face,
                    "strike_deg": p.strike_deg,
                    "origin_m": [p.origin_m.0, p.origin_m.1],
                    "peak_los_m": p.peak_los_m,
                    "developed_subsidence_m": a.panel_amplitude_m[i],
                    "final_w0_m": p.panel.w0(),
                    "mine_id": p.mine_id,
                })
            })
            .collect(),
    )
}

/// Annotation fields beyond the box, shared by tiles and scenes.
pub fn basin_extra(
    a: &SimArea,
    b: &crate::scene::Basin,
    threshold_m: f64,
    mine_base: usize,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "bbox_half_fringe".into(),
        b.bbox_half_fringe
            .as_ref()
            .map_or(Value::Null, |h| json!(coco_box(h))),
    );
    m.insert("max_los_m".into(), json!(b.max_abs_los_m));
    m.insert("panel".into(), panel_json(a, &b.panels));
    m.insert("truncated".into(), json!(b.truncated));
    let mut mines: Vec<usize> = b
        .panels
        .iter()
        .map(|&i| a.panels[i].mine_id + mine_base)
        .collect();
    mines.sort_unstable();
    mines.dedup();
    m.insert("mine_id".into(), json!(mines.first().copied().unwrap_or(0)));
    m.insert("mine_ids".into(), json!(mines));
    m.insert("decorrelated_centre".into(), json!(b.decorrelated_centre));
    m.insert("label_threshold_m".into(), json!(threshold_m));
    m
}

/// Facts about an area for the COCO image entry and the scene GeoJSON.
pub fn area_extra(a: &SimArea, style: &RenderStyle) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("viewing".into(), json!(a.viewing));
    m.insert("filter".into(), json!(a.filter));
    m.insert("render".into(), json!(style));
    m.insert("nuisance".into(), json!(a.nuisance));
    m.insert("coherence_model".into(), json!(a.coherence_record));
    m
}

/// One tile's outputs, before annotation ids are assigned.
pub struct TileOut {
    pub(crate) stem: String,
    pub(crate) split: String,
    pub(crate) image: CocoImage,
    pub(crate) annotations: Vec<CocoAnnotation>,
    pub(crate) negative: bool,
    pub(crate) filtered: bool,
    pub(crate) truncated: usize,
    pub(crate) decorrelated: usize,
}

fn write_tile(
    cfg: &SynthConfig,
    out: &Path,
    index: usize,
    split: &str,
) -> Result<TileOut, SynthError> {
    let mut kind_rng = rng_for(cfg.seed, stream::TILE + 100, index as u64);
    let negative = kind_rng.random_bool(cfg.negative_fraction);
    let area_cfg = AreaConfig {
        w: cfg.tile_size,
        h: cfg.tile_size,
        pad: TILE_PAD,
        looks: cfg.looks,
        orbit: cfg.orbit,
        layout: MineLayout::Tile { negative },
        filtered_fraction: cfg.filtered_fraction,
        label_threshold_m: cfg.label_threshold.metres(),
        min_box_px: cfg.min_box_px,
        conditions: cfg.conditions.clone(),
    };
    let a = simulate(&area_cfg, derive(cfg.seed, stream::TILE, index as u64));
    let tile = AreaTile {
        stem: format!("tile_{index:05}"),
        image_id: index as u64 + 1,
        split,
        negative,
    };
    write_area_tile(cfg, out, &a, &tile, &mut kind_rng)
}

/// Names and role of one tile of a data set.
pub struct AreaTile<'a> {
    pub stem: String,
    pub image_id: u64,
    pub split: &'a str,
    /// Simulated as a pure negative (no mine placed).
    pub negative: bool,
}

/// Writes a simulated tile's rasters, picture and labels; `kind_rng` draws its rendering
/// style and map position.
pub fn write_area_tile<R: Rng>(
    cfg: &SynthConfig,
    out: &Path,
    a: &SimArea,
    tile: &AreaTile,
    kind_rng: &mut R,
) -> Result<TileOut, SynthError> {
    let stem = &tile.stem;
    let style = random_style(kind_rng, cfg.colormap);
    let geo = random_georef(kind_rng, a.viewing.dx_m, a.viewing.dy_m);
    let (w, h) = (a.w, a.h);
    let noisy = Storage::noisy(cfg.deflate);
    for (dir, data, storage) in [
        ("images", &a.phase, noisy),
        ("coherence", &a.coherence, noisy),
        ("los", &a.los, Storage::Deflate),
    ] {
        write_f32(
            &out.join(format!("{dir}/{stem}.tif")),
            w,
            h,
            data,
            &geo,
            storage,
        )?;
    }
    let png_name = format!("{stem}.png");
    write_png_fast(
        &out.join("png").join(&png_name),
        w,
        h,
        &render(&a.phase, w, h, &style),
    )?;

    let threshold = cfg.label_threshold.metres();
    let boxes: Vec<LabeledBox> = a
        .basins
        .iter()
        .map(|b| LabeledBox {
            bbox: BBox {
                x1: b.bbox.x1 as f64,
                y1: b.bbox.y1 as f64,
                x2: b.bbox.x2 as f64,
                y2: b.bbox.y2 as f64,
            },
            class_id: 0,
            extra: basin_extra(a, b, threshold, 0),
        })
        .collect();
    let labels = ImageLabels {
        file_name: png_name.clone(),
        width: w as u32,
        height: h as u32,
        boxes,
    };
    write_yolo_txt(&out.join(format!("labels/{stem}.txt")), &labels)?;
    // LabelImg writes only the box and its flags (truncated from the geometry); the
    // extras stay in the COCO file.
    let voc_labels = ImageLabels {
        boxes: labels
            .boxes
            .iter()
            .map(|b| LabeledBox::new(b.bbox, 0))
            .collect(),
        ..labels.clone()
    };
    write_voc_xml(
        &out.join(format!("voc/{stem}.xml")),
        &voc_labels,
        &VocMeta::labelimg("png", vec![CLASS_NAME.to_string()]),
    )?;

    let mut extra = area_extra(a, &style);
    extra.insert("split".into(), json!(tile.split));
    extra.insert("stem".into(), json!(stem));
    extra.insert("negative".into(), json!(tile.negative));
    extra.insert("geotransform".into(), json!(geo.transform.0));
    extra.insert("epsg".into(), json!(EPSG));
    let annotations = labels
        .boxes
        .iter()
        .map(|b| CocoAnnotation {
            id: 0,
            image_id: tile.image_id,
            category_id: category_id_of(0),
            bbox: [
                b.bbox.x1,
                b.bbox.y1,
                b.bbox.x2 - b.bbox.x1,
                b.bbox.y2 - b.bbox.y1,
            ],
            area: (b.bbox.x2 - b.bbox.x1) * (b.bbox.y2 - b.bbox.y1),
            iscrowd: 0,
            extra: b.extra.clone(),
        })
        .collect();
    Ok(TileOut {
        stem: stem.clone(),
        split: tile.split.to_string(),
        image: CocoImage {
            id: tile.image_id,
            file_name: png_name,
            width: w as u32,
            height: h as u32,
            extra,
        },
        annotations,
        negative: tile.negative,
        filtered: a.filter.is_some(),
        truncated: a.basins.iter().filter(|b| b.truncated).count(),
        decorrelated: a.basins.iter().filter(|b| b.decorrelated_centre).count(),
    })
}

/// Split of each tile index: a seeded shuffle, the first share train, then val, then test.
pub fn assign_splits(cfg: &SynthConfig) -> Vec<usize> {
    let n = cfg.tiles;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng_for(cfg.seed, stream::SPLIT, 0));
    let n_train = (n as f64 * cfg.split[0]).round() as usize;
    let n_val = if cfg.split[2] == 0.0 {
        n - n_train.min(n)
    } else {
        ((n as f64 * cfg.split[1]).round() as usize).min(n - n_train.min(n))
    };
    let mut split = vec![2usize; n];
    for (k, &i) in idx.iter().enumerate() {
        split[i] = if k < n_train {
            0
        } else if k < n_train + n_val {
            1
        } else {
            2
        };
    }
    split
}

pub const SPLIT_NAMES: [&str; 3] = ["train", "val", "test"];

/// Writes the tiles of a data set into `out` (already prepared), calling `progress` after
/// each tile. Returns the COCO data set and a summary.
pub fn write_tiles(
    cfg: &SynthConfig,
    out: &Path,
    progress: &(dyn Fn() + Sync),
) -> Result<(CocoDataset, Summary), SynthError> {
    let splits = assign_splits(cfg);
    let mut tiles: Vec<TileOut> = (0..cfg.tiles)
        .into_par_iter()
        .map(|i| {
            let t = write_tile(cfg, out, i, SPLIT_NAMES[splits[i]]);
            progress();
            t
        })
        .collect::<Result<_, _>>()?;
    tiles.extend(crate::scene_tiles::write_scene_tiles(
        cfg, out, cfg.tiles, progress,
    )?);
    let mut summary = Summary {
        tiles: tiles.len(),
        scene_tiles: cfg.scene_tiles,
        ..Summary::default()
    };
    let mut split_lists = [String::new(), String::new(), String::new()];
    let mut images = Vec::with_capacity(tiles.len());
    let mut annotations = Vec::new();
    for t in tiles {
        summary.negative_tiles += usize::from(t.negative);
        summary.filtered_tiles += usize::from(t.filtered);
        summary.truncated_basins += t.truncated;
        summary.decorrelated_centres += t.decorrelated;
        summary.empty_positive_tiles += usize::from(!t.negative && t.annotations.is_empty());
        if let Some(k) = SPLIT_NAMES.iter().position(|&n| n == t.split) {
            summary.split_counts[k] += 1;
            split_lists[k].push_str(&t.stem);
            split_lists[k].push('\n');
        }
        for mut a in t.annotations {
            a.id = annotations.len() as u64 + 1;
            annotations.push(a);
        }
        images.push(t.image);
    }
    summary.basins = annotations.len();
    let coco = CocoDataset {
        info: Some(json!({
            "description": "yolo-basin simulated Sentinel-1 interferograms of longwall mining subsidence",
            "version": env!("CARGO_PKG_VERSION"),
            "seed": cfg.seed,
        })),
        images,
        annotations,
        categories: vec![CocoCategory {
            id: category_id_of(0),
            name: CLASS_NAME.into(),
            supercategory: Some("deformation".into()),
            extra: Map::new(),
        }],
        extra: Map::new(),
    };
    for (name, body) in SPLIT_NAMES.iter().zip(split_lists) {
        let p = out.join("splits").join(format!("{name}.txt"));
        raster::atomic::write(&p, body).map_err(|e| SynthError::io(&p, e))?;
    }
    Ok((coco, summary))
}

/// Adds written tiles to the data set in `out`: their images and annotations to
/// `annotations.json` (ids after the highest there) and their stems to `splits/`. The
/// COCO file is replaced atomically.
pub fn append_tiles(out: &Path, tiles: Vec<TileOut>) -> Result<usize, SynthError> {
    let path = out.join("annotations.json");
    let mut coco =
        detect_core::labels::coco::read_coco_dataset(&path).map_err(|e| SynthError::BadConfig {
            field: "data set",
            value: format!("{}: {e}", path.display()),
            expected: "a data set written by `yolo-basin synth` (annotations.json)",
        })?;
    let first_image = coco.images.iter().map(|i| i.id).max().unwrap_or(0) + 1;
    let mut next_ann = coco.annotations.iter().map(|a| a.id).max().unwrap_or(0) + 1;
    let mut lists = [String::new(), String::new(), String::new()];
    let n = tiles.len();
    for (next_image, mut t) in (first_image..).zip(tiles) {
        t.image.id = next_image;
        for mut a in t.annotations {
            (a.id, a.image_id) = (next_ann, next_image);
            next_ann += 1;
            coco.annotations.push(a);
        }
        coco.images.push(t.image);
        if let Some(k) = SPLIT_NAMES.iter().position(|&s| s == t.split) {
            lists[k].push_str(&t.stem);
            lists[k].push('\n');
        }
    }
    for (name, body) in SPLIT_NAMES.iter().zip(lists) {
        let p = out.join("splits").join(format!("{name}.txt"));
        let mut old = fs::read_to_string(&p).unwrap_or_default();
        old.push_str(&body);
        raster::atomic::write(&p, old).map_err(|e| SynthError::io(&p, e))?;
    }
    write_json(&path, &coco)?;
    Ok(n)
}

/// Writes JSON with a trailing newline, atomically.
pub fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<(), SynthError> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| SynthError::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    s.push('\n');
    raster::atomic::write(path, s).map_err(|e| SynthError::io(path, e))
}

/// The manifest: seed, parameters, version, counts and the label convention.
pub fn manifest(cfg: &SynthConfig, summary: &Summary) -> Value {
    json!({
        "generator": "yolo-basin synth",
        "version": env!("CARGO_PKG_VERSION"),
        "seed": cfg.seed,
        "config": cfg,
        "label_threshold_m": cfg.label_threshold.metres(),
        "counts": summary,
        "crs": format!("EPSG:{EPSG}"),
        "phase_convention": "phase = -4*pi*d_los/lambda, d_los positive towards the satellite (subsidence gives positive phase); wrapped to (-pi, pi]",
        "layout": {
            "images/<stem>.tif": "float32 wrapped phase (rad), Goldstein-filtered or not (see annotations.json image.filter)",
            "coherence/<stem>.tif": "float32 coherence estimated from the unfiltered interferogram, 3x3 window",
            "los/<stem>.tif": "float32 true LOS deformation of the basins only (m, towards the satellite positive)",
            "png/<stem>.png": "rendered wrapped phase (palette, offset, direction in image.render)",
            "labels/<stem>.txt": "YOLO txt, class 0",
            "voc/<stem>.xml": "Pascal VOC as LabelImg writes it",
            "splits/{train,val,test}.txt": "one stem per line",
            "scenes/scene_<k>.*": "whole scenes: .tif phase, _coh.tif, _los.tif, .png, .geojson of true boxes (map coordinates)"
        },
        "label_convention": [
            "A box is the axis-aligned bounding box, clipped to the tile, of the pixels where the basin's own noise-free LOS deformation reaches the label threshold (default lambda/16 = 3.47 mm, pi/4 of phase).",
            "One box per visually separate bowl. A basin is a group of panels: panels (of one mine or not) whose visible regions touch or overlap are one basin, as people box one connected fringe pattern; panels separated by undisturbed ground (below the threshold) are separate basins with separate boxes, even where one box overlaps the other. So every box holds all its basin's visible pixels, and no pixel is visible in two basins.",
            "Tiles cut from training scenes (stile_*) relabel each scene basin inside the tile: the box of its visible pixels there; parts narrower than min_box_px or peaking below lambda/8 in the tile are left unlabelled (they stay in the rasters).",
            "bbox_half_fringe is the box at lambda/4 (half a fringe); null when the basin never reaches it inside the tile.",
            "Basins whose visible part in a tile is smaller than min_box_px in width or height are removed from that tile's simulation altogether (not just unlabelled), so nothing visible goes unlabelled.",
            "truncated: the box touches the tile edge (the basin continues outside). Boxes use pixel edges: x2 = last column + 1."
        ],
    })
}

/// Paths of a scene's files.
pub fn scene_paths(out: &Path, k: usize) -> [PathBuf; 5] {
    let d = out.join("scenes");
    [
        d.join(format!("scene_{k}.tif")),
        d.join(format!("scene_{k}_coh.tif")),
        d.join(format!("scene_{k}_los.tif")),
        d.join(format!("scene_{k}.png")),
        d.join(format!("scene_{k}.geojson")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_fractions() {
        let cfg = SynthConfig {
            tiles: 1160,
            ..SynthConfig::default()
        };
        let s = assign_splits(&cfg);
        let train = s.iter().filter(|&&v| v == 0).count();
        let val = s.iter().filter(|&&v| v == 1).count();
        // The paper: 812 train, 348 val.
        assert_eq!((train, val), (812, 348));
    }

    #[test]
    fn out_dir_must_be_empty_unless_forced() {
        let d = tempfile::tempdir().expect("tempdir");
        fs::write(d.path().join("x"), "1").expect("write");
        let e = prepare_out_dir(d.path(), false, &["a"]).expect_err("not empty");
        assert!(matches!(e, SynthError::OutDirNotEmpty { .. }));
        prepare_out_dir(d.path(), true, &["a"]).expect("forced");
        assert!(d.path().join("a").is_dir());
    }

    /// Every storage reads back the exact values with the geotransform, and a band of more
    /// than 256 rows (written in pieces) is whole; deflating a smooth field shrinks it.
    #[test]
    fn rasters_round_trip_in_every_storage() {
        let d = tempfile::tempdir().expect("tempdir");
        let (w, h) = (37, 300);
        let data: Vec<f32> = (0..w * h)
            .map(|i| ((i % w) as f32 * 0.1).sin() + (i / w) as f32 * 0.01)
            .collect();
        let geo = GeoInfo::new(
            GeoTransform::north_up(500_000.0, 3_800_000.0, 18.5, -13.9),
            Some(EPSG),
        );
        let mut sizes = Vec::new();
        for (k, storage) in [Storage::Raw, Storage::Deflate, Storage::DeflatePredicted]
            .into_iter()
            .enumerate()
        {
            let path = d.path().join(format!("r{k}.tif"));
            write_f32(&path, w, h, &data, &geo, storage).expect("write");
            let r = raster::read_geotiff(&path).expect("read");
            assert_eq!((r.width, r.height), (w, h));
            assert_eq!(r.pixels, Pixels::F32(data.clone()), "{storage:?}");
            assert_eq!(r.geo.map(|g| g.transform), Some(geo.transform));
            sizes.push(std::fs::metadata(&path).expect("size").len());
        }
        assert!(sizes[1] < sizes[0] && sizes[2] < sizes[0], "{sizes:?}");
    }
}

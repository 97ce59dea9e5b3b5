//! A small data set written in the documented layout, read back with the project's own
//! readers; same seed → same bytes whatever the thread count.

use detect_core::labels::coco::read_coco_dataset;
use detect_core::labels::{read_voc_xml, read_yolo_txt};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use synth::{SynthConfig, SynthError, write_dataset};

fn small() -> SynthConfig {
    SynthConfig {
        seed: 7,
        tiles: 6,
        tile_size: 128,
        scenes: 1,
        scene_size: 256,
        split: [0.5, 0.5, 0.0],
        ..SynthConfig::default()
    }
}

fn write(cfg: &SynthConfig, out: &Path, threads: usize) -> Result<synth::Summary, SynthError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(|| write_dataset(cfg, out, false, &|| {}))
}

fn all_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn layout_labels_and_determinism() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let cfg = small();
    let summary = write(&cfg, &a, 1).expect("write with 1 thread");
    write(&cfg, &b, 2).expect("write with 2 threads");

    // Same bytes, every file.
    let (fa, fb) = (all_files(&a), all_files(&b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{k} differs between thread counts");
    }

    // The layout.
    for stem in (0..6).map(|i| format!("tile_{i:05}")) {
        for f in [
            format!("images/{stem}.tif"),
            format!("coherence/{stem}.tif"),
            format!("los/{stem}.tif"),
            format!("png/{stem}.png"),
            format!("labels/{stem}.txt"),
            format!("voc/{stem}.xml"),
        ] {
            assert!(fa.contains_key(&f), "missing {f}");
        }
    }
    for f in [
        "manifest.json",
        "annotations.json",
        "splits/train.txt",
        "splits/val.txt",
        "splits/test.txt",
        "scenes/scene_0.tif",
        "scenes/scene_0_coh.tif",
        "scenes/scene_0_los.tif",
        "scenes/scene_0.png",
        "scenes/scene_0.geojson",
    ] {
        assert!(fa.contains_key(f), "missing {f}");
    }
    let train = fs::read_to_string(a.join("splits/train.txt")).expect("train");
    let val = fs::read_to_string(a.join("splits/val.txt")).expect("val");
    assert_eq!((train.lines().count(), val.lines().count()), (3, 3));

    // Rasters: size, georeference, value ranges.
    let img = raster::read_geotiff(&a.join("images/tile_00000.tif")).expect("phase tif");
    assert_eq!((img.width, img.height), (128, 128));
    assert_eq!(img.geo.and_then(|g| g.epsg), Some(32650));
    let raster::Pixels::F32(ph) = &img.pixels else {
        panic!("phase is not float32")
    };
    assert!(ph.iter().all(|p| p.abs() <= std::f32::consts::PI + 1e-5));

    // COCO ↔ YOLO ↔ VOC agree, and every annotation carries its extras.
    let coco = read_coco_dataset(&a.join("annotations.json")).expect("coco");
    assert_eq!(coco.images.len(), 6);
    assert_eq!(coco.annotations.len(), summary.basins);
    for im in &coco.images {
        let stem = im.extra["stem"].as_str().expect("stem");
        assert!(im.extra["split"] == "train" || im.extra["split"] == "val");
        let yolo = read_yolo_txt(&a.join(format!("labels/{stem}.txt")), 128, 128).expect("yolo");
        let mut classes = vec![synth::dataset::CLASS_NAME.to_string()];
        let voc =
            read_voc_xml(&a.join(format!("voc/{stem}.xml")), &mut classes, false).expect("voc");
        let anns: Vec<_> = coco
            .annotations
            .iter()
            .filter(|x| x.image_id == im.id)
            .collect();
        assert_eq!(yolo.len(), anns.len());
        assert_eq!(voc.boxes.len(), anns.len());
        assert_eq!(voc.file_name, format!("{stem}.png"));
        for (y, c) in yolo.iter().zip(&anns) {
            assert!(
                (y.bbox.x1 - c.bbox[0]).abs() < 0.01
                    && (y.bbox.y2 - c.bbox[1] - c.bbox[3]).abs() < 0.01
            );
            for key in [
                "bbox_half_fringe",
                "max_los_m",
                "panel",
                "truncated",
                "mine_id",
            ] {
                assert!(c.extra.contains_key(key), "annotation lacks {key}");
            }
            assert!(
                c.extra["max_los_m"].as_f64().expect("number")
                    >= synth::scene::MIN_VISIBLE_PEAK_M - 1e-6
            );
        }
    }
    let gj: serde_json::Value =
        serde_json::from_slice(&fa["scenes/scene_0.geojson"]).expect("geojson");
    assert_eq!(gj["type"], "FeatureCollection");

    // A second run into the same place is refused.
    let again = write(&cfg, &a, 1).expect_err("non-empty out dir");
    assert!(matches!(again, SynthError::OutDirNotEmpty { .. }));
}

/// Tiles cut from training scenes sit beside the basin-centred ones with unique ids, all
/// tiles of one scene in one split; tiles appended later (hard negatives) join the COCO
/// file and the split lists.
#[test]
fn scene_tiles_and_appended_tiles_join_the_data_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("d");
    let cfg = SynthConfig {
        seed: 3,
        tiles: 4,
        tile_size: 96,
        scenes: 0,
        scene_tiles: 30,
        split: [0.5, 0.5, 0.0],
        ..SynthConfig::default()
    };
    let summary = write(&cfg, &out, 2).expect("write");
    assert_eq!((summary.tiles, summary.scene_tiles), (34, 30));
    let coco = read_coco_dataset(&out.join("annotations.json")).expect("coco");
    let mut ids: Vec<u64> = coco.images.iter().map(|i| i.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 34);
    let split_of = |stem: &str| -> String {
        let im = coco
            .images
            .iter()
            .find(|i| i.extra["stem"] == stem)
            .expect("image");
        im.extra["split"].as_str().expect("split").to_string()
    };
    // Scene 0 holds stiles 0–24, scene 1 stiles 25–29.
    let first = split_of("stile_00000");
    assert!((1..25).all(|n| split_of(&format!("stile_{n:05}")) == first));
    let lists: usize = ["train", "val", "test"]
        .iter()
        .map(|s| {
            fs::read_to_string(out.join(format!("splits/{s}.txt")))
                .expect("split list")
                .lines()
                .count()
        })
        .sum();
    assert_eq!(lists, 34);
    assert!(out.join("images/stile_00029.tif").is_file());

    // Append one tile cut from a scene.
    let area = synth::scene_writer::scene_area(&SynthConfig {
        scene_size: 300,
        ..cfg.clone()
    });
    let scene = synth::simulate(&area, 77);
    let crop = synth::scene_tiles::crop_area(&scene, 10, 20, 96, &area);
    let tile = synth::dataset::AreaTile {
        stem: "hneg_x".into(),
        image_id: 0,
        split: "train",
        negative: crop.basins.is_empty(),
    };
    let mut rng = synth::rng::rng_for(1, 2, 3);
    let t = synth::dataset::write_area_tile(&cfg, &out, &crop, &tile, &mut rng).expect("tile");
    assert_eq!(
        synth::dataset::append_tiles(&out, vec![t]).expect("append"),
        1
    );
    let coco2 = read_coco_dataset(&out.join("annotations.json")).expect("coco again");
    assert_eq!(coco2.images.len(), 35);
    let new = coco2.images.last().expect("appended");
    assert_eq!(new.id, 35);
    assert!(
        coco2
            .annotations
            .iter()
            .filter(|a| a.image_id == 35)
            .count()
            == crop.basins.len()
    );
    let train = fs::read_to_string(out.join("splits/train.txt")).expect("train");
    assert!(train.lines().any(|l| l == "hneg_x"));
}

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

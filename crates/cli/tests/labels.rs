//! Users' label layouts end to end: an Ultralytics data.yaml for `train` and `eval`, class
//! names (other classes left out, a missing basin class refused), COCO crowd boxes in `eval`.

mod common;

use std::path::Path;

use serde_json::json;

use common::{TINY_TRAINING, bin, fail, read_json, run, stat};

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("folder");
    std::fs::write(p, text).expect("write");
}

/// A wrapped-phase bowl centred in a 64×64 tile (what a basin looks like to the model).
fn write_tile(path: &Path, k: usize) {
    let n = 64;
    let phase: Vec<f32> = (0..n * n)
        .map(|i| {
            let (x, y) = ((i % n) as f32 - 32.0, (i / n) as f32 - 32.0);
            insar::wrap((x * x + y * y).sqrt() * 0.4 + k as f32)
        })
        .collect();
    std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
    raster::write_geotiff_f32(path, n, n, &phase, None, None).expect("tif");
}

/// An Ultralytics data set: `images/{train,val}` tiles, YOLO labels of class 1 (the basin,
/// centred 32×32) and class 0 (a building in a corner), `t3` without any label file.
fn ultralytics_set(root: &Path, names: &str) {
    for k in 0..4 {
        write_tile(&root.join(format!("images/train/t{k}.tif")), k);
        if k != 3 {
            write(
                &root.join(format!("labels/train/t{k}.txt")),
                "1 0.5 0.5 0.5 0.5\n0 0.0625 0.0625 0.125 0.125\n",
            );
        }
    }
    for k in 0..2 {
        write_tile(&root.join(format!("images/val/v{k}.tif")), k + 10);
        write(
            &root.join(format!("labels/val/v{k}.txt")),
            "1 0.5 0.5 0.5 0.5\n0 0.0625 0.0625 0.125 0.125\n",
        );
    }
    write(
        &root.join("data.yaml"),
        &format!("path: .\ntrain: images/train\nval: images/val\n{names}"),
    );
}

#[test]
fn train_and_eval_on_an_ultralytics_data_yaml() {
    let dir = tempfile::tempdir().expect("scratch");
    let root = dir.path().join("set");
    ultralytics_set(&root, "names:\n  0: building\n  1: Subsidence\n");
    let out = run(bin()
        .arg("train")
        .arg("--data")
        .arg(root.join("data.yaml"))
        .arg("--out")
        .arg(dir.path().join("run"))
        .args(TINY_TRAINING));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train: ignored 3 boxes of class building"),
        "{err}"
    );
    assert!(
        err.contains("val: ignored 2 boxes of class building"),
        "{err}"
    );
    assert!(dir.path().join("run/last.safetensors").is_file());

    // The val basins as detections, in predict's numbering (sorted image paths) and
    // category 1. If the buildings stayed, category 1 would be theirs and AP would be 0.
    let dets = json!([
        {"image_id": 1, "category_id": 1, "bbox": [16.0, 16.0, 32.0, 32.0], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [16.0, 16.0, 32.0, 32.0], "score": 0.8},
    ]);
    let dets_file = dir.path().join("dets.json");
    std::fs::write(&dets_file, dets.to_string()).expect("dets");
    let report_file = dir.path().join("report.json");
    let out = run(bin()
        .arg("eval")
        .arg("--data")
        .arg(&root)
        .arg("--dets")
        .arg(&dets_file)
        .arg("--out")
        .arg(&report_file));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ignored 2 boxes of class building"), "{err}");
    let report = read_json(&report_file);
    assert_eq!(report["num_images"], 2);
    assert_eq!(report["num_gt"], 2);
    assert!(
        (stat(&report, "AP") - 1.0).abs() < 1e-9,
        "{}",
        report["stats"]
    );
    // The train split has a background image (t3): four images, three basins.
    let out = run(bin()
        .arg("eval")
        .arg("--data")
        .arg(&root)
        .args(["--split", "train"])
        .arg("--dets")
        .arg(&dets_file)
        .arg("--out")
        .arg(&report_file));
    assert!(out.status.success());
    let report = read_json(&report_file);
    assert_eq!(
        (report["num_images"].as_u64(), report["num_gt"].as_u64()),
        (Some(4), Some(3))
    );
}

#[test]
fn a_data_set_without_a_basin_class_is_refused_naming_its_classes() {
    let dir = tempfile::tempdir().expect("scratch");
    let root = dir.path().join("set");
    ultralytics_set(&root, "names: [building, road]\n");
    let err = fail(
        bin()
            .arg("train")
            .arg("--data")
            .arg(root.join("data.yaml"))
            .arg("--out")
            .arg(dir.path().join("run")),
    );
    assert!(err.contains("data.yaml"), "{err}");
    assert!(err.contains("\"building\", \"road\""), "{err}");
    assert!(err.contains("--class"), "{err}");
    assert!(
        !dir.path().join("run").exists(),
        "refused before a run folder is made"
    );
    // Choosing one by name is accepted by eval (and train); a name it lacks is not.
    let dets_file = dir.path().join("dets.json");
    std::fs::write(&dets_file, "[]").expect("dets");
    let report_file = dir.path().join("report.json");
    run(bin()
        .arg("eval")
        .arg("--data")
        .arg(&root)
        .args(["--class", "ROAD"])
        .arg("--dets")
        .arg(&dets_file)
        .arg("--out")
        .arg(&report_file));
    assert_eq!(read_json(&report_file)["num_gt"], 2);
    let err = fail(
        bin()
            .arg("eval")
            .arg("--data")
            .arg(&root)
            .args(["--class", "river"])
            .arg("--dets")
            .arg(&dets_file),
    );
    assert!(
        err.contains("\"river\"") && err.contains("\"building\", \"road\""),
        "{err}"
    );
}

#[test]
fn a_detection_over_a_crowd_box_is_neither_true_nor_false() {
    let dir = tempfile::tempdir().expect("scratch");
    let ann = |id: u64, cat: u64, bbox: [f64; 4], iscrowd: u8| {
        json!({"id": id, "image_id": 1, "category_id": cat, "bbox": bbox,
               "area": bbox[2] * bbox[3], "iscrowd": iscrowd})
    };
    let (a, b, c) = (
        [10.0, 10.0, 60.0, 60.0],
        [200.0, 200.0, 60.0, 60.0],
        [100.0, 300.0, 100.0, 100.0],
    );
    let gt = json!({
        "images": [{"id": 1, "file_name": "s.tif", "width": 416, "height": 416}],
        "annotations": [
            ann(1, 7, a, 0), ann(2, 7, b, 0), ann(3, 7, c, 1),
            ann(4, 2, [300.0, 20.0, 50.0, 50.0], 0),
        ],
        "categories": [{"id": 2, "name": "road"}, {"id": 7, "name": "subsidence_basin"}]
    });
    let gt_file = dir.path().join("gt.json");
    std::fs::write(&gt_file, gt.to_string()).expect("gt");
    let det = |bbox: [f64; 4], score: f64| json!({"image_id": 1, "category_id": 1, "bbox": bbox, "score": score});
    // In score order: over the crowd (ignored), A (TP), nothing (FP), B (TP).
    let dets = json!([
        det([110.0, 310.0, 60.0, 60.0], 0.95),
        det(a, 0.9),
        det([330.0, 330.0, 40.0, 40.0], 0.85),
        det(b, 0.8),
    ]);
    let dets_file = dir.path().join("dets.json");
    std::fs::write(&dets_file, dets.to_string()).expect("dets");
    let report_file = dir.path().join("report.json");
    let out = run(bin()
        .arg("eval")
        .arg("--gt")
        .arg(&gt_file)
        .arg("--dets")
        .arg(&dets_file)
        .args(["--score-threshold", "0.5"])
        .arg("--out")
        .arg(&report_file));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ignored 1 box of class road"), "{err}");
    let report = read_json(&report_file);
    // Precision 1 up to recall 1/2 (51 recall points 0.00–0.50), then 2/3 (50 points):
    // AP = (51 + 50·2/3) / 101 at every IoU, all boxes being exact. Were the crowd
    // detection a false positive, precision would be 1/2 throughout (AP 0.5); were the
    // crowd box a plain basin, (67 + 34·3/4) / 101.
    let want = (51.0 + 50.0 * 2.0 / 3.0) / 101.0;
    assert!(
        (stat(&report, "AP50") - want).abs() < 1e-9,
        "{}",
        report["stats"]
    );
    assert!(
        (stat(&report, "AP") - want).abs() < 1e-9,
        "{}",
        report["stats"]
    );
    assert_eq!(
        (report["num_gt"].as_u64(), report["num_crowd"].as_u64()),
        (Some(2), Some(1))
    );
    let at_half = &report["counts"][0];
    assert_eq!(at_half["iou_thr"], 0.5);
    assert_eq!(
        (
            at_half["tp"].as_u64(),
            at_half["fp"].as_u64(),
            at_half["fn"].as_u64()
        ),
        (Some(2), Some(1), Some(0)),
        "{at_half}"
    );
}

#[test]
fn eval_of_a_label_folder_follows_its_class_list() {
    let dir = tempfile::tempdir().expect("scratch");
    let labels = dir.path().join("labels");
    write(&labels.join("classes.txt"), "road\nbuilding\n");
    write(
        &labels.join("t.txt"),
        "0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.1 0.1\n",
    );
    let dets_file = dir.path().join("dets.json");
    std::fs::write(&dets_file, "[]").expect("dets");
    let eval = |extra: &[&str]| {
        let mut cmd = bin();
        cmd.args(["eval", "--format", "yolo", "--size", "100", "--labels-dir"])
            .arg(&labels)
            .arg("--dets")
            .arg(&dets_file)
            .args(extra);
        cmd
    };
    let err = fail(&mut eval(&[]));
    assert!(err.contains("classes.txt"), "{err}");
    assert!(err.contains("\"road\", \"building\""), "{err}");
    write(&labels.join("classes.txt"), "road\nMining_Subsidence\n");
    let report_file = dir.path().join("report.json");
    let out = run(eval(&["--out"]).arg(&report_file));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ignored 1 box of class road"), "{err}");
    assert_eq!(read_json(&report_file)["num_gt"], 1);
}

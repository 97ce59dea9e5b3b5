//! The evaluator against pycocotools on the same files (tests/data/coco/*, made by
//! tests/data/make_coco_fixtures.py): every number to 1e-6.

use std::path::{Path, PathBuf};

use detect_core::eval::{EvalOptions, EvalReport, evaluate};
use detect_core::labels::coco::{read_coco_dataset, read_coco_results};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/coco")
        .join(name)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOL,
            "{what}[{i}]: got {g}, pycocotools {w}"
        );
    }
}

fn run(name: &str) -> (EvalReport, EvalReport, Value) {
    let dir = case_dir(name);
    let gt = read_coco_dataset(&dir.join("gt.json")).expect("gt");
    let dets = read_coco_results(&dir.join("dets.json"), Some(&gt)).expect("dets");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("read"))
            .expect("json");
    let score = expected["score_thr"].as_f64().expect("score_thr");
    let large = expected["large"]["max_dets"].as_u64().expect("max_dets") as usize;
    let std_opts = EvalOptions {
        score_threshold: score,
        ..EvalOptions::default()
    };
    let big_opts = EvalOptions::with_max_dets(large, score);
    let std_report = evaluate(&gt, &dets, &std_opts).expect("evaluate");
    let big_report = evaluate(&gt, &dets, &big_opts).expect("evaluate");
    (std_report, big_report, expected)
}

fn check_case(name: &str) {
    let (std_r, big_r, e) = run(name);
    assert_eq!(
        std_r.iou_thrs,
        floats(&e["iou_thrs"]),
        "{name}: IoU thresholds bit for bit"
    );
    let stats: Vec<f64> = std_r.stats.iter().map(|s| s.value).collect();
    assert_close(&format!("{name} stats"), &stats, &floats(&e["stats"]));
    let per_iou: Vec<f64> = std_r.ap_per_iou.iter().map(|a| a.ap).collect();
    assert_close(
        &format!("{name} AP per IoU"),
        &per_iou,
        &floats(&e["ap_per_iou"]),
    );
    for (t, curve) in e["pr_curve"].as_array().expect("curves").iter().enumerate() {
        assert_close(
            &format!("{name} P-R @{t}"),
            &std_r.pr_curves[t].precision,
            &floats(curve),
        );
    }

    // With the larger limit: COCO's stats (which read maxDets[2] = 100) are unchanged, and
    // the headline numbers at the larger limit match pycocotools run with it.
    let big_stats: Vec<f64> = big_r.stats.iter().map(|s| s.value).collect();
    assert_close(
        &format!("{name} stats, large run"),
        &big_stats,
        &floats(&e["large"]["stats"]),
    );
    let l = big_r.large_limit.as_ref().expect("large limit");
    let l_per_iou: Vec<f64> = l.ap_per_iou.iter().map(|a| a.ap).collect();
    let want_l = floats(&e["large"]["ap_per_iou"]);
    assert_close(&format!("{name} large AP per IoU"), &l_per_iou, &want_l);
    let mean = want_l.iter().sum::<f64>() / want_l.len() as f64;
    assert!(
        (l.ap - mean).abs() <= TOL,
        "{name}: large AP {} vs {mean}",
        l.ap
    );
    assert!(
        (l.ar - e["large"]["ar"].as_f64().expect("ar")).abs() <= TOL,
        "{name}: large AR"
    );
    for (t, curve) in e["large"]["pr_curve"]
        .as_array()
        .expect("curves")
        .iter()
        .enumerate()
    {
        assert_close(
            &format!("{name} large P-R @{t}"),
            &big_r.pr_curves[t].precision,
            &floats(curve),
        );
    }

    for (got, want) in big_r
        .counts
        .iter()
        .zip(e["counts"].as_array().expect("counts"))
    {
        assert_eq!(
            got.iou_thr,
            want["iou_thr"].as_f64().expect("iou"),
            "{name}"
        );
        let w = |k: &str| want[k].as_u64().expect("count") as usize;
        assert_eq!(
            (got.tp, got.fp, got.fn_),
            (w("tp"), w("fp"), w("fn")),
            "{name} @ IoU {}",
            got.iou_thr
        );
    }
}

#[test]
fn single_category_matches_pycocotools() {
    check_case("single_cat");
}

#[test]
fn two_categories_match_pycocotools() {
    check_case("two_cats");
}

#[test]
fn dense_image_matches_pycocotools_at_both_limits() {
    check_case("dense");
    let (std_r, big_r, _) = run("dense");
    // The fixture has an image with more than 100 detections: the larger limit must matter.
    let l = big_r.large_limit.expect("large limit");
    assert!(
        l.ar > std_r.stat("AR100").expect("AR100"),
        "AR {} vs {:?}",
        l.ar,
        std_r.stat("AR100")
    );
}

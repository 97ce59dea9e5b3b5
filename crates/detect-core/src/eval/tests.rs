//! Hand-computed cases (101-point interpolated AP worked out on paper).

use serde_json::Map;

use super::{EvalOptions, evaluate};
use crate::labels::{CocoAnnotation, CocoCategory, CocoDataset, CocoImage, CocoResult};

fn dataset(gts: &[[f64; 4]]) -> CocoDataset {
    CocoDataset {
        info: None,
        images: vec![CocoImage {
            id: 1,
            file_name: "a.png".into(),
            width: 416,
            height: 416,
            extra: Map::new(),
        }],
        annotations: gts
            .iter()
            .enumerate()
            .map(|(i, &bbox)| CocoAnnotation {
                id: i as u64 + 1,
                image_id: 1,
                category_id: 1,
                bbox,
                area: bbox[2] * bbox[3],
                iscrowd: 0,
                extra: Map::new(),
            })
            .collect(),
        categories: vec![CocoCategory {
            id: 1,
            name: "basin".into(),
            supercategory: None,
            extra: Map::new(),
        }],
        extra: Map::new(),
    }
}

fn det(bbox: [f64; 4], score: f64) -> CocoResult {
    CocoResult {
        image_id: 1,
        category_id: 1,
        bbox,
        score,
    }
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
}

const A: [f64; 4] = [10.0, 10.0, 50.0, 40.0];
const B: [f64; 4] = [200.0, 200.0, 60.0, 60.0];
const FAR: [f64; 4] = [300.0, 20.0, 40.0, 40.0];

#[test]
fn perfect_detection_has_ap_one() {
    let r = evaluate(&dataset(&[A]), &[det(A, 0.9)], &EvalOptions::default()).unwrap();
    for name in ["AP", "AP50", "AP75", "AR1", "AR10", "AR100"] {
        close(r.stat(name).unwrap(), 1.0);
    }
    // Only a medium object: the other size classes have nothing to measure.
    close(r.stat("AP_small").unwrap(), -1.0);
    close(r.stat("AP_large").unwrap(), -1.0);
    assert!(r.ap_per_iou.iter().all(|a| (a.ap - 1.0).abs() < 1e-12));
}

#[test]
fn false_positive_ranked_above_true_positive() {
    // Two GT; ranked detections TP (0.9), FP (0.8), TP (0.7):
    // recall 1/2, 1/2, 1; precision 1, 1/2, 2/3 → envelope 1, 2/3, 2/3.
    // Recall points 0.00..0.50 (51 of them) read precision 1, 0.51..1.00 (50) read 2/3:
    // AP = (51 + 50·2/3) / 101 at every IoU threshold.
    let r = evaluate(
        &dataset(&[A, B]),
        &[det(A, 0.9), det(FAR, 0.8), det(B, 0.7)],
        &EvalOptions::default(),
    )
    .unwrap();
    let eps = f64::EPSILON;
    let want = (51.0 * (1.0 / (1.0 + eps)) + 50.0 * (2.0 / (3.0 + eps))) / 101.0;
    close(r.map(), want);
    close(r.stat("AP50").unwrap(), want);
    close(r.stat("AR100").unwrap(), 1.0);
    // Only the first detection counts with one detection per image.
    close(r.stat("AR1").unwrap(), 0.5);
}

#[test]
fn lone_false_positive_first_halves_precision() {
    // FP (0.9) then TP (0.8) on one GT: precision 0, 1/2 → envelope 1/2 everywhere.
    let r = evaluate(
        &dataset(&[A]),
        &[det(FAR, 0.9), det(A, 0.8)],
        &EvalOptions::default(),
    )
    .unwrap();
    close(r.map(), 1.0 / (2.0 + f64::EPSILON));
}

#[test]
fn missed_ground_truth() {
    // One of two GT found: recall reaches 1/2, so recall points above 0.50 read 0.
    let r = evaluate(&dataset(&[A, B]), &[det(A, 0.9)], &EvalOptions::default()).unwrap();
    close(r.map(), 51.0 / 101.0 * (1.0 / (1.0 + f64::EPSILON)));
    close(r.stat("AR100").unwrap(), 0.5);
    let c = &r.counts[0];
    assert_eq!((c.tp, c.fp, c.fn_), (1, 0, 1));
    close(c.recall, 0.5);
}

#[test]
fn duplicates_are_false_positives_that_do_not_lower_ap_below_them() {
    // The duplicate ranks below the true positive: precision 1, 1/2 at recall 1, 1.
    let opts = EvalOptions {
        score_threshold: 0.5,
        ..EvalOptions::default()
    };
    let r = evaluate(&dataset(&[A]), &[det(A, 0.9), det(A, 0.8)], &opts).unwrap();
    close(r.map(), 1.0 / (1.0 + f64::EPSILON));
    let c = &r.counts[0];
    assert_eq!((c.tp, c.fp, c.fn_), (1, 1, 0));
    close(c.precision, 0.5);
    close(c.f1, 2.0 * 0.5 / 1.5);
}

#[test]
fn looser_iou_counts_a_shifted_box() {
    // Shifted by 20 of 50 px: IoU = 30·40 / (2·2000 − 1200) = 1200/2800 ≈ 0.43.
    let shifted = [30.0, 10.0, 50.0, 40.0];
    let r = evaluate(
        &dataset(&[A]),
        &[det(shifted, 0.9)],
        &EvalOptions::default(),
    )
    .unwrap();
    let at = |iou: f64| r.counts.iter().find(|c| c.iou_thr == iou).unwrap().tp;
    assert_eq!(at(0.5), 0);
    assert_eq!(at(0.3), 1);
}

#[test]
fn crowd_region_swallows_detections() {
    let mut gt = dataset(&[A, [100.0, 100.0, 200.0, 200.0]]);
    gt.annotations[1].iscrowd = 1;
    let dets = [
        det(A, 0.9),
        det([110.0, 110.0, 20.0, 20.0], 0.95),
        det([150.0, 150.0, 30.0, 30.0], 0.8),
    ];
    let r = evaluate(&gt, &dets, &EvalOptions::default()).unwrap();
    // Both detections inside the crowd box are ignored: a perfect score remains.
    close(r.map(), 1.0 / (1.0 + f64::EPSILON));
    assert_eq!(r.num_crowd, 1);
}

#[test]
fn unknown_image_id_is_an_error() {
    let mut d = det(A, 0.9);
    d.image_id = 2;
    let err = evaluate(&dataset(&[A]), &[d], &EvalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("image_id 2"), "{err}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_boxes() -> impl Strategy<Value = Vec<[f64; 4]>> {
        prop::collection::vec(
            (0.0..300.0f64, 0.0..300.0f64, 4.0..110.0f64, 4.0..110.0f64)
                .prop_map(|(x, y, w, h)| [x, y, w, h]),
            1..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn detecting_every_box_exactly_gives_ap_one(gts in arb_boxes(), seed in 0u64..1000) {
            // Distinct scores in an arbitrary order; boxes may overlap one another.
            let n = gts.len();
            let dets: Vec<CocoResult> = gts
                .iter()
                .enumerate()
                .map(|(i, &b)| det(b, 0.1 + 0.8 * (((i as u64 * 7 + seed) % n as u64) as f64 + 0.5) / n as f64))
                .collect();
            let r = evaluate(&dataset(&gts), &dets, &EvalOptions::default()).unwrap();
            prop_assert!((r.map() - 1.0).abs() < 1e-9, "AP {}", r.map());
            prop_assert!((r.stat("AR100").unwrap() - 1.0).abs() < 1e-12);
        }

        #[test]
        fn input_order_does_not_matter_and_values_stay_in_range(
            gts in arb_boxes(),
            dets in prop::collection::vec((0.0..300.0f64, 0.0..300.0f64, 4.0..110.0f64, 4.0..110.0f64), 0..15),
            rot in 0usize..15,
        ) {
            let dets: Vec<CocoResult> = dets
                .iter()
                .enumerate()
                .map(|(i, &(x, y, w, h))| det([x, y, w, h], 1.0 - i as f64 / 16.0))
                .collect();
            let mut rotated = dets.clone();
            if !rotated.is_empty() {
                let k = rot % rotated.len();
                rotated.rotate_left(k);
            }
            let gt = dataset(&gts);
            let a = evaluate(&gt, &dets, &EvalOptions::default()).unwrap();
            let b = evaluate(&gt, &rotated, &EvalOptions::default()).unwrap();
            for (x, y) in a.stats.iter().zip(&b.stats) {
                prop_assert_eq!(x.value, y.value);
                prop_assert!(x.value == -1.0 || (0.0..=1.0).contains(&x.value));
            }
        }
    }
}

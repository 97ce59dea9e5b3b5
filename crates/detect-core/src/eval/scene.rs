//! Whole-scene evaluation: what a user of `detect` feels. A scene is mostly background, so
//! besides recall, precision, F1, AP50 and mAP it reports false alarms per 1,000 km² and
//! recall by basin strength (peak LOS < 3 cm, 3–10 cm, > 10 cm) and for decorrelated
//! centres. Matching is COCO's (greedy from the highest score, each detection to the
//! unmatched basin of highest IoU ≥ the threshold), so the counts equal `evaluate`'s.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EvalError, EvalOptions, evaluate};
use crate::bbox::BBox;
use crate::iou::iou;
use crate::labels::coco::{CocoAnnotation, CocoImage, basin_category};
use crate::labels::{CocoDataset, CocoResult};

/// IoU thresholds of the operating points: 0.5, and 0.3 so that the labelling convention
/// (halo or fringe core) does not decide.
pub const SCENE_IOUS: [f64; 2] = [0.5, 0.3];

/// Upper edges (m) of the peak-LOS classes; the last class is open.
pub const LOS_CLASS_EDGES_M: [f64; 2] = [0.03, 0.10];
pub const LOS_CLASS_NAMES: [&str; 3] = ["< 3 cm", "3-10 cm", "> 10 cm"];

/// One true basin of a scene.
#[derive(Clone, Debug, PartialEq)]
pub struct TruthBasin {
    pub bbox: BBox,
    /// Peak |LOS| of the basin (m), when the truth records it.
    pub peak_los_m: Option<f64>,
    pub decorrelated_centre: Option<bool>,
}

/// The truth of one scene.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneTruth {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Ground area of the scene (km²), for false alarms per 1,000 km².
    pub area_km2: Option<f64>,
    pub basins: Vec<TruthBasin>,
}

/// A scene's detections (scene pixels).
#[derive(Clone, Debug, PartialEq)]
pub struct SceneDetection {
    pub bbox: BBox,
    pub score: f64,
}

/// Operating point at one IoU threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneCounts {
    pub iou: f64,
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub recall: f64,
    pub precision: f64,
    pub f1: f64,
    /// Unmatched detections per 1,000 km² (None when the area is unknown).
    pub false_alarms_per_1000km2: Option<f64>,
    /// Recall by peak-LOS class ([`LOS_CLASS_NAMES`]): (basins, found).
    pub by_peak_los: [(usize, usize); 3],
    /// Basins with a decorrelated centre: (basins, found).
    pub decorrelated: (usize, usize),
    /// Missed basins that some box of the list (a fainter one, when the list holds boxes
    /// under the threshold) covers at this IoU: the score, not the box, lost them.
    #[serde(default)]
    pub missed_boxed: usize,
    /// Missed basins that no box of the list covers at this IoU, whatever its score.
    #[serde(default)]
    pub missed_unboxed: usize,
}

/// Everything measured on one scene or a set of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneReport {
    pub name: String,
    pub basins: usize,
    pub detections: usize,
    pub area_km2: Option<f64>,
    pub score_threshold: f64,
    /// At [`SCENE_IOUS`].
    pub counts: Vec<SceneCounts>,
    /// COCO AP50 and mAP@[.5:.95] over all detections (no score threshold).
    pub ap50: f64,
    pub map: f64,
}

impl SceneReport {
    pub fn at(&self, iou: f64) -> Option<&SceneCounts> {
        self.counts.iter().find(|c| (c.iou - iou).abs() < 1e-9)
    }
}

/// Per-scene reports and the pooled one (counts summed, AP over all scenes as images of one
/// data set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenesReport {
    pub scenes: Vec<SceneReport>,
    pub overall: SceneReport,
}

/// Evaluates each scene and all of them together at `score_threshold`.
pub fn evaluate_scenes(
    scenes: &[(SceneTruth, Vec<SceneDetection>)],
    score_threshold: f64,
) -> Result<ScenesReport, EvalError> {
    let per: Vec<SceneReport> = scenes
        .iter()
        .map(|s| report(std::slice::from_ref(s), &s.0.name, score_threshold))
        .collect::<Result<_, _>>()?;
    let overall = report(scenes, "all scenes", score_threshold)?;
    Ok(ScenesReport {
        scenes: per,
        overall,
    })
}

fn report(
    scenes: &[(SceneTruth, Vec<SceneDetection>)],
    name: &str,
    score_threshold: f64,
) -> Result<SceneReport, EvalError> {
    let area: Option<f64> = scenes.iter().map(|s| s.0.area_km2).sum();
    let counts = SCENE_IOUS
        .iter()
        .map(|&t| {
            let mut c = SceneCounts {
                iou: t,
                tp: 0,
                fp: 0,
                fn_: 0,
                recall: 0.0,
                precision: 0.0,
                f1: 0.0,
                false_alarms_per_1000km2: None,
                by_peak_los: [(0, 0); 3],
                decorrelated: (0, 0),
                missed_boxed: 0,
                missed_unboxed: 0,
            };
            for (truth, dets) in scenes {
                tally(&mut c, truth, dets, t, score_threshold);
            }
            let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            c.recall = ratio(c.tp, c.tp + c.fn_);
            c.precision = ratio(c.tp, c.tp + c.fp);
            c.f1 = if c.recall + c.precision > 0.0 {
                2.0 * c.recall * c.precision / (c.recall + c.precision)
            } else {
                0.0
            };
            c.false_alarms_per_1000km2 =
                area.filter(|&a| a > 0.0).map(|a| c.fp as f64 * 1000.0 / a);
            c
        })
        .collect();
    let (ap50, map) = coco_ap(scenes)?;
    Ok(SceneReport {
        name: name.to_string(),
        basins: scenes.iter().map(|s| s.0.basins.len()).sum(),
        detections: scenes
            .iter()
            .map(|s| s.1.iter().filter(|d| d.score >= score_threshold).count())
            .sum(),
        area_km2: area,
        score_threshold,
        counts,
        ap50,
        map,
    })
}

/// Greedy COCO matching of one scene's detections at or above the threshold; each miss is
/// put down to the score or to the box by every detection of the list.
fn tally(
    c: &mut SceneCounts,
    truth: &SceneTruth,
    dets: &[SceneDetection],
    iou_thr: f64,
    score_threshold: f64,
) {
    let mut order: Vec<&SceneDetection> =
        dets.iter().filter(|d| d.score >= score_threshold).collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut found = vec![false; truth.basins.len()];
    for d in order {
        let mut best: Option<(usize, f64)> = None;
        for (j, g) in truth.basins.iter().enumerate() {
            let v = iou(&d.bbox, &g.bbox);
            if !found[j] && v >= iou_thr && best.is_none_or(|(_, b)| v > b) {
                best = Some((j, v));
            }
        }
        match best {
            Some((j, _)) => {
                found[j] = true;
                c.tp += 1;
            }
            None => c.fp += 1,
        }
    }
    for (g, &f) in truth.basins.iter().zip(&found) {
        c.fn_ += usize::from(!f);
        if !f {
            if dets.iter().any(|d| iou(&d.bbox, &g.bbox) >= iou_thr) {
                c.missed_boxed += 1;
            } else {
                c.missed_unboxed += 1;
            }
        }
        if let Some(p) = g.peak_los_m {
            let k = LOS_CLASS_EDGES_M.iter().filter(|&&e| p.abs() >= e).count();
            c.by_peak_los[k].0 += 1;
            c.by_peak_los[k].1 += usize::from(f);
        }
        if g.decorrelated_centre == Some(true) {
            c.decorrelated.0 += 1;
            c.decorrelated.1 += usize::from(f);
        }
    }
}

/// AP50 and mAP with every scene an image of one COCO data set (no per-image limit that a
/// scene could reach).
fn coco_ap(scenes: &[(SceneTruth, Vec<SceneDetection>)]) -> Result<(f64, f64), EvalError> {
    let mut gt = CocoDataset {
        info: None,
        images: Vec::new(),
        annotations: Vec::new(),
        categories: vec![basin_category()],
        extra: Default::default(),
    };
    let mut results = Vec::new();
    for (k, (truth, dets)) in scenes.iter().enumerate() {
        let image_id = k as u64 + 1;
        gt.images.push(CocoImage {
            id: image_id,
            file_name: truth.name.clone(),
            width: truth.width,
            height: truth.height,
            extra: Default::default(),
        });
        for b in &truth.basins {
            gt.annotations.push(CocoAnnotation {
                id: gt.annotations.len() as u64 + 1,
                image_id,
                category_id: 1,
                bbox: b.bbox.to_xywh(),
                area: b.bbox.area(),
                iscrowd: 0,
                extra: Default::default(),
            });
        }
        results.extend(dets.iter().map(|d| CocoResult {
            image_id,
            category_id: 1,
            bbox: d.bbox.to_xywh(),
            score: d.score,
        }));
    }
    if gt.annotations.is_empty() {
        // COCO has no AP without a single basin.
        return Ok((0.0, 0.0));
    }
    let most = scenes.iter().map(|s| s.1.len()).max().unwrap_or(0).max(101);
    let r = evaluate(&gt, &results, &EvalOptions::with_max_dets(most, 0.0))?;
    let l = r.large_limit.as_ref();
    let ap50 = l
        .and_then(|l| l.ap_per_iou.first().map(|a| a.ap))
        .unwrap_or(0.0);
    Ok((ap50, l.map_or(0.0, |l| l.ap)))
}

/// Reads a scene's truth from the GeoJSON that `synth` writes for scenes (features with
/// `bbox_px` [x, y, w, h], `max_los_m`, `decorrelated_centre`; the collection's `width`,
/// `height` and `pixel_area_m2`) or from a COCO data set of one image.
pub fn truth_from_json(name: &str, v: &Value) -> Result<SceneTruth, String> {
    if v.get("type").and_then(Value::as_str) == Some("FeatureCollection") {
        return truth_from_geojson(name, v);
    }
    let ds: CocoDataset = serde_json::from_value(v.clone())
        .map_err(|e| format!("neither a GeoJSON FeatureCollection nor a COCO data set: {e}"))?;
    let [img] = ds.images.as_slice() else {
        return Err(format!(
            "a scene's COCO truth holds one image, this one {}",
            ds.images.len()
        ));
    };
    Ok(SceneTruth {
        name: name.to_string(),
        width: img.width,
        height: img.height,
        area_km2: img
            .extra
            .get("pixel_area_m2")
            .and_then(Value::as_f64)
            .map(|a| a * img.width as f64 * img.height as f64 / 1e6),
        basins: ds
            .annotations
            .iter()
            .filter(|a| a.iscrowd == 0)
            .map(|a| TruthBasin {
                bbox: BBox::from_xywh(a.bbox),
                peak_los_m: a.extra.get("max_los_m").and_then(Value::as_f64),
                decorrelated_centre: a.extra.get("decorrelated_centre").and_then(Value::as_bool),
            })
            .collect(),
    })
}

fn truth_from_geojson(name: &str, v: &Value) -> Result<SceneTruth, String> {
    let dim = |k: &str| -> Result<u32, String> {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(|| {
                format!("the FeatureCollection has no \"{k}\" (the scene's size in pixels)")
            })
    };
    let (width, height) = (dim("width")?, dim("height")?);
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or("the FeatureCollection has no \"features\" array")?;
    let basins = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let p = f.get("properties");
            let xywh = p
                .and_then(|p| p.get("bbox_px"))
                .and_then(Value::as_array)
                .and_then(|a| {
                    let v: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
                    <[f64; 4]>::try_from(v).ok()
                })
                .ok_or_else(|| {
                    format!("feature {i} has no properties.bbox_px [x, y, w, h] (pixels)")
                })?;
            Ok(TruthBasin {
                bbox: BBox::from_xywh(xywh),
                peak_los_m: p.and_then(|p| p.get("max_los_m")).and_then(Value::as_f64),
                decorrelated_centre: p
                    .and_then(|p| p.get("decorrelated_centre"))
                    .and_then(Value::as_bool),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(SceneTruth {
        name: name.to_string(),
        width,
        height,
        area_km2: v
            .get("pixel_area_m2")
            .and_then(Value::as_f64)
            .map(|a| a * width as f64 * height as f64 / 1e6),
        basins,
    })
}

/// Reads detections: a COCO results array (`detect`'s `.basins.coco.json`) or `detect`'s
/// GeoJSON (`properties.pixel_box` [x1, y1, x2, y2] and `score`).
pub fn detections_from_json(v: &Value) -> Result<Vec<SceneDetection>, String> {
    if let Some(features) = v.get("features").and_then(Value::as_array) {
        return features
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let p = f.get("properties");
                let b: Vec<f64> = p
                    .and_then(|p| p.get("pixel_box"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default();
                let score = p.and_then(|p| p.get("score")).and_then(Value::as_f64);
                match (b.as_slice(), score) {
                    (&[x1, y1, x2, y2], Some(score)) => Ok(SceneDetection {
                        bbox: BBox::new(x1, y1, x2, y2),
                        score,
                    }),
                    _ => Err(format!(
                        "feature {i} has no properties.pixel_box [x1, y1, x2, y2] and score"
                    )),
                }
            })
            .collect();
    }
    let rs: Vec<CocoResult> = serde_json::from_value(v.clone()).map_err(|e| {
        format!("neither detect's GeoJSON nor a COCO results array [{{bbox, score}}]: {e}")
    })?;
    Ok(rs
        .into_iter()
        .map(|r| SceneDetection {
            bbox: BBox::from_xywh(r.bbox),
            score: r.score,
        })
        .collect())
}

/// The report as a table: one row per scene and IoU, then the pooled rows.
pub fn scenes_table(r: &ScenesReport) -> String {
    let mut s = format!(
        "{:<28} {:>4} {:>6} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6} {:>6} {:>9}  recall by peak LOS <3/3-10/>10 cm; decorrelated; misses boxed/unboxed\n",
        "scene", "IoU", "basins", "boxes", "TP", "FP", "FN", "R", "P", "F1", "AP50", "FA/1000km2"
    );
    for rep in r.scenes.iter().chain(std::iter::once(&r.overall)) {
        for c in &rep.counts {
            let frac = |(n, k): (usize, usize)| {
                if n == 0 {
                    "-".to_string()
                } else {
                    format!("{k}/{n}")
                }
            };
            s.push_str(&format!(
                "{:<28} {:>4.1} {:>6} {:>5} {:>5} {:>5} {:>5} {:>5.2} {:>5.2} {:>6.3} {:>6.3} {:>9}  {} {} {}; {}; {}/{}\n",
                rep.name,
                c.iou,
                rep.basins,
                rep.detections,
                c.tp,
                c.fp,
                c.fn_,
                c.recall,
                c.precision,
                c.f1,
                rep.ap50,
                c.false_alarms_per_1000km2
                    .map_or("-".to_string(), |f| format!("{f:.2}")),
                frac(c.by_peak_los[0]),
                frac(c.by_peak_los[1]),
                frac(c.by_peak_los[2]),
                frac(c.decorrelated),
                c.missed_boxed,
                c.missed_unboxed,
            ));
        }
    }
    s.push_str(&format!(
        "all scenes: mAP@[.5:.95] {:.3}, AP50 {:.3}, score threshold {}\n",
        r.overall.map, r.overall.ap50, r.overall.score_threshold
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basin(x: f64, y: f64, s: f64, los: f64, dec: bool) -> TruthBasin {
        TruthBasin {
            bbox: BBox::new(x, y, x + s, y + s),
            peak_los_m: Some(los),
            decorrelated_centre: Some(dec),
        }
    }

    fn det(x: f64, y: f64, s: f64, score: f64) -> SceneDetection {
        SceneDetection {
            bbox: BBox::new(x, y, x + s, y + s),
            score,
        }
    }

    /// A hand-computed scene: three basins, four boxes above the threshold (one exact, one
    /// shifted to IoU 0.39, one duplicate, one on background) and one below it.
    #[test]
    fn counts_by_hand() {
        let truth = SceneTruth {
            name: "s".into(),
            width: 1000,
            height: 1000,
            area_km2: Some(500.0),
            basins: vec![
                basin(0.0, 0.0, 100.0, 0.02, false),
                basin(300.0, 300.0, 100.0, 0.05, true),
                basin(600.0, 600.0, 100.0, 0.2, false),
            ],
        };
        // Shift 44 px in x: overlap 56 × 100, IoU = 5600 / 14400 = 0.389.
        let dets = vec![
            det(0.0, 0.0, 100.0, 0.9),
            det(344.0, 300.0, 100.0, 0.8),
            det(1.0, 1.0, 100.0, 0.7),
            det(800.0, 100.0, 50.0, 0.6),
            det(600.0, 600.0, 100.0, 0.1),
        ];
        let r = evaluate_scenes(&[(truth, dets)], 0.5).expect("evaluates");
        let s = &r.scenes[0];
        assert_eq!(s.detections, 4);
        let c5 = s.at(0.5).expect("IoU 0.5");
        assert_eq!((c5.tp, c5.fp, c5.fn_), (1, 3, 2));
        assert_eq!(c5.false_alarms_per_1000km2, Some(6.0));
        assert_eq!(c5.by_peak_los, [(1, 1), (1, 0), (1, 0)]);
        assert_eq!(c5.decorrelated, (1, 0));
        // The third basin's exact box scores 0.1, under the threshold; the second's only
        // box is the shifted one, IoU 0.389.
        assert_eq!((c5.missed_boxed, c5.missed_unboxed), (1, 1));
        let c3 = s.at(0.3).expect("IoU 0.3");
        assert_eq!((c3.tp, c3.fp, c3.fn_), (2, 2, 1));
        assert_eq!((c3.missed_boxed, c3.missed_unboxed), (1, 0));
        assert_eq!(c3.decorrelated, (1, 1));
        assert!((c3.recall - 2.0 / 3.0).abs() < 1e-12 && (c3.precision - 0.5).abs() < 1e-12);
        // Pooled over one scene: the same.
        assert_eq!(r.overall.counts, s.counts);
        // Every basin is found by some box at IoU 0.5 once the low one counts (AP > 0).
        assert!(s.ap50 > 0.3 && s.ap50 <= 1.0, "{}", s.ap50);
    }

    /// The counts equal COCOeval's at the same threshold (same greedy matching).
    #[test]
    fn counts_equal_cocoeval() {
        let truth = SceneTruth {
            name: "s".into(),
            width: 500,
            height: 500,
            area_km2: None,
            basins: (0..6)
                .map(|i| basin(i as f64 * 80.0, i as f64 * 60.0, 50.0, 0.05, false))
                .collect(),
        };
        let dets: Vec<SceneDetection> = (0..10)
            .map(|i| {
                det(
                    i as f64 * 47.0 + 3.0,
                    i as f64 * 31.0,
                    55.0,
                    0.1 * i as f64 % 1.0,
                )
            })
            .collect();
        let r = evaluate_scenes(&[(truth.clone(), dets.clone())], 0.25).expect("evaluates");
        let gt = CocoDataset {
            info: None,
            images: vec![CocoImage {
                id: 1,
                file_name: "s".into(),
                width: 500,
                height: 500,
                extra: Default::default(),
            }],
            annotations: truth
                .basins
                .iter()
                .enumerate()
                .map(|(i, b)| CocoAnnotation {
                    id: i as u64 + 1,
                    image_id: 1,
                    category_id: 1,
                    bbox: b.bbox.to_xywh(),
                    area: b.bbox.area(),
                    iscrowd: 0,
                    extra: Default::default(),
                })
                .collect(),
            categories: vec![basin_category()],
            extra: Default::default(),
        };
        let res: Vec<CocoResult> = dets
            .iter()
            .map(|d| CocoResult {
                image_id: 1,
                category_id: 1,
                bbox: d.bbox.to_xywh(),
                score: d.score,
            })
            .collect();
        let coco = evaluate(&gt, &res, &EvalOptions::with_max_dets(101, 0.25)).expect("coco");
        for (ours, theirs) in r.overall.counts.iter().zip(&coco.counts) {
            assert_eq!(
                (ours.tp, ours.fp, ours.fn_),
                (theirs.tp, theirs.fp, theirs.fn_)
            );
        }
    }

    #[test]
    fn a_scene_without_basins_counts_false_alarms_only() {
        let truth = SceneTruth {
            name: "empty".into(),
            width: 100,
            height: 100,
            area_km2: Some(2000.0),
            basins: vec![],
        };
        let r = evaluate_scenes(&[(truth, vec![det(1.0, 1.0, 20.0, 0.9)])], 0.5).expect("ok");
        let c = r.overall.at(0.5).expect("0.5");
        assert_eq!((c.tp, c.fp, c.fn_), (0, 1, 0));
        assert_eq!(c.false_alarms_per_1000km2, Some(0.5));
    }

    #[test]
    fn reads_synth_geojson_and_detect_outputs() {
        let gj = serde_json::json!({
            "type": "FeatureCollection", "width": 400, "height": 300, "pixel_area_m2": 250.0,
            "features": [{"type": "Feature", "geometry": null, "properties":
                {"bbox_px": [10.0, 20.0, 30.0, 40.0], "max_los_m": 0.04, "decorrelated_centre": true}}]
        });
        let t = truth_from_json("x", &gj).expect("truth");
        assert_eq!(t.area_km2, Some(30.0));
        assert_eq!(t.basins[0].bbox, BBox::new(10.0, 20.0, 40.0, 60.0));
        let d = serde_json::json!([{"image_id": 1, "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5}]);
        assert_eq!(
            detections_from_json(&d).expect("coco")[0].bbox,
            BBox::new(1.0, 2.0, 4.0, 6.0)
        );
        let g = serde_json::json!({"type": "FeatureCollection", "features": [{"properties": {"pixel_box": [1.0, 2.0, 4.0, 6.0], "score": 0.5}}]});
        assert_eq!(
            detections_from_json(&g).expect("geojson")[0].bbox,
            BBox::new(1.0, 2.0, 4.0, 6.0)
        );
        let bad = serde_json::json!({"type": "FeatureCollection", "features": []});
        assert!(
            truth_from_json("x", &bad)
                .expect_err("no size")
                .contains("width")
        );
    }
}

//! The evaluation report: JSON (serde) and a terminal table in pycocotools' wording.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::counts::Counts;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub name: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IouAp {
    pub iou: f64,
    pub ap: f64,
}

/// The headline numbers again with a per-image limit above COCO's 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LargeLimit {
    pub max_dets: usize,
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub ar: f64,
    pub ap_per_iou: Vec<IouAp>,
}

/// Interpolated precision at each recall point for one IoU threshold (−1: undefined).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrCurve {
    pub iou: f64,
    pub recall: Vec<f64>,
    pub precision: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub num_images: usize,
    /// Ground-truth objects that count (not crowd).
    pub num_gt: usize,
    pub num_crowd: usize,
    pub num_dets: usize,
    pub iou_thrs: Vec<f64>,
    pub max_dets: Vec<usize>,
    /// `COCOeval.stats`, in its order: AP, AP50, AP75, AP small/medium/large,
    /// AR at the three limits, AR small/medium/large.
    pub stats: Vec<Stat>,
    /// AP at each IoU threshold (area all, limit `max_dets[2]`).
    pub ap_per_iou: Vec<IouAp>,
    /// Present when a limit above `max_dets[2]` was asked for.
    pub large_limit: Option<LargeLimit>,
    /// Operating points at the chosen score threshold (area all, largest limit).
    pub counts: Vec<Counts>,
    /// Precision–recall curves (area all, largest limit), one per IoU threshold.
    pub pr_curves: Vec<PrCurve>,
}

impl EvalReport {
    /// A stat by its name (`"AP"`, `"AP50"`, `"AR100"`, …).
    pub fn stat(&self, name: &str) -> Option<f64> {
        self.stats.iter().find(|s| s.name == name).map(|s| s.value)
    }

    /// mAP@[.5:.95] with pycocotools' limit of 100 detections per image.
    pub fn map(&self) -> f64 {
        self.stats.first().map_or(-1.0, |s| s.value)
    }

    /// The report as text: pycocotools' twelve lines, then AP per IoU, the larger limit
    /// and the operating points.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let md = |i: usize| self.max_dets.get(i).copied().unwrap_or(0);
        let rows = [
            ("Precision", "(AP)", "0.50:0.95", "all", md(2)),
            ("Precision", "(AP)", "0.50", "all", md(2)),
            ("Precision", "(AP)", "0.75", "all", md(2)),
            ("Precision", "(AP)", "0.50:0.95", "small", md(2)),
            ("Precision", "(AP)", "0.50:0.95", "medium", md(2)),
            ("Precision", "(AP)", "0.50:0.95", "large", md(2)),
            ("Recall", "(AR)", "0.50:0.95", "all", md(0)),
            ("Recall", "(AR)", "0.50:0.95", "all", md(1)),
            ("Recall", "(AR)", "0.50:0.95", "all", md(2)),
            ("Recall", "(AR)", "0.50:0.95", "small", md(2)),
            ("Recall", "(AR)", "0.50:0.95", "medium", md(2)),
            ("Recall", "(AR)", "0.50:0.95", "large", md(2)),
        ];
        let _ = writeln!(
            s,
            "{} images, {} ground-truth objects ({} crowd), {} detections",
            self.num_images, self.num_gt, self.num_crowd, self.num_dets
        );
        for ((kind, short, iou, area, m), stat) in rows.iter().zip(&self.stats) {
            let _ = writeln!(
                s,
                " Average {kind:<9} {short} @[ IoU={iou:<9} | area={area:>6} | maxDets={m:>3} ] = {:.3}",
                stat.value
            );
        }
        let _ = writeln!(s, "\nAP per IoU threshold (area all, maxDets={}):", md(2));
        write_per_iou(&mut s, &self.ap_per_iou);
        if let Some(l) = &self.large_limit {
            let _ = writeln!(
                s,
                "\nWith up to {} detections per image: AP {:.3}  AP50 {:.3}  AP75 {:.3}  AR {:.3}",
                l.max_dets, l.ap, l.ap50, l.ap75, l.ar
            );
            write_per_iou(&mut s, &l.ap_per_iou);
        }
        let limit = self.max_dets.last().copied().unwrap_or(0);
        let _ = writeln!(s, "\nOperating points (area all, maxDets={limit}):");
        for c in &self.counts {
            let _ = writeln!(
                s,
                "  IoU {:.2}, score >= {:.3}: TP {} FP {} FN {}  precision {:.3}  recall {:.3}  F1 {:.3}",
                c.iou_thr, c.score_thr, c.tp, c.fp, c.fn_, c.precision, c.recall, c.f1
            );
        }
        s
    }
}

fn write_per_iou(s: &mut String, aps: &[IouAp]) {
    let line: Vec<String> = aps
        .iter()
        .map(|a| format!("AP{:.0} {:.3}", a.iou * 100.0, a.ap))
        .collect();
    for chunk in line.chunks(5) {
        let _ = writeln!(s, "  {}", chunk.join("  "));
    }
}

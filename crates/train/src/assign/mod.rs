//! Label assignment for the anchor-free heads: which predictions are positives, and for
//! which ground truth. Runs detached, in plain f32 on the CPU: a few ground truths per image
//! against the candidates near them is cheap next to the network.

pub mod cost;
pub mod dynamic_k;
pub mod sinkhorn;
pub mod yolov5;

pub use cost::{CostMatrix, ImagePreds, cost_matrix};
pub use dynamic_k::{KRule, k_values, match_dynamic_k};
pub use sinkhorn::{SinkhornParams, match_sinkhorn};

use crate::obj_loss::bce_negative_f32;
use serde::{Deserialize, Serialize};

/// Which assignment the anchor-free variants train with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AssignerKind {
    /// The paper's approximate OTA: k from Formula 6, k cheapest candidates per gt.
    #[default]
    Ota,
    /// The same matching with YOLOX's k = ⌊Σ top-Z IoU⌋.
    Yolox,
    /// Original OTA solved by Sinkhorn-Knopp with a background supplier (k as YOLOX).
    Sinkhorn,
}

impl std::str::FromStr for AssignerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ota" => Ok(Self::Ota),
            "yolox" => Ok(Self::Yolox),
            "sinkhorn" => Ok(Self::Sinkhorn),
            other => Err(format!(
                "unknown assigner {other:?}: expected ota, yolox or sinkhorn"
            )),
        }
    }
}

/// Assignment settings (paper defaults).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssignConfig {
    /// The rule.
    pub kind: AssignerKind,
    /// Z of Formula 6 (paper Table 6 ablates it; 10 is the paper's best).
    pub z: usize,
    /// λ of Formula 6.
    pub lambda: f32,
    /// α of Formula 5: weight of the regression cost.
    pub reg_weight: f32,
    /// Centre-prior radius in strides (YOLOX: 2.5).
    pub center_radius: f32,
    /// Sinkhorn settings (used by `AssignerKind::Sinkhorn`).
    pub sinkhorn: SinkhornParams,
}

impl Default for AssignConfig {
    fn default() -> Self {
        Self {
            kind: AssignerKind::Ota,
            z: 10,
            lambda: 0.1,
            reg_weight: 3.0,
            center_radius: 2.5,
            sinkhorn: SinkhornParams::default(),
        }
    }
}

/// One image's positives: prediction index → gt index, sorted by prediction index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// (prediction, gt) pairs.
    pub pairs: Vec<(usize, usize)>,
}

/// Assigns one image's predictions to its ground-truth boxes (pixel xyxy).
pub fn assign_image(cfg: &AssignConfig, preds: &ImagePreds, gts: &[[f32; 4]]) -> Assignment {
    if gts.is_empty() || preds.boxes.is_empty() {
        return Assignment::default();
    }
    let m = cost_matrix(preds, gts, cfg.reg_weight, cfg.center_radius);
    let owners = match cfg.kind {
        AssignerKind::Ota => {
            let rule = KRule::CostSum {
                z: cfg.z,
                lambda: cfg.lambda,
            };
            match_dynamic_k(&m, &k_values(&m, rule))
        }
        AssignerKind::Yolox => match_dynamic_k(&m, &k_values(&m, KRule::IouSum { z: cfg.z })),
        AssignerKind::Sinkhorn => {
            let ks = k_values(&m, KRule::IouSum { z: cfg.z });
            let bg: Vec<f32> = m
                .candidates
                .iter()
                .map(|&j| bce_negative_f32(preds.obj_logits[j]))
                .collect();
            match_sinkhorn(&m, &ks, &bg, cfg.sinkhorn)
        }
    };
    let pairs = owners
        .iter()
        .enumerate()
        .filter_map(|(col, o)| o.map(|i| (m.candidates[col], i)))
        .collect();
    Assignment { pairs }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 8×8 grid of stride-8 cells (64×64 image) whose predicted boxes are 16×16 around
    /// their own centres; all logits 0.
    /// Boxes, logits, centres, strides.
    type Grid = (Vec<[f32; 4]>, Vec<f32>, Vec<[f32; 2]>, Vec<f32>);

    fn grid() -> Grid {
        let mut boxes = Vec::new();
        let mut centers = Vec::new();
        for r in 0..8 {
            for c in 0..8 {
                let (x, y) = (c as f32 * 8.0 + 4.0, r as f32 * 8.0 + 4.0);
                centers.push([x, y]);
                boxes.push([x - 8.0, y - 8.0, x + 8.0, y + 8.0]);
            }
        }
        (boxes, vec![0.0; 64], centers, vec![8.0; 64])
    }

    #[test]
    fn every_gt_gets_positives_near_it_with_every_rule() {
        let (boxes, logits, centers, strides) = grid();
        let preds = ImagePreds {
            boxes: &boxes,
            obj_logits: &logits,
            centers: &centers,
            strides: &strides,
        };
        let gts = [[4.0, 4.0, 20.0, 20.0], [40.0, 40.0, 60.0, 60.0]];
        for kind in [
            AssignerKind::Ota,
            AssignerKind::Yolox,
            AssignerKind::Sinkhorn,
        ] {
            let cfg = AssignConfig {
                kind,
                ..AssignConfig::default()
            };
            let a = assign_image(&cfg, &preds, &gts);
            for (g, gt) in gts.iter().enumerate() {
                let mine: Vec<usize> = a.pairs.iter().filter(|p| p.1 == g).map(|p| p.0).collect();
                assert!(!mine.is_empty(), "{kind:?}: gt {g} got no positive");
                for j in mine {
                    let [x, y] = centers[j];
                    let (gx, gy) = ((gt[0] + gt[2]) / 2.0, (gt[1] + gt[3]) / 2.0);
                    assert!(
                        (x - gx).abs() < 20.0 && (y - gy).abs() < 20.0,
                        "{kind:?} far positive"
                    );
                }
            }
            // Each prediction serves at most one gt and the list is sorted.
            assert!(a.pairs.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn no_gt_no_positive() {
        let (boxes, logits, centers, strides) = grid();
        let preds = ImagePreds {
            boxes: &boxes,
            obj_logits: &logits,
            centers: &centers,
            strides: &strides,
        };
        assert!(
            assign_image(&AssignConfig::default(), &preds, &[])
                .pairs
                .is_empty()
        );
    }
}

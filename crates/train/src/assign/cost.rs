//! The transport cost between ground-truth boxes and predictions (paper Formula 5) and the
//! YOLOX centre prior that limits which predictions may serve a ground truth.

use crate::iou_loss::iou_f32;
use crate::obj_loss::bce_positive_f32;

/// Cost added to candidates outside the box ∩ centre-region (YOLOX): large enough that they
/// are only taken when a ground truth has too few cells in both.
pub const OUTSIDE_CORE_PENALTY: f32 = 1e5;

/// One image's predictions, detached, in plain f32.
#[derive(Clone, Copy, Debug)]
pub struct ImagePreds<'a> {
    /// `[N]` predicted boxes, pixel xyxy.
    pub boxes: &'a [[f32; 4]],
    /// `[N]` objectness logits.
    pub obj_logits: &'a [f32],
    /// `[N]` cell centres in pixels.
    pub centers: &'a [[f32; 2]],
    /// `[N]` strides in pixels.
    pub strides: &'a [f32],
}

/// Row-major `[M, C]` matrices over the ground truths (rows) and the union of their
/// candidates (columns).
#[derive(Clone, Debug, PartialEq)]
pub struct CostMatrix {
    /// Number of ground truths (rows).
    pub m: usize,
    /// Prediction index of each column.
    pub candidates: Vec<usize>,
    /// Formula 5 cost, without any prior penalty.
    pub cost: Vec<f32>,
    /// IoU of each (gt, candidate) pair.
    pub iou: Vec<f32>,
    /// The candidate lies in this gt's box or centre region (it may serve this gt).
    pub allowed: Vec<bool>,
    /// The candidate lies in both this gt's box and its centre region (YOLOX's core).
    pub core: Vec<bool>,
}

impl CostMatrix {
    /// Number of candidate columns.
    pub fn cols(&self) -> usize {
        self.candidates.len()
    }

    /// The cost the matcher ranks by: Formula 5 plus the centre-prior penalty.
    pub fn match_cost(&self, i: usize, c: usize) -> f32 {
        let at = i * self.cols() + c;
        self.cost[at]
            + if self.core[at] {
                0.0
            } else {
                OUTSIDE_CORE_PENALTY
            }
    }
}

/// Where a prediction stands relative to one gt: (inside the box, inside the centre region).
fn prior(gt: &[f32; 4], center: [f32; 2], stride: f32, radius: f32) -> (bool, bool) {
    let [x, y] = center;
    let in_box = x > gt[0] && x < gt[2] && y > gt[1] && y < gt[3];
    let (gx, gy) = ((gt[0] + gt[2]) * 0.5, (gt[1] + gt[3]) * 0.5);
    let r = radius * stride;
    let in_center = (x - gx).abs() < r && (y - gy).abs() < r;
    (in_box, in_center)
}

/// Builds the cost matrix: c_ij = BCE(σ(obj_j), 1) + `reg_weight`·(1 − IoU(box_j, gt_i)).
///
/// Candidates are the predictions whose cell centre is inside some gt box or within
/// `radius` strides of its centre; all other predictions are negatives for every gt.
pub fn cost_matrix(
    preds: &ImagePreds,
    gts: &[[f32; 4]],
    reg_weight: f32,
    radius: f32,
) -> CostMatrix {
    let n = preds.boxes.len();
    let mut priors = vec![(false, false); gts.len() * n];
    let mut is_candidate = vec![false; n];
    for (i, gt) in gts.iter().enumerate() {
        for j in 0..n {
            let p = prior(gt, preds.centers[j], preds.strides[j], radius);
            priors[i * n + j] = p;
            is_candidate[j] |= p.0 || p.1;
        }
    }
    let candidates: Vec<usize> = (0..n).filter(|&j| is_candidate[j]).collect();
    let c = candidates.len();
    let mut m = CostMatrix {
        m: gts.len(),
        candidates,
        cost: vec![0.0; gts.len() * c],
        iou: vec![0.0; gts.len() * c],
        allowed: vec![false; gts.len() * c],
        core: vec![false; gts.len() * c],
    };
    for (i, gt) in gts.iter().enumerate() {
        for (col, &j) in m.candidates.iter().enumerate() {
            let iou = iou_f32(&preds.boxes[j], gt);
            let (in_box, in_center) = priors[i * n + j];
            let at = i * c + col;
            m.iou[at] = iou;
            m.cost[at] = bce_positive_f32(preds.obj_logits[j]) + reg_weight * (1.0 - iou);
            m.allowed[at] = in_box || in_center;
            m.core[at] = in_box && in_center;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_prior_by_hand() {
        // One 4×4-cell row at stride 8: centres x = 4, 12, ..., 60; y = 4.
        let centers: Vec<[f32; 2]> = (0..8).map(|i| [4.0 + 8.0 * i as f32, 4.0]).collect();
        let strides = vec![8.0; 8];
        let boxes = vec![[0.0, 0.0, 1.0, 1.0]; 8];
        let logits = vec![0.0; 8];
        let preds = ImagePreds {
            boxes: &boxes,
            obj_logits: &logits,
            centers: &centers,
            strides: &strides,
        };
        // Box x ∈ [18, 22], y ∈ [0, 8], centre (20, 4); radius 1.5 strides = 12 px.
        // In the box: x = 20 only; in the centre region (|x − 20| < 12): x = 12, 20, 28.
        let m = cost_matrix(&preds, &[[18.0, 0.0, 22.0, 8.0]], 3.0, 1.5);
        assert_eq!(m.candidates, vec![1, 2, 3]);
        assert_eq!(m.allowed, vec![true, true, true]);
        assert_eq!(m.core, vec![false, true, false]);
        // BCE(σ(0), 1) = ln 2; IoU 0 → cost ln 2 + 3.
        assert!((m.cost[0] - (std::f32::consts::LN_2 + 3.0)).abs() < 1e-6);
        assert!(m.match_cost(0, 0) > OUTSIDE_CORE_PENALTY);
        assert!(m.match_cost(0, 1) < 10.0);
    }
}

//! The paper's approximate OTA: a k per ground truth, then each ground truth takes its k
//! cheapest candidates; a prediction claimed by several takes the cheapest ground truth.

use super::cost::CostMatrix;
use serde::{Deserialize, Serialize};

/// How many positives each ground truth receives.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum KRule {
    /// Paper Formula 6: rank the candidates by IoU with the gt, take the top Z and
    /// k = round(Σ λ·c_ij) over them (c without the prior penalty).
    CostSum { z: usize, lambda: f32 },
    /// YOLOX's dynamic k: k = ⌊Σ top-Z IoU⌋.
    IouSum { z: usize },
}

/// Candidate columns allowed for gt `i`, ordered by IoU, highest first (ties: lower column).
fn by_iou_desc(m: &CostMatrix, i: usize) -> Vec<usize> {
    let c = m.cols();
    let mut cols: Vec<usize> = (0..c).filter(|&col| m.allowed[i * c + col]).collect();
    cols.sort_by(|&a, &b| {
        m.iou[i * c + b]
            .total_cmp(&m.iou[i * c + a])
            .then(a.cmp(&b))
    });
    cols
}

/// k for every gt: the rule's value, at least 1, at most the gt's candidate count
/// (0 when it has none).
pub fn k_values(m: &CostMatrix, rule: KRule) -> Vec<usize> {
    let c = m.cols();
    (0..m.m)
        .map(|i| {
            let ranked = by_iou_desc(m, i);
            let raw = match rule {
                KRule::CostSum { z, lambda } => ranked
                    .iter()
                    .take(z)
                    .map(|&col| lambda * m.cost[i * c + col])
                    .sum::<f32>()
                    .round(),
                KRule::IouSum { z } => ranked
                    .iter()
                    .take(z)
                    .map(|&col| m.iou[i * c + col])
                    .sum::<f32>()
                    .floor(),
            };
            let k = if raw.is_finite() && raw > 1.0 {
                raw as usize
            } else {
                1
            };
            k.min(ranked.len())
        })
        .collect()
}

/// For every candidate column, the gt it serves (or None: a negative).
pub fn match_dynamic_k(m: &CostMatrix, ks: &[usize]) -> Vec<Option<usize>> {
    let c = m.cols();
    let mut owner: Vec<Option<(usize, f32)>> = vec![None; c];
    for (i, &k) in ks.iter().enumerate().take(m.m) {
        let mut cols: Vec<usize> = (0..c).filter(|&col| m.allowed[i * c + col]).collect();
        cols.sort_by(|&a, &b| {
            m.match_cost(i, a)
                .total_cmp(&m.match_cost(i, b))
                .then(a.cmp(&b))
        });
        for &col in cols.iter().take(k) {
            let cost = m.match_cost(i, col);
            match owner[col] {
                Some((_, best)) if best <= cost => {}
                _ => owner[col] = Some((i, cost)),
            }
        }
    }
    owner.into_iter().map(|o| o.map(|(i, _)| i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matrix from hand-written rows; every pair allowed and in the core unless `outside`.
    fn matrix(cost: &[&[f32]], iou: &[&[f32]], outside: &[(usize, usize)]) -> CostMatrix {
        let m = cost.len();
        let c = cost[0].len();
        let mut core = vec![true; m * c];
        for &(i, col) in outside {
            core[i * c + col] = false;
        }
        CostMatrix {
            m,
            candidates: (0..c).collect(),
            cost: cost.iter().flat_map(|r| r.iter().copied()).collect(),
            iou: iou.iter().flat_map(|r| r.iter().copied()).collect(),
            allowed: vec![true; m * c],
            core,
        }
    }

    #[test]
    fn formula_six_k_by_hand() {
        // IoU order of the row: cols 2 (0.9), 0 (0.8), 3 (0.5), 1 (0.1).
        let m = matrix(&[&[6.0, 9.0, 4.0, 11.0]], &[&[0.8, 0.1, 0.9, 0.5]], &[]);
        // Z = 2: λ·(4 + 6) = 1.0 → k = 1.
        assert_eq!(k_values(&m, KRule::CostSum { z: 2, lambda: 0.1 }), vec![1]);
        // Z = 3: λ·(4 + 6 + 11) = 2.1 → k = 2.
        assert_eq!(k_values(&m, KRule::CostSum { z: 3, lambda: 0.1 }), vec![2]);
        // Z = 10 (all four): λ·30 = 3 → 3.
        assert_eq!(k_values(&m, KRule::CostSum { z: 10, lambda: 0.1 }), vec![3]);
        // Large λ is clamped to the candidate count.
        assert_eq!(
            k_values(
                &m,
                KRule::CostSum {
                    z: 10,
                    lambda: 10.0
                }
            ),
            vec![4]
        );
        // Small sums still give one positive.
        assert_eq!(k_values(&m, KRule::CostSum { z: 1, lambda: 0.01 }), vec![1]);
        // YOLOX: ⌊0.9 + 0.8 + 0.5⌋ = 2 with Z = 3; ⌊2.3⌋ = 2 with all.
        assert_eq!(k_values(&m, KRule::IouSum { z: 3 }), vec![2]);
        assert_eq!(k_values(&m, KRule::IouSum { z: 1 }), vec![1]);
    }

    #[test]
    fn each_gt_takes_its_cheapest() {
        let m = matrix(&[&[6.0, 9.0, 4.0, 11.0]], &[&[0.8, 0.1, 0.9, 0.5]], &[]);
        assert_eq!(
            match_dynamic_k(&m, &[2]),
            vec![Some(0), None, Some(0), None]
        );
    }

    #[test]
    fn conflicts_go_to_the_cheapest_gt() {
        // Both gts want col 1; gt 1 is cheaper there (2 < 3).
        let m = matrix(
            &[&[1.0, 3.0, 9.0], &[9.0, 2.0, 5.0]],
            &[&[0.5, 0.5, 0.5], &[0.5, 0.5, 0.5]],
            &[],
        );
        assert_eq!(
            match_dynamic_k(&m, &[2, 2]),
            vec![Some(0), Some(1), Some(1)]
        );
        // Ties keep the first claimant.
        let t = matrix(
            &[&[1.0, 2.0], &[5.0, 2.0]],
            &[&[0.5, 0.5], &[0.5, 0.5]],
            &[],
        );
        assert_eq!(match_dynamic_k(&t, &[2, 1]), vec![Some(0), Some(0)]);
    }

    #[test]
    fn centre_prior_penalty_orders_before_cost() {
        // Col 0 is cheaper but outside the core: the core col 1 is taken first.
        let m = matrix(&[&[0.1, 5.0, 6.0]], &[&[0.9, 0.2, 0.1]], &[(0, 0)]);
        assert_eq!(match_dynamic_k(&m, &[1]), vec![None, Some(0), None]);
        // With k larger than the core, the penalised candidate is still usable.
        assert_eq!(match_dynamic_k(&m, &[3]), vec![Some(0), Some(0), Some(0)]);
    }

    #[test]
    fn disallowed_pairs_are_never_matched_and_cap_k() {
        let mut m = matrix(&[&[1.0, 2.0, 3.0]], &[&[0.9, 0.9, 0.9]], &[]);
        m.allowed[2] = false;
        assert_eq!(
            k_values(
                &m,
                KRule::CostSum {
                    z: 10,
                    lambda: 10.0
                }
            ),
            vec![2]
        );
        assert_eq!(k_values(&m, KRule::IouSum { z: 10 }), vec![1]);
        assert_eq!(match_dynamic_k(&m, &[5]), vec![Some(0), Some(0), None]);
    }
}

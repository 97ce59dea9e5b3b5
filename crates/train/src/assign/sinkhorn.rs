//! Original OTA (Ge et al. 2021): entropic optimal transport solved by Sinkhorn–Knopp, with
//! the ground truths supplying k units each and a background supplier the rest.
//!
//! Kept to measure what the paper's dynamic-k approximation costs in accuracy and time.

use super::cost::CostMatrix;

/// Sinkhorn-Knopp settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SinkhornParams {
    /// Entropic regularisation ε (OTA: 0.1).
    pub epsilon: f32,
    /// Number of iterations (OTA: 50).
    pub iters: usize,
}

impl Default for SinkhornParams {
    fn default() -> Self {
        Self {
            epsilon: 0.1,
            iters: 50,
        }
    }
}

fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// Solves the transport plan in the log domain (stable with the 1e5 prior penalty) and
/// returns, per candidate column, the gt with the largest share, or None where the
/// background supplies it most.
///
/// `ks` are the gts' supplies; `bg_cost[c]` is the cost of calling column c background.
/// Pairs that are not allowed get an infinite cost. The background supplies
/// `max(C − Σk, 0)` units plus a tiny amount so the problem stays balanced.
pub fn match_sinkhorn(
    m: &CostMatrix,
    ks: &[usize],
    bg_cost: &[f32],
    params: SinkhornParams,
) -> Vec<Option<usize>> {
    let c = m.cols();
    let rows = m.m + 1;
    let eps = params.epsilon.max(1e-6) as f64;
    let mut cost = vec![f64::INFINITY; rows * c];
    for i in 0..m.m {
        for col in 0..c {
            if m.allowed[i * c + col] {
                cost[i * c + col] = m.match_cost(i, col) as f64;
            }
        }
    }
    for col in 0..c {
        cost[m.m * c + col] = bg_cost[col] as f64;
    }
    let total_k: usize = ks.iter().sum();
    let mut supply: Vec<f64> = ks.iter().map(|&k| k as f64).collect();
    supply.push(c.saturating_sub(total_k) as f64 + 1e-3);
    let scale = c as f64 / supply.iter().sum::<f64>();
    let log_supply: Vec<f64> = supply.iter().map(|s| (s * scale).ln()).collect();

    let mut f = vec![0.0f64; rows];
    let mut g = vec![0.0f64; c];
    for _ in 0..params.iters {
        for i in 0..rows {
            let lse = log_sum_exp((0..c).map(|j| (g[j] - cost[i * c + j]) / eps));
            f[i] = eps * (log_supply[i] - lse);
        }
        for j in 0..c {
            // Demand 1 per column: log d_j = 0.
            let lse = log_sum_exp((0..rows).map(|i| (f[i] - cost[i * c + j]) / eps));
            g[j] = -eps * lse;
        }
    }
    (0..c)
        .map(|j| {
            let best = (0..rows)
                .map(|i| (i, (f[i] + g[j] - cost[i * c + j]) / eps))
                .filter(|(_, v)| v.is_finite())
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            match best {
                Some((i, _)) if i < m.m => Some(i),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(cost: &[&[f32]]) -> CostMatrix {
        let m = cost.len();
        let c = cost[0].len();
        CostMatrix {
            m,
            candidates: (0..c).collect(),
            cost: cost.iter().flat_map(|r| r.iter().copied()).collect(),
            iou: vec![0.5; m * c],
            allowed: vec![true; m * c],
            core: vec![true; m * c],
        }
    }

    #[test]
    fn clear_cut_problem_is_solved_exactly() {
        // gt 0 is cheap on cols 0, 1; gt 1 on col 3; col 2 is cheapest as background.
        let m = matrix(&[&[0.1, 0.2, 5.0, 6.0], &[6.0, 5.0, 5.0, 0.1]]);
        let bg = [4.0, 4.0, 0.1, 4.0];
        let got = match_sinkhorn(&m, &[2, 1], &bg, SinkhornParams::default());
        assert_eq!(got, vec![Some(0), Some(0), None, Some(1)]);
    }

    #[test]
    fn supply_limits_the_positives() {
        // All three columns prefer gt 0, but it supplies one unit: the cheapest wins.
        let m = matrix(&[&[0.3, 0.1, 0.2]]);
        let bg = [1.0, 1.0, 1.0];
        let got = match_sinkhorn(&m, &[1], &bg, SinkhornParams::default());
        assert_eq!(got, vec![None, Some(0), None]);
    }

    #[test]
    fn agrees_with_dynamic_k_when_unambiguous() {
        let m = matrix(&[&[0.1, 3.0, 0.2, 4.0], &[4.0, 0.1, 3.0, 0.3]]);
        let ks = [2, 2];
        let bg = [5.0; 4];
        let a = match_sinkhorn(&m, &ks, &bg, SinkhornParams::default());
        let b = super::super::dynamic_k::match_dynamic_k(&m, &ks);
        assert_eq!(a, b);
    }
}

//! Gradient-boosted regression trees on the logistic loss (second-order boosting, as
//! XGBoost does it): the rescorer's nonlinear term, for what a weighted sum of the measures
//! cannot say ("an incoherent core matters only inside a coherent rim").

use serde::{Deserialize, Serialize};

use super::features::{FEATURES, Features};

/// One node: a split (`feature`, `threshold`, children) or a leaf (`value`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: usize,
    pub threshold: f64,
    pub left: usize,
    pub right: usize,
    pub value: f64,
    pub leaf: bool,
}

/// A tree as a node list, root first; a sample goes left when `x[feature] < threshold`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn predict(&self, x: &Features) -> f64 {
        let mut at = 0;
        for _ in 0..self.nodes.len() {
            let Some(n) = self.nodes.get(at) else {
                return 0.0;
            };
            if n.leaf {
                return n.value;
            }
            let v = x.get(n.feature).copied().unwrap_or(0.0);
            at = if v < n.threshold { n.left } else { n.right };
        }
        0.0
    }
}

/// How the trees grow.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boosting {
    pub rounds: usize,
    pub depth: usize,
    pub learning_rate: f64,
    /// Penalty on leaf values (XGBoost's λ).
    pub l2: f64,
    /// Least hessian weight in a leaf (XGBoost's min_child_weight).
    pub min_weight: f64,
    /// Candidate thresholds per feature (quantiles of the data).
    pub bins: usize,
}

impl Default for Boosting {
    fn default() -> Self {
        Self {
            rounds: 150,
            depth: 3,
            learning_rate: 0.1,
            l2: 1.0,
            min_weight: 2.0,
            bins: 32,
        }
    }
}

/// Boosts trees on top of the margins `base` (one per sample): returns trees whose sum,
/// added to the base margin, is the fitted log-odds.
pub fn boost(x: &[Features], y: &[bool], base: &[f64], cfg: &Boosting) -> Vec<Tree> {
    let n = x.len().min(y.len()).min(base.len());
    let (x, y) = (&x[..n], &y[..n]);
    let cuts = quantile_cuts(x, cfg.bins);
    let mut margin = base[..n].to_vec();
    let mut trees = Vec::with_capacity(cfg.rounds);
    let all: Vec<usize> = (0..n).collect();
    for _ in 0..cfg.rounds {
        let (g, h): (Vec<f64>, Vec<f64>) = margin
            .iter()
            .zip(y)
            .map(|(&m, &label)| {
                let p = 1.0 / (1.0 + (-m).exp());
                (p - f64::from(u8::from(label)), (p * (1.0 - p)).max(1e-12))
            })
            .unzip();
        let round = Round {
            x,
            g: &g,
            h: &h,
            cuts: &cuts,
            cfg,
        };
        let mut nodes = Vec::new();
        round.grow(&mut nodes, &all, 0);
        for node in nodes.iter_mut().filter(|n| n.leaf) {
            node.value *= cfg.learning_rate;
        }
        let tree = Tree { nodes };
        for (m, f) in margin.iter_mut().zip(x) {
            *m += tree.predict(f);
        }
        trees.push(tree);
    }
    trees
}

/// Sorted distinct quantile thresholds of each feature.
fn quantile_cuts(x: &[Features], bins: usize) -> Vec<Vec<f64>> {
    (0..FEATURES)
        .map(|k| {
            let mut v: Vec<f64> = x.iter().map(|f| f[k]).filter(|v| v.is_finite()).collect();
            v.sort_by(f64::total_cmp);
            let mut cuts: Vec<f64> = (1..bins)
                .filter_map(|b| v.get(b * v.len() / bins).copied())
                .collect();
            cuts.dedup();
            cuts
        })
        .collect()
}

/// One boosting round: the samples, their loss gradients and hessians at the current
/// margins, and the candidate thresholds.
struct Round<'a> {
    x: &'a [Features],
    g: &'a [f64],
    h: &'a [f64],
    cuts: &'a [Vec<f64>],
    cfg: &'a Boosting,
}

impl Round<'_> {
    /// Grows the subtree of samples `idx` at `depth` into `nodes`; returns its node index.
    fn grow(&self, nodes: &mut Vec<Node>, idx: &[usize], depth: usize) -> usize {
        let (gs, hs) = idx
            .iter()
            .fold((0.0, 0.0), |(a, b), &i| (a + self.g[i], b + self.h[i]));
        let at = nodes.len();
        nodes.push(Node {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            value: -gs / (hs + self.cfg.l2),
            leaf: true,
        });
        if depth >= self.cfg.depth {
            return at;
        }
        let Some((feature, threshold)) = self.best_split(idx, gs, hs) else {
            return at;
        };
        let (l, r): (Vec<usize>, Vec<usize>) =
            idx.iter().partition(|&&i| self.x[i][feature] < threshold);
        let left = self.grow(nodes, &l, depth + 1);
        let right = self.grow(nodes, &r, depth + 1);
        nodes[at] = Node {
            feature,
            threshold,
            left,
            right,
            value: 0.0,
            leaf: false,
        };
        at
    }

    /// The split of `idx` (gradient sum `gs`, hessian sum `hs`) with the largest gain in
    /// penalised loss, if any gains.
    fn best_split(&self, idx: &[usize], gs: f64, hs: f64) -> Option<(usize, f64)> {
        let cfg = self.cfg;
        let score = |g: f64, h: f64| g * g / (h + cfg.l2);
        let parent = score(gs, hs);
        let mut best: Option<(f64, usize, f64)> = None;
        for (k, cut) in self.cuts.iter().enumerate() {
            if cut.is_empty() {
                continue;
            }
            // Histogram over the cuts: bin j holds values in [cut[j−1], cut[j]).
            let mut hist = vec![(0.0, 0.0); cut.len() + 1];
            for &i in idx {
                let b = cut.partition_point(|&c| c <= self.x[i][k]);
                hist[b].0 += self.g[i];
                hist[b].1 += self.h[i];
            }
            let (mut gl, mut hl) = (0.0, 0.0);
            for (j, &(bg, bh)) in hist.iter().enumerate().take(cut.len()) {
                gl += bg;
                hl += bh;
                let (gr, hr) = (gs - gl, hs - hl);
                if hl < cfg.min_weight || hr < cfg.min_weight {
                    continue;
                }
                let gain = score(gl, hl) + score(gr, hr) - parent;
                if gain > 1e-9 && best.is_none_or(|(b, _, _)| gain > b) {
                    best = Some((gain, k, cut[j]));
                }
            }
        }
        best.map(|(_, k, t)| (k, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_routes_by_its_thresholds() {
        let leaf = |value| Node {
            feature: 0,
            threshold: 0.0,
            left: 0,
            right: 0,
            value,
            leaf: true,
        };
        let tree = Tree {
            nodes: vec![
                Node {
                    feature: 2,
                    threshold: 0.5,
                    left: 1,
                    right: 2,
                    value: 0.0,
                    leaf: false,
                },
                leaf(-1.0),
                leaf(3.0),
            ],
        };
        let mut f = [0.0; FEATURES];
        assert_eq!(tree.predict(&f), -1.0);
        f[2] = 0.5;
        assert_eq!(tree.predict(&f), 3.0);
        // A malformed tree (a child past the end) predicts 0 instead of panicking.
        let broken = Tree {
            nodes: vec![Node {
                left: 7,
                ..tree.nodes[0].clone()
            }],
        };
        assert_eq!(broken.predict(&[0.0; FEATURES]), 0.0);
    }

    #[test]
    fn boosting_learns_an_interaction_no_weighted_sum_can() {
        // Basin ⇔ (f0 > 0.5) XOR (f1 > 0.5): a weighted sum of f0 and f1 scores every
        // quadrant alike; depth-2 trees separate them.
        let mut u = crate::rescore::uniform(11);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..4000 {
            let mut f = [0.0; FEATURES];
            f[0] = u();
            f[1] = u();
            y.push((f[0] > 0.5) != (f[1] > 0.5));
            x.push(f);
        }
        let cfg = Boosting {
            rounds: 60,
            depth: 2,
            learning_rate: 0.3,
            ..Boosting::default()
        };
        let trees = boost(&x, &y, &vec![0.0; x.len()], &cfg);
        let margin = |f: &Features| trees.iter().map(|t| t.predict(f)).sum::<f64>();
        let right = x
            .iter()
            .zip(&y)
            .filter(|(f, l)| (margin(f) > 0.0) == **l)
            .count();
        assert!(
            right as f64 / x.len() as f64 > 0.97,
            "{right} of {}",
            x.len()
        );
    }
}

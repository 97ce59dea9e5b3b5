//! The rescorer: L2-regularised logistic regression on standardised box features, fitted by
//! Newton's method (the problem is small and convex: a few thousand boxes, 18 unknowns),
//! optionally with boosted trees on top of its log-odds for what a weighted sum misses.

use serde::{Deserialize, Serialize};

use super::features::{FEATURE_NAMES, FEATURES, Features};
use super::trees::{Boosting, Tree, boost};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RescoreError {
    #[error(
        "a rescorer needs both true and false boxes to learn from; got {positives} true of {samples}"
    )]
    OneClass { samples: usize, positives: usize },
    #[error("feature {index} ({name}) of box {sample} is not finite")]
    NotFinite {
        sample: usize,
        index: usize,
        name: &'static str,
    },
    #[error(
        "the rescorer in these weights was fitted on features [{stored}], this build computes [{ours}]: run `yolo-basin calibrate --rescore-scenes N` on them again"
    )]
    OtherFeatures { stored: String, ours: String },
    #[error("the rescorer's fit did not converge (singular system)")]
    Singular,
}

/// P(true basin | box features), stored in the weights header beside the score threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescorer {
    /// [`FEATURE_NAMES`] at fitting time.
    pub features: Vec<String>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
    /// Boosted trees on the raw features, added to the linear log-odds (none: linear only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trees: Vec<Tree>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boosting: Option<Boosting>,
    /// Boxes fitted on, of which true (IoU ≥ 0.5 with a basin).
    pub samples: usize,
    pub positives: usize,
    pub l2: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Rescorer {
    /// Fits on boxes `x` labelled `y` (true basin or not) with penalty `l2` on the
    /// standardised weights (not the bias), then, with `boosting`, trees on the residual.
    pub fn fit(
        x: &[Features],
        y: &[bool],
        l2: f64,
        boosting: Option<&Boosting>,
    ) -> Result<Self, RescoreError> {
        let n = x.len().min(y.len());
        let positives = y[..n].iter().filter(|&&v| v).count();
        if positives == 0 || positives == n {
            return Err(RescoreError::OneClass {
                samples: n,
                positives,
            });
        }
        for (sample, f) in x[..n].iter().enumerate() {
            if let Some(index) = f.iter().position(|v| !v.is_finite()) {
                return Err(RescoreError::NotFinite {
                    sample,
                    index,
                    name: FEATURE_NAMES[index],
                });
            }
        }
        let mut mean = vec![0.0; FEATURES];
        let mut scale = vec![0.0; FEATURES];
        for f in &x[..n] {
            for (m, v) in mean.iter_mut().zip(f) {
                *m += v / n as f64;
            }
        }
        for f in &x[..n] {
            for ((s, v), m) in scale.iter_mut().zip(f).zip(&mean) {
                *s += (v - m).powi(2) / n as f64;
            }
        }
        // A constant feature gets scale 1 (its standardised value is 0 throughout).
        for s in &mut scale {
            *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
        }
        let z: Vec<[f64; FEATURES]> = x[..n]
            .iter()
            .map(|f| std::array::from_fn(|k| (f[k] - mean[k]) / scale[k]))
            .collect();
        let theta = newton(&z, &y[..n], l2)?;
        let mut fitted = Self {
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            mean,
            scale,
            weights: theta[..FEATURES].to_vec(),
            bias: theta[FEATURES],
            trees: Vec::new(),
            boosting: boosting.copied(),
            samples: n,
            positives,
            l2,
        };
        if let Some(cfg) = boosting {
            let base: Vec<f64> = x[..n].iter().map(|f| fitted.linear(f)).collect();
            fitted.trees = boost(&x[..n], &y[..n], &base, cfg);
        }
        Ok(fitted)
    }

    /// The linear part's log-odds.
    fn linear(&self, f: &Features) -> f64 {
        let z: f64 = f
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((v, m), s), w)| w * (v - m) / s)
            .sum();
        z + self.bias
    }

    /// Refuses a rescorer fitted on other features than this build computes.
    pub fn check(&self) -> Result<(), RescoreError> {
        let ok = self.features.len() == FEATURES
            && self.features.iter().zip(FEATURE_NAMES).all(|(a, b)| a == b)
            && [&self.mean, &self.scale, &self.weights]
                .iter()
                .all(|v| v.len() == FEATURES);
        if ok {
            return Ok(());
        }
        Err(RescoreError::OtherFeatures {
            stored: self.features.join(", "),
            ours: FEATURE_NAMES.join(", "),
        })
    }

    /// The probability that a box with features `f` is a basin.
    pub fn score(&self, f: &Features) -> f64 {
        sigmoid(self.linear(f) + self.trees.iter().map(|t| t.predict(f)).sum::<f64>())
    }
}

/// Newton–Raphson on the penalised log-likelihood; θ = (weights, bias).
fn newton(z: &[[f64; FEATURES]], y: &[bool], l2: f64) -> Result<Vec<f64>, RescoreError> {
    const P: usize = FEATURES + 1;
    let mut theta = vec![0.0; P];
    for _ in 0..50 {
        let mut grad = [0.0; P];
        let mut hess = [[0.0; P]; P];
        for (f, &label) in z.iter().zip(y) {
            let row: [f64; P] = std::array::from_fn(|k| if k < FEATURES { f[k] } else { 1.0 });
            let p = sigmoid(row.iter().zip(&theta).map(|(a, b)| a * b).sum());
            let r = p - f64::from(u8::from(label));
            let w = (p * (1.0 - p)).max(1e-12);
            for (i, h) in hess.iter_mut().enumerate() {
                grad[i] += r * row[i];
                for (hij, rj) in h.iter_mut().zip(&row) {
                    *hij += w * row[i] * rj;
                }
            }
        }
        for i in 0..FEATURES {
            grad[i] += l2 * theta[i];
            hess[i][i] += l2;
        }
        let step = solve_spd(hess, grad).ok_or(RescoreError::Singular)?;
        let mut largest = 0.0f64;
        for (t, s) in theta.iter_mut().zip(&step) {
            *t -= s;
            largest = largest.max(s.abs());
        }
        if largest < 1e-9 {
            break;
        }
    }
    Ok(theta)
}

/// Solves `a x = b` for symmetric positive definite `a` by Cholesky.
fn solve_spd<const P: usize>(a: [[f64; P]; P], b: [f64; P]) -> Option<[f64; P]> {
    let mut l = [[0.0; P]; P];
    for i in 0..P {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut x = b;
    for i in 0..P {
        x[i] = (x[i] - (0..i).map(|k| l[i][k] * x[k]).sum::<f64>()) / l[i][i];
    }
    for i in (0..P).rev() {
        x[i] = (x[i] - (i + 1..P).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_hand_system() {
        let a = [[4.0, 2.0], [2.0, 3.0]];
        let x = solve_spd(a, [2.0, 5.0]).expect("positive definite");
        // 4x + 2y = 2, 2x + 3y = 5 → x = −0.5, y = 2.
        assert!(
            (x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve_spd([[1.0, 2.0], [2.0, 1.0]], [1.0, 1.0]).is_none());
    }

    #[test]
    fn recovers_the_weights_of_a_logistic_model() {
        // Labels drawn from P = σ(2 f0 − 1 f3 + 0.5): the fit finds those weights back.
        let mut u = crate::rescore::uniform(3);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let mut f = [0.0; FEATURES];
            for v in &mut f {
                *v = u() * 2.0 - 1.0;
            }
            let p = sigmoid(2.0 * f[0] - f[3] + 0.5);
            x.push(f);
            y.push(u() < p);
        }
        let r = Rescorer::fit(&x, &y, 1e-6, None).expect("fits");
        let raw = |k: usize| r.weights[k] / r.scale[k];
        assert!((raw(0) - 2.0).abs() < 0.15, "{}", raw(0));
        assert!((raw(3) + 1.0).abs() < 0.15, "{}", raw(3));
        for k in [1, 2, 4, 8, 16] {
            assert!(raw(k).abs() < 0.15, "feature {k}: {}", raw(k));
        }
        let f = [0.0; FEATURES];
        assert!((r.score(&f) - sigmoid(0.5)).abs() < 0.03, "{}", r.score(&f));
        r.check().expect("our own features");
    }

    #[test]
    fn separable_data_stays_finite_and_one_class_is_refused() {
        let x: Vec<Features> = (0..40)
            .map(|i| std::array::from_fn(|k| if k == 0 { i as f64 } else { 1.0 }))
            .collect();
        let y: Vec<bool> = (0..40).map(|i| i >= 20).collect();
        let r = Rescorer::fit(&x, &y, 1e-2, None).expect("the penalty keeps it finite");
        assert!(r.score(&x[39]) > 0.9 && r.score(&x[0]) < 0.1);
        assert!(r.weights.iter().all(|w| w.is_finite()));
        assert_eq!(
            Rescorer::fit(&x, &[true; 40], 1e-2, None),
            Err(RescoreError::OneClass {
                samples: 40,
                positives: 40
            })
        );
        let mut bad = x.clone();
        bad[3][5] = f64::NAN;
        assert!(matches!(
            Rescorer::fit(&bad, &y, 1e-2, None),
            Err(RescoreError::NotFinite {
                sample: 3,
                index: 5,
                ..
            })
        ));
    }

    #[test]
    fn a_rescorer_of_other_features_is_refused() {
        let x: Vec<Features> = (0..10)
            .map(|i| std::array::from_fn(|k| (i * k) as f64))
            .collect();
        let y: Vec<bool> = (0..10).map(|i| i % 2 == 0).collect();
        let mut r = Rescorer::fit(&x, &y, 1.0, None).expect("fits");
        r.features[2] = "something_else".into();
        assert!(matches!(r.check(), Err(RescoreError::OtherFeatures { .. })));
    }
}

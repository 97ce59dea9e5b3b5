//! Learning-rate schedule: the paper's poly decay lr₀·(1 − iter/max_iter)^0.9, after an
//! optional linear warm-up.

use serde::{Deserialize, Serialize};

/// Schedule settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// lr₀ (paper: 1e-3).
    pub lr: f64,
    /// Total iterations (paper: 60,000).
    pub max_iter: u64,
    /// Poly exponent (paper: 0.9).
    pub power: f64,
    /// Warm-up iterations: the rate rises linearly from lr/warmup to the poly value.
    pub warmup: u64,
}

impl Schedule {
    /// The paper's schedule for `max_iter` iterations.
    pub fn paper(max_iter: u64) -> Self {
        Self {
            lr: 1e-3,
            max_iter,
            power: 0.9,
            warmup: 0,
        }
    }

    /// The rate used by iteration `iter` (0-based).
    pub fn lr_at(&self, iter: u64) -> f64 {
        let frac = (iter as f64 / self.max_iter.max(1) as f64).min(1.0);
        let poly = self.lr * (1.0 - frac).powf(self.power);
        if iter < self.warmup {
            poly * (iter + 1) as f64 / self.warmup as f64
        } else {
            poly
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poly_by_hand() {
        let s = Schedule::paper(60_000);
        assert_eq!(s.lr_at(0), 1e-3);
        assert!((s.lr_at(30_000) - 1e-3 * 0.5f64.powf(0.9)).abs() < 1e-15);
        assert_eq!(s.lr_at(60_000), 0.0);
        assert!(s.lr_at(59_999) > 0.0);
    }

    #[test]
    fn warmup_rises_linearly_then_joins_poly() {
        let s = Schedule {
            warmup: 4,
            ..Schedule::paper(100)
        };
        let poly = |i: u64| 1e-3 * (1.0 - i as f64 / 100.0).powf(0.9);
        assert!((s.lr_at(0) - poly(0) / 4.0).abs() < 1e-15);
        assert!((s.lr_at(3) - poly(3)).abs() < 1e-15);
        assert_eq!(s.lr_at(4), poly(4));
    }
}

//! Exponential moving average of the weights, as YOLOv5's ModelEMA: decay
//! d(t) = d₀·(1 − e^(−t/τ)), d₀ = 0.9999, τ = 2000, over every floating-point tensor of the
//! module (batch-norm running statistics included). Evaluation uses the EMA weights.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// EMA settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmaConfig {
    /// d₀.
    pub decay: f64,
    /// τ, in updates.
    pub tau: f64,
}

impl Default for EmaConfig {
    fn default() -> Self {
        Self {
            decay: 0.9999,
            tau: 2000.0,
        }
    }
}

impl EmaConfig {
    /// The decay after `updates` updates (the first update has updates = 1).
    pub fn decay_at(&self, updates: u64) -> f64 {
        self.decay * (1.0 - (-(updates as f64) / self.tau).exp())
    }
}

/// Collects every float tensor of a module, flattened, in traversal order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().without_autodiff();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Blends each float tensor with the source's tensor at the same traversal position.
struct Blend {
    source: std::vec::IntoIter<Tensor<1>>,
    keep: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(src) = self.source.next() else {
            return param;
        };
        let keep = self.keep;
        param.map(|e| {
            let dims = e.dims();
            e.mul_scalar(keep) + src.reshape(dims).mul_scalar(1.0 - keep)
        })
    }
}

/// The averaged copy of a model (gradient-free, on the plain device).
#[derive(Clone, Debug)]
pub struct Ema<M: Module> {
    /// The averaged module.
    pub module: M,
    /// Number of updates so far.
    pub updates: u64,
    /// Settings.
    pub config: EmaConfig,
}

impl<M: Module> Ema<M> {
    /// Starts from the model's current weights.
    pub fn new(model: &M, config: EmaConfig) -> Self {
        Self {
            module: model.valid(),
            updates: 0,
            config,
        }
    }

    /// Resumes from a stored averaged module and update count.
    pub fn resume(module: M, updates: u64, config: EmaConfig) -> Self {
        Self {
            module: module.valid(),
            updates,
            config,
        }
    }

    /// One update towards the training model's weights.
    pub fn update(&mut self, model: &M) {
        self.updates += 1;
        let keep = self.config.decay_at(self.updates);
        // valid() also folds batch-norm's pending running-statistic update into the model.
        let mut collect = Collect(Vec::new());
        model.valid().visit(&mut collect);
        let mut blend = Blend {
            source: collect.0.into_iter(),
            keep,
        };
        self.module = self.module.clone().map(&mut blend);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    fn weights(l: &Linear) -> Vec<f32> {
        let mut c = Collect(Vec::new());
        l.visit(&mut c);
        c.0.into_iter()
            .flat_map(|t| t.into_data().try_to_vec::<f32>().expect("f32"))
            .collect()
    }

    #[test]
    fn decay_schedule_by_hand() {
        let c = EmaConfig::default();
        assert!((c.decay_at(2000) - 0.9999 * (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        assert!(c.decay_at(1) < 1e-3);
    }

    #[test]
    fn blends_towards_the_model() {
        let d = Device::flex();
        let a = LinearConfig::new(3, 2).init(&d);
        let b = LinearConfig::new(3, 2).init(&d);
        let (wa, wb) = (weights(&a), weights(&b));
        let mut ema = Ema::new(
            &a,
            EmaConfig {
                decay: 0.5,
                tau: 1e-9,
            },
        );
        ema.update(&b);
        // d = 0.5·(1 − e^(−huge)) = 0.5: halfway.
        let we = weights(&ema.module);
        for i in 0..wa.len() {
            assert!((we[i] - 0.5 * (wa[i] + wb[i])).abs() < 1e-6);
        }
        assert_eq!(ema.updates, 1);
    }
}

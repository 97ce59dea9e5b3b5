//! The whole network: backbone, neck, head, built from a [`ModelConfig`].

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

use crate::ModelError;
use crate::backbone::Backbone;
use crate::config::ModelConfig;
use crate::head::{Head, HeadOutput};
use crate::neck::Neck;

/// YOLOv5 / YOLO-Basin / Light YOLO-Basin, one class, 3-channel input.
#[derive(Module, Debug)]
pub struct Detector {
    pub backbone: Backbone,
    pub neck: Neck,
    pub head: Head,
    /// What was built; carried so decoding and saving need nothing else.
    #[module(skip)]
    pub config: ModelConfig,
}

impl Detector {
    /// Builds a freshly initialised network on `device` (an autodiff device to train).
    ///
    /// # Panics
    /// If `cfg` fails [`ModelConfig::validate`]; use [`Detector::try_new`] on user input.
    pub fn new(cfg: &ModelConfig, device: &Device) -> Self {
        match Self::try_new(cfg, device) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn try_new(cfg: &ModelConfig, device: &Device) -> Result<Self, ModelError> {
        cfg.validate()?;
        Ok(Self {
            backbone: Backbone::new(cfg, device),
            neck: Neck::new(cfg, device),
            head: Head::new(cfg, device),
            config: cfg.clone(),
        })
    }

    /// [`Detector::try_new`] with its initial weights drawn from `seed`: the same seed gives
    /// the same weights even while other threads build networks. burn's generator is global
    /// to the process and draws a parameter's values lazily, on first use, so seeding and
    /// drawing every parameter happen here, under one lock.
    pub fn try_seeded(cfg: &ModelConfig, device: &Device, seed: u64) -> Result<Self, ModelError> {
        static SEEDED_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = SEEDED_INIT.lock().unwrap_or_else(|e| e.into_inner());
        device.seed(seed);
        let model = Self::try_new(cfg, device)?;
        model.visit(&mut Materialise);
        Ok(model)
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// `x`: `[B, 3, H, W]` with H and W multiples of 32 (need not equal the tile size).
    pub fn forward(&self, x: Tensor<4>) -> HeadOutput {
        let features = self.backbone.forward(x);
        self.head.forward(self.neck.forward(features))
    }
}

/// Touches every float parameter, which makes burn draw the lazily initialised ones.
struct Materialise;

impl ModuleVisitor for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Scale, Variant};

    fn shapes(cfg: &ModelConfig, side: usize) -> Vec<[usize; 4]> {
        let d = Device::flex();
        let m = Detector::new(cfg, &d).valid();
        let out = m.forward(Tensor::zeros([1, 3, side, side], &d));
        assert_eq!(
            out.levels.iter().map(|l| l.stride).collect::<Vec<_>>(),
            [8, 16, 32]
        );
        out.levels.iter().map(|l| l.raw.dims()).collect()
    }

    #[test]
    fn output_shapes_at_416_and_320() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N);
        assert_eq!(
            shapes(&cfg, 416),
            [[1, 5, 52, 52], [1, 5, 26, 26], [1, 5, 13, 13]]
        );
        assert_eq!(
            shapes(&cfg, 320),
            [[1, 5, 40, 40], [1, 5, 20, 20], [1, 5, 10, 10]]
        );
    }

    #[test]
    fn every_variant_runs_at_64() {
        for v in Variant::ALL {
            let cfg = ModelConfig::new(v, Scale::N).with_tile(64);
            let c = cfg.outputs_per_level();
            assert_eq!(shapes(&cfg, 64), [[1, c, 8, 8], [1, c, 4, 4], [1, c, 2, 2]]);
        }
        let dn = ModelConfig::new(Variant::LightYoloBasin, Scale::N)
            .with_tile(64)
            .with_depthwise_neck(true);
        assert_eq!(shapes(&dn, 64)[2], [1, 5, 2, 2]);
    }

    #[test]
    fn bad_tile_is_an_error_not_a_panic() {
        let cfg = ModelConfig::new(Variant::YoloBasin, Scale::N).with_tile(50);
        assert!(Detector::try_new(&cfg, &Device::flex()).is_err());
    }

    #[test]
    fn eval_outputs_do_not_depend_on_the_batch() {
        // In eval mode BatchNorm uses running statistics: image 2 of a batch must come out
        // as it does alone (a test that also catches layout slips in reshapes).
        let d = Device::flex();
        let cfg = ModelConfig::new(Variant::Yolov5, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &d).valid();
        let x = Tensor::<4>::random(
            [2, 3, 64, 64],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &d,
        );
        let both = m.forward(x.clone());
        let second = m.forward(x.narrow(0, 1, 1));
        for (a, b) in both.levels.into_iter().zip(second.levels) {
            let a: Vec<f32> = a
                .raw
                .narrow(0, 1, 1)
                .into_data()
                .try_into_vec()
                .expect("f32");
            let b: Vec<f32> = b.raw.into_data().try_into_vec().expect("f32");
            let worst = a
                .iter()
                .zip(&b)
                .map(|(u, v)| (u - v).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "max difference {worst}");
        }
    }
}

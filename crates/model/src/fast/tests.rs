//! The fast path against plain burn on random weights, BatchNorm statistics randomised so
//! that folding matters.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use kernels::{Shape as KShape, Tensor as KTensor};

use super::bench_impl::max_rel_diff;
use super::layers::{ConvLayer, SpatialLayer};
use super::{FastError, FastNet, bench_infer};
use crate::blocks::{Conv, DwConv};
use crate::config::{ModelConfig, Scale, Variant};
use crate::decode::head_to_host;
use crate::detector::Detector;

fn device() -> Device {
    Device::flex()
}

/// Replaces BatchNorm γ, β, running mean and running variance with random values in ranges
/// that keep activations of a deep random network in a useful range.
struct RandomBatchNorm {
    path: Vec<String>,
    rng: ChaCha8Rng,
}

impl ModuleMapper for RandomBatchNorm {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (lo, hi) = match self.path.last().map(String::as_str) {
            Some("gamma") => (0.6, 1.4),
            Some("beta") => (-0.3, 0.3),
            Some("running_mean") => (-0.3, 0.3),
            Some("running_var") => (0.4, 2.0),
            _ => return param,
        };
        let rng = &mut self.rng;
        param.map(|t| {
            let shape = t.shape();
            let n = shape.num_elements();
            let v: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
            Tensor::from_data(TensorData::new(v, shape), &t.device())
        })
    }
}

fn randomise_bn<M: Module>(m: M, seed: u64) -> M {
    m.map(&mut RandomBatchNorm {
        path: Vec::new(),
        rng: ChaCha8Rng::seed_from_u64(seed),
    })
}

fn random_input(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn to_burn(x: &[f32], shape: [usize; 4]) -> Tensor<4> {
    Tensor::from_data(TensorData::new(x.to_vec(), shape), &device())
}

fn host(t: Tensor<4>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data")
}

fn assert_rel_close(got: &[f32], want: &[f32], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0_f64, |m, v| m.max((*v as f64).abs()));
    let worst = got
        .iter()
        .zip(want)
        .fold(0.0_f64, |m, (a, b)| m.max((*a as f64 - *b as f64).abs()));
    assert!(scale > 1e-3, "{what}: outputs vanish (max |y| = {scale:e})");
    assert!(
        worst <= tol * scale,
        "{what}: max |fast − burn| = {worst:e} against max |burn| = {scale:e}"
    );
}

#[test]
fn folded_conv_bn_silu_matches_burn() {
    // The stem (6×6 s2 p2), a dense 3×3 s2 and a pointwise conv.
    for (i, &(c_in, c_out, k, s, p)) in [(3, 8, 6, 2, 2), (5, 7, 3, 2, 1), (6, 4, 1, 1, 0)]
        .iter()
        .enumerate()
    {
        let conv = randomise_bn(
            Conv::with_padding(c_in, c_out, k, s, p, 1, &device()),
            i as u64,
        );
        let x = random_input(2 * c_in * 18 * 14, 10 + i as u64);
        let want = host(conv.forward(to_burn(&x, [2, c_in, 18, 14])));
        let layer = ConvLayer::from_block(&conv, "conv").expect("folds");
        let input = KTensor::new(x, KShape::new(2, c_in, 18, 14)).expect("sized");
        let got = layer.run(&input).expect("runs");
        assert_rel_close(got.data(), &want, 1e-5, &format!("conv {k}×{k} s{s}"));
    }
}

#[test]
fn folded_depthwise_separable_matches_burn() {
    for stride in [1, 2] {
        let block = randomise_bn(DwConv::new(6, 10, 3, stride, &device()), stride as u64);
        let spatial = crate::blocks::Spatial::Depthwise(block);
        let x = random_input(6 * 15 * 17, 3);
        let want = host(spatial.forward(to_burn(&x, [1, 6, 15, 17])));
        let layer = SpatialLayer::from_block(&spatial, "dw").expect("folds");
        let got = layer
            .run(&KTensor::new(x, KShape::new(1, 6, 15, 17)).expect("sized"))
            .expect("runs");
        assert_rel_close(got.data(), &want, 1e-5, &format!("DWConv stride {stride}"));
    }
}

/// Folds a random network with random BN statistics and compares every raw output map.
fn check_network(cfg: &ModelConfig, batch: usize, seed: u64) {
    let det = randomise_bn(Detector::new(cfg, &device()), seed);
    let fast = FastNet::from_detector(&det).expect("folds");
    let t = cfg.tile;
    let x = random_input(batch * 3 * t * t, seed + 1);
    let want = head_to_host(&det.forward(to_burn(&x, [batch, 3, t, t])));
    let got = fast.forward(&x, batch, t, t).expect("runs");
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.stride, g.shape), (w.stride, w.shape), "{}", cfg.name());
        assert_rel_close(
            &g.data,
            &w.data,
            1e-3,
            &format!("{} stride {}", cfg.name(), g.stride),
        );
    }
}

#[test]
fn fast_path_matches_burn_for_every_variant_at_n_and_s() {
    for (i, variant) in Variant::ALL.into_iter().enumerate() {
        for (j, scale) in [Scale::N, Scale::S].into_iter().enumerate() {
            let cfg = ModelConfig::new(variant, scale).with_tile(128);
            check_network(&cfg, 1, (10 * i + j) as u64);
        }
    }
}

#[test]
fn fast_path_matches_burn_with_depthwise_neck_and_a_batch() {
    let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N)
        .with_tile(64)
        .with_depthwise_neck(true);
    check_network(&cfg, 2, 77);
}

#[test]
fn non_square_input_and_decoding_agree_with_burn() {
    let cfg = ModelConfig::new(Variant::YoloBasin, Scale::N).with_tile(64);
    let det = randomise_bn(Detector::new(&cfg, &device()), 5);
    let fast = FastNet::from_detector(&det).expect("folds");
    let (h, w) = (64, 96);
    let x = random_input(3 * h * w, 6);
    let raw = head_to_host(&det.forward(to_burn(&x, [1, 3, h, w])));
    let ours = fast.forward(&x, 1, h, w).expect("runs");
    assert!(max_rel_diff(&raw, &ours) < 1e-3);
    let want = crate::decode::decode_host(&raw, &cfg, 0.0);
    let got = fast.detect(&x, 1, h, w, 0.0).expect("runs");
    assert_eq!(got[0].len(), want[0].len());
    for (g, w) in got[0].iter().zip(&want[0]) {
        for (a, b) in g.bbox.iter().zip(w.bbox) {
            assert!((a - b).abs() <= 1e-2 * (1.0 + b.abs()), "{g:?} vs {w:?}");
        }
        assert!((g.score - w.score).abs() < 1e-3);
    }
}

#[test]
fn same_bits_whatever_the_thread_count() {
    let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
    let fast =
        FastNet::from_detector(&randomise_bn(Detector::new(&cfg, &device()), 9)).expect("folds");
    let x = random_input(3 * 64 * 64, 1);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool");
        pool.install(|| fast.forward(&x, 1, 64, 64).expect("runs"))
    };
    let one = run(1);
    let three = run(3);
    for (a, b) in one.iter().zip(&three) {
        assert!(
            a.data
                .iter()
                .zip(&b.data)
                .all(|(u, v)| u.to_bits() == v.to_bits())
        );
    }
}

#[test]
fn refuses_bad_input() {
    let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
    let fast = FastNet::from_detector(&Detector::new(&cfg, &device())).expect("folds");
    let err = fast.forward(&[0.0; 10], 1, 64, 64).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input has 10 values, expected 12288 for a batch of 1 × 3 × 64 × 64"
    );
    let err = fast.forward(&[0.0; 3 * 60 * 64], 1, 60, 64).unwrap_err();
    assert!(
        matches!(err, FastError::InputShape { height: 60, .. }),
        "{err}"
    );
    assert!(fast.forward(&[], 0, 64, 64).is_err());
}

/// `cargo test -p model fast::tests::bench -- --ignored --nocapture`: prints the batch-1
/// timings at 416 of the S networks (a measurement, not a check; `yolo-basin bench infer`
/// is the user-facing twin).
#[test]
#[ignore = "a benchmark: run on purpose, on an idle machine"]
fn bench_s_networks_at_416() {
    for (i, variant) in Variant::ALL.into_iter().enumerate() {
        let cfg = ModelConfig::new(variant, Scale::S);
        let det = randomise_bn(Detector::new(&cfg, &device()), i as u64);
        let r = bench_infer(&det, 416, 15, 3).expect("runs");
        println!("{r:?}  speedup {:.2}×", r.speedup());
    }
}

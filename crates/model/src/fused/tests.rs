//! The fused op against the plain burn Conv + BatchNorm + SiLU, block by block and over a
//! few training steps of a whole network.

use burn::module::{Module, ModuleVisitor, Param, RunningState};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{FUSED_CALLS, with_enabled};
use crate::blocks::Conv;
use crate::config::{ModelConfig, Scale, Variant};
use crate::detector::Detector;

/// max |a − b| / max |b|: relative to the reference's scale, so that values near zero do not
/// turn rounding into large element-wise ratios.
fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data")
}

fn random(shape: [usize; 4], rng: &mut ChaCha8Rng, device: &Device) -> Tensor<4> {
    let n = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn random_vec1(n: usize, lo: f32, hi: f32, rng: &mut ChaCha8Rng, device: &Device) -> Tensor<1> {
    let data: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_data(TensorData::new(data, [n]), device)
}

/// A copy of `block` that shares no state with it (clones share running statistics).
fn independent_copy(block: &Conv, rebuild: impl Fn() -> Conv) -> Conv {
    rebuild().load_record(block.clone().into_record())
}

/// Counts fused-op calls on this thread while `f` runs.
fn fused_calls<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = FUSED_CALLS.with(|c| c.get());
    let r = f();
    (r, FUSED_CALLS.with(|c| c.get()) - before)
}

struct Case {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    pad: usize,
    groups: usize,
}

const CASES: [Case; 6] = [
    Case {
        name: "dense 1×1",
        c_in: 5,
        c_out: 7,
        k: 1,
        stride: 1,
        pad: 0,
        groups: 1,
    },
    Case {
        name: "dense 3×3 s1",
        c_in: 4,
        c_out: 6,
        k: 3,
        stride: 1,
        pad: 1,
        groups: 1,
    },
    Case {
        name: "dense 3×3 s2",
        c_in: 4,
        c_out: 6,
        k: 3,
        stride: 2,
        pad: 1,
        groups: 1,
    },
    Case {
        name: "dense 6×6 s2 p2",
        c_in: 3,
        c_out: 5,
        k: 6,
        stride: 2,
        pad: 2,
        groups: 1,
    },
    Case {
        name: "depthwise 3×3 s1",
        c_in: 6,
        c_out: 6,
        k: 3,
        stride: 1,
        pad: 1,
        groups: 6,
    },
    Case {
        name: "depthwise 3×3 s2",
        c_in: 6,
        c_out: 6,
        k: 3,
        stride: 2,
        pad: 1,
        groups: 6,
    },
];

/// One forward + backward of `block` on `x`, loss ⟨y, r⟩: output, grads of x, weight,
/// γ, β, and the running statistics after the step.
fn step(block: &Conv, x: &Tensor<4>, r: &Tensor<4>) -> [Vec<f32>; 7] {
    let x = x.clone().require_grad();
    let y = block.forward(x.clone());
    let grads = (y.clone() * r.clone()).sum().backward();
    let grad = |t: Option<Tensor<4>>| values(t.expect("a gradient"));
    let grad1 = |t: Option<Tensor<1>>| values(t.expect("a gradient"));
    [
        values(y),
        grad(x.grad(&grads)),
        grad(block.conv.weight.grad(&grads)),
        grad1(block.bn.gamma.grad(&grads)),
        grad1(block.bn.beta.grad(&grads)),
        values(block.bn.running_mean.value()),
        values(block.bn.running_var.value()),
    ]
}

#[test]
fn blocks_match_plain_burn() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let what = [
        "output",
        "dx",
        "dweight",
        "dgamma",
        "dbeta",
        "running mean",
        "running var",
    ];
    for case in &CASES {
        let build = || {
            Conv::with_padding(
                case.c_in,
                case.c_out,
                case.k,
                case.stride,
                case.pad,
                case.groups,
                &device,
            )
        };
        let mut fused = build();
        // γ, β and the running statistics away from their initial 1, 0, 0, 1.
        fused.bn.gamma = Param::from_tensor(random_vec1(case.c_out, 0.5, 1.5, &mut rng, &device));
        fused.bn.beta = Param::from_tensor(random_vec1(case.c_out, -0.5, 0.5, &mut rng, &device));
        fused.bn.running_mean =
            RunningState::new(random_vec1(case.c_out, -1.0, 1.0, &mut rng, &device));
        fused.bn.running_var =
            RunningState::new(random_vec1(case.c_out, 0.5, 2.0, &mut rng, &device));
        let plain = independent_copy(&fused, build);
        let x = random([2, case.c_in, 11, 10], &mut rng, &device)
            .mul_scalar(2.0)
            .add_scalar(0.3);
        let out = |len: usize| (len + 2 * case.pad - case.k) / case.stride + 1;
        let r = random([2, case.c_out, out(11), out(10)], &mut rng, &device);
        let (got, calls) = fused_calls(|| with_enabled(true, || step(&fused, &x, &r)));
        assert_eq!(calls, 1, "{}: the fused path was not taken", case.name);
        let (want, calls) = fused_calls(|| with_enabled(false, || step(&plain, &x, &r)));
        assert_eq!(calls, 0, "{}: the plain path was not taken", case.name);
        for ((g, w), name) in got.iter().zip(&want).zip(what) {
            let e = rel_err(g, w);
            assert!(
                e <= 1e-4,
                "{}: {name} differs by {e:e} (relative)",
                case.name
            );
        }
    }
}

#[test]
fn inference_and_frozen_batchnorm_keep_the_plain_path() {
    let device = Device::flex().autodiff();
    let block = Conv::new(3, 4, 3, 1, &device);
    let x = Tensor::<4>::ones([1, 3, 6, 6], &device);
    let (_, calls) =
        fused_calls(|| with_enabled(true, || block.valid().forward(x.clone().inner())));
    assert_eq!(calls, 0, "no autodiff: plain path");
    let (_, calls) = fused_calls(|| with_enabled(false, || block.forward(x.clone())));
    assert_eq!(calls, 0, "disabled: plain path");
    let (_, calls) = fused_calls(|| with_enabled(true, || block.forward(x.clone())));
    assert_eq!(calls, 1, "training on autodiff Flex: fused path");
}

/// ⟨raw, r⟩ + mean(raw²) over the levels, r random.
fn loss(out: crate::HeadOutput, rng: &mut ChaCha8Rng) -> Tensor<1> {
    let mut total = Tensor::<1>::zeros([1], &out.levels[0].raw.device());
    for level in out.levels {
        let r = random(level.raw.dims(), rng, &level.raw.device());
        let sq = level.raw.clone().powi_scalar(2).mean();
        total = total + (level.raw * r).mean() + sq;
    }
    total
}

/// Every float parameter, in module order.
struct Collect(Vec<Vec<f32>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(values(param.val().inner()));
    }
}

/// Losses of `steps` SGD steps on [`loss`], then every parameter and the eval-mode output
/// (which reads the running statistics). SGD, not Adam: Adam's first steps move every
/// weight by ±lr whatever its gradient's size, so rounding-level differences in a
/// near-zero gradient would flip whole updates.
fn train(model: Detector, fused: bool, steps: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let tile = model.config().tile;
    let mut optim = SgdConfig::new().init();
    let mut model = model;
    let mut losses = Vec::new();
    for _ in 0..steps {
        let x = random([2, 3, tile, tile], &mut rng, &device);
        let out = with_enabled(fused, || model.forward(x));
        let loss = loss(out, &mut rng);
        losses.push(values(loss.clone())[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-4, model, grads);
    }
    let mut params = Collect(Vec::new());
    model.visit(&mut params);
    let x = random([1, 3, tile, tile], &mut rng, &device).inner();
    for level in model.valid().forward(x).levels {
        params.0.push(values(level.raw));
    }
    (losses, params.0)
}

#[test]
fn network_training_steps_match_plain_burn() {
    let device = Device::flex().autodiff();
    let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(96);
    let fused = Detector::try_seeded(&cfg, &device, 1).expect("valid config");
    let plain = Detector::new(&cfg, &device).load_record(fused.clone().into_record());
    let ((fl, fp), calls) = fused_calls(|| train(fused, true, 3));
    assert!(calls > 20, "only {calls} fused blocks ran");
    let (pl, pp) = train(plain, false, 3);
    for (i, (a, b)) in fl.iter().zip(&pl).enumerate() {
        assert!((a - b).abs() <= 1e-4 * b.abs(), "step {i}: loss {a} vs {b}");
    }
    assert_eq!(fp.len(), pp.len());
    // All parameters and outputs together within 1e-4 of their scale; each tensor within
    // the gradients' 3e-4 (β starts at zero, so after a few steps it *is* a sum of
    // gradients and carries their relative error).
    let (all_f, all_p): (Vec<f32>, Vec<f32>) = (fp.concat(), pp.concat());
    let e = rel_err(&all_f, &all_p);
    assert!(
        e <= 1e-4,
        "parameters and outputs differ by {e:e} (relative)"
    );
    for (i, (a, b)) in fp.iter().zip(&pp).enumerate() {
        let e = rel_err(a, b);
        assert!(
            e <= 3e-4,
            "parameter or output {i} differs by {e:e} (relative)"
        );
    }
}

/// The gradient of every float parameter, in module order.
struct GradCollect<'a>(&'a GradientsParams, Vec<Vec<f32>>);

impl ModuleVisitor for GradCollect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.0.get::<D>(param.id) {
            self.1.push(values(g));
        }
    }
}

/// Per-block errors stay under 1e-4 (above); through the ~60 blocks of a network, both
/// paths' f32 rounding (cancellation in BatchNorm's backward) adds up to about that size
/// in every parameter's gradient, so the whole-network gradients are held to 3e-4.
#[test]
fn network_gradients_match_plain_burn() {
    let device = Device::flex().autodiff();
    let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(96);
    let fused = Detector::try_seeded(&cfg, &device, 1).expect("valid config");
    let plain = Detector::new(&cfg, &device).load_record(fused.clone().into_record());
    let mut all = Vec::new();
    for (m, on) in [(&fused, true), (&plain, false)] {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x = random([2, 3, 96, 96], &mut rng, &device);
        let out = with_enabled(on, || m.forward(x));
        let grads = GradientsParams::from_grads(loss(out, &mut rng).backward(), m);
        let mut c = GradCollect(&grads, Vec::new());
        m.visit(&mut c);
        all.push(c.1);
    }
    assert!(all[0].len() > 100, "{} gradients", all[0].len());
    assert_eq!(all[0].len(), all[1].len());
    for (i, (a, b)) in all[0].iter().zip(&all[1]).enumerate() {
        let e = rel_err(a, b);
        assert!(e <= 3e-4, "gradient {i} differs by {e:e} (relative)");
    }
}

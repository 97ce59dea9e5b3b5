//! Naive reference implementations, written straight from the definitions, that the fast
//! kernels are tested against.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Activation, ConvSpec, Shape, Tensor};

pub fn random_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

pub fn random_tensor(shape: Shape, seed: u64) -> Tensor {
    Tensor::new(random_vec(shape.len(), seed), shape).expect("length made from the shape")
}

fn activate(v: f64, act: Activation) -> f64 {
    match act {
        Activation::None => v,
        Activation::Silu => v / (1.0 + (-v).exp()),
    }
}

/// The seven-loop convolution (in f64) with `groups` groups: `spec.c_in` is the total input
/// channel count, weights are `[c_out, c_in / groups, k, k]`.
pub fn conv2d(
    x: &Tensor,
    weight: &[f32],
    bias: &[f32],
    spec: ConvSpec,
    groups: usize,
    act: Activation,
) -> Tensor {
    let s = x.shape();
    let (k, st, p) = (spec.kernel, spec.stride, spec.padding as isize);
    let (oh, ow) = spec.output_size(s.h, s.w).expect("test shapes fit");
    let (cig, cog) = (spec.c_in / groups, spec.c_out / groups);
    let mut out = Tensor::zeros(Shape::new(s.n, spec.c_out, oh, ow));
    for b in 0..s.n {
        for co in 0..spec.c_out {
            let g = co / cog;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = bias[co] as f64;
                    for ci in 0..cig {
                        let cin = g * cig + ci;
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (oy * st + ky) as isize - p;
                                let ix = (ox * st + kx) as isize - p;
                                if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize {
                                    continue;
                                }
                                let xv = x.data()
                                    [((b * s.c + cin) * s.h + iy as usize) * s.w + ix as usize];
                                let wv = weight[((co * cig + ci) * k + ky) * k + kx];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    out.data_mut()[((b * spec.c_out + co) * oh + oy) * ow + ox] =
                        activate(acc, act) as f32;
                }
            }
        }
    }
    out
}

/// Max over the k×k window centred on each pixel, the outside ignored (PyTorch pads with −∞).
pub fn max_pool_same(x: &Tensor, k: usize) -> Tensor {
    let s = x.shape();
    let r = (k / 2) as isize;
    let mut out = Tensor::zeros(s);
    for p in 0..s.n * s.c {
        for y in 0..s.h as isize {
            for xx in 0..s.w as isize {
                let mut best = f32::NEG_INFINITY;
                for dy in -r..=r {
                    for dx in -r..=r {
                        let (iy, ix) = (y + dy, xx + dx);
                        if iy >= 0 && ix >= 0 && iy < s.h as isize && ix < s.w as isize {
                            best =
                                best.max(x.data()[p * s.plane() + iy as usize * s.w + ix as usize]);
                        }
                    }
                }
                out.data_mut()[p * s.plane() + y as usize * s.w + xx as usize] = best;
            }
        }
    }
    out
}

/// PyTorch's `upsample_bilinear2d` (align_corners = False) transcribed: source coordinate
/// (dst + 0.5)·scale − 0.5 clamped at 0, lambda from it, the upper index clamped.
pub fn upsample_bilinear2x(x: &Tensor) -> Tensor {
    let s = x.shape();
    let (oh, ow) = (2 * s.h, 2 * s.w);
    let source = |dst: usize, in_len: usize| {
        let src = ((dst as f64 + 0.5) * 0.5 - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(in_len - 1);
        let i1 = (i0 + 1).min(in_len - 1);
        (i0, i1, src - i0 as f64)
    };
    let mut out = Tensor::zeros(Shape::new(s.n, s.c, oh, ow));
    for p in 0..s.n * s.c {
        let plane = &x.data()[p * s.plane()..(p + 1) * s.plane()];
        for oy in 0..oh {
            let (y0, y1, ly) = source(oy, s.h);
            for ox in 0..ow {
                let (x0, x1, lx) = source(ox, s.w);
                let at = |y: usize, xx: usize| plane[y * s.w + xx] as f64;
                let v = (1.0 - ly) * ((1.0 - lx) * at(y0, x0) + lx * at(y0, x1))
                    + ly * ((1.0 - lx) * at(y1, x0) + lx * at(y1, x1));
                out.data_mut()[p * oh * ow + oy * ow + ox] = v as f32;
            }
        }
    }
    out
}

/// Asserts |a − b| ≤ tol · (1 + |b|) everywhere, naming the first offending index.
pub fn assert_close(got: &Tensor, truth: &Tensor, tol: f32) {
    assert_eq!(got.shape(), truth.shape(), "shapes differ");
    for (i, (g, t)) in got.data().iter().zip(truth.data()).enumerate() {
        assert!(
            (g - t).abs() <= tol * (1.0 + t.abs()),
            "index {i}: got {g}, expected {t} (shape {})",
            got.shape()
        );
    }
}

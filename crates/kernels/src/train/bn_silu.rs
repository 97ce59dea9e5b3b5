//! Batch-statistic BatchNorm fused with SiLU, forward and closed-form backward.
//!
//! Forward: `a = γ·(z − μ)/√(σ² + ε) + β`, `y = a·σ(a)`, with μ and the biased σ² over
//! (batch, rows, columns) as PyTorch normalises in training. Backward, with
//! `da = dy·σ(a)·(1 + a·(1 − σ(a)))` and `x̂ = (z − μ)/√(σ² + ε)`:
//! `dβ = Σ da`, `dγ = Σ da·x̂`, `dz = γ/√(σ² + ε) · (da − mean(da) − x̂·mean(da·x̂))`.
//!
//! Sums are accumulated in f64 per image plane, then reduced over images in image order.

use rayon::prelude::*;

use crate::KernelError;
use crate::act::exp_approx;
use crate::simd::{LANES, multiversion};

/// The block's output and the batch statistics (biased variance) it normalised with.
#[derive(Debug, Clone, PartialEq)]
pub struct BnSiluOutput {
    pub y: Vec<f32>,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// Gradients of the BatchNorm input and its affine parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BnSiluGrads {
    pub input: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// `[batch, channels, plane]` sizes of a BatchNorm input.
#[derive(Debug, Clone, Copy)]
struct Dims {
    channels: usize,
    count: usize,
}

fn dims(
    z: &[f32],
    batch: usize,
    channels: usize,
    plane: usize,
    params: [(&'static str, usize); 2],
) -> Result<Dims, KernelError> {
    let count = batch * plane;
    if count == 0 || channels == 0 {
        return Err(KernelError::ShapeMismatch {
            op: "bn silu",
            detail: format!("batch {batch} × plane {plane} × channels {channels} has no values"),
        });
    }
    let mut checks = vec![("bn silu input", batch * channels * plane, z.len())];
    checks.extend(params.iter().map(|&(what, got)| (what, channels, got)));
    for (what, expected, got) in checks {
        if expected != got {
            return Err(KernelError::Length {
                what,
                detail: format!("batch {batch}, channels {channels}, plane {plane}"),
                expected,
                got,
            });
        }
    }
    Ok(Dims { channels, count })
}

/// Forward of BatchNorm (batch statistics, `eps`) and SiLU over `z` = `[batch, channels,
/// plane]`.
pub fn bn_silu_forward(
    z: &[f32],
    batch: usize,
    channels: usize,
    plane: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
) -> Result<BnSiluOutput, KernelError> {
    let d = dims(
        z,
        batch,
        channels,
        plane,
        [("bn gamma", gamma.len()), ("bn beta", beta.len())],
    )?;
    // Moments about the channel's first value keep the one-pass variance free of
    // cancellation when the mean is large against the spread.
    let shifts: Vec<f32> = (0..channels).map(|c| z[c * plane]).collect();
    let mut parts = vec![(0.0f64, 0.0f64); batch * channels];
    parts
        .par_iter_mut()
        .zip(z.par_chunks(plane))
        .enumerate()
        .for_each(|(p, (part, v))| *part = moments(v, shifts[p % channels]));
    let totals = reduce_parts(&parts, channels);
    let n = d.count as f64;
    let (mut mean, mut var) = (Vec::with_capacity(channels), Vec::with_capacity(channels));
    for (c, (s1, s2)) in totals.iter().enumerate() {
        let m1 = s1 / n;
        mean.push((shifts[c] as f64 + m1) as f32);
        var.push((s2 / n - m1 * m1).max(0.0) as f32);
    }
    let affine = Affine::new(&mean, &var, gamma, beta, eps);
    let mut y = vec![0.0f32; z.len()];
    y.par_chunks_mut(plane)
        .zip(z.par_chunks(plane))
        .enumerate()
        .for_each(|(p, (out, v))| {
            let c = p % d.channels;
            scale_shift_silu(v, out, affine.scale[c], affine.shift[c]);
        });
    Ok(BnSiluOutput { y, mean, var })
}

/// Backward of [`bn_silu_forward`] given the conv output `z`, the statistics it returned and
/// the output gradient `dy`.
#[allow(clippy::too_many_arguments)] // the forward's inputs, its statistics and dy
pub fn bn_silu_backward(
    z: &[f32],
    dy: &[f32],
    batch: usize,
    channels: usize,
    plane: usize,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f64,
) -> Result<BnSiluGrads, KernelError> {
    let mut dz = vec![0.0f32; z.len()];
    let stats = BnStats {
        batch,
        channels,
        plane,
        gamma,
        beta,
        mean,
        var,
        eps,
    };
    let (gamma, beta) = backward_into(z, dy, &stats, &mut dz)?;
    Ok(BnSiluGrads {
        input: dz,
        gamma,
        beta,
    })
}

/// A BatchNorm's sizes, parameters and the batch statistics of its forward.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BnStats<'a> {
    pub batch: usize,
    pub channels: usize,
    pub plane: usize,
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub mean: &'a [f32],
    pub var: &'a [f32],
    pub eps: f64,
}

/// [`bn_silu_backward`] writing the input gradient into `dz` (every value overwritten);
/// returns the gradients of γ and β.
pub(crate) fn backward_into(
    z: &[f32],
    dy: &[f32],
    st: &BnStats,
    dz: &mut [f32],
) -> Result<(Vec<f32>, Vec<f32>), KernelError> {
    let BnStats {
        batch,
        channels,
        plane,
        gamma,
        beta,
        mean,
        var,
        eps,
    } = *st;
    let d = dims(
        z,
        batch,
        channels,
        plane,
        [("bn gamma", gamma.len()), ("bn beta", beta.len())],
    )?;
    dims(
        z,
        batch,
        channels,
        plane,
        [("bn mean", mean.len()), ("bn var", var.len())],
    )?;
    if dy.len() != z.len() || dz.len() != z.len() {
        return Err(KernelError::Length {
            what: "bn silu output gradient",
            detail: format!("batch {batch}, channels {channels}, plane {plane}"),
            expected: z.len(),
            got: if dy.len() != z.len() {
                dy.len()
            } else {
                dz.len()
            },
        });
    }
    let affine = Affine::new(mean, var, gamma, beta, eps);
    let mut parts = vec![(0.0f64, 0.0f64); batch * channels];
    parts
        .par_iter_mut()
        .zip(dz.par_chunks_mut(plane))
        .zip(z.par_chunks(plane).zip(dy.par_chunks(plane)))
        .enumerate()
        .for_each(|(p, ((part, da), (v, g)))| {
            let c = p % d.channels;
            *part = silu_grad(
                v,
                g,
                da,
                affine.scale[c],
                affine.shift[c],
                mean[c],
                affine.inv_std[c],
            );
        });
    let totals = reduce_parts(&parts, channels);
    let n = d.count as f64;
    dz.par_chunks_mut(plane)
        .zip(z.par_chunks(plane))
        .enumerate()
        .for_each(|(p, (da, v))| {
            let c = p % d.channels;
            let (sum_da, sum_dax) = totals[c];
            let coeffs = [
                affine.scale[c],
                mean[c],
                affine.inv_std[c],
                (sum_da / n) as f32,
                (sum_dax / n) as f32,
            ];
            input_grad(v, da, coeffs);
        });
    Ok((
        totals.iter().map(|t| t.1 as f32).collect(),
        totals.iter().map(|t| t.0 as f32).collect(),
    ))
}

/// Per channel: `a = z·scale + shift` with `scale = γ/√(σ² + ε)`, `shift = β − μ·scale`.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
    inv_std: Vec<f32>,
}

impl Affine {
    fn new(mean: &[f32], var: &[f32], gamma: &[f32], beta: &[f32], eps: f64) -> Self {
        let inv_std: Vec<f64> = var.iter().map(|&v| 1.0 / (v as f64 + eps).sqrt()).collect();
        let scale: Vec<f64> = gamma
            .iter()
            .zip(&inv_std)
            .map(|(&g, s)| g as f64 * s)
            .collect();
        let shift = beta
            .iter()
            .zip(mean)
            .zip(&scale)
            .map(|((&b, &m), s)| (b as f64 - m as f64 * s) as f32)
            .collect();
        Self {
            scale: scale.iter().map(|&s| s as f32).collect(),
            shift,
            inv_std: inv_std.iter().map(|&s| s as f32).collect(),
        }
    }
}

/// Sums per-plane pairs over images, in image order.
fn reduce_parts(parts: &[(f64, f64)], channels: usize) -> Vec<(f64, f64)> {
    let mut totals = vec![(0.0f64, 0.0f64); channels];
    for image in parts.chunks_exact(channels) {
        for (t, p) in totals.iter_mut().zip(image) {
            t.0 += p.0;
            t.1 += p.1;
        }
    }
    totals
}

/// Values summed in f32 lanes before the lanes are added into f64: short enough for f32
/// to stay exact to ~1e-6, long enough for the f64 work not to slow the loop.
const BLOCK: usize = 64 * LANES;

/// Adds per-lane f32 partial sums into an f64 total.
#[inline(always)]
fn flush(total: &mut f64, lanes: &[f32; LANES]) {
    *total += lanes.iter().map(|&v| v as f64).sum::<f64>();
}

multiversion! {
    /// (Σ (v − shift), Σ (v − shift)²), f32 within blocks, f64 across them.
    fn moments(v: &[f32], shift: f32) -> (f64, f64) {
        let (mut t1, mut t2) = (0.0f64, 0.0f64);
        for block in v.chunks(BLOCK) {
            let mut s1 = [0.0f32; LANES];
            let mut s2 = [0.0f32; LANES];
            let (chunks, rest) = block.as_chunks::<LANES>();
            for chunk in chunks {
                for l in 0..LANES {
                    let d = chunk[l] - shift;
                    s1[l] += d;
                    s2[l] += d * d;
                }
            }
            for (l, &x) in rest.iter().enumerate() {
                let d = x - shift;
                s1[l] += d;
                s2[l] += d * d;
            }
            flush(&mut t1, &s1);
            flush(&mut t2, &s2);
        }
        (t1, t2)
    }
}

#[inline(always)]
fn silu_of(a: f32) -> f32 {
    a / (1.0 + exp_approx(-a))
}

multiversion! {
    /// `out = silu(v·scale + shift)`.
    fn scale_shift_silu(v: &[f32], out: &mut [f32], scale: f32, shift: f32) {
        for (o, &x) in out.iter_mut().zip(v) {
            *o = silu_of(x * scale + shift);
        }
    }
}

#[inline(always)]
fn silu_grad_one(x: f32, g: f32, scale: f32, shift: f32, mean: f32, inv_std: f32) -> (f32, f32) {
    let a = x * scale + shift;
    let s = 1.0 / (1.0 + exp_approx(-a));
    let da = g * s * (1.0 + a * (1.0 - s));
    (da, da * ((x - mean) * inv_std))
}

multiversion! {
    /// `da = dy·silu'(a)` into `da`; returns (Σ da, Σ da·x̂), f32 within blocks, f64 across.
    fn silu_grad(
        v: &[f32],
        g: &[f32],
        da: &mut [f32],
        scale: f32,
        shift: f32,
        mean: f32,
        inv_std: f32,
    ) -> (f64, f64) {
        let (mut t1, mut t2) = (0.0f64, 0.0f64);
        for ((vb, gb), db) in v.chunks(BLOCK).zip(g.chunks(BLOCK)).zip(da.chunks_mut(BLOCK)) {
            let mut s1 = [0.0f32; LANES];
            let mut s2 = [0.0f32; LANES];
            let (vc, vr) = vb.as_chunks::<LANES>();
            let (gc, gr) = gb.as_chunks::<LANES>();
            let (dc, dr) = db.as_chunks_mut::<LANES>();
            for ((x, gg), d) in vc.iter().zip(gc).zip(dc) {
                for l in 0..LANES {
                    let (a, b) = silu_grad_one(x[l], gg[l], scale, shift, mean, inv_std);
                    d[l] = a;
                    s1[l] += a;
                    s2[l] += b;
                }
            }
            for (l, ((x, gg), d)) in vr.iter().zip(gr).zip(dr).enumerate() {
                let (a, b) = silu_grad_one(*x, *gg, scale, shift, mean, inv_std);
                *d = a;
                s1[l] += a;
                s2[l] += b;
            }
            flush(&mut t1, &s1);
            flush(&mut t2, &s2);
        }
        (t1, t2)
    }
}

multiversion! {
    /// `da ← k·(da − mean(da) − x̂·mean(da·x̂))`, coeffs = [k, μ, 1/σ, mean(da), mean(da·x̂)].
    fn input_grad(v: &[f32], da: &mut [f32], coeffs: [f32; 5]) {
        let [k, mean, inv_std, m_da, m_dax] = coeffs;
        for (d, &x) in da.iter_mut().zip(v) {
            let xhat = (x - mean) * inv_std;
            *d = k * (*d - m_da - xhat * m_dax);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::random_vec;

    /// The block in f64, straight from the definitions.
    fn reference_loss(z: &[f64], dy: &[f32], b: usize, c: usize, p: usize, gb: &[f64]) -> f64 {
        let (gamma, beta) = gb.split_at(c);
        let mut loss = 0.0;
        for ch in 0..c {
            let vals: Vec<f64> = (0..b)
                .flat_map(|n| (0..p).map(move |i| (n * c + ch) * p + i))
                .map(|i| z[i])
                .collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / vals.len() as f64;
            for n in 0..b {
                for i in 0..p {
                    let idx = (n * c + ch) * p + i;
                    let a = gamma[ch] * (z[idx] - m) / (var + 1e-3).sqrt() + beta[ch];
                    loss += dy[idx] as f64 * a / (1.0 + (-a).exp());
                }
            }
        }
        loss
    }

    #[test]
    fn forward_and_backward_match_the_definition() {
        let (b, c, p) = (3, 4, 10);
        let z: Vec<f32> = random_vec(b * c * p, 1)
            .iter()
            .map(|v| 3.0 * v + 0.5)
            .collect();
        let dy = random_vec(b * c * p, 2);
        let gamma: Vec<f32> = random_vec(c, 3).iter().map(|v| 1.0 + v).collect();
        let beta = random_vec(c, 4);
        let out = bn_silu_forward(&z, b, c, p, &gamma, &beta, 1e-3).unwrap();
        let grads =
            bn_silu_backward(&z, &dy, b, c, p, &gamma, &beta, &out.mean, &out.var, 1e-3).unwrap();
        let gb: Vec<f64> = gamma.iter().chain(&beta).map(|&v| v as f64).collect();
        // Forward: ⟨dy, y⟩ against the f64 definition.
        let got: f64 = out
            .y
            .iter()
            .zip(&dy)
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum();
        let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        let want = reference_loss(&z64, &dy, b, c, p, &gb);
        assert!(
            (got - want).abs() < 1e-5 * (1.0 + want.abs()),
            "{got} vs {want}"
        );
        let h = 1e-4;
        let fd = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
        for i in 0..z.len() {
            let want = fd(&|e| {
                let mut zz = z64.clone();
                zz[i] += e;
                reference_loss(&zz, &dy, b, c, p, &gb)
            });
            let got = grads.input[i] as f64;
            assert!(
                (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                "dz[{i}] {got} vs {want}"
            );
        }
        for j in 0..2 * c {
            let want = fd(&|e| {
                let mut g = gb.clone();
                g[j] += e;
                reference_loss(&z64, &dy, b, c, p, &g)
            });
            let got = if j < c {
                grads.gamma[j]
            } else {
                grads.beta[j - c]
            } as f64;
            assert!(
                (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                "param {j}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn statistics_are_the_biased_moments() {
        // One channel, two images of two values: 1, 3 | 5, 7 → mean 4, biased variance 5.
        let out = bn_silu_forward(&[1.0, 3.0, 5.0, 7.0], 2, 1, 2, &[1.0], &[0.0], 1e-3).unwrap();
        assert_eq!(out.mean, vec![4.0]);
        assert_eq!(out.var, vec![5.0]);
        let err = bn_silu_forward(&[1.0; 4], 2, 1, 2, &[1.0, 2.0], &[0.0], 1e-3).unwrap_err();
        assert!(
            err.to_string().starts_with("bn gamma: expected 1 values"),
            "{err}"
        );
    }
}

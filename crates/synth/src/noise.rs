//! Decorrelation noise of a multilooked interferogram with true coherence γ.
//!
//! Each pixel averages L looks of two circular complex Gaussian SLCs with correlation γ.
//! The 2 × 2 sample covariance is then complex Wishart; with the Bartlett decomposition
//! of Σ = [[1, γ], [γ, 1]] = C Cᴴ and A = [[a11, 0], [a21, a22]] (a11² ~ Γ(L), a22² ~
//! Γ(L−1), a21 ~ CN(0, 1)), the sums are
//!   Σ|z1|² = a11², Σ z1 z2* = a11 (γ a11 + s a21*), Σ|z2|² = |γ a11 + s a21|² + s² a22²,
//! with s = √(1 − γ²). Three random numbers per pixel instead of 4L normals; the phase
//! of Σ z1 z2* has exactly the multilook phase distribution of L looks.

use rand::Rng;
use rand_distr::{Distribution, Gamma, StandardNormal};
use rayon::prelude::*;

/// The three second moments of one multilooked pixel (already divided by L).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    pub p1: f32,
    pub p2: f32,
    pub cross: num_complex::Complex32,
}

/// Gamma(shape, 1) samplers for a11² and a22².
pub struct LookSampler {
    looks: f64,
    g1: Gamma<f64>,
    g2: Option<Gamma<f64>>,
}

impl LookSampler {
    /// `looks` ≥ 1 (values are clamped there).
    pub fn new(looks: f64) -> Self {
        let looks = looks.max(1.0);
        // Shapes are positive, so construction cannot fail; fall back to 1 defensively.
        let g1 =
            Gamma::new(looks, 1.0).unwrap_or_else(|_| Gamma::new(1.0, 1.0).expect("unit gamma"));
        let g2 = (looks > 1.0)
            .then(|| Gamma::new(looks - 1.0, 1.0).ok())
            .flatten();
        Self { looks, g1, g2 }
    }

    /// Samples the moments of a pixel with coherence `gamma` and signal phase `phi`.
    pub fn sample<R: Rng>(&self, rng: &mut R, gamma: f32, phi: f32) -> Moments {
        let g = gamma.clamp(0.0, 1.0) as f64;
        let s = (1.0 - g * g).sqrt();
        let a11 = self.g1.sample(rng).sqrt();
        let (re, im): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
        // a21 ~ CN(0, 1): unit total variance, ½ per component.
        let (re, im) = (
            re * std::f64::consts::FRAC_1_SQRT_2,
            im * std::f64::consts::FRAC_1_SQRT_2,
        );
        let a22sq = self.g2.as_ref().map_or(0.0, |g| g.sample(rng));
        // t = γ a11 + s a21 (second row of C·A, first column); cross = a11 · conj(t).
        let (tr, ti) = (g * a11 + s * re, s * im);
        let p2 = tr * tr + ti * ti + s * s * a22sq;
        let l = self.looks;
        let (cr, ci) = ((a11 * tr / l) as f32, (-a11 * ti / l) as f32);
        // The signal phase only rotates the cross moment: f32 is exact enough for it.
        let (sn, cs) = phi.sin_cos();
        Moments {
            p1: (a11 * a11 / l) as f32,
            p2: (p2 / l) as f32,
            cross: num_complex::Complex32::new(cr * cs - ci * sn, cr * sn + ci * cs),
        }
    }
}

/// Coherence estimated as users do: |Σ z1 z2*| / √(Σ|z1|² Σ|z2|²) over a (2k+1)² box,
/// truncated at the borders, signal phase included (so steep fringes lower it, as in real
/// estimates). Output rows run in parallel, each summing its window directly (no running
/// sums: no drift, no full-size buffers, the same result for any thread count).
pub fn estimate_coherence(
    p1: &[f32],
    p2: &[f32],
    cross: &[num_complex::Complex32],
    w: usize,
    h: usize,
    k: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    if w == 0 || h == 0 {
        return out;
    }
    out.par_chunks_mut(w).enumerate().for_each(|(r, o)| {
        let mut acc = vec![[0.0f64; 4]; w];
        for rr in r.saturating_sub(k)..(r + k + 1).min(h) {
            let row = rr * w..(rr + 1) * w;
            let (a, b, x) = (&p1[row.clone()], &p2[row.clone()], &cross[row]);
            for (c, s) in acc.iter_mut().enumerate() {
                for j in c.saturating_sub(k)..(c + k + 1).min(w) {
                    s[0] += a[j] as f64;
                    s[1] += b[j] as f64;
                    s[2] += x[j].re as f64;
                    s[3] += x[j].im as f64;
                }
            }
        }
        for (g, [p1, p2, cr, ci]) in o.iter_mut().zip(acc) {
            let d = (p1 * p2).sqrt();
            *g = if d > 0.0 {
                ((cr * cr + ci * ci).sqrt() / d).min(1.0) as f32
            } else {
                0.0
            };
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    type Planes<'a> = (&'a [f32], &'a [f32], &'a [num_complex::Complex32]);

    /// Calls `f` with the moments split into planes, as the simulator keeps them.
    fn planes<T>(m: &[Moments], f: impl Fn(Planes) -> T) -> T {
        let p1: Vec<f32> = m.iter().map(|x| x.p1).collect();
        let p2: Vec<f32> = m.iter().map(|x| x.p2).collect();
        let x: Vec<num_complex::Complex32> = m.iter().map(|x| x.cross).collect();
        f((&p1, &p2, &x))
    }

    /// Direct simulation of L looks of two correlated SLCs (the definition).
    fn direct<R: Rng>(rng: &mut R, looks: usize, g: f64) -> (f64, f64, f64, f64) {
        let s = (1.0 - g * g).sqrt();
        let mut cn = || {
            let (a, b): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            (
                a * std::f64::consts::FRAC_1_SQRT_2,
                b * std::f64::consts::FRAC_1_SQRT_2,
            )
        };
        let (mut p1, mut p2, mut cr, mut ci) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..looks {
            let a = cn();
            let b = cn();
            let z2 = (g * a.0 + s * b.0, g * a.1 + s * b.1);
            p1 += a.0 * a.0 + a.1 * a.1;
            p2 += z2.0 * z2.0 + z2.1 * z2.1;
            cr += a.0 * z2.0 + a.1 * z2.1;
            ci += a.1 * z2.0 - a.0 * z2.1;
        }
        (p1, p2, cr, ci)
    }

    fn phase_std(samples: &[f64]) -> f64 {
        // Circular spread around zero (signal phase is 0 in these tests).
        (samples.iter().map(|p| p * p).sum::<f64>() / samples.len() as f64).sqrt()
    }

    #[test]
    fn bartlett_matches_direct_simulation() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 40_000;
        for (looks, g) in [(1usize, 0.5f64), (5, 0.3), (5, 0.8), (4, 0.95)] {
            let sampler = LookSampler::new(looks as f64);
            let a: Vec<f64> = (0..n)
                .map(|_| sampler.sample(&mut rng, g as f32, 0.0).cross.arg() as f64)
                .collect();
            let b: Vec<f64> = (0..n)
                .map(|_| {
                    let (_, _, cr, ci) = direct(&mut rng, looks, g);
                    ci.atan2(cr)
                })
                .collect();
            let (sa, sb) = (phase_std(&a), phase_std(&b));
            assert!((sa - sb).abs() < 0.03, "L={looks} γ={g}: {sa} vs {sb}");
            // Powers have unit mean.
            let mp: f64 = (0..n)
                .map(|_| sampler.sample(&mut rng, g as f32, 0.0).p2 as f64)
                .sum::<f64>()
                / n as f64;
            assert!((mp - 1.0).abs() < 0.03, "mean power {mp}");
        }
    }

    #[test]
    fn coherence_matches_brute_force_windows() {
        let (w, h) = (7, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let s = LookSampler::new(5.0);
        let m: Vec<Moments> = (0..w * h)
            .map(|i| s.sample(&mut rng, 0.6, i as f32 * 0.3))
            .collect();
        let coh = planes(&m, |c| estimate_coherence(c.0, c.1, c.2, w, h, 1));
        for r in 0..h {
            for c in 0..w {
                let (mut p1, mut p2, mut x) =
                    (0.0f64, 0.0f64, num_complex::Complex64::new(0.0, 0.0));
                for rr in r.saturating_sub(1)..(r + 2).min(h) {
                    for cc in c.saturating_sub(1)..(c + 2).min(w) {
                        let q = m[rr * w + cc];
                        p1 += q.p1 as f64;
                        p2 += q.p2 as f64;
                        x += num_complex::Complex64::new(q.cross.re as f64, q.cross.im as f64);
                    }
                }
                let want = (x.norm() / (p1 * p2).sqrt()).min(1.0);
                assert!((coh[r * w + c] as f64 - want).abs() < 1e-6, "({c},{r})");
            }
        }
    }

    #[test]
    fn zero_coherence_is_uniform_phase() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let s = LookSampler::new(5.0);
        let ph: Vec<f64> = (0..40_000)
            .map(|_| s.sample(&mut rng, 0.0, 1.0).cross.arg() as f64)
            .collect();
        // Uniform on (−π, π]: std π/√3.
        let std = phase_std(&ph);
        assert!(
            (std - std::f64::consts::PI / 3f64.sqrt()).abs() < 0.03,
            "{std}"
        );
    }

    #[test]
    fn signal_phase_is_kept_and_coherence_recovered() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let s = LookSampler::new(5.0);
        let (w, h) = (40, 40);
        let m: Vec<Moments> = (0..w * h).map(|_| s.sample(&mut rng, 0.7, 2.0)).collect();
        let mean: num_complex::Complex32 = m.iter().map(|x| x.cross).sum();
        assert!((mean.arg() - 2.0).abs() < 0.05);
        let coh = planes(&m, |c| estimate_coherence(c.0, c.1, c.2, w, h, 2));
        let avg = coh.iter().sum::<f32>() / coh.len() as f32;
        // 125 looks per estimate: small positive bias only.
        assert!((avg - 0.7).abs() < 0.05, "coherence {avg}");
    }
}

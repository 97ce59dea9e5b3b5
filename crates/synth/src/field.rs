//! Gaussian random fields with a prescribed power spectrum (FFT filtering of white noise),
//! bilinear resampling, and the statistics used to calibrate their amplitudes.

use crate::rng::{derive, stream};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex32;
use rustfft::FftPlanner;

/// A row-major f32 grid with its ground spacing.
#[derive(Clone, Debug)]
pub struct Field {
    pub w: usize,
    pub h: usize,
    /// Ground spacing of columns and rows (m).
    pub dx: f64,
    pub dy: f64,
    pub data: Vec<f32>,
}

impl Field {
    pub fn zeros(w: usize, h: usize, dx: f64, dy: f64) -> Self {
        Self {
            w,
            h,
            dx,
            dy,
            data: vec![0.0; w * h],
        }
    }

    pub fn std_dev(&self) -> f64 {
        let n = self.data.len().max(1) as f64;
        let mean = self.data.iter().map(|&v| v as f64).sum::<f64>() / n;
        (self
            .data
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    }

    /// RMS of differences between pixels `lag_m` apart along rows and columns: the square
    /// root of the structure function, the usual measure of atmospheric delay roughness.
    pub fn rms_difference(&self, lag_m: f64) -> f64 {
        let lx = ((lag_m / self.dx).round() as usize).clamp(1, self.w.saturating_sub(1).max(1));
        let ly = ((lag_m / self.dy).round() as usize).clamp(1, self.h.saturating_sub(1).max(1));
        let (mut s, mut n) = (0.0f64, 0usize);
        for r in 0..self.h {
            for c in 0..self.w {
                let v = self.data[r * self.w + c] as f64;
                if c + lx < self.w {
                    s += (self.data[r * self.w + c + lx] as f64 - v).powi(2);
                    n += 1;
                }
                if r + ly < self.h {
                    s += (self.data[(r + ly) * self.w + c] as f64 - v).powi(2);
                    n += 1;
                }
            }
        }
        if n == 0 { 0.0 } else { (s / n as f64).sqrt() }
    }

    pub fn scale(&mut self, k: f64) {
        let k = k as f32;
        self.data.iter_mut().for_each(|v| *v *= k);
    }

    pub fn min_max(&self) -> (f32, f32) {
        self.data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            })
    }

    /// Row-by-row bilinear resampling to `w × h` pixels covering the same ground (pixel
    /// centres): whole scenes combine several smooth fields pixel by pixel without holding
    /// any of them at full resolution.
    pub fn resampler(&self, w: usize, h: usize) -> Resampler<'_> {
        let taps = |n_out: usize, n_in: usize| -> Vec<(usize, usize, f32)> {
            let s = n_in as f64 / n_out as f64;
            (0..n_out)
                .map(|i| {
                    let f = ((i as f64 + 0.5) * s - 0.5).clamp(0.0, (n_in - 1) as f64);
                    let i0 = f as usize;
                    (i0, (i0 + 1).min(n_in - 1), (f - i0 as f64) as f32)
                })
                .collect()
        };
        Resampler {
            field: self,
            xs: taps(w, self.w),
            ys: taps(h, self.h),
        }
    }
}

/// Bilinear taps of a [`Field`] onto a finer grid (see [`Field::resampler`]).
pub struct Resampler<'a> {
    field: &'a Field,
    xs: Vec<(usize, usize, f32)>,
    ys: Vec<(usize, usize, f32)>,
}

impl Resampler<'_> {
    /// A scratch row for [`Resampler::row`] (one per thread).
    pub fn scratch(&self) -> Vec<f32> {
        vec![0.0; self.field.w]
    }

    /// Output row `r` into `out` (its width): the two source rows are blended at the
    /// coarse width first, then interpolated along x, since the x weights repeat on
    /// every row.
    pub fn row(&self, r: usize, blend: &mut [f32], out: &mut [f32]) {
        let f = self.field;
        let (y0, y1, ty) = self.ys[r];
        let (r0, r1) = (
            &f.data[y0 * f.w..(y0 + 1) * f.w],
            &f.data[y1 * f.w..(y1 + 1) * f.w],
        );
        for ((b, &a), &c) in blend.iter_mut().zip(r0).zip(r1) {
            *b = a + ty * (c - a);
        }
        for (o, &(x0, x1, tx)) in out.iter_mut().zip(&self.xs) {
            let (a, b) = (blend[x0], blend[x1]);
            *o = a + tx * (b - a);
        }
    }
}

/// Grid of the smooth fields (DEM, turbulence, coherence patterns) of a `w × h` area: a
/// quarter of the resolution, at most 1024 per side. Their power lies at scales of
/// hundreds of metres and more; fine detail comes from the full-resolution texture.
pub fn smooth_grid(w: usize, h: usize) -> (usize, usize) {
    coarse_dims(w, h, (w.max(h) / 4).clamp(16, 1024))
}

/// Grid on which a smooth field is synthesised for an area of `w × h` pixels: the full
/// grid for tiles, a coarser one (at most `max_side` per side) for whole scenes, where the
/// long-wavelength content carries all the power and the FFT would otherwise dominate.
pub fn coarse_dims(w: usize, h: usize, max_side: usize) -> (usize, usize) {
    let max_side = max_side.max(2);
    let f = (w.max(h) as f64 / max_side as f64).max(1.0);
    (
        ((w as f64 / f).ceil() as usize).max(2),
        ((h as f64 / f).ceil() as usize).max(2),
    )
}

/// A zero-mean Gaussian field whose amplitude spectrum is `amp(kx, ky)` (cycles per metre),
/// obtained by filtering white noise. The absolute scale is arbitrary: callers calibrate
/// it (std or structure function). The field is periodic over the grid, so callers that
/// care synthesise on a padded grid (`pad` ≥ 1 enlarges it by that factor) and keep the
/// top-left `w × h` part.
pub fn spectral_field<R: Rng>(
    w: usize,
    h: usize,
    dx: f64,
    dy: f64,
    pad: f64,
    rng: &mut R,
    amp: impl Fn(f64, f64) -> f64 + Sync,
) -> Field {
    let pw = fft_size(((w as f64 * pad).ceil() as usize).max(2));
    let ph = fft_size(((h as f64 * pad).ceil() as usize).max(2));
    // White noise row by row from streams derived from one draw: parallel, and the same
    // whatever the thread count.
    let base: u64 = rng.random();
    let mut data = vec![0.0f32; pw * ph];
    data.par_chunks_mut(pw).enumerate().for_each(|(r, row)| {
        let mut rr = ChaCha8Rng::seed_from_u64(derive(base, stream::FIELD_ROW, r as u64));
        for v in row {
            *v = rr.sample(StandardNormal);
        }
    });
    filter_in_place(&mut data, pw, ph, dx, dy, &amp);
    let mut out = Vec::with_capacity(w * h);
    for r in 0..h {
        out.extend_from_slice(&data[r * pw..r * pw + w]);
    }
    Field {
        w,
        h,
        dx,
        dy,
        data: out,
    }
}

/// Smallest n' ≥ n whose prime factors are 2, 3 and 5 (fast FFT lengths).
pub fn fft_size(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut k = m;
        for p in [2, 3, 5] {
            while k.is_multiple_of(p) {
                k /= p;
            }
        }
        if k == 1 {
            return m;
        }
        m += 1;
    }
}

/// Real 2-D FFT, multiplication by `amp(kx, ky)`, inverse FFT; rows then columns.
fn filter_in_place(
    data: &mut [f32],
    w: usize,
    h: usize,
    dx: f64,
    dy: f64,
    amp: &(impl Fn(f64, f64) -> f64 + Sync),
) {
    let wc = w / 2 + 1;
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(w);
    let inv = planner.plan_fft_inverse(w);
    let mut spec = vec![Complex32::new(0.0, 0.0); wc * h];
    spec.par_chunks_mut(wc)
        .zip(data.par_chunks_mut(w))
        .for_each(|(out, row)| {
            // Cannot fail: buffer lengths match the plan.
            let _ = fwd.process(row, out);
        });
    let mut cplan = FftPlanner::<f32>::new();
    let cf = cplan.plan_fft_forward(h);
    let ci = cplan.plan_fft_inverse(h);
    let norm = 1.0 / (w * h) as f64;
    // Transform each spectral column independently (gathered into its own buffer).
    let cols: Vec<Vec<Complex32>> = (0..wc)
        .into_par_iter()
        .map(|c| {
            let mut col: Vec<Complex32> = (0..h).map(|r| spec[r * wc + c]).collect();
            cf.process(&mut col);
            let kx = c as f64 / (w as f64 * dx);
            for (r, v) in col.iter_mut().enumerate() {
                let rr = if r <= h / 2 {
                    r as f64
                } else {
                    r as f64 - h as f64
                };
                let ky = rr / (h as f64 * dy);
                *v *= (amp(kx, ky) * norm) as f32;
            }
            ci.process(&mut col);
            col
        })
        .collect();
    for (c, col) in cols.iter().enumerate() {
        for (r, v) in col.iter().enumerate() {
            spec[r * wc + c] = *v;
        }
    }
    spec.par_chunks_mut(wc)
        .zip(data.par_chunks_mut(w))
        .for_each(|(sp, row)| {
            // A real signal has real DC and Nyquist bins; clear rounding residue that the
            // inverse real FFT would reject.
            sp[0].im = 0.0;
            if w.is_multiple_of(2) {
                sp[wc - 1].im = 0.0;
            }
            let _ = inv.process(sp, row);
        });
}

/// Amplitude of a broken power law: P ∝ k^−a1 below the corner `k0`, k^−a2 above (the
/// amplitude spectrum is √P). Used with (8/3, 11/3) for tropospheric turbulence.
pub fn broken_power_law(k: f64, k0: f64, slope_lo: f64, slope_hi: f64, kmin: f64) -> f64 {
    let k = k.max(kmin);
    let p = if k < k0 {
        (k / k0).powf(-slope_lo)
    } else {
        (k / k0).powf(-slope_hi)
    };
    p.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn flat_spectrum_keeps_white_noise_white() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let f = spectral_field(64, 48, 1.0, 1.0, 1.0, &mut rng, |_, _| 1.0);
        // An all-pass filter returns the input: unit variance, uncorrelated neighbours.
        assert!((f.std_dev() - 1.0).abs() < 0.05, "std {}", f.std_dev());
        assert!((f.rms_difference(1.0) - 2f64.sqrt()).abs() < 0.08);
    }

    #[test]
    fn red_spectrum_is_smooth() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let f = spectral_field(128, 128, 20.0, 20.0, 1.5, &mut rng, |kx, ky| {
            broken_power_law(
                (kx * kx + ky * ky).sqrt(),
                1.0 / 2000.0,
                8.0 / 3.0,
                11.0 / 3.0,
                1e-5,
            )
        });
        let (near, far) = (f.rms_difference(20.0), f.rms_difference(1000.0));
        assert!(near < 0.3 * far, "near {near} far {far}");
    }

    #[test]
    fn fft_sizes_are_smooth() {
        assert_eq!(fft_size(464), 480);
        assert_eq!(fft_size(512), 512);
        assert_eq!(fft_size(7), 8);
    }

    #[test]
    fn resample_keeps_a_linear_ramp() {
        let mut f = Field::zeros(10, 8, 100.0, 100.0);
        for r in 0..8 {
            for c in 0..10 {
                f.data[r * 10 + c] = (c as f32 + 0.5) * 2.0 + (r as f32 + 0.5);
            }
        }
        let rs = f.resampler(40, 32);
        let (mut blend, mut row) = (rs.scratch(), vec![0.0f32; 40]);
        // Interior pixel centres map exactly onto the ramp (ground position preserved).
        let (c, r) = (17usize, 13usize);
        rs.row(r, &mut blend, &mut row);
        let (x, y) = ((c as f32 + 0.5) / 4.0, (r as f32 + 0.5) / 4.0);
        assert!((row[c] - (2.0 * x + y)).abs() < 1e-4);
    }
}

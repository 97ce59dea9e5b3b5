//! Goldstein–Werner adaptive interferogram filter (Goldstein & Werner 1998, GRL 25(21)).
//!
//! The interferogram is cut into overlapping `patch × patch` windows every `step` pixels. Each
//! window is Fourier transformed, its spectrum `Z` multiplied by `H = S{|Z|}^α` (S = an optional
//! circular boxcar of `smooth × smooth` bins; H normalised to a maximum of 1), and transformed
//! back. The filtered windows are blended with separable triangular (pyramidal) weights and the
//! sum is divided by the sum of the weights, so every pixel is a weighted mean of the windows
//! that cover it. α = 0 makes `H ≡ 1`: the filter is then the identity up to FFT rounding.
//!
//! Borders: windows never hang outside the image. The window origins `k·step − (patch − step)`
//! are clamped into `[0, n − patch]`, so border windows are shifted inwards and hold real data
//! only (no padding artefacts); an image smaller than a window is mirror-padded (reflection
//! without repeating the edge sample). The output has the input's size.
//!
//! No data: non-finite samples and exact zeros enter the windows as 0 and stay exact zeros in
//! the output, so masks survive filtering.
//!
//! The amplitude is filtered along with the phase; pass unit phasors to weight all pixels
//! equally. Work is parallel over rows of windows (rayon); rows whose windows overlap run in
//! separate passes in a fixed order, so each output pixel sums its windows in the same order
//! whatever the thread count, and the result is bit-identical for any number of threads.

use crate::error::{InsarError, check_size};
use crate::multilook::is_valid;
use rayon::prelude::*;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Goldstein filter settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoldsteinParams {
    /// Filter strength α in [0, 1]: 0 = no filtering, 1 = strongest (GAMMA `adf`, ISCE, SNAP).
    pub alpha: f32,
    /// Window (FFT) size in pixels, at least 4.
    pub patch: usize,
    /// Distance between window origins, 1..=patch; patch/4 gives smooth blending.
    pub step: usize,
    /// Boxcar size smoothing |Z| before the power: 0 or 1 = off, otherwise odd (3, 5, …).
    pub smooth: usize,
}

impl Default for GoldsteinParams {
    /// α = 0.5, 32-pixel windows every 8 pixels, 3 × 3 spectral smoothing.
    fn default() -> Self {
        Self {
            alpha: 0.5,
            patch: 32,
            step: 8,
            smooth: 3,
        }
    }
}

impl GoldsteinParams {
    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), InsarError> {
        let bad = |what, value: String, expected| {
            Err(InsarError::BadParameter {
                what,
                value,
                expected,
            })
        };
        if !(self.alpha.is_finite() && (0.0..=1.0).contains(&self.alpha)) {
            return bad("alpha", self.alpha.to_string(), "a number in [0, 1]");
        }
        if !(4..=4096).contains(&self.patch) {
            return bad("patch", self.patch.to_string(), "a window size in 4..=4096");
        }
        if self.step == 0 || self.step > self.patch {
            return bad("step", self.step.to_string(), "a step in 1..=patch");
        }
        if self.smooth > 1 && (self.smooth.is_multiple_of(2) || self.smooth > self.patch) {
            return bad(
                "smooth",
                self.smooth.to_string(),
                "0 or 1 (off), or an odd boxcar size no larger than patch",
            );
        }
        Ok(())
    }
}

/// Goldstein–Werner filter of a `w × h` complex interferogram; same size out.
///
/// # Panics
/// If `data.len() != w * h` or the parameters are invalid (see [`try_goldstein`]).
pub fn goldstein(data: &[Complex32], w: usize, h: usize, p: &GoldsteinParams) -> Vec<Complex32> {
    try_goldstein(data, w, h, p).unwrap_or_else(|e| panic!("goldstein: {e}"))
}

/// Checked [`goldstein`].
pub fn try_goldstein(
    data: &[Complex32],
    w: usize,
    h: usize,
    p: &GoldsteinParams,
) -> Result<Vec<Complex32>, InsarError> {
    check_size("goldstein input", data.len(), w, h)?;
    p.validate()?;
    if w == 0 || h == 0 {
        return Ok(Vec::new());
    }
    let filter = PatchFilter::new(p);
    let xs = window_origins(w, p.patch, p.step);
    let ys = window_origins(h, p.patch, p.step);
    let tent = tent_weights(p.patch);
    let mut acc = vec![Complex32::new(0.0, 0.0); w * h];
    for pass in non_overlapping_passes(&ys, p.patch, h) {
        let jobs = split_rows(&mut acc, w, h, &ys, &pass, p.patch);
        jobs.into_par_iter().for_each_init(
            || Workspace::new(p.patch),
            |ws, mut job| {
                let src = Source { data, w, h };
                for &ox in &xs {
                    ws.load(&src, job.origin, ox);
                    if filter.apply(ws) {
                        job.add(&ws.patch, &tent, ox, w, p.patch);
                    }
                }
            },
        );
    }
    let wy = weight_sums(&ys, &tent, h);
    let wx = weight_sums(&xs, &tent, w);
    acc.par_chunks_mut(w)
        .zip(data.par_chunks(w))
        .enumerate()
        .for_each(|(y, (out, inp))| {
            for (x, (o, z)) in out.iter_mut().zip(inp).enumerate() {
                *o = if is_valid(*z) {
                    *o / (wy[y] * wx[x])
                } else {
                    Complex32::new(0.0, 0.0)
                };
            }
        });
    Ok(acc)
}

/// Window origins along one axis: the regular grid `k·step − (patch − step)` (every pixel is
/// covered by all windows an infinite grid would give it), clamped into the image and
/// deduplicated. An axis shorter than a window gets the single origin 0 (mirror-padded).
fn window_origins(n: usize, patch: usize, step: usize) -> Vec<usize> {
    let last = n.saturating_sub(patch);
    let off = patch - step;
    let mut out: Vec<usize> = Vec::new();
    for k in 0.. {
        let o = (k * step).saturating_sub(off).min(last);
        if out.last() != Some(&o) {
            out.push(o);
        }
        if o >= last {
            break;
        }
    }
    out
}

/// Triangular weights peaking at the window centre and positive at the edges.
fn tent_weights(patch: usize) -> Vec<f32> {
    let half = patch as f32 / 2.0;
    (0..patch)
        .map(|i| 1.0 - (i as f32 + 0.5 - half).abs() / half)
        .collect()
}

/// Sum over the windows covering each pixel of its tent weight (the blend's normaliser).
fn weight_sums(origins: &[usize], tent: &[f32], n: usize) -> Vec<f32> {
    let mut s = vec![0.0f32; n];
    for &o in origins {
        for (v, t) in s[o..].iter_mut().zip(tent) {
            *v += t;
        }
    }
    s
}

/// Groups window rows into passes whose row ranges do not overlap (greedy interval colouring
/// in origin order): a fixed, thread-independent order of accumulation.
fn non_overlapping_passes(ys: &[usize], patch: usize, h: usize) -> Vec<Vec<usize>> {
    let mut passes: Vec<Vec<usize>> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    for (k, &o) in ys.iter().enumerate() {
        let end = (o + patch).min(h);
        match ends.iter().position(|&e| e <= o) {
            Some(c) => {
                passes[c].push(k);
                ends[c] = end;
            }
            None => {
                passes.push(vec![k]);
                ends.push(end);
            }
        }
    }
    passes
}

/// One row of windows and the output rows it writes (disjoint from the pass's others):
/// rows `origin .. origin + rows.len() / w`.
struct RowJob<'a> {
    origin: usize,
    rows: &'a mut [Complex32],
}

impl RowJob<'_> {
    /// Adds a filtered window, weighted by the separable tent, into this job's rows.
    fn add(&mut self, patch: &[Complex32], tent: &[f32], ox: usize, w: usize, p: usize) {
        let n_cols = p.min(w - ox);
        for (r, out) in self.rows.chunks_exact_mut(w).enumerate() {
            let src = &patch[r * p..r * p + n_cols];
            let tr = tent[r];
            for ((o, z), tc) in out[ox..ox + n_cols].iter_mut().zip(src).zip(tent) {
                *o += z * (tr * tc);
            }
        }
    }
}

/// Splits the accumulator into the disjoint row ranges of one pass's window rows.
fn split_rows<'a>(
    acc: &'a mut [Complex32],
    w: usize,
    h: usize,
    ys: &[usize],
    pass: &[usize],
    patch: usize,
) -> Vec<RowJob<'a>> {
    let mut jobs = Vec::with_capacity(pass.len());
    let mut rest = acc;
    let mut consumed = 0usize;
    for &k in pass {
        let origin = ys[k];
        let end = (origin + patch).min(h);
        let (_, tail) = std::mem::take(&mut rest).split_at_mut((origin - consumed) * w);
        let (rows, tail) = tail.split_at_mut((end - origin) * w);
        rest = tail;
        consumed = end;
        jobs.push(RowJob { origin, rows });
    }
    jobs
}

/// Read access to the input with mirror padding for windows larger than the image.
struct Source<'a> {
    data: &'a [Complex32],
    w: usize,
    h: usize,
}

/// Reflects an index past the end back into `0..n` without repeating the edge sample
/// (n − 1, n − 2, …, 0, 1, …): origins are never negative, only windows longer than the
/// image run past its end.
fn reflect(i: usize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let r = i % period;
    if r >= n { period - r } else { r }
}

/// Per-thread buffers: the window, its transpose, a real spectrum buffer and FFT scratch.
struct Workspace {
    p: usize,
    patch: Vec<Complex32>,
    spec: Vec<Complex32>,
    mag: Vec<f32>,
    tmp: Vec<f32>,
    scratch: Vec<Complex32>,
}

impl Workspace {
    fn new(p: usize) -> Self {
        Self {
            p,
            patch: vec![Complex32::new(0.0, 0.0); p * p],
            spec: vec![Complex32::new(0.0, 0.0); p * p],
            mag: vec![0.0; p * p],
            tmp: vec![0.0; p * p],
            scratch: Vec::new(),
        }
    }

    /// Copies the window at (oy, ox) in; non-finite samples enter as 0 (zeros already are).
    fn load(&mut self, src: &Source, oy: usize, ox: usize) {
        let p = self.p;
        let inside = ox + p <= src.w;
        for r in 0..p {
            let y = reflect(oy + r, src.h);
            let row = &src.data[y * src.w..(y + 1) * src.w];
            let dst = &mut self.patch[r * p..(r + 1) * p];
            if inside {
                for (d, z) in dst.iter_mut().zip(&row[ox..ox + p]) {
                    *d = finite_or_zero(*z);
                }
            } else {
                for (c, d) in dst.iter_mut().enumerate() {
                    *d = finite_or_zero(row[reflect(ox + c, src.w)]);
                }
            }
        }
    }
}

/// Non-finite samples become 0; non-short-circuit `&` keeps the copy loop branch-free.
fn finite_or_zero(z: Complex32) -> Complex32 {
    if z.re.is_finite() & z.im.is_finite() {
        z
    } else {
        Complex32::new(0.0, 0.0)
    }
}

/// FFT plans (made once, shared by all threads) and the spectral weighting.
struct PatchFilter {
    p: usize,
    alpha: f32,
    smooth: usize,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
}

impl PatchFilter {
    fn new(params: &GoldsteinParams) -> Self {
        let mut planner = FftPlanner::new();
        Self {
            p: params.patch,
            alpha: params.alpha,
            smooth: if params.smooth > 1 { params.smooth } else { 0 },
            fwd: planner.plan_fft_forward(params.patch),
            inv: planner.plan_fft_inverse(params.patch),
        }
    }

    /// Filters `ws.patch` in place; false when the window holds no data (nothing to add).
    fn apply(&self, ws: &mut Workspace) -> bool {
        if ws.patch.iter().all(|z| z.re == 0.0 && z.im == 0.0) {
            return false;
        }
        let p = self.p;
        let need = self
            .fwd
            .get_inplace_scratch_len()
            .max(self.inv.get_inplace_scratch_len());
        if ws.scratch.len() < need {
            ws.scratch.resize(need, Complex32::new(0.0, 0.0));
        }
        // 2-D FFT as row FFTs, transpose, row FFTs: the spectrum ends up transposed, which the
        // weighting does not care about (the boxcar is square) and the inverse undoes.
        self.fwd
            .process_with_scratch(&mut ws.patch, &mut ws.scratch);
        transpose(&ws.patch, &mut ws.spec, p);
        self.fwd.process_with_scratch(&mut ws.spec, &mut ws.scratch);
        if !self.weight_spectrum(ws) {
            return false;
        }
        self.inv.process_with_scratch(&mut ws.spec, &mut ws.scratch);
        transpose(&ws.spec, &mut ws.patch, p);
        self.inv
            .process_with_scratch(&mut ws.patch, &mut ws.scratch);
        true
    }

    /// Multiplies the spectrum by S{|Z|}^α normalised to max 1, folding in the 1/p² of the
    /// unnormalised inverse FFT.
    fn weight_spectrum(&self, ws: &mut Workspace) -> bool {
        // Without smoothing, |Z|^α = (|Z|²)^(α/2) saves a square root per bin.
        let exponent = if self.smooth > 1 {
            for (m, z) in ws.mag.iter_mut().zip(&ws.spec) {
                *m = (z.re * z.re + z.im * z.im).sqrt();
            }
            box_smooth_circular(&mut ws.mag, &mut ws.tmp, self.p, self.smooth);
            self.alpha
        } else {
            for (m, z) in ws.mag.iter_mut().zip(&ws.spec) {
                *m = z.re * z.re + z.im * z.im;
            }
            self.alpha / 2.0
        };
        let max = raise_to(&mut ws.mag, exponent);
        if !(max > 0.0 && max.is_finite()) {
            return false;
        }
        let scale = 1.0 / (max * (self.p * self.p) as f32);
        for (z, m) in ws.spec.iter_mut().zip(&ws.mag) {
            *z *= m * scale;
        }
        true
    }
}

/// Raises every value (≥ 0) to `e` in place and returns the maximum. The usual exponents
/// use square roots; others a fast `x^e` (relative error < 1e-5), since `powf` on every
/// spectral bin would dominate the filter's cost.
fn raise_to(v: &mut [f32], e: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { raise_to_avx2(v, e) };
    }
    raise_to_portable(v, e)
}

/// [`raise_to_portable`] compiled for 8-wide AVX2 vectors: the polynomial `x^e` is most of
/// the filter's non-FFT time. No FMA, so results are bit-identical to the portable build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn raise_to_avx2(v: &mut [f32], e: f32) -> f32 {
    raise_to_portable(v, e)
}

#[inline(always)]
fn raise_to_portable(v: &mut [f32], e: f32) -> f32 {
    // Map first, then reduce: a float max inside the same loop would keep it scalar.
    #[inline(always)]
    fn apply(v: &mut [f32], f: impl Fn(f32) -> f32) -> f32 {
        for x in v.iter_mut() {
            *x = f(*x);
        }
        v.iter().copied().fold(0.0f32, f32::max)
    }
    if e == 0.0 {
        apply(v, |_| 1.0)
    } else if e == 1.0 {
        apply(v, |x| x)
    } else if e == 0.5 {
        apply(v, f32::sqrt)
    } else if e == 0.25 {
        apply(v, |x| x.sqrt().sqrt())
    } else if e == 0.75 {
        apply(v, |x| x.sqrt() * x.sqrt().sqrt())
    } else {
        apply(v, |x| fast_pow(x, e))
    }
}

/// `x^e` for finite x ≥ 0 as 2^(e·log2 x) with short polynomials: |relative error| < 1e-5
/// for |e·log2 x| up to ~30 (spectral magnitudes and α ≤ 1 stay far inside that); 0 ↦ 0.
/// Selects instead of branches, so the loop over a spectrum vectorises.
#[inline(always)]
fn fast_pow(x: f32, e: f32) -> f32 {
    let r = fast_exp2(e * fast_log2(x.max(f32::MIN_POSITIVE)));
    if x > 0.0 { r } else { 0.0 }
}

/// log2 of a positive normal f32: exponent bits plus the atanh series of the mantissa
/// (t ≤ 1/3, so the t¹¹ term left out is below 1e-6).
#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    // 2/ln 2 · (t + t³/3 + t⁵/5 + t⁷/7 + t⁹/9)
    let series =
        t * (2.885_39 + t2 * (0.961_797 + t2 * (0.577_078 + t2 * (0.412_199 + t2 * 0.320_599))));
    exponent as f32 + series
}

/// 2^y: the integer part goes into the exponent bits, 2^f (f in [0, 1)) is a degree-7 Taylor
/// polynomial of e^(f ln 2) (truncation < 2e-7). Results below 2^-126 flush to 0 and y is
/// capped at 127.
#[inline(always)]
fn fast_exp2(y: f32) -> f32 {
    let tiny = y < -126.0;
    let y = y.clamp(-126.0, 127.0);
    // Truncation of a positive value is floor (and `as` truncation needs no libm call).
    let i = (y + 127.0) as i32 - 127;
    let f = (y - i as f32) * std::f32::consts::LN_2;
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0
                    + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f / 5040.0))))));
    let r = p * f32::from_bits(((i + 127) as u32) << 23);
    if tiny { 0.0 } else { r }
}

/// Boxcar sum of an `n × n` grid with circular wrap (the spectrum is periodic), separable:
/// rows through a wrapped copy, then whole rows added for the vertical pass.
fn box_smooth_circular(v: &mut [f32], tmp: &mut [f32], n: usize, k: usize) {
    let half = k / 2;
    let mut padded = vec![0.0f32; n + 2 * half];
    for (row, out) in v.chunks_exact(n).zip(tmp.chunks_exact_mut(n)) {
        padded[..half].copy_from_slice(&row[n - half..]);
        padded[half..half + n].copy_from_slice(row);
        padded[half + n..].copy_from_slice(&row[..half]);
        // k shifted whole-row adds: each is a straight, vectorisable loop (a per-bin window
        // sum would be a serial chain of scalar adds).
        out.copy_from_slice(&padded[..n]);
        for d in 1..k {
            for (o, p) in out.iter_mut().zip(&padded[d..d + n]) {
                *o += p;
            }
        }
    }
    for (r, out) in v.chunks_exact_mut(n).enumerate() {
        out.fill(0.0);
        for d in 0..k {
            let src = (r + n + d - half) % n;
            for (o, t) in out.iter_mut().zip(&tmp[src * n..(src + 1) * n]) {
                *o += t;
            }
        }
    }
}

fn transpose(src: &[Complex32], dst: &mut [Complex32], n: usize) {
    for r in 0..n {
        for c in 0..n {
            dst[c * n + r] = src[r * n + c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coherence::mean_coherence;
    use crate::phase::{phasor, wrap};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;
    use std::f32::consts::TAU;

    /// Concentric fringes of a subsidence bowl: φ = 2π·r²/R² over the image, in radians.
    fn bowl(w: usize, h: usize, fringes: f32) -> Vec<f32> {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let r2max = cx * cx + cy * cy;
        (0..w * h)
            .map(|k| {
                let (dx, dy) = ((k % w) as f32 + 0.5 - cx, (k / w) as f32 + 0.5 - cy);
                TAU * fringes * (dx * dx + dy * dy) / r2max
            })
            .collect()
    }

    /// z = γ e^{iφ} + √(1−γ²) n, n circular complex Gaussian of unit variance: coherence γ.
    fn noisy(phase: &[f32], gamma: f32, seed: u64) -> Vec<Complex32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = ((1.0 - gamma * gamma) / 2.0).sqrt();
        phase
            .iter()
            .map(|&p| {
                let n = Complex32::new(rng.sample(StandardNormal), rng.sample(StandardNormal));
                phasor(p) * gamma + n * s
            })
            .collect()
    }

    /// RMS of the wrapped difference between the data's phase and the true phase.
    fn residual_rms(data: &[Complex32], truth: &[f32]) -> f64 {
        let s: f64 = data
            .iter()
            .zip(truth)
            .map(|(z, &t)| f64::from(wrap(z.im.atan2(z.re) - t)).powi(2))
            .sum();
        (s / data.len() as f64).sqrt()
    }

    fn max_phase_error(data: &[Complex32], truth: &[f32]) -> f32 {
        data.iter()
            .zip(truth)
            .map(|(z, &t)| wrap(z.im.atan2(z.re) - t).abs())
            .fold(0.0, f32::max)
    }

    /// RMS phase error over pixels at least `margin` from every border.
    fn interior_rms(data: &[Complex32], truth: &[f32], w: usize, h: usize, margin: usize) -> f64 {
        let (mut s, mut n) = (0.0f64, 0usize);
        for y in margin..h - margin {
            for x in margin..w - margin {
                let (z, t) = (data[y * w + x], truth[y * w + x]);
                s += f64::from(wrap(z.im.atan2(z.re) - t)).powi(2);
                n += 1;
            }
        }
        (s / n as f64).sqrt()
    }

    #[test]
    fn lowers_phase_noise_of_bowl_fringes() {
        // Three fringes of a subsidence bowl under noise of coherence 0.5. Measured: default
        // parameters (α 0.5, 3×3 spectral smoothing) 1.239 → 0.766 rad (÷1.62); α 0.8 without
        // smoothing 1.239 → 0.304 rad (÷4.07).
        let (w, h) = (160, 128);
        let truth = bowl(w, h, 3.0);
        let data = noisy(&truth, 0.5, 7);
        let before = residual_rms(&data, &truth);
        let coh_in = mean_coherence(&data, w, h, 5).expect("sizes");
        let cases = [
            (GoldsteinParams::default(), 1.45),
            (
                GoldsteinParams {
                    alpha: 0.8,
                    smooth: 0,
                    ..GoldsteinParams::default()
                },
                3.5,
            ),
        ];
        for (p, min_factor) in cases {
            let out = goldstein(&data, w, h, &p);
            assert_eq!(out.len(), data.len());
            let after = residual_rms(&out, &truth);
            let coh_out = mean_coherence(&out, w, h, 5).expect("sizes");
            println!(
                "{p:?}: residual rms {before:.3} -> {after:.3} rad (÷{:.2}), \
                 5×5 coherence {coh_in:.3} -> {coh_out:.3}",
                before / after
            );
            assert!(before / after > min_factor, "{p:?}: {before} -> {after}");
            assert!(
                coh_out > coh_in + 0.2,
                "{p:?}: coherence {coh_in} -> {coh_out}"
            );
        }
    }

    #[test]
    fn distorts_clean_fringes_little() {
        // Without noise the filter should keep the bowl's phase: measured interior (16 px from
        // the borders) rms 0.011 rad with defaults; border pixels sit at window edges and are
        // worse (0.11 rad rms over the 16-px frame at ~0.37 rad/px fringe rate).
        let (w, h) = (160, 128);
        let truth = bowl(w, h, 3.0);
        let clean: Vec<Complex32> = truth.iter().map(|&t| phasor(t)).collect();
        let out = goldstein(&clean, w, h, &GoldsteinParams::default());
        let inner = interior_rms(&out, &truth, w, h, 16);
        let all = residual_rms(&out, &truth);
        println!("clean bowl distortion: interior {inner:.4} rad, all {all:.4} rad");
        assert!(inner < 0.02, "{inner}");
        assert!(all < 0.1, "{all}");
    }

    #[test]
    fn stronger_alpha_filters_more() {
        let (w, h) = (96, 96);
        let truth = bowl(w, h, 2.0);
        let data = noisy(&truth, 0.4, 11);
        let rms = |alpha| {
            let p = GoldsteinParams {
                alpha,
                ..GoldsteinParams::default()
            };
            residual_rms(&goldstein(&data, w, h, &p), &truth)
        };
        let (r0, r5, r9) = (rms(0.0), rms(0.5), rms(0.9));
        assert!((r0 - residual_rms(&data, &truth)).abs() < 1e-4);
        assert!(r5 < r0 && r9 < r5, "{r0} {r5} {r9}");
    }

    #[test]
    fn alpha_zero_is_identity() {
        for (w, h) in [(70, 50), (37, 23), (5, 40)] {
            let truth = bowl(w, h, 2.5);
            let data: Vec<Complex32> = truth.iter().map(|&p| phasor(p) * 2.0).collect();
            for smooth in [0, 3, 5] {
                let p = GoldsteinParams {
                    alpha: 0.0,
                    smooth,
                    ..GoldsteinParams::default()
                };
                let out = goldstein(&data, w, h, &p);
                assert_eq!(out.len(), w * h);
                for (a, b) in out.iter().zip(&data) {
                    assert!((a - b).norm() < 1e-4, "{w}×{h} smooth {smooth}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn on_bin_plane_wave_passes_for_any_alpha() {
        // A plane wave at an exact FFT frequency of the window has one spectral line in every
        // window, where the normalised H is 1: the filter must return it unchanged.
        let (w, h, p) = (80, 72, 32);
        let (u, v) = (3.0 / p as f32, -5.0 / p as f32);
        let truth: Vec<f32> = (0..w * h)
            .map(|k| TAU * (u * (k % w) as f32 + v * (k / w) as f32))
            .collect();
        let data: Vec<Complex32> = truth.iter().map(|&t| phasor(t)).collect();
        for alpha in [0.3, 0.5, 1.0] {
            for smooth in [0, 3] {
                let params = GoldsteinParams {
                    alpha,
                    patch: p,
                    step: 8,
                    smooth,
                };
                let out = goldstein(&data, w, h, &params);
                let err = max_phase_error(&out, &truth);
                assert!(err < 1e-4, "α {alpha} smooth {smooth}: {err}");
                for z in &out {
                    assert!((z.norm() - 1.0).abs() < 1e-4);
                }
            }
        }
    }

    #[test]
    fn identical_for_any_thread_count() {
        let (w, h) = (150, 110);
        let data = noisy(&bowl(w, h, 4.0), 0.6, 3);
        let p = GoldsteinParams {
            alpha: 0.7,
            patch: 16,
            step: 4,
            smooth: 3,
        };
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool")
                .install(|| goldstein(&data, w, h, &p))
        };
        let one = run(1);
        for threads in [2, 3, 5] {
            let other = run(threads);
            assert!(
                one.iter()
                    .zip(&other)
                    .all(|(a, b)| a.re.to_bits() == b.re.to_bits()
                        && a.im.to_bits() == b.im.to_bits()),
                "{threads} threads differ from 1"
            );
        }
    }

    #[test]
    fn no_data_stays_zero_and_does_not_spread() {
        let (w, h) = (64, 64);
        let truth = bowl(w, h, 2.0);
        let mut data: Vec<Complex32> = truth.iter().map(|&t| phasor(t)).collect();
        for y in 20..40 {
            for x in 10..30 {
                data[y * w + x] = Complex32::new(0.0, 0.0);
            }
        }
        data[5] = Complex32::new(f32::NAN, 1.0);
        let out = goldstein(&data, w, h, &GoldsteinParams::default());
        for (k, (o, i)) in out.iter().zip(&data).enumerate() {
            if is_valid(*i) {
                assert!(o.re.is_finite() && o.im.is_finite(), "pixel {k}");
                assert!(o.norm() > 0.0, "pixel {k}");
            } else {
                assert_eq!(*o, Complex32::new(0.0, 0.0), "pixel {k}");
            }
        }
    }

    #[test]
    fn invalid_parameters_are_named() {
        let d = vec![Complex32::new(1.0, 0.0); 16];
        let bad = |p: GoldsteinParams| match try_goldstein(&d, 4, 4, &p) {
            Err(InsarError::BadParameter { what, .. }) => what,
            other => panic!("expected a parameter error, got {other:?}"),
        };
        let base = GoldsteinParams::default();
        assert_eq!(
            bad(GoldsteinParams {
                alpha: -0.1,
                ..base
            }),
            "alpha"
        );
        assert_eq!(
            bad(GoldsteinParams {
                alpha: f32::NAN,
                ..base
            }),
            "alpha"
        );
        assert_eq!(bad(GoldsteinParams { patch: 2, ..base }), "patch");
        assert_eq!(bad(GoldsteinParams { step: 0, ..base }), "step");
        assert_eq!(bad(GoldsteinParams { step: 33, ..base }), "step");
        assert_eq!(bad(GoldsteinParams { smooth: 4, ..base }), "smooth");
        assert!(matches!(
            try_goldstein(&d, 5, 4, &base),
            Err(InsarError::SizeMismatch { .. })
        ));
        assert!(
            try_goldstein(&[], 0, 0, &base)
                .expect("empty is fine")
                .is_empty()
        );
    }

    #[test]
    fn window_grid_covers_every_pixel() {
        for (n, p, s) in [
            (100, 32, 8),
            (33, 32, 16),
            (31, 32, 8),
            (257, 16, 5),
            (40, 8, 8),
        ] {
            let o = window_origins(n, p, s);
            assert_eq!(o[0], 0);
            assert_eq!(*o.last().expect("origins"), n.saturating_sub(p));
            assert!(o.windows(2).all(|p2| p2[1] > p2[0] && p2[1] - p2[0] <= s));
            let sums = weight_sums(&o, &tent_weights(p), n);
            assert!(sums.iter().all(|&v| v > 0.0), "n {n} p {p} s {s}");
            for pass in non_overlapping_passes(&o, p, n) {
                for pair in pass.windows(2) {
                    assert!(o[pair[1]] >= o[pair[0]] + p);
                }
            }
        }
    }

    #[test]
    fn helpers_hand_cases() {
        assert_eq!(
            (0..11).map(|i| reflect(i, 4)).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2]
        );
        assert_eq!(reflect(5, 1), 0);
        let t = tent_weights(4);
        assert_eq!(t, vec![0.25, 0.75, 0.75, 0.25]);
        // Circular 3-box on a 4×4 grid with a single 1 at (0, 0): ones on its 3×3
        // neighbourhood, wrapping to row/column 3.
        let mut v = vec![0.0f32; 16];
        v[0] = 1.0;
        let mut tmp = vec![0.0f32; 16];
        box_smooth_circular(&mut v, &mut tmp, 4, 3);
        for r in 0..4 {
            for c in 0..4 {
                let near = |i: usize| i == 0 || i == 1 || i == 3;
                let want = if near(r) && near(c) { 1.0 } else { 0.0 };
                assert_eq!(v[r * 4 + c], want, "({r},{c})");
            }
        }
        for e in [0.0f32, 0.25, 0.5, 0.75, 1.0, 0.35, 0.6, 0.45] {
            let xs = [0.0f32, 1e-30, 0.3, 1.0, 2.0, 17.0, 3.3e4, 1e12];
            let mut v = xs.to_vec();
            let max = raise_to(&mut v, e);
            for (x, got) in xs.iter().zip(&v) {
                let want = if e == 0.0 { 1.0 } else { x.powf(e) };
                assert!(
                    (got - want).abs() <= 1e-5 * want.max(1e-30),
                    "{x}^{e}: {got} vs {want}"
                );
            }
            assert_eq!(max, v.iter().copied().fold(0.0, f32::max));
        }
    }
}

#[cfg(test)]
mod fast_pow_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_pow_matches_powf(x in 1e-20f32..1e20, e in 0.01f32..1.0) {
            let (got, want) = (fast_pow(x, e), f64::from(x).powf(f64::from(e)));
            prop_assert!((f64::from(got) - want).abs() <= 1e-5 * want, "{x}^{e}: {got} vs {want}");
        }
    }

    /// The AVX2 build of the spectral power gives the very bits of the portable one, so a
    /// filtered image does not depend on the CPU it was made on.
    #[test]
    fn avx2_power_equals_portable_bits() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
            for e in [0.3f32, 0.5, 0.63, 0.75, 0.9, 1.0] {
                let v: Vec<f32> = (0..1027)
                    .map(|i| {
                        if i % 97 == 0 {
                            0.0
                        } else {
                            rng.random_range(0.0..1e4f32)
                        }
                    })
                    .collect();
                let (mut a, mut b) = (v.clone(), v);
                // SAFETY: AVX2 was detected above.
                let ma = unsafe { raise_to_avx2(&mut a, e) };
                let mb = raise_to_portable(&mut b, e);
                assert_eq!(ma.to_bits(), mb.to_bits());
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "e {e}"
                );
            }
        }
    }
}

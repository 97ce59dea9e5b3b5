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
        if self.smooth > 1 && (self.smooth % 2 == 0 || self.smooth > self.patch) {
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
fn window_origins(n: usize, patch: usize, step: usize) -> Vec<isize> {
    let last = n.saturating_sub(patch) as isize;
    let off = (patch - step) as isize;
    let mut out: Vec<isize> = Vec::new();
    let mut k = 0isize;
    loop {
        let o = (k * step as isize - off).clamp(0, last);
        if out.last() != Some(&o) {
            out.push(o);
        }
        if o >= last {
            return out;
        }
        k += 1;
    }
}

/// Triangular weights peaking at the window centre and positive at the edges.
fn tent_weights(patch: usize) -> Vec<f32> {
    let half = patch as f32 / 2.0;
    (0..patch)
        .map(|i| 1.0 - (i as f32 + 0.5 - half).abs() / half)
        .collect()
}

/// Sum over the windows covering each pixel of its tent weight (the blend's normaliser).
fn weight_sums(origins: &[isize], tent: &[f32], n: usize) -> Vec<f32> {
    let mut s = vec![0.0f32; n];
    for &o in origins {
        for (i, t) in tent.iter().enumerate() {
            if let Some(v) = s.get_mut(o as usize + i) {
                *v += t;
            }
        }
    }
    s
}

/// Groups window rows into passes whose row ranges do not overlap (greedy interval colouring
/// in origin order): a fixed, thread-independent order of accumulation.
fn non_overlapping_passes(ys: &[isize], patch: usize, h: usize) -> Vec<Vec<usize>> {
    let mut passes: Vec<Vec<usize>> = Vec::new();
    let mut ends: Vec<isize> = Vec::new();
    for (k, &o) in ys.iter().enumerate() {
        let end = (o + patch as isize).min(h as isize);
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

/// One row of windows and the output rows it may write (disjoint from the pass's others).
struct RowJob<'a> {
    origin: isize,
    y0: usize,
    rows: &'a mut [Complex32],
}

impl RowJob<'_> {
    /// Adds a filtered window, weighted by the separable tent, into this job's rows.
    fn add(&mut self, patch: &[Complex32], tent: &[f32], ox: isize, w: usize, p: usize) {
        let n_rows = self.rows.len() / w;
        for r in 0..p {
            let y = self.origin + r as isize;
            let Some(local) = (y - self.y0 as isize)
                .try_into()
                .ok()
                .filter(|&l: &usize| l < n_rows)
            else {
                continue;
            };
            let out = &mut self.rows[local * w..(local + 1) * w];
            let x0 = ox.max(0) as usize;
            let x1 = ((ox + p as isize) as usize).min(w);
            for x in x0..x1 {
                let c = (x as isize - ox) as usize;
                out[x] += patch[r * p + c] * (tent[r] * tent[c]);
            }
        }
    }
}

/// Splits the accumulator into the disjoint row ranges of one pass's window rows.
fn split_rows<'a>(
    acc: &'a mut [Complex32],
    w: usize,
    h: usize,
    ys: &[isize],
    pass: &[usize],
    patch: usize,
) -> Vec<RowJob<'a>> {
    let mut jobs = Vec::with_capacity(pass.len());
    let mut rest = acc;
    let mut consumed = 0usize;
    for &k in pass {
        let origin = ys[k];
        let y0 = origin.max(0) as usize;
        let y1 = (origin as usize + patch).min(h);
        let (_, tail) = std::mem::take(&mut rest).split_at_mut((y0 - consumed) * w);
        let (rows, tail) = tail.split_at_mut((y1 - y0) * w);
        rest = tail;
        consumed = y1;
        jobs.push(RowJob { origin, y0, rows });
    }
    jobs
}

/// Read access to the input with mirror padding for windows larger than the image.
struct Source<'a> {
    data: &'a [Complex32],
    w: usize,
    h: usize,
}

/// Reflects an index into `0..n` without repeating the edge sample (…, 2, 1, 0, 1, 2, …).
fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let r = i.rem_euclid(period);
    (if r >= n as isize { period - r } else { r }) as usize
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

    /// Copies the window at (oy, ox) in; no-data samples enter as 0.
    fn load(&mut self, src: &Source, oy: isize, ox: isize) {
        let p = self.p;
        for r in 0..p {
            let y = reflect(oy + r as isize, src.h);
            let row = &src.data[y * src.w..(y + 1) * src.w];
            let dst = &mut self.patch[r * p..(r + 1) * p];
            let inside = ox >= 0 && ox as usize + p <= src.w;
            for (c, d) in dst.iter_mut().enumerate() {
                let x = if inside {
                    ox as usize + c
                } else {
                    reflect(ox + c as isize, src.w)
                };
                let z = row[x];
                *d = if is_valid(z) {
                    z
                } else {
                    Complex32::new(0.0, 0.0)
                };
            }
        }
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
        for (m, z) in ws.mag.iter_mut().zip(&ws.spec) {
            *m = z.norm();
        }
        if self.smooth > 1 {
            box_smooth_circular(&mut ws.mag, &mut ws.tmp, self.p, self.smooth);
        }
        let alpha = self.alpha;
        let mut max = 0.0f32;
        for m in ws.mag.iter_mut() {
            *m = pow_alpha(*m, alpha);
            max = max.max(*m);
        }
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

/// `x^α` with the common strengths done without `powf` (it dominates the filter's cost).
fn pow_alpha(x: f32, alpha: f32) -> f32 {
    if alpha == 0.0 {
        1.0
    } else if alpha == 0.5 {
        x.sqrt()
    } else if alpha == 1.0 {
        x
    } else if alpha == 0.25 {
        x.sqrt().sqrt()
    } else if alpha == 0.75 {
        x.sqrt() * x.sqrt().sqrt()
    } else {
        x.powf(alpha)
    }
}

/// Boxcar sum of an `n × n` grid with circular wrap (the spectrum is periodic), separable.
fn box_smooth_circular(v: &mut [f32], tmp: &mut [f32], n: usize, k: usize) {
    let half = (k / 2) as isize;
    let idx = |i: isize| i.rem_euclid(n as isize) as usize;
    for r in 0..n {
        for c in 0..n {
            tmp[r * n + c] = (-half..=half).map(|d| v[r * n + idx(c as isize + d)]).sum();
        }
    }
    for r in 0..n {
        for c in 0..n {
            v[r * n + c] = (-half..=half)
                .map(|d| tmp[idx(r as isize + d) * n + c])
                .sum();
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

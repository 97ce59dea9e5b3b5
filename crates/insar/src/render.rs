//! Rendering of wrapped phase to RGB, and of coherence / any real band to grey.

use crate::colormap::Colormap;
use crate::error::{InsarError, check_size};
use crate::phase::wrap;
use rayon::prelude::*;
use std::f32::consts::{PI, TAU};

/// Entries of the lookup table for continuous maps: finer than 8-bit output can show.
const LUT_SIZE: usize = 4096;

/// Renders wrapped phase (radians) to interleaved RGB (`3 · w · h` bytes).
///
/// Each value is `wrap(φ + offset)`, then negated if `reverse` (the colour cycle runs the
/// other way), then mapped from (−π, π] to [0, 1] and through `cmap`. NaN phase renders
/// black. Unwrapped input is fine: it is wrapped first.
///
/// # Panics
/// If `phase.len() != w * h` (see [`try_render_phase`]).
pub fn render_phase(
    phase: &[f32],
    w: usize,
    h: usize,
    cmap: Colormap,
    offset: f32,
    reverse: bool,
) -> Vec<u8> {
    try_render_phase(phase, w, h, cmap, offset, reverse)
        .unwrap_or_else(|e| panic!("render_phase: {e}"))
}

/// Checked [`render_phase`].
pub fn try_render_phase(
    phase: &[f32],
    w: usize,
    h: usize,
    cmap: Colormap,
    offset: f32,
    reverse: bool,
) -> Result<Vec<u8>, InsarError> {
    check_size("render_phase input", phase.len(), w, h)?;
    let lut = Lut::new(cmap);
    let mut rgb = vec![0u8; phase.len() * 3];
    rgb.par_chunks_mut(3 * 4096)
        .zip(phase.par_chunks(4096))
        .for_each(|(out, ph)| {
            for (px, &p) in out.chunks_exact_mut(3).zip(ph) {
                let mut psi = wrap(p + offset);
                if reverse {
                    psi = wrap(-psi);
                }
                px.copy_from_slice(&lut.get((psi + PI) / TAU));
            }
        });
    Ok(rgb)
}

/// Renders a real band to 8-bit grey: `lo ↦ 0`, `hi ↦ 255`, clamped outside; NaN renders 0.
pub fn render_gray(values: &[f32], lo: f32, hi: f32) -> Result<Vec<u8>, InsarError> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Err(InsarError::BadParameter {
            what: "grey range",
            value: format!("[{lo}, {hi}]"),
            expected: "finite bounds with lo < hi",
        });
    }
    let scale = 255.0 / (hi - lo);
    Ok(values
        .par_iter()
        .map(|&v| {
            if v.is_nan() {
                0
            } else {
                ((v - lo) * scale).round().clamp(0.0, 255.0) as u8
            }
        })
        .collect())
}

/// Renders coherence in [0, 1] to grey (0 black, 1 white).
pub fn render_coherence(coherence: &[f32]) -> Vec<u8> {
    render_gray(coherence, 0.0, 1.0).unwrap_or_else(|e| unreachable!("fixed range: {e}"))
}

/// Precomputed colours so rendering a scene costs a table lookup per pixel.
struct Lut {
    colors: Vec<[u8; 3]>,
    quantised: bool,
}

impl Lut {
    fn new(cmap: Colormap) -> Self {
        match cmap.levels() {
            Some(n) => Self {
                colors: (0..n)
                    .map(|i| cmap.color((i as f32 + 0.5) / n as f32))
                    .collect(),
                quantised: true,
            },
            None => Self {
                colors: (0..LUT_SIZE)
                    .map(|i| cmap.color(i as f32 / (LUT_SIZE - 1) as f32))
                    .collect(),
                quantised: false,
            },
        }
    }

    fn get(&self, t: f32) -> [u8; 3] {
        if t.is_nan() {
            return [0, 0, 0];
        }
        let n = self.colors.len();
        let i = if self.quantised {
            ((t * n as f32) as usize).min(n - 1)
        } else {
            ((t * (n - 1) as f32).round() as usize).min(n - 1)
        };
        self.colors[i]
    }
}

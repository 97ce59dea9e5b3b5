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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn px(rgb: &[u8], i: usize) -> [u8; 3] {
        [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]
    }

    #[test]
    fn sizes_and_ends() {
        let phase = [-PI + 1e-6, 0.0, PI, f32::NAN];
        let rgb = render_phase(&phase, 2, 2, Colormap::Jet, 0.0, false);
        assert_eq!(rgb.len(), 12);
        assert_eq!(px(&rgb, 0), [0, 0, 128]);
        assert_eq!(px(&rgb, 2), [128, 0, 0]);
        assert_eq!(px(&rgb, 3), [0, 0, 0]);
        assert!(try_render_phase(&phase, 3, 2, Colormap::Jet, 0.0, false).is_err());
    }

    #[test]
    fn cyclic_render_is_continuous_across_pi() {
        for cmap in [Colormap::Cyclic, Colormap::Hsv, Colormap::Gamma] {
            let rgb = render_phase(&[PI - 1e-3, -PI + 1e-3], 2, 1, cmap, 0.0, false);
            let (a, b) = (px(&rgb, 0), px(&rgb, 1));
            assert!(
                a.iter().zip(&b).all(|(&x, &y)| x.abs_diff(y) <= 2),
                "{cmap}: {a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn jet64_render_has_64_colours() {
        let n = 5000;
        let phase: Vec<f32> = (0..n)
            .map(|i| -PI + TAU * (i as f32 + 0.5) / n as f32)
            .collect();
        let rgb = render_phase(&phase, n, 1, Colormap::Jet64, 0.0, false);
        let set: std::collections::HashSet<[u8; 3]> = (0..n).map(|i| px(&rgb, i)).collect();
        assert_eq!(set.len(), 64);
    }

    proptest! {
        #[test]
        fn reverse_mirrors(p in proptest::collection::vec(-20.0f32..20.0, 1..64), ci in 0usize..Colormap::ALL.len()) {
            let cmap = Colormap::ALL[ci];
            let neg: Vec<f32> = p.iter().map(|v| -v).collect();
            let n = p.len();
            prop_assert_eq!(
                render_phase(&p, n, 1, cmap, 0.0, true),
                render_phase(&neg, n, 1, cmap, 0.0, false)
            );
        }

        #[test]
        fn offset_shifts_phase(p in proptest::collection::vec(-3.0f32..3.0, 1..64), off in -3.0f32..3.0) {
            let n = p.len();
            let shifted: Vec<f32> = p.iter().map(|v| v + off).collect();
            prop_assert_eq!(
                render_phase(&p, n, 1, Colormap::Cyclic, off, false),
                render_phase(&shifted, n, 1, Colormap::Cyclic, 0.0, false)
            );
        }
    }

    #[test]
    fn gray_and_coherence() {
        assert_eq!(
            render_coherence(&[0.0, 0.5, 1.0, 1.5, -0.2, f32::NAN]),
            vec![0, 128, 255, 255, 0, 0]
        );
        assert_eq!(
            render_gray(&[-10.0, 0.0, 10.0], -10.0, 10.0).expect("range"),
            vec![0, 128, 255]
        );
        assert!(render_gray(&[1.0], 1.0, 1.0).is_err());
    }
}

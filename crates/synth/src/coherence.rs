//! True coherence γ of an area: winter farmland patchwork, villages, water (rivers, lakes,
//! old subsidence ponds), striped decorrelated bands on hills, and the loss of coherence
//! where the deformation fringes are steeper than the multilook cell can hold.

use crate::field::{Field, broken_power_law, smooth_grid, spectral_field};
use rand::Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::f64::consts::PI;

/// γ of water and fully decorrelated ground.
pub const WATER_GAMMA: f32 = 0.02;

#[derive(Clone, Debug, Default, Serialize)]
pub struct CoherenceRecord {
    /// Median coherence of the farmland background.
    pub background: f64,
    pub water_fraction: f64,
    pub ponds: usize,
    pub rivers: usize,
}

/// Builds the background coherence (everything except the deformation gradient).
pub fn background<R: Rng>(
    rng: &mut R,
    (w, h): (usize, usize),
    (dx, dy): (f64, f64),
    dem: &Field,
    boost_negatives: bool,
    fixed_base: Option<f64>,
    rec: &mut CoherenceRecord,
) -> Vec<f32> {
    let (gw, gh) = smooth_grid(w, h);
    let (gdx, gdy) = (dx * w as f64 / gw as f64, dy * h as f64 / gh as f64);
    let norm = |mut f: Field| {
        let s = f.std_dev().max(1e-12);
        f.scale(1.0 / s);
        f
    };
    let smooth = |rng: &mut R, scale_m: f64, slope: f64| {
        let k0 = 1.0 / scale_m;
        norm(spectral_field(gw, gh, gdx, gdy, 1.2, rng, move |kx, ky| {
            broken_power_law((kx * kx + ky * ky).sqrt(), k0, 0.0, slope, 1e-6)
        }))
    };
    // Pairs drowned in noise are discarded by users (and by the paper), so the
    // background stays in the range where fringes survive at least after filtering.
    let base = rng.random_range(0.35..0.9);
    let base = fixed_base.unwrap_or(base);
    rec.background = base;
    let base = base as f32;
    let regional = smooth(rng, 3000.0, 3.0);
    // Field parcels: a medium-scale field quantised into a few levels gives patches with
    // sharp borders (crops, bare soil, greenhouses).
    let parcel_scale = rng.random_range(250.0..800.0);
    let parcels = smooth(rng, parcel_scale, 4.0);
    let levels: Vec<f32> = (0..5).map(|_| rng.random_range(-0.2..0.12)).collect();
    let village_scale = rng.random_range(200.0..500.0);
    let villages = smooth(rng, village_scale, 4.0);
    let village_cut = rng.random_range(1.6..2.4) as f32;
    let lake_scale = rng.random_range(800.0..3000.0);
    let lakes = smooth(rng, lake_scale, 4.0);
    let lake_cut = if rng.random_bool(0.3) {
        rng.random_range(1.8..2.8) as f32
    } else {
        f32::INFINITY
    };
    let bands = HillBands::draw(rng, dem);
    // Row by row from the smooth grids: no field is held at full resolution.
    let fields = [&regional, &parcels, &villages, &lakes, dem];
    let samplers: Vec<_> = fields.iter().map(|f| f.resampler(w, h)).collect();
    let mut g = vec![0.0f32; w * h];
    g.par_chunks_mut(w.max(1)).enumerate().for_each_init(
        || {
            let rows = vec![vec![0.0f32; w]; samplers.len()];
            let scratch: Vec<Vec<f32>> = samplers.iter().map(|s| s.scratch()).collect();
            (rows, scratch)
        },
        |(rows, scratch), (r, out)| {
            for ((s, row), tmp) in samplers.iter().zip(rows.iter_mut()).zip(scratch.iter_mut()) {
                s.row(r, tmp, row);
            }
            for (c, v) in out.iter_mut().enumerate() {
                let q = (rows[1][c] + 2.5).clamp(0.0, 4.99) as usize;
                let mut x = base + 0.08 * rows[0][c] + levels[q];
                if rows[2][c] > village_cut {
                    x = rng_free_village(x);
                }
                if rows[3][c] > lake_cut {
                    x = WATER_GAMMA;
                }
                *v = bands.apply(x.clamp(0.05, 0.97), rows[4][c]);
            }
        },
    );
    let ponds = if boost_negatives {
        rng.random_range(0..4)
    } else {
        rng.random_range(0..3)
    };
    let area_scale = ((w * h) as f64 / (416.0 * 416.0)).max(1.0);
    let n_ponds = (ponds as f64 * area_scale.sqrt()).round() as usize;
    for _ in 0..n_ponds {
        pond(rng, &mut g, w, h, dx, dy);
    }
    rec.ponds = n_ponds;
    let n_rivers = usize::from(rng.random_bool(0.25)) * (1 + (area_scale.sqrt() as usize) / 4);
    for _ in 0..n_rivers {
        river(rng, &mut g, w, h);
    }
    rec.rivers = n_rivers;
    rec.water_fraction = g.iter().filter(|&&v| v <= WATER_GAMMA).count() as f64 / (w * h) as f64;
    g
}

/// Built-up ground keeps its coherence.
fn rng_free_village(v: f32) -> f32 {
    v.max(0.9)
}

/// Striped decorrelated bands on hills: terraces and woodland strips follow the contours,
/// and slopes facing the radar lose coherence.
struct HillBands {
    floor: f32,
    spacing: f32,
    depth: f32,
}

impl HillBands {
    fn draw<R: Rng>(rng: &mut R, dem: &Field) -> Self {
        Self {
            // The lowest DEM sample: bilinear resampling never goes below it.
            floor: dem.min_max().0,
            spacing: rng.random_range(12.0..40.0) as f32,
            depth: rng.random_range(0.5..0.9) as f32,
        }
    }

    /// Coherence `v` at a pixel of height `z` (m).
    fn apply(&self, v: f32, z: f32) -> f32 {
        let rel = z - self.floor;
        if rel > 15.0 {
            let stripe =
                ((2.0 * std::f32::consts::PI * rel / self.spacing).sin() > 0.2) as u8 as f32;
            let ramp = ((rel - 15.0) / 30.0).min(1.0);
            v * (1.0 - self.depth * ramp * stripe.max(0.3))
        } else {
            v
        }
    }
}

/// An old subsidence pond or fish pond: an ellipse of water, 100–600 m.
fn pond<R: Rng>(rng: &mut R, g: &mut [f32], w: usize, h: usize, dx: f64, dy: f64) {
    let a = rng.random_range(50.0..300.0) / dx;
    let b = a * dx / dy * rng.random_range(0.4..1.0);
    let (cx, cy) = (
        rng.random_range(0.0..w as f64),
        rng.random_range(0.0..h as f64),
    );
    let t = rng.random_range(0.0..PI);
    let (c, s) = (t.cos(), t.sin());
    let reach = a.max(b).ceil() as i64 + 1;
    for r in (cy as i64 - reach).max(0)..(cy as i64 + reach).min(h as i64) {
        for col in (cx as i64 - reach).max(0)..(cx as i64 + reach).min(w as i64) {
            let (x, y) = (col as f64 + 0.5 - cx, r as f64 + 0.5 - cy);
            let (u, v) = ((x * c + y * s) / a, (-x * s + y * c) / b);
            if u * u + v * v <= 1.0 {
                g[r as usize * w + col as usize] = WATER_GAMMA;
            }
        }
    }
}

/// A meandering river 1–4 px wide crossing the area.
fn river<R: Rng>(rng: &mut R, g: &mut [f32], w: usize, h: usize) {
    let width: f64 = rng.random_range(0.6..2.2);
    let (mut x, mut y) = (rng.random_range(0.0..w as f64), 0.0f64);
    let mut dir = PI / 2.0 + rng.random_range(-0.6..0.6);
    let steps = 4 * (w + h);
    for _ in 0..steps {
        dir += rng.random_range(-0.15..0.15);
        dir = dir.clamp(0.2, PI - 0.2);
        x += dir.cos();
        y += dir.sin();
        if y >= h as f64 || x < -5.0 || x > w as f64 + 5.0 {
            break;
        }
        let reach = width.ceil() as i64;
        for r in (y as i64 - reach).max(0)..=(y as i64 + reach).min(h as i64 - 1) {
            for c in (x as i64 - reach).max(0)..=(x as i64 + reach).min(w as i64 - 1) {
                let d2 = (c as f64 + 0.5 - x).powi(2) + (r as f64 + 0.5 - y).powi(2);
                if d2 <= width * width {
                    g[r as usize * w + c as usize] = WATER_GAMMA;
                }
            }
        }
    }
}

/// Coherence left when a phase gradient of `g` rad/pixel is averaged over a multilook
/// cell: |sinc(g/2π)| = |sin(g/2)/(g/2)| (first zero at 2π per pixel), with a floor.
pub fn gradient_coherence(g: f64) -> f32 {
    let x = 0.5 * g;
    let s = if x < 1e-6 { 1.0 } else { (x.sin() / x).abs() };
    s.max(0.0) as f32
}

/// Phase gradient magnitude (rad/pixel) of an unwrapped field, forward differences
/// (backward on the last row/column).
pub fn phase_gradient(phase: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w.max(1))
        .enumerate()
        .for_each(|(r, row)| {
            for (c, o) in row.iter_mut().enumerate() {
                let i = r * w + c;
                let gx = if c + 1 < w {
                    phase[i + 1] - phase[i]
                } else if c > 0 {
                    phase[i] - phase[i - 1]
                } else {
                    0.0
                };
                let gy = if r + 1 < h {
                    phase[i + w] - phase[i]
                } else if r > 0 {
                    phase[i] - phase[i - w]
                } else {
                    0.0
                };
                *o = gx.hypot(gy);
            }
        });
    out
}

/// Multiplies γ by the multilook loss of a phase-gradient field (rad/pixel).
pub fn apply_gradient_loss(gamma: &mut [f32], gradient: &[f32]) {
    gamma
        .par_iter_mut()
        .zip(gradient.par_iter())
        .for_each(|(g, &d)| {
            if d > 0.05 {
                *g *= gradient_coherence(d as f64);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_coherence_closed_form() {
        assert!((gradient_coherence(0.0) - 1.0).abs() < 1e-6);
        assert!((gradient_coherence(PI) - (2.0 / PI) as f32).abs() < 1e-6);
        assert!(gradient_coherence(2.0 * PI) < 1e-6);
    }

    #[test]
    fn steep_fringes_lose_coherence() {
        let (w, h) = (10, 1);
        let phase: Vec<f32> = (0..w).map(|c| (c * c) as f32 * 0.5).collect();
        let mut g = vec![0.8f32; w];
        apply_gradient_loss(&mut g, &phase_gradient(&phase, w, h));
        assert!(g[0] > 0.75);
        assert!(g[6] < 0.2, "{:?}", g);
    }
}

//! Probability integral method (PIM) for a rectangular longwall panel, static and with the
//! Knothe time function for an advancing face.
//!
//! Panel coordinates: `x` along strike from the panel's start edge, `y` along dip from its
//! up-dip edge, metres. Subsidence `W` is positive downwards; the horizontal displacement
//! `U = b·r·∂W/∂x` points towards the trough (where `W` grows).

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// One longwall panel and its overburden, as drawn by the layout generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    /// Strike (advance) length of the panel in metres.
    pub length_m: f64,
    /// Dip width of the panel in metres.
    pub width_m: f64,
    /// Mean mining depth H in metres.
    pub depth_m: f64,
    /// Extracted seam thickness m in metres.
    pub thickness_m: f64,
    /// Subsidence factor q (0.5–0.95 for caved goaf under loose overburden).
    pub q: f64,
    /// tan β, the tangent of the major influence angle.
    pub tan_beta: f64,
    /// Horizontal displacement coefficient b.
    pub b: f64,
    /// Seam dip α in degrees.
    pub dip_deg: f64,
    /// Inflection-point offset s as a fraction of H (moves each edge into the goaf).
    pub offset_frac: f64,
}

impl Panel {
    /// Final maximum subsidence W0 = m·q·cos α of a supercritical panel.
    pub fn w0(&self) -> f64 {
        self.thickness_m * self.q * self.dip_deg.to_radians().cos()
    }

    /// Influence radius r = H / tan β at the mean depth.
    pub fn radius(&self) -> f64 {
        self.depth_m / self.tan_beta
    }

    /// Inflection-point offset s in metres.
    pub fn offset(&self) -> f64 {
        self.offset_frac * self.depth_m
    }

    /// Influence radii of the up-dip and down-dip edges: a dipping seam lies shallower on
    /// its up-dip side, which makes the basin steeper there (lopsided across dip).
    pub fn dip_radii(&self) -> (f64, f64) {
        let dz = 0.5 * self.width_m * self.dip_deg.to_radians().sin();
        let h1 = (self.depth_m - dz).max(0.3 * self.depth_m);
        let h2 = self.depth_m + dz;
        (h1 / self.tan_beta, h2 / self.tan_beta)
    }
}

/// ½[erf(√π (x − a)/r) − erf(√π (x − b)/r)]: the static PIM profile of an opening from
/// `a` to `b` with influence radius `r` (1 in the middle of a wide opening, ½ over an edge).
pub fn edge_profile(x: f64, a: f64, b: f64, r: f64) -> f64 {
    let k = PI.sqrt() / r;
    0.5 * (libm::erf(k * (x - a)) - libm::erf(k * (x - b)))
}

/// d/dx of [`edge_profile`] with different radii at the two edges (used across dip).
pub fn edge_profile2(x: f64, a: f64, ra: f64, b: f64, rb: f64) -> (f64, f64) {
    let (ka, kb) = (PI.sqrt() / ra, PI.sqrt() / rb);
    let v = 0.5 * (libm::erf(ka * (x - a)) - libm::erf(kb * (x - b)));
    let d = gauss(x - a, ra) - gauss(x - b, rb);
    (v, d)
}

/// The PIM influence function (1/r)·exp(−π x²/r²); it integrates to 1.
fn gauss(x: f64, r: f64) -> f64 {
    (-PI * x * x / (r * r)).exp() / r
}

/// A 1-D profile C(x) and its derivative sampled on a regular grid, linearly interpolated.
#[derive(Clone, Debug)]
pub struct Profile {
    x0: f64,
    step: f64,
    value: Vec<f64>,
    deriv: Vec<f64>,
}

impl Profile {
    /// Samples `f(x) -> (C, C')` on `[x0, x1]` every `step` metres.
    pub fn from_fn(x0: f64, x1: f64, step: f64, f: impl Fn(f64) -> (f64, f64)) -> Self {
        let n = ((x1 - x0) / step).ceil().max(1.0) as usize + 1;
        let (value, deriv) = (0..n).map(|i| f(x0 + i as f64 * step)).unzip();
        Self {
            x0,
            step,
            value,
            deriv,
        }
    }

    /// Profile of a piecewise-constant extraction density `density[i]` on cells
    /// `[start + i·step, start + (i+1)·step)`, convolved exactly (cell integrals of the
    /// influence function) with radius `r`. Sampled on the cell edges plus 3r each side.
    pub fn from_density(start: f64, step: f64, density: &[f64], r: f64) -> Self {
        let pad = (3.0 * r / step).ceil() as usize;
        let n = density.len() + 2 * pad + 1;
        let k = PI.sqrt() / r;
        // Kernel by offset d = j − i between sample j (at an edge) and cell i; the cell
        // spans [edge_i, edge_i + step], the sample lies at edge_j.
        let reach = pad as isize + 1;
        let offsets: Vec<isize> = (-reach - 1..=reach + 1).collect();
        let kv: Vec<f64> = offsets
            .iter()
            .map(|&d| {
                let u = d as f64 * step;
                0.5 * (libm::erf(k * u) - libm::erf(k * (u - step)))
            })
            .collect();
        let kd: Vec<f64> = offsets
            .iter()
            .map(|&d| {
                let u = d as f64 * step;
                gauss(u, r) - gauss(u - step, r)
            })
            .collect();
        let centre = (reach + 1) as usize;
        let mut value = vec![0.0; n];
        let mut deriv = vec![0.0; n];
        for (j, (v, dv)) in value.iter_mut().zip(deriv.iter_mut()).enumerate() {
            let jc = j as isize - pad as isize; // edge index in cell numbering
            let lo = (jc - reach).max(0);
            let hi = (jc + reach).min(density.len() as isize - 1);
            for i in lo..=hi {
                let e = density[i as usize];
                if e != 0.0 {
                    let idx = (centre as isize + jc - i) as usize;
                    *v += e * kv[idx];
                    *dv += e * kd[idx];
                }
            }
        }
        Self {
            x0: start - pad as f64 * step,
            step,
            value,
            deriv,
        }
    }

    /// (C(x), C'(x)); zero outside the sampled range (where the profile has decayed).
    pub fn eval(&self, x: f64) -> (f64, f64) {
        let t = (x - self.x0) / self.step;
        if t.is_nan() || t < 0.0 || t >= (self.value.len() - 1) as f64 {
            return (0.0, 0.0);
        }
        let i = t as usize;
        let f = t - i as f64;
        let lerp = |a: &[f64]| a[i] + f * (a[i + 1] - a[i]);
        (lerp(&self.value), lerp(&self.deriv))
    }

    /// Range `[x0, x1]` where the profile is sampled.
    pub fn span(&self) -> (f64, f64) {
        (self.x0, self.x0 + (self.value.len() - 1) as f64 * self.step)
    }

    /// Largest sampled value.
    pub fn max(&self) -> f64 {
        self.value.iter().cloned().fold(0.0, f64::max)
    }
}

/// State of the longwall face over the interferogram's time span, for the Knothe model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceHistory {
    /// Face position along strike (m from the panel start) at the first acquisition.
    pub face_start_m: f64,
    /// Advance rate in m/day (0 once the panel is finished).
    pub advance_m_per_day: f64,
    /// Knothe time constant c in 1/day: subsidence of an element reaches 1 − e^{−cτ}.
    pub knothe_c_per_day: f64,
    /// Interferogram time span in days.
    pub span_days: f64,
}

/// Fraction of the final subsidence of goaf element `xi` that occurs between the two
/// acquisitions (Knothe: K(τ) = 1 − e^{−cτ} for τ ≥ 0, τ the time since the face passed).
pub fn knothe_increment(xi: f64, face: &FaceHistory, end_m: f64) -> f64 {
    let v = face.advance_m_per_day;
    let c = face.knothe_c_per_day;
    let k = |tau: f64| {
        if tau > 0.0 {
            1.0 - (-c * tau).exp()
        } else {
            0.0
        }
    };
    // Time (days, relative to the first acquisition) at which the face passed xi.
    let passed = if xi <= face.face_start_m {
        if v > 0.0 {
            (xi - face.face_start_m) / v
        } else {
            // Face already stopped: treat the stop as the moment of passage plus the
            // (unknown) time it stood, assumed to be one time constant.
            -(face.face_start_m - xi) / 5.0 - 1.0 / c
        }
    } else if v > 0.0 && xi <= end_m {
        (xi - face.face_start_m) / v
    } else {
        return 0.0;
    };
    k(face.span_days - passed) - k(-passed)
}

/// Strike profile of the subsidence that develops during the interferogram: the Knothe
/// increment of every goaf element convolved with the influence function.
pub fn dynamic_strike_profile(panel: &Panel, face: &FaceHistory) -> Profile {
    let r = panel.radius();
    let s = panel.offset();
    let (start, end) = (s, (panel.length_m - s).max(s + 1.0));
    let step = (r / 10.0).clamp(1.0, 20.0);
    let n = ((end - start) / step).ceil().max(1.0) as usize;
    let end_eff = panel.length_m - s;
    let density: Vec<f64> = (0..n)
        .map(|i| {
            let xi = start + (i as f64 + 0.5) * step;
            if xi > end_eff {
                0.0
            } else {
                knothe_increment(xi, face, end_eff)
            }
        })
        .collect();
    Profile::from_density(start, step, &density, r)
}

/// Static dip profile of the fully extracted width, with the radii of the two edges.
pub fn dip_profile(panel: &Panel) -> Profile {
    let s = panel.offset();
    let (r1, r2) = panel.dip_radii();
    let a = s;
    let b = (panel.width_m - s).max(a + 1.0);
    let step = (r1.min(r2) / 10.0).clamp(1.0, 20.0);
    Profile::from_fn(a - 3.0 * r1, b + 3.0 * r2, step, |y| {
        edge_profile2(y, a, r1, b, r2)
    })
}

/// Static strike profile of a fully extracted and settled panel (closed form).
pub fn static_strike_profile(panel: &Panel) -> Profile {
    let s = panel.offset();
    let r = panel.radius();
    let (a, b) = (s, (panel.length_m - s).max(s + 1.0));
    let step = (r / 10.0).clamp(1.0, 20.0);
    Profile::from_fn(a - 3.0 * r, b + 3.0 * r, step, |x| {
        (edge_profile(x, a, b, r), gauss(x - a, r) - gauss(x - b, r))
    })
}

/// Displacement of a panel in panel coordinates: (along strike, along dip, up), metres.
/// `amplitude` is the subsidence scale W0 of the developing basin.
pub fn displacement(
    strike: &Profile,
    dip: &Profile,
    amplitude: f64,
    r: f64,
    b: f64,
    x: f64,
    y: f64,
) -> [f64; 3] {
    let (cx, dcx) = strike.eval(x);
    if cx == 0.0 && dcx == 0.0 {
        return [0.0; 3];
    }
    let (cy, dcy) = dip.eval(y);
    let w = amplitude * cx * cy;
    let ux = b * r * amplitude * dcx * cy;
    let uy = b * r * amplitude * cx * dcy;
    [ux, uy, -w]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide_panel() -> Panel {
        Panel {
            length_m: 3000.0,
            width_m: 2000.0,
            depth_m: 200.0,
            thickness_m: 3.0,
            q: 0.8,
            tan_beta: 2.0,
            b: 0.3,
            dip_deg: 0.0,
            offset_frac: 0.0,
        }
    }

    #[test]
    fn supercritical_peak_is_w0_at_centre() {
        let p = wide_panel();
        let (sx, sy) = (static_strike_profile(&p), dip_profile(&p));
        let d = displacement(&sx, &sy, p.w0(), p.radius(), p.b, 1500.0, 1000.0);
        assert!((-d[2] - 2.4).abs() < 1e-6, "W = {}", -d[2]);
        // No horizontal motion at the trough bottom.
        assert!(d[0].abs() < 1e-6 && d[1].abs() < 1e-6);
    }

    #[test]
    fn half_w0_on_the_inflection_line() {
        let mut p = wide_panel();
        p.offset_frac = 0.2; // s = 40 m: the inflection line moves 40 m into the goaf
        let (sx, sy) = (static_strike_profile(&p), dip_profile(&p));
        let d = displacement(&sx, &sy, p.w0(), p.radius(), p.b, 40.0, 1000.0);
        assert!((-d[2] - 1.2).abs() < 1e-3, "W = {}", -d[2]);
        // Horizontal displacement peaks there at b·W0 (PIM: U_max = b·W0), towards +x.
        assert!((d[0] - 0.3 * 2.4).abs() < 5e-3, "U = {}", d[0]);
    }

    #[test]
    fn static_profile_is_symmetric() {
        let p = Panel {
            length_m: 400.0,
            ..wide_panel()
        };
        let sx = static_strike_profile(&p);
        for x in [0.0, 37.0, 120.0, 199.0, 330.0] {
            let (a, da) = sx.eval(200.0 - x);
            let (b, db) = sx.eval(200.0 + x);
            assert!((a - b).abs() < 1e-9 && (da + db).abs() < 1e-9);
        }
    }

    #[test]
    fn density_convolution_matches_closed_form() {
        let p = Panel {
            length_m: 700.0,
            ..wide_panel()
        };
        let r = p.radius();
        let step = 10.0;
        let density = vec![1.0; 70];
        let conv = Profile::from_density(0.0, step, &density, r);
        // Exact on the sample points (cell edges)…
        for x in [-150.0, -30.0, 0.0, 50.0, 350.0, 690.0, 800.0] {
            let (v, d) = conv.eval(x);
            let exact = edge_profile(x, 0.0, 700.0, r);
            let dexact = gauss(x, r) - gauss(x - 700.0, r);
            assert!((v - exact).abs() < 1e-9, "x {x}: {v} vs {exact}");
            assert!((d - dexact).abs() < 1e-9, "x {x}: {d} vs {dexact}");
        }
        // …and within linear interpolation error (h²/8·|C''|, h = r/10) between them.
        for x in [-3.0, 55.0, 697.0] {
            let exact = edge_profile(x, 0.0, 700.0, r);
            assert!((conv.eval(x).0 - exact).abs() < 3e-3);
        }
    }

    #[test]
    fn knothe_increment_sums_to_one_over_all_time() {
        let face = FaceHistory {
            face_start_m: 500.0,
            advance_m_per_day: 5.0,
            knothe_c_per_day: 0.05,
            span_days: 1e5,
        };
        // Elements passed long before (face at 500 m now) are done; over a huge span
        // everything extracted by then settles completely.
        let e = knothe_increment(600.0, &face, 2000.0);
        assert!((e - 1.0).abs() < 1e-9);
        let short = FaceHistory {
            span_days: 12.0,
            ..face
        };
        // Element passed 20 days before the first acquisition: e^{-1} − e^{-1.6}.
        let e = knothe_increment(400.0, &short, 2000.0);
        let exact = (-0.05f64 * 20.0).exp() - (-0.05f64 * 32.0).exp();
        assert!((e - exact).abs() < 1e-12);
        // Unmined ground beyond the face at the end of the span does not move.
        assert_eq!(knothe_increment(700.0, &short, 2000.0), 0.0);
    }

    #[test]
    fn dynamic_basin_is_lopsided_behind_the_face() {
        let p = Panel {
            length_m: 1500.0,
            width_m: 200.0,
            ..wide_panel()
        };
        let face = FaceHistory {
            face_start_m: 800.0,
            advance_m_per_day: 6.0,
            knothe_c_per_day: 0.03,
            span_days: 24.0,
        };
        let prof = dynamic_strike_profile(&p, &face);
        let (x0, x1) = prof.span();
        let mut best = (x0, 0.0);
        let mut x = x0;
        while x < x1 {
            let v = prof.eval(x).0;
            if v > best.1 {
                best = (x, v);
            }
            x += 1.0;
        }
        // The trough sits near the face, and decays slower behind it than ahead.
        assert!((best.0 - 800.0).abs() < 250.0, "peak at {}", best.0);
        let behind = prof.eval(best.0 - 300.0).0;
        let ahead = prof.eval(best.0 + 300.0).0;
        assert!(behind > ahead, "behind {behind} ahead {ahead}");
    }
}

//! Random mines and longwall panels: parameters, face history, placement and the strength
//! of the subsidence that develops during the interferogram.
//!
//! Distributions (uniform unless stated): strike length 200–2,000 m, dip width 100–300 m,
//! depth 150–1,000 m, thickness 1–6 m, q 0.5–0.95, tan β 1.5–2.6, b 0.2–0.35, dip 0–20°,
//! inflection offset 0–0.3 H, strike azimuth uniform. How much of the final basin
//! (W0 = m·q·cos α) develops during the interferogram follows from the physics: the face
//! position and advance rate, the Knothe time constant and the time span. A deep, narrow
//! panel therefore gives a broad, faint basin and a shallow, thick one a deep bowl. Each
//! mine's active panel is redrawn until it shows at least 1.5 cm of LOS motion (the faintest
//! basin reported, half a fringe), so every mine placed is one a person could see; a
//! neighbour beside it is either still active or settling.

use crate::deformation::peak_los;
use crate::geometry::Viewing;
use crate::pim::{FaceHistory, Panel};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One panel placed on the ground.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlacedPanel {
    pub panel: Panel,
    pub face: FaceHistory,
    /// Ground position (east, north; m, area frame) of the panel's start corner.
    pub origin_m: (f64, f64),
    /// Strike azimuth, degrees clockwise from north.
    pub strike_deg: f64,
    /// Peak |LOS| deformation this panel alone shows in the interferogram (m), from its
    /// physics and the viewing geometry.
    pub peak_los_m: f64,
    /// Index of the mine the panel belongs to.
    pub mine_id: usize,
}

impl PlacedPanel {
    /// Unit vectors (east, north) of the strike (x) and dip (y) axes of the panel.
    pub fn axes(&self) -> ((f64, f64), (f64, f64)) {
        let a = self.strike_deg.to_radians();
        let sx = (a.sin(), a.cos());
        // Dip axis 90° clockwise of strike.
        let sy = (a.cos(), -a.sin());
        (sx, sy)
    }

    /// Ground point (east, north) → panel coordinates (x along strike, y along dip).
    pub fn to_panel(&self, e: f64, n: f64) -> (f64, f64) {
        let ((ax, ay), (bx, by)) = self.axes();
        let (de, dn) = (e - self.origin_m.0, n - self.origin_m.1);
        (de * ax + dn * ay, de * bx + dn * by)
    }

    /// Panel coordinates → ground point.
    pub fn to_ground(&self, x: f64, y: f64) -> (f64, f64) {
        let ((ax, ay), (bx, by)) = self.axes();
        (
            self.origin_m.0 + x * ax + y * bx,
            self.origin_m.1 + x * ay + y * by,
        )
    }
}

/// Draws the parameters of one panel.
pub fn random_panel<R: Rng>(rng: &mut R) -> Panel {
    Panel {
        length_m: rng.random_range(200.0..2000.0),
        width_m: rng.random_range(100.0..300.0),
        depth_m: rng.random_range(150.0..1000.0),
        thickness_m: rng.random_range(1.0..6.0),
        q: rng.random_range(0.5..0.95),
        tan_beta: rng.random_range(1.5..2.6),
        b: rng.random_range(0.2..0.35),
        dip_deg: rng.random_range(0.0..20.0),
        offset_frac: rng.random_range(0.0..0.3),
    }
}

/// Log-uniform draw on [lo, hi].
pub fn log_uniform<R: Rng>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo.ln()..hi.ln())).exp()
}

/// Knothe time constant (1/day) of a panel at depth `depth_m`. Surface movement over a
/// longwall lasts T ≈ 2.5·H₀ days (H₀ in m; the Chinese coal-mining regulations' rule for
/// the duration of surface movement) and the Knothe function reaches 98 % of the final
/// subsidence by then, so c = ln 50 / T, with a log-normal spread of ±30 % for the
/// overburden. With it, the simulated 12-day basins show 1–10 fringes and about a third
/// have decorrelated centres, as real coalfields do (`shared/notes/real-interferograms.md`).
fn knothe_c<R: Rng>(rng: &mut R, depth_m: f64) -> f64 {
    let z: f64 = rng.sample(rand_distr::StandardNormal);
    let c = 50f64.ln() / (2.5 * depth_m) * (0.3 * z).exp();
    c.clamp(0.001, 0.2)
}

/// Face history of an active panel: the face somewhere along the panel, advancing 2–10
/// m/day; the time constant follows from the depth.
pub fn active_face<R: Rng>(rng: &mut R, panel: &Panel, span_days: f64) -> FaceHistory {
    let advance = rng.random_range(2.0..10.0);
    FaceHistory {
        face_start_m: rng.random_range(0.1..0.95) * panel.length_m,
        advance_m_per_day: advance,
        knothe_c_per_day: knothe_c(rng, panel.depth_m),
        span_days,
    }
}

/// A finished panel still settling: the face stands at the panel end.
pub fn settling_face<R: Rng>(rng: &mut R, panel: &Panel, span_days: f64) -> FaceHistory {
    FaceHistory {
        face_start_m: panel.length_m,
        advance_m_per_day: 0.0,
        knothe_c_per_day: knothe_c(rng, panel.depth_m),
        span_days,
    }
}

/// Smallest peak LOS (m) of a mine's active panel: the faintest basin reported, about
/// half a fringe.
pub const MIN_ACTIVE_LOS_M: f64 = 0.015;

/// Draws for a mine's active panel before giving up on visibility: a mine this rare keeps
/// its last (faint) draw, which the labeller then treats like any other faint basin.
const MAX_VISIBILITY_DRAWS: usize = 40;

/// A mine's active panel with its face, redrawn until it shows at least
/// [`MIN_ACTIVE_LOS_M`] under `view` along `strike_deg`; returns the panel, its face and
/// its peak LOS (which does not depend on where the panel lies).
fn visible_active_panel<R: Rng>(
    rng: &mut R,
    view: &Viewing,
    strike_deg: f64,
) -> (Panel, FaceHistory, f64) {
    let mut last = None;
    for _ in 0..MAX_VISIBILITY_DRAWS {
        let panel = random_panel(rng);
        let face = active_face(rng, &panel, view.span_days);
        let probe = PlacedPanel {
            panel,
            face,
            origin_m: (0.0, 0.0),
            strike_deg,
            peak_los_m: 0.0,
            mine_id: 0,
        };
        let peak = peak_los(&probe, view);
        let visible = peak >= MIN_ACTIVE_LOS_M;
        last = Some((probe.panel, probe.face, peak));
        if visible {
            break;
        }
    }
    // MAX_VISIBILITY_DRAWS > 0, so the loop ran at least once.
    last.expect("at least one draw")
}

/// The panels of one mine around `centre` (ground m): one active panel, and with some
/// probability a parallel neighbour across a 10–40 m pillar (active or settling), and
/// rarely a third. Their strength is what their physics gives under `view`.
pub fn random_mine<R: Rng>(
    rng: &mut R,
    centre: (f64, f64),
    mine_id: usize,
    view: &Viewing,
) -> Vec<PlacedPanel> {
    let strike_deg = rng.random_range(0.0..360.0);
    let n_panels = match rng.random_range(0.0..1.0) {
        p if p < 0.55 => 1,
        p if p < 0.9 => 2,
        _ => 3,
    };
    let (base, first_face, first_peak) = visible_active_panel(rng, view, strike_deg);
    let span = view.span_days;
    let mut panels = Vec::with_capacity(n_panels);
    let mut dip_offset = 0.0;
    for k in 0..n_panels {
        let (panel, face) = if k == 0 {
            (base.clone(), first_face.clone())
        } else {
            // Neighbouring panels share the seam and overburden; only the size differs.
            let mut panel = Panel {
                length_m: rng.random_range(200.0..2000.0),
                width_m: rng.random_range(100.0..300.0),
                ..base.clone()
            };
            panel.depth_m = (panel.depth_m + rng.random_range(-30.0..30.0)).max(150.0);
            let face = if rng.random_bool(0.4) {
                active_face(rng, &panel, span)
            } else {
                settling_face(rng, &panel, span)
            };
            (panel, face)
        };
        let stagger = rng.random_range(-0.3..0.3) * panel.length_m;
        let mut placed = PlacedPanel {
            panel,
            face,
            origin_m: (0.0, 0.0),
            strike_deg,
            peak_los_m: 0.0,
            mine_id,
        };
        placed.peak_los_m = if k == 0 {
            first_peak
        } else {
            peak_los(&placed, view)
        };
        panels.push((placed, dip_offset, stagger));
        dip_offset += panels[k].0.panel.width_m + rng.random_range(10.0..40.0);
    }
    // Centre the mine's footprint on `centre`.
    let total_dip = dip_offset;
    panels
        .into_iter()
        .map(|(mut p, y0, stagger)| {
            let x0 = -0.5 * p.panel.length_m + stagger;
            let y0 = y0 - 0.5 * total_dip;
            let probe = PlacedPanel {
                origin_m: (0.0, 0.0),
                ..p.clone()
            };
            let (e, n) = probe.to_ground(x0, y0);
            p.origin_m = (centre.0 + e, centre.1 + n);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Orbit;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn view(span_days: f64) -> Viewing {
        Viewing {
            orbit: Orbit::Descending,
            heading_deg: 190.0,
            incidence_deg: 36.0,
            dx_m: 18.5,
            dy_m: 13.9,
            bperp_m: 20.0,
            span_days,
        }
    }

    #[test]
    fn panel_frame_round_trips() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mine = random_mine(&mut rng, (1000.0, -2000.0), 0, &view(12.0));
        for p in &mine {
            let (e, n) = p.to_ground(123.0, -45.0);
            let (x, y) = p.to_panel(e, n);
            assert!((x - 123.0).abs() < 1e-9 && (y + 45.0).abs() < 1e-9);
        }
    }

    #[test]
    fn strike_axis_follows_azimuth() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut p = random_mine(&mut rng, (0.0, 0.0), 0, &view(12.0)).remove(0);
        p.strike_deg = 90.0;
        p.origin_m = (0.0, 0.0);
        // Strike due east: +x is east, +y (dip, clockwise of strike) is south.
        let (e, n) = p.to_ground(10.0, 5.0);
        assert!((e - 10.0).abs() < 1e-9 && (n + 5.0).abs() < 1e-9);
    }

    #[test]
    fn neighbouring_panels_do_not_overlap() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..50 {
            let mine = random_mine(&mut rng, (0.0, 0.0), 0, &view(24.0));
            for pair in mine.windows(2) {
                // Offsets along dip of the two start corners, in the first panel's frame.
                let (_, y1) = pair[0].to_panel(pair[1].origin_m.0, pair[1].origin_m.1);
                assert!(y1 >= pair[0].panel.width_m + 10.0 - 1e-6, "gap {y1}");
            }
        }
    }

    /// Every mine's active panel shows at least the faintest reported basin, and the
    /// recorded peak is the physics of the panel as placed.
    #[test]
    fn active_panels_are_visible_and_peaks_are_physical() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut peaks = Vec::new();
        for i in 0..60 {
            let v = view([12.0, 24.0, 48.0][i % 3]);
            let mine = random_mine(&mut rng, (0.0, 0.0), i, &v);
            assert!(
                mine[0].peak_los_m >= MIN_ACTIVE_LOS_M,
                "{}",
                mine[0].peak_los_m
            );
            for p in &mine {
                let again = peak_los(p, &v);
                assert!((again - p.peak_los_m).abs() <= 1e-9 * again.max(1.0));
            }
            peaks.push(mine[0].peak_los_m);
        }
        // The physics spans faint to strong basins: from a few cm to tens of cm.
        peaks.sort_by(f64::total_cmp);
        assert!(peaks[5] < 0.06, "10th percentile {}", peaks[5]);
        assert!(peaks[54] > 0.15, "90th percentile {}", peaks[54]);
    }

    /// The time constant follows T = 2.5·H₀ days: its median at 500 m is ln 50 / 1250.
    #[test]
    fn knothe_constant_follows_the_movement_duration() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut c: Vec<f64> = (0..2001).map(|_| knothe_c(&mut rng, 500.0)).collect();
        c.sort_by(f64::total_cmp);
        let expect = 50f64.ln() / 1250.0;
        assert!(
            (c[1000] / expect - 1.0).abs() < 0.05,
            "{} vs {expect}",
            c[1000]
        );
    }
}

//! Random mines and longwall panels: parameters, face history, placement and the strength
//! of the subsidence that develops during the interferogram.
//!
//! Distributions (uniform unless stated): strike length 200–2,000 m, dip width 100–300 m,
//! depth 150–1,000 m, thickness 1–6 m, q 0.5–0.95, tan β 1.5–2.6, b 0.2–0.35, dip 0–20°,
//! inflection offset 0–0.3 H, strike azimuth uniform. The peak LOS deformation of each
//! active panel in the interferogram is log-uniform between 1.5 cm (half a fringe) and
//! 40 cm; a mine's second panel beside it is either still active or settling (residual,
//! 10–50 % of the first).

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
    /// Peak |LOS| deformation this panel alone shows in the interferogram (m).
    pub target_los_m: f64,
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

/// Face history of an active panel: the face somewhere along the panel, advancing 2–10
/// m/day, Knothe c 0.01–0.08 /day (lag of 12–100 days).
pub fn active_face<R: Rng>(rng: &mut R, panel: &Panel, span_days: f64) -> FaceHistory {
    FaceHistory {
        face_start_m: rng.random_range(0.1..0.95) * panel.length_m,
        advance_m_per_day: rng.random_range(2.0..10.0),
        knothe_c_per_day: rng.random_range(0.01..0.08),
        span_days,
    }
}

/// A finished panel still settling: the face stands at the panel end.
pub fn settling_face<R: Rng>(rng: &mut R, panel: &Panel, span_days: f64) -> FaceHistory {
    FaceHistory {
        face_start_m: panel.length_m,
        advance_m_per_day: 0.0,
        knothe_c_per_day: rng.random_range(0.01..0.05),
        span_days,
    }
}

/// Range of the peak LOS deformation of active panels (m).
pub const LOS_RANGE_M: (f64, f64) = (0.015, 0.40);

/// The panels of one mine around `centre` (ground m): one active panel, and with some
/// probability a parallel neighbour across a 10–40 m pillar (active or settling), and
/// rarely a third.
pub fn random_mine<R: Rng>(
    rng: &mut R,
    centre: (f64, f64),
    mine_id: usize,
    span_days: f64,
) -> Vec<PlacedPanel> {
    let strike_deg = rng.random_range(0.0..360.0);
    let n_panels = match rng.random_range(0.0..1.0) {
        p if p < 0.55 => 1,
        p if p < 0.9 => 2,
        _ => 3,
    };
    let base = random_panel(rng);
    let mut panels = Vec::with_capacity(n_panels);
    let mut dip_offset = 0.0;
    for k in 0..n_panels {
        let mut panel = if k == 0 {
            base.clone()
        } else {
            // Neighbouring panels share the seam and overburden; only the size differs.
            Panel {
                length_m: rng.random_range(200.0..2000.0),
                width_m: rng.random_range(100.0..300.0),
                ..base.clone()
            }
        };
        panel.depth_m = (panel.depth_m + rng.random_range(-30.0..30.0)).max(150.0);
        let active = k == 0 || rng.random_bool(0.4);
        let face = if active {
            active_face(rng, &panel, span_days)
        } else {
            settling_face(rng, &panel, span_days)
        };
        let target = if active {
            log_uniform(rng, LOS_RANGE_M.0, LOS_RANGE_M.1)
        } else {
            let first: Option<&(PlacedPanel, f64, f64)> = panels.first();
            first.map_or(LOS_RANGE_M.0, |p| p.0.target_los_m) * rng.random_range(0.1..0.5)
        };
        let stagger = rng.random_range(-0.3..0.3) * panel.length_m;
        let placed = PlacedPanel {
            panel,
            face,
            origin_m: (0.0, 0.0),
            strike_deg,
            target_los_m: target,
            mine_id,
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
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn panel_frame_round_trips() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mine = random_mine(&mut rng, (1000.0, -2000.0), 0, 12.0);
        for p in &mine {
            let (e, n) = p.to_ground(123.0, -45.0);
            let (x, y) = p.to_panel(e, n);
            assert!((x - 123.0).abs() < 1e-9 && (y + 45.0).abs() < 1e-9);
        }
    }

    #[test]
    fn strike_axis_follows_azimuth() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut p = random_mine(&mut rng, (0.0, 0.0), 0, 12.0).remove(0);
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
            let mine = random_mine(&mut rng, (0.0, 0.0), 0, 24.0);
            for pair in mine.windows(2) {
                // Offsets along dip of the two start corners, in the first panel's frame.
                let (_, y1) = pair[0].to_panel(pair[1].origin_m.0, pair[1].origin_m.1);
                assert!(y1 >= pair[0].panel.width_m + 10.0 - 1e-6, "gap {y1}");
            }
        }
    }
}

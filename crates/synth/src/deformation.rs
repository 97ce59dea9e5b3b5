//! LOS deformation of placed panels on the pixel grid: each panel renders into its own
//! patch (its footprint, clipped to the area), from which labels and the total field
//! are made.

use crate::geometry::{Viewing, pixel_to_ground, project_los};
use crate::layout::PlacedPanel;
use crate::pim::{Profile, dip_profile, displacement, dynamic_strike_profile};
use rayon::prelude::*;

/// A panel's LOS deformation (m, positive towards the satellite) over a pixel rectangle
/// of the area.
#[derive(Clone, Debug)]
pub struct Patch {
    pub x0: usize,
    pub y0: usize,
    pub w: usize,
    pub h: usize,
    pub los: Vec<f32>,
}

impl Patch {
    /// LOS at area pixel (c, r), zero outside the patch.
    pub fn at(&self, c: usize, r: usize) -> f32 {
        if c < self.x0 || r < self.y0 || c >= self.x0 + self.w || r >= self.y0 + self.h {
            0.0
        } else {
            self.los[(r - self.y0) * self.w + (c - self.x0)]
        }
    }

    /// Adds the patch into a full-area field of width `area_w`.
    pub fn add_into(&self, field: &mut [f32], area_w: usize) {
        for r in 0..self.h {
            let dst = &mut field[(self.y0 + r) * area_w + self.x0..][..self.w];
            for (d, s) in dst.iter_mut().zip(&self.los[r * self.w..(r + 1) * self.w]) {
                *d += s;
            }
        }
    }
}

/// Profiles and scale of one panel's developing basin.
struct PanelModel<'a> {
    placed: &'a PlacedPanel,
    strike: Profile,
    dip: Profile,
    /// The final W0 = m·q·cos α: the strike profile holds the Knothe fraction of the final
    /// subsidence that develops during the interferogram, so the physics sets the strength.
    amplitude: f64,
    los: [f64; 3],
    /// Strike and dip unit vectors (east, north), cached: evaluated for every pixel.
    axes: ((f64, f64), (f64, f64)),
}

impl<'a> PanelModel<'a> {
    fn new(placed: &'a PlacedPanel, view: &Viewing) -> Self {
        Self {
            placed,
            strike: dynamic_strike_profile(&placed.panel, &placed.face),
            dip: dip_profile(&placed.panel),
            amplitude: placed.panel.w0(),
            los: view.los(),
            axes: placed.axes(),
        }
    }

    /// Largest vertical subsidence that develops during the interferogram (m).
    fn developed_subsidence(&self) -> f64 {
        self.amplitude * self.strike.max() * self.dip.max()
    }

    fn los_at(&self, e: f64, n: f64) -> f64 {
        let ((ax, ay), (bx, by)) = self.axes;
        let (de, dn) = (e - self.placed.origin_m.0, n - self.placed.origin_m.1);
        let (x, y) = (de * ax + dn * ay, de * bx + dn * by);
        let p = &self.placed.panel;
        let r = p.radius();
        let [ux, uy, up] = displacement(&self.strike, &self.dip, self.amplitude, r, p.b, x, y);
        let d = [ux * ax + uy * bx, ux * ay + uy * by, up];
        project_los(&self.los, &d)
    }

    /// Peak |LOS| over a fine grid of the footprint, independent of the pixel grid (and
    /// of any clipping to the area).
    fn peak_abs_los(&self) -> f64 {
        let ((xa, xb), (ya, yb)) = (self.strike.span(), self.dip.span());
        let n = 120;
        let mut peak = 0.0f64;
        for i in 0..=n {
            let x = xa + (xb - xa) * i as f64 / n as f64;
            for j in 0..=n {
                let y = ya + (yb - ya) * j as f64 / n as f64;
                let (e, nn) = self.placed.to_ground(x, y);
                peak = peak.max(self.los_at(e, nn).abs());
            }
        }
        peak
    }

    /// Pixel rectangle covering the footprint, clipped to the area; None if outside.
    fn pixel_box(
        &self,
        view: &Viewing,
        w: usize,
        h: usize,
    ) -> Option<(usize, usize, usize, usize)> {
        let ((xa, xb), (ya, yb)) = (self.strike.span(), self.dip.span());
        let corners = [(xa, ya), (xa, yb), (xb, ya), (xb, yb)];
        let (mut cmin, mut cmax, mut rmin, mut rmax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in corners {
            let (e, n) = self.placed.to_ground(x, y);
            let (c, r) = (e / view.dx_m, -n / view.dy_m);
            cmin = cmin.min(c);
            cmax = cmax.max(c);
            rmin = rmin.min(r);
            rmax = rmax.max(r);
        }
        let c0 = cmin.floor().max(0.0) as usize;
        let r0 = rmin.floor().max(0.0) as usize;
        let c1 = (cmax.ceil().min(w as f64)).max(0.0) as usize;
        let r1 = (rmax.ceil().min(h as f64)).max(0.0) as usize;
        (c1 > c0 && r1 > r0).then(|| (c0, r0, c1 - c0, r1 - r0))
    }
}

/// Renders a panel's LOS deformation over its footprint within a `w × h` area.
pub fn render_panel(placed: &PlacedPanel, view: &Viewing, w: usize, h: usize) -> Option<Patch> {
    render_panel_with_amplitude(placed, view, w, h).0
}

/// Peak |LOS| deformation (m) of a panel alone during the interferogram, from its physics
/// (final W0, Knothe development over the time span, influence radius, geometry), sampled
/// on a fine grid of its footprint independent of any pixel grid.
pub fn peak_los(placed: &PlacedPanel, view: &Viewing) -> f64 {
    PanelModel::new(placed, view).peak_abs_los()
}

/// [`render_panel`], and the largest vertical subsidence (m) that develops in the span.
pub fn render_panel_with_amplitude(
    placed: &PlacedPanel,
    view: &Viewing,
    w: usize,
    h: usize,
) -> (Option<Patch>, f64) {
    let model = PanelModel::new(placed, view);
    let amplitude = model.developed_subsidence();
    let Some((x0, y0, pw, ph)) = model.pixel_box(view, w, h) else {
        return (None, amplitude);
    };
    let mut los = vec![0.0f32; pw * ph];
    los.par_chunks_mut(pw).enumerate().for_each(|(r, row)| {
        for (c, v) in row.iter_mut().enumerate() {
            let (e, n) = pixel_to_ground((x0 + c) as f64, (y0 + r) as f64, view.dx_m, view.dy_m);
            *v = model.los_at(e, n) as f32;
        }
    });
    let patch = Patch {
        x0,
        y0,
        w: pw,
        h: ph,
        los,
    };
    (Some(patch), amplitude)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Orbit;
    use crate::pim::{FaceHistory, Panel};

    fn view() -> Viewing {
        Viewing {
            orbit: Orbit::Ascending,
            heading_deg: -10.0,
            incidence_deg: 39.0,
            dx_m: 18.5,
            dy_m: 13.9,
            bperp_m: 50.0,
            span_days: 12.0,
        }
    }

    fn placed() -> PlacedPanel {
        let panel = Panel {
            length_m: 900.0,
            width_m: 200.0,
            depth_m: 400.0,
            thickness_m: 3.0,
            q: 0.8,
            tan_beta: 2.0,
            b: 0.3,
            dip_deg: 5.0,
            offset_frac: 0.1,
        };
        PlacedPanel {
            panel,
            face: FaceHistory {
                face_start_m: 500.0,
                advance_m_per_day: 5.0,
                knothe_c_per_day: 0.03,
                span_days: 12.0,
            },
            origin_m: (1500.0, -1500.0),
            strike_deg: 30.0,
            peak_los_m: 0.0,
            mine_id: 0,
        }
    }

    #[test]
    fn rendered_peak_matches_the_physical_peak_and_sinks() {
        let p = placed();
        let peak = peak_los(&p, &view());
        let patch = render_panel(&p, &view(), 400, 400).expect("inside the area");
        let min = patch.los.iter().cloned().fold(f32::MAX, f32::min);
        // Subsidence moves the ground away from the satellite: negative LOS at the trough,
        // within a pixel's sampling of the peak.
        assert!(
            (min as f64 + peak).abs() < 0.05 * peak,
            "min {min}, peak {peak}"
        );
        // Edges of the footprint are quiet.
        assert!(patch.los[0].abs() < 1e-4);
    }

    /// An interferogram spanning a supercritical panel's whole life shows its final W0 at
    /// the centre: the Knothe development is complete and the PIM peak is W0 = m·q·cos α.
    #[test]
    fn a_whole_life_interferogram_shows_the_final_w0() {
        let mut p = placed();
        p.panel.length_m = 3000.0;
        p.panel.width_m = 1500.0;
        p.panel.depth_m = 200.0;
        p.panel.dip_deg = 0.0;
        p.face = FaceHistory {
            face_start_m: 0.0,
            advance_m_per_day: 10.0,
            knothe_c_per_day: 0.05,
            span_days: 5000.0,
        };
        let (_, developed) = render_panel_with_amplitude(&p, &view(), 10, 10);
        let w0 = p.panel.w0();
        assert!((developed - w0).abs() < 0.01 * w0, "{developed} vs {w0}");
    }

    /// The developed subsidence never exceeds the final W0, and a deep, narrow panel shows
    /// a fainter basin than a shallow, wide one with the same seam and face.
    #[test]
    fn depth_and_width_set_the_strength() {
        let shallow = placed();
        let mut deep = placed();
        deep.panel.depth_m = 1000.0;
        deep.panel.width_m = 100.0;
        let v = view();
        let (a, b) = (peak_los(&shallow, &v), peak_los(&deep, &v));
        assert!(b < 0.3 * a, "deep {b} vs shallow {a}");
        for p in [&shallow, &deep] {
            let (_, developed) = render_panel_with_amplitude(p, &v, 10, 10);
            assert!(developed > 0.0 && developed <= p.panel.w0());
        }
    }

    #[test]
    fn footprint_outside_the_area_renders_nothing() {
        let mut p = placed();
        p.origin_m = (1e6, -1e6);
        assert!(render_panel(&p, &view(), 100, 100).is_none());
    }

    /// Whatever the draw, no panel develops more subsidence in the span than its final W0
    /// (the strength comes from the physics, not from a target it is scaled to).
    #[test]
    fn no_random_panel_exceeds_its_final_w0() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for i in 0..150 {
            let v = Viewing {
                span_days: [12.0, 24.0, 36.0, 48.0][i % 4],
                ..view()
            };
            for p in crate::layout::random_mine(&mut rng, (0.0, 0.0), i, &v) {
                let (_, developed) = render_panel_with_amplitude(&p, &v, 4, 4);
                assert!(
                    developed <= p.panel.w0() + 1e-12,
                    "{developed} > {}",
                    p.panel.w0()
                );
                assert!(
                    p.peak_los_m <= developed * 1.5 + 1e-12,
                    "LOS beyond its subsidence"
                );
            }
        }
    }
}

//! Simulation of one area (a tile with its margin, or a whole scene): basins, labels,
//! nuisance phase, coherence, decorrelation noise and optional Goldstein filtering.

use crate::coherence::{CoherenceRecord, apply_gradient_loss, background, phase_gradient};
use crate::conditions::{Conditions, SUMMER_SHARE, Weather};
use crate::deformation::{Patch, render_panel_with_amplitude};
use crate::field::smooth_grid;
use crate::geometry::{Looks, Orbit, Viewing};
use crate::labels::{PixBox, Window, group_mask, group_panels, make_labels};
use crate::layout::{PlacedPanel, random_mine};
use crate::noise::{LookSampler, estimate_coherence};
use crate::nuisance::{
    NuisanceMix, NuisanceRecord, local_blobs, poisson, smooth_phase, streak_texture, synth_dem,
};
use crate::rng::{derive, stream};
use insar::{GoldsteinParams, S1_WAVELENGTH, goldstein};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Phase gradient (rad/pixel) beyond which fringes cannot be followed: the multilook
/// coherence drops below ~0.6 and neighbouring samples alias.
pub const DECORRELATED_GRADIENT: f32 = 2.5;

/// Peak |LOS| (m) a basin needs inside the window to be kept: λ/8, a quarter fringe (π/2
/// of phase). Fainter remnants (the far flank of a basin centred outside the tile) would
/// be lost in noise and atmosphere; they are removed rather than labelled.
pub const MIN_VISIBLE_PEAK_M: f64 = S1_WAVELENGTH / 8.0;

/// Orbit choice of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrbitChoice {
    Asc,
    Desc,
    Random,
}

/// How many mines an area holds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MineLayout {
    /// A tile: 1–4 mines placed over the window and a margin around it (so some basins are
    /// cut by the edge); none for a pure negative.
    Tile { negative: bool },
    /// A whole scene: 2–4 coalfields of Poisson(10) mines each, 8–15 km across.
    Scene,
}

/// Everything that defines one simulated area (besides its seed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AreaConfig {
    /// Labelled window size (pixels).
    pub w: usize,
    pub h: usize,
    /// Margin simulated around the window and cropped away (keeps the filter honest at
    /// the edges and lets basins continue beyond the window).
    pub pad: usize,
    pub looks: Looks,
    pub orbit: OrbitChoice,
    pub layout: MineLayout,
    /// Probability that this area is Goldstein-filtered.
    pub filtered_fraction: f64,
    /// |LOS| (m) from which a basin's own deformation counts as visible (label box).
    pub label_threshold_m: f64,
    /// Smallest labelled box side (pixels); smaller visible groups are removed.
    pub min_box_px: usize,
    /// Conditions fixed for this area (the rest are drawn).
    pub conditions: Conditions,
}

/// One labelled basin of an area, in window pixels.
#[derive(Clone, Debug, Serialize)]
pub struct Basin {
    pub bbox: PixBox,
    /// Box at half a fringe (λ/4), if any pixel reaches it.
    pub bbox_half_fringe: Option<PixBox>,
    pub max_abs_los_m: f32,
    pub truncated: bool,
    /// Indices into [`SimArea::panels`].
    pub panels: Vec<usize>,
    /// More than a third of the basin's core (|LOS| ≥ half its peak) has fringes steeper
    /// than [`DECORRELATED_GRADIENT`]: noise there, whatever the background coherence.
    pub decorrelated_centre: bool,
}

/// Goldstein settings used on a filtered area.
#[derive(Clone, Debug, Serialize)]
pub struct FilterRecord {
    pub alpha: f32,
    pub patch: usize,
    pub step: usize,
}

/// A simulated area, cropped to its window.
#[derive(Clone, Debug)]
pub struct SimArea {
    pub w: usize,
    pub h: usize,
    /// Wrapped phase (rad), as a user sees it (filtered or not).
    pub phase: Vec<f32>,
    /// Coherence estimated from the unfiltered interferogram (3 × 3 window).
    pub coherence: Vec<f32>,
    /// True LOS deformation of the basins only (m, positive towards the satellite).
    pub los: Vec<f32>,
    pub basins: Vec<Basin>,
    pub panels: Vec<PlacedPanel>,
    /// Largest vertical subsidence that develops in each panel's basin during the
    /// interferogram (m); at most the panel's final W0.
    pub panel_amplitude_m: Vec<f64>,
    pub viewing: Viewing,
    pub filter: Option<FilterRecord>,
    pub nuisance: NuisanceRecord,
    pub coherence_record: CoherenceRecord,
}

impl SimArea {
    /// The area's facts without its rasters and basins (for a window cut from it).
    pub fn clone_facts(&self) -> SimArea {
        SimArea {
            w: 0,
            h: 0,
            phase: Vec::new(),
            coherence: Vec::new(),
            los: Vec::new(),
            basins: Vec::new(),
            panels: self.panels.clone(),
            panel_amplitude_m: self.panel_amplitude_m.clone(),
            viewing: self.viewing.clone(),
            filter: self.filter.clone(),
            nuisance: self.nuisance.clone(),
            coherence_record: self.coherence_record.clone(),
        }
    }
}

/// Draws the viewing geometry: S1 heading ±2°, incidence 30–46° (IW swath), spacing of
/// the multilook at that incidence, B⊥ ~ N(0, 70 m) within ±200 m, and a 12–48 day span.
pub fn random_viewing<R: Rng>(rng: &mut R, looks: Looks, orbit: OrbitChoice) -> Viewing {
    let orbit = match orbit {
        OrbitChoice::Asc => Orbit::Ascending,
        OrbitChoice::Desc => Orbit::Descending,
        OrbitChoice::Random => {
            if rng.random_bool(0.5) {
                Orbit::Ascending
            } else {
                Orbit::Descending
            }
        }
    };
    let incidence = rng.random_range(30.0..46.0);
    let (dx, dy) = looks.spacing(incidence);
    let z: f64 = rng.sample(rand_distr::StandardNormal);
    let span = match rng.random_range(0.0..1.0) {
        p if p < 0.5 => 12.0,
        p if p < 0.75 => 24.0,
        p if p < 0.9 => 36.0,
        _ => 48.0,
    };
    Viewing {
        orbit,
        heading_deg: orbit.nominal_heading_deg() + rng.random_range(-2.0..2.0),
        incidence_deg: incidence,
        dx_m: dx,
        dy_m: dy,
        bperp_m: (70.0 * z).clamp(-200.0, 200.0),
        span_days: span,
    }
}

/// Mine centres (ground m, area frame) for the layout.
fn mine_centres<R: Rng>(rng: &mut R, cfg: &AreaConfig, view: &Viewing) -> Vec<(f64, f64)> {
    let (dx, dy) = (view.dx_m, view.dy_m);
    let mut centres: Vec<(f64, f64)> = Vec::new();
    let place = |rng: &mut R, c: f64, r: f64, centres: &mut Vec<(f64, f64)>| {
        let p = (c * dx, -r * dy);
        // Mines rarely sit on top of each other; keep ~30 % of the close calls so some
        // basins of different mines overlap.
        let crowded = centres
            .iter()
            .any(|q| (q.0 - p.0).hypot(q.1 - p.1) < 1500.0);
        if !crowded || rng.random_bool(0.3) {
            centres.push(p);
        }
    };
    if cfg.conditions.mines == Some(false) {
        return centres;
    }
    match cfg.layout {
        MineLayout::Tile { negative: true } => {}
        MineLayout::Tile { negative: false } => {
            let n = match rng.random_range(0.0..1.0) {
                p if p < 0.45 => 1,
                p if p < 0.8 => 2,
                p if p < 0.95 => 3,
                _ => 4,
            };
            // Window plus a margin of 12 % of its size on each side.
            let (mx, my) = (0.12 * cfg.w as f64, 0.12 * cfg.h as f64);
            for _ in 0..n {
                let c = cfg.pad as f64 + rng.random_range(-mx..cfg.w as f64 + mx);
                let r = cfg.pad as f64 + rng.random_range(-my..cfg.h as f64 + my);
                place(rng, c, r, &mut centres);
            }
        }
        MineLayout::Scene => {
            let (aw, ah) = ((cfg.w + 2 * cfg.pad) as f64, (cfg.h + 2 * cfg.pad) as f64);
            let fields = rng.random_range(2..=4);
            let area_frac = (aw * dx * ah * dy / (148e3 * 111e3)).clamp(0.01, 1.0);
            for _ in 0..fields {
                let (fc, fr) = (
                    rng.random_range(0.1..0.9) * aw,
                    rng.random_range(0.1..0.9) * ah,
                );
                let sigma_m = rng.random_range(4000.0..7500.0) * area_frac.sqrt().max(0.2);
                let n = poisson(rng, 10.0 * area_frac.max(0.3));
                for _ in 0..n {
                    let (zx, zy): (f64, f64) = (
                        rng.sample(rand_distr::StandardNormal),
                        rng.sample(rand_distr::StandardNormal),
                    );
                    let c = fc + zx * sigma_m / dx;
                    let r = fr + zy * sigma_m / dy;
                    if c >= 0.0 && r >= 0.0 && c < aw && r < ah {
                        place(rng, c, r, &mut centres);
                    }
                }
            }
        }
    }
    centres
}

/// Interferometric phase (rad, unwrapped) of a LOS displacement, the project's convention
/// (`insar::los_to_phase`: −4π d/λ, Sentinel-1 C band).
pub fn deformation_phase(d_m: f32) -> f32 {
    insar::los_to_phase(d_m as f64, S1_WAVELENGTH) as f32
}

/// Simulates one area from its seed.
pub fn simulate(cfg: &AreaConfig, seed: u64) -> SimArea {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fixed = &cfg.conditions;
    let mut view = random_viewing(&mut rng, cfg.looks, cfg.orbit);
    if let Some(days) = fixed.span_days {
        view.span_days = days;
    }
    let weather = fixed.weather.unwrap_or_else(|| {
        if rng.random_bool(SUMMER_SHARE) {
            Weather::Summer
        } else {
            Weather::Winter
        }
    });
    let (aw, ah) = (cfg.w + 2 * cfg.pad, cfg.h + 2 * cfg.pad);
    let win = Window {
        x0: cfg.pad,
        y0: cfg.pad,
        w: cfg.w,
        h: cfg.h,
    };
    let negative = matches!(cfg.layout, MineLayout::Tile { negative: true });

    let thr = cfg.label_threshold_m as f32;
    let min_peak = (MIN_VISIBLE_PEAK_M as f32).max(thr);
    // A positive tile whose mines all fell outside or too faint is redrawn (a few times),
    // so the share of pure negatives stays the configured one.
    let mut attempt = 0;
    let (panels, mut patches, amplitudes, labels, tiny) = loop {
        let panels: Vec<PlacedPanel> = mine_centres(&mut rng, cfg, &view)
            .into_iter()
            .enumerate()
            .flat_map(|(id, c)| random_mine(&mut rng, c, id, &view))
            .collect();
        let (patches, amplitudes): (Vec<Option<Patch>>, Vec<f64>) = panels
            .par_iter()
            .map(|p| render_panel_with_amplitude(p, &view, aw, ah))
            .unzip();
        let (labels, tiny) = make_labels(
            group_panels(&patches, win, thr),
            win,
            cfg.min_box_px,
            min_peak,
        );
        attempt += 1;
        let retry = matches!(cfg.layout, MineLayout::Tile { negative: false })
            && labels.is_empty()
            && attempt < 8;
        if !retry {
            break (panels, patches, amplitudes, labels, tiny);
        }
    };
    // Too small or too faint to label: remove it from the simulation altogether, so that
    // nothing visible goes unlabelled.
    for i in tiny.into_iter().flatten() {
        patches[i] = None;
    }
    let half = (S1_WAVELENGTH / 4.0) as f32;
    let mut los = vec![0.0f32; aw * ah];
    for p in patches.iter().flatten() {
        p.add_into(&mut los, aw);
    }

    // Nuisance phase.
    let mix = NuisanceMix {
        hard_negative_boost: negative,
        weather,
        strong_strat: fixed.relief,
        ramp_fringes_per_10km: fixed.ramp_fringes_per_10km,
    };
    let mut rec = NuisanceRecord::default();
    let grid = smooth_grid(aw, ah);
    let (gdx, gdy) = (
        view.dx_m * aw as f64 / grid.0 as f64,
        view.dy_m * ah as f64 / grid.1 as f64,
    );
    let hills = rng.random_bool(if negative { 0.5 } else { 0.3 });
    let hills = fixed.relief.unwrap_or(hills);
    let (dem, hill_h) = synth_dem(&mut rng, grid, gdx, gdy, hills);
    rec.hill_height_m = hill_h;
    let smooth = smooth_phase(&mut rng, &dem, &view, mix, &mut rec);
    let texture = streak_texture(&mut rng, aw, ah, view.dx_m, view.dy_m, &mut rec);
    let blobs = local_blobs(&mut rng, aw, ah, &view, S1_WAVELENGTH, mix, &mut rec);

    // Whole scenes are tens of millions of pixels: every full-size pass runs on all cores
    // (row by row, so the result does not depend on the thread count), and the smooth
    // nuisance fields are resampled row by row instead of held at full resolution.
    let defo: Vec<f32> = los.par_iter().map(|&d| deformation_phase(d)).collect();
    let (smooth_rs, texture_rs) = (smooth.resampler(aw, ah), texture.resampler(aw, ah));
    let mut phase = vec![0.0f32; aw * ah];
    phase
        .par_chunks_mut(aw.max(1))
        .zip(defo.par_chunks(aw.max(1)))
        .enumerate()
        .for_each_init(
            || (vec![0.0f32; aw], smooth_rs.scratch(), texture_rs.scratch()),
            |(row, s_tmp, t_tmp), (r, (out, d))| {
                smooth_rs.row(r, s_tmp, out);
                texture_rs.row(r, t_tmp, row);
                for ((o, &t), &d) in out.iter_mut().zip(row.iter()).zip(d) {
                    *o = d + *o + t;
                }
            },
        );
    for b in &blobs {
        b.add_into(&mut phase, aw, ah);
    }

    // Coherence and noise.
    let mut crec = CoherenceRecord::default();
    let mut gamma = background(
        &mut rng,
        (aw, ah),
        (view.dx_m, view.dy_m),
        &dem,
        negative,
        fixed.coherence,
        &mut crec,
    );
    let gradient = phase_gradient(&defo, aw, ah);
    apply_gradient_loss(&mut gamma, &gradient);
    let sampler = LookSampler::new(cfg.looks.count() as f64);
    // One RNG stream per row: the draws do not depend on how rows are spread over threads.
    // The moments are kept as planes, so the cross moment goes to the filter as it is.
    let n = aw * ah;
    let (mut p1, mut p2) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut cross = vec![num_complex::Complex32::new(0.0, 0.0); n];
    let row = aw.max(1);
    (
        p1.par_chunks_mut(row),
        p2.par_chunks_mut(row),
        cross.par_chunks_mut(row),
    )
        .into_par_iter()
        .enumerate()
        .for_each(|(r, (a, b, x))| {
            let mut rr = ChaCha8Rng::seed_from_u64(derive(seed, stream::NOISE_ROW, r as u64));
            for c in 0..a.len() {
                let i = r * aw + c;
                let m = sampler.sample(&mut rr, gamma[i], phase[i]);
                (a[c], b[c], x[c]) = (m.p1, m.p2, m.cross);
            }
        });
    let filtered = rng.random_bool(cfg.filtered_fraction.clamp(0.0, 1.0));
    let filtered = fixed.filtered.unwrap_or(filtered);
    // Window steps differ between processors and users: a quarter or a half of the
    // 32-px window; the filtered fringes look alike.
    let filter = filtered.then(|| FilterRecord {
        alpha: rng.random_range(0.5..1.0),
        patch: 32,
        step: if rng.random_bool(0.5) { 8 } else { 16 },
    });
    drop((phase, gamma));
    let out_phase: Vec<f32> = match &filter {
        Some(f) => {
            let p = GoldsteinParams {
                alpha: f.alpha,
                patch: f.patch,
                step: f.step,
                smooth: 3,
            };
            goldstein(&cross, aw, ah, &p)
                .par_iter()
                .map(|z| insar::fast_arg(z.re, z.im))
                .collect()
        }
        None => cross
            .par_iter()
            .map(|z| insar::fast_arg(z.re, z.im))
            .collect(),
    };
    let coh = estimate_coherence(&p1, &p2, &cross, aw, ah, 1);
    drop((p1, p2, cross));

    // Labels with their facts.
    let basins = labels
        .into_iter()
        .map(|l| {
            let hm = group_mask(&patches, &l.members, win, half);
            let core: Vec<_> = {
                let m = group_mask(&patches, &l.members, win, 0.5 * l.max_abs_los_m);
                m.pixels
            };
            let low = core
                .iter()
                .filter(|&&(c, r, _)| {
                    gradient[(r + win.y0) * aw + c + win.x0] > DECORRELATED_GRADIENT
                })
                .count();
            Basin {
                bbox: l.bbox,
                bbox_half_fringe: hm.bbox,
                max_abs_los_m: l.max_abs_los_m,
                truncated: l.truncated,
                panels: l.members,
                decorrelated_centre: !core.is_empty() && low * 3 > core.len(),
            }
        })
        .collect();
    let crop = |v: Vec<f32>| -> Vec<f32> {
        if (win.x0, win.y0, cfg.w, cfg.h) == (0, 0, aw, ah) {
            return v;
        }
        (0..cfg.h)
            .flat_map(|r| v[(r + win.y0) * aw + win.x0..][..cfg.w].iter().copied())
            .collect()
    };
    SimArea {
        w: cfg.w,
        h: cfg.h,
        phase: crop(out_phase),
        coherence: crop(coh),
        los: crop(los),
        basins,
        panels,
        panel_amplitude_m: amplitudes,
        viewing: view,
        filter,
        nuisance: rec,
        coherence_record: crec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deformation::render_panel;

    fn cfg(negative: bool) -> AreaConfig {
        AreaConfig {
            w: 128,
            h: 128,
            pad: 16,
            looks: Looks::default(),
            orbit: OrbitChoice::Random,
            layout: MineLayout::Tile { negative },
            filtered_fraction: 0.5,
            label_threshold_m: S1_WAVELENGTH / 16.0,
            min_box_px: 8,
            conditions: Conditions::default(),
        }
    }

    /// Every label box holds all its basin's visible pixels, and no pixel is visible in two
    /// basins (bowls that meet are one basin), checked against the panels re-rendered
    /// independently of the labeller.
    #[test]
    fn boxes_hold_their_basin_and_nothing_else() {
        for seed in 0..12u64 {
            let c = cfg(false);
            let a = simulate(&c, seed);
            let thr = c.label_threshold_m as f32;
            let (aw, ah) = (c.w + 2 * c.pad, c.h + 2 * c.pad);
            let own: Vec<Vec<f32>> = a
                .basins
                .iter()
                .map(|b| {
                    let mut f = vec![0.0f32; aw * ah];
                    for &i in &b.panels {
                        if let Some(p) = render_panel(&a.panels[i], &a.viewing, aw, ah) {
                            p.add_into(&mut f, aw);
                        }
                    }
                    f
                })
                .collect();
            for r in 0..c.h {
                for col in 0..c.w {
                    let visible: Vec<usize> = own
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f[(r + c.pad) * aw + col + c.pad].abs() >= thr)
                        .map(|(i, _)| i)
                        .collect();
                    assert!(
                        visible.len() <= 1,
                        "seed {seed}: ({col},{r}) in {visible:?}"
                    );
                    for &bi in &visible {
                        assert!(
                            a.basins[bi].bbox.contains(col, r),
                            "seed {seed}: pixel ({col},{r}) outside its box"
                        );
                    }
                }
            }
            for b in &a.basins {
                assert!(b.bbox.width() >= 8 && b.bbox.height() >= 8);
            }
            // The truth raster is the sum of the labelled basins (tiny ones were removed,
            // sub-threshold ones may add a little).
            assert_eq!(a.los.len(), c.w * c.h);
        }
    }

    #[test]
    fn half_a_wavelength_of_los_is_one_full_cycle() {
        // Two-way path: λ/2 of motion changes the range by λ, i.e. 2π of phase.
        let d = (S1_WAVELENGTH / 2.0) as f32;
        let phi = deformation_phase(d);
        assert!(
            (phi.abs() - 2.0 * std::f32::consts::PI).abs() < 1e-5,
            "{phi}"
        );
        // Motion towards the satellite shortens the path: negative phase.
        assert!(phi < 0.0);
        // A constant field of λ/2 wraps to zero everywhere (one whole fringe).
        assert!(insar::wrap(phi).abs() < 1e-5);
        assert!(
            (insar::los_to_phase(S1_WAVELENGTH / 2.0, S1_WAVELENGTH).abs()
                - 2.0 * std::f64::consts::PI)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn negatives_have_no_basins_and_outputs_are_sane() {
        let a = simulate(&cfg(true), 3);
        assert!(a.basins.is_empty());
        assert!(a.los.iter().all(|&v| v == 0.0));
        assert!(
            a.phase
                .iter()
                .all(|p| p.abs() <= std::f32::consts::PI + 1e-6)
        );
        assert!(a.coherence.iter().all(|&g| (0.0..=1.0).contains(&g)));
    }

    #[test]
    fn same_seed_same_area_any_thread_count() {
        let c = cfg(false);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool")
                .install(|| simulate(&c, 42))
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.phase, b.phase);
        assert_eq!(a.coherence, b.coherence);
        assert_eq!(a.los, b.los);
    }
}

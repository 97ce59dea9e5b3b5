//! Everything in the phase that is not a mining basin: a synthetic DEM, tropospheric
//! turbulence and stratification, orbit ramp, DEM-error texture, and the hard negatives
//! (convective bull's-eyes, groundwater bowls, topographic fringes, spoil heaps).
//!
//! Smooth parts are synthesised on a coarse grid and resampled; local features are
//! evaluated analytically at full resolution.

use crate::conditions::Weather;
use crate::field::{Field, broken_power_law, coarse_dims, spectral_field};
use crate::geometry::Viewing;
use crate::layout::log_uniform;
use rand::Rng;
use serde::Serialize;
use std::f64::consts::PI;

/// What was drawn for one area (recorded in the manifest and annotations).
#[derive(Clone, Debug, Default, Serialize)]
pub struct NuisanceRecord {
    pub weather: Option<Weather>,
    /// RMS phase difference of the turbulence at 5 km lag (rad).
    pub turbulence_rms_5km_rad: f64,
    /// Stratified delay coefficient (rad per metre of height).
    pub strat_rad_per_m: f64,
    /// Orbit ramp (fringes per 10 km).
    pub ramp_fringes_per_10km: f64,
    /// Std of the DEM-error streak texture (rad).
    pub texture_std_rad: f64,
    /// Highest hill (m above the plain).
    pub hill_height_m: f64,
    pub bullseyes: usize,
    /// Summer convective cells of one or two fringes.
    pub convective_cells: usize,
    pub groundwater_bowls: usize,
    pub spoil_heaps: usize,
}

/// What shapes an area's nuisance: more look-alikes (pure negative tiles), the weather,
/// and conditions fixed by the caller (drawn when `None`).
#[derive(Clone, Copy, Debug)]
pub struct NuisanceMix {
    pub hard_negative_boost: bool,
    pub weather: Weather,
    /// Strong stratified delay (topographic fringes) or weak.
    pub strong_strat: Option<bool>,
    pub ramp_fringes_per_10km: Option<f64>,
}

impl NuisanceMix {
    /// Random conditions of a basin-centred tile or a scene.
    pub fn plain(weather: Weather) -> Self {
        Self {
            hard_negative_boost: false,
            weather,
            strong_strat: None,
            ramp_fringes_per_10km: None,
        }
    }
}

/// A synthetic DEM on the coarse grid: a plain of 30–60 m with gentle relief, and (in a
/// share of areas) hills rising up to 80–400 m.
pub fn synth_dem<R: Rng>(
    rng: &mut R,
    grid: (usize, usize),
    dx: f64,
    dy: f64,
    hills: bool,
) -> (Field, f64) {
    let (gw, gh) = grid;
    let mut plain = spectral_field(gw, gh, dx, dy, 1.3, rng, |kx, ky| {
        broken_power_law((kx * kx + ky * ky).sqrt(), 1.0 / 3000.0, 3.0, 3.0, 1e-5)
    });
    let s = plain.std_dev().max(1e-12);
    plain.scale(rng.random_range(1.0..5.0) / s);
    let base = rng.random_range(30.0..60.0) as f32;
    plain.data.iter_mut().for_each(|v| *v += base);
    if !hills {
        return (plain, 0.0);
    }
    let mut f = spectral_field(gw, gh, dx, dy, 1.3, rng, |kx, ky| {
        broken_power_law((kx * kx + ky * ky).sqrt(), 1.0 / 4000.0, 3.4, 3.4, 1e-5)
    });
    let s = f.std_dev().max(1e-12);
    f.scale(1.0 / s);
    let t = rng.random_range(0.6..1.8) as f32;
    let peak = rng.random_range(80.0..400.0);
    let hmax = f.min_max().1 - t;
    if hmax <= 0.0 {
        return (plain, 0.0);
    }
    for (p, v) in plain.data.iter_mut().zip(&f.data) {
        let x = ((v - t) / hmax).max(0.0);
        *p += peak as f32 * x.powf(1.3);
    }
    (plain, peak)
}

/// Smooth phase on the coarse grid: turbulence, stratification against `dem`, orbit ramp
/// and groundwater bowls.
pub fn smooth_phase<R: Rng>(
    rng: &mut R,
    dem: &Field,
    view: &Viewing,
    mix: NuisanceMix,
    rec: &mut NuisanceRecord,
) -> Field {
    let (gw, gh, dx, dy) = (dem.w, dem.h, dem.dx, dem.dy);
    rec.weather = Some(mix.weather);
    // Winter: smooth delay of 1–2 fringes across 10–20 km. Summer: turbulent cells of
    // 1–5 km reaching about a fringe (the note: 0.5–2 cm rms over 10 km).
    let (cells_m, rms5) = match mix.weather {
        Weather::Winter => ((1500.0, 4000.0), (0.5, 3.5)),
        Weather::Summer => ((1000.0, 5000.0), (1.5, 4.5)),
    };
    let corner = 1.0 / rng.random_range(cells_m.0..cells_m.1);
    let mut turb = spectral_field(gw, gh, dx, dy, 1.5, rng, |kx, ky| {
        broken_power_law(
            (kx * kx + ky * ky).sqrt(),
            corner,
            8.0 / 3.0,
            11.0 / 3.0,
            1.0 / 100e3,
        )
    });
    // Calibrate at 5 km (or half the area when smaller, scaled by the −8/3 law's r^(2/3)).
    let extent = (gw as f64 * dx).min(gh as f64 * dy);
    let lag = (extent / 2.0).min(5000.0);
    let target5 = log_uniform(rng, rms5.0, rms5.1);
    let target = target5 * (lag / 5000.0).powf(2.0 / 3.0);
    let rms = turb.rms_difference(lag).max(1e-12);
    turb.scale(target / rms);
    rec.turbulence_rms_5km_rad = target5;

    // Stratification: usually weak on the plain, sometimes strong enough to draw
    // fringes that follow hill contours (a topographic look-alike).
    let strong = rng.random_bool(0.15) || (mix.hard_negative_boost && rng.random_bool(0.3));
    let k = if mix.strong_strat.unwrap_or(strong) {
        rng.random_range(0.006..0.025)
    } else {
        rng.random_range(0.0..0.006)
    } * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    rec.strat_rad_per_m = k;
    let mean_h = dem.data.iter().map(|&v| v as f64).sum::<f64>() / dem.data.len().max(1) as f64;

    let ramp = rng.random_range(0.0..1.5);
    let ramp = mix.ramp_fringes_per_10km.unwrap_or(ramp);
    rec.ramp_fringes_per_10km = ramp;
    let dir = rng.random_range(0.0..2.0 * PI);
    let g = ramp * 2.0 * PI / 10_000.0;
    let (gx, gy) = (g * dir.cos(), g * dir.sin());
    let quad = rng.random_range(-1.0..1.0) * 2.0 * PI / (50e3f64).powi(2);
    let (cx, cy) = (gw as f64 * dx / 2.0, gh as f64 * dy / 2.0);

    let bowls = groundwater_bowls(rng, gw as f64 * dx, gh as f64 * dy, mix);
    rec.groundwater_bowls = bowls.len();
    let _ = view;

    let mut out = turb;
    for r in 0..gh {
        for c in 0..gw {
            let (x, y) = ((c as f64 + 0.5) * dx - cx, (r as f64 + 0.5) * dy - cy);
            let i = r * gw + c;
            let mut v = out.data[i] as f64;
            v += k * (dem.data[i] as f64 - mean_h);
            v += gx * x + gy * y + quad * (x * x + y * y);
            for b in &bowls {
                v += b.eval(x + cx, y + cy);
            }
            out.data[i] = v as f32;
        }
    }
    out
}

/// A broad Gaussian bowl of slow subsidence (groundwater pumping): km wide, < 1 fringe/km.
#[derive(Clone, Debug)]
struct Bowl {
    cx: f64,
    cy: f64,
    sigma: f64,
    amp: f64,
}

impl Bowl {
    fn eval(&self, x: f64, y: f64) -> f64 {
        let d2 = (x - self.cx).powi(2) + (y - self.cy).powi(2);
        self.amp * (-d2 / (2.0 * self.sigma * self.sigma)).exp()
    }
}

fn groundwater_bowls<R: Rng>(rng: &mut R, ew: f64, eh: f64, mix: NuisanceMix) -> Vec<Bowl> {
    let p = if mix.hard_negative_boost { 0.45 } else { 0.15 };
    let n = usize::from(rng.random_bool(p)) + usize::from(rng.random_bool(p / 3.0));
    (0..n)
        .map(|_| {
            let sigma = rng.random_range(1200.0..5000.0);
            // Peak gradient of a Gaussian is A/(σ√e); keep it under 0.8 fringe/km.
            let gmax = 0.8 * 2.0 * PI / 1000.0;
            let amp = rng
                .random_range(1.0..6.0f64)
                .min(gmax * sigma * 1f64.exp().sqrt());
            Bowl {
                cx: rng.random_range(0.0..ew),
                cy: rng.random_range(0.0..eh),
                sigma,
                // Subsidence moves away from the satellite: phase of −4πd/λ, d < 0 → > 0.
                amp,
            }
        })
        .collect()
}

/// DEM-error streak texture on the area's own grid, or on at most 2048 per side for a
/// larger area (callers resample it): anisotropic, ridged, band-limited fractal noise with
/// a std of 0.04–0.18 rad (peaks 0.1–0.5 rad).
pub fn streak_texture<R: Rng>(
    rng: &mut R,
    w: usize,
    h: usize,
    dx: f64,
    dy: f64,
    rec: &mut NuisanceRecord,
) -> Field {
    let (gw, gh) = coarse_dims(w, h, 2048);
    let (gdx, gdy) = (dx * w as f64 / gw as f64, dy * h as f64 / gh as f64);
    let angle = rng.random_range(0.0..PI);
    let aspect = rng.random_range(1.5..6.0);
    let (ca, sa) = (angle.cos(), angle.sin());
    let hp = 1.0 / rng.random_range(600.0..2500.0);
    let beta = rng.random_range(2.6..3.6);
    let mut f = spectral_field(gw, gh, gdx, gdy, 1.0, rng, |kx, ky| {
        let (u, v) = (kx * ca + ky * sa, -kx * sa + ky * ca);
        let k = ((u * aspect).powi(2) + (v / aspect).powi(2)).sqrt();
        let high_pass = 1.0 - (-(k / hp).powi(2)).exp();
        (k.max(1e-6)).powf(-beta / 2.0) * high_pass
    });
    // Ridges: fold the field so zero crossings become sharp crests.
    let s = f.std_dev().max(1e-12) as f32;
    let ridged = rng.random_range(0.0..1.0) as f32;
    for v in f.data.iter_mut() {
        let x = *v / s;
        *v = (1.0 - ridged) * x + ridged * (1.0 - 2.0 * x.abs());
    }
    let s = f.std_dev().max(1e-12);
    let target = rng.random_range(0.04..0.18);
    rec.texture_std_rad = target;
    f.scale(target / s);
    let mean = f.data.iter().map(|&v| v as f64).sum::<f64>() / f.data.len() as f64;
    f.data.iter_mut().for_each(|v| *v -= mean as f32);
    f
}

/// A compact analytic phase feature evaluated at full resolution over its footprint.
#[derive(Clone, Debug)]
pub struct Blob {
    /// Centre (pixels).
    pub cx: f64,
    pub cy: f64,
    /// Semi-axes (pixels) and orientation (rad).
    pub ax: f64,
    pub ay: f64,
    pub angle: f64,
    /// Phase at the centre (rad).
    pub amp: f64,
    /// Profile: Gaussian (atmosphere) or cone (spoil heap).
    pub cone: bool,
}

impl Blob {
    fn eval(&self, c: f64, r: f64) -> f64 {
        let (dx, dy) = (c - self.cx, r - self.cy);
        let (cs, sn) = (self.angle.cos(), self.angle.sin());
        let u = (dx * cs + dy * sn) / self.ax;
        let v = (-dx * sn + dy * cs) / self.ay;
        let d2 = u * u + v * v;
        if self.cone {
            self.amp * (1.0 - d2.sqrt()).max(0.0).powf(1.2)
        } else {
            self.amp * (-0.5 * d2).exp()
        }
    }

    fn reach(&self) -> f64 {
        if self.cone {
            self.ax.max(self.ay)
        } else {
            3.5 * self.ax.max(self.ay)
        }
    }

    /// Adds the blob to a full-resolution field.
    pub fn add_into(&self, data: &mut [f32], w: usize, h: usize) {
        let rch = self.reach();
        let c0 = (self.cx - rch).floor().max(0.0) as usize;
        let r0 = (self.cy - rch).floor().max(0.0) as usize;
        let c1 = ((self.cx + rch).ceil().max(0.0) as usize).min(w);
        let r1 = ((self.cy + rch).ceil().max(0.0) as usize).min(h);
        for r in r0..r1 {
            for c in c0..c1 {
                data[r * w + c] += self.eval(c as f64 + 0.5, r as f64 + 0.5) as f32;
            }
        }
    }
}

/// Convective bull's-eyes (±0.5–1.5 rad Gaussian blobs, 150–700 m, no ring) and spoil
/// heaps built after the reference DEM (20–80 m cones whose DEM error draws a compact
/// ring-free bump scaled by the baseline). Counts scale with the area.
pub fn local_blobs<R: Rng>(
    rng: &mut R,
    w: usize,
    h: usize,
    view: &Viewing,
    wavelength: f64,
    mix: NuisanceMix,
    rec: &mut NuisanceRecord,
) -> Vec<Blob> {
    let area_km2 = w as f64 * view.dx_m * h as f64 * view.dy_m / 1e6;
    let per_km2 = if mix.hard_negative_boost { 0.06 } else { 0.02 };
    let activity = rng.random_range(0.3..1.7);
    let n_eyes = poisson(rng, area_km2 * per_km2 * activity);
    let heap_rate = if mix.hard_negative_boost { 0.01 } else { 0.004 };
    let n_heaps = poisson(rng, area_km2 * heap_rate);
    let k_dem = view.dem_error_rad_per_m(wavelength);
    let mut blobs = Vec::with_capacity(n_eyes + n_heaps);
    for i in 0..n_eyes + n_heaps {
        let heap = i >= n_eyes;
        let size_m = if heap {
            rng.random_range(100.0..300.0)
        } else {
            rng.random_range(150.0..700.0)
        };
        let elong = rng.random_range(1.0..1.6);
        let amp = if heap {
            k_dem * rng.random_range(20.0..80.0)
        } else {
            rng.random_range(0.5..1.5) * if rng.random_bool(0.5) { 1.0 } else { -1.0 }
        };
        blobs.push(Blob {
            cx: rng.random_range(0.0..w as f64),
            cy: rng.random_range(0.0..h as f64),
            ax: size_m * elong / view.dx_m,
            ay: size_m / elong / view.dy_m,
            angle: rng.random_range(0.0..PI),
            amp,
            cone: heap,
        });
    }
    rec.bullseyes = n_eyes;
    rec.spoil_heaps = n_heaps;
    if mix.weather == Weather::Summer {
        let cells = convective_cells(rng, w, h, view, area_km2);
        rec.convective_cells = cells.len();
        blobs.extend(cells);
    }
    blobs
}

/// Isolated summer convective cells: ring-free bull's-eyes of one or two fringes, 0.7–2.5 km
/// across (a faint basin without a decorrelated centre, to the eye). Wet air delays the
/// signal: the sign is that of extra path, either way relative to the reference date.
fn convective_cells<R: Rng>(
    rng: &mut R,
    w: usize,
    h: usize,
    view: &Viewing,
    area_km2: f64,
) -> Vec<Blob> {
    let rate = rng.random_range(0.0005..0.004);
    let n = poisson(rng, area_km2 * rate);
    (0..n)
        .map(|_| {
            let sigma_m = rng.random_range(350.0..1250.0);
            let elong = rng.random_range(1.0..1.5);
            let fringes = rng.random_range(1.0..2.0);
            let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            Blob {
                cx: rng.random_range(0.0..w as f64),
                cy: rng.random_range(0.0..h as f64),
                ax: sigma_m * elong / view.dx_m,
                ay: sigma_m / elong / view.dy_m,
                angle: rng.random_range(0.0..PI),
                amp: sign * fringes * 2.0 * PI,
                cone: false,
            }
        })
        .collect()
}

/// Poisson draw (Knuth; small means only).
pub fn poisson<R: Rng>(rng: &mut R, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 50.0 {
        // Normal approximation for whole scenes.
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        return (mean + z * mean.sqrt()).round().max(0.0) as usize;
    }
    let l = (-mean).exp();
    let (mut k, mut p) = (0usize, 1.0);
    loop {
        p *= rng.random_range(0.0..1.0f64);
        if p <= l {
            return k;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Orbit;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn view() -> Viewing {
        Viewing {
            orbit: Orbit::Descending,
            heading_deg: 190.0,
            incidence_deg: 39.0,
            dx_m: 18.5,
            dy_m: 13.9,
            bperp_m: 100.0,
            span_days: 12.0,
        }
    }

    #[test]
    fn turbulence_is_calibrated_and_smooth() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let (dem, _) = synth_dem(&mut rng, (200, 200), 40.0, 40.0, false);
        let mut rec = NuisanceRecord::default();
        let f = smooth_phase(
            &mut rng,
            &dem,
            &view(),
            NuisanceMix::plain(Weather::Winter),
            &mut rec,
        );
        // Neighbouring pixels differ by far less than points kilometres apart.
        assert!(f.rms_difference(40.0) < 0.3 * f.rms_difference(3000.0));
        assert!(rec.turbulence_rms_5km_rad >= 0.5 && rec.turbulence_rms_5km_rad <= 3.5);
    }

    #[test]
    fn texture_has_requested_std() {
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let mut rec = NuisanceRecord::default();
        let t = streak_texture(&mut rng, 128, 96, 18.5, 13.9, &mut rec);
        assert!((t.std_dev() - rec.texture_std_rad).abs() < 1e-3 * 5.0);
    }

    #[test]
    fn dem_error_sensitivity_matches_height_of_ambiguity() {
        // 4π B⊥/(λ R sin θ) with B⊥ = 100 m, R ≈ 843.75 km at 39°: ha = 2π/k ≈ 147 m.
        let k = view().dem_error_rad_per_m(0.055465763);
        let ha = 2.0 * PI / k;
        assert!((ha - 147.3).abs() < 1.0, "height of ambiguity {ha}");
    }

    #[test]
    fn blob_peak_and_extent() {
        let b = Blob {
            cx: 20.0,
            cy: 20.0,
            ax: 3.0,
            ay: 3.0,
            angle: 0.0,
            amp: 1.0,
            cone: false,
        };
        let mut d = vec![0.0f32; 40 * 40];
        b.add_into(&mut d, 40, 40);
        assert!((d[20 * 40 + 20] - (-0.5f32 * (0.5f32 * 0.5 * 2.0 / 9.0)).exp()).abs() < 1e-5);
        assert_eq!(d[0], 0.0);
    }
}

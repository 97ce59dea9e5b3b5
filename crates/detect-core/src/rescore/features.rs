//! What a second look at a box measures in the phase around it.
//!
//! Everything is computed from the phase gradient's local phasor sum over 5 × 5 pixels
//! (Ghiglia and Pritt's phase-derivative quality, in phasor form): its length over the
//! number of pixel pairs is the gradient's *coherence* q (1 for clean fringes however dense,
//! near 0 for noise) and its angle is the local fringe rate g (rad/px). Phasor products make
//! both independent of the phase offset; a conjugated interferogram flips the gradient's
//! sign, which no feature keeps.

use crate::BBox;

/// Names of the features, in order (stored with a fitted rescorer, so weights fitted on
/// other features are refused rather than misread).
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "score_logit",
    "log_size",
    "log_aspect",
    "q_core",
    "q_rim",
    "q_ring",
    "g_core",
    "g_rim",
    "g_ring",
    "valid_box",
    "radial_rim",
    "log_rim_radians",
    "q_window",
    "g_window",
    "log_crowd",
    "score_logit_x_q_core",
    "score_logit_x_log_crowd",
    "sign_agreement",
];

pub const FEATURES: usize = 18;

/// Index of the one feature that needs the window's other boxes ([`sign_agreement`]).
pub const SIGN_AGREEMENT: usize = FEATURES - 1;

pub type Features = [f64; FEATURES];

/// Half side of the square the local gradient is summed over (5 × 5).
const HALF: usize = 2;
/// Most sample points per side of a box's surroundings, and of a window.
const BOX_SAMPLES: usize = 96;
const WINDOW_SAMPLES: usize = 192;

/// A window's unit phasors `cos φ`, `sin φ` (both 0 where there is no data), row-major.
#[derive(Clone, Copy)]
pub struct Phasors<'a> {
    pub cos: &'a [f32],
    pub sin: &'a [f32],
    pub width: usize,
    pub height: usize,
}

/// The gradient's coherence and fringe rate at one pixel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalGradient {
    pub q: f64,
    pub gx: f64,
    pub gy: f64,
}

impl LocalGradient {
    pub fn rate(&self) -> f64 {
        (self.gx * self.gx + self.gy * self.gy).sqrt()
    }
}

impl Phasors<'_> {
    /// Whether the planes match the size (a caller's slip, not the user's input).
    pub fn is_consistent(&self) -> bool {
        let n = self.width.checked_mul(self.height);
        n == Some(self.cos.len()) && n == Some(self.sin.len())
    }

    /// The 5 × 5 gradient phasor sums around (x, y), clipped to the window; `None` where no
    /// pair of neighbouring pixels both hold data.
    pub fn gradient(&self, x: usize, y: usize) -> Option<LocalGradient> {
        let (w, h) = (self.width, self.height);
        if x >= w || y >= h || !self.is_consistent() {
            return None;
        }
        let (x0, x1) = (x.saturating_sub(HALF), (x + HALF).min(w - 1));
        let (y0, y1) = (y.saturating_sub(HALF), (y + HALF).min(h - 1));
        let (mut sx, mut sy) = ([0.0f64; 2], [0.0f64; 2]);
        let (mut nx, mut ny) = (0u32, 0u32);
        // Row slices instead of indexing pixel by pixel: this is the second look's inner loop.
        let row = |y: usize| {
            let r = y * w + x0..=y * w + x1;
            (&self.cos[r.clone()], &self.sin[r])
        };
        for yy in y0..=y1 {
            let (cr, sr) = row(yy);
            let below = (yy < y1).then(|| row(yy + 1));
            for k in 0..cr.len() {
                let (c, s) = (f64::from(cr[k]), f64::from(sr[k]));
                if c == 0.0 && s == 0.0 {
                    continue;
                }
                // z(right) · conj(z) and z(below) · conj(z).
                if k + 1 < cr.len() {
                    let (c2, s2) = (f64::from(cr[k + 1]), f64::from(sr[k + 1]));
                    if c2 != 0.0 || s2 != 0.0 {
                        sx[0] += c2 * c + s2 * s;
                        sx[1] += s2 * c - c2 * s;
                        nx += 1;
                    }
                }
                if let Some((cb, sb)) = below {
                    let (c2, s2) = (f64::from(cb[k]), f64::from(sb[k]));
                    if c2 != 0.0 || s2 != 0.0 {
                        sy[0] += c2 * c + s2 * s;
                        sy[1] += s2 * c - c2 * s;
                        ny += 1;
                    }
                }
            }
        }
        if nx + ny == 0 {
            return None;
        }
        // Bounded values (|s| ≤ 50): a plain square root; glibc's careful hypot cost 6 % of
        // a Light-N scan.
        let len = |s: [f64; 2]| (s[0] * s[0] + s[1] * s[1]).sqrt();
        let angle = |s: [f64; 2], n: u32| if n == 0 { 0.0 } else { s[1].atan2(s[0]) };
        Some(LocalGradient {
            q: (len(sx) + len(sy)) / f64::from(nx + ny),
            gx: angle(sx, nx),
            gy: angle(sy, ny),
        })
    }
}

/// Mean gradient coherence and fringe rate over a whole window, from a grid of samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowStats {
    pub q: f64,
    pub g: f64,
}

pub fn window_stats(p: &Phasors) -> WindowStats {
    let step = (p.width.max(p.height) / WINDOW_SAMPLES).max(1);
    let (mut q, mut g, mut n) = (0.0, 0.0, 0usize);
    for y in (step / 2..p.height).step_by(step) {
        for x in (step / 2..p.width).step_by(step) {
            if let Some(l) = p.gradient(x, y) {
                q += l.q;
                g += l.rate();
                n += 1;
            }
        }
    }
    if n == 0 {
        return WindowStats::default();
    }
    WindowStats {
        q: q / n as f64,
        g: g / n as f64,
    }
}

/// Running means of one region's samples.
#[derive(Default)]
struct Region {
    q: f64,
    g: f64,
    n: usize,
}

impl Region {
    fn add(&mut self, l: &LocalGradient) {
        self.q += l.q;
        self.g += l.rate();
        self.n += 1;
    }

    fn means(&self) -> (f64, f64) {
        match self.n {
            0 => (0.0, 0.0),
            n => (self.q / n as f64, self.g / n as f64),
        }
    }
}

/// The features of box `b` (window pixels) scored `score` by the network, in a window whose
/// statistics are `window` and which holds `crowd` boxes per million pixels of data.
///
/// Regions: the *core* is the box's central half (by side), the *rim* the rest of the box,
/// the *ring* the band of half the box's size around it. A basin whose centre decorrelated
/// has an incoherent core inside a coherent, fringe-dense rim; turbulent atmosphere has no
/// radial order; a clean bowl's gradient points along the radius all round.
///
/// Alone, a box's [`SIGN_AGREEMENT`] is 0; [`super::window_features`] sets it from the
/// window's other boxes.
pub fn box_features(
    p: &Phasors,
    b: &BBox,
    score: f64,
    window: WindowStats,
    crowd: f64,
) -> Features {
    measure(p, b, score, window, crowd).0
}

/// The box's features and its rim's signed radial order: the mean cosine between the local
/// gradient and the outward radius, positive where phase grows outwards. Its sign says bowl
/// or dome in this window's phase; a conjugated window flips every box's sign alike.
pub(crate) fn measure(
    p: &Phasors,
    b: &BBox,
    score: f64,
    window: WindowStats,
    crowd: f64,
) -> (Features, f64) {
    let (w, h) = (p.width as f64, p.height as f64);
    let b = b.clip(w, h);
    let (bw, bh) = (b.width().max(1.0), b.height().max(1.0));
    let [cx, cy] = b.center();
    let core = BBox::from_cxcywh(cx, cy, bw / 2.0, bh / 2.0);
    let ring = BBox::from_cxcywh(cx, cy, bw * 2.0, bh * 2.0).clip(w, h);
    let step = ((ring.width().max(ring.height()) / BOX_SAMPLES as f64).ceil() as usize).max(1);
    let inside = |r: &BBox, x: f64, y: f64| x >= r.x1 && x < r.x2 && y >= r.y1 && y < r.y2;

    let (mut rc, mut rr, mut rg) = (Region::default(), Region::default(), Region::default());
    let (mut box_samples, mut box_valid) = (0usize, 0usize);
    let mut radial = (0.0, 0usize);
    let (x_from, y_from) = (ring.x1.max(0.0) as usize, ring.y1.max(0.0) as usize);
    let (x_to, y_to) = (ring.x2.ceil() as usize, ring.y2.ceil() as usize);
    for y in (y_from..y_to.min(p.height)).step_by(step) {
        for x in (x_from..x_to.min(p.width)).step_by(step) {
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            let in_box = inside(&b, fx, fy);
            box_samples += usize::from(in_box);
            let Some(l) = p.gradient(x, y) else { continue };
            if !in_box {
                rg.add(&l);
                continue;
            }
            box_valid += 1;
            if inside(&core, fx, fy) {
                rc.add(&l);
                continue;
            }
            rr.add(&l);
            // The gradient against the radius of the box's ellipse, where it is measurable.
            let (rx, ry) = ((fx - cx) / bw, (fy - cy) / bh);
            let (rn, gn) = ((rx * rx + ry * ry).sqrt(), l.rate());
            if l.q > 0.3 && rn > 0.0 && gn > 0.0 {
                radial.0 += (l.gx * rx + l.gy * ry) / (rn * gn);
                radial.1 += 1;
            }
        }
    }
    let (q_core, g_core) = rc.means();
    let (q_rim, g_rim) = rr.means();
    let (q_ring, g_ring) = rg.means();
    let valid = box_valid as f64 / box_samples.max(1) as f64;
    let radial_signed = match radial.1 {
        0 => 0.0,
        n => radial.0 / n as f64,
    };
    // Radians of phase across the rim's width, from its fringe rate.
    let rim_radians = g_rim * bw.min(bh) / 4.0;
    let logit = logit(score);
    let log_crowd = crowd.max(0.0).ln_1p();
    let features = [
        logit,
        0.5 * (bw * bh).ln(),
        (bw / bh).ln().abs(),
        q_core,
        q_rim,
        q_ring,
        g_core,
        g_rim,
        g_ring,
        valid,
        radial_signed.abs(),
        rim_radians.ln_1p(),
        window.q,
        window.g,
        log_crowd,
        logit * q_core,
        logit * log_crowd,
        0.0,
    ];
    (features, radial_signed)
}

/// How far each box's bowl direction agrees with the other boxes' in its window, weighted
/// by their network scores: `s_i · Σ_{j≠i} score_j s_j / Σ_{j≠i} score_j`, in [−1, 1], 0 for
/// a box alone. Mining subsidence moves away from the satellite, so a scene's basins share
/// one direction; convective cells (wet air in either image) take either, so half of them
/// disagree with the basins beside them.
pub fn sign_agreement(signed: &[f64], scores: &[f64]) -> Vec<f64> {
    let total: f64 = signed.iter().zip(scores).map(|(s, w)| s * w).sum();
    let weight: f64 = scores.iter().sum();
    signed
        .iter()
        .zip(scores)
        .map(|(s, w)| {
            let (others, rest) = (total - s * w, weight - w);
            if rest > 1e-12 { s * others / rest } else { 0.0 }
        })
        .collect()
}

/// ln(p / (1 − p)), with p kept off 0 and 1.
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phasors<'a>(c: &'a [f32], s: &'a [f32], width: usize, height: usize) -> Phasors<'a> {
        Phasors {
            cos: c,
            sin: s,
            width,
            height,
        }
    }

    /// Planes of `phase(x, y)` over `w × h`, `None` = no data.
    fn planes(w: usize, h: usize, phase: impl Fn(f64, f64) -> Option<f64>) -> [Vec<f32>; 2] {
        let (mut c, mut s) = (vec![0.0; w * h], vec![0.0; w * h]);
        for y in 0..h {
            for x in 0..w {
                if let Some(v) = phase(x as f64, y as f64) {
                    c[y * w + x] = v.cos() as f32;
                    s[y * w + x] = v.sin() as f32;
                }
            }
        }
        [c, s]
    }

    #[test]
    fn a_plane_fringe_pattern_has_coherence_one_and_its_rate() {
        let [c, s] = planes(40, 30, |x, y| Some(0.7 * x - 0.4 * y + 1.3));
        let p = phasors(&c, &s, 40, 30);
        for (x, y) in [(0, 0), (20, 15), (39, 29)] {
            let l = p.gradient(x, y).expect("data everywhere");
            assert!((l.q - 1.0).abs() < 1e-6, "q {}", l.q);
            assert!(
                (l.gx - 0.7).abs() < 1e-6 && (l.gy + 0.4).abs() < 1e-6,
                "{l:?}"
            );
        }
        // Past the Nyquist rate the angle wraps: 4 rad/px reads as 4 − 2π.
        let [c, s] = planes(10, 10, |x, _| Some(4.0 * x));
        let l = phasors(&c, &s, 10, 10).gradient(5, 5).expect("data");
        assert!((l.gx - (4.0 - std::f64::consts::TAU)).abs() < 1e-6);
    }

    #[test]
    fn noise_has_low_coherence_and_no_data_has_none() {
        // A fixed pseudo-random phase (an LCG), independent pixel to pixel.
        let mut u = crate::rescore::uniform(12345);
        let mut rand = move || u() * std::f64::consts::TAU;
        let noise: Vec<f64> = (0..64 * 64).map(|_| rand()).collect();
        let [c, s] = planes(64, 64, |x, y| Some(noise[y as usize * 64 + x as usize]));
        let p = phasors(&c, &s, 64, 64);
        let stats = window_stats(&p);
        // The mean length of a sum of 20 random unit phasors is about √(π·20)/2 / 20 ≈ 0.2.
        assert!(stats.q < 0.3, "{stats:?}");
        let [c, s] = planes(8, 8, |_, _| None);
        let empty = phasors(&c, &s, 8, 8);
        assert_eq!(empty.gradient(4, 4), None);
        assert_eq!(window_stats(&empty), WindowStats::default());
    }

    #[test]
    fn a_bowl_is_radial_with_an_incoherent_core_when_its_centre_decorrelated() {
        let (w, h) = (200, 200);
        let mut u = crate::rescore::uniform(7);
        let mut rand = move || u() * std::f64::consts::TAU;
        let noise: Vec<f64> = (0..w * h).map(|_| rand()).collect();
        // Six fringes of a Gaussian bowl of σ 25 px at (100, 100); noise inside radius 28.
        let bowl = |x: f64, y: f64| {
            let r2 = (x - 100.0).powi(2) + (y - 100.0).powi(2);
            if r2 < 784.0 {
                noise[y as usize * w + x as usize]
            } else {
                -6.0 * std::f64::consts::TAU * (-r2 / (2.0 * 625.0)).exp()
            }
        };
        let [c, s] = planes(w, h, |x, y| Some(bowl(x, y)));
        let p = phasors(&c, &s, w, h);
        let b = BBox::new(50.0, 50.0, 150.0, 150.0);
        let f = box_features(&p, &b, 0.5, window_stats(&p), 0.0);
        let get = |name: &str| f[FEATURE_NAMES.iter().position(|&n| n == name).expect(name)];
        assert!(get("q_core") < 0.5, "core {}", get("q_core"));
        assert!(get("q_rim") > 0.9, "rim {}", get("q_rim"));
        assert!(get("radial_rim") > 0.8, "radial {}", get("radial_rim"));
        assert!(get("g_rim") > get("g_ring"), "{f:?}");
        assert!((get("valid_box") - 1.0).abs() < 1e-12);
        assert!(get("score_logit").abs() < 1e-12);
        // The same bowl conjugated (a processor's opposite sign convention): same features.
        let conj: Vec<f32> = s.iter().map(|v| -v).collect();
        let pc = Phasors { sin: &conj, ..p };
        let fc = box_features(&pc, &b, 0.5, window_stats(&pc), 0.0);
        for (a, b) in f.iter().zip(&fc) {
            assert!((a - b).abs() < 1e-9, "{f:?} vs {fc:?}");
        }
    }

    #[test]
    fn sign_agreement_weighs_the_other_boxes() {
        let a = sign_agreement(&[1.0, 1.0, -1.0], &[0.5, 0.5, 1.0]);
        // Box 0: the others sum 0.5·1 + 1·(−1) = −0.5 over weight 1.5.
        assert!((a[0] + 1.0 / 3.0).abs() < 1e-12, "{a:?}");
        assert!((a[1] + 1.0 / 3.0).abs() < 1e-12, "{a:?}");
        // Box 2: the others sum 1 over weight 1, and it points the other way.
        assert!((a[2] + 1.0).abs() < 1e-12, "{a:?}");
        assert_eq!(sign_agreement(&[0.7], &[0.9]), vec![0.0]);
        assert!(sign_agreement(&[], &[]).is_empty());
    }

    #[test]
    fn a_bowl_and_a_dome_disagree_and_two_bowls_agree() {
        // Two-fringe Gaussian blobs (σ 12 px) at x = 40 and x = 120, of signs `a` and `b`.
        let window = |a: f64, b: f64| {
            let blob = |x: f64, y: f64, cx: f64| {
                (-((x - cx).powi(2) + (y - 40.0).powi(2)) / 288.0).exp()
                    * 2.0
                    * std::f64::consts::TAU
            };
            planes(160, 80, move |x, y| {
                Some(a * blob(x, y, 40.0) + b * blob(x, y, 120.0))
            })
        };
        let boxes = [
            BBox::new(16.0, 16.0, 64.0, 64.0),
            BBox::new(96.0, 16.0, 144.0, 64.0),
        ];
        let dets: Vec<crate::Detection> = boxes
            .iter()
            .map(|&bbox| crate::Detection { bbox, score: 0.5 })
            .collect();
        for (b, sign) in [(1.0, 1.0), (-1.0, -1.0)] {
            let [c, s] = window(1.0, b);
            let f = crate::rescore::window_features(&phasors(&c, &s, 160, 80), &dets);
            for (k, fk) in f.iter().enumerate() {
                let agree = fk[SIGN_AGREEMENT];
                assert!(
                    agree * sign > 0.5,
                    "blob signs 1, {b}: box {k} agreement {agree}"
                );
            }
        }
    }

    #[test]
    fn boxes_outside_or_degenerate_give_finite_features() {
        let [c, s] = planes(32, 32, |x, y| Some(0.1 * x * y));
        let p = phasors(&c, &s, 32, 32);
        for b in [
            BBox::new(-50.0, -50.0, -10.0, -10.0),
            BBox::new(10.0, 10.0, 10.0, 10.0),
            BBox::new(20.0, 20.0, 400.0, 25.0),
        ] {
            let f = box_features(&p, &b, 0.0, WindowStats::default(), 3.0);
            assert!(f.iter().all(|v| v.is_finite()), "{b:?}: {f:?}");
        }
    }
}

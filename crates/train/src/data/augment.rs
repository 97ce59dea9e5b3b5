//! Augmentation: the paper's rotation, translation and flipping, and phase-aware changes
//! that leave a basin a basin (a constant phase offset, conjugation, added decorrelation).
//! Offset and conjugation turn the *encoded* phasors ([`PhasorTurn`]): the encoding
//! re-references every input to its own phasor sum and direction, which would undo them.
//!
//! Geometry is one affine map applied with nearest-neighbour sampling (wrapped phase must
//! not be interpolated across a wrap). Flips, quarter turns and whole-pixel shifts are exact,
//! for pixels and boxes alike. For other angles the boxes are the bounds of the rotated box
//! corners, which is looser than the rotated object: those angles are off by default.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::sample::{Planes, Sample};

/// Augmentation settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AugmentConfig {
    /// Probability of a left-right flip.
    pub flip_lr: f64,
    /// Probability of an up-down flip.
    pub flip_ud: f64,
    /// Turn by a random multiple of 90°.
    pub rot90: bool,
    /// Largest extra rotation in degrees (uniform in ±; 0 = none).
    pub max_angle: f64,
    /// Largest shift as a fraction of the image side (uniform in ±, whole pixels).
    pub translate: f64,
    /// Add a uniform random constant to the phase.
    pub phase_offset: bool,
    /// Probability of conjugating (φ → −φ: the colour cycle's direction is arbitrary).
    pub conjugate: f64,
    /// Probability of adding decorrelation noise.
    pub noise_prob: f64,
    /// Largest noise std per phasor component (uniform in [0, max]).
    pub noise_max: f64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            flip_lr: 0.5,
            flip_ud: 0.5,
            rot90: true,
            max_angle: 0.0,
            translate: 0.1,
            phase_offset: true,
            conjugate: 0.5,
            noise_prob: 0.3,
            noise_max: 0.4,
        }
    }
}

impl AugmentConfig {
    /// No change at all (validation).
    pub fn none() -> Self {
        Self {
            flip_lr: 0.0,
            flip_ud: 0.0,
            rot90: false,
            max_angle: 0.0,
            translate: 0.0,
            phase_offset: false,
            conjugate: 0.0,
            noise_prob: 0.0,
            noise_max: 0.0,
        }
    }
}

/// A map from source pixel coordinates to destination ones: dst = A·(src − c) + c + t.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    pub a: [[f64; 2]; 2],
    pub t: [f64; 2],
    pub center: [f64; 2],
}

impl Affine {
    /// Flips (applied first), then `quarter` quarter turns plus `angle_deg`, then a shift.
    pub fn compose(
        w: usize,
        h: usize,
        flip_lr: bool,
        flip_ud: bool,
        quarter: u8,
        angle_deg: f64,
        shift: [f64; 2],
    ) -> Self {
        let f = [
            [if flip_lr { -1.0 } else { 1.0 }, 0.0],
            [0.0, if flip_ud { -1.0 } else { 1.0 }],
        ];
        // Quarter turns as exact integer matrices (x right, y down: (x, y) → (−y, x)).
        let q = match quarter % 4 {
            0 => [[1.0, 0.0], [0.0, 1.0]],
            1 => [[0.0, -1.0], [1.0, 0.0]],
            2 => [[-1.0, 0.0], [0.0, -1.0]],
            _ => [[0.0, 1.0], [-1.0, 0.0]],
        };
        let (s, c) = angle_deg.to_radians().sin_cos();
        let r = if angle_deg == 0.0 {
            [[1.0, 0.0], [0.0, 1.0]]
        } else {
            [[c, -s], [s, c]]
        };
        Self {
            a: mat_mul(r, mat_mul(q, f)),
            t: shift,
            center: [w as f64 / 2.0, h as f64 / 2.0],
        }
    }

    /// Where a source point lands.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let (x, y) = (p[0] - self.center[0], p[1] - self.center[1]);
        [
            self.a[0][0] * x + self.a[0][1] * y + self.center[0] + self.t[0],
            self.a[1][0] * x + self.a[1][1] * y + self.center[1] + self.t[1],
        ]
    }

    /// Where a destination point comes from.
    pub fn invert(&self, p: [f64; 2]) -> [f64; 2] {
        let [[a, b], [c, d]] = self.a;
        let det = a * d - b * c;
        let (x, y) = (
            p[0] - self.center[0] - self.t[0],
            p[1] - self.center[1] - self.t[1],
        );
        [
            (d * x - b * y) / det + self.center[0],
            (-c * x + a * y) / det + self.center[1],
        ]
    }
}

fn mat_mul(x: [[f64; 2]; 2], y: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let mut o = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            o[i][j] = x[i][0] * y[0][j] + x[i][1] * y[1][j];
        }
    }
    o
}

/// A box's smallest part still visible after a shift or turn, as a fraction of its area,
/// below which it is dropped (a sliver of fringes is not a basin to find).
const MIN_VISIBLE: f32 = 0.25;
/// Smallest side kept, pixels.
const MIN_SIDE: f32 = 2.0;

/// Applies `m` to the planes (nearest neighbour) and to the boxes (bounds of the corners,
/// clipped to the image; boxes mostly outside are dropped).
pub fn warp(sample: &mut Sample, m: &Affine) {
    let (w, h) = (sample.width, sample.height);
    let src_index: Vec<Option<usize>> = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
            let [sx, sy] = m.invert([x, y]);
            let (cx, cy) = (sx.floor(), sy.floor());
            (cx >= 0.0 && cy >= 0.0 && cx < w as f64 && cy < h as f64)
                .then(|| cy as usize * w + cx as usize)
        })
        .collect();
    for (plane, fill) in sample.planes.planes_mut() {
        let src = std::mem::take(plane);
        *plane = src_index
            .iter()
            .map(|s| s.map_or(fill, |k| src[k]))
            .collect();
    }
    sample.boxes = sample
        .boxes
        .iter()
        .filter_map(|b| warp_box(b, m, w as f32, h as f32))
        .collect();
}

fn warp_box(b: &[f32; 4], m: &Affine, w: f32, h: f32) -> Option<[f32; 4]> {
    let corners = [[b[0], b[1]], [b[2], b[1]], [b[0], b[3]], [b[2], b[3]]]
        .map(|[x, y]| m.apply([x as f64, y as f64]));
    let xs = corners.map(|c| c[0] as f32);
    let ys = corners.map(|c| c[1] as f32);
    let full = [
        xs.iter().copied().fold(f32::INFINITY, f32::min),
        ys.iter().copied().fold(f32::INFINITY, f32::min),
        xs.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        ys.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    ];
    let clipped = [
        full[0].max(0.0),
        full[1].max(0.0),
        full[2].min(w),
        full[3].min(h),
    ];
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let keep = clipped[2] - clipped[0] >= MIN_SIDE
        && clipped[3] - clipped[1] >= MIN_SIDE
        && area(&clipped) >= MIN_VISIBLE * area(&full);
    keep.then_some(clipped)
}

/// A phase offset and conjugation for one sample, applied to its encoded phasors.
///
/// The encoding turns each input so its phasor sum points along 0 and its direction is
/// canonical (`model::input::reference`). Turned before encoding, a tile would come out the
/// same. But `detect` references whole windows of up to 2,048 px, where a basin's own
/// offset and fringe direction against the window's reference are arbitrary: a network that
/// only ever saw basin tiles referenced to themselves learns a convention windows break.
/// Turned after encoding, training tiles show basins as windows do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhasorTurn {
    /// Added to every phase, radians.
    pub offset: f32,
    /// φ → −φ, before the offset.
    pub conjugate: bool,
}

impl PhasorTurn {
    /// Turns the phasor planes of an encoded phase input (`[cos, sin, coherence]`, `n`
    /// pixels each) in place: (cos φ, sin φ) → (cos φ', sin φ') with φ' = ±φ + offset. Pixels
    /// without data (0, 0) stay so; the coherence plane is left alone.
    pub fn apply(&self, encoded: &mut [f32], n: usize) {
        let (cos, rest) = encoded.split_at_mut(n.min(encoded.len()));
        let (so, co) = self.offset.sin_cos();
        let sign = if self.conjugate { -1.0 } else { 1.0 };
        for (c, s) in cos.iter_mut().zip(rest.iter_mut()) {
            let (c0, s0) = (*c, sign * *s);
            *c = c0 * co - s0 * so;
            *s = s0 * co + c0 * so;
        }
    }
}

/// Phase-aware changes: decorrelation noise on the phasor (with the coherence lowered to the
/// noisy phasor's expected coherence 1/(1 + 2σ²)), and the offset and conjugation to apply
/// after encoding (`None` for pictures).
pub fn phase_changes<R: Rng>(
    sample: &mut Sample,
    cfg: &AugmentConfig,
    rng: &mut R,
) -> Option<PhasorTurn> {
    let Planes::Phase { phase, coherence } = &mut sample.planes else {
        return None;
    };
    let offset = if cfg.phase_offset {
        rng.random_range(-std::f32::consts::PI..std::f32::consts::PI)
    } else {
        0.0
    };
    let conjugate = rng.random_bool(cfg.conjugate.clamp(0.0, 1.0));
    let sigma = if cfg.noise_max > 0.0 && rng.random_bool(cfg.noise_prob.clamp(0.0, 1.0)) {
        rng.random_range(0.0..cfg.noise_max) as f32
    } else {
        0.0
    };
    if sigma > 0.0 {
        for p in phase.iter_mut().filter(|p| p.is_finite()) {
            let n1: f32 = StandardNormal.sample(rng);
            let n2: f32 = StandardNormal.sample(rng);
            *p = (p.sin() + sigma * n2).atan2(p.cos() + sigma * n1);
        }
        if let Some(c) = coherence {
            let factor = 1.0 / (1.0 + 2.0 * sigma * sigma);
            c.iter_mut().for_each(|v| *v *= factor);
        }
    }
    Some(PhasorTurn { offset, conjugate })
}

/// Draws and applies one augmentation; returns the turn to apply to the encoded phasors.
pub fn augment<R: Rng>(
    sample: &mut Sample,
    cfg: &AugmentConfig,
    rng: &mut R,
) -> Option<PhasorTurn> {
    let (w, h) = (sample.width, sample.height);
    let flip_lr = rng.random_bool(cfg.flip_lr.clamp(0.0, 1.0));
    let flip_ud = rng.random_bool(cfg.flip_ud.clamp(0.0, 1.0));
    // Quarter turns of a non-square image would change its shape: square only.
    let quarter = if cfg.rot90 && w == h {
        rng.random_range(0..4u8)
    } else {
        0
    };
    let angle = if cfg.max_angle > 0.0 {
        rng.random_range(-cfg.max_angle..cfg.max_angle)
    } else {
        0.0
    };
    let shift = |side: usize, rng: &mut R| {
        let max = (cfg.translate * side as f64).floor() as i64;
        if max > 0 {
            rng.random_range(-max..=max) as f64
        } else {
            0.0
        }
    };
    let t = [shift(w, rng), shift(h, rng)];
    let m = Affine::compose(w, h, flip_lr, flip_ud, quarter, angle, t);
    if m != Affine::compose(w, h, false, false, 0, 0.0, [0.0, 0.0]) {
        warp(sample, &m);
    }
    phase_changes(sample, cfg, rng)
}

/// Crops (at `origin`) or pads (bottom and right, with each plane's fill) to `tile × tile`,
/// clipping the boxes as `warp` does.
pub fn fit_to_tile(sample: &mut Sample, tile: usize, origin: (usize, usize)) {
    if sample.width == tile && sample.height == tile {
        return;
    }
    let (w, h) = (sample.width, sample.height);
    let (ox, oy) = origin;
    for (plane, fill) in sample.planes.planes_mut() {
        let src = std::mem::take(plane);
        *plane = (0..tile * tile)
            .map(|i| {
                let (x, y) = (i % tile + ox, i / tile + oy);
                if x < w && y < h { src[y * w + x] } else { fill }
            })
            .collect();
    }
    let shift = Affine {
        a: [[1.0, 0.0], [0.0, 1.0]],
        t: [-(ox as f64), -(oy as f64)],
        center: [0.0, 0.0],
    };
    sample.boxes = sample
        .boxes
        .iter()
        .filter_map(|b| warp_box(b, &shift, tile as f32, tile as f32))
        .collect();
    sample.width = tile;
    sample.height = tile;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A 4×4 phase ramp with a distinct value per pixel and one box over pixel (1, 0)..(3, 2).
    fn sample() -> Sample {
        Sample {
            width: 4,
            height: 4,
            planes: Planes::Phase {
                phase: (0..16).map(|i| i as f32 * 0.1).collect(),
                coherence: Some(vec![1.0; 16]),
            },
            boxes: vec![[1.0, 0.0, 3.0, 2.0]],
        }
    }

    fn phase(s: &Sample) -> Vec<f32> {
        match &s.planes {
            Planes::Phase { phase, .. } => phase.clone(),
            Planes::Rgb(_) => unreachable!("phase sample"),
        }
    }

    /// Value at (x, y) of the original ramp.
    fn v(x: usize, y: usize) -> f32 {
        (y * 4 + x) as f32 * 0.1
    }

    #[test]
    fn left_right_flip_is_exact() {
        let mut s = sample();
        warp(
            &mut s,
            &Affine::compose(4, 4, true, false, 0, 0.0, [0.0, 0.0]),
        );
        let p = phase(&s);
        for y in 0..4 {
            for x in 0..4 {
                assert_eq!(p[y * 4 + x], v(3 - x, y));
            }
        }
        assert_eq!(s.boxes, vec![[1.0, 0.0, 3.0, 2.0]]);
    }

    #[test]
    fn quarter_turn_moves_pixels_and_boxes_together() {
        let mut s = sample();
        warp(
            &mut s,
            &Affine::compose(4, 4, false, false, 1, 0.0, [0.0, 0.0]),
        );
        let p = phase(&s);
        // (x, y) → (−y, x) about the centre (2, 2): pixel centre (x+.5, y+.5) lands at
        // (3.5 − y, x + .5), i.e. pixel (3 − y, x).
        for y in 0..4 {
            for x in 0..4 {
                assert_eq!(p[x * 4 + (3 - y)], v(x, y));
            }
        }
        // Box x 1..3, y 0..2 → x 2..4, y 1..3.
        assert_eq!(s.boxes, vec![[2.0, 1.0, 4.0, 3.0]]);
        // The pixel under the box's old top-left pixel (1, 0) is now at (3, 1), inside.
        assert_eq!(p[4 + 3], v(1, 0));
    }

    #[test]
    fn translation_fills_and_clips() {
        let mut s = sample();
        warp(
            &mut s,
            &Affine::compose(4, 4, false, false, 0, 0.0, [2.0, 0.0]),
        );
        let p = phase(&s);
        assert!(p[0].is_nan() && p[1].is_nan());
        assert_eq!(p[2], v(0, 0));
        // Box x 1..3 → 3..5, clipped to 3..4: half visible (≥ 25 %) but 1 px wide: dropped.
        assert!(s.boxes.is_empty());
        let mut s = sample();
        warp(
            &mut s,
            &Affine::compose(4, 4, false, false, 0, 0.0, [-1.0, 1.0]),
        );
        assert_eq!(s.boxes, vec![[0.0, 1.0, 2.0, 3.0]]);
    }

    #[test]
    fn other_angles_bound_the_rotated_corners() {
        let mut s = Sample {
            width: 100,
            height: 100,
            planes: Planes::Rgb([vec![0.0; 10_000], vec![0.0; 10_000], vec![0.0; 10_000]]),
            boxes: vec![[40.0, 40.0, 60.0, 60.0]],
        };
        warp(
            &mut s,
            &Affine::compose(100, 100, false, false, 0, 45.0, [0.0, 0.0]),
        );
        let half = 10.0 * std::f32::consts::SQRT_2;
        let b = s.boxes[0];
        for (got, want) in b
            .iter()
            .zip([50.0 - half, 50.0 - half, 50.0 + half, 50.0 + half])
        {
            assert!((got - want).abs() < 1e-3, "{b:?}");
        }
    }

    #[test]
    fn augment_is_deterministic_and_leaves_offset_and_direction_to_the_turn() {
        let cfg = AugmentConfig {
            conjugate: 1.0,
            noise_prob: 0.0,
            ..AugmentConfig::default()
        };
        let mut a = sample();
        let mut b = sample();
        let turn = augment(&mut a, &cfg, &mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(
            turn,
            augment(&mut b, &cfg, &mut ChaCha8Rng::seed_from_u64(7))
        );
        assert_eq!(a, b);
        let turn = turn.expect("a phase sample has a turn");
        assert!(turn.conjugate && turn.offset.abs() <= std::f32::consts::PI);
        // The phase itself only moved: neighbours differ by 0.1 (columns) or 0.4 (rows).
        let p = phase(&a);
        let d = (p[1] - p[0]).abs();
        assert!((d - 0.1).abs() < 1e-4 || (d - 0.4).abs() < 1e-4, "{d}");
    }

    #[test]
    fn turn_gives_the_phasors_of_the_turned_phase() {
        let phases = [-3.0f32, -1.0, 0.0, 0.5, 2.9];
        let n = phases.len() + 1; // and one pixel without data
        for conjugate in [false, true] {
            let turn = PhasorTurn {
                offset: 1.3,
                conjugate,
            };
            let mut x: Vec<f32> = phases.iter().map(|p| p.cos()).collect();
            x.push(0.0);
            x.extend(phases.iter().map(|p| p.sin()));
            x.push(0.0);
            x.extend([0.7; 6]);
            turn.apply(&mut x, n);
            for (i, &p) in phases.iter().enumerate() {
                let want = if conjugate { -p } else { p } + 1.3;
                assert!((x[i] - want.cos()).abs() < 1e-6, "cos {p} {conjugate}");
                assert!((x[n + i] - want.sin()).abs() < 1e-6, "sin {p} {conjugate}");
            }
            assert_eq!((x[n - 1], x[2 * n - 1]), (0.0, 0.0));
            assert!(x[2 * n..].iter().all(|&c| c == 0.7));
        }
    }

    #[test]
    fn pictures_have_no_turn() {
        let mut s = Sample {
            width: 2,
            height: 1,
            planes: Planes::Rgb([vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]),
            boxes: Vec::new(),
        };
        let cfg = AugmentConfig::default();
        assert_eq!(
            phase_changes(&mut s, &cfg, &mut ChaCha8Rng::seed_from_u64(3)),
            None
        );
    }

    #[test]
    fn noise_lowers_coherence() {
        let cfg = AugmentConfig {
            noise_prob: 1.0,
            noise_max: 0.5,
            ..AugmentConfig::none()
        };
        let mut s = sample();
        let turn = phase_changes(&mut s, &cfg, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(
            turn,
            Some(PhasorTurn {
                offset: 0.0,
                conjugate: false
            })
        );
        let Planes::Phase {
            coherence: Some(c), ..
        } = &s.planes
        else {
            unreachable!("phase sample with coherence")
        };
        assert!(c[0] < 1.0 && c[0] > 1.0 / 1.5);
    }

    #[test]
    fn fit_to_tile_pads_and_crops() {
        let mut s = sample();
        fit_to_tile(&mut s, 6, (0, 0));
        assert_eq!((s.width, s.height), (6, 6));
        let p = phase(&s);
        assert_eq!(p[6 + 1], v(1, 1));
        assert!(p[5].is_nan());
        assert_eq!(s.boxes, vec![[1.0, 0.0, 3.0, 2.0]]);
        let mut s = sample();
        fit_to_tile(&mut s, 2, (1, 0));
        assert_eq!(phase(&s), vec![v(1, 0), v(2, 0), v(1, 1), v(2, 1)]);
        assert_eq!(s.boxes, vec![[0.0, 0.0, 2.0, 2.0]]);
        // A crop that leaves a 1-pixel sliver of the box drops it.
        let mut s = sample();
        fit_to_tile(&mut s, 2, (1, 1));
        assert!(s.boxes.is_empty());
    }
}

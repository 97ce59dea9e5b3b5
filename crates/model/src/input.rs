//! The three input channels the networks see, and checks that inference feeds a model the
//! encoding it was trained on.

use rayon::prelude::*;

use crate::ModelError;
use crate::config::InputKind;

/// cos φ', sin φ', coherence as `[3, H, W]` planes, where φ' is the wrapped phase re-referenced
/// by [`reference`]: an interferogram's phase offset and cycle direction are arbitrary (a
/// reference point, a processor's sign convention, a picture's colormap), so the encoding does
/// not depend on them. Pixels whose phase is not finite (no-data) become (0, 0, 0): no
/// direction and no coherence. `coherence` of `None` means 1 everywhere valid; coherence
/// values are clamped to [0, 1] (NaN → 0).
pub fn encode_phase(
    phase: &[f32],
    coherence: Option<&[f32]>,
    width: usize,
    height: usize,
) -> Result<Vec<f32>, ModelError> {
    let n = width * height;
    check_len("phase", phase.len(), n, width, height)?;
    if let Some(c) = coherence {
        check_len("coherence", c.len(), n, width, height)?;
    }
    let mut out = vec![0.0f32; 3 * n];
    let (cos, rest) = out.split_at_mut(n);
    let (sin, coh) = rest.split_at_mut(n);
    // In fixed chunks on the thread pool: a scene window is millions of pixels, and this ran
    // on one core while the other waited for the network.
    cos.par_chunks_mut(CHUNK)
        .zip(sin.par_chunks_mut(CHUNK))
        .zip(coh.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(k, ((cos, sin), coh))| {
            let start = k * CHUNK;
            let phase = &phase[start..start + cos.len()];
            kernels::trig::phasors_into(phase, cos, sin);
            let coherence = coherence.map(|g| &g[start..start + cos.len()]);
            for (i, &p) in phase.iter().enumerate() {
                if !p.is_finite() {
                    continue;
                }
                coh[i] = match coherence {
                    Some(g) if g[i].is_finite() => g[i].clamp(0.0, 1.0),
                    Some(_) => 0.0,
                    None => 1.0,
                };
            }
        });
    reference(cos, sin);
    Ok(out)
}

/// Pixels per parallel piece of the encoding. Pieces and the order their sums are added
/// in depend on the size alone, so the result does not depend on the thread count.
const CHUNK: usize = 1 << 16;

/// Re-references unit phasors (cos φ, sin φ) in place, no-data being (0, 0): rotates them so
/// their sum points along φ = 0, then conjugates them when Σ sin 2φ' < 0. A constant offset
/// and a conjugation of the input give the same result (up to rounding, and except where the
/// sum or Σ sin 2φ' is zero to rounding, where the input's offset or direction is kept).
/// Only the phase decides, not the coherence: a picture has none, its raster may.
pub fn reference(cos: &mut [f32], sin: &mut [f32]) {
    let sums: Vec<(f64, f64)> = cos
        .par_chunks(CHUNK)
        .zip(sin.par_chunks(CHUNK))
        .map(|(cos, sin)| {
            let (mut sc, mut ss) = (0.0f64, 0.0f64);
            for (c, s) in cos.iter().zip(sin) {
                sc += f64::from(*c);
                ss += f64::from(*s);
            }
            (sc, ss)
        })
        .collect();
    let (sc, ss) = sums
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), (c, s)| (a + c, b + s));
    let norm = sc.hypot(ss);
    let (rc, rs) = if norm > 0.0 {
        ((sc / norm) as f32, (ss / norm) as f32)
    } else {
        (1.0, 0.0)
    };
    let sin2: f64 = cos
        .par_chunks_mut(CHUNK)
        .zip(sin.par_chunks_mut(CHUNK))
        .map(|(cos, sin)| {
            let mut sin2 = 0.0f64;
            for (c, s) in cos.iter_mut().zip(sin.iter_mut()) {
                // (c + i s) · (rc − i rs): the phase minus the sum's direction.
                let (c2, s2) = (*c * rc + *s * rs, *s * rc - *c * rs);
                *c = c2;
                *s = s2;
                sin2 += f64::from(2.0 * s2 * c2);
            }
            sin2
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    // A sum of rounding size is a tie: keep the input's direction.
    if sin2 < -1e-5 * cos.len() as f64 {
        sin.par_iter_mut().for_each(|s| *s = -*s);
    }
}

/// Interleaved 8-bit RGB to `[3, H, W]` planes of value / 255.
pub fn encode_rgb(rgb: &[u8], width: usize, height: usize) -> Result<Vec<f32>, ModelError> {
    let n = width * height;
    check_len("rgb", rgb.len(), 3 * n, width, height)?;
    let mut out = vec![0.0f32; 3 * n];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for ch in 0..3 {
            out[ch * n + i] = px[ch] as f32 / 255.0;
        }
    }
    Ok(out)
}

/// Refuses to run a model on an input encoding it was not trained on.
pub fn check_input_kind(model: InputKind, data: InputKind) -> Result<(), ModelError> {
    if model == data {
        Ok(())
    } else {
        Err(ModelError::InputMismatch { model, data })
    }
}

fn check_len(
    what: &'static str,
    got: usize,
    want: usize,
    width: usize,
    height: usize,
) -> Result<(), ModelError> {
    if got == want {
        Ok(())
    } else {
        Err(ModelError::InputSize {
            what,
            got,
            want,
            width,
            height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::{FRAC_PI_2, PI};

    #[test]
    fn phase_planes_are_cos_sin_coherence() {
        // The phasors sum to (0, 1): re-referenced by −π/2 the phases are −π/2, 0, π/2, and
        // Σ sin 2φ' = 0 keeps the direction.
        let phase = [0.0, FRAC_PI_2, PI, f32::NAN];
        let coh = [0.5, 2.0, f32::NAN, 0.9];
        let x = encode_phase(&phase, Some(&coh), 2, 2).expect("sizes match");
        let want = [
            0.0, 1.0, 0.0, 0.0, // cos
            -1.0, 0.0, 1.0, 0.0, // sin
            0.5, 1.0, 0.0, 0.0, // coherence: clamped, NaN → 0, no-data → 0
        ];
        for (a, b) in x.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{x:?}");
        }
        let x = encode_phase(&phase, None, 2, 2).expect("sizes match");
        assert_eq!(&x[8..], &[1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn a_hand_case_is_rotated_then_conjugated() {
        // Phases symmetric about 0.1: the sum points along 0.1.
        let a = 0.8f32;
        let phase = [0.1, 0.1 + a, 0.1 - a];
        let x = encode_phase(&phase, None, 3, 1).expect("sizes match");
        // φ' = 0, a, −a; Σ sin 2φ' = 0: a tie, the direction is kept.
        for (i, want) in [0.0, a, -a].into_iter().enumerate() {
            assert!((x[i] - want.cos()).abs() < 1e-6 && (x[3 + i] - want.sin()).abs() < 1e-6);
        }
        // Phases 0, 1, −0.5 (sum along θ); after rotation Σ sin 2φ' < 0 flips the sign.
        let phase = [0.0f32, 1.0, -0.5];
        let theta = (0.0f32.sin() + 1.0f32.sin() + (-0.5f32).sin())
            .atan2(0.0f32.cos() + 1.0f32.cos() + (-0.5f32).cos());
        let rotated: Vec<f32> = phase.iter().map(|p| p - theta).collect();
        let s2: f32 = rotated.iter().map(|p| (2.0 * p).sin()).sum();
        let sign = if s2 < 0.0 { -1.0 } else { 1.0 };
        let x = encode_phase(&phase, None, 3, 1).expect("sizes match");
        for (i, p) in rotated.iter().enumerate() {
            assert!((x[i] - p.cos()).abs() < 1e-6, "{x:?}");
            assert!((x[3 + i] - sign * p.sin()).abs() < 1e-6, "{x:?}");
        }
    }

    /// Any offset and either direction of the same interferogram encode alike.
    #[test]
    fn offset_and_direction_do_not_change_the_encoding() {
        let (w, h) = (37, 23);
        let phase: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let r2 = (x - 15.0).powi(2) + (y - 9.0).powi(2);
                if i % 17 == 3 {
                    f32::NAN
                } else {
                    6.0 * (-r2 / 60.0).exp() + 0.02 * x
                }
            })
            .collect();
        let base = encode_phase(&phase, None, w, h).expect("sizes match");
        for (offset, sign) in [(1.3f32, 1.0f32), (-2.9, -1.0), (0.0, -1.0), (4.0, 1.0)] {
            let moved: Vec<f32> = phase
                .iter()
                .map(|p| {
                    let v = sign * p + offset;
                    v - 2.0 * PI * ((v + PI) / (2.0 * PI)).floor()
                })
                .collect();
            let x = encode_phase(&moved, None, w, h).expect("sizes match");
            let worst = x
                .iter()
                .zip(&base)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-4,
                "offset {offset}, sign {sign}: max difference {worst}"
            );
        }
    }

    #[test]
    fn rgb_planes_are_scaled() {
        let x = encode_rgb(&[255, 0, 51, 0, 255, 102], 2, 1).expect("sizes match");
        assert_eq!(x, vec![1.0, 0.0, 0.0, 1.0, 0.2, 0.4]);
    }

    #[test]
    fn wrong_sizes_and_kinds_are_refused() {
        let e = encode_rgb(&[0; 5], 2, 1).expect_err("5 bytes is not 2×1 RGB");
        assert!(e.to_string().contains("rgb"), "{e}");
        assert!(encode_phase(&[0.0; 4], Some(&[1.0; 3]), 2, 2).is_err());
        let e = check_input_kind(InputKind::Phase, InputKind::Rgb).expect_err("mismatch");
        let msg = e.to_string();
        assert!(msg.contains("phase") && msg.contains("rgb"), "{msg}");
    }
}

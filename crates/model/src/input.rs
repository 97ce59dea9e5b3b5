//! The three input channels the networks see, and checks that inference feeds a model the
//! encoding it was trained on.

use crate::ModelError;
use crate::config::InputKind;

/// cos φ, sin φ, coherence as `[3, H, W]` planes. Pixels whose phase is not finite (no-data)
/// become (0, 0, 0): no direction and no coherence. `coherence` of `None` means 1 everywhere
/// valid; coherence values are clamped to [0, 1] (NaN → 0).
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
    for i in 0..n {
        let p = phase[i];
        if !p.is_finite() {
            continue;
        }
        let (s, c) = p.sin_cos();
        cos[i] = c;
        sin[i] = s;
        coh[i] = match coherence {
            Some(g) if g[i].is_finite() => g[i].clamp(0.0, 1.0),
            Some(_) => 0.0,
            None => 1.0,
        };
    }
    Ok(out)
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
        let phase = [0.0, FRAC_PI_2, PI, f32::NAN];
        let coh = [0.5, 2.0, f32::NAN, 0.9];
        let x = encode_phase(&phase, Some(&coh), 2, 2).expect("sizes match");
        let want = [
            1.0, 0.0, -1.0, 0.0, // cos
            0.0, 1.0, 0.0, 0.0, // sin
            0.5, 1.0, 0.0, 0.0, // coherence: clamped, NaN → 0, no-data → 0
        ];
        for (a, b) in x.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{x:?}");
        }
        let x = encode_phase(&phase, None, 2, 2).expect("sizes match");
        assert_eq!(&x[8..], &[1.0, 1.0, 1.0, 0.0]);
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

//! Planes and tiles to the network's `[3, H, W]` input (model::input's encodings), and the
//! zero padding that makes any image a multiple of the coarsest stride.

use detect_core::tiling::TileData;
use model::InputKind;
use model::config::MAX_STRIDE;

use crate::InputError;
use crate::filter::goldstein_phase;
use crate::planes::Planes;

/// The network input `[3, H, W]` of `planes` (`width × height`).
pub fn encode(planes: &Planes, width: usize, height: usize) -> Result<Vec<f32>, InputError> {
    match planes {
        Planes::Phase { phase, coherence } => Ok(model::input::encode_phase(
            phase,
            coherence.as_deref(),
            width,
            height,
        )?),
        Planes::Rgb(ch) => encode_rgb_planes(ch, width, height),
    }
}

/// Colour planes straight to `[3, H, W]` of byte / 255 (model::input::encode_rgb's values,
/// without a detour through interleaved bytes).
fn encode_rgb_planes(
    ch: &[Vec<f32>; 3],
    width: usize,
    height: usize,
) -> Result<Vec<f32>, InputError> {
    let n = width * height;
    if let Some(bad) = ch.iter().find(|c| c.len() != n) {
        return Err(model::ModelError::InputSize {
            what: "rgb",
            got: bad.len(),
            want: n,
            width,
            height,
        }
        .into());
    }
    Ok(ch
        .iter()
        .flatten()
        .map(|&v| f32::from(v.round().clamp(0.0, 255.0) as u8) / 255.0)
        .collect())
}

/// `width × height` rounded up to multiples of the coarsest stride, as `[height, width]`.
pub fn padded_size(width: usize, height: usize) -> [usize; 2] {
    let up = |s: usize| s.div_ceil(MAX_STRIDE).max(1) * MAX_STRIDE;
    [up(height), up(width)]
}

/// Encoded planes `[3, height, width]` zero-padded (bottom and right: no phase, no colour) to
/// [`padded_size`]; returns the padded tensor and its `[height, width]`.
pub fn pad_to_stride(encoded: Vec<f32>, width: usize, height: usize) -> (Vec<f32>, [usize; 2]) {
    let [ph, pw] = padded_size(width, height);
    if (pw, ph) == (width, height) {
        return (encoded, [ph, pw]);
    }
    let mut out = vec![0.0f32; 3 * pw * ph];
    if width == 0 || height == 0 {
        return (out, [ph, pw]);
    }
    for (c, plane) in encoded.chunks_exact(width * height).enumerate().take(3) {
        for (y, row) in plane.chunks_exact(width).enumerate() {
            let at = (c * ph + y) * pw;
            out[at..at + width].copy_from_slice(row);
        }
    }
    (out, [ph, pw])
}

/// The planes of one streamed tile: band 1 phase (no-data → NaN) and band 2 coherence when
/// the source has it, or three colour bands.
pub fn tile_planes(t: &TileData, kind: InputKind) -> Planes {
    let n = t.tile.pixels();
    let band = |b: usize| t.data.get(b * n..(b + 1) * n).map(<[f32]>::to_vec);
    match kind {
        InputKind::Rgb => {
            let plane = |b: usize| band(b).unwrap_or_else(|| vec![0.0; n]);
            Planes::Rgb([plane(0), plane(1), plane(2)])
        }
        InputKind::Phase => {
            let phase = t
                .data
                .iter()
                .zip(&t.valid)
                .take(n)
                .map(|(&p, &ok)| if ok { p } else { f32::NAN })
                .collect();
            let coherence = if t.bands > 1 { band(1) } else { None };
            Planes::Phase { phase, coherence }
        }
    }
}

/// One streamed tile as network input, Goldstein-filtered first when `goldstein` > 0.
pub fn encode_tile(t: &TileData, kind: InputKind, goldstein: f32) -> Result<Vec<f32>, InputError> {
    let (w, h) = (t.tile.width, t.tile.height);
    let mut planes = tile_planes(t, kind);
    if let (Planes::Phase { phase, .. }, true) = (&mut planes, goldstein > 0.0) {
        *phase = goldstein_phase(phase, w, h, goldstein)?;
    }
    encode(&planes, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reaches_the_coarsest_stride_and_keeps_the_corner() {
        assert_eq!(padded_size(416, 416), [416, 416]);
        assert_eq!(padded_size(33, 1), [32, 64]);
        let enc: Vec<f32> = (0..3 * 2 * 3).map(|v| v as f32 + 1.0).collect();
        let (out, [h, w]) = pad_to_stride(enc.clone(), 3, 2);
        assert_eq!([h, w], [MAX_STRIDE, MAX_STRIDE]);
        assert_eq!(&out[..3], &enc[..3]);
        assert_eq!(&out[w..w + 3], &enc[3..6]);
        assert_eq!(&out[h * w..h * w + 3], &enc[6..9]);
        assert_eq!(out.iter().filter(|&&v| v != 0.0).count(), enc.len());
    }

    #[test]
    fn rgb_planes_round_to_bytes_as_model_input_encodes_them() {
        let planes = Planes::Rgb([vec![255.0, 0.4], vec![0.0, 51.0], vec![254.6, -3.0]]);
        let x = encode(&planes, 2, 1).expect("sizes match");
        assert_eq!(x, vec![1.0, 0.0, 0.0, 0.2, 1.0, 0.0]);
        let rgb = [255, 0, 255, 0, 51, 0];
        assert_eq!(
            x,
            model::input::encode_rgb(&rgb, 2, 1).expect("sizes match")
        );
        let short = Planes::Rgb([vec![0.0; 2], vec![0.0; 2], vec![0.0; 1]]);
        assert!(encode(&short, 2, 1).is_err());
    }
}

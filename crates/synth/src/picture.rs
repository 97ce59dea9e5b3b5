//! Rendered pictures of simulated phase: the random choice of palette, offset and cycle
//! direction that users' pictures vary in, and box overlays for previews.

use crate::error::SynthError;
use crate::labels::PixBox;
use insar::{Colormap, render_phase};
use rand::Rng;
use serde::Serialize;
use std::path::Path;

/// How a picture was drawn.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RenderStyle {
    #[serde(serialize_with = "ser_cmap")]
    pub colormap: Colormap,
    pub offset_rad: f32,
    pub reverse: bool,
}

fn ser_cmap<S: serde::Serializer>(c: &Colormap, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.name())
}

/// Palette weights: jet (continuous and 64-level) and the GAMMA wheel dominate published
/// figures; HSV, MintPy's cmy, cyclic, twilight and grey less so.
const WEIGHTS: [(Colormap, f64); 8] = [
    (Colormap::Jet, 0.20),
    (Colormap::Jet64, 0.16),
    (Colormap::Gamma, 0.20),
    (Colormap::Hsv, 0.12),
    (Colormap::Cmy, 0.08),
    (Colormap::Cyclic, 0.10),
    (Colormap::Twilight, 0.08),
    (Colormap::Gray, 0.06),
];

/// Draws a style; `fixed` pins the palette (offset and direction stay random).
pub fn random_style<R: Rng>(rng: &mut R, fixed: Option<Colormap>) -> RenderStyle {
    let mut u = rng.random_range(0.0..1.0);
    let mut cmap = Colormap::Jet;
    for (c, w) in WEIGHTS {
        if u < w {
            cmap = c;
            break;
        }
        u -= w;
    }
    RenderStyle {
        colormap: fixed.unwrap_or(cmap),
        offset_rad: rng.random_range(-std::f32::consts::PI..std::f32::consts::PI),
        reverse: rng.random_bool(0.5),
    }
}

pub fn render(phase: &[f32], w: usize, h: usize, s: &RenderStyle) -> Vec<u8> {
    render_phase(phase, w, h, s.colormap, s.offset_rad, s.reverse)
}

/// Writes an 8-bit RGB PNG with the fast (fdeflate) compressor: a simulated picture is
/// mostly noise-like texture, where the default level costs several times the time for a
/// few per cent of size, and whole scenes are hundreds of megabytes of pixels.
pub fn write_png_fast(path: &Path, w: usize, h: usize, rgb: &[u8]) -> Result<(), SynthError> {
    let io = |e: std::io::Error| SynthError::io(path, e);
    let enc_err = |e: png::EncodingError| SynthError::io(path, std::io::Error::other(e));
    let (wu, hu) = (
        u32::try_from(w).map_err(|e| io(std::io::Error::other(e)))?,
        u32::try_from(h).map_err(|e| io(std::io::Error::other(e)))?,
    );
    let mut temp = raster::atomic::Pending::new(path);
    let file = std::fs::File::create(temp.tmp()).map_err(io)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), wu, hu);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().map_err(enc_err)?;
    writer.write_image_data(rgb).map_err(enc_err)?;
    writer.finish().map_err(enc_err)?;
    temp.commit().map_err(io)
}

/// Draws a box outline (`thick` px, inside the box) into an RGB picture.
pub fn draw_box(rgb: &mut [u8], w: usize, h: usize, b: &PixBox, color: [u8; 3], thick: usize) {
    let mut put = |c: usize, r: usize| {
        if c < w && r < h {
            rgb[3 * (r * w + c)..3 * (r * w + c) + 3].copy_from_slice(&color);
        }
    };
    for t in 0..thick {
        let (x1, y1) = (b.x1 + t, b.y1 + t);
        let (x2, y2) = (b.x2.saturating_sub(1 + t), b.y2.saturating_sub(1 + t));
        if x2 < x1 || y2 < y1 {
            break;
        }
        for c in x1..=x2 {
            put(c, y1);
            put(c, y2);
        }
        for r in y1..=y2 {
            put(x1, r);
            put(x2, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_outline_lies_on_the_box_edges() {
        let (w, h) = (10, 8);
        let mut rgb = vec![0u8; w * h * 3];
        let b = PixBox {
            x1: 2,
            y1: 1,
            x2: 6,
            y2: 5,
        };
        draw_box(&mut rgb, w, h, &b, [255, 0, 0], 1);
        let red = |c: usize, r: usize| rgb[3 * (r * w + c)] == 255;
        assert!(red(2, 1) && red(5, 1) && red(2, 4) && red(5, 4) && red(3, 4));
        assert!(!red(3, 2) && !red(6, 1) && !red(1, 1));
    }

    #[test]
    fn fast_png_reads_back() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("t.png");
        let rgb: Vec<u8> = (0..5 * 3 * 3).map(|i| (i * 17 % 256) as u8).collect();
        write_png_fast(&p, 5, 3, &rgb).expect("write");
        let pic = raster::read_picture(&p).expect("read");
        assert_eq!((pic.width, pic.height), (5, 3));
        let raster::Pixels::U8(back) = pic.pixels else {
            panic!("not 8-bit")
        };
        assert_eq!(back, rgb);
    }

    #[test]
    fn palette_weights_sum_to_one() {
        let s: f64 = WEIGHTS.iter().map(|w| w.1).sum();
        assert!((s - 1.0).abs() < 1e-12);
    }
}

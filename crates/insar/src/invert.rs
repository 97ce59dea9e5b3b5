//! Rendered pictures back to wrapped phase.
//!
//! A picture of wrapped phase drawn with a known palette is inverted pixel by pixel: the
//! phase is the position along the palette of the colour nearest (in RGB) to the pixel's.
//! The drawing's phase offset and cycle direction are not recovered: the detector is trained
//! with both at random. Pixels far from every palette colour (text, axes, margins, a
//! transparent alpha) become no-data (NaN), so a figure's decorations do not turn into phase.

use crate::colormap::Colormap;
use crate::error::InsarError;
use crate::phase::wrap;
use rayon::prelude::*;
use std::collections::HashMap;
use std::f32::consts::{PI, TAU};

/// Colour distance (Euclidean, 8-bit RGB levels) beyond which a pixel is not drawn with the
/// palette. JPEG at quality 75 moves saturated colours by up to ~30 levels at sharp fringes;
/// black text is ≥ 70 levels from every coloured palette.
pub const DEFAULT_TOLERANCE: f32 = 48.0;

/// Below this share of explained pixels no palette is accepted by [`choose`].
pub const MIN_EXPLAINED: f32 = 0.5;

/// Samples per continuous colormap: finer than the 8-bit colours can resolve on any of ours.
const SAMPLES: usize = 1024;

/// Pixels [`fit`] looks at: enough for a residual to two decimals, cheap for a whole scene.
const FIT_SAMPLES: usize = 40_000;

/// Alpha below which a pixel is transparent (no-data).
const OPAQUE: u8 = 128;

/// A palette: colours at equally spaced phases over one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub name: String,
    colors: Vec<[f32; 3]>,
}

impl Palette {
    /// The colours `cmap` draws, at the centres of `SAMPLES` equal phase bins (or of its
    /// levels when it is quantised, so each level inverts to its bin's centre).
    pub fn of(cmap: Colormap) -> Palette {
        let n = cmap.levels().unwrap_or(SAMPLES);
        let colors = (0..n)
            .map(|k| cmap.color((k as f32 + 0.5) / n as f32).map(f32::from))
            .collect();
        Palette {
            name: cmap.name().to_string(),
            colors,
        }
    }

    /// Every known colormap's palette, in [`Colormap::ALL`]'s order.
    pub fn known() -> Vec<Palette> {
        Colormap::ALL.into_iter().map(Palette::of).collect()
    }

    /// A user's palette: `colors` run from −π to π in equal steps.
    pub fn from_colors(name: &str, colors: &[[u8; 3]]) -> Result<Palette, InsarError> {
        let distinct: std::collections::HashSet<[u8; 3]> = colors.iter().copied().collect();
        if distinct.len() < 8 {
            return Err(InsarError::BadParameter {
                what: "palette colours",
                value: format!("{} distinct", distinct.len()),
                expected: "at least 8 distinct colours from −π to π",
            });
        }
        Ok(Palette {
            name: name.to_string(),
            colors: colors.iter().map(|c| c.map(f32::from)).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.colors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.colors.is_empty()
    }

    /// Phase of entry `k`: the centre of its bin.
    fn phase(&self, k: usize) -> f32 {
        (k as f32 + 0.5) / self.colors.len() as f32 * TAU - PI
    }

    /// Nearest entry to `rgb` and its distance.
    fn nearest(&self, rgb: [u8; 3]) -> (usize, f32) {
        let p = rgb.map(f32::from);
        let mut best = (0, f32::INFINITY);
        for (k, c) in self.colors.iter().enumerate() {
            let d = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2);
            if d < best.1 {
                best = (k, d);
            }
        }
        (best.0, best.1.sqrt())
    }
}

/// Interleaved 8-bit pixels: RGB (3 channels) or RGBA (4).
#[derive(Debug, Clone, Copy)]
pub struct Pixels<'a> {
    pub data: &'a [u8],
    pub channels: usize,
    pub width: usize,
    pub height: usize,
}

impl<'a> Pixels<'a> {
    /// Checks that `data` holds `width × height` pixels of 3 or 4 channels.
    pub fn new(
        data: &'a [u8],
        channels: usize,
        width: usize,
        height: usize,
    ) -> Result<Self, InsarError> {
        if channels != 3 && channels != 4 {
            return Err(InsarError::BadParameter {
                what: "picture channels",
                value: channels.to_string(),
                expected: "3 (RGB) or 4 (RGBA)",
            });
        }
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(channels));
        if expected != Some(data.len()) {
            return Err(InsarError::SizeMismatch {
                what: "picture",
                len: data.len(),
                w: width,
                h: height,
                expected: expected.unwrap_or(usize::MAX),
            });
        }
        Ok(Pixels {
            data,
            channels,
            width,
            height,
        })
    }

    fn len(&self) -> usize {
        self.width * self.height
    }

    /// Pixel `i`'s colour, `None` when transparent.
    fn rgb(&self, i: usize) -> Option<[u8; 3]> {
        let p = &self.data[i * self.channels..(i + 1) * self.channels];
        if self.channels == 4 && p[3] < OPAQUE {
            return None;
        }
        Some([p[0], p[1], p[2]])
    }
}

/// How well a palette explains a picture's colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// Share of the opaque sampled pixels within the tolerance of some palette colour.
    pub explained: f32,
    /// Median distance (8-bit RGB levels) of the explained pixels to their nearest colour.
    pub residual: f32,
}

/// Measures `palette` on up to `FIT_SAMPLES` pixels spread over the picture.
pub fn fit(pixels: &Pixels, palette: &Palette, tolerance: f32) -> Fit {
    let step = pixels.len().div_ceil(FIT_SAMPLES).max(1);
    let mut opaque = 0usize;
    let mut near: Vec<f32> = (0..pixels.len())
        .step_by(step)
        .filter_map(|i| pixels.rgb(i))
        .inspect(|_| opaque += 1)
        .map(|c| palette.nearest(c).1)
        .filter(|&d| d <= tolerance)
        .collect();
    if near.is_empty() {
        return Fit {
            explained: 0.0,
            residual: f32::INFINITY,
        };
    }
    let explained = near.len() as f32 / opaque.max(1) as f32;
    let mid = near.len() / 2;
    let (_, median, _) = near.select_nth_unstable_by(mid, f32::total_cmp);
    Fit {
        explained,
        residual: *median,
    }
}

/// The palette among `candidates` that explains the picture best: the largest explained
/// share, and among those within 0.02 of it the lowest residual (a 64-level jet picture is
/// explained by continuous jet too, but jet64's residual is smaller). Returns its index and
/// every candidate's fit; refuses when even the best explains less than [`MIN_EXPLAINED`].
pub fn choose(
    pixels: &Pixels,
    candidates: &[Palette],
    tolerance: f32,
) -> Result<(usize, Vec<Fit>), InsarError> {
    let fits: Vec<Fit> = candidates
        .par_iter()
        .map(|p| fit(pixels, p, tolerance))
        .collect();
    let top = fits.iter().map(|f| f.explained).fold(0.0f32, f32::max);
    let best = fits
        .iter()
        .enumerate()
        .filter(|(_, f)| f.explained >= top - 0.02)
        .min_by(|a, b| a.1.residual.total_cmp(&b.1.residual))
        .map(|(i, _)| i)
        .ok_or(InsarError::BadParameter {
            what: "colormap candidates",
            value: "none".into(),
            expected: "at least one palette",
        })?;
    if fits[best].explained < MIN_EXPLAINED {
        return Err(InsarError::NoPaletteFits {
            best: candidates[best].name.clone(),
            explained: fits[best].explained,
            residual: fits[best].residual,
            tolerance,
        });
    }
    Ok((best, fits))
}

/// Wrapped phase (radians, −π…π) of every pixel; NaN where the pixel is transparent or
/// farther than `tolerance` from every palette colour. Row-major, `width × height`.
pub fn invert(pixels: &Pixels, palette: &Palette, tolerance: f32) -> Vec<f32> {
    // Rows in parallel chunks, each with its own cache: pictures repeat their colours.
    const ROWS: usize = 32;
    let w = pixels.width;
    let mut out = vec![f32::NAN; pixels.len()];
    if w == 0 {
        return out;
    }
    out.par_chunks_mut(w * ROWS)
        .enumerate()
        .for_each(|(chunk, rows)| {
            let mut cache: HashMap<[u8; 3], f32> = HashMap::new();
            let first = chunk * w * ROWS;
            for (j, v) in rows.iter_mut().enumerate() {
                let Some(c) = pixels.rgb(first + j) else {
                    continue;
                };
                *v = *cache.entry(c).or_insert_with(|| {
                    let (k, d) = palette.nearest(c);
                    if d <= tolerance {
                        palette.phase(k)
                    } else {
                        f32::NAN
                    }
                });
            }
        });
    out
}

/// A palette from a CSV (or whitespace-separated) text of RGB rows, −π to π: 0–255 integers
/// or 0–1 fractions, an optional fourth (alpha) column ignored, `#` comments and a header row
/// of names allowed. Errors name the line.
pub fn parse_palette_text(text: &str) -> Result<Vec<[u8; 3]>, String> {
    let mut rows: Vec<[f64; 3]> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        let values: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
        let Ok(values) = values else {
            if rows.is_empty() {
                continue; // a header row of column names
            }
            return Err(format!("line {}: {line:?} is not numbers", n + 1));
        };
        if values.len() < 3 || values.len() > 4 {
            return Err(format!(
                "line {}: {} values, expected 3 (R, G, B) or 4 (R, G, B, A)",
                n + 1,
                values.len()
            ));
        }
        if values.iter().any(|v| !(0.0..=255.0).contains(v)) {
            return Err(format!("line {}: values outside 0–255", n + 1));
        }
        rows.push([values[0], values[1], values[2]]);
    }
    // Fractions when nothing exceeds 1 (a palette of only 0/1 integers reads the same).
    let scale = if rows.iter().flatten().all(|&v| v <= 1.0) {
        255.0
    } else {
        1.0
    };
    Ok(rows
        .iter()
        .map(|r| r.map(|v| (v * scale).round().clamp(0.0, 255.0) as u8))
        .collect())
}

/// A palette read off a colour-bar picture: along its longer side, each position's colour
/// averaged over the middle half of the shorter side (away from a frame or tick marks).
pub fn palette_from_colorbar(pixels: &Pixels) -> Vec<[u8; 3]> {
    let (w, h) = (pixels.width, pixels.height);
    let horizontal = w >= h;
    let (along, across) = if horizontal { (w, h) } else { (h, w) };
    let (lo, hi) = (across / 4, (3 * across / 4).max(across / 4 + 1).min(across));
    (0..along)
        .filter_map(|a| {
            let mut sum = [0u32; 3];
            let mut n = 0u32;
            for b in lo..hi {
                let i = if horizontal { b * w + a } else { a * w + b };
                if let Some(c) = pixels.rgb(i) {
                    for (s, v) in sum.iter_mut().zip(c) {
                        *s += u32::from(v);
                    }
                    n += 1;
                }
            }
            (n > 0).then(|| sum.map(|s| ((s + n / 2) / n) as u8))
        })
        .collect()
}

/// Error of recovered phase against the truth, up to the offset and cycle direction a
/// picture loses: the median |wrap(recovered − s·truth − c)| over pixels where both are
/// finite, minimised over the sign s and with c their circular mean difference. `None` when
/// no pixel is valid.
pub fn aligned_error(recovered: &[f32], truth: &[f32]) -> Option<f32> {
    [1.0f32, -1.0]
        .into_iter()
        .filter_map(|s| {
            let pairs: Vec<(f32, f32)> = recovered
                .iter()
                .zip(truth)
                .filter(|(r, t)| r.is_finite() && t.is_finite())
                .map(|(&r, &t)| (r, s * t))
                .collect();
            if pairs.is_empty() {
                return None;
            }
            let (sin, cos) = pairs.iter().fold((0.0f64, 0.0f64), |(a, b), (r, t)| {
                let d = f64::from(r - t);
                (a + d.sin(), b + d.cos())
            });
            let c = sin.atan2(cos) as f32;
            let mut err: Vec<f32> = pairs.iter().map(|(r, t)| wrap(r - t - c).abs()).collect();
            let mid = err.len() / 2;
            Some(*err.select_nth_unstable_by(mid, f32::total_cmp).1)
        })
        .min_by(f32::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::render_phase;

    /// A smooth test field: a bowl's fringes plus a tilt, several cycles.
    fn field(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let r2 = (x - w as f32 / 2.0).powi(2) + (y - h as f32 / 2.0).powi(2);
                wrap(-14.0 * (-r2 / 900.0).exp() + 0.05 * x)
            })
            .collect()
    }

    #[test]
    fn every_known_map_inverts_its_own_render() {
        let (w, h) = (96, 80);
        let truth = field(w, h);
        for cmap in Colormap::ALL {
            let rgb = render_phase(&truth, w, h, cmap, 0.7, true);
            let px = Pixels::new(&rgb, 3, w, h).expect("pixels");
            let got = invert(&px, &Palette::of(cmap), DEFAULT_TOLERANCE);
            let err = aligned_error(&got, &truth).expect("valid pixels");
            // Quantised jet64 bins are 2π/64 wide: median error ≈ a quarter bin.
            let bound = if cmap == Colormap::Jet64 { 0.04 } else { 0.02 };
            assert!(err < bound, "{cmap}: median error {err} rad");
        }
    }

    #[test]
    fn auto_choice_finds_the_map_it_was_drawn_with() {
        let (w, h) = (96, 80);
        let truth = field(w, h);
        let known = Palette::known();
        for cmap in Colormap::ALL {
            let rgb = render_phase(&truth, w, h, cmap, -1.3, false);
            let px = Pixels::new(&rgb, 3, w, h).expect("pixels");
            let (i, fits) = choose(&px, &known, DEFAULT_TOLERANCE).expect("a palette fits");
            // jet's colours include jet64's: either inverts a jet64 picture to its bins.
            let ok =
                known[i].name == cmap.name() || (cmap == Colormap::Jet64 && known[i].name == "jet");
            assert!(ok, "{cmap} chose {} ({fits:?})", known[i].name);
            assert!(
                fits[i].explained > 0.99 && fits[i].residual < 2.0,
                "{fits:?}"
            );
        }
    }

    #[test]
    fn decorations_and_transparency_are_nodata() {
        let (w, h) = (40, 30);
        let truth = field(w, h);
        let rgb = render_phase(&truth, w, h, Colormap::Jet, 0.0, false);
        let mut rgba: Vec<u8> = rgb
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect();
        rgba[3] = 0; // pixel 0 transparent
        rgba[4..8].copy_from_slice(&[0, 0, 0, 255]); // pixel 1 black text: far from jet
        let px = Pixels::new(&rgba, 4, w, h).expect("pixels");
        let got = invert(&px, &Palette::of(Colormap::Jet), DEFAULT_TOLERANCE);
        assert!(got[0].is_nan() && got[1].is_nan());
        assert_eq!(got.iter().filter(|v| v.is_nan()).count(), 2);
    }

    #[test]
    fn unknown_colours_are_refused() {
        // A picture in dark greens (a vegetation map, say): no known colormap
        // passes within the tolerance of most of them.
        let (w, h) = (64, 64);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let t = (i % w) as f32 / w as f32;
                [0, (50.0 + 40.0 * t) as u8, 0]
            })
            .collect();
        let px = Pixels::new(&rgb, 3, w, h).expect("pixels");
        let err = choose(&px, &Palette::known(), DEFAULT_TOLERANCE).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no known colormap"), "{msg}");
    }

    #[test]
    fn palette_text_and_colorbar() {
        let text = "r,g,b\n# a comment\n0,0,255\n0 255 255 255\n\n255;0;0\n";
        assert_eq!(
            parse_palette_text(text).expect("palette"),
            vec![[0, 0, 255], [0, 255, 255], [255, 0, 0]]
        );
        assert_eq!(
            parse_palette_text("0.5,1,0\n1 0 0\n").expect("fractions"),
            vec![[128, 255, 0], [255, 0, 0]]
        );
        let bad = parse_palette_text("1,2,3\n4,x,6\n").unwrap_err();
        assert!(bad.contains("line 2"), "{bad}");
        assert!(
            parse_palette_text("1,2\n")
                .unwrap_err()
                .contains("2 values")
        );

        // A vertical bar 6 wide with a black frame column at each side.
        let (w, h) = (6, 50);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                if x == 0 || x == w - 1 {
                    [0, 0, 0]
                } else {
                    Colormap::Hsv.color((y as f32 + 0.5) / h as f32)
                }
            })
            .collect();
        let px = Pixels::new(&rgb, 3, w, h).expect("pixels");
        let bar = palette_from_colorbar(&px);
        assert_eq!(bar.len(), h);
        assert_eq!(bar[0], Colormap::Hsv.color(0.5 / h as f32));
        let pal = Palette::from_colors("bar", &bar).expect("palette");
        assert_eq!(pal.len(), h);
        assert!(Palette::from_colors("flat", &[[1, 2, 3]; 20]).is_err());
    }

    #[test]
    fn aligned_error_ignores_offset_and_sign() {
        let truth = field(30, 20);
        let moved: Vec<f32> = truth.iter().map(|t| wrap(-t + 2.0)).collect();
        assert!(aligned_error(&moved, &truth).expect("valid") < 1e-5);
        assert_eq!(aligned_error(&[f32::NAN], &[0.0]), None);
        assert!(Pixels::new(&[0; 5], 3, 2, 1).is_err());
        assert!(Pixels::new(&[0; 4], 2, 2, 1).is_err());
    }
}

//! Pictures as phase: what `--colormap` names, and the inversion of a picture's colours to
//! wrapped phase (`insar::invert`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use insar::Colormap;
use insar::invert::{self, DEFAULT_TOLERANCE, Fit, Palette, Pixels};

use crate::InputError;
use crate::spec::is_picture_file;

/// Help text shared by every `--colormap`.
pub const COLORMAP_HELP: &str = "How a picture's colours become wrapped phase for a model \
trained on phase: auto (the known colormap that explains the colours best; refused when none \
does), a name (cyclic = cmocean phase, jet, jet64, hsv, gamma = GAMMA/SNAP wheel, gray, \
twilight, cmy = MintPy/ISCE), or a palette file: a CSV of R,G,B rows from -pi to pi (0-255 or \
0-1), or a picture of the colour bar. Offset and direction need not match: the model does \
not depend on them.";

/// What `--colormap` names.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum ColormapSpec {
    #[default]
    Auto,
    Known(Colormap),
    File(PathBuf),
}

impl FromStr for ColormapSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(ColormapSpec::Auto);
        }
        if let Ok(c) = s.parse::<Colormap>() {
            return Ok(ColormapSpec::Known(c));
        }
        let p = PathBuf::from(s);
        if p.is_file() {
            return Ok(ColormapSpec::File(p));
        }
        Err(format!(
            "{s:?} is neither auto, a known colormap ({}) nor an existing palette file",
            Colormap::ALL.map(|c| c.name()).join(", ")
        ))
    }
}

impl fmt::Display for ColormapSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColormapSpec::Auto => f.write_str("auto"),
            ColormapSpec::Known(c) => f.write_str(c.name()),
            ColormapSpec::File(p) => write!(f, "{}", p.display()),
        }
    }
}

// Stored as the text the user gave, so a run's config.json reads like its command line; a
// palette file that has gone missing since is reported when a picture needs it, not on load.
impl serde::Serialize for ColormapSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ColormapSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.parse()
            .unwrap_or_else(|_| ColormapSpec::File(PathBuf::from(s))))
    }
}

/// A picture turned into wrapped phase.
#[derive(Clone, Debug)]
pub struct Inverted {
    pub width: usize,
    pub height: usize,
    /// Radians, NaN where the pixel is transparent or far from every palette colour.
    pub phase: Vec<f32>,
    pub palette: String,
    pub fit: Fit,
}

impl Inverted {
    /// One line for the user: which palette, how well it fits, how much is no-data.
    pub fn summary(&self) -> String {
        let nodata = self.phase.iter().filter(|v| v.is_nan()).count();
        format!(
            "picture read as wrapped phase with colormap {} ({:.0}% of pixels explained, median \
             colour distance {:.1}; {:.1}% no-data)",
            self.palette,
            self.fit.explained * 100.0,
            self.fit.residual,
            100.0 * nodata as f64 / self.phase.len().max(1) as f64
        )
    }
}

/// Reads the picture at `path` and inverts it with `spec`. Only PNG and JPEG are pictures:
/// 8-bit rasters of other formats (a byte GeoTIFF, a GAMMA byte `.cc`) are refused with what
/// to give instead.
pub fn invert_picture(path: &Path, spec: &ColormapSpec) -> Result<Inverted, InputError> {
    if !is_picture_file(path) {
        return Err(InputError::invalid(
            path,
            "8-bit data is not phase, and only PNG/JPEG pictures are read back to phase: give \
             wrapped phase (float32 radians) or a complex interferogram; a byte coherence \
             raster goes to --coherence",
        ));
    }
    let (w, h, channels, data) = raster::read_picture_rgba(path)?;
    invert_samples(w, h, channels, &data, spec, path)
}

/// Inverts a picture already read (`raster::read_picture_rgba`'s samples of the file at
/// `path`, named in errors) with `spec`.
pub fn invert_samples(
    width: usize,
    height: usize,
    channels: usize,
    samples: &[u8],
    spec: &ColormapSpec,
    path: &Path,
) -> Result<Inverted, InputError> {
    let pixels =
        Pixels::new(samples, channels, width, height).map_err(|e| InputError::insar(path, e))?;
    let (palette, fit) = palette_for(spec, &pixels, path)?;
    Ok(Inverted {
        width,
        height,
        phase: invert::invert(&pixels, &palette, DEFAULT_TOLERANCE),
        palette: palette.name,
        fit,
    })
}

/// The palette `spec` names, and how well it fits `pixels` (the picture at `path`).
pub fn palette_for(
    spec: &ColormapSpec,
    pixels: &Pixels,
    path: &Path,
) -> Result<(Palette, Fit), InputError> {
    let palette = match spec {
        ColormapSpec::Auto => {
            let mut known = Palette::known();
            let (i, fits) = invert::choose(pixels, &known, DEFAULT_TOLERANCE)
                .map_err(|e| InputError::insar(path, e))?;
            return Ok((known.swap_remove(i), fits[i]));
        }
        ColormapSpec::Known(c) => Palette::of(*c),
        ColormapSpec::File(p) => read_palette(p)?,
    };
    let fit = invert::fit(pixels, &palette, DEFAULT_TOLERANCE);
    if fit.explained < invert::MIN_EXPLAINED {
        return Err(InputError::invalid(
            path,
            format!(
                "colormap {} explains only {:.0}% of the picture's pixels (median colour \
                 distance {:.1}): is it the one the picture was drawn with? Try --colormap auto",
                palette.name,
                fit.explained * 100.0,
                fit.residual
            ),
        ));
    }
    Ok((palette, fit))
}

/// A user palette: a picture of the colour bar (`.png`/`.jpg`) or a text of RGB rows.
fn read_palette(path: &Path) -> Result<Palette, InputError> {
    let name = path.display().to_string();
    let colors = if is_picture_file(path) {
        let (w, h, channels, data) = raster::read_picture_rgba(path)?;
        let bar = Pixels::new(&data, channels, w, h).map_err(|e| InputError::insar(path, e))?;
        invert::palette_from_colorbar(&bar)
    } else {
        let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        invert::parse_palette_text(&text)
            .map_err(|e| InputError::invalid(path, format!("palette: {e}")))?
    };
    Palette::from_colors(&name, &colors).map_err(|e| InputError::insar(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte GeoTIFF given as a scene once failed with "the image format Tiff is not
    /// supported"; now the message says what to give.
    #[test]
    fn a_byte_geotiff_is_not_taken_for_a_picture() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tif = dir.path().join("coherence.tif");
        raster::write_geotiff_u8(&tif, 4, 3, 1, &[200; 12], None, None).expect("tif");
        let e = invert_picture(&tif, &ColormapSpec::Auto).expect_err("not a picture");
        let msg = e.to_string();
        assert!(
            msg.contains("coherence.tif") && msg.contains("--coherence"),
            "{msg}"
        );
    }

    #[test]
    fn spec_parses_names_files_and_refuses_others() {
        assert_eq!("AUTO".parse::<ColormapSpec>(), Ok(ColormapSpec::Auto));
        assert_eq!(
            "dismph".parse::<ColormapSpec>(),
            Ok(ColormapSpec::Known(Colormap::Gamma))
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("bar.csv");
        std::fs::write(&f, "0,0,0\n").expect("write");
        assert_eq!(
            f.to_str().expect("utf-8").parse::<ColormapSpec>(),
            Ok(ColormapSpec::File(f.clone()))
        );
        let err = "viridis".parse::<ColormapSpec>().unwrap_err();
        assert!(
            err.contains("jet64") && err.contains("palette file"),
            "{err}"
        );
    }

    #[test]
    fn spec_round_trips_through_its_text() {
        for spec in [
            ColormapSpec::Auto,
            ColormapSpec::Known(Colormap::Jet64),
            ColormapSpec::File(PathBuf::from("/no/such/bar.csv")),
        ] {
            let text = spec.to_string();
            let back: ColormapSpec = text
                .parse()
                .unwrap_or_else(|_| ColormapSpec::File(PathBuf::from(&text)));
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn a_csv_palette_inverts_a_picture_drawn_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("hsv.csv");
        let rows: String = (0..64)
            .map(|k| {
                let [r, g, b] = Colormap::Hsv.color((k as f32 + 0.5) / 64.0);
                format!("{r},{g},{b}\n")
            })
            .collect();
        std::fs::write(&csv, rows).expect("write");
        let (w, h) = (64, 8);
        let truth: Vec<f32> = (0..w * h)
            .map(|i| insar::wrap((i % w) as f32 * 0.3))
            .collect();
        let rgb = insar::render_phase(&truth, w, h, Colormap::Hsv, 0.0, false);
        let png = dir.path().join("pic.png");
        raster::write_png_rgb(&png, w, h, &rgb).expect("png");
        let inv = invert_picture(&png, &ColormapSpec::File(csv)).expect("inverted");
        let err = invert::aligned_error(&inv.phase, &truth).expect("valid");
        assert!(err < 0.06, "median error {err}");
        assert!(inv.summary().contains("hsv.csv"), "{}", inv.summary());
        // Named wrongly, the picture is refused rather than misread.
        let wrong = invert_picture(&png, &ColormapSpec::Known(Colormap::Gray)).err();
        let msg = wrong.expect("refused").to_string();
        assert!(
            msg.contains("pic.png") && msg.contains("explains only"),
            "{msg}"
        );
    }
}

//! What the user says about an input, free of any command-line library: the commands map
//! their options onto [`InputSpec`], and [`Kind::guess`] fills in what they leave to `auto`.

use std::path::{Path, PathBuf};

use raster::Pixels;

use crate::picture::ColormapSpec;

/// What an input's values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Decide from the pixel type and the file name ([`Kind::guess`]).
    Auto,
    /// Wrapped phase in radians.
    Wrapped,
    /// Unwrapped phase in radians (wrapped here).
    Unwrapped,
    /// Line-of-sight displacement in metres (turned into phase with the wavelength).
    Los,
    /// A complex interferogram (its argument is the phase).
    Complex,
    /// A rendered picture (8-bit colours).
    Picture,
}

/// File extensions read as pictures.
pub const PICTURE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Lower-case extension of `path` ("" when none).
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default()
}

/// Whether `path` names a picture by its extension.
pub fn is_picture_file(path: &Path) -> bool {
    PICTURE_EXTENSIONS.contains(&extension(path).as_str())
}

impl Kind {
    /// Every kind, with the name users type.
    pub const NAMES: [(Kind, &'static str); 6] = [
        (Kind::Auto, "auto"),
        (Kind::Wrapped, "wrapped"),
        (Kind::Unwrapped, "unwrapped"),
        (Kind::Los, "los"),
        (Kind::Complex, "complex"),
        (Kind::Picture, "picture"),
    ];

    /// The kind of a raster whose first pixels are `pixels`: complex and 8-bit data say it
    /// themselves; float data are unwrapped phase or LOS displacement when the file *name*
    /// says so (a word starting `unw`; `los`, or a word starting `disp`), else wrapped phase.
    /// Only the name counts, never the folders: `surveys/carlos/scene.tif` and
    /// `unw_runs/x.tif` are wrapped phase, `x.unw.tif` unwrapped.
    pub fn guess(path: &Path, pixels: &Pixels) -> Kind {
        match pixels {
            Pixels::C32(_) => Kind::Complex,
            Pixels::U8(_) => Kind::Picture,
            Pixels::F32(_) => Kind::from_name(path).unwrap_or(Kind::Wrapped),
        }
    }

    /// What the file name alone says about float data, if anything.
    pub fn from_name(path: &Path) -> Option<Kind> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        let words: Vec<&str> = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if words.iter().any(|w| w.starts_with("unw")) {
            Some(Kind::Unwrapped)
        } else if words.iter().any(|w| *w == "los" || w.starts_with("disp")) {
            Some(Kind::Los)
        } else {
            None
        }
    }

    /// `self`, or the guess when `self` is [`Kind::Auto`].
    pub fn resolve(self, path: &Path, pixels: &Pixels) -> Kind {
        match self {
            Kind::Auto => Kind::guess(path, pixels),
            k => k,
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Kind::NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|&(k, _)| k)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::NAMES.iter().map(|&(_, n)| n).collect();
                format!("{s:?} is not a kind of input: one of {}", names.join(", "))
            })
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = Kind::NAMES
            .iter()
            .find(|&&(k, _)| k == *self)
            .map_or("auto", |&(_, n)| n);
        f.write_str(name)
    }
}

/// How to read one input (a scene, a tile or a picture) as network input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    /// What the values are.
    pub kind: Kind,
    /// The band holding them, from 1.
    pub band: usize,
    /// For pictures and a model trained on phase: the colormap they were drawn with.
    pub colormap: ColormapSpec,
    /// Radar wavelength in metres, for LOS displacement.
    pub wavelength: f64,
    /// A coherence raster on the same grid (the third input channel; 1 where absent).
    pub coherence: Option<PathBuf>,
    /// Goldstein filter strength α applied before encoding; 0 = off.
    pub goldstein: f32,
    /// Width of a GAMMA raw raster when no `.par` lies beside it.
    pub width: Option<usize>,
    /// A no-data value overriding the file's own.
    pub nodata: Option<f64>,
}

impl Default for InputSpec {
    fn default() -> Self {
        Self {
            kind: Kind::Auto,
            band: 1,
            colormap: ColormapSpec::Auto,
            wavelength: insar::S1_WAVELENGTH,
            coherence: None,
            goldstein: 0.0,
            width: None,
            nodata: None,
        }
    }
}

impl InputSpec {
    /// The options `raster::open_any` / `read_any_with` need.
    pub fn read_options(&self) -> raster::ReadOptions {
        raster::ReadOptions {
            width: self.width,
            ..raster::ReadOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float() -> Pixels {
        Pixels::F32(vec![0.0])
    }

    #[test]
    fn kind_comes_from_the_file_name_not_the_folders() {
        let wrapped = [
            "surveys/carlos/scene.tif",
            "data/los/scene.tif",
            "unw_runs/x.tif",
            "/tmp/disp/phase.tif",
            "closed_mine.tif",
        ];
        for p in wrapped {
            assert_eq!(Kind::guess(Path::new(p), &float()), Kind::Wrapped, "{p}");
        }
        let unwrapped = [
            "x.unw.tif",
            "run/20200101_20200113.geo.unw.tif",
            "S1_unw_phase.tif",
        ];
        for p in unwrapped {
            assert_eq!(Kind::guess(Path::new(p), &float()), Kind::Unwrapped, "{p}");
        }
        for p in ["a/b/S1_los_disp.tif", "displacement.tif", "x.los.tif"] {
            assert_eq!(Kind::guess(Path::new(p), &float()), Kind::Los, "{p}");
        }
    }

    #[test]
    fn kinds_parse_from_and_print_as_their_names() {
        for (k, n) in Kind::NAMES {
            assert_eq!(n.parse::<Kind>(), Ok(k));
            assert_eq!(k.to_string(), n);
        }
        assert_eq!("LOS".parse::<Kind>(), Ok(Kind::Los));
        let e = "phase".parse::<Kind>().expect_err("not a kind");
        assert!(e.contains("wrapped") && e.contains("picture"), "{e}");
    }

    #[test]
    fn pixel_type_decides_before_the_name() {
        let p = Path::new("x.unw.tif");
        let z = Pixels::C32(vec![raster::Complex32::new(1.0, 0.0)]);
        assert_eq!(Kind::guess(p, &z), Kind::Complex);
        assert_eq!(Kind::guess(p, &Pixels::U8(vec![0])), Kind::Picture);
        assert_eq!(Kind::Los.resolve(p, &float()), Kind::Los);
        assert_eq!(Kind::Auto.resolve(p, &float()), Kind::Unwrapped);
    }
}

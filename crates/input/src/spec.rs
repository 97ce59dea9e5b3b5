//! What the user says about an input, free of any command-line library: the commands map
//! their options onto [`InputSpec`], and [`Kind::guess`] fills in what they leave to `auto`.

use std::path::{Path, PathBuf};

use raster::Pixels;
pub use raster::band::BandChoice;

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
    /// Vertical displacement in metres, up positive (HyP3 `*_vert_disp.tif`): LOS
    /// displacement only with an incidence angle (LOS = vertical × cos(incidence)).
    Vertical,
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
    pub const NAMES: [(Kind, &'static str); 7] = [
        (Kind::Auto, "auto"),
        (Kind::Wrapped, "wrapped"),
        (Kind::Unwrapped, "unwrapped"),
        (Kind::Los, "los"),
        (Kind::Vertical, "vertical"),
        (Kind::Complex, "complex"),
        (Kind::Picture, "picture"),
    ];

    /// The kind of a raster whose first pixels are `pixels`: complex and 8-bit data say it
    /// themselves; float data are vertical displacement, unwrapped phase or LOS
    /// displacement when the file *name* says so (a word `vert` or starting `vertical`; a
    /// word starting `unw`; `los`, or a word starting `disp`), else wrapped phase.
    /// Only the name counts, never the folders: `surveys/carlos/scene.tif` and
    /// `unw_runs/x.tif` are wrapped phase, `x.unw.tif` unwrapped.
    pub fn guess(path: &Path, pixels: &Pixels) -> Kind {
        Kind::guess_band(path, None, pixels)
    }

    /// [`Kind::guess`], asking the band's name too when the file name says nothing (SNAP's
    /// `Unw_Phase_ifg_…` or `displacement` bands in a `.dim` named after the product).
    pub fn guess_band(path: &Path, band_name: Option<&str>, pixels: &Pixels) -> Kind {
        match pixels {
            Pixels::C32(_) => Kind::Complex,
            Pixels::U8(_) => Kind::Picture,
            Pixels::F32(_) => Kind::from_name(path)
                .or_else(|| band_name.and_then(Kind::from_text))
                .unwrap_or(Kind::Wrapped),
        }
    }

    /// What the file name alone says about float data, if anything.
    pub fn from_name(path: &Path) -> Option<Kind> {
        Kind::from_text(&path.file_name()?.to_string_lossy())
    }

    /// What a file or band name says about float data, if anything.
    pub fn from_text(name: &str) -> Option<Kind> {
        let name = name.to_lowercase();
        let words: Vec<&str> = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        // HyP3 names vertical displacement `…_vert_disp.tif`: vertical before `disp`.
        if words
            .iter()
            .any(|w| *w == "vert" || w.starts_with("vertical"))
        {
            Some(Kind::Vertical)
        } else if words.iter().any(|w| w.starts_with("unw")) {
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

/// Connected-component rasters of an unwrapping (ISCE `*.unw.conncomp`, SNAPHU's) are
/// no phase; the reason, for a file named like one.
pub fn not_phase(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    name.contains("conncomp").then_some(
        "holds the connected components of a phase unwrapping (ISCE/SNAPHU), not phase: \
         give the unwrapped phase beside it (the .unw) or the interferogram",
    )
}

/// How to read one input (a scene, a tile or a picture) as network input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    /// What the values are.
    pub kind: Kind,
    /// The band holding them, by number (from 1) or name; `None`: the only band, or the
    /// one the format's convention names (ISCE `.unw`: band 2; SNAP: the phase band or the
    /// i/q pair). A raster of several bands and no convention is refused, its bands listed.
    pub band: Option<BandChoice>,
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
    /// Incidence angle in degrees from the vertical, to read vertical displacement as LOS
    /// (LOS = vertical × cos(incidence); uplift is motion towards the satellite).
    pub incidence: Option<f64>,
}

impl Default for InputSpec {
    fn default() -> Self {
        Self {
            kind: Kind::Auto,
            band: None,
            colormap: ColormapSpec::Auto,
            wavelength: insar::S1_WAVELENGTH,
            coherence: None,
            goldstein: 0.0,
            width: None,
            nodata: None,
            incidence: None,
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

    /// The band by number for a reader over all bands (`raster::open_any`): the one
    /// given by number, else 1. Readers from `raster::open_band` hold the chosen band alone.
    pub fn band_number(&self) -> usize {
        match self.band {
            Some(BandChoice::Number(n)) => n,
            _ => 1,
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
        // HyP3 writes both beside each other: only the LOS one is LOS.
        let hyp3 = "S1AA_20200101T050000_20200113T050000_VVP012_INT80_G_ueF_1A2B";
        for (suffix, kind) in [
            ("los_disp", Kind::Los),
            ("vert_disp", Kind::Vertical),
            ("unw_phase", Kind::Unwrapped),
            ("wrapped_phase", Kind::Wrapped),
        ] {
            let p = format!("{hyp3}_{suffix}.tif");
            assert_eq!(Kind::guess(Path::new(&p), &float()), kind, "{p}");
        }
        assert_eq!(
            Kind::from_name(Path::new("vertical_2020.tif")),
            Some(Kind::Vertical)
        );
        assert_eq!(Kind::from_name(Path::new("convert.tif")), None);
    }

    #[test]
    fn band_names_speak_when_the_file_name_does_not() {
        let p = Path::new("S1_20200101_20200113.dim");
        let unw = Some("Unw_Phase_ifg_VV_01Jan2020_13Jan2020");
        assert_eq!(Kind::guess_band(p, unw, &float()), Kind::Unwrapped);
        let wrapped = Some("Phase_ifg_VV_01Jan2020_13Jan2020");
        assert_eq!(Kind::guess_band(p, wrapped, &float()), Kind::Wrapped);
        assert_eq!(
            Kind::guess_band(p, Some("displacement"), &float()),
            Kind::Los
        );
        // The file name comes first.
        let los = Path::new("x_los.dim");
        assert_eq!(Kind::guess_band(los, unw, &float()), Kind::Los);
        assert!(not_phase(Path::new("m/filt_topophase.unw.conncomp")).is_some());
        assert!(not_phase(Path::new("m/filt_topophase.unw")).is_none());
    }

    #[test]
    fn band_numbers_for_readers_over_all_bands() {
        let mut spec = InputSpec::default();
        assert_eq!(spec.band_number(), 1);
        spec.band = Some(BandChoice::Number(3));
        assert_eq!(spec.band_number(), 3);
        spec.band = Some(BandChoice::Name("coh".into()));
        assert_eq!(spec.band_number(), 1);
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

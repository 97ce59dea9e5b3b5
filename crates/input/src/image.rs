//! One image read whole into planes: a phase tile (with its coherence) or a picture, as
//! `predict` and training (and its validation) read them.

use std::path::Path;

use model::InputKind;
use raster::{GeoInfo, Pixels, Raster};

use crate::InputError;
use crate::coherence;
use crate::filter::goldstein_phase;
use crate::phase::{PhaseReading, los_factor, masked_phase, vertical_to_los};
use crate::picture::invert_samples;
use crate::planes::{Planes, rgb_planes};
use crate::spec::{InputSpec, Kind, is_picture_file, not_phase};

/// An image in memory, ready to augment or encode.
#[derive(Clone, Debug)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub planes: Planes,
    /// What the file held (resolved, never `Auto`).
    pub kind: Kind,
    /// For a picture read back to phase: which colormap, how well it fitted.
    pub inversion: Option<String>,
    pub geo: Option<GeoInfo>,
    /// A picture's own colours (interleaved RGB), to draw on; `None` for rasters.
    pub picture: Option<Vec<u8>>,
}

impl Image {
    /// The network input `[3, H, W]` of the whole image.
    pub fn encode(&self) -> Result<Vec<f32>, InputError> {
        self.planes.encode(self.width, self.height)
    }
}

/// What a model trained on `model` input is fed from a file of `kind`: pictures go in as
/// colours to a picture model and as phase (through their colormap) to a phase model.
pub fn data_input(kind: Kind, model: InputKind) -> InputKind {
    match (kind, model) {
        (Kind::Picture, InputKind::Rgb) => InputKind::Rgb,
        _ => InputKind::Phase,
    }
}

/// The kind of the file at `path` as far as its name tells (pictures by extension, then
/// `spec.kind`), for checking a model against inputs before reading them.
pub fn kind_by_name(path: &Path, spec: &InputSpec) -> Kind {
    match spec.kind {
        Kind::Auto if is_picture_file(path) => Kind::Picture,
        Kind::Auto => Kind::from_name(path).unwrap_or(Kind::Wrapped),
        k => k,
    }
}

/// Reads the image at `path` for a model trained on `model` input: phase (coherence from
/// `coherence`, else `spec.coherence`, else none) or, for a picture, its colours or its
/// phase through `spec.colormap`. Of a raster with several bands, the band `spec.band`
/// names (or the format's phase band) is read; see `raster::open_band`.
pub fn load_image(
    path: &Path,
    coherence: Option<&Path>,
    spec: &InputSpec,
    model: InputKind,
) -> Result<Image, InputError> {
    let picture_file = is_picture_file(path) && matches!(spec.kind, Kind::Auto | Kind::Picture);
    // A picture is decoded once: its samples (alpha included) feed the inversion.
    let (raster, samples, band_name) = if picture_file {
        let (width, height, channels, samples) = raster::read_picture_rgba(path)?;
        let raster = raster::picture_raster(width, height, channels, &samples);
        (raster, Some((channels, samples)), None)
    } else {
        refuse_non_phase(path, spec)?;
        let mut reader = raster::open_band(path, &spec.read_options(), spec.band.as_ref())?;
        let name = reader.band_names().into_iter().next().flatten();
        (reader.read_all()?, None, name)
    };
    let kind = match spec.kind {
        Kind::Auto => Kind::guess_band(path, band_name.as_deref(), &raster.pixels),
        k => k,
    };
    let (width, height) = (raster.width, raster.height);
    let coherence = coherence.or(spec.coherence.as_deref());
    let mut inversion = None;
    let planes = match data_input(kind, model) {
        InputKind::Rgb => Planes::Rgb(rgb_planes(&raster, path)?),
        InputKind::Phase if kind == Kind::Picture => {
            let inv = match &samples {
                Some((channels, samples)) => {
                    invert_samples(width, height, *channels, samples, &spec.colormap, path)?
                }
                None => crate::picture::invert_picture(path, &spec.colormap)?,
            };
            inversion = Some(inv.summary());
            phase_planes(inv.phase, coherence, path, (width, height), spec)?
        }
        InputKind::Phase => {
            check_model(model, path)?;
            let phase = one_band_phase(&raster, kind, spec, path)?;
            phase_planes(phase, coherence, path, (width, height), spec)?
        }
    };
    let picture = match (kind, raster.pixels) {
        (Kind::Picture, Pixels::U8(rgb)) if raster.bands == 3 => Some(rgb),
        _ => None,
    };
    Ok(Image {
        width,
        height,
        planes,
        kind,
        inversion,
        geo: raster.geo,
        picture,
    })
}

/// How `spec` reads phase out of a raster of `kind` read over all its bands
/// (`raster::open_any`): the band given by number, else 1.
pub(crate) fn reading(kind: Kind, spec: &InputSpec) -> PhaseReading {
    PhaseReading {
        kind,
        band: spec.band_number(),
        nodata: spec.nodata,
        wavelength: spec.wavelength,
    }
}

/// How `spec` reads phase out of a one-band raster (what `raster::open_band` gives) of
/// `kind`, and the factor turning its samples into LOS first (vertical displacement).
pub(crate) fn one_band_reading(
    kind: Kind,
    spec: &InputSpec,
    path: &Path,
) -> Result<(PhaseReading, Option<f32>), InputError> {
    let factor = los_factor(kind, spec.incidence, path)?;
    let how = PhaseReading {
        kind: if factor.is_some() { Kind::Los } else { kind },
        band: 1,
        ..reading(kind, spec)
    };
    Ok((how, factor))
}

/// Masked wrapped phase of a one-band raster of `kind`.
fn one_band_phase(
    r: &Raster,
    kind: Kind,
    spec: &InputSpec,
    path: &Path,
) -> Result<Vec<f32>, InputError> {
    let (how, factor) = one_band_reading(kind, spec, path)?;
    match factor {
        Some(f) => masked_phase(&vertical_to_los(r.clone(), f), &how, path),
        None => masked_phase(r, &how, path),
    }
}

/// Refuses, before reading it, a raster whose name says it holds no phase (connected
/// components), unless the user said what it holds.
pub(crate) fn refuse_non_phase(path: &Path, spec: &InputSpec) -> Result<(), InputError> {
    match (spec.kind, not_phase(path)) {
        (Kind::Auto, Some(why)) => Err(InputError::invalid(path, why)),
        _ => Ok(()),
    }
}

/// A picture model is never fed phase.
fn check_model(model: InputKind, path: &Path) -> Result<(), InputError> {
    model::input::check_input_kind(model, InputKind::Phase).map_err(|e| InputError::model(path, e))
}

fn phase_planes(
    phase: Vec<f32>,
    coherence: Option<&Path>,
    path: &Path,
    size: (usize, usize),
    spec: &InputSpec,
) -> Result<Planes, InputError> {
    let phase = if spec.goldstein > 0.0 {
        goldstein_phase(&phase, size.0, size.1, spec.goldstein)
            .map_err(|e| InputError::insar(path, e))?
    } else {
        phase
    };
    let coherence = coherence
        .map(|c| coherence::read(c, path, size))
        .transpose()?;
    Ok(Planes::Phase { phase, coherence })
}

/// Masked wrapped phase of an in-memory raster (a tile the caller already holds) read from
/// `path`, as `spec` says (its kind guessed when `Auto`; no filter, no coherence). Its band
/// is `spec.band` by number; a raster of several bands needs one (names need the file:
/// read it with `raster::open_band`).
pub fn raster_phase(r: &Raster, path: &Path, spec: &InputSpec) -> Result<Vec<f32>, InputError> {
    let kind = spec.kind.resolve(path, &r.pixels);
    let band = raster::band::resolve(path, &vec![None; r.bands.max(1)], None, spec.band.as_ref())?;
    let (how, factor) = one_band_reading(kind, spec, path)?;
    let how = PhaseReading { band, ..how };
    match factor {
        Some(f) => masked_phase(&vertical_to_los(r.clone(), f), &how, path),
        None => masked_phase(r, &how, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_tile_with_byte_coherence_and_picture_both_ways() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (8, 4);
        let truth: Vec<f32> = (0..w * h).map(|i| insar::wrap(i as f32 * 0.4)).collect();
        let tif = dir.path().join("t.tif");
        raster::write_geotiff_f32(&tif, w, h, &truth, None, None).expect("tif");
        let cc = dir.path().join("t.cc.tif");
        raster::write_geotiff_u8(&cc, w, h, 1, &vec![255u8; w * h], None, None).expect("cc");
        let spec = InputSpec::default();
        let img = load_image(&tif, Some(cc.as_path()), &spec, InputKind::Phase).expect("phase");
        assert_eq!((img.width, img.height, img.kind), (w, h, Kind::Wrapped));
        let want = Planes::Phase {
            phase: truth.clone(),
            coherence: Some(vec![1.0; w * h]),
        };
        assert_eq!(img.planes, want);
        let e = load_image(&tif, None, &spec, InputKind::Rgb).expect_err("picture model");
        assert!(e.to_string().contains("t.tif"), "{e}");

        let (pw, ph) = (64, 16);
        let truth: Vec<f32> = (0..pw * ph)
            .map(|i| insar::wrap((i % pw) as f32 * 0.3))
            .collect();
        let rgb = insar::render_phase(&truth, pw, ph, insar::Colormap::Jet, 0.0, false);
        let png = dir.path().join("p.png");
        raster::write_png_rgb(&png, pw, ph, &rgb).expect("png");
        let colours = load_image(&png, None, &spec, InputKind::Rgb).expect("colours");
        assert!(matches!(colours.planes, Planes::Rgb(_)) && colours.inversion.is_none());
        assert_eq!(colours.picture.as_deref(), Some(rgb.as_slice()));
        let phase = load_image(&png, None, &spec, InputKind::Phase).expect("phase");
        // The colours to draw on come with the phase, from the one decoding.
        assert_eq!(phase.picture.as_deref(), Some(rgb.as_slice()));
        assert!(img.picture.is_none(), "a raster has no picture of its own");
        let Planes::Phase { phase, coherence } = phase.planes else {
            panic!("a phase model reads pictures as phase");
        };
        assert!(coherence.is_none());
        let err = insar::invert::aligned_error(&phase, &truth).expect("valid");
        assert!(err < 0.1, "median error {err}");
    }

    /// HyP3's vertical displacement is refused without an incidence angle, and read as
    /// LOS = vertical × cos(incidence) with one.
    #[test]
    fn vertical_displacement_needs_and_uses_the_incidence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (8, 4);
        let up: Vec<f32> = (0..w * h).map(|i| i as f32 * 0.004 - 0.05).collect();
        let p = dir
            .path()
            .join("S1AA_20200101_20200113_VVP012_INT80_G_ueF_1A2B_vert_disp.tif");
        raster::write_geotiff_f32(&p, w, h, &up, None, None).expect("tif");
        let spec = InputSpec::default();
        let e = load_image(&p, None, &spec, InputKind::Phase).expect_err("no incidence");
        assert!(e.to_string().contains("--incidence"), "{e}");
        let spec = InputSpec {
            incidence: Some(39.0),
            ..InputSpec::default()
        };
        let img = load_image(&p, None, &spec, InputKind::Phase).expect("with incidence");
        assert_eq!(img.kind, Kind::Vertical);
        let Planes::Phase { phase, .. } = img.planes else {
            panic!("phase planes");
        };
        let cos = 39f64.to_radians().cos();
        for (i, &got) in phase.iter().enumerate() {
            let los = f64::from(up[i]) * cos;
            let want = insar::wrap(insar::los_to_phase(los, insar::S1_WAVELENGTH) as f32);
            assert!((got - want).abs() < 1e-5, "pixel {i}: {got} vs {want}");
        }
    }

    /// A SNAP product (the raster crate's fixture): its i/q pair read as one complex band,
    /// whose argument is the phase.
    #[test]
    fn snap_product_reads_as_complex() {
        let dim = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../raster/tests/data/raw/dimap/S1_ifg_TC.dim");
        let img = load_image(&dim, None, &InputSpec::default(), InputKind::Phase).expect("dim");
        assert_eq!((img.kind, img.width, img.height), (Kind::Complex, 7, 5));
        assert_eq!(img.geo.and_then(|g| g.epsg), Some(4326));
        let z = raster::open_band(&dim, &raster::ReadOptions::default(), None)
            .and_then(|mut r| r.read_all())
            .expect("raw");
        let raster::Pixels::C32(z) = z.pixels else {
            panic!("complex");
        };
        let Planes::Phase { phase, .. } = img.planes else {
            panic!("phase planes");
        };
        let want: Vec<f32> = z.iter().map(|c| c.im.atan2(c.re)).collect();
        assert_eq!(phase, want);
    }
}

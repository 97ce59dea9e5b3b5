//! An unwrapped-phase or LOS-displacement raster served as LOS displacement in metres, a
//! window at a time, for measuring basins (`detect_core::deformation`) without reading the
//! raster whole: a window costs its rows (full width, as rasters are stored) and no more.
//!
//! Unwrapped phase becomes LOS through `insar::phase_to_los` and the wavelength, so both
//! kinds come out positive towards the satellite (subsidence negative).

use std::error::Error;
use std::path::{Path, PathBuf};

use detect_core::deformation::{LosWindow, LosWindows, PixelRect};
use raster::any::{RowReader, open_any};
use raster::{GeoInfo, Pixels, ReadOptions};

use crate::InputError;
use crate::image::reading;
use crate::phase::PhaseReading;
use crate::spec::{InputSpec, Kind, is_picture_file};

/// LOS displacement read from an unwrapped-phase or LOS raster.
pub struct LosRaster {
    reader: RowReader,
    how: PhaseReading,
    path: PathBuf,
}

impl LosRaster {
    /// Opens the raster at `path` to read as `how` says: its kind must be
    /// [`Kind::Unwrapped`] (radians) or [`Kind::Los`] (metres) and its pixels float.
    pub fn open(path: &Path, opts: &ReadOptions, how: PhaseReading) -> Result<Self, InputError> {
        if !matches!(how.kind, Kind::Unwrapped | Kind::Los) {
            return Err(InputError::invalid(
                path,
                format!(
                    "read as {} data, but deformation needs unwrapped phase or LOS displacement",
                    how.kind
                ),
            ));
        }
        let mut reader = open_any(path, opts)?;
        let bands = match reader.read_rows(0, 1)? {
            r if matches!(r.pixels, Pixels::F32(_)) => r.bands.max(1),
            r => {
                return Err(InputError::invalid(
                    path,
                    format!(
                        "holds {} pixels, expected float32 {}",
                        r.pixels.type_name(),
                        what(how.kind)
                    ),
                ));
            }
        };
        if how.band == 0 || how.band > bands {
            return Err(InputError::invalid(
                path,
                format!("band {} asked for, the raster has {bands}", how.band),
            ));
        }
        Ok(Self {
            reader,
            how,
            path: path.to_path_buf(),
        })
    }

    /// Opens `path` as `kind`, read as `spec` says (band, no-data, wavelength, GAMMA width).
    pub fn with_spec(path: &Path, kind: Kind, spec: &InputSpec) -> Result<Self, InputError> {
        Self::open(path, &spec.read_options(), reading(kind, spec))
    }

    /// The kind a raster given as "the unwrapped raster" holds: LOS displacement when its
    /// file name says so (`los`, a word starting `disp`), else unwrapped phase.
    pub fn kind_by_name(path: &Path) -> Kind {
        match Kind::from_name(path) {
            Some(Kind::Los) => Kind::Los,
            _ => Kind::Unwrapped,
        }
    }

    pub fn kind(&self) -> Kind {
        self.how.kind
    }

    pub fn geo(&self) -> Option<&GeoInfo> {
        self.reader.geo()
    }

    /// Refuses a raster not on the grid of the scene at `scene` (`size` pixels): the boxes
    /// it is measured in are the scene's pixels.
    pub fn check_grid(&self, scene: &Path, size: (usize, usize)) -> Result<(), InputError> {
        let own = (self.reader.width(), self.reader.height());
        if own == size {
            return Ok(());
        }
        Err(InputError::invalid(
            &self.path,
            format!(
                "is {}×{} but the scene {} is {}×{}: they must be the same grid",
                own.0,
                own.1,
                scene.display(),
                size.0,
                size.1
            ),
        ))
    }

    /// LOS in metres of one sample (NaN stays NaN).
    fn to_los(&self, x: f32) -> f32 {
        match self.how.kind {
            Kind::Unwrapped => insar::phase_to_los(f64::from(x), self.how.wavelength) as f32,
            _ => x,
        }
    }

    fn read(&mut self, r: PixelRect) -> Result<LosWindow, InputError> {
        let (w, h) = (self.reader.width(), self.reader.height());
        let inside = r.x0.checked_add(r.width).is_some_and(|x1| x1 <= w)
            && r.y0.checked_add(r.height).is_some_and(|y1| y1 <= h);
        if !inside {
            return Err(InputError::invalid(
                &self.path,
                format!(
                    "window at ({}, {}) of {}×{} lies outside the {w}×{h} raster",
                    r.x0, r.y0, r.width, r.height
                ),
            ));
        }
        let rows = self.reader.read_rows(r.y0, r.height)?;
        let bands = rows.bands.max(1);
        let Pixels::F32(samples) = &rows.pixels else {
            return Err(InputError::invalid(
                &self.path,
                format!("rows {}.. are not float32", r.y0),
            ));
        };
        let expected = rows
            .width
            .checked_mul(r.height)
            .and_then(|n| n.checked_mul(bands));
        if rows.width != w || expected != Some(samples.len()) {
            return Err(InputError::invalid(
                &self.path,
                format!(
                    "rows {}..{} came back with {} samples, expected {w} × {} × {bands}",
                    r.y0,
                    r.y0 + r.height,
                    samples.len(),
                    r.height
                ),
            ));
        }
        let nodata = self.how.nodata.or(rows.nodata);
        let band = self.how.band - 1;
        let mut values = Vec::with_capacity(r.width * r.height);
        for y in 0..r.height {
            let row = &samples[(y * w + r.x0) * bands..(y * w + r.x0 + r.width) * bands];
            values.extend(row.iter().skip(band).step_by(bands).map(|&x| {
                if nodata.is_some_and(|nd| f64::from(x) == nd) {
                    f32::NAN
                } else {
                    self.to_los(x)
                }
            }));
        }
        let valid = values.iter().map(|v| v.is_finite()).collect();
        Ok(LosWindow { values, valid })
    }
}

/// What the scene at `path` holds as `spec` says, `auto` decided as the scene reader does
/// (pictures by extension, then the pixel type and the file name).
pub fn scene_kind(path: &Path, spec: &InputSpec) -> Result<Kind, InputError> {
    match spec.kind {
        Kind::Auto if is_picture_file(path) => Ok(Kind::Picture),
        Kind::Auto => {
            let first = open_any(path, &spec.read_options())?.read_rows(0, 1)?;
            Ok(Kind::guess(path, &first.pixels))
        }
        k => Ok(k),
    }
}

fn what(kind: Kind) -> &'static str {
    match kind {
        Kind::Los => "LOS displacement (m)",
        _ => "unwrapped phase (rad)",
    }
}

impl LosWindows for LosRaster {
    fn size(&self) -> (usize, usize) {
        (self.reader.width(), self.reader.height())
    }

    fn window(&mut self, rect: PixelRect) -> Result<LosWindow, Box<dyn Error + Send + Sync>> {
        Ok(self.read(rect)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::tests::reading;

    const RECT: PixelRect = PixelRect {
        x0: 3,
        y0: 2,
        width: 4,
        height: 3,
    };

    #[test]
    fn unwrapped_phase_becomes_los_and_no_data_is_invalid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (10, 8);
        // One fringe (2π) is λ/2 of LOS; positive phase is motion away (negative LOS).
        let mut phase: Vec<f32> = (0..w * h)
            .map(|i| (i % w) as f32 * std::f32::consts::TAU)
            .collect();
        phase[2 * w + 4] = -9999.0;
        let p = dir.path().join("x.unw.tif");
        raster::write_geotiff_f32(&p, w, h, &phase, None, Some(-9999.0)).expect("tif");
        let mut src =
            LosRaster::open(&p, &ReadOptions::default(), reading(Kind::Unwrapped)).expect("open");
        assert_eq!(src.size(), (w, h));
        let win = src.window(RECT).expect("window");
        assert_eq!(win.values.len(), 12);
        let half = insar::S1_WAVELENGTH / 2.0;
        // (3, 2): three fringes → −1.5 λ; (4, 2) was no-data.
        assert!(
            (f64::from(win.values[0]) + 3.0 * half).abs() < 1e-6,
            "{}",
            win.values[0]
        );
        assert!(!win.valid[1] && win.values[1].is_nan());
        assert!((f64::from(win.values[4 + 3]) + 6.0 * half).abs() < 1e-6);
        assert!(win.valid[2]);
    }

    #[test]
    fn los_in_metres_from_the_chosen_band_as_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (10, 8);
        let mut two_bands = Vec::with_capacity(w * h * 2);
        for i in 0..w * h {
            two_bands.extend([i as f32, -(i as f32) * 1e-3]);
        }
        let r = raster::Raster {
            width: w,
            height: h,
            bands: 2,
            pixels: Pixels::F32(two_bands),
            geo: None,
            nodata: None,
        };
        let p = dir.path().join("disp.tif");
        raster::write_geotiff(&p, &r, &raster::WriteOptions::default()).expect("tif");
        let how = PhaseReading {
            band: 2,
            ..reading(Kind::Los)
        };
        let mut src = LosRaster::open(&p, &ReadOptions::default(), how).expect("open");
        let win = src.window(RECT).expect("window");
        // (3, 2) is pixel 23: its band 2 as written, bit for bit.
        assert_eq!(win.values[0], -(23.0f32) * 1e-3);
        assert_eq!(win.values[11], -((4 * w + 6) as f32) * 1e-3);
        let how = PhaseReading {
            band: 3,
            ..reading(Kind::Los)
        };
        let e = LosRaster::open(&p, &ReadOptions::default(), how)
            .err()
            .expect("no band 3");
        assert!(e.to_string().contains("band 3"), "{e}");
    }

    #[test]
    fn refusals_name_the_file_and_what_was_expected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("wrapped.tif");
        raster::write_geotiff_f32(&p, 6, 6, &[0.0; 36], None, None).expect("tif");
        let e = LosRaster::open(&p, &ReadOptions::default(), reading(Kind::Wrapped)).err();
        assert!(
            e.expect("wrapped refused")
                .to_string()
                .contains("unwrapped phase or LOS")
        );
        let c = dir.path().join("c.tif");
        let z = vec![raster::Complex32::new(1.0, 0.0); 36];
        raster::write_geotiff_c32(&c, 6, 6, &z, None, None).expect("tif");
        let e = LosRaster::open(&c, &ReadOptions::default(), reading(Kind::Unwrapped)).err();
        let msg = e.expect("complex refused").to_string();
        assert!(
            msg.contains("c.tif") && msg.contains("float32 unwrapped phase"),
            "{msg}"
        );
        let mut src =
            LosRaster::open(&p, &ReadOptions::default(), reading(Kind::Los)).expect("open");
        let e = src
            .check_grid(Path::new("scene.tif"), (7, 6))
            .expect_err("other grid");
        assert!(e.to_string().contains("scene.tif") && e.to_string().contains("same grid"));
        let outside = PixelRect { x0: 4, ..RECT };
        let e = src.window(outside).expect_err("outside");
        assert!(e.to_string().contains("outside"), "{e}");
    }

    #[test]
    fn scene_kinds_as_the_scene_reader_decides_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = InputSpec::default();
        let f = dir.path().join("x.unw.tif");
        raster::write_geotiff_f32(&f, 4, 4, &[0.0; 16], None, None).expect("tif");
        assert_eq!(scene_kind(&f, &spec).expect("kind"), Kind::Unwrapped);
        let c = dir.path().join("x.unw.c.tif");
        let z = vec![raster::Complex32::new(1.0, 0.0); 16];
        raster::write_geotiff_c32(&c, 4, 4, &z, None, None).expect("tif");
        assert_eq!(scene_kind(&c, &spec).expect("kind"), Kind::Complex);
        let los = InputSpec {
            kind: Kind::Los,
            ..InputSpec::default()
        };
        assert_eq!(scene_kind(&f, &los).expect("kind"), Kind::Los);
        // Pictures by name, unread.
        assert_eq!(
            scene_kind(Path::new("none.png"), &spec).expect("kind"),
            Kind::Picture
        );
    }

    #[test]
    fn a_raster_named_as_displacement_is_los_else_unwrapped() {
        assert_eq!(
            LosRaster::kind_by_name(Path::new("a/S1_los_disp.tif")),
            Kind::Los
        );
        assert_eq!(
            LosRaster::kind_by_name(Path::new("x.unw.tif")),
            Kind::Unwrapped
        );
        assert_eq!(
            LosRaster::kind_by_name(Path::new("los/phase.tif")),
            Kind::Unwrapped
        );
    }
}

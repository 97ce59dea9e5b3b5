//! A 2-D NumPy array as a [`RowSource`]: rows of masked wrapped phase read from the borrowed
//! array in place, exactly as `input::SceneSource` reads the same values from a file.

use std::error::Error;
use std::path::PathBuf;

use detect_core::tiling::{RowSource, Strip};
use input::Kind;
use input::phase::{PhaseReading, masked_phase};
use raster::{Complex32, Pixels, Raster};

/// The array's samples, borrowed, row-major (C order).
#[derive(Clone, Copy)]
pub enum Samples<'a> {
    /// Wrapped or unwrapped phase (rad), or LOS displacement (m); NaN = no data.
    F32(&'a [f32]),
    /// A complex interferogram; 0 + 0i and NaN = no data.
    C32(&'a [Complex32]),
}

impl Samples<'_> {
    fn len(&self) -> usize {
        match self {
            Samples::F32(v) => v.len(),
            Samples::C32(v) => v.len(),
        }
    }

    /// Rows `y0 .. y0 + n` of a `width`-wide array as a one-band raster.
    fn rows(&self, width: usize, y0: usize, n: usize) -> Option<Raster> {
        let start = y0.checked_mul(width)?;
        let end = y0.checked_add(n)?.checked_mul(width)?;
        let pixels = match self {
            Samples::F32(v) => Pixels::F32(v.get(start..end)?.to_vec()),
            Samples::C32(v) => Pixels::C32(v.get(start..end)?.to_vec()),
        };
        Some(Raster {
            width,
            height: n,
            bands: 1,
            pixels,
            geo: None,
            nodata: None,
        })
    }
}

/// What an array holds, resolved from `kind` (`Kind::Auto`: complex samples are an
/// interferogram, float samples wrapped phase, as for a file whose name says nothing).
pub fn resolve_kind(kind: Kind, samples: &Samples) -> Result<Kind, String> {
    match (kind, samples) {
        (Kind::Auto, Samples::C32(_)) | (Kind::Complex, Samples::C32(_)) => Ok(Kind::Complex),
        (Kind::Auto, Samples::F32(_)) => Ok(Kind::Wrapped),
        (k @ (Kind::Wrapped | Kind::Unwrapped | Kind::Los), Samples::F32(_)) => Ok(k),
        (k, Samples::C32(_)) => Err(format!(
            "kind={k:?} but the array is complex: a complex array is an interferogram \
             (kind=\"complex\" or \"auto\")"
        )),
        (Kind::Complex, Samples::F32(_)) => Err(
            "kind=\"complex\" but the array is real: pass a complex64 array, or \
             kind=\"wrapped\"/\"unwrapped\"/\"los\""
                .into(),
        ),
        (k, Samples::F32(_)) => Err(format!(
            "kind={k:?} is not read from arrays: give \"wrapped\", \"unwrapped\" or \"los\" \
             phase/displacement (vertical displacement: multiply by cos(incidence) first)"
        )),
    }
}

/// A `height` × `width` array read as phase.
pub struct ArraySource<'a> {
    samples: Samples<'a>,
    width: usize,
    height: usize,
    reading: PhaseReading,
    /// Names the array in messages (the reader's errors name a file).
    name: PathBuf,
}

impl<'a> ArraySource<'a> {
    /// `samples` must hold `width · height` values; `kind` is resolved (not `Auto`).
    pub fn new(
        samples: Samples<'a>,
        (height, width): (usize, usize),
        kind: Kind,
        nodata: Option<f64>,
        wavelength: f64,
    ) -> Result<Self, String> {
        let want = height
            .checked_mul(width)
            .ok_or_else(|| format!("a {height} x {width} array is too large"))?;
        if samples.len() != want || want == 0 {
            return Err(format!(
                "expected {want} samples of a non-empty {height} x {width} array, got {}",
                samples.len()
            ));
        }
        Ok(Self {
            samples,
            width,
            height,
            reading: PhaseReading {
                kind,
                band: 1,
                nodata,
                wavelength,
            },
            name: PathBuf::from("<array>"),
        })
    }
}

impl RowSource for ArraySource<'_> {
    fn width(&self) -> usize {
        self.width
    }

    fn height(&self) -> usize {
        self.height
    }

    fn read_rows(&mut self, y0: usize, n: usize) -> Result<Strip, Box<dyn Error + Send + Sync>> {
        let r = self.samples.rows(self.width, y0, n).ok_or_else(|| {
            format!(
                "rows {y0}..{} beyond the {}-row array",
                y0.saturating_add(n),
                self.height
            )
        })?;
        // The same conversion a file's rows go through (`SceneSource`), so an array and a
        // GeoTIFF of the same values give the network the same tiles.
        let data = masked_phase(&r, &self.reading, &self.name)?;
        let valid = data.iter().map(|v| v.is_finite()).collect();
        Ok(Strip { data, valid })
    }
}

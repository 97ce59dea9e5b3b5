//! The in-memory raster every reader returns and every writer takes.

use num_complex::Complex32;

use crate::geo::GeoInfo;

/// Sample values, band-interleaved by pixel (`[p0b0, p0b1, p0b2, p1b0, …]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    F32(Vec<f32>),
    C32(Vec<Complex32>),
    U8(Vec<u8>),
}

impl Pixels {
    pub fn len(&self) -> usize {
        match self {
            Pixels::F32(v) => v.len(),
            Pixels::C32(v) => v.len(),
            Pixels::U8(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Pixels::F32(_) => "Float32",
            Pixels::C32(_) => "CFloat32",
            Pixels::U8(_) => "Byte",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    pub pixels: Pixels,
    pub geo: Option<GeoInfo>,
    pub nodata: Option<f64>,
}

/// Summary of the valid samples of one band, as `gdalinfo -stats` reports them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub std_dev: f64,
    pub valid: usize,
    pub total: usize,
}

impl BandStats {
    pub fn valid_percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.valid as f64 / self.total as f64
        }
    }
}

/// Band statistics gathered over several row bands of one raster (streaming `info`).
#[derive(Debug, Clone, Copy)]
pub struct StatsAccumulator {
    min: f64,
    max: f64,
    sum: f64,
    sum2: f64,
    valid: usize,
    total: usize,
}

impl Default for StatsAccumulator {
    fn default() -> Self {
        Self {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            sum2: 0.0,
            valid: 0,
            total: 0,
        }
    }
}

impl StatsAccumulator {
    /// Adds the valid samples of `band` of `r` (complex samples by magnitude).
    pub fn add(&mut self, r: &Raster, band: usize) {
        let mask = r.valid_mask();
        self.total += mask.len();
        let b = r.bands;
        for (i, _) in mask.iter().enumerate().filter(|(_, ok)| **ok) {
            let k = i * b + band;
            let s = match &r.pixels {
                Pixels::F32(v) => f64::from(v[k]),
                Pixels::C32(v) => f64::from(v[k].norm()),
                Pixels::U8(v) => f64::from(v[k]),
            };
            self.min = self.min.min(s);
            self.max = self.max.max(s);
            self.sum += s;
            self.sum2 += s * s;
            self.valid += 1;
        }
    }

    pub fn finish(&self) -> BandStats {
        let n = self.valid.max(1) as f64;
        let mean = self.sum / n;
        BandStats {
            min: self.min,
            max: self.max,
            mean,
            std_dev: (self.sum2 / n - mean * mean).max(0.0).sqrt(),
            valid: self.valid,
            total: self.total,
        }
    }
}

impl Raster {
    /// Per pixel: true where the pixel holds data. A pixel is invalid when any of its
    /// samples is NaN, when all its samples equal the no-data value (so an RGB pixel with one
    /// black channel stays valid), or, for complex data, when it is exactly 0 + 0i (GAMMA
    /// and ISCE write exact zeros outside the swath).
    pub fn valid_mask(&self) -> Vec<bool> {
        let b = self.bands.max(1);
        let nodata = self.nodata;
        match &self.pixels {
            Pixels::F32(v) => v
                .chunks(b)
                .map(|px| {
                    !px.iter().any(|s| s.is_nan())
                        && !nodata.is_some_and(|nd| px.iter().all(|&s| f64::from(s) == nd))
                })
                .collect(),
            Pixels::C32(v) => v
                .chunks(b)
                .map(|px| {
                    !px.iter().any(|s| s.re.is_nan() || s.im.is_nan())
                        && !px.iter().all(|s| s.re == 0.0 && s.im == 0.0)
                        && !nodata.is_some_and(|nd| {
                            px.iter().all(|s| f64::from(s.re) == nd && s.im == 0.0)
                        })
                })
                .collect(),
            Pixels::U8(v) => v
                .chunks(b)
                .map(|px| !nodata.is_some_and(|nd| px.iter().all(|&s| f64::from(s) == nd)))
                .collect(),
        }
    }

    /// Statistics of one band over valid pixels (see [`Raster::valid_mask`]); complex
    /// samples are summarised by their magnitude. `None` for a band index out of range.
    pub fn band_stats(&self, band: usize) -> Option<BandStats> {
        if band >= self.bands {
            return None;
        }
        let mut acc = StatsAccumulator::default();
        acc.add(self, band);
        Some(acc.finish())
    }

    /// Coherence in [0, 1] whatever the encoding: LiCSAR writes `*.geo.cc.tif` as Byte
    /// 0–255 (coherence × 255), GAMMA/HyP3/PyRate as float. `None` for complex or
    /// multi-band rasters.
    pub fn coherence(&self) -> Option<Vec<f32>> {
        if self.bands != 1 {
            return None;
        }
        match &self.pixels {
            Pixels::F32(v) => Some(v.clone()),
            Pixels::U8(v) => Some(v.iter().map(|&b| f32::from(b) / 255.0).collect()),
            Pixels::C32(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_raster(v: Vec<f32>, bands: usize, nodata: Option<f64>) -> Raster {
        let width = v.len() / bands;
        Raster {
            width,
            height: 1,
            bands,
            pixels: Pixels::F32(v),
            geo: None,
            nodata,
        }
    }

    #[test]
    fn mask_nodata_nan_and_complex_zero() {
        let r = f32_raster(vec![0.0, 1.0, f32::NAN, -2.0], 1, Some(0.0));
        assert_eq!(r.valid_mask(), vec![false, true, false, true]);
        let r = f32_raster(vec![0.0, 1.0], 1, None);
        assert_eq!(r.valid_mask(), vec![true, true]);
        let c = Raster {
            width: 3,
            height: 1,
            bands: 1,
            pixels: Pixels::C32(vec![
                Complex32::new(0.0, 0.0),
                Complex32::new(0.0, 1.0),
                Complex32::new(f32::NAN, 1.0),
            ]),
            geo: None,
            nodata: None,
        };
        assert_eq!(c.valid_mask(), vec![false, true, false]);
    }

    #[test]
    fn rgb_pixel_invalid_only_when_all_channels_are_nodata() {
        let r = Raster {
            width: 2,
            height: 1,
            bands: 3,
            pixels: Pixels::U8(vec![0, 0, 0, 0, 9, 0]),
            geo: None,
            nodata: Some(0.0),
        };
        assert_eq!(r.valid_mask(), vec![false, true]);
    }

    #[test]
    fn stats_by_hand() {
        // Valid: 1, 2, 3, 6 → mean 3, population variance (4+1+0+9)/4 = 3.5.
        let r = f32_raster(vec![1.0, 0.0, 2.0, 3.0, f32::NAN, 6.0], 1, Some(0.0));
        let s = r.band_stats(0).unwrap();
        assert_eq!(
            (s.min, s.max, s.mean, s.valid, s.total),
            (1.0, 6.0, 3.0, 4, 6)
        );
        assert!((s.std_dev - 3.5f64.sqrt()).abs() < 1e-12);
        assert!((s.valid_percent() - 400.0 / 6.0).abs() < 1e-12);
        assert!(r.band_stats(1).is_none());
    }

    #[test]
    fn byte_coherence_is_scaled() {
        let r = Raster {
            width: 2,
            height: 1,
            bands: 1,
            pixels: Pixels::U8(vec![0, 255]),
            geo: None,
            nodata: Some(0.0),
        };
        assert_eq!(r.coherence().unwrap(), vec![0.0, 1.0]);
    }
}

//! A gdalinfo-like description of any raster this crate reads, with statistics computed
//! over row bands so scenes larger than memory can be described.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::any::{self, Format, ReadOptions, RowReader};
use crate::error::RasterError;
use crate::gamma::RawKind;
use crate::geo::GeoInfo;
use crate::raster::{BandStats, StatsAccumulator};
use crate::tiff_write::SampleType;

#[derive(Debug, Clone, PartialEq)]
pub struct RasterInfo {
    pub path: PathBuf,
    pub format: Format,
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    /// GDAL type name of the stored samples ("Float32", "CFloat32", "Byte", …).
    pub data_type: String,
    /// TIFF only: compression name as gdalinfo prints it.
    pub compression: Option<String>,
    pub predictor: Option<u16>,
    /// (block width, block height): strip or tile size; a row for raw rasters.
    pub block: (usize, usize),
    pub tiled: bool,
    pub bigtiff: bool,
    pub big_endian: bool,
    /// GAMMA only: the parameter file the width came from.
    pub par: Option<PathBuf>,
    /// Raw rasters with a header (ISCE, VRT, ENVI, BEAM-DIMAP): the data files read.
    pub data_files: Vec<PathBuf>,
    /// Each band's name or description, where the file gives one.
    pub band_names: Vec<Option<String>>,
    pub geo: Option<GeoInfo>,
    pub nodata: Option<f64>,
    pub stats: Vec<BandStats>,
}

/// Rows decoded per step when gathering statistics.
const ROWS_PER_STEP: usize = 512;

pub fn describe(path: &Path, opts: &ReadOptions) -> Result<RasterInfo, RasterError> {
    let format = any::detect_format(path, opts.kind)?;
    let mut reader = any::open_any(path, opts)?;
    let (width, height) = (reader.width(), reader.height());
    let mut info = RasterInfo {
        path: path.to_path_buf(),
        format,
        width,
        height,
        bands: 1,
        data_type: String::new(),
        compression: None,
        predictor: None,
        block: (width, 1),
        tiled: false,
        bigtiff: false,
        big_endian: false,
        par: None,
        data_files: Vec::new(),
        band_names: reader.band_names(),
        geo: reader.geo().copied(),
        nodata: None,
        stats: Vec::new(),
    };
    match &reader {
        RowReader::Tiff(r) => {
            let l = r.layout();
            info.bands = r.bands();
            info.data_type = l.stored.gdal_name().to_string();
            info.compression = Some(l.compression_name());
            info.predictor = (l.predictor != 1).then_some(l.predictor);
            info.block = l.chunk;
            info.tiled = l.tiled;
            info.bigtiff = l.bigtiff;
            info.big_endian = l.big_endian;
            info.nodata = r.nodata();
        }
        RowReader::Gamma(r) => {
            info.data_type = match r.kind() {
                RawKind::F32 => "Float32",
                RawKind::C32 => "CFloat32",
                RawKind::U8 => "Byte",
            }
            .to_string();
            info.big_endian = r.big_endian();
            info.nodata = Some(0.0);
            info.par = match (&opts.par, opts.width) {
                (Some(p), _) => Some(p.clone()),
                (None, None) => any::find_par(path).ok(),
                (None, Some(_)) => None,
            };
        }
        RowReader::Picture(r) => {
            info.bands = r.bands;
            info.data_type = "Byte".to_string();
            info.block = (width, height);
        }
        RowReader::Raw(r) => {
            let bands = &r.layout().bands;
            info.bands = r.bands();
            info.data_type = data_type_of(bands.iter().map(|b| b.stored.gdal_name()));
            info.big_endian = bands.iter().all(|b| b.big_endian);
            info.nodata = r.nodata();
            for b in bands {
                if !info.data_files.contains(&b.file) {
                    info.data_files.push(b.file.clone());
                }
            }
        }
        RowReader::Band { .. } => {
            info.data_type = match reader.sample_type() {
                SampleType::F32 => "Float32",
                SampleType::C32 => "CFloat32",
                SampleType::U8 => "Byte",
            }
            .to_string();
        }
    }
    let mut acc = vec![StatsAccumulator::default(); info.bands];
    let step = ROWS_PER_STEP.max(info.block.1);
    let mut y = 0;
    while y < height {
        let n = step.min(height - y);
        let part = reader.read_rows(y, n)?;
        for (b, a) in acc.iter_mut().enumerate() {
            a.add(&part, b);
        }
        y += n;
    }
    info.stats = acc.iter().map(StatsAccumulator::finish).collect();
    Ok(info)
}

/// The one stored type all bands share, or each band's in order ("Float32, Float32, Byte").
fn data_type_of<'a>(mut names: impl Iterator<Item = &'a str> + Clone) -> String {
    let first = names.clone().next().unwrap_or("");
    if names.all(|n| n == first) {
        first.to_string()
    } else {
        names.collect::<Vec<_>>().join(", ")
    }
}

/// printf's `%.4g`, as gdalinfo prints STATISTICS_VALID_PERCENT (98.3, 98.15, 100).
fn g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = 3 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl fmt::Display for RasterInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let driver = match self.format {
            Format::Tiff => "GTiff/GeoTIFF",
            Format::Png => "PNG/Portable Network Graphics",
            Format::Jpeg => "JPEG/JPEG JFIF",
            Format::GammaRaw(_) => "GAMMA raw (headerless)",
            Format::Isce => "ISCE/ISCE raster",
            Format::Vrt => "VRT/Virtual Raster (raw bands)",
            Format::Envi => "ENVI/ENVI .hdr Labelled",
            Format::Dimap => "BEAM-DIMAP/SNAP product (ENVI bands)",
        };
        writeln!(f, "Driver: {driver}")?;
        write!(f, "Files: {}", self.path.display())?;
        for p in self
            .par
            .iter()
            .chain(self.data_files.iter().filter(|p| **p != self.path))
        {
            write!(f, "\n       {}", p.display())?;
        }
        writeln!(f)?;
        writeln!(f, "Size is {}, {}", self.width, self.height)?;
        if let Some(g) = &self.geo {
            match g.epsg {
                Some(e) => writeln!(f, "Coordinate System is EPSG:{e}")?,
                None => writeln!(f, "Coordinate System is unknown (no EPSG code)")?,
            }
            let t = g.transform.0;
            if g.transform.is_rotated() {
                writeln!(
                    f,
                    "GeoTransform =\n  {}, {}, {}\n  {}, {}, {}",
                    t[0], t[1], t[2], t[3], t[4], t[5]
                )?;
            } else {
                writeln!(f, "Origin = ({:.15},{:.15})", t[0], t[3])?;
                writeln!(f, "Pixel Size = ({:.15},{:.15})", t[1], t[5])?;
            }
            writeln!(
                f,
                "Metadata:\n  AREA_OR_POINT={}",
                if g.pixel_is_point { "Point" } else { "Area" }
            )?;
        }
        writeln!(f, "Image Structure Metadata:")?;
        if let Some(c) = &self.compression {
            writeln!(f, "  COMPRESSION={c}")?;
        }
        if let Some(p) = self.predictor {
            writeln!(f, "  PREDICTOR={p}")?;
        }
        writeln!(
            f,
            "  LAYOUT={}{}{}",
            if self.tiled {
                "tiles"
            } else if self.format == Format::Tiff {
                "strips"
            } else {
                "rows"
            },
            if self.bigtiff { ", BigTIFF" } else { "" },
            match (self.big_endian, self.format) {
                (true, _) => ", big-endian",
                (false, Format::Tiff | Format::Png | Format::Jpeg) => "",
                (false, _) => ", little-endian",
            }
        )?;
        for (b, s) in self.stats.iter().enumerate() {
            writeln!(
                f,
                "Band {} Block={}x{} Type={}",
                b + 1,
                self.block.0,
                self.block.1,
                self.data_type
            )?;
            if let Some(Some(name)) = self.band_names.get(b) {
                writeln!(f, "  Description = {name}")?;
            }
            if s.valid > 0 {
                let what = if self.data_type.starts_with('C') {
                    " (of |z|)"
                } else {
                    ""
                };
                writeln!(
                    f,
                    "  Minimum={:.3}, Maximum={:.3}, Mean={:.3}, StdDev={:.3}{what}",
                    s.min, s.max, s.mean, s.std_dev
                )?;
            }
            if let Some(nd) = self.nodata {
                writeln!(f, "  NoData Value={}", crate::geo::format_nodata(nd))?;
            }
            writeln!(f, "    STATISTICS_VALID_PERCENT={}", g4(s.valid_percent()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoTransform;
    use crate::tiff_write::write_geotiff_c32;
    use num_complex::Complex32;

    #[test]
    fn percent_like_printf_g4() {
        assert_eq!(g4(98.3), "98.3");
        assert_eq!(g4(98.15), "98.15");
        assert_eq!(g4(100.0), "100");
        assert_eq!(g4(92.2857), "92.29");
        assert_eq!(g4(5.0), "5");
        assert_eq!(g4(0.0), "0");
    }

    #[test]
    fn describes_complex_tiff() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ifg.tif");
        // |z| = 1, 2, 3 plus one exact zero (invalid).
        let z = [0.0, 1.0, 2.0, 3.0].map(|a| Complex32::from_polar(a, 0.7));
        let geo = GeoInfo::new(
            GeoTransform::north_up(500000.0, 4e6, 20.0, -20.0),
            Some(32633),
        );
        write_geotiff_c32(&p, 2, 2, &z, Some(&geo), None).unwrap();
        let info = describe(&p, &ReadOptions::default()).unwrap();
        assert_eq!(
            (info.width, info.height, info.data_type.as_str()),
            (2, 2, "CFloat32")
        );
        let s = info.stats[0];
        assert_eq!((s.valid, s.total), (3, 4));
        assert!((s.mean - 2.0).abs() < 1e-6);
        let text = info.to_string();
        for want in [
            "Size is 2, 2",
            "Coordinate System is EPSG:32633",
            "Origin = (500000.000000000000000,4000000.000000000000000)",
            "Pixel Size = (20.000000000000000,-20.000000000000000)",
            "COMPRESSION=DEFLATE",
            "Type=CFloat32",
            "Minimum=1.000, Maximum=3.000, Mean=2.000",
            "STATISTICS_VALID_PERCENT=75",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}

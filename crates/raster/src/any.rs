//! Open whatever raster a user has: GeoTIFF, GAMMA raw (+ its parameter file), PNG/JPEG,
//! raw rasters described by a header (ISCE2 `.xml`, GDAL raw `.vrt`, ENVI `.hdr`, SNAP
//! `.dim`), told apart by magic bytes first, then the header's extension or a header beside
//! the file, then the extension.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::RasterError;
use crate::gamma::{self, RawKind, RawReader};
use crate::geo::GeoInfo;
use crate::picture::read_picture;
use crate::raster::{Pixels, Raster};
use crate::rawbands::RawBandsReader;
use crate::tiff_read::GeoTiffReader;
use crate::tiff_write::SampleType;
use crate::{dimap, envi, isce, vrt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tiff,
    Png,
    Jpeg,
    GammaRaw(RawKind),
    /// ISCE2 image: raw data + `<name>.xml`.
    Isce,
    /// GDAL VRT of raw bands (ISCE2 writes one beside each image).
    Vrt,
    /// ENVI: raw data + `.hdr`.
    Envi,
    /// SNAP BEAM-DIMAP: `.dim` + `.data/` of ENVI bands.
    Dimap,
}

/// What the file itself cannot say (GAMMA raw rasters have no header).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Raster width, overriding any parameter file.
    pub width: Option<usize>,
    /// The parameter file to use instead of searching beside the raster.
    pub par: Option<PathBuf>,
    /// Element type, overriding the one guessed from the extension.
    pub kind: Option<RawKind>,
    /// Byte order of a raw raster; `None` guesses it from the values (GAMMA writes
    /// big-endian, LiCSBAS/ISCE little-endian).
    pub big_endian: Option<bool>,
}

pub fn detect_format(path: &Path, kind: Option<RawKind>) -> Result<Format, RasterError> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path).map_err(|e| RasterError::io(path, e))?;
    let n = f.read(&mut magic).map_err(|e| RasterError::io(path, e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match (&magic[..n], ext.as_str()) {
        ([b'I', b'I', 42 | 43, 0], _) | ([b'M', b'M', 0, 42 | 43], _) => return Ok(Format::Tiff),
        ([0x89, b'P', b'N', b'G'], _) => return Ok(Format::Png),
        ([0xFF, 0xD8, 0xFF, _], _) => return Ok(Format::Jpeg),
        _ => {}
    }
    if let Some(k) = kind {
        return Ok(Format::GammaRaw(k));
    }
    if let Some(f) = header_format(path, &ext)? {
        return Ok(f);
    }
    if let Some(k) = RawKind::from_extension(&ext) {
        return Ok(Format::GammaRaw(k));
    }
    Err(RasterError::unsupported(
        path,
        format!(
            "not a TIFF, PNG or JPEG, with no ISCE .xml, .vrt or ENVI .hdr beside it, and \
             `.{ext}` is neither a header (.xml .vrt .hdr .dim) nor a GAMMA raster extension \
             (float: .unw .cc .cor …; fcomplex: .diff .int .flt …)"
        ),
    ))
}

/// A raw raster's header, named directly (`.dim`, `.vrt`, `.hdr`, an ISCE `.xml`) or lying
/// beside the data file: ISCE's XML first (ISCE2 writes the XML, a VRT and sometimes an
/// ENVI header for one image, and the XML is its own), then a VRT, then an ENVI header.
fn header_format(path: &Path, ext: &str) -> Result<Option<Format>, RasterError> {
    Ok(Some(match ext {
        "dim" => Format::Dimap,
        "vrt" => Format::Vrt,
        "hdr" => Format::Envi,
        "xml" if isce::is_image_xml(path) => Format::Isce,
        "xml" => {
            return Err(RasterError::unsupported(
                path,
                "an XML file that is not an ISCE image XML (root <imageFile>)",
            ));
        }
        _ if isce::xml_beside(path).is_some() => Format::Isce,
        _ if vrt::vrt_beside(path).is_some() => Format::Vrt,
        _ if envi::header_beside(path).is_some() => Format::Envi,
        _ => return Ok(None),
    }))
}

/// Parameter files a GAMMA raster's width may be in, most specific first.
pub fn par_candidates(path: &Path) -> Vec<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
    let mut c: Vec<PathBuf> = [
        format!("{name}.par"),
        format!("{stem}.par"),
        format!("{stem}.diff_par"),
        format!("{stem}.off"),
        format!("{stem}_dem.par"),
        format!("{stem}.dem_par"),
        format!("{stem}.dem.par"),
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect();
    // PyRate/GAMMA pairs "20060619-20061002_utm.unw" keep their DEM parameters under the
    // first date: "20060619_utm_dem.par".
    if let Some((first, rest)) = split_date_pair(stem) {
        c.push(dir.join(format!("{first}{rest}_dem.par")));
        c.push(dir.join(format!("{first}{rest}.dem_par")));
    }
    c.push(dir.join("EQA.dem_par"));
    // LiCSBAS: GEOCml*/EQA.dem_par above the pair folders; LiCSAR/GAMMA: geo/EQA.dem_par.
    c.push(dir.join("../EQA.dem_par"));
    c.push(dir.join("../geo/EQA.dem_par"));
    c
}

/// "YYYYMMDD[-_]YYYYMMDD<rest>" → ("YYYYMMDD", "<rest>").
fn split_date_pair(stem: &str) -> Option<(&str, &str)> {
    let b = stem.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    (digits(0..8) && matches!(b.get(8), Some(b'-' | b'_')) && digits(9..17))
        .then(|| (&stem[..8], &stem[17..]))
}

/// The one DEM parameter file in the raster's folder, if there is exactly one.
fn lone_dem_par(path: &Path) -> Option<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut found = std::fs::read_dir(dir).ok()?.filter_map(|e| {
        let p = e.ok()?.path();
        let n = p.file_name()?.to_str()?.to_string();
        (n.ends_with("_dem.par") || n.ends_with(".dem_par") || n.ends_with(".dem.par")).then_some(p)
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Finds the parameter file beside a GAMMA raster, or says where it looked.
pub fn find_par(path: &Path) -> Result<PathBuf, RasterError> {
    let candidates = par_candidates(path);
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Ok(p.clone());
    }
    lone_dem_par(path).ok_or_else(|| RasterError::WidthNotFound {
        path: path.to_path_buf(),
        looked_for: candidates,
    })
}

/// Opens a GAMMA raw raster: width from `opts` or the parameter file, geotransform when
/// that file is a geocoded DEM parameter file.
pub fn open_gamma(
    path: &Path,
    kind: RawKind,
    opts: &ReadOptions,
) -> Result<RawReader, RasterError> {
    let par_path = match (&opts.par, opts.width) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(find_par(path)?),
    };
    let (par_width, lines, geo) = match &par_path {
        Some(pp) => {
            let par = gamma::parse_par(pp)?;
            (par.width()?, par.lines()?, gamma::dem_par_geo(&par)?)
        }
        None => (None, None, None),
    };
    let width = opts.width.or(par_width).ok_or_else(|| RasterError::Par {
        path: par_path.clone().unwrap_or_default(),
        line: 0,
        msg: format!(
            "no width key ({}) for {}",
            gamma::WIDTH_KEYS.join(", "),
            path.display()
        ),
    })?;
    // An explicit width overrides the file, so its line count no longer applies either.
    let lines = if opts.width.is_some() && opts.width != par_width {
        None
    } else {
        lines
    };
    let kind = if opts.kind.is_none() && is_one_byte_per_pixel(path, width, lines)? {
        RawKind::U8
    } else {
        kind
    };
    let big_endian = match (opts.big_endian, kind) {
        (Some(b), _) => b,
        (None, RawKind::U8) => true,
        (None, _) => gamma::guess_big_endian(path)?,
    };
    Ok(RawReader::open(path, kind, width, lines, geo)?.with_big_endian(big_endian))
}

/// LiCSBAS keeps coherence as bytes under the float extension `.cc`: the file size, one
/// byte per pixel of the parameter file's grid, gives it away.
fn is_one_byte_per_pixel(
    path: &Path,
    width: usize,
    lines: Option<usize>,
) -> Result<bool, RasterError> {
    let size = std::fs::metadata(path)
        .map_err(|e| RasterError::io(path, e))?
        .len();
    Ok(lines.is_some_and(|l| {
        width
            .checked_mul(l)
            .is_some_and(|pixels| pixels as u64 == size)
    }))
}

pub fn read_any(path: &Path) -> Result<Raster, RasterError> {
    read_any_with(path, &ReadOptions::default())
}

pub fn read_any_with(path: &Path, opts: &ReadOptions) -> Result<Raster, RasterError> {
    open_any(path, opts)?.read_all()
}

/// Row-streaming access to any supported raster (pictures are decoded whole).
pub enum RowReader {
    Tiff(Box<GeoTiffReader>),
    Gamma(RawReader),
    Picture(Raster),
    /// ISCE, VRT, ENVI, BEAM-DIMAP.
    Raw(Box<RawBandsReader>),
    /// One band (from 1) of a multi-band reader ([`RowReader::select_band`]).
    Band {
        inner: Box<RowReader>,
        band: usize,
    },
}

/// Opens every band of the raster at `path` (SNAP products: every stored band).
pub fn open_any(path: &Path, opts: &ReadOptions) -> Result<RowReader, RasterError> {
    let raw = |r: RawBandsReader| RowReader::Raw(Box::new(r));
    Ok(match detect_format(path, opts.kind)? {
        Format::Tiff => RowReader::Tiff(Box::new(GeoTiffReader::open(path)?)),
        Format::Png | Format::Jpeg => RowReader::Picture(read_picture(path)?),
        Format::GammaRaw(kind) => RowReader::Gamma(open_gamma(path, kind, opts)?),
        Format::Isce => raw(isce::open(path)?),
        Format::Vrt => raw(vrt::open(path)?),
        Format::Envi => raw(envi::open(path)?),
        Format::Dimap => raw(dimap::open(path)?),
    })
}

impl RowReader {
    pub fn width(&self) -> usize {
        match self {
            RowReader::Tiff(r) => r.width(),
            RowReader::Gamma(r) => r.width(),
            RowReader::Picture(r) => r.width,
            RowReader::Raw(r) => r.width(),
            RowReader::Band { inner, .. } => inner.width(),
        }
    }

    pub fn height(&self) -> usize {
        match self {
            RowReader::Tiff(r) => r.height(),
            RowReader::Gamma(r) => r.height(),
            RowReader::Picture(r) => r.height,
            RowReader::Raw(r) => r.height(),
            RowReader::Band { inner, .. } => inner.height(),
        }
    }

    pub fn geo(&self) -> Option<&GeoInfo> {
        match self {
            RowReader::Tiff(r) => r.geo(),
            RowReader::Gamma(r) => r.geo(),
            RowReader::Picture(r) => r.geo.as_ref(),
            RowReader::Raw(r) => r.geo(),
            RowReader::Band { inner, .. } => inner.geo(),
        }
    }

    /// Bands each row read returns.
    pub fn bands(&self) -> usize {
        match self {
            RowReader::Tiff(r) => r.bands(),
            RowReader::Gamma(_) | RowReader::Band { .. } => 1,
            RowReader::Picture(r) => r.bands,
            RowReader::Raw(r) => r.bands(),
        }
    }

    /// The in-memory sample type rows come in.
    pub fn sample_type(&self) -> SampleType {
        match self {
            RowReader::Tiff(r) => r.sample_type(),
            RowReader::Gamma(r) => match r.kind() {
                RawKind::F32 => SampleType::F32,
                RawKind::C32 => SampleType::C32,
                RawKind::U8 => SampleType::U8,
            },
            RowReader::Picture(r) => SampleType::of(&r.pixels),
            RowReader::Raw(r) => r.sample_type(),
            RowReader::Band { inner, .. } => inner.sample_type(),
        }
    }

    /// Each band's name or description where the file gives one (GeoTIFF band
    /// descriptions, ENVI band names, SNAP band names, VRT descriptions).
    pub fn band_names(&self) -> Vec<Option<String>> {
        match self {
            RowReader::Tiff(r) => r.band_descriptions().to_vec(),
            RowReader::Raw(r) => r.band_names(),
            RowReader::Band { inner, band } => {
                vec![inner.band_names().get(band - 1).cloned().flatten()]
            }
            _ => vec![None; self.bands()],
        }
    }

    /// The band (from 1) the format's convention says holds phase: ISCE `.unw` band 2,
    /// SNAP's phase band; `None` where the format says nothing.
    pub fn phase_band(&self) -> Option<usize> {
        match self {
            RowReader::Raw(r) => r.phase_band(),
            RowReader::Band { .. } => Some(1),
            _ => None,
        }
    }

    /// This reader (of the raster at `path`, named in errors) reduced to band `band`
    /// (from 1).
    pub fn select_band(self, path: &Path, band: usize) -> Result<RowReader, RasterError> {
        let n = self.bands();
        if band == 0 || band > n {
            return Err(RasterError::BandChoice {
                path: path.to_path_buf(),
                msg: format!("band {band} asked for, the raster has {n}"),
            });
        }
        Ok(match self {
            RowReader::Raw(r) => RowReader::Raw(Box::new(r.select_band(band)?)),
            r if n == 1 => r,
            r => RowReader::Band {
                inner: Box::new(r),
                band,
            },
        })
    }

    pub fn read_rows(&mut self, y0: usize, n: usize) -> Result<Raster, RasterError> {
        match self {
            RowReader::Tiff(r) => r.read_rows(y0, n),
            RowReader::Gamma(r) => r.read_rows(y0, n),
            RowReader::Picture(r) => Ok(slice_rows(r, y0, n)),
            RowReader::Raw(r) => r.read_rows(y0, n),
            RowReader::Band { inner, band } => Ok(one_band(inner.read_rows(y0, n)?, *band)),
        }
    }

    pub fn read_all(&mut self) -> Result<Raster, RasterError> {
        match self {
            RowReader::Picture(r) => Ok(r.clone()),
            _ => self.read_rows(0, self.height()),
        }
    }
}

/// Band `band` (from 1, within `r.bands`) of a pixel-interleaved raster.
fn one_band(r: Raster, band: usize) -> Raster {
    let (b, nb) = (band - 1, r.bands.max(1));
    let pick = |len: usize| (b..len).step_by(nb);
    let pixels = match &r.pixels {
        Pixels::F32(v) => Pixels::F32(pick(v.len()).map(|i| v[i]).collect()),
        Pixels::C32(v) => Pixels::C32(pick(v.len()).map(|i| v[i]).collect()),
        Pixels::U8(v) => Pixels::U8(pick(v.len()).map(|i| v[i]).collect()),
    };
    Raster {
        bands: 1,
        pixels,
        ..r
    }
}

/// Rows of an in-memory raster; out-of-range requests are clamped to the raster.
fn slice_rows(r: &Raster, y0: usize, n: usize) -> Raster {
    let y0 = y0.min(r.height);
    let n = n.min(r.height - y0);
    let (a, b) = (y0 * r.width * r.bands, (y0 + n) * r.width * r.bands);
    let pixels = match &r.pixels {
        Pixels::F32(v) => Pixels::F32(v[a..b].to_vec()),
        Pixels::C32(v) => Pixels::C32(v[a..b].to_vec()),
        Pixels::U8(v) => Pixels::U8(v[a..b].to_vec()),
    };
    Raster {
        height: n,
        pixels,
        geo: r.geo.map(|g| GeoInfo {
            transform: g.transform.shifted(0, y0),
            ..g
        }),
        ..r.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gamma::{write_dem_par, write_raw_c32_be, write_raw_f32_be};
    use crate::geo::GeoTransform;
    use crate::picture::write_png_rgb;
    use crate::tiff_write::write_geotiff_f32;
    use num_complex::Complex32;

    #[test]
    fn date_pair_split() {
        assert_eq!(
            split_date_pair("20060619-20061002_utm"),
            Some(("20060619", "_utm"))
        );
        assert_eq!(split_date_pair("20180106_20180130"), Some(("20180106", "")));
        assert_eq!(split_date_pair("cropA_2018"), None);
    }

    #[test]
    fn every_format_by_magic_and_extension() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let geo = GeoInfo::new(
            GeoTransform::north_up(18.0, 50.0, 0.001, -0.001),
            Some(4326),
        );
        let f: Vec<f32> = (1..=12).map(|i| i as f32).collect();

        // A TIFF named .dat is still a TIFF.
        let p = d.join("x.dat");
        write_geotiff_f32(&p, 4, 3, &f, Some(&geo), Some(0.0)).unwrap();
        let r = read_any(&p).unwrap();
        assert_eq!(
            (r.width, r.height, r.pixels.clone()),
            (4, 3, Pixels::F32(f.clone()))
        );

        let p = d.join("pic.png");
        write_png_rgb(&p, 2, 2, &[9; 12]).unwrap();
        assert_eq!(detect_format(&p, None).unwrap(), Format::Png);
        assert_eq!(read_any(&p).unwrap().bands, 3);

        // GAMMA pair with its DEM parameters under the first date.
        let p = d.join("20200101-20200113_geo.unw");
        write_raw_f32_be(&p, &f).unwrap();
        write_dem_par(&d.join("20200101_geo_dem.par"), 4, 3, &geo).unwrap();
        let r = read_any(&p).unwrap();
        assert_eq!((r.width, r.height, r.nodata), (4, 3, Some(0.0)));
        let g = r.geo.unwrap();
        assert_eq!(g.epsg, Some(4326));
        assert!((g.transform.0[0] - 18.0).abs() < 1e-9 && (g.transform.0[3] - 50.0).abs() < 1e-9);

        // Radar-geometry interferogram with an offset file: width, no geotransform.
        let c: Vec<Complex32> = (0..6).map(|i| Complex32::new(i as f32, 1.0)).collect();
        let p = d.join("20200101_20200113.diff");
        write_raw_c32_be(&p, &c).unwrap();
        std::fs::write(
            d.join("20200101_20200113.off"),
            "interferogram_width:  3\ninterferogram_azimuth_lines:  2\n",
        )
        .unwrap();
        let r = read_any(&p).unwrap();
        assert_eq!((r.width, r.height, r.geo), (3, 2, None));
        assert_eq!(r.pixels, Pixels::C32(c));
    }

    #[test]
    fn licsbas_folder_little_endian_unw_and_byte_coherence() {
        let dir = tempfile::tempdir().unwrap();
        let geoc = dir.path().join("GEOCml1");
        let pair = geoc.join("20200101_20200113");
        std::fs::create_dir_all(&pair).unwrap();
        let (w, h) = (40, 30);
        let geo = GeoInfo::new(
            GeoTransform::north_up(139.9, 35.9, 0.001, -0.001),
            Some(4326),
        );
        write_dem_par(&geoc.join("EQA.dem_par"), w, h, &geo).unwrap();
        let unw: Vec<f32> = (0..w * h)
            .map(|i| (i as f32 * 0.05).sin() * 4.0 + 0.1)
            .collect();
        let le: Vec<u8> = unw.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(pair.join("20200101_20200113.unw"), le).unwrap();
        let cc: Vec<u8> = (0..w * h).map(|i| (i % 256) as u8).collect();
        std::fs::write(pair.join("20200101_20200113.cc"), &cc).unwrap();

        let r = read_any(&pair.join("20200101_20200113.unw")).unwrap();
        assert_eq!(r.pixels, Pixels::F32(unw));
        assert_eq!(r.geo.unwrap().epsg, Some(4326));
        let r = read_any(&pair.join("20200101_20200113.cc")).unwrap();
        assert_eq!(r.pixels, Pixels::U8(cc));
        assert!((r.coherence().unwrap()[255] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn missing_par_lists_candidates_and_width_flag() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lonely.cc");
        write_raw_f32_be(&p, &[0.5; 8]).unwrap();
        let err = read_any(&p).unwrap_err().to_string();
        assert!(
            err.contains("lonely.cc") && err.contains("lonely.par") && err.contains("--width"),
            "{err}"
        );
        let r = read_any_with(
            &p,
            &ReadOptions {
                width: Some(4),
                ..ReadOptions::default()
            },
        )
        .unwrap();
        assert_eq!((r.width, r.height), (4, 2));
        let err = read_any_with(
            &p,
            &ReadOptions {
                width: Some(3),
                ..ReadOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("not a whole number of rows of width 3"),
            "{err}"
        );
    }

    #[test]
    fn huge_width_from_flag_or_par_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.unw");
        write_raw_f32_be(&p, &[0.5; 8]).unwrap();
        // 2^62 float32 pixels a row: 2^64 bytes, which wrapped to 0 (remainder by zero).
        let width = 4_611_686_018_427_387_904usize;
        let err = read_any_with(
            &p,
            &ReadOptions {
                width: Some(width),
                ..ReadOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("big.unw") && err.contains(&format!("row of width {width}")),
            "{err}"
        );
        // The same width in the parameter file; with 4 lines, width × lines wraps to 0 too.
        std::fs::write(
            dir.path().join("big.unw.par"),
            format!("width: {width}\nnlines: 4\n"),
        )
        .unwrap();
        let err = read_any(&p).unwrap_err().to_string();
        assert!(err.contains(&format!("row of width {width}")), "{err}");
        // width × lines wrapping to exactly the file size (32 bytes) must not pass for
        // one-byte coherence: (2^63 + 16) × 2 ≡ 32 (mod 2^64).
        let width = (1usize << 63) + 16;
        std::fs::write(
            dir.path().join("big.unw.par"),
            format!("width: {width}\nnlines: 2\n"),
        )
        .unwrap();
        let err = read_any(&p).unwrap_err().to_string();
        assert!(err.contains(&format!("row of width {width}")), "{err}");
    }

    #[test]
    fn unknown_extension_is_clear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "hello").unwrap();
        let err = read_any(&p).unwrap_err().to_string();
        assert!(err.contains("notes.txt") && err.contains("`.txt`"), "{err}");
    }

    #[test]
    fn row_reader_pictures_slice_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.png");
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8).collect();
        write_png_rgb(&p, 2, 3, &rgb).unwrap();
        let mut rr = open_any(&p, &ReadOptions::default()).unwrap();
        let part = rr.read_rows(1, 2).unwrap();
        assert_eq!(part.pixels, Pixels::U8(rgb[6..].to_vec()));
    }
}

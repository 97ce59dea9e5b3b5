//! GAMMA rasters: headerless big-endian float32 (`.unw`, `.cc`, …) and fcomplex (`.diff`,
//! `.int`, …) files whose width lives in a separate `key: value units` parameter file
//! (`.par`, `.diff_par`, `*_dem.par`). Exact zeros are GAMMA's no-data. The same layout
//! in little-endian (LiCSBAS, ISCE) and LiCSBAS's byte coherence are read too.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use num_complex::Complex32;

use crate::error::RasterError;
use crate::geo::{GeoInfo, GeoTransform};
use crate::raster::{Pixels, Raster};

/// One `key: value [units]` line of a parameter file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParEntry {
    pub key: String,
    /// Whitespace-separated tokens after the colon (numbers and their units).
    pub values: Vec<String>,
    /// 1-based line number, for error messages.
    pub line: usize,
}

/// A parsed GAMMA parameter file; lines without a colon (titles) are skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct ParFile {
    pub path: PathBuf,
    pub entries: Vec<ParEntry>,
}

impl ParFile {
    pub fn entry(&self, key: &str) -> Option<&ParEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The text after the colon, tokens joined by one space.
    pub fn get(&self, key: &str) -> Option<String> {
        self.entry(key).map(|e| e.values.join(" "))
    }

    /// First token of the first key present among `keys`, as a number.
    pub fn get_f64(&self, keys: &[&str]) -> Result<Option<f64>, RasterError> {
        let Some(e) = keys.iter().find_map(|k| self.entry(k)) else {
            return Ok(None);
        };
        let tok = e.values.first().map(String::as_str).unwrap_or("");
        tok.parse::<f64>().map(Some).map_err(|_| RasterError::Par {
            path: self.path.clone(),
            line: e.line,
            msg: format!("`{}` is {tok:?}, expected a number", e.key),
        })
    }

    pub fn get_usize(&self, keys: &[&str]) -> Result<Option<usize>, RasterError> {
        let Some(e) = keys.iter().find_map(|k| self.entry(k)) else {
            return Ok(None);
        };
        let tok = e.values.first().map(String::as_str).unwrap_or("");
        tok.parse::<usize>()
            .map(Some)
            .map_err(|_| RasterError::Par {
                path: self.path.clone(),
                line: e.line,
                msg: format!("`{}` is {tok:?}, expected a whole number", e.key),
            })
    }

    /// Raster width: DEM/geocoded (`width`), SLC/MLI (`range_samples`), interferogram
    /// offset files (`interferogram_width`).
    pub fn width(&self) -> Result<Option<usize>, RasterError> {
        self.get_usize(&WIDTH_KEYS)
    }

    pub fn lines(&self) -> Result<Option<usize>, RasterError> {
        self.get_usize(&LINES_KEYS)
    }
}

pub const WIDTH_KEYS: [&str; 4] = ["width", "range_samples", "interferogram_width", "samples"];
pub const LINES_KEYS: [&str; 4] = [
    "nlines",
    "azimuth_lines",
    "interferogram_azimuth_lines",
    "lines",
];

pub fn parse_par_str(path: &Path, text: &str) -> ParFile {
    let entries = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (key, rest) = line.split_once(':')?;
            let key = key.trim();
            // "date: 2006 06 19" has a key; "Gamma DIFF&GEO DEM/MAP parameter file" does not.
            if key.is_empty() || key.contains(char::is_whitespace) {
                return None;
            }
            Some(ParEntry {
                key: key.to_string(),
                values: rest.split_whitespace().map(str::to_string).collect(),
                line: i + 1,
            })
        })
        .collect();
    ParFile {
        path: path.to_path_buf(),
        entries,
    }
}

pub fn parse_par(path: &Path) -> Result<ParFile, RasterError> {
    let bytes = std::fs::read(path).map_err(|e| RasterError::io(path, e))?;
    Ok(parse_par_str(path, &String::from_utf8_lossy(&bytes)))
}

/// The geotransform of a geocoded GAMMA raster from its DEM parameter file. GAMMA's
/// `corner_lat/lon` (`corner_north/east`) are the centre of the first pixel, so the GDAL
/// corner origin is half a post up and left of it. EQA → EPSG:4326; UTM on WGS 84 →
/// EPSG:326zz (north) / 327zz (south, false northing 10 000 000). `None` when the file has
/// no `DEM_projection` (radar geometry).
pub fn dem_par_geo(par: &ParFile) -> Result<Option<GeoInfo>, RasterError> {
    let Some(projection) = par.get("DEM_projection") else {
        return Ok(None);
    };
    let need = |keys: &[&str]| -> Result<f64, RasterError> {
        par.get_f64(keys)?.ok_or_else(|| RasterError::Par {
            path: par.path.clone(),
            line: 0,
            msg: format!("{projection} DEM parameters lack `{}`", keys[0]),
        })
    };
    let (x, y, dx, dy, epsg) = match projection.as_str() {
        "EQA" => (
            need(&["corner_lon"])?,
            need(&["corner_lat"])?,
            need(&["post_lon"])?,
            need(&["post_lat"])?,
            Some(4326),
        ),
        "UTM" => {
            let zone = par.get_usize(&["projection_zone"])?;
            let false_northing = par.get_f64(&["false_northing"])?.unwrap_or(0.0);
            let wgs84 = par
                .get("ellipsoid_name")
                .is_none_or(|e| e.replace(' ', "").eq_ignore_ascii_case("WGS84"));
            let epsg = zone
                .filter(|z| (1..=60).contains(z) && wgs84)
                .map(|z| if false_northing > 0.0 { 32700 } else { 32600 } + z as u32);
            (
                need(&["corner_east"])?,
                need(&["corner_north"])?,
                need(&["post_east"])?,
                need(&["post_north"])?,
                epsg,
            )
        }
        other => {
            return Err(RasterError::unsupported(
                &par.path,
                format!("DEM_projection {other} (reads EQA and UTM)"),
            ));
        }
    };
    Ok(Some(GeoInfo::new(
        GeoTransform::north_up(x - dx / 2.0, y - dy / 2.0, dx, dy),
        epsg,
    )))
}

/// Element type of a GAMMA raw raster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    /// `float`: 4 bytes (big-endian as GAMMA writes them; see [`RawReader::with_big_endian`]).
    F32,
    /// `fcomplex`: re, im of 4 bytes each.
    C32,
    /// Bytes: LiCSBAS stores coherence as round(γ × 255) in `.cc` files.
    U8,
}

impl RawKind {
    pub fn bytes(self) -> usize {
        match self {
            RawKind::F32 => 4,
            RawKind::C32 => 8,
            RawKind::U8 => 1,
        }
    }

    /// From a GAMMA file name's extension; `None` when it is not one GAMMA uses for rasters.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "diff" | "int" | "flt" | "filt" | "sm" | "adf" | "diff0" | "cpx" => Some(RawKind::C32),
            "unw" | "cc" | "cor" | "coh" | "ccs" | "mli" | "pwr" | "hgt" | "dem" | "disp"
            | "phs" | "los" | "inc" | "ph" | "rdc" => Some(RawKind::F32),
            _ => None,
        }
    }
}

/// Streaming reader of a raw raster: rows are seeks + reads, so any band of rows is cheap.
pub struct RawReader {
    path: PathBuf,
    file: BufReader<File>,
    kind: RawKind,
    width: usize,
    height: usize,
    geo: Option<GeoInfo>,
    big_endian: bool,
}

impl RawReader {
    /// Height comes from the file size; `lines`, when known, is checked against it.
    pub fn open(
        path: &Path,
        kind: RawKind,
        width: usize,
        lines: Option<usize>,
        geo: Option<GeoInfo>,
    ) -> Result<Self, RasterError> {
        let file = File::open(path).map_err(|e| RasterError::io(path, e))?;
        let size = file.metadata().map_err(|e| RasterError::io(path, e))?.len();
        if width == 0 {
            return Err(RasterError::argument(path, "width 0"));
        }
        // The width comes from a parameter file or the command line: a row of it must fit
        // in the file (which also keeps every later row offset and buffer size in range).
        let row = width
            .checked_mul(kind.bytes())
            .and_then(|r| u64::try_from(r).ok())
            .filter(|&r| r <= size)
            .ok_or_else(|| {
                RasterError::format(
                    path,
                    format!(
                        "one row of width {width} is {} bytes ({kind:?}, {} bytes a pixel), \
                         more than the whole file ({size} bytes): wrong width?",
                        width as u128 * kind.bytes() as u128,
                        kind.bytes()
                    ),
                )
            })?;
        if size % row != 0 || size == 0 {
            return Err(RasterError::format(
                path,
                format!(
                    "{size} bytes is not a whole number of rows of width {width} \
                     ({row} bytes of {kind:?} each): wrong width, wrong type, or truncated file"
                ),
            ));
        }
        let height = (size / row) as usize;
        if let Some(l) = lines
            && l != height
        {
            return Err(RasterError::format(
                path,
                format!(
                    "{height} lines of width {width} in the file but the parameter file says \
                     {l} lines (truncated file or wrong parameter file?)"
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: BufReader::new(file),
            kind,
            width,
            height,
            geo,
            big_endian: true,
        })
    }

    /// GAMMA writes big-endian; LiCSBAS, ISCE and numpy `tofile` write little-endian.
    pub fn with_big_endian(mut self, big_endian: bool) -> Self {
        self.big_endian = big_endian;
        self
    }

    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn geo(&self) -> Option<&GeoInfo> {
        self.geo.as_ref()
    }

    pub fn kind(&self) -> RawKind {
        self.kind
    }

    pub fn read_rows(&mut self, y0: usize, n: usize) -> Result<Raster, RasterError> {
        RasterError::check_rows(&self.path, y0, n, self.height)?;
        // `open` checked width × bytes × height == the file's size: these products fit.
        let row = self.width * self.kind.bytes();
        let mut buf = vec![0u8; row * n];
        let io = |e| RasterError::io(&self.path, e);
        self.file
            .seek(SeekFrom::Start((y0 * row) as u64))
            .map_err(io)?;
        self.file.read_exact(&mut buf).map_err(io)?;
        let be = if self.big_endian {
            |b: &[u8]| f32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            |b: &[u8]| f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        let pixels = match self.kind {
            RawKind::F32 => Pixels::F32(buf.chunks_exact(4).map(be).collect()),
            RawKind::C32 => Pixels::C32(
                buf.chunks_exact(8)
                    .map(|b| Complex32::new(be(&b[..4]), be(&b[4..])))
                    .collect(),
            ),
            RawKind::U8 => Pixels::U8(buf),
        };
        Ok(Raster {
            width: self.width,
            height: n,
            bands: 1,
            pixels,
            geo: self.geo.map(|g| GeoInfo {
                transform: g.transform.shifted(0, y0),
                ..g
            }),
            nodata: Some(0.0),
        })
    }

    pub fn read_all(&mut self) -> Result<Raster, RasterError> {
        self.read_rows(0, self.height)
    }
}

/// Whether a headerless float file is big-endian, judged from up to 4096 non-zero words
/// spread over it: data read in the wrong order has wild exponents (NaN, 1e-30, 1e+30),
/// data read in the right order mostly does not. Ties and unclear cases say big-endian
/// (GAMMA's order).
pub fn guess_big_endian(path: &Path) -> Result<bool, RasterError> {
    let mut f = File::open(path).map_err(|e| RasterError::io(path, e))?;
    let len = f.metadata().map_err(|e| RasterError::io(path, e))?.len() / 4;
    let probes = len.min(4096);
    let (mut sane_be, mut sane_le, mut nonzero) = (0usize, 0usize, 0usize);
    let sane = |v: f32| v.is_finite() && (1e-12..1e12).contains(&v.abs());
    for k in 0..probes {
        let word = k * len / probes.max(1);
        let mut b = [0u8; 4];
        f.seek(SeekFrom::Start(word * 4))
            .and_then(|_| f.read_exact(&mut b))
            .map_err(|e| RasterError::io(path, e))?;
        if b == [0; 4] {
            continue;
        }
        nonzero += 1;
        sane_be += usize::from(sane(f32::from_be_bytes(b)));
        sane_le += usize::from(sane(f32::from_le_bytes(b)));
    }
    let clearly_le = nonzero > 0 && sane_le * 20 >= nonzero * 19 && sane_be * 2 < nonzero;
    Ok(!clearly_le)
}

/// Big-endian float32 raster of known width (height from the file size).
pub fn read_raw_f32_be(path: &Path, width: usize) -> Result<Raster, RasterError> {
    RawReader::open(path, RawKind::F32, width, None, None)?.read_all()
}

/// Big-endian fcomplex raster of known width (height from the file size).
pub fn read_raw_c32_be(path: &Path, width: usize) -> Result<Raster, RasterError> {
    RawReader::open(path, RawKind::C32, width, None, None)?.read_all()
}

pub fn write_raw_f32_be(path: &Path, data: &[f32]) -> Result<(), RasterError> {
    write_be(path, data.iter().flat_map(|v| v.to_be_bytes()))
}

pub fn write_raw_c32_be(path: &Path, data: &[Complex32]) -> Result<(), RasterError> {
    write_be(
        path,
        data.iter()
            .flat_map(|c| c.re.to_be_bytes().into_iter().chain(c.im.to_be_bytes())),
    )
}

fn write_be(path: &Path, bytes: impl Iterator<Item = u8>) -> Result<(), RasterError> {
    let bytes: Vec<u8> = bytes.collect();
    crate::atomic::write(path, bytes).map_err(|e| RasterError::io(path, e))
}

/// Writes an EQA or UTM DEM parameter file for a north-up transform (the inverse of
/// [`dem_par_geo`]), so geocoded raw rasters can be made for tests and exports.
pub fn write_dem_par(
    path: &Path,
    width: usize,
    lines: usize,
    geo: &GeoInfo,
) -> Result<(), RasterError> {
    let g = geo.transform.0;
    if geo.transform.is_rotated() {
        return Err(RasterError::argument(
            path,
            "GAMMA DEM parameters describe north-up grids only",
        ));
    }
    let (cx, cy) = (g[0] + g[1] / 2.0, g[3] + g[5] / 2.0);
    let mut text = String::from("Gamma DIFF&GEO DEM/MAP parameter file\ntitle: yolo-basin\n");
    match geo.epsg {
        Some(4326) => {
            text += "DEM_projection:     EQA\ndata_format:        REAL*4\n";
            text += &format!("width:              {width}\nnlines:             {lines}\n");
            text += &format!("corner_lat:     {cy:.10}  decimal degrees\n");
            text += &format!("corner_lon:     {cx:.10}  decimal degrees\n");
            text += &format!("post_lat:       {:.10e}  decimal degrees\n", g[5]);
            text += &format!("post_lon:       {:.10e}  decimal degrees\n", g[1]);
        }
        Some(e @ (32601..=32660 | 32701..=32760)) => {
            let (zone, south) = (e % 100, e > 32700);
            text += "DEM_projection:     UTM\ndata_format:        REAL*4\n";
            text += "ellipsoid_name: WGS 84\n";
            text += &format!("projection_zone:    {zone}\n");
            text += &format!(
                "false_northing:     {}  m\n",
                if south { 10_000_000 } else { 0 }
            );
            text += &format!("width:              {width}\nnlines:             {lines}\n");
            text += &format!("corner_north:   {cy:.6}  m\ncorner_east:    {cx:.6}  m\n");
            text += &format!(
                "post_north:     {:.6}  m\npost_east:      {:.6}  m\n",
                g[5], g[1]
            );
        }
        other => {
            return Err(RasterError::argument(
                path,
                format!("GAMMA DEM parameters need EPSG 4326 or WGS 84 UTM, got {other:?}"),
            ));
        }
    }
    crate::atomic::write(path, text).map_err(|e| RasterError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEM_PAR: &str = "Gamma DIFF&GEO DEM/MAP parameter file
title: GAMMA DEM par file created from ROI_PAC rsc files MCG 28/01/2016
DEM_projection:     EQA
data_format:        REAL*4
width:                47
nlines:               72
corner_lat:    -34.1700000  decimal degrees
corner_lon:     150.9100000  decimal degrees
post_lat:   -8.33333e-04  decimal degrees
post_lon:    8.33333e-04  decimal degrees

ellipsoid_name: WGS 84
datum_country_list Global Definition, WGS84, World
";

    #[test]
    fn parses_dem_par_by_hand() {
        let par = parse_par_str(Path::new("x_dem.par"), DEM_PAR);
        assert_eq!(par.width().unwrap(), Some(47));
        assert_eq!(par.lines().unwrap(), Some(72));
        assert_eq!(par.get("ellipsoid_name").as_deref(), Some("WGS 84"));
        assert_eq!(
            par.get("title").as_deref(),
            Some("GAMMA DEM par file created from ROI_PAC rsc files MCG 28/01/2016")
        );
        assert!(par.entry("datum_country_list").is_none());
        let e = par.entry("corner_lat").unwrap();
        assert_eq!((e.line, e.values.len()), (7, 3));
        let g = dem_par_geo(&par).unwrap().unwrap();
        assert_eq!(g.epsg, Some(4326));
        let t = g.transform.0;
        assert!((t[0] - (150.91 - 8.33333e-4 / 2.0)).abs() < 1e-12);
        assert!((t[3] - (-34.17 + 8.33333e-4 / 2.0)).abs() < 1e-12);
        assert_eq!((t[1], t[5]), (8.33333e-4, -8.33333e-4));
    }

    #[test]
    fn bad_number_names_line() {
        let par = parse_par_str(Path::new("a.par"), "title: x\nwidth: forty\n");
        let err = par.width().unwrap_err().to_string();
        assert!(
            err.contains("a.par, line 2") && err.contains("forty"),
            "{err}"
        );
    }

    #[test]
    fn slc_and_diff_par_widths() {
        let slc = parse_par_str(
            Path::new("s.par"),
            "range_samples:  8630\nazimuth_lines: 8571\n",
        );
        assert_eq!(
            (slc.width().unwrap(), slc.lines().unwrap()),
            (Some(8630), Some(8571))
        );
        let off = parse_par_str(
            Path::new("d.diff_par"),
            "interferogram_width:   1200\ninterferogram_azimuth_lines:  900\n",
        );
        assert_eq!(
            (off.width().unwrap(), off.lines().unwrap()),
            (Some(1200), Some(900))
        );
        assert_eq!(dem_par_geo(&off).unwrap(), None);
    }

    #[test]
    fn dem_par_writer_round_trips_eqa_and_utm() {
        let dir = tempfile::tempdir().unwrap();
        for geo in [
            GeoInfo::new(
                GeoTransform::north_up(19.5, 50.25, 0.0005, -0.0004),
                Some(4326),
            ),
            GeoInfo::new(
                GeoTransform::north_up(400000.0, 5600000.0, 20.0, -20.0),
                Some(32634),
            ),
            GeoInfo::new(
                GeoTransform::north_up(300000.0, 7400000.0, 30.0, -30.0),
                Some(32722),
            ),
        ] {
            let p = dir.path().join("t_dem.par");
            write_dem_par(&p, 10, 20, &geo).unwrap();
            let par = parse_par(&p).unwrap();
            assert_eq!(
                (par.width().unwrap(), par.lines().unwrap()),
                (Some(10), Some(20))
            );
            let back = dem_par_geo(&par).unwrap().unwrap();
            assert_eq!(back.epsg, geo.epsg);
            for k in 0..6 {
                assert!(
                    (back.transform.0[k] - geo.transform.0[k]).abs() < 1e-9,
                    "{back:?}"
                );
            }
        }
    }

    #[test]
    fn raw_round_trip_and_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (13, 9);
        let f: Vec<f32> = (0..w * h).map(|i| (i as f32 - 50.0) * 0.125).collect();
        let p = dir.path().join("a.unw");
        write_raw_f32_be(&p, &f).unwrap();
        // Big-endian on disk: 0x... of the first value (−6.25 = C0C8 0000).
        assert_eq!(&std::fs::read(&p).unwrap()[..4], &[0xC0, 0xC8, 0, 0]);
        let r = read_raw_f32_be(&p, w).unwrap();
        assert_eq!((r.width, r.height, r.nodata), (w, h, Some(0.0)));
        assert_eq!(r.pixels, Pixels::F32(f.clone()));
        let mut rd = RawReader::open(&p, RawKind::F32, w, Some(h), None).unwrap();
        let part = rd.read_rows(4, 3).unwrap();
        assert_eq!(part.pixels, Pixels::F32(f[4 * w..7 * w].to_vec()));

        let c: Vec<Complex32> = (0..w * h)
            .map(|i| Complex32::new(i as f32, -(i as f32) / 3.0))
            .collect();
        let p = dir.path().join("a.diff");
        write_raw_c32_be(&p, &c).unwrap();
        let r = read_raw_c32_be(&p, w).unwrap();
        assert_eq!(r.pixels, Pixels::C32(c));
        assert_eq!(r.valid_mask().iter().filter(|v| !**v).count(), 1);
    }

    #[test]
    fn byte_order_guess() {
        let dir = tempfile::tempdir().unwrap();
        let v: Vec<f32> = (0..5000)
            .map(|i| {
                if i % 9 == 0 {
                    0.0
                } else {
                    (i as f32 * 0.01).sin() * 3.0
                }
            })
            .collect();
        let p = dir.path().join("be.unw");
        write_raw_f32_be(&p, &v).unwrap();
        assert!(guess_big_endian(&p).unwrap());
        let p = dir.path().join("le.unw");
        std::fs::write(
            &p,
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        )
        .unwrap();
        assert!(!guess_big_endian(&p).unwrap());
        let mut rd = RawReader::open(&p, RawKind::F32, 100, None, None)
            .unwrap()
            .with_big_endian(false);
        assert_eq!(rd.read_all().unwrap().pixels, Pixels::F32(v));
        // All zeros: nothing to judge, GAMMA's order.
        let p = dir.path().join("zero.unw");
        std::fs::write(&p, [0u8; 64]).unwrap();
        assert!(guess_big_endian(&p).unwrap());
    }

    #[test]
    fn wrong_width_and_lines_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.unw");
        write_raw_f32_be(&p, &[1.0; 30]).unwrap();
        let err = read_raw_f32_be(&p, 7).err().unwrap().to_string();
        assert!(
            err.contains("b.unw") && err.contains("120 bytes") && err.contains("width 7"),
            "{err}"
        );
        let err = RawReader::open(&p, RawKind::F32, 10, Some(4), None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("3 lines") && err.contains("says 4"), "{err}");
    }

    #[test]
    fn width_whose_row_does_not_fit_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.unw");
        write_raw_f32_be(&p, &[1.0; 30]).unwrap();
        // 2^62 × 4 bytes wraps to a row of 0 bytes (was: remainder by zero); 2^62 + 1
        // wraps to 4 bytes, which divides the file (was: a "raster" of width 2^62 + 1
        // holding 30 pixels); 2^61 × 8 (fcomplex) wraps to 0 as well.
        for (width, kind) in [
            (1usize << 62, RawKind::F32),
            ((1 << 62) + 1, RawKind::F32),
            (1 << 61, RawKind::C32),
            (usize::MAX, RawKind::U8),
            (31, RawKind::F32),
        ] {
            let err = RawReader::open(&p, kind, width, None, None)
                .err()
                .unwrap_or_else(|| panic!("width {width} opened"))
                .to_string();
            assert!(
                err.contains("w.unw")
                    && err.contains(&format!("row of width {width}"))
                    && err.contains("whole file (120 bytes)"),
                "{err}"
            );
        }
        // One row as wide as the file is fine.
        let r = read_raw_f32_be(&p, 30).unwrap();
        assert_eq!((r.width, r.height), (30, 1));
        // A row request whose end overflows is refused like any other out-of-range one.
        let mut rd = RawReader::open(&p, RawKind::F32, 30, None, None).unwrap();
        let err = rd.read_rows(1, usize::MAX).unwrap_err().to_string();
        assert!(err.contains("height 1"), "{err}");
    }
}

//! ENVI rasters: raw samples beside a `.hdr` text header (`samples`, `lines`, `bands`,
//! `header offset`, `data type`, `interleave`, `byte order`, `band names`, `map info`,
//! `coordinate system string`, `data ignore value`), read as GDAL's ENVI driver reads
//! them. SNAP's BEAM-DIMAP keeps each band as one of these.

use std::path::{Path, PathBuf};

use crate::crs::{envi_list, envi_map_info};
use crate::error::RasterError;
use crate::rawbands::{RawBand, RawBandsReader, RawLayout};
use crate::tiff_read::StoredType;

/// Largest header read (a header is a few hundred bytes; wavelength lists of hyperspectral
/// cubes a few tens of KiB).
const MAX_HEADER_BYTES: u64 = 16 << 20;

/// A parsed `.hdr`: `key = value` pairs, keys lower-cased with spaces as `_` (as GDAL keys
/// them: `data type` → `data_type`), `{…}` values joined across lines.
#[derive(Debug, Clone, PartialEq)]
pub struct EnviHeader {
    pub path: PathBuf,
    pub entries: Vec<(String, String)>,
}

impl EnviHeader {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, RasterError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.trim().parse().map(Some).map_err(|_| {
            RasterError::format(
                &self.path,
                format!(
                    "`{}` is {v:?}, expected a whole number",
                    key.replace('_', " ")
                ),
            )
        })
    }

    fn required(&self, key: &str) -> Result<usize, RasterError> {
        self.number::<usize>(key)?.ok_or_else(|| {
            RasterError::format(
                &self.path,
                format!(
                    "no `{}` line: an ENVI header needs samples, lines and bands",
                    key.replace('_', " ")
                ),
            )
        })
    }

    /// Band names from `band names = {a, b}`, one per band (`None` past the list's end).
    pub fn band_names(&self, bands: usize) -> Vec<Option<String>> {
        let names = self.get("band_names").map(envi_list).unwrap_or_default();
        (0..bands)
            .map(|i| names.get(i).filter(|n| !n.is_empty()).cloned())
            .collect()
    }
}

pub fn parse_header_str(path: &Path, text: &str) -> Result<EnviHeader, RasterError> {
    let mut lines = text.lines();
    if !lines
        .next()
        .is_some_and(|l| l.trim_start().starts_with("ENVI"))
    {
        return Err(RasterError::format(
            path,
            "does not start with `ENVI`: not an ENVI header",
        ));
    }
    let mut entries = Vec::new();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let mut value = value.trim().to_string();
        // A `{` list may run over several lines, up to its `}`.
        if value.contains('{') && !value.contains('}') {
            for more in lines.by_ref() {
                value.push(' ');
                value.push_str(more.trim());
                if more.contains('}') {
                    break;
                }
            }
        }
        let key = key.trim().to_ascii_lowercase().replace([' ', '\t'], "_");
        if !key.is_empty() {
            entries.push((key, value));
        }
    }
    Ok(EnviHeader {
        path: path.to_path_buf(),
        entries,
    })
}

pub fn parse_header(path: &Path) -> Result<EnviHeader, RasterError> {
    let len = std::fs::metadata(path)
        .map_err(|e| RasterError::io(path, e))?
        .len();
    if len > MAX_HEADER_BYTES {
        return Err(RasterError::format(
            path,
            format!("{len} bytes is too large for an ENVI header"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| RasterError::io(path, e))?;
    parse_header_str(path, &String::from_utf8_lossy(&bytes))
}

/// The header of the data file at `path`, as GDAL looks for it: `name.hdr` (appended),
/// then `stem.hdr` (replacing the extension), either case; only a file that starts with
/// `ENVI` counts.
pub fn header_beside(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let mut candidates = vec![
        path.with_file_name(format!("{name}.hdr")),
        path.with_file_name(format!("{name}.HDR")),
    ];
    if path.extension().is_some() {
        candidates.push(path.with_extension("hdr"));
        candidates.push(path.with_extension("HDR"));
    }
    candidates.into_iter().find(|c| starts_with_envi(c))
}

fn starts_with_envi(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"ENVI"
}

/// The data file a header describes: the header's name without `.hdr`, else that stem
/// with the extensions ENVI and SNAP write, else the one other file of that stem beside it
/// (`ifg.hdr` for `ifg.cpx`).
pub fn data_beside(header: &Path) -> Result<PathBuf, RasterError> {
    let stem = header.with_extension("");
    let mut candidates = vec![stem.clone()];
    for ext in [
        "img", "bin", "dat", "raw", "bsq", "bil", "bip", "IMG", "BIN", "DAT",
    ] {
        candidates.push(stem.with_extension(ext));
    }
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Ok(found.clone());
    }
    let others = same_stem(&stem);
    match others.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(RasterError::format(
            header,
            format!(
                "ENVI header without its data file (looked for {}{})",
                candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                if others.is_empty() {
                    ""
                } else {
                    "; several other files share its name: open the data file itself"
                }
            ),
        )),
    }
}

/// Files `<stem>.<ext>` beside `stem` other than headers and GDAL/ENVI side files.
fn same_stem(stem: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (stem.parent(), stem.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let side = ["hdr", "xml", "vrt", "sta", "enp", "aux"];
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            p.is_file()
                && p.file_stem().and_then(|s| s.to_str()) == Some(name)
                && !side.contains(&ext.to_ascii_lowercase().as_str())
        })
        .collect()
}

/// `(header, data)` for a path naming either.
pub fn files_of(path: &Path) -> Result<(PathBuf, PathBuf), RasterError> {
    let is_hdr = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hdr"));
    if is_hdr {
        return Ok((path.to_path_buf(), data_beside(path)?));
    }
    let header = header_beside(path)
        .ok_or_else(|| RasterError::format(path, "no ENVI header (.hdr) beside this file"))?;
    Ok((header, path.to_path_buf()))
}

/// ENVI's `data type` codes.
fn stored_type(h: &EnviHeader, code: u32) -> Result<StoredType, RasterError> {
    Ok(match code {
        1 => StoredType::U8,
        2 => StoredType::I16,
        3 => StoredType::I32,
        4 => StoredType::F32,
        5 => StoredType::F64,
        6 => StoredType::CF32,
        12 => StoredType::U16,
        13 => StoredType::U32,
        other => {
            return Err(RasterError::unsupported(
                &h.path,
                format!(
                    "`data type = {other}` (reads 1 byte, 2 int16, 3 int32, 4 float32, 5 float64, \
                     6 complex64, 12 uint16, 13 uint32)"
                ),
            ));
        }
    })
}

/// The layout of the ENVI raster `data` described by header `h`.
pub fn layout(h: &EnviHeader, data: &Path) -> Result<RawLayout, RasterError> {
    let (w, lines, bands) = (
        h.required("samples")?,
        h.required("lines")?,
        h.required("bands")?,
    );
    let file_type = h.get("file_type").unwrap_or("").to_ascii_lowercase();
    if [
        "envi meta file",
        "envi virtual mosaic",
        "envi spectral library",
    ]
    .contains(&file_type.as_str())
    {
        return Err(RasterError::unsupported(
            &h.path,
            format!("ENVI file type `{file_type}`"),
        ));
    }
    if h.number::<u32>("file_compression")?.unwrap_or(0) != 0 {
        return Err(RasterError::unsupported(
            &h.path,
            "compressed ENVI data (`file compression = 1`)",
        ));
    }
    if bands == 0 || bands > crate::rawbands::MAX_BANDS {
        return Err(RasterError::format(
            &h.path,
            format!(
                "`bands = {bands}`, expected 1 to {}",
                crate::rawbands::MAX_BANDS
            ),
        ));
    }
    let stored = stored_type(h, h.number("data_type")?.unwrap_or(1))?;
    let big_endian = h.number::<u32>("byte_order")?.unwrap_or(0) == 1;
    let offset: u64 = h.number("header_offset")?.unwrap_or(0);
    let interleave = interleave(h, data);
    let names = h.band_names(bands);
    let nodata = match h.get("data_ignore_value") {
        Some(v) => Some(crate::geo::parse_nodata(v.trim()).ok_or_else(|| {
            RasterError::format(
                &h.path,
                format!("`data ignore value` is {v:?}, expected a number"),
            )
        })?),
        None => None,
    };
    let overflow = || {
        RasterError::format(
            &h.path,
            format!(
                "{w} × {lines} × {bands} samples of {} bytes overflow a file offset",
                stored.bytes()
            ),
        )
    };
    let s = stored.bytes() as u64;
    let row = (w as u64).checked_mul(s).ok_or_else(overflow)?;
    let plane = row.checked_mul(lines as u64).ok_or_else(overflow)?;
    let mut out = Vec::with_capacity(bands);
    for (b, name) in names.into_iter().enumerate() {
        let b64 = b as u64;
        let (band_offset, px, line) = match interleave {
            Interleave::Bsq => (plane.checked_mul(b64), Some(s), Some(row)),
            Interleave::Bil => (row.checked_mul(b64), Some(s), row.checked_mul(bands as u64)),
            Interleave::Bip => (
                s.checked_mul(b64),
                s.checked_mul(bands as u64),
                row.checked_mul(bands as u64),
            ),
        };
        let (Some(band_offset), Some(px), Some(line)) = (band_offset, px, line) else {
            return Err(overflow());
        };
        out.push(RawBand {
            file: data.to_path_buf(),
            offset: offset.checked_add(band_offset).ok_or_else(overflow)?,
            pixel_offset: px,
            line_offset: line,
            stored,
            big_endian,
            name,
            nodata,
            scaling: (1.0, 0.0),
        });
    }
    let geo = match h.get("map_info") {
        Some(m) => Some(
            envi_map_info(m, h.get("coordinate_system_string"))
                .map_err(|msg| RasterError::format(&h.path, msg))?,
        ),
        None => None,
    };
    Ok(RawLayout {
        width: w,
        height: lines,
        phase_band: crate::isce::unw_phase_band(data, bands),
        bands: out,
        geo,
        driver: "ENVI",
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Interleave {
    Bsq,
    Bil,
    Bip,
}

/// `interleave`, else the data file's extension, else BSQ (as GDAL).
fn interleave(h: &EnviHeader, data: &Path) -> Interleave {
    let ext = data
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_string();
    let v = h
        .get("interleave")
        .unwrap_or(&ext)
        .trim()
        .to_ascii_lowercase();
    if v.starts_with("bil") {
        Interleave::Bil
    } else if v.starts_with("bip") {
        Interleave::Bip
    } else {
        Interleave::Bsq
    }
}

/// Opens the ENVI raster at `path` (its data file or its `.hdr`).
pub fn open(path: &Path) -> Result<RawBandsReader, RasterError> {
    let (header, data) = files_of(path)?;
    let h = parse_header(&header)?;
    RawBandsReader::open(path, layout(&h, &data)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Pixels;

    #[test]
    fn header_keys_lists_and_errors() {
        let p = Path::new("x.hdr");
        let h = parse_header_str(
            p,
            "ENVI\ndescription = {a\n  b}\nsamples = 3\nLines   = 2\nbands = 2\nband names = {\n phase,\n coherence }\ndata type = 4\n",
        )
        .unwrap();
        assert_eq!(h.get("lines"), Some("2"));
        assert_eq!(h.get("description"), Some("{a b}"));
        assert_eq!(
            h.band_names(3),
            vec![Some("phase".into()), Some("coherence".into()), None]
        );
        assert!(parse_header_str(p, "samples = 3\n").is_err());
        let h = parse_header_str(p, "ENVI\nsamples = three\nlines = 1\nbands = 1\n").unwrap();
        let e = layout(&h, Path::new("x")).unwrap_err().to_string();
        assert!(e.contains("`samples` is \"three\""), "{e}");
        let h = parse_header_str(p, "ENVI\nsamples = 3\nbands = 1\n").unwrap();
        let e = layout(&h, Path::new("x")).unwrap_err().to_string();
        assert!(e.contains("no `lines` line"), "{e}");
        let h = parse_header_str(
            p,
            "ENVI\nsamples = 1\nlines = 1\nbands = 1\ndata type = 9\n",
        )
        .unwrap();
        let e = layout(&h, Path::new("x")).unwrap_err().to_string();
        assert!(e.contains("data type = 9"), "{e}");
    }

    /// A BIL int16 big-endian file with a 5-byte header offset and a no-data value: the
    /// offsets and byte order as GDAL computes them.
    #[test]
    fn bil_big_endian_with_header_offset() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("cube.bil");
        let (w, h) = (2usize, 2usize);
        // Row r, band b, col c holds 100·r + 10·b + c.
        let mut bytes = vec![0xAB; 5];
        for r in 0..h {
            for b in 0..2 {
                for c in 0..w {
                    bytes.extend(((100 * r + 10 * b + c) as i16).to_be_bytes());
                }
            }
        }
        std::fs::write(&data, bytes).unwrap();
        std::fs::write(
            dir.path().join("cube.hdr"),
            "ENVI\nsamples = 2\nlines = 2\nbands = 2\nheader offset = 5\ndata type = 2\n\
             byte order = 1\ndata ignore value = 111\n",
        )
        .unwrap();
        let mut r = open(&data).unwrap();
        let got = r.read_all().unwrap();
        assert_eq!(got.nodata, Some(111.0));
        assert_eq!(
            got.pixels,
            Pixels::F32(vec![0.0, 10.0, 1.0, 11.0, 100.0, 110.0, 101.0, 111.0])
        );
        // Opening the header finds the data file beside it, also under an extension of its
        // own.
        let mut r = open(&dir.path().join("cube.hdr")).unwrap();
        assert_eq!(
            r.read_rows(1, 1).unwrap().pixels,
            Pixels::F32(vec![100.0, 110.0, 101.0, 111.0])
        );
        // (Here the header says `interleave`: the `.bil` extension said it above.)
        std::fs::copy(&data, dir.path().join("other.i2")).unwrap();
        let header = std::fs::read_to_string(dir.path().join("cube.hdr")).unwrap();
        std::fs::write(dir.path().join("other.hdr"), header + "interleave = bil\n").unwrap();
        let mut r = open(&dir.path().join("other.hdr")).unwrap();
        assert_eq!(
            r.read_rows(1, 1).unwrap().pixels,
            Pixels::F32(vec![100.0, 110.0, 101.0, 111.0])
        );
    }
}

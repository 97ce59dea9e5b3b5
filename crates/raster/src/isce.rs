//! ISCE2 rasters: raw samples beside an image XML (`<name>.xml`, root `imageFile`) with
//! `<property name="width"><value>…` for width, length, number_bands, data_type, scheme
//! (BIL/BIP/BSQ) and byte_order, and `coordinate1`/`coordinate2` components whose
//! startingValue/delta georeference geocoded (`.geo`) products on WGS 84 (layout as
//! isceobj/Image/Image.py writes it and GDAL's ISCE driver reads it). ISCE2 also writes a
//! GDAL VRT beside each image; see [`crate::vrt`].
//!
//! `filt_topophase.unw` (SNAPHU output) holds two line-interleaved bands, amplitude then
//! unwrapped phase: band 2 is the phase ([`unw_phase_band`]).

use std::path::{Path, PathBuf};

use crate::error::RasterError;
use crate::geo::{GeoInfo, GeoTransform};
use crate::rawbands::{MAX_BANDS, RawBand, RawBandsReader, RawLayout};
use crate::tiff_read::StoredType;
use crate::xml::{self, Element};

/// The band holding phase by ISCE's convention: band 2 of a two-band `.unw` (amplitude,
/// phase), also geocoded (`filt_topophase.unw.geo`) or seen through a header.
pub fn unw_phase_band(data: &Path, bands: usize) -> Option<usize> {
    let name = data.file_name()?.to_str()?.to_ascii_lowercase();
    let unw = name.split('.').any(|part| part == "unw");
    (unw && bands == 2 && !name.contains("conncomp")).then_some(2)
}

/// The image XML beside a data file (`<name>.xml`), when it is one (root `imageFile`; ArcGIS
/// writes `<name>.xml` metadata too).
pub fn xml_beside(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let xml = path.with_file_name(format!("{name}.xml"));
    is_image_xml(&xml).then_some(xml)
}

/// Whether `p` is an ISCE image XML: its root element is `imageFile`.
pub fn is_image_xml(p: &Path) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let Ok(mut f) = std::fs::File::open(p) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    // The first element after any declaration and comments.
    text.split('<')
        .find(|t| !t.is_empty() && !t.starts_with('?') && !t.starts_with('!'))
        .is_some_and(|t| t.starts_with("imageFile"))
}

/// The `<property name=…><value>…</value></property>` values of an element, by name.
fn property<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.children_named("property")
        .find(|p| p.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .map(|p| {
            p.child("value")
                .map_or(p.text.as_str(), |v| v.text.as_str())
        })
}

fn component<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    el.children_named("component")
        .find(|c| c.attr("name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// `(xml, data)` for a path naming either.
pub fn files_of(path: &Path) -> Result<(PathBuf, Option<PathBuf>), RasterError> {
    let is_xml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
    if is_xml {
        let data = path.with_extension("");
        return Ok((path.to_path_buf(), data.is_file().then_some(data)));
    }
    let xml = xml_beside(path).ok_or_else(|| {
        RasterError::format(path, "no ISCE image XML (<name>.xml) beside this file")
    })?;
    Ok((xml, Some(path.to_path_buf())))
}

/// ISCE's DATA_TYPE names (CHAR/BYTE as Byte; LONG, CDOUBLE and complex integers other
/// than CSHORT are not read).
fn stored_type(xml: &Path, name: &str) -> Result<StoredType, RasterError> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "BYTE" | "CHAR" => StoredType::U8,
        "SHORT" => StoredType::I16,
        "INT" => StoredType::I32,
        "FLOAT" => StoredType::F32,
        "DOUBLE" => StoredType::F64,
        "CSHORT" => StoredType::CI16,
        "CFLOAT" => StoredType::CF32,
        other => {
            return Err(RasterError::unsupported(
                xml,
                format!(
                    "ISCE data_type {other} (reads BYTE, SHORT, INT, FLOAT, DOUBLE, CSHORT, CFLOAT)"
                ),
            ));
        }
    })
}

/// The data file an image XML describes: the XML's own name without `.xml` (how ISCE
/// names them), else its FILE_NAME (relative to the XML's folder when it is a bare name,
/// as ISCE resolves it; often an absolute path of the machine that ran ISCE).
fn data_file(xml: &Path, doc: &Element, beside: Option<PathBuf>) -> Result<PathBuf, RasterError> {
    if let Some(d) = beside {
        return Ok(d);
    }
    let named = property(doc, "file_name").map(PathBuf::from);
    let resolved = named.as_ref().map(|n| match (n.is_absolute(), n.parent()) {
        (false, Some(p)) if p.as_os_str().is_empty() => {
            xml.parent().unwrap_or(Path::new("")).join(n)
        }
        _ => n.clone(),
    });
    resolved.filter(|p| p.is_file()).ok_or_else(|| {
        RasterError::format(
            xml,
            format!(
                "the data file is neither {} nor FILE_NAME {}",
                xml.with_extension("").display(),
                named.map_or("(none)".to_string(), |n| n.display().to_string())
            ),
        )
    })
}

/// The layout an ISCE image XML gives for its data file.
pub(crate) fn layout(xml: &Path, doc: &Element, data: &Path) -> Result<RawLayout, RasterError> {
    if !doc.name.eq_ignore_ascii_case("imageFile") {
        return Err(RasterError::format(
            xml,
            format!("root element is <{}>, expected <imageFile>", doc.name),
        ));
    }
    let number = |name: &str| -> Result<Option<usize>, RasterError> {
        property(doc, name)
            .map(|v| {
                v.trim().parse::<usize>().map_err(|_| {
                    RasterError::format(
                        xml,
                        format!("property {name} is {v:?}, expected a whole number"),
                    )
                })
            })
            .transpose()
    };
    let width = number("width")?
        .ok_or_else(|| RasterError::format(xml, "no `width` property: not an ISCE image XML?"))?;
    let bands = number("number_bands")?.unwrap_or(1);
    if bands == 0 || bands > MAX_BANDS {
        return Err(RasterError::format(
            xml,
            format!("number_bands {bands}, expected 1 to {MAX_BANDS}"),
        ));
    }
    let dtype = property(doc, "data_type")
        .ok_or_else(|| RasterError::format(xml, "no `data_type` property"))?;
    let stored = stored_type(xml, dtype)?;
    // ISCE's Image defaults: band-interleaved by pixel, the writing machine's byte order.
    let scheme = property(doc, "scheme")
        .unwrap_or("BIP")
        .trim()
        .to_ascii_uppercase();
    let big_endian = match property(doc, "byte_order").map(|b| b.trim()) {
        None => false,
        Some("l" | "L" | "<" | "little" | "Little") => false,
        Some("b" | "B" | ">" | "big" | "Big") => true,
        Some(other) => {
            return Err(RasterError::format(
                xml,
                format!("byte_order {other:?}, expected l or b"),
            ));
        }
    };
    let overflow = || RasterError::format(xml, "width × bands × sample size overflows");
    let s = stored.bytes() as u64;
    let row = (width as u64).checked_mul(s).ok_or_else(overflow)?;
    let all_rows = row.checked_mul(bands as u64).ok_or_else(overflow)?;
    let length = match number("length")? {
        Some(l) => l,
        // ISCE takes the length from the file size when the XML leaves it out.
        None => {
            let size = std::fs::metadata(data)
                .map_err(|e| RasterError::io(data, e))?
                .len();
            if all_rows == 0 || size % all_rows != 0 {
                return Err(RasterError::format(
                    xml,
                    format!("no `length` property, and {size} bytes is not a whole number of rows"),
                ));
            }
            (size / all_rows) as usize
        }
    };
    let plane = row.checked_mul(length as u64).ok_or_else(overflow)?;
    let mut out = Vec::with_capacity(bands);
    for b in 0..bands as u64 {
        let (offset, px, line) = match scheme.as_str() {
            "BIL" => (row.checked_mul(b), Some(s), Some(all_rows)),
            "BIP" => (
                s.checked_mul(b),
                s.checked_mul(bands as u64),
                Some(all_rows),
            ),
            "BSQ" => (plane.checked_mul(b), Some(s), Some(row)),
            other => {
                return Err(RasterError::format(
                    xml,
                    format!("scheme {other:?}, expected BIL, BIP or BSQ"),
                ));
            }
        };
        let (Some(offset), Some(px), Some(line)) = (offset, px, line) else {
            return Err(overflow());
        };
        out.push(RawBand {
            pixel_offset: px,
            line_offset: line,
            ..RawBand::packed(data.to_path_buf(), offset, width as u64, stored, big_endian)
        });
    }
    Ok(RawLayout {
        width,
        height: length,
        bands: out,
        geo: coordinates_geo(xml, doc)?,
        phase_band: unw_phase_band(data, bands),
        driver: "ISCE",
    })
}

/// Georeferencing from `coordinate1` (longitude) and `coordinate2` (latitude): the
/// startingValue is the outer corner, as ISCE's own VRT and GDAL's ISCE driver take it.
/// Radar-geometry images carry the defaults (start 0, delta 1 on both axes), which ISCE
/// itself treats as "not geocoded".
fn coordinates_geo(xml: &Path, doc: &Element) -> Result<Option<GeoInfo>, RasterError> {
    let value = |coord: &str, name: &str| -> Result<Option<f64>, RasterError> {
        let Some(v) = component(doc, coord).and_then(|c| property(c, name)) else {
            return Ok(None);
        };
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| {
                RasterError::format(xml, format!("{coord} {name} is {v:?}, expected a number"))
            })
    };
    let (x0, dx) = (
        value("coordinate1", "startingValue")?,
        value("coordinate1", "delta")?,
    );
    let (y0, dy) = (
        value("coordinate2", "startingValue")?,
        value("coordinate2", "delta")?,
    );
    let (Some(x0), Some(dx), Some(y0), Some(dy)) = (x0, dx, y0, dy) else {
        return Ok(None);
    };
    if x0 == 0.0 && y0 == 0.0 && dx == 1.0 && dy == 1.0 {
        return Ok(None);
    }
    Ok(Some(GeoInfo::new(
        GeoTransform::north_up(x0, y0, dx, dy),
        Some(4326),
    )))
}

/// Opens the ISCE image at `path` (the data file with its `.xml` beside, or the XML).
pub fn open(path: &Path) -> Result<RawBandsReader, RasterError> {
    let (xml_path, beside) = files_of(path)?;
    let doc = xml::parse_file(&xml_path, "ISCE image XML")?;
    let data = data_file(&xml_path, &doc, beside)?;
    RawBandsReader::open(path, layout(&xml_path, &doc, &data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unw_convention_by_name() {
        assert_eq!(
            unw_phase_band(Path::new("a/filt_topophase.unw"), 2),
            Some(2)
        );
        assert_eq!(
            unw_phase_band(Path::new("filt_topophase.unw.geo"), 2),
            Some(2)
        );
        assert_eq!(unw_phase_band(Path::new("filt_topophase.unw"), 1), None);
        assert_eq!(
            unw_phase_band(Path::new("filt_topophase.unw.conncomp"), 2),
            None
        );
        assert_eq!(unw_phase_band(Path::new("unwrapped.tif"), 2), None);
    }

    #[test]
    fn properties_are_case_insensitive_and_radar_geometry_has_no_geo() {
        let doc = xml::parse(
            "<imageFile><property name=\"WIDTH\"><value>3</value></property>\
             <property name=\"data_type\"><value>CFLOAT</value></property>\
             <property name=\"LENGTH\"><value>2</value></property>\
             <component name=\"Coordinate1\"><property name=\"startingValue\"><value>0</value></property>\
             <property name=\"delta\"><value>1</value></property></component>\
             <component name=\"coordinate2\"><property name=\"startingValue\"><value>0</value></property>\
             <property name=\"delta\"><value>1</value></property></component></imageFile>",
        )
        .unwrap();
        let l = layout(Path::new("x.xml"), &doc, Path::new("x")).unwrap();
        assert_eq!((l.width, l.height, l.bands.len(), l.geo), (3, 2, 1, None));
        // ISCE's default scheme is BIP and byte order little-endian.
        assert!(!l.bands[0].big_endian);
        assert_eq!(l.bands[0].stored, StoredType::CF32);
    }

    #[test]
    fn bad_values_name_the_property() {
        let doc = xml::parse(
            "<imageFile><property name=\"width\"><value>wide</value></property></imageFile>",
        )
        .unwrap();
        let e = layout(Path::new("x.xml"), &doc, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.xml") && e.contains("width is \"wide\""),
            "{e}"
        );
        let doc = xml::parse(
            "<imageFile><property name=\"width\"><value>2</value></property>\
             <property name=\"data_type\"><value>CDOUBLE</value></property></imageFile>",
        )
        .unwrap();
        let e = layout(Path::new("x.xml"), &doc, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("CDOUBLE"), "{e}");
    }
}

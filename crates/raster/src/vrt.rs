//! GDAL VRT files whose bands are raw (`subClass="VRTRawRasterBand"`): the `.vrt` ISCE2
//! writes beside every image (`SourceFilename relativeToVRT`, `ImageOffset`, `PixelOffset`,
//! `LineOffset`, `ByteOrder`; `SRS` and `GeoTransform` for geocoded products). Other VRT
//! bands (sources, mosaics, pixel functions) need GDAL itself and are refused.

use std::path::{Path, PathBuf};

use crate::crs::epsg_of;
use crate::error::RasterError;
use crate::geo::{GeoInfo, GeoTransform};
use crate::rawbands::{MAX_BANDS, RawBand, RawBandsReader, RawLayout};
use crate::tiff_read::StoredType;
use crate::xml::{self, Element};

/// The VRT beside a data file (`<name>.vrt`), when there is one.
pub fn vrt_beside(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let vrt = path.with_file_name(format!("{name}.vrt"));
    vrt.is_file().then_some(vrt)
}

/// GDAL's data type names.
fn stored_type(vrt: &Path, name: &str) -> Result<StoredType, RasterError> {
    Ok(match name {
        "Byte" => StoredType::U8,
        "UInt16" => StoredType::U16,
        "Int16" => StoredType::I16,
        "UInt32" => StoredType::U32,
        "Int32" => StoredType::I32,
        "Float32" => StoredType::F32,
        "Float64" => StoredType::F64,
        "CInt16" => StoredType::CI16,
        "CFloat32" => StoredType::CF32,
        other => {
            return Err(RasterError::unsupported(
                vrt,
                format!(
                    "VRT band dataType {other:?} (reads Byte, (U)Int16, (U)Int32, Float32, Float64, CInt16, CFloat32)"
                ),
            ));
        }
    })
}

fn number<T: std::str::FromStr>(vrt: &Path, what: &str, text: &str) -> Result<T, RasterError> {
    text.trim().parse().map_err(|_| {
        RasterError::format(vrt, format!("{what} is {text:?}, expected a whole number"))
    })
}

/// One `VRTRasterBand` of a raw VRT.
fn raw_band(vrt: &Path, el: &Element, width: usize, k: usize) -> Result<RawBand, RasterError> {
    let class = el.attr("subClass").unwrap_or("(none)");
    if class != "VRTRawRasterBand" {
        return Err(RasterError::unsupported(
            vrt,
            format!(
                "band {k} is a {class} VRT band: only raw bands (VRTRawRasterBand, as ISCE2 \
                 writes them) are read without GDAL; translate it with gdal_translate first"
            ),
        ));
    }
    let stored = stored_type(vrt, el.attr("dataType").unwrap_or("Byte"))?;
    let source = el
        .child("SourceFilename")
        .filter(|s| !s.text.is_empty())
        .ok_or_else(|| RasterError::format(vrt, format!("band {k} has no SourceFilename")))?;
    let relative = source
        .attr("relativeToVRT")
        .is_some_and(|r| r.trim() == "1");
    let file = if relative {
        vrt.parent().unwrap_or(Path::new("")).join(&source.text)
    } else {
        PathBuf::from(&source.text)
    };
    let size = stored.bytes() as u64;
    let field = |name: &str| el.child(name).map(|c| c.text.as_str());
    let offset = field("ImageOffset").map_or(Ok(0), |t| number::<u64>(vrt, "ImageOffset", t))?;
    let pixel = field("PixelOffset").map_or(Ok(size), |t| number::<u64>(vrt, "PixelOffset", t))?;
    let line = match field("LineOffset") {
        Some(t) => number::<u64>(vrt, "LineOffset", t)?,
        None => pixel.checked_mul(width as u64).ok_or_else(|| {
            RasterError::format(vrt, format!("band {k}: width × PixelOffset overflows"))
        })?,
    };
    let big_endian = match field("ByteOrder").map(str::trim) {
        None | Some("LSB") => false,
        Some("MSB") => true,
        Some(other) => {
            return Err(RasterError::format(
                vrt,
                format!("band {k}: ByteOrder {other:?}, expected LSB or MSB"),
            ));
        }
    };
    let nodata = match field("NoDataValue") {
        Some(t) => Some(crate::geo::parse_nodata(t).ok_or_else(|| {
            RasterError::format(vrt, format!("band {k}: NoDataValue {t:?} is not a number"))
        })?),
        None => None,
    };
    Ok(RawBand {
        file,
        offset,
        pixel_offset: pixel,
        line_offset: line,
        stored,
        big_endian,
        name: field("Description")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        nodata,
        scaling: (1.0, 0.0),
    })
}

fn geotransform(vrt: &Path, text: &str) -> Result<GeoTransform, RasterError> {
    let v: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| RasterError::format(vrt, format!("GeoTransform {text:?} is not 6 numbers")))?;
    <[f64; 6]>::try_from(v).map(GeoTransform).map_err(|v| {
        RasterError::format(
            vrt,
            format!("GeoTransform has {} numbers, expected 6", v.len()),
        )
    })
}

/// The layout a raw VRT gives.
pub(crate) fn layout(vrt: &Path, doc: &Element) -> Result<RawLayout, RasterError> {
    if doc.name != "VRTDataset" {
        return Err(RasterError::format(
            vrt,
            format!("root element is <{}>, expected <VRTDataset>", doc.name),
        ));
    }
    let size = |a: &str| -> Result<usize, RasterError> {
        number(
            vrt,
            a,
            doc.attr(a)
                .ok_or_else(|| RasterError::format(vrt, format!("no {a}")))?,
        )
    };
    let (width, height) = (size("rasterXSize")?, size("rasterYSize")?);
    let elements: Vec<&Element> = doc.children_named("VRTRasterBand").collect();
    if elements.is_empty() || elements.len() > MAX_BANDS {
        return Err(RasterError::format(
            vrt,
            format!(
                "{} VRTRasterBand elements, expected 1 to {MAX_BANDS}",
                elements.len()
            ),
        ));
    }
    let bands = elements
        .iter()
        .enumerate()
        .map(|(k, el)| raw_band(vrt, el, width, k + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let geo = match doc.child("GeoTransform") {
        Some(gt) => Some(GeoInfo::new(
            geotransform(vrt, &gt.text)?,
            doc.child("SRS").and_then(|s| epsg_of(&s.text)),
        )),
        None => None,
    };
    let phase_band = bands
        .first()
        .and_then(|b| crate::isce::unw_phase_band(&b.file, bands.len()));
    Ok(RawLayout {
        width,
        height,
        bands,
        geo,
        phase_band,
        driver: "VRT",
    })
}

/// Opens the raw VRT at `path` (the `.vrt`, or a data file with `<name>.vrt` beside it).
pub fn open(path: &Path) -> Result<RawBandsReader, RasterError> {
    let is_vrt = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("vrt"));
    let vrt = if is_vrt {
        path.to_path_buf()
    } else {
        vrt_beside(path)
            .ok_or_else(|| RasterError::format(path, "no <name>.vrt beside this file"))?
    };
    let doc = xml::parse_file(&vrt, "GDAL VRT")?;
    RawBandsReader::open(path, layout(&vrt, &doc)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let doc = xml::parse(
            "<VRTDataset rasterXSize=\"4\" rasterYSize=\"2\">\
             <VRTRasterBand dataType=\"Float32\" band=\"1\" subClass=\"VRTRawRasterBand\">\
             <SourceFilename relativeToVRT=\"1\">x.unw</SourceFilename></VRTRasterBand>\
             <VRTRasterBand dataType=\"Float32\" band=\"2\" subClass=\"VRTRawRasterBand\">\
             <SourceFilename relativeToVRT=\"1\">x.unw</SourceFilename><ImageOffset>16</ImageOffset>\
             <ByteOrder>MSB</ByteOrder></VRTRasterBand></VRTDataset>",
        )
        .unwrap();
        let l = layout(Path::new("d/x.unw.vrt"), &doc).unwrap();
        let b = &l.bands[1];
        assert_eq!(
            (b.offset, b.pixel_offset, b.line_offset, b.big_endian),
            (16, 4, 16, true)
        );
        assert_eq!(b.file, Path::new("d/x.unw"));
        assert_eq!(l.phase_band, Some(2));
        assert_eq!(l.geo, None);

        let doc = xml::parse(
            "<VRTDataset rasterXSize=\"4\" rasterYSize=\"2\"><VRTRasterBand dataType=\"Float32\">\
             <SimpleSource/></VRTRasterBand></VRTDataset>",
        )
        .unwrap();
        let e = layout(Path::new("m.vrt"), &doc).unwrap_err().to_string();
        assert!(
            e.contains("only raw bands") && e.contains("gdal_translate"),
            "{e}"
        );
    }
}

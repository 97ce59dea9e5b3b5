//! SNAP's BEAM-DIMAP products: a `<name>.dim` XML header and a `<name>.data/` folder with
//! one ENVI raster (`.hdr` + `.img`, big-endian, band-sequential) per stored band. The
//! `.dim` lists the bands (`Spectral_Band_Info`: BAND_INDEX, BAND_NAME, scaling, no-data;
//! virtual bands carry an EXPRESSION and have no file), where their files are
//! (`Data_Access/Data_File/DATA_FILE_PATH href`) and, for map-projected products, the CRS
//! (`Coordinate_Reference_System/WKT`) and `Geoposition/IMAGE_TO_MODEL_TRANSFORM`
//! (layout as snap-engine's DimapHeaderWriter and EnviHeader write it).
//!
//! An interferogram from SNAP holds `i_ifg_…` and `q_ifg_…` (stored), `Intensity_ifg_…` and
//! `Phase_ifg_…` (often virtual), `coh_…`; [`open_band`] picks the phase band, or reads the
//! i/q pair as one complex band, unless told which band to read.

use std::path::{Path, PathBuf};

use crate::band::BandChoice;
use crate::crs::epsg_of;
use crate::envi;
use crate::error::RasterError;
use crate::geo::{GeoInfo, GeoTransform};
use crate::rawbands::{MAX_BANDS, RawBandsReader, RawLayout};
use crate::xml::{self, Element};

/// One band the `.dim` lists.
#[derive(Debug, Clone, PartialEq)]
pub struct DimBand {
    pub name: String,
    /// Virtual bands are computed by SNAP from this expression and have no file.
    pub expression: Option<String>,
    /// The band's ENVI header, for stored bands.
    pub header: Option<PathBuf>,
    pub nodata: Option<f64>,
    pub scaling: (f64, f64),
}

/// A parsed `.dim`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimap {
    pub path: PathBuf,
    pub width: usize,
    pub height: usize,
    pub bands: Vec<DimBand>,
    pub geo: Option<GeoInfo>,
}

impl Dimap {
    /// The bands stored in files, in the `.dim`'s order: what band numbers count.
    pub fn stored(&self) -> Vec<&DimBand> {
        self.bands.iter().filter(|b| b.header.is_some()).collect()
    }

    /// Every band by number and name, virtual ones after, for messages.
    pub fn listing(&self) -> String {
        let stored: Vec<String> = self
            .stored()
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{} {}", i + 1, b.name))
            .collect();
        let virt: Vec<&str> = self
            .bands
            .iter()
            .filter(|b| b.header.is_none())
            .map(|b| b.name.as_str())
            .collect();
        let mut s = format!("stored bands: {}", stored.join(", "));
        if !virt.is_empty() {
            s += &format!(
                "; virtual (computed by SNAP, not stored): {}",
                virt.join(", ")
            );
        }
        s
    }
}

fn number<T: std::str::FromStr>(dim: &Path, what: &str, text: &str) -> Result<T, RasterError> {
    text.trim()
        .parse()
        .map_err(|_| RasterError::format(dim, format!("{what} is {text:?}, expected a number")))
}

/// Reads the `.dim` at `path`.
pub fn parse(path: &Path) -> Result<Dimap, RasterError> {
    let doc = xml::parse_file(path, "BEAM-DIMAP header (.dim)")?;
    if doc.name != "Dimap_Document" {
        return Err(RasterError::format(
            path,
            format!("root element is <{}>, expected <Dimap_Document>", doc.name),
        ));
    }
    let dim_size = |tag: &str| -> Result<usize, RasterError> {
        let t = doc
            .text_at(&format!("Raster_Dimensions/{tag}"))
            .ok_or_else(|| RasterError::format(path, format!("no Raster_Dimensions/{tag}")))?;
        number(path, tag, t)
    };
    let (width, height) = (dim_size("NCOLS")?, dim_size("NROWS")?);
    let dir = path.parent().unwrap_or(Path::new(""));
    let files: Vec<(String, PathBuf)> = doc
        .child("Data_Access")
        .map(|da| {
            da.children_named("Data_File")
                .filter_map(|f| {
                    let index = f.child("BAND_INDEX")?.text.trim().to_string();
                    let href = f.child("DATA_FILE_PATH")?.attr("href")?;
                    Some((index, dir.join(href)))
                })
                .collect()
        })
        .unwrap_or_default();
    let infos: Vec<&Element> = doc
        .child("Image_Interpretation")
        .map(|ii| ii.children_named("Spectral_Band_Info").collect())
        .unwrap_or_default();
    if infos.len() > MAX_BANDS {
        return Err(RasterError::format(
            path,
            format!("{} bands, expected at most {MAX_BANDS}", infos.len()),
        ));
    }
    let bands = infos
        .iter()
        .map(|info| dim_band(path, info, &files))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dimap {
        path: path.to_path_buf(),
        width,
        height,
        bands,
        geo: geoposition(path, &doc)?,
    })
}

fn dim_band(
    dim: &Path,
    info: &Element,
    files: &[(String, PathBuf)],
) -> Result<DimBand, RasterError> {
    let text = |tag: &str| info.child(tag).map(|c| c.text.as_str());
    let index = text("BAND_INDEX").unwrap_or("").trim();
    let name = text("BAND_NAME").unwrap_or(index).to_string();
    let virtual_band = text("VIRTUAL_BAND").is_some_and(|v| v.trim() == "true");
    let header = files
        .iter()
        .find(|(i, _)| i == index)
        .map(|(_, p)| p.clone())
        .filter(|_| !virtual_band);
    let real = |tag: &str, default: f64| -> Result<f64, RasterError> {
        text(tag).map_or(Ok(default), |t| number(dim, &format!("{name} {tag}"), t))
    };
    let nodata = if text("NO_DATA_VALUE_USED").is_some_and(|v| v.trim() == "true") {
        Some(real("NO_DATA_VALUE", f64::NAN)?)
    } else {
        None
    };
    Ok(DimBand {
        expression: text("EXPRESSION")
            .map(str::to_string)
            .filter(|_| header.is_none()),
        header,
        nodata,
        scaling: (real("SCALING_FACTOR", 1.0)?, real("SCALING_OFFSET", 0.0)?),
        name,
    })
}

/// The product's CRS geocoding: Java's AffineTransform matrix `[m00, m10, m01, m11, m02,
/// m12]` maps pixel corners to map coordinates, i.e. GDAL's `[m02, m00, m01, m12, m10,
/// m11]`. Radar-geometry products (tie-point grids) have none.
fn geoposition(dim: &Path, doc: &Element) -> Result<Option<GeoInfo>, RasterError> {
    let Some(i2m) = doc
        .children_named("Geoposition")
        .find_map(|g| g.child("IMAGE_TO_MODEL_TRANSFORM"))
    else {
        return Ok(None);
    };
    let m: Vec<f64> = i2m
        .text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|m: &Vec<f64>| m.len() == 6 && m.iter().all(|v| v.is_finite()))
        .ok_or_else(|| {
            RasterError::format(
                dim,
                format!("IMAGE_TO_MODEL_TRANSFORM {:?} is not 6 numbers", i2m.text),
            )
        })?;
    let epsg = doc
        .child("Coordinate_Reference_System")
        .and_then(|c| c.child("WKT"))
        .and_then(|w| epsg_of(&w.text));
    Ok(Some(GeoInfo::new(
        GeoTransform([m[4], m[0], m[2], m[5], m[1], m[3]]),
        epsg,
    )))
}

/// The layout of the stored bands: each band's ENVI header read, its size checked against
/// the product's.
pub fn layout(d: &Dimap) -> Result<RawLayout, RasterError> {
    let mut bands = Vec::new();
    let mut geo = d.geo;
    for b in d.stored() {
        let Some(hdr) = &b.header else { continue };
        let h = envi::parse_header(hdr)?;
        let data = envi::data_beside(hdr)?;
        let l = envi::layout(&h, &data)?;
        if (l.width, l.height, l.bands.len()) != (d.width, d.height, 1) {
            return Err(RasterError::unsupported(
                hdr,
                format!(
                    "band {} is {}×{} with {} band(s), the product {}×{}: multi-size products \
                     are not read (resample in SNAP first)",
                    b.name,
                    l.width,
                    l.height,
                    l.bands.len(),
                    d.width,
                    d.height
                ),
            ));
        }
        geo = geo.or(l.geo);
        let mut band = l
            .bands
            .into_iter()
            .next()
            .ok_or_else(|| RasterError::format(hdr, "no band in the ENVI header"))?;
        band.name = Some(b.name.clone());
        band.nodata = b.nodata.or(band.nodata);
        band.scaling = b.scaling;
        bands.push(band);
    }
    if bands.is_empty() {
        return Err(RasterError::format(
            &d.path,
            format!("no stored band to read ({})", d.listing()),
        ));
    }
    let phase_band = phase_band(
        &bands
            .iter()
            .map(|b| b.name.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
    );
    Ok(RawLayout {
        width: d.width,
        height: d.height,
        bands,
        geo,
        phase_band,
        driver: "BEAM-DIMAP",
    })
}

/// The stored wrapped-phase band (`Phase_…`), 1-based.
fn phase_band(names: &[String]) -> Option<usize> {
    names
        .iter()
        .position(|n| n.to_ascii_lowercase().starts_with("phase"))
        .map(|i| i + 1)
}

/// `(i band, q band)`, 1-based, of the stored `i_<s>`/`q_<s>` pairs whose suffix ends
/// `suffix` (all pairs when `suffix` is empty).
fn iq_pairs(names: &[String], suffix: &str) -> Vec<(usize, usize)> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let rest = n.strip_prefix("i_")?;
            let q = names
                .iter()
                .position(|m| m.strip_prefix("q_") == Some(rest))?;
            rest.ends_with(suffix).then_some((i + 1, q + 1))
        })
        .collect()
}

/// Opens every stored band (what `raster info` and `convert` see).
pub fn open(path: &Path) -> Result<RawBandsReader, RasterError> {
    let d = parse(path)?;
    RawBandsReader::open(path, layout(&d)?)
}

/// Opens one band: `choice` by number (among the stored bands) or name (a virtual
/// `Phase_<s>` band by name reads its `i_<s>`/`q_<s>` pair as complex); without a choice the
/// stored phase band, else the one i/q pair as complex, else the only band, else an error
/// listing the bands.
pub fn open_band(path: &Path, choice: Option<&BandChoice>) -> Result<RawBandsReader, RasterError> {
    let d = parse(path)?;
    let reader = RawBandsReader::open(path, layout(&d)?)?;
    let names: Vec<String> = reader
        .band_names()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let refuse = |why: String| RasterError::BandChoice {
        path: path.to_path_buf(),
        msg: format!(
            "{why} ({}); choose one with --band N or --band NAME",
            d.listing()
        ),
    };
    match choice {
        Some(BandChoice::Number(n)) if (1..=names.len()).contains(n) => reader.select_band(*n),
        Some(BandChoice::Number(n)) => Err(refuse(format!("no band {n}"))),
        Some(BandChoice::Name(want)) => {
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(want)) {
                return reader.select_band(i + 1);
            }
            let virt = d
                .bands
                .iter()
                .find(|b| b.header.is_none() && b.name.eq_ignore_ascii_case(want));
            let Some(v) = virt else {
                return Err(refuse(format!("no band named {want:?}")));
            };
            // Phase_<s> is computed from i_<s> and q_<s>.
            let suffix = v
                .name
                .get("phase_".len()..)
                .filter(|_| v.name.to_ascii_lowercase().starts_with("phase_"));
            match suffix.map(|s| iq_pairs(&names, s)).as_deref() {
                Some([(i, q)]) => reader.complex_from(*i, *q),
                _ => Err(refuse(format!(
                    "{} is virtual ({}), computed by SNAP and not stored",
                    v.name,
                    v.expression.as_deref().unwrap_or("no expression")
                ))),
            }
        }
        None if names.len() == 1 => Ok(reader),
        None => {
            if let Some(p) = reader.phase_band() {
                return reader.select_band(p);
            }
            match iq_pairs(&names, "").as_slice() {
                [(i, q)] => reader.complex_from(*i, *q),
                [] => Err(refuse(format!(
                    "{} stored bands and none is phase or an i/q pair",
                    names.len()
                ))),
                _ => Err(refuse("several i/q pairs".to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn conventions_by_name() {
        let n = names(&["i_ifg_VV_a", "q_ifg_VV_a", "coh_VV_a", "Phase_ifg_VV_a"]);
        assert_eq!(phase_band(&n), Some(4));
        assert_eq!(iq_pairs(&n, ""), vec![(1, 2)]);
        assert_eq!(iq_pairs(&n, "ifg_VV_a"), vec![(1, 2)]);
        assert_eq!(iq_pairs(&n, "ifg_VV_b"), vec![]);
        let n = names(&["q_x", "i_x", "i_y", "q_y"]);
        assert_eq!(iq_pairs(&n, ""), vec![(2, 1), (3, 4)]);
        assert_eq!(iq_pairs(&n, "y"), vec![(3, 4)]);
        assert_eq!(phase_band(&names(&["Unw_Phase_ifg"])), None);
    }
}

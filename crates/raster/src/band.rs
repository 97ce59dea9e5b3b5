//! Which band of a raster holds the values: the one the user names (by number or by name),
//! else the one the format's convention says holds phase (ISCE `.unw`: band 2; SNAP: the
//! phase band or the i/q pair), else the only one. A raster with several bands and nothing
//! to choose between them is refused with the list of its bands, never read as band 1.

use std::path::Path;

use crate::any::{Format, ReadOptions, RowReader, detect_format, open_any};
use crate::dimap;
use crate::error::RasterError;
use crate::tiff_write::SampleType;

/// A band asked for by the user: `--band 2` or `--band Phase_ifg_VV_01Jan2020_13Jan2020`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BandChoice {
    /// From 1.
    Number(usize),
    /// A band's name or description (ASCII case-insensitive).
    Name(String),
}

impl std::str::FromStr for BandChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("a band is a number from 1 or a band name, not empty".into());
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return match t.parse::<usize>() {
                Ok(0) => Err("bands count from 1".into()),
                Ok(n) => Ok(BandChoice::Number(n)),
                Err(_) => Err(format!("band {t} is out of range")),
            };
        }
        Ok(BandChoice::Name(t.to_string()))
    }
}

impl std::fmt::Display for BandChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BandChoice::Number(n) => write!(f, "{n}"),
            BandChoice::Name(s) => f.write_str(s),
        }
    }
}

impl From<usize> for BandChoice {
    fn from(n: usize) -> Self {
        BandChoice::Number(n)
    }
}

/// "1 \"amplitude\", 2 \"phase\", 3": each band's number and name where it has one.
pub fn band_list(names: &[Option<String>]) -> String {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| match n {
            Some(n) => format!("{} {n:?}", i + 1),
            None => format!("{}", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The band (from 1) to read of a raster at `path` whose bands are named `names`:
/// `choice` when given (a number in range, or a name matching one band's), else the
/// format's `convention`, else band 1 of a one-band raster; otherwise an error that lists
/// the bands.
pub fn resolve(
    path: &Path,
    names: &[Option<String>],
    convention: Option<usize>,
    choice: Option<&BandChoice>,
) -> Result<usize, RasterError> {
    let n = names.len();
    let refuse = |why: String| RasterError::BandChoice {
        path: path.to_path_buf(),
        msg: format!(
            "{why}; its bands: {}; choose one with --band N or --band NAME",
            band_list(names)
        ),
    };
    match choice {
        Some(BandChoice::Number(b)) if (1..=n).contains(b) => Ok(*b),
        Some(BandChoice::Number(b)) => {
            Err(refuse(format!("band {b} asked for, the raster has {n}")))
        }
        Some(BandChoice::Name(want)) => names
            .iter()
            .position(|nm| {
                nm.as_deref()
                    .is_some_and(|nm| nm.eq_ignore_ascii_case(want))
            })
            .map(|i| i + 1)
            .ok_or_else(|| refuse(format!("no band named {want:?}"))),
        None if n == 1 => Ok(1),
        None => convention.filter(|b| (1..=n).contains(b)).ok_or_else(|| {
            refuse(format!(
                "{n} bands and nothing says which holds the values (no band given, no \
                 convention of the format)"
            ))
        }),
    }
}

/// Opens one band of the raster at `path` (see [`resolve`]); a picture (3 or 4 Byte bands)
/// stays whole unless a band is asked for, and a SNAP product picks among its band files
/// (see [`dimap::open_band`]).
pub fn open_band(
    path: &Path,
    opts: &ReadOptions,
    choice: Option<&BandChoice>,
) -> Result<RowReader, RasterError> {
    if detect_format(path, opts.kind)? == Format::Dimap {
        return Ok(RowReader::Raw(Box::new(dimap::open_band(path, choice)?)));
    }
    let reader = open_any(path, opts)?;
    let picture = reader.sample_type() == SampleType::U8 && matches!(reader.bands(), 3 | 4);
    if choice.is_none() && picture {
        return Ok(reader);
    }
    let b = resolve(path, &reader.band_names(), reader.phase_band(), choice)?;
    reader.select_band(path, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_from_numbers_and_names() {
        assert_eq!("2".parse::<BandChoice>(), Ok(BandChoice::Number(2)));
        assert_eq!(
            " Phase_ifg ".parse::<BandChoice>(),
            Ok(BandChoice::Name("Phase_ifg".into()))
        );
        assert!("0".parse::<BandChoice>().unwrap_err().contains("from 1"));
        assert!("".parse::<BandChoice>().is_err());
        assert!("99999999999999999999999".parse::<BandChoice>().is_err());
        assert_eq!(BandChoice::Name("coh".into()).to_string(), "coh");
    }

    #[test]
    fn resolution_and_its_refusals() {
        let p = Path::new("x.tif");
        let names = vec![
            Some("amplitude".to_string()),
            Some("Phase".to_string()),
            None,
        ];
        assert_eq!(
            resolve(p, &names, None, Some(&BandChoice::Number(3))).unwrap(),
            3
        );
        let by_name = BandChoice::Name("phase".into());
        assert_eq!(resolve(p, &names, None, Some(&by_name)).unwrap(), 2);
        assert_eq!(resolve(p, &names, Some(2), None).unwrap(), 2);
        assert_eq!(resolve(p, &[None], None, None).unwrap(), 1);
        let e = resolve(p, &names, None, None).unwrap_err().to_string();
        assert!(
            e.contains("x.tif")
                && e.contains("3 bands")
                && e.contains("1 \"amplitude\", 2 \"Phase\", 3")
                && e.contains("--band"),
            "{e}"
        );
        let e = resolve(p, &names, None, Some(&BandChoice::Number(4)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("band 4 asked for, the raster has 3"), "{e}");
        let e = resolve(p, &names, None, Some(&BandChoice::Name("coh".into())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no band named \"coh\""), "{e}");
    }
}

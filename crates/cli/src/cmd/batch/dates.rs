//! The acquisition dates of an interferometric pair, read from its file name.
//!
//! Processors name pairs by their two acquisition dates (first = reference, second =
//! secondary): LiCSAR `20201230_20210111.geo.diff_pha.tif`, HyP3
//! `S1AA_20201230T101010_20210111T101010_VVP012_INT80_G_ueF_1A2B_wrapped_phase.tif`, GAMMA
//! `20201230_20210111.diff` or `20201230-20210111.unw`. The common ground is two runs of
//! exactly eight digits that are calendar dates, so that is the rule, not one pattern per
//! processor. ISCE and LiCSAR also name the pair's folder so (`20201230_20210111/filt_topophase.unw.geo`):
//! the folder is read when the file name holds no pair. Anything else is an unknown pair,
//! never an error: a scene without dates is still searched.

use std::fmt;
use std::path::Path;

/// A calendar date, printed as ISO 8601 (`2021-01-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// The date, when it exists in the Gregorian calendar (years 1900–2199: SAR archives).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1900..2200).contains(&year) && (1..=days).contains(&day)).then_some(Self {
            year,
            month,
            day,
        })
    }

    /// `YYYYMMDD` as eight ASCII digits.
    fn from_digits(s: &str) -> Option<Self> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year = s.get(0..4)?.parse().ok()?;
        let month = s.get(4..6)?.parse().ok()?;
        let day = s.get(6..8)?.parse().ok()?;
        Self::new(year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The first and second acquisition dates of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatePair {
    pub first: Date,
    pub second: Date,
}

/// The pair of `path`'s file name, else of its folder's name; `None` when neither names one.
pub fn pair_of(path: &Path) -> Option<DatePair> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    name(path)
        .and_then(|n| pair_in(&n))
        .or_else(|| path.parent().and_then(name).and_then(|n| pair_in(&n)))
}

/// The first two eight-digit runs of `name` that are dates, in the order written.
///
/// A run must be exactly eight digits (a longer one is an id or a timestamp, not a date);
/// letters may touch it, as HyP3's `T101010` time does.
pub fn pair_in(name: &str) -> Option<DatePair> {
    let mut dates = name
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(Date::from_digits);
    let first = dates.next()?;
    let second = dates.next()?;
    Some(DatePair { first, second })
}

/// The two ISO dates as text, empty when the pair is unknown (manifest and merge columns).
pub fn iso_columns(pair: Option<DatePair>) -> [String; 2] {
    pair.map_or_else(Default::default, |p| {
        [p.first.to_string(), p.second.to_string()]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(name: &str) -> [String; 2] {
        iso_columns(pair_of(Path::new(name)))
    }

    #[test]
    fn licsar_hyp3_and_gamma_names() {
        let want = ["2020-12-30".to_string(), "2021-01-11".to_string()];
        assert_eq!(iso("frames/106D/20201230_20210111.geo.diff_pha.tif"), want);
        assert_eq!(
            iso("S1AA_20201230T101010_20210111T101010_VVP012_INT80_G_ueF_1A2B_wrapped_phase.tif"),
            want
        );
        assert_eq!(iso("20201230_20210111.diff"), want);
        assert_eq!(iso("/data/20201230-20210111.unw"), want);
        // The order written is kept: a reversed pair stays reversed (second before first).
        assert_eq!(
            iso("20210111_20201230.diff"),
            ["2021-01-11".to_string(), "2020-12-30".to_string()]
        );
    }

    #[test]
    fn isce_pair_from_the_folder() {
        assert_eq!(
            iso("merged/interferograms/20190105_20190117/filt_topophase.unw.geo"),
            ["2019-01-05".to_string(), "2019-01-17".to_string()]
        );
    }

    #[test]
    fn unknown_names_give_empty_dates() {
        for name in [
            "scene_0.tif",
            "20201230.geo.diff_pha.tif",   // one date only
            "20201330_20210111.diff",      // month 13
            "20210229_20210312.diff",      // 2021 is no leap year
            "202012300_202101110.diff",    // nine-digit runs are not dates
            "id_12345678901234567890.tif", // a long number
            "",
        ] {
            assert_eq!(iso(name), [String::new(), String::new()], "{name}");
        }
        // 2020 is a leap year, 1900 is not, 2000 is.
        assert!(Date::new(2020, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
    }

    #[test]
    fn dates_order_chronologically() {
        let a = pair_in("20201230_20210111").map(|p| p.first);
        let b = pair_in("20210111_20210123").map(|p| p.first);
        assert!(a < b);
    }
}

//! The conditions a pair was taken in — season, filtering, span, relief, orbit ramp,
//! coherence, mines or none. Each is drawn at random unless fixed; benchmark scenes fix
//! them so that each scene stands for one kind of pair users hold.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The troposphere of the pair (`shared/notes/real-interferograms.md`, "Seasons").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weather {
    /// Dry, stable air: smooth long-wavelength delay, small convective blobs.
    Winter,
    /// Wet, convective air: turbulent cells of 1–5 km up to about a fringe, and isolated
    /// convective bull's-eyes of one or two fringes.
    Summer,
}

/// Share of pairs with summer weather when it is drawn.
pub const SUMMER_SHARE: f64 = 0.35;

impl FromStr for Weather {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "winter" => Ok(Weather::Winter),
            "summer" => Ok(Weather::Summer),
            _ => Err(format!("`{s}`: expected winter or summer")),
        }
    }
}

/// Fixed conditions; `None` draws the condition at random as for training data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    pub weather: Option<Weather>,
    /// Goldstein-filtered or not (overrides the run's filtered fraction).
    pub filtered: Option<bool>,
    /// Time span of the pair (days).
    pub span_days: Option<f64>,
    /// Hills with strong stratified delay (topographic fringes), or a plain with weak delay.
    pub relief: Option<bool>,
    /// Orbit ramp (fringes per 10 km).
    pub ramp_fringes_per_10km: Option<f64>,
    /// Median coherence of the farmland background (0.35 poor … 0.9 good).
    pub coherence: Option<f64>,
    /// `Some(false)`: no mine at all (a scene without basins).
    pub mines: Option<bool>,
}

impl Conditions {
    /// Checks the fixed values, naming the first out of range.
    pub fn check(&self) -> Result<(), (&'static str, String, &'static str)> {
        if let Some(s) = self.span_days
            && !(1.0..=400.0).contains(&s)
        {
            return Err(("span_days", s.to_string(), "1..=400 days"));
        }
        if let Some(r) = self.ramp_fringes_per_10km
            && !(0.0..=10.0).contains(&r)
        {
            return Err(("ramp_fringes_per_10km", r.to_string(), "0..=10"));
        }
        if let Some(c) = self.coherence
            && !(0.05..=0.97).contains(&c)
        {
            return Err(("coherence", c.to_string(), "0.05..=0.97"));
        }
        Ok(())
    }
}

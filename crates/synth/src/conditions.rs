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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Looks;
    use crate::scene::{AreaConfig, MineLayout, OrbitChoice, simulate};

    fn area(conditions: Conditions) -> AreaConfig {
        AreaConfig {
            w: 256,
            h: 256,
            pad: 0,
            looks: Looks::default(),
            orbit: OrbitChoice::Random,
            layout: MineLayout::Scene,
            filtered_fraction: 0.7,
            label_threshold_m: insar::S1_WAVELENGTH / 16.0,
            min_box_px: 8,
            conditions,
        }
    }

    /// Fixed conditions are what the area gets; without mines nothing deforms.
    #[test]
    fn fixed_conditions_are_applied() {
        let mut hills = 0;
        for seed in 0..4 {
            let a = simulate(
                &area(Conditions {
                    weather: Some(Weather::Summer),
                    filtered: Some(false),
                    span_days: Some(36.0),
                    relief: Some(true),
                    ramp_fringes_per_10km: Some(0.7),
                    coherence: Some(0.5),
                    mines: Some(false),
                }),
                seed,
            );
            assert!(a.basins.is_empty() && a.los.iter().all(|&v| v == 0.0));
            assert!(a.filter.is_none());
            assert_eq!(a.viewing.span_days, 36.0);
            assert_eq!(a.nuisance.weather, Some(Weather::Summer));
            // Hills are drawn (a small area may hold none above the plain).
            hills += usize::from(a.nuisance.hill_height_m > 0.0);
            assert!(a.nuisance.strat_rad_per_m.abs() >= 0.006);
            assert_eq!(a.nuisance.ramp_fringes_per_10km, 0.7);
            assert_eq!(a.coherence_record.background, 0.5);
            // Summer turbulence: 1.5–4.5 rad at 5 km.
            assert!((1.5..=4.5).contains(&a.nuisance.turbulence_rms_5km_rad));
        }
        assert!(hills >= 2, "{hills} of 4 areas with hills");
        let winter = simulate(
            &area(Conditions {
                weather: Some(Weather::Winter),
                filtered: Some(true),
                ..Conditions::default()
            }),
            9,
        );
        assert!(winter.filter.is_some());
        assert_eq!(winter.nuisance.convective_cells, 0);
    }

    #[test]
    fn bad_values_are_named() {
        let c = Conditions {
            coherence: Some(1.5),
            ..Conditions::default()
        };
        assert_eq!(c.check().expect_err("out of range").0, "coherence");
        assert!("Summer".parse::<Weather>().is_ok() && "wet".parse::<Weather>().is_err());
    }
}

//! Run configuration of `yolo-basin synth`, its defaults and checks.

use crate::conditions::Conditions;
use crate::error::SynthError;
use crate::geometry::Looks;
use crate::scene::OrbitChoice;
use insar::{Colormap, S1_WAVELENGTH};
use serde::Serialize;

/// A label threshold, as given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Threshold {
    /// Metres of LOS deformation.
    Metres(f64),
    /// Fraction of the wavelength (λ/16 = 0.0625).
    Lambda(f64),
}

impl Threshold {
    /// Parses `0.0035`, `3.5mm`, `0.35cm`, `0.0035m` (metres) or `lambda/16`, `l/16`,
    /// `0.0625lambda` (fractions of λ).
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim().to_ascii_lowercase();
        for p in ["lambda/", "λ/", "l/"] {
            if let Some(d) = t.strip_prefix(p) {
                let d: f64 = d.trim().parse().ok()?;
                return (d > 0.0).then(|| Threshold::Lambda(1.0 / d));
            }
        }
        for (suffix, k) in [
            ("lambda", 0.0),
            ("λ", 0.0),
            ("mm", 1e-3),
            ("cm", 1e-2),
            ("m", 1.0),
        ] {
            if let Some(v) = t.strip_suffix(suffix) {
                let v: f64 = v.trim().parse().ok()?;
                return (v > 0.0).then_some(if k == 0.0 {
                    Threshold::Lambda(v)
                } else {
                    Threshold::Metres(v * k)
                });
            }
        }
        let v: f64 = t.parse().ok()?;
        (v > 0.0).then_some(Threshold::Metres(v))
    }

    pub fn metres(&self) -> f64 {
        match *self {
            Threshold::Metres(m) => m,
            Threshold::Lambda(f) => f * S1_WAVELENGTH,
        }
    }
}

/// Everything a data-set run needs.
#[derive(Clone, Debug, Serialize)]
pub struct SynthConfig {
    pub seed: u64,
    pub tiles: usize,
    pub tile_size: usize,
    pub scenes: usize,
    pub scene_size: usize,
    /// Train / val / test fractions (sum 1).
    pub split: [f64; 3],
    /// Share of tiles that are Goldstein-filtered.
    pub filtered_fraction: f64,
    /// Share of tiles without any basin (background and hard negatives only).
    pub negative_fraction: f64,
    pub label_threshold: Threshold,
    /// Smallest labelled box side (px); smaller visible basins are left out of the tile.
    pub min_box_px: usize,
    /// Fixed colormap for the PNGs; random per tile when `None`.
    #[serde(serialize_with = "ser_cmap")]
    pub colormap: Option<Colormap>,
    pub looks: Looks,
    pub orbit: OrbitChoice,
    /// Deflate (with the floating-point predictor) the phase and coherence rasters too.
    /// Off by default: noisy phase shrinks by only 12–20 % and writing takes about as
    /// long as simulating. The truth raster (mostly zeros) is always deflated.
    pub deflate: bool,
    /// Conditions fixed for every area of the run (drawn per area where `None`).
    pub conditions: Conditions,
    /// Tiles cut from whole simulated training scenes (background in the proportion a
    /// scene has, every look-alike, basins cut anywhere), besides the basin-centred tiles.
    pub scene_tiles: usize,
}

fn ser_cmap<S: serde::Serializer>(c: &Option<Colormap>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(c.name()),
        None => s.serialize_str("random"),
    }
}

impl Default for SynthConfig {
    /// The paper's data set: 1,160 tiles of 416², 70/30 train/val, one 8,000² scene.
    fn default() -> Self {
        Self {
            seed: 0,
            tiles: 1160,
            tile_size: 416,
            scenes: 1,
            scene_size: 8000,
            split: [0.7, 0.3, 0.0],
            filtered_fraction: 0.7,
            negative_fraction: 0.15,
            label_threshold: Threshold::Lambda(1.0 / 16.0),
            min_box_px: 8,
            colormap: None,
            looks: Looks::default(),
            orbit: OrbitChoice::Random,
            deflate: false,
            conditions: Conditions::default(),
            scene_tiles: 0,
        }
    }
}

impl SynthConfig {
    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(SynthError::BadConfig {
                field,
                value,
                expected,
            })
        };
        if !(32..=8192).contains(&self.tile_size) {
            return bad("tile_size", self.tile_size.to_string(), "32..=8192 pixels");
        }
        if self.scenes > 0 && !(64..=40_000).contains(&self.scene_size) {
            return bad(
                "scene_size",
                self.scene_size.to_string(),
                "64..=40000 pixels",
            );
        }
        let s: f64 = self.split.iter().sum();
        if self.split.iter().any(|v| !(0.0..=1.0).contains(v)) || (s - 1.0).abs() > 1e-6 {
            return bad(
                "split",
                format!("{:?}", self.split),
                "three fractions in [0, 1] summing to 1, e.g. 0.7,0.3,0",
            );
        }
        for (field, v) in [
            ("filtered_fraction", self.filtered_fraction),
            ("negative_fraction", self.negative_fraction),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, v.to_string(), "a fraction in [0, 1]");
            }
        }
        let t = self.label_threshold.metres();
        if !(t > 0.0 && t < 0.5) {
            return bad(
                "label_threshold",
                format!("{t} m"),
                "a LOS deformation in (0, 0.5) m",
            );
        }
        if let Err((field, value, expected)) = self.conditions.check() {
            return bad(field, value, expected);
        }
        if self.min_box_px == 0 || self.min_box_px > self.tile_size / 2 {
            return bad("min_box_px", self.min_box_px.to_string(), "1..=tile_size/2");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_in_both_units() {
        assert_eq!(
            Threshold::parse("lambda/16"),
            Some(Threshold::Lambda(1.0 / 16.0))
        );
        assert_eq!(
            Threshold::parse("0.25lambda"),
            Some(Threshold::Lambda(0.25))
        );
        assert_eq!(Threshold::parse("3.5mm"), Some(Threshold::Metres(0.0035)));
        assert_eq!(Threshold::parse("0.01"), Some(Threshold::Metres(0.01)));
        assert_eq!(Threshold::parse("-1"), None);
        assert_eq!(Threshold::parse("lambda/0"), None);
        let l16 = Threshold::Lambda(1.0 / 16.0).metres();
        assert!((l16 - 0.003466610).abs() < 1e-8);
    }

    #[test]
    fn defaults_are_valid_and_bad_split_is_named() {
        assert!(SynthConfig::default().validate().is_ok());
        let c = SynthConfig {
            split: [0.7, 0.7, 0.0],
            ..SynthConfig::default()
        };
        let e = c.validate().expect_err("split sums to 1.4").to_string();
        assert!(e.contains("split"), "{e}");
    }
}

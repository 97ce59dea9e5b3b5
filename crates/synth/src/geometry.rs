//! Sentinel-1 viewing geometry: line-of-sight unit vector, multilook pixel spacing, and the
//! mapping between image pixels and local ground coordinates.
//!
//! Images are laid out north-up (rows run south, columns east) at the multilooked spacing:
//! columns carry the ground-range spacing, rows the azimuth spacing, as a product geocoded
//! at its native resolution. The ~10° between the flight track and north only enters the
//! LOS vector (which is where it matters for the measured phase).

use serde::{Deserialize, Serialize};

/// Sentinel-1 IW single-look slant-range pixel spacing (m).
pub const S1_SLANT_SPACING_M: f64 = 2.329562;
/// Sentinel-1 IW single-look azimuth pixel spacing (m).
pub const S1_AZIMUTH_SPACING_M: f64 = 13.89;

/// Pass direction of the satellite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Orbit {
    Ascending,
    Descending,
}

impl Orbit {
    /// Typical Sentinel-1 heading over north China (flight direction, degrees clockwise
    /// from north).
    pub fn nominal_heading_deg(self) -> f64 {
        match self {
            Orbit::Ascending => -10.0,
            Orbit::Descending => 190.0,
        }
    }
}

/// Unit vector from the ground to a right-looking satellite, in (east, north, up).
///
/// The look direction (satellite → ground) points 90° clockwise of the heading `h`; its
/// horizontal part is (cos h, −sin h). The ground → satellite vector is the opposite,
/// tilted by the incidence angle θ: (−sin θ cos h, sin θ sin h, cos θ).
pub fn los_unit_vector(heading_deg: f64, incidence_deg: f64) -> [f64; 3] {
    let (h, t) = (heading_deg.to_radians(), incidence_deg.to_radians());
    [-t.sin() * h.cos(), t.sin() * h.sin(), t.cos()]
}

/// LOS displacement (positive towards the satellite) of an (east, north, up) displacement.
pub fn project_los(los: &[f64; 3], d: &[f64; 3]) -> f64 {
    los[0] * d[0] + los[1] * d[1] + los[2] * d[2]
}

/// Most looks along one axis: LiCSAR's 20 × 4 and HyP3's 20 × 4 / 10 × 2 are far below;
/// 65,536 × 65,536 once overflowed the look count.
pub const MAX_LOOKS: u32 = 256;

/// Multilook factors (range looks × azimuth looks), as `--looks RxA` spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Looks {
    pub range: u32,
    pub azimuth: u32,
}

impl Default for Looks {
    /// The paper's 1:5 (5 range looks, 1 azimuth look): about 18.5 m × 13.9 m at 39°.
    fn default() -> Self {
        Self {
            range: 5,
            azimuth: 1,
        }
    }
}

impl Looks {
    /// Parses `RxA`, e.g. `5x1`.
    pub fn parse(s: &str) -> Option<Self> {
        let (r, a) = s.split_once(['x', 'X', ':'])?;
        let valid = |v: &u32| (1..=MAX_LOOKS).contains(v);
        let range = r.trim().parse().ok().filter(valid)?;
        let azimuth = a.trim().parse().ok().filter(valid)?;
        Some(Self { range, azimuth })
    }

    /// Number of independent looks averaged into each pixel.
    pub fn count(&self) -> u32 {
        self.range.saturating_mul(self.azimuth)
    }

    /// Ground pixel spacing (range/column, azimuth/row) in metres at incidence θ.
    pub fn spacing(&self, incidence_deg: f64) -> (f64, f64) {
        let ground_range = S1_SLANT_SPACING_M / incidence_deg.to_radians().sin();
        (
            ground_range * self.range as f64,
            S1_AZIMUTH_SPACING_M * self.azimuth as f64,
        )
    }
}

/// Viewing geometry of one simulated interferogram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewing {
    pub orbit: Orbit,
    pub heading_deg: f64,
    pub incidence_deg: f64,
    /// Ground spacing of columns (east) and rows (south), metres.
    pub dx_m: f64,
    pub dy_m: f64,
    /// Perpendicular baseline (m); scales DEM-error phase.
    pub bperp_m: f64,
    /// Time between the acquisitions (days).
    pub span_days: f64,
}

impl Viewing {
    pub fn los(&self) -> [f64; 3] {
        los_unit_vector(self.heading_deg, self.incidence_deg)
    }

    /// Phase per metre of DEM error: 4π B⊥ / (λ R sin θ), with a slant range R of
    /// ~700 km + 250 km·(θ − 30°)/16° across the IW swath.
    pub fn dem_error_rad_per_m(&self, wavelength: f64) -> f64 {
        let t = self.incidence_deg.to_radians();
        let range = 700e3 + 250e3 * (self.incidence_deg - 30.0) / 16.0;
        4.0 * std::f64::consts::PI * self.bperp_m / (wavelength * range * t.sin())
    }
}

/// Local ground coordinates (east, north; metres) of a pixel centre.
pub fn pixel_to_ground(col: f64, row: f64, dx: f64, dy: f64) -> (f64, f64) {
    ((col + 0.5) * dx, -(row + 0.5) * dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_parse_within_their_bounds() {
        assert_eq!(Looks::parse("20x4").map(|l| l.count()), Some(80));
        assert_eq!(Looks::parse("256:256").map(|l| l.count()), Some(65_536));
        for bad in ["65536x65536", "0x1", "5x", "x", "257x1", "-1x2"] {
            assert_eq!(Looks::parse(bad), None, "{bad}");
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn los_vector_for_known_geometries() {
        // Heading due north, 30° incidence: the satellite looks east, so from the ground
        // it lies to the west and up: (−½, 0, √3/2).
        let v = los_unit_vector(0.0, 30.0);
        assert!(close(v[0], -0.5) && close(v[1], 0.0) && close(v[2], 0.75f64.sqrt()));
        // Heading due south (descending, 180°): looks west, satellite to the east.
        let v = los_unit_vector(180.0, 30.0);
        assert!(close(v[0], 0.5) && v[1].abs() < 1e-12);
        // Ascending S1 (−10°) at 39°: mostly west, a little south.
        let v = los_unit_vector(-10.0, 39.0);
        let s = 39f64.to_radians().sin();
        assert!(close(v[0], -s * 10f64.to_radians().cos()));
        assert!(close(v[1], -s * 10f64.to_radians().sin()));
        assert!(close(v.iter().map(|c| c * c).sum::<f64>(), 1.0));
    }

    #[test]
    fn subsidence_moves_away_from_the_satellite() {
        let v = los_unit_vector(190.0, 40.0);
        let d = project_los(&v, &[0.0, 0.0, -0.1]);
        assert!(close(d, -0.1 * 40f64.to_radians().cos()));
        // Eastward motion moves towards a descending (east-looking-west) satellite.
        assert!(project_los(&v, &[0.1, 0.0, 0.0]) > 0.0);
        assert!(project_los(&los_unit_vector(-10.0, 40.0), &[0.1, 0.0, 0.0]) < 0.0);
    }

    #[test]
    fn paper_multilook_spacing() {
        let (dx, dy) = Looks::default().spacing(38.9);
        assert!((dx - 18.54).abs() < 0.05, "range spacing {dx}");
        assert!((dy - 13.89).abs() < 1e-9);
        assert_eq!(
            Looks::parse("10x2"),
            Some(Looks {
                range: 10,
                azimuth: 2
            })
        );
        assert_eq!(Looks::parse("0x2"), None);
        assert_eq!(Looks::parse("5"), None);
    }
}

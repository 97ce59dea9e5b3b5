//! Ground sizes of a box in metres, the same way for every CRS: the box is carried to WGS84
//! longitude/latitude and measured on the WGS84 ellipsoid (GeographicLib's geodesics).
//!
//! For a geographic CRS that is the definition of its size. For a projected CRS it is the
//! true ground size rather than the grid size (the box in the projection's units): the
//! grid size is off by the projection's scale factor — −0.04 % to +0.1 % in length across a
//! UTM zone, a factor 1/cos φ in Web Mercator (×1.56 at 50° N) — and in feet for some
//! national grids; measuring on the ellipsoid answers both at once.

use geographiclib_rs::{Geodesic, InverseGeodesic, PolygonArea, Winding};

use super::OutputError;
use super::frame::Frame;
use crate::bbox::BBox;

/// Longest step (degrees of longitude or latitude, about 1 km) between the points a
/// measured path is cut into: a geodesic between them and the image of the straight pixel
/// line differ by centimetres at most, well below a pixel.
const STEP_DEG: f64 = 0.01;

/// A box's ground size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    /// Length of the box's middle row, left edge to right edge.
    pub width_m: f64,
    /// Length of the box's middle column, top edge to bottom edge.
    pub height_m: f64,
    pub area_m2: f64,
}

/// The ground size of `b`, where the frame's CRS reprojects (none for an unknown CRS or
/// pixel geometry: their units are not known to be metres).
pub fn measure(b: &BBox, frame: &Frame) -> Result<Option<Measures>, OutputError> {
    let Some(w) = frame.wgs84() else {
        return Ok(None);
    };
    let g = Geodesic::wgs84();
    let [cx, cy] = b.center();
    let width_m = length(&g, &w.path([b.x1, cy], [b.x2, cy], STEP_DEG)?);
    let height_m = length(&g, &w.path([cx, b.y1], [cx, b.y2], STEP_DEG)?);
    let corners = [[b.x1, b.y1], [b.x2, b.y1], [b.x2, b.y2], [b.x1, b.y2]];
    let mut outline = Vec::new();
    for (i, &a) in corners.iter().enumerate() {
        let mut side = w.path(a, corners[(i + 1) % corners.len()], STEP_DEG)?;
        side.pop(); // the next side starts there
        outline.extend(side);
    }
    Ok(Some(Measures {
        width_m,
        height_m,
        area_m2: area(&g, &outline),
    }))
}

/// Sum of the geodesic distances between consecutive lon/lat points.
fn length(g: &Geodesic, path: &[[f64; 2]]) -> f64 {
    path.windows(2)
        .map(|s| -> f64 { g.inverse(s[0][1], s[0][0], s[1][1], s[1][0]) })
        .sum()
}

/// Area enclosed by a lon/lat ring (open: the last point joins the first), either way round.
fn area(g: &Geodesic, ring: &[[f64; 2]]) -> f64 {
    let mut pa = PolygonArea::new(g, Winding::CounterClockwise);
    for p in ring {
        pa.add_point(p[1], p[0]);
    }
    pa.compute(true).1.abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use raster::{GeoInfo, GeoTransform};

    const A: f64 = 6_378_137.0;
    const F: f64 = 1.0 / 298.257_223_563;

    /// Closed form: area of the ellipsoid between the meridians Δλ apart and the parallels
    /// φ1 < φ2 (degrees): Δλ·b²·[sin φ / (2(1 − e² sin² φ)) + artanh(e sin φ) / (2e)].
    fn cell_area(dlon: f64, lat1: f64, lat2: f64) -> f64 {
        let e2 = F * (2.0 - F);
        let e = e2.sqrt();
        let b2 = A * A * (1.0 - e2);
        let q = |lat: f64| {
            let s = lat.to_radians().sin();
            s / (2.0 * (1.0 - e2 * s * s)) + (e * s).atanh() / (2.0 * e)
        };
        dlon.to_radians() * b2 * (q(lat2) - q(lat1))
    }

    #[test]
    fn one_degree_cell_has_the_closed_form_area() {
        // 1° × 1° at 45–46° N as 100 × 100 pixels of 0.01°.
        let f = Frame::new(Some(&GeoInfo::new(
            GeoTransform::north_up(18.0, 46.0, 0.01, -0.01),
            Some(4326),
        )));
        let m = measure(&BBox::new(0.0, 0.0, 100.0, 100.0), &f)
            .expect("measured")
            .expect("WGS84 has metres");
        let want = cell_area(1.0, 45.0, 46.0);
        assert!(
            (m.area_m2 - want).abs() / want < 1e-6,
            "{} vs {want}",
            m.area_m2
        );
        // Width: along the 45.5° parallel, whose radius is N cos φ (N the prime vertical
        // radius of curvature): 1° of it is N cos φ · π/180.
        let phi = 45.5f64.to_radians();
        let n = A / (1.0 - F * (2.0 - F) * phi.sin().powi(2)).sqrt();
        let parallel = n * phi.cos() * 1f64.to_radians();
        assert!(
            (m.width_m - parallel).abs() < 1e-3,
            "{} vs {parallel}",
            m.width_m
        );
        // Height: 1° of meridian near 45.5° N is 111.1 km.
        assert!((m.height_m - 111_141.0).abs() < 10.0, "{}", m.height_m);
    }

    #[test]
    fn projected_sizes_are_ground_sizes() {
        // UTM's scale factor on its central meridian is 0.9996: 1,000 m of grid there is
        // 1,000.4 m of ground (the ellipsoid's meridian, to 10⁻⁵).
        let f = Frame::new(Some(&GeoInfo::new(
            GeoTransform::north_up(499_500.0, 4_000_500.0, 20.0, -20.0),
            Some(32650),
        )));
        let m = measure(&BBox::new(0.0, 0.0, 50.0, 50.0), &f)
            .expect("measured")
            .expect("UTM has metres");
        for (got, grid) in [(m.width_m, 1_000.0), (m.height_m, 1_000.0)] {
            assert!((got - grid / 0.9996).abs() < 0.01, "{got}");
        }
        let want = 1e6 / (0.9996 * 0.9996);
        assert!((m.area_m2 - want).abs() / want < 1e-5, "{}", m.area_m2);
        // Web Mercator's grid is 1/cos φ too long: 1 km of grid at 60° N is 500 m of ground
        // (the spherical projection on the ellipsoid's ground, to 0.5 %).
        let y60 = A
            * (std::f64::consts::FRAC_PI_4 + 30f64.to_radians())
                .tan()
                .ln();
        let f = Frame::new(Some(&GeoInfo::new(
            GeoTransform::north_up(1_000_000.0, y60 + 500.0, 10.0, -10.0),
            Some(3857),
        )));
        let m = measure(&BBox::new(0.0, 0.0, 100.0, 100.0), &f)
            .expect("measured")
            .expect("metres");
        assert!((m.width_m / 500.0 - 1.0).abs() < 5e-3, "{}", m.width_m);
    }

    #[test]
    fn no_metres_without_a_known_crs() {
        let t = GeoTransform::north_up(500_000.0, 4_000_000.0, 20.0, -20.0);
        let b = BBox::new(0.0, 0.0, 10.0, 10.0);
        for f in [
            Frame::new(None),
            Frame::new(Some(&GeoInfo::new(t, None))),
            Frame::new(Some(&GeoInfo::new(t, Some(1)))),
        ] {
            assert_eq!(measure(&b, &f).expect("no error"), None);
        }
    }
}

//! Where pixel boxes go: pixel → the scene's native coordinates (its geotransform, or the
//! pixel frame QGIS uses for rasters without one) → WGS84 longitude/latitude.
//!
//! A box is straight in the native CRS (the geotransform is affine) but its image in
//! longitude/latitude is curved wherever the projection bends lines; the WGS84 ring is
//! densified until every straight segment in longitude/latitude (what RFC 7946 readers draw)
//! stays within a tolerance of the true box edge, measured back in scene pixels.

use raster::GeoInfo;

use super::OutputError;
use super::crs::{Epsg, SceneCrs};
use crate::bbox::BBox;

/// Tolerance of the WGS84 polygons: a segment's midpoint lies within this many scene
/// pixels of the box edge it stands for.
pub const RING_TOLERANCE_PX: f64 = 0.1;
/// Deepest bisection of one edge (2¹⁰ segments): far more than any map projection needs at
/// basin scale; it bounds the work on a broken geotransform.
const MAX_DEPTH: u32 = 10;

/// The scene's georeferencing and CRS, read once for all of its basins.
#[derive(Debug, Clone)]
pub struct Frame {
    geo: Option<GeoInfo>,
    crs: SceneCrs,
}

impl Frame {
    pub fn new(geo: Option<&GeoInfo>) -> Self {
        Self {
            geo: geo.copied(),
            crs: SceneCrs::of(geo),
        }
    }

    pub fn crs(&self) -> &SceneCrs {
        &self.crs
    }

    pub fn geo(&self) -> Option<&GeoInfo> {
        self.geo.as_ref()
    }

    /// Native coordinates of the pixel position (col, row): through the geotransform, or
    /// (col, −row) without one, where QGIS draws a raster that has no georeferencing.
    pub fn native(&self, col: f64, row: f64) -> [f64; 2] {
        self.geo
            .as_ref()
            .map_or([col, -row], |g| g.pixel_to_map(col, row))
    }

    /// The pixel position of native coordinates; `None` for a degenerate geotransform.
    fn pixel_of(&self, p: [f64; 2]) -> Option<[f64; 2]> {
        let Some(g) = &self.geo else {
            return Some([p[0], -p[1]]);
        };
        let t = &g.transform.0;
        let det = t[1] * t[5] - t[2] * t[4];
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let (dx, dy) = (p[0] - t[0], p[1] - t[3]);
        Some([(t[5] * dx - t[2] * dy) / det, (t[1] * dy - t[4] * dx) / det])
    }

    /// The box as a closed, counter-clockwise ring of its four corners in native coordinates.
    pub fn native_ring(&self, b: &BBox) -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = corners(b)
            .iter()
            .chain(corners(b).first())
            .map(|&[c, r]| self.native(c, r))
            .collect();
        counter_clockwise(&mut ring);
        ring
    }

    /// This frame with reprojection off (for the reason `why`): native coordinates only,
    /// no metres, the EPSG code still named.
    pub fn without_reprojection(&self, why: &str) -> Self {
        let crs = match &self.crs {
            SceneCrs::Epsg(e) => SceneCrs::EpsgOnly {
                code: e.code,
                why: why.into(),
            },
            other => other.clone(),
        };
        Self { geo: self.geo, crs }
    }

    /// Longitude/latitude access, where the CRS reprojects.
    pub fn wgs84(&self) -> Option<Wgs84<'_>> {
        self.crs.epsg().map(|epsg| Wgs84 { frame: self, epsg })
    }
}

/// The corners of a box in pixels, clockwise on screen (rows grow downwards).
fn corners(b: &BBox) -> [[f64; 2]; 4] {
    [[b.x1, b.y1], [b.x2, b.y1], [b.x2, b.y2], [b.x1, b.y2]]
}

/// A frame whose CRS reprojects to WGS84.
#[derive(Debug, Clone, Copy)]
pub struct Wgs84<'a> {
    frame: &'a Frame,
    epsg: &'a Epsg,
}

impl Wgs84<'_> {
    /// Longitude, latitude (degrees) of the pixel position (col, row).
    pub fn lonlat(&self, col: f64, row: f64) -> Result<[f64; 2], OutputError> {
        let [x, y] = self.frame.native(col, row);
        Ok(self.epsg.to_lonlat(x, y)?)
    }

    /// The box as a closed, counter-clockwise (RFC 7946) ring in longitude/latitude,
    /// densified so that no segment strays more than `tol_px` pixels from the box's edges.
    pub fn ring(&self, b: &BBox, tol_px: f64) -> Result<Vec<[f64; 2]>, OutputError> {
        let c = corners(b);
        let mut ring = Vec::new();
        for (i, &a) in c.iter().enumerate() {
            let e = c[(i + 1) % c.len()];
            let (la, le) = (self.lonlat(a[0], a[1])?, self.lonlat(e[0], e[1])?);
            ring.push(la);
            self.densify(a, la, e, le, tol_px, MAX_DEPTH, &mut ring)?;
        }
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        counter_clockwise(&mut ring);
        Ok(ring)
    }

    /// Pushes the points strictly between `a` and `e` (pixels; `la`, `le` their lon/lat)
    /// that keep the straight lon/lat segments within `tol_px` of the pixel segment a–e.
    #[allow(clippy::too_many_arguments)]
    fn densify(
        &self,
        a: [f64; 2],
        la: [f64; 2],
        e: [f64; 2],
        le: [f64; 2],
        tol_px: f64,
        depth: u32,
        out: &mut Vec<[f64; 2]>,
    ) -> Result<(), OutputError> {
        if depth == 0 || self.chord_error_px(a, la, e, le)? <= tol_px {
            return Ok(());
        }
        let m = [(a[0] + e[0]) / 2.0, (a[1] + e[1]) / 2.0];
        let lm = self.lonlat(m[0], m[1])?;
        self.densify(a, la, m, lm, tol_px, depth - 1, out)?;
        out.push(lm);
        self.densify(m, lm, e, le, tol_px, depth - 1, out)
    }

    /// How far (pixels) the midpoint of the straight lon/lat segment la–le lies from the
    /// pixel segment a–e it stands for.
    fn chord_error_px(
        &self,
        a: [f64; 2],
        la: [f64; 2],
        e: [f64; 2],
        le: [f64; 2],
    ) -> Result<f64, OutputError> {
        let mid = [(la[0] + le[0]) / 2.0, (la[1] + le[1]) / 2.0];
        let native = self.epsg.from_lonlat(mid[0], mid[1])?;
        let Some(p) = self.frame.pixel_of(native) else {
            return Ok(0.0);
        };
        Ok(distance_to_line(p, a, e))
    }

    /// Points along the pixel segment a–e in lon/lat, at most `step_deg` apart in longitude
    /// and latitude (both ends included): the path measured on the ellipsoid.
    pub fn path(
        &self,
        a: [f64; 2],
        e: [f64; 2],
        step_deg: f64,
    ) -> Result<Vec<[f64; 2]>, OutputError> {
        let (la, le) = (self.lonlat(a[0], a[1])?, self.lonlat(e[0], e[1])?);
        let span = (le[0] - la[0]).abs().max((le[1] - la[1]).abs());
        // Float to count: finite and clamped first, so the cast cannot wrap.
        let n = if span.is_finite() {
            (span / step_deg)
                .ceil()
                .clamp(1.0, f64::from(1u32 << MAX_DEPTH)) as usize
        } else {
            1
        };
        let mut path = Vec::with_capacity(n + 1);
        path.push(la);
        for k in 1..n {
            let t = k as f64 / n as f64;
            path.push(self.lonlat(a[0] + t * (e[0] - a[0]), a[1] + t * (e[1] - a[1]))?);
        }
        path.push(le);
        Ok(path)
    }
}

/// Perpendicular distance from p to the line through a and e (to a when they coincide).
fn distance_to_line(p: [f64; 2], a: [f64; 2], e: [f64; 2]) -> f64 {
    let (dx, dy) = (e[0] - a[0], e[1] - a[1]);
    let len = dx.hypot(dy);
    if len == 0.0 {
        return (p[0] - a[0]).hypot(p[1] - a[1]);
    }
    ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx).abs() / len
}

/// Shoelace area of a closed ring, positive when counter-clockwise (x right, y up).
pub fn signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

/// Turns a closed ring counter-clockwise (the right-hand rule of RFC 7946 and the
/// exterior-ring orientation of Simple Features).
fn counter_clockwise(ring: &mut [[f64; 2]]) {
    if signed_area(ring) < 0.0 {
        ring.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raster::GeoTransform;

    fn frame(t: [f64; 6], epsg: Option<u32>) -> Frame {
        Frame::new(Some(&GeoInfo::new(GeoTransform(t), epsg)))
    }

    #[test]
    fn native_rings_are_closed_and_counter_clockwise_whatever_the_axes() {
        let b = BBox::new(10.0, 20.0, 60.0, 45.0);
        // North-up (dy < 0), south-up (dy > 0), and no georeferencing (y = −row).
        for f in [
            frame([500_000.0, 20.0, 0.0, 4_000_000.0, 0.0, -20.0], Some(32650)),
            frame([500_000.0, 20.0, 0.0, 4_000_000.0, 0.0, 20.0], Some(32650)),
            Frame::new(None),
        ] {
            let ring = f.native_ring(&b);
            assert_eq!(ring.len(), 5);
            assert_eq!(ring.first(), ring.last());
            assert!(signed_area(&ring) > 0.0, "{ring:?}");
        }
        let ring = frame([500_000.0, 20.0, 0.0, 4_000_000.0, 0.0, -20.0], None).native_ring(&b);
        assert!(ring.contains(&[500_200.0, 3_999_600.0]));
        assert!(ring.contains(&[501_200.0, 3_999_100.0]));
        // 50 × 25 pixels of 20 m.
        assert_eq!(signed_area(&ring), 500_000.0);
        let pixel = Frame::new(None).native_ring(&b);
        assert!(pixel.contains(&[10.0, -20.0]) && pixel.contains(&[60.0, -45.0]));
    }

    #[test]
    fn pixel_of_inverts_the_geotransform() {
        let f = frame([10.0, 2.0, 0.5, 20.0, -0.25, -2.0], None);
        let p = f.pixel_of(f.native(3.5, 7.25)).expect("invertible");
        assert!((p[0] - 3.5).abs() < 1e-12 && (p[1] - 7.25).abs() < 1e-12);
        assert!(
            frame([0.0, 0.0, 0.0, 0.0, 0.0, 0.0], None)
                .pixel_of([1.0, 1.0])
                .is_none()
        );
    }

    #[test]
    fn wgs84_rings_are_counter_clockwise_and_follow_the_box() {
        let b = BBox::new(0.0, 0.0, 400.0, 300.0);
        for dy in [-20.0, 20.0] {
            let f = frame([500_000.0, 20.0, 0.0, 4_000_000.0, 0.0, dy], Some(32650));
            let w = f.wgs84().expect("UTM reprojects");
            let ring = w.ring(&b, RING_TOLERANCE_PX).expect("in the zone");
            assert_eq!(ring.first(), ring.last());
            assert!(signed_area(&ring) > 0.0, "counter-clockwise in lon/lat");
            // Every vertex is the image of a point on the box's outline, and every
            // segment's midpoint lies within the tolerance of it (in pixels).
            for s in ring.windows(2) {
                for p in [s[0], [(s[0][0] + s[1][0]) / 2.0, (s[0][1] + s[1][1]) / 2.0]] {
                    let n = w.epsg.from_lonlat(p[0], p[1]).expect("inverse");
                    let px = f.pixel_of(n).expect("invertible");
                    let off = (px[0] - b.x1)
                        .abs()
                        .min((px[0] - b.x2).abs())
                        .min((px[1] - b.y1).abs())
                        .min((px[1] - b.y2).abs());
                    assert!(off < RING_TOLERANCE_PX, "{px:?} is {off} px off the box");
                }
            }
        }
        // A scene in degrees: lines of constant row are parallels, straight in lon/lat, so
        // the corners alone are exact.
        let f = frame([18.0, 0.001, 0.0, 50.0, 0.0, -0.001], Some(4326));
        let ring = f
            .wgs84()
            .expect("WGS84")
            .ring(&b, RING_TOLERANCE_PX)
            .expect("ring");
        assert_eq!(ring.len(), 5);
        assert!(
            ring.iter()
                .any(|p| (p[0] - 18.4).abs() < 1e-12 && (p[1] - 49.7).abs() < 1e-12)
        );
    }

    #[test]
    fn strongly_curved_projection_is_densified() {
        // Lambert azimuthal equal-area (EPSG:3035, Europe): far from its centre (10° E,
        // 52° N) a 200 km box edge bends in lon/lat, and a 0.1 px tolerance on 500 m pixels
        // (5 cm) takes many points.
        let f = frame(
            [-2_000_000.0, 500.0, 0.0, 5_000_000.0, 0.0, -500.0],
            Some(3035),
        );
        let ring = f
            .wgs84()
            .expect("LAEA reprojects")
            .ring(&BBox::new(0.0, 0.0, 400.0, 400.0), RING_TOLERANCE_PX)
            .expect("ring");
        assert!(ring.len() > 20, "{} points", ring.len());
        assert!(signed_area(&ring) > 0.0);
    }
}

//! How much each detected basin moved: its peak and mean line-of-sight displacement and the
//! volume of that displacement, measured on an unwrapped or LOS raster of the scene's grid.
//!
//! Sign convention (that of `insar::phase`): LOS displacement is positive towards the
//! satellite; negative values move away from it, which is what subsidence does. So a
//! subsidence basin has a negative `peak_los_mm`, `mean_los_mm` and `volume_m3`.
//!
//! Every figure is relative to the basin's background: the median of the valid pixels of
//! a ring around the box ([`ring_width`] pixels wide, clipped to the scene). The median
//! ignores a neighbouring basin's edge reaching into the ring, and on a tilted background
//! (an orbit ramp, a residual unwrapping reference) a ring centred on the box gives the
//! tilt's value at the box centre, which is the tilt's mean over the box: mean and volume
//! come out free of it.
//!
//! Box pixels are those whose centres lie inside the box; invalid pixels count nowhere (the
//! share of valid ones is reported as `los_valid_fraction`).

use std::error::Error;

use raster::GeoInfo;
use serde_json::{Map, Value, json};

use crate::bbox::BBox;
use crate::output::{Basin, Frame, measure as ground_size};

/// The ring is at least this wide, so small boxes still get a background of many pixels.
pub const MIN_RING_PX: usize = 8;
/// The ring's width as a share of the box's longer side.
pub const RING_SHARE: f64 = 0.25;
/// Fewer valid ring pixels than this give no background, and the basin no figures.
pub const MIN_RING_VALID: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DeformationError {
    #[error("reading LOS pixels {x0}..{} × {y0}..{}: {cause}", x0 + width, y0 + height)]
    Source {
        x0: usize,
        y0: usize,
        width: usize,
        height: usize,
        cause: Box<dyn Error + Send + Sync>,
    },
    #[error(
        "LOS window {width}×{height} came back with {values} values and {flags} flags, expected {} of each",
        width * height
    )]
    BadWindow {
        width: usize,
        height: usize,
        values: usize,
        flags: usize,
    },
}

/// A rectangle of whole pixels: columns `x0 .. x0 + width`, rows `y0 .. y0 + height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    pub x0: usize,
    pub y0: usize,
    pub width: usize,
    pub height: usize,
}

impl PixelRect {
    fn x1(&self) -> usize {
        self.x0 + self.width
    }

    fn y1(&self) -> usize {
        self.y0 + self.height
    }

    fn contains(&self, x: usize, y: usize) -> bool {
        (self.x0..self.x1()).contains(&x) && (self.y0..self.y1()).contains(&y)
    }
}

/// LOS displacement of a window, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LosWindow {
    /// Metres, positive towards the satellite.
    pub values: Vec<f32>,
    /// False on no-data.
    pub valid: Vec<bool>,
}

/// Full-resolution LOS displacement of a scene, read a window at a time (the `input` crate
/// serves one from an unwrapped-phase or LOS raster without reading it whole).
pub trait LosWindows {
    /// Scene width and height in pixels.
    fn size(&self) -> (usize, usize);
    /// The pixels of `rect` (inside the scene).
    fn window(&mut self, rect: PixelRect) -> Result<LosWindow, Box<dyn Error + Send + Sync>>;
}

/// The ground area of one pixel, for volumes.
#[derive(Debug, Clone)]
pub enum PixelArea {
    /// From the scene's georeference: the box's ground area on the WGS84 ellipsoid (as
    /// every output measures it, [`crate::output::measure`]) shared among its pixels; none
    /// where the CRS is not known to count in metres.
    Geo(Frame),
    /// A pixel geometry (radar coordinates) whose ground pixel size the user gave, m².
    SquareMetres(f64),
    /// Unknown: basins get no `volume_m3`.
    Unknown,
}

impl PixelArea {
    /// The area of the scene georeferenced by `geo`.
    pub fn of_scene(geo: &GeoInfo) -> Self {
        PixelArea::Geo(Frame::new(Some(geo)))
    }

    /// The area in m² of a pixel of box `b`, when known.
    pub fn at(&self, b: &BBox) -> Option<f64> {
        let a = match self {
            PixelArea::Geo(frame) => {
                let m = ground_size(b, frame).ok().flatten()?;
                m.area_m2 / (b.width() * b.height())
            }
            PixelArea::SquareMetres(a) => *a,
            PixelArea::Unknown => return None,
        };
        (a.is_finite() && a > 0.0).then_some(a)
    }
}

/// One basin's figures, in metres (see the module's sign convention).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deformation {
    /// The box's valid value farthest from the background, less the background.
    pub peak_los_m: f64,
    /// The mean over the box's valid pixels, less the background.
    pub mean_los_m: f64,
    /// Σ (value − background) × pixel area over the box's valid pixels (m³).
    pub volume_m3: Option<f64>,
    /// The background itself (for unwrapped phase: relative to the unwrapping reference).
    pub background_los_m: f64,
    /// The share of the box's pixels holding data.
    pub valid_fraction: f64,
}

impl Deformation {
    /// Adds the figures to a basin's statistics: `peak_los_mm`, `mean_los_mm`, `volume_m3`
    /// (when the pixel area is known), `los_background_mm`, `los_valid_fraction`.
    pub fn insert_into(&self, stats: &mut Map<String, Value>) {
        let round = |v: f64, places: i32| {
            let s = 10f64.powi(places);
            (v * s).round() / s
        };
        stats.insert("peak_los_mm".into(), json!(round(self.peak_los_m * 1e3, 2)));
        stats.insert("mean_los_mm".into(), json!(round(self.mean_los_m * 1e3, 2)));
        if let Some(v) = self.volume_m3 {
            stats.insert("volume_m3".into(), json!(round(v, 1)));
        }
        stats.insert(
            "los_background_mm".into(),
            json!(round(self.background_los_m * 1e3, 2)),
        );
        stats.insert(
            "los_valid_fraction".into(),
            json!(round(self.valid_fraction, 3)),
        );
    }
}

/// Measures every basin on `src` and adds its figures to its statistics; returns how many
/// basins were measured (a basin without valid pixels in its box, or with too few around
/// it, gets none).
pub fn add_deformation<S: LosWindows + ?Sized>(
    src: &mut S,
    basins: &mut [Basin],
    area: &PixelArea,
) -> Result<usize, DeformationError> {
    let mut measured = 0;
    for b in basins.iter_mut() {
        if let Some(d) = measure(src, &b.det.bbox, area)? {
            d.insert_into(&mut b.stats);
            measured += 1;
        }
    }
    Ok(measured)
}

/// The pixels whose centres lie inside `b`, clipped to a `width` × `height` scene; `None`
/// when there are none.
pub fn box_pixels(b: &BBox, (width, height): (usize, usize)) -> Option<PixelRect> {
    // Pixel c (centre c + ½) is inside [x1, x2) when ⌈x1 − ½⌉ ≤ c < ⌈x2 − ½⌉.
    let first = |v: f64, n: usize| (v - 0.5).ceil().clamp(0.0, n as f64) as usize;
    if ![b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (x0, x1) = (first(b.x1, width), first(b.x2, width));
    let (y0, y1) = (first(b.y1, height), first(b.y2, height));
    (x1 > x0 && y1 > y0).then_some(PixelRect {
        x0,
        y0,
        width: x1 - x0,
        height: y1 - y0,
    })
}

/// Width of the background ring of a box of `inner` pixels: a quarter of its longer side,
/// at least [`MIN_RING_PX`].
pub fn ring_width(inner: &PixelRect) -> usize {
    let side = inner.width.max(inner.height) as f64;
    ((RING_SHARE * side).ceil() as usize).max(MIN_RING_PX)
}

/// The figures of the basin in box `b`, or `None` when they cannot be had (see
/// [`add_deformation`]).
pub fn measure<S: LosWindows + ?Sized>(
    src: &mut S,
    b: &BBox,
    area: &PixelArea,
) -> Result<Option<Deformation>, DeformationError> {
    let size = src.size();
    let Some(inner) = box_pixels(b, size) else {
        return Ok(None);
    };
    let r = ring_width(&inner);
    let x0 = inner.x0.saturating_sub(r);
    let y0 = inner.y0.saturating_sub(r);
    let outer = PixelRect {
        x0,
        y0,
        width: inner.x1().saturating_add(r).min(size.0) - x0,
        height: inner.y1().saturating_add(r).min(size.1) - y0,
    };
    let win = read_window(src, outer)?;
    let mut ring = Vec::new();
    let mut inside = Vec::new();
    for (i, (&v, &ok)) in win.values.iter().zip(&win.valid).enumerate() {
        if !ok || !v.is_finite() {
            continue;
        }
        let (x, y) = (outer.x0 + i % outer.width, outer.y0 + i / outer.width);
        if inner.contains(x, y) {
            inside.push(f64::from(v));
        } else {
            ring.push(f64::from(v));
        }
    }
    if inside.is_empty() || ring.len() < MIN_RING_VALID {
        return Ok(None);
    }
    let background = median(&mut ring);
    let relative = inside.iter().map(|v| v - background);
    let peak = relative
        .clone()
        .fold(0.0f64, |p, v| if v.abs() > p.abs() { v } else { p });
    let sum: f64 = relative.sum();
    let n = inside.len() as f64;
    Ok(Some(Deformation {
        peak_los_m: peak,
        mean_los_m: sum / n,
        volume_m3: area.at(b).map(|a| sum * a),
        background_los_m: background,
        valid_fraction: n / (inner.width * inner.height) as f64,
    }))
}

fn read_window<S: LosWindows + ?Sized>(
    src: &mut S,
    rect: PixelRect,
) -> Result<LosWindow, DeformationError> {
    let win = src.window(rect).map_err(|cause| DeformationError::Source {
        x0: rect.x0,
        y0: rect.y0,
        width: rect.width,
        height: rect.height,
        cause,
    })?;
    let n = rect.width * rect.height;
    if win.values.len() != n || win.valid.len() != n {
        return Err(DeformationError::BadWindow {
            width: rect.width,
            height: rect.height,
            values: win.values.len(),
            flags: win.valid.len(),
        });
    }
    Ok(win)
}

/// The median of a non-empty slice (mean of the middle two for an even count).
fn median(v: &mut [f64]) -> f64 {
    let (n, mid) = (v.len(), v.len() / 2);
    let (lower, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if !n.is_multiple_of(2) {
        return m;
    }
    let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (below + m) / 2.0
}

/// A scene held in memory, for tests and small rasters.
#[derive(Debug, Clone, PartialEq)]
pub struct LosGrid {
    pub width: usize,
    pub height: usize,
    /// Metres, positive towards the satellite; NaN is no-data.
    pub values: Vec<f32>,
}

impl LosWindows for LosGrid {
    fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn window(&mut self, r: PixelRect) -> Result<LosWindow, Box<dyn Error + Send + Sync>> {
        if r.x1() > self.width || r.y1() > self.height {
            return Err(format!(
                "window {}..{} × {}..{} outside the {}×{} grid",
                r.x0,
                r.x1(),
                r.y0,
                r.y1(),
                self.width,
                self.height
            )
            .into());
        }
        let mut values = Vec::with_capacity(r.width * r.height);
        for y in r.y0..r.y1() {
            values.extend_from_slice(&self.values[y * self.width + r.x0..y * self.width + r.x1()]);
        }
        let valid = values.iter().map(|v| v.is_finite()).collect();
        Ok(LosWindow { values, valid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Detection;
    use raster::GeoTransform;
    use std::f64::consts::PI;

    const A_M: f64 = 0.05;
    const SIGMA_PX: f64 = 10.0;
    const PIXEL_M: f64 = 20.0;

    /// A Gaussian bowl of depth `A_M` (away from the satellite) centred on pixel (100, 80)
    /// of a 240 × 200 scene, on a plane tilted by 0.2 mm and −0.1 mm per pixel plus 7 mm.
    fn bowl_on_a_tilt() -> LosGrid {
        let (w, h) = (240, 200);
        let values = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                let (dx, dy) = (x - 100.5, y - 80.5);
                let bowl = -A_M * (-(dx * dx + dy * dy) / (2.0 * SIGMA_PX * SIGMA_PX)).exp();
                let tilt = 0.007 + 2e-4 * x - 1e-4 * y;
                (bowl + tilt) as f32
            })
            .collect();
        LosGrid {
            width: w,
            height: h,
            values,
        }
    }

    /// The box ±4σ around the bowl's centre.
    fn bowl_box() -> BBox {
        BBox::new(60.0, 40.0, 141.0, 121.0)
    }

    #[test]
    fn gaussian_bowl_on_a_tilt_gives_its_closed_form_figures() {
        let mut grid = bowl_on_a_tilt();
        let utm = GeoInfo::new(
            GeoTransform::north_up(5e5, 4e6, PIXEL_M, -PIXEL_M),
            Some(32650),
        );
        let d = measure(&mut grid, &bowl_box(), &PixelArea::of_scene(&utm))
            .expect("read")
            .expect("measured");
        // ∫∫ −A e^{−r²/2σ²} dA = −2π σ² A: σ = 200 m, A = 5 cm → −12,566.4 m³ (the box
        // holds all but 0.01 % of it, the ring sees at most e^{−8} of A).
        let want = -2.0 * PI * (SIGMA_PX * PIXEL_M).powi(2) * A_M;
        let got = d.volume_m3.expect("volume");
        assert!((got - want).abs() / want.abs() < 0.02, "{got} vs {want}");
        // The peak is the centre pixel's −A; the tilt is 0 there relative to the box centre.
        assert!((d.peak_los_m + A_M).abs() < 5e-4, "{}", d.peak_los_m);
        // Mean: volume over the box's 81 × 81 pixels of 400 m².
        let mean = want / (81.0 * 81.0 * PIXEL_M * PIXEL_M);
        assert!(
            (d.mean_los_m - mean).abs() < 0.02 * mean.abs(),
            "{} vs {mean}",
            d.mean_los_m
        );
        // Background: the tilt at the box centre (100.5, 80.5).
        let tilt = 0.007 + 2e-4 * 100.5 - 1e-4 * 80.5;
        assert!(
            (d.background_los_m - tilt).abs() < 1e-4,
            "{}",
            d.background_los_m
        );
        assert_eq!(d.valid_fraction, 1.0);
    }

    #[test]
    fn figures_go_into_the_stats_in_millimetres() {
        let mut grid = bowl_on_a_tilt();
        let mut basins = vec![
            Basin::from(Detection {
                bbox: bowl_box(),
                score: 0.9,
            }),
            // A box off the scene: no figures.
            Basin::from(Detection {
                bbox: BBox::new(500.0, 500.0, 520.0, 520.0),
                score: 0.5,
            }),
        ];
        let n = add_deformation(&mut grid, &mut basins, &PixelArea::SquareMetres(400.0))
            .expect("measure");
        assert_eq!(n, 1);
        let s = &basins[0].stats;
        let peak = s["peak_los_mm"].as_f64().expect("peak");
        assert!((peak + 50.0).abs() < 0.5, "{peak}");
        assert!(s["volume_m3"].as_f64().expect("volume") < -12_000.0);
        assert_eq!(s["los_valid_fraction"], 1.0);
        assert!(basins[1].stats.is_empty());
    }

    #[test]
    fn pixel_geometry_without_a_pixel_size_has_no_volume() {
        let mut grid = bowl_on_a_tilt();
        let d = measure(&mut grid, &bowl_box(), &PixelArea::Unknown)
            .expect("read")
            .expect("measured");
        assert_eq!(d.volume_m3, None);
        let mut stats = Map::new();
        d.insert_into(&mut stats);
        assert!(stats.contains_key("peak_los_mm") && !stats.contains_key("volume_m3"));
    }

    #[test]
    fn geographic_pixels_are_measured_at_the_box_latitude() {
        // 0.0002° pixels whose box centre lies at 60° N: 22.28 m × 11.16 m (WGS84).
        let geo = GeoInfo::new(
            GeoTransform::north_up(18.0, 60.0 + 80.5 * 0.0002, 0.0002, -0.0002),
            Some(4326),
        );
        let a = PixelArea::of_scene(&geo).at(&bowl_box()).expect("area");
        let want = (111_412.0 * 0.0002) * (55_800.0 * 0.0002);
        assert!((a - want).abs() / want < 1e-3, "{a} vs {want}");
    }

    #[test]
    fn background_needs_valid_pixels_around_the_box() {
        let mut grid = bowl_on_a_tilt();
        // No data anywhere outside the box: no background, no figures.
        let inner = box_pixels(&bowl_box(), (240, 200)).expect("pixels");
        for (i, v) in grid.values.iter_mut().enumerate() {
            if !inner.contains(i % 240, i / 240) {
                *v = f32::NAN;
            }
        }
        assert_eq!(
            measure(&mut grid, &bowl_box(), &PixelArea::Unknown).expect("read"),
            None
        );
    }

    #[test]
    fn no_data_in_the_box_is_left_out_and_reported() {
        let mut grid = bowl_on_a_tilt();
        let inner = box_pixels(&bowl_box(), (240, 200)).expect("pixels");
        // Blank the box's left 9 columns (far from the bowl: their values are near the
        // background, so the peak stays).
        for y in inner.y0..inner.y0 + inner.height {
            for x in inner.x0..inner.x0 + 9 {
                grid.values[y * 240 + x] = f32::NAN;
            }
        }
        let d = measure(&mut grid, &bowl_box(), &PixelArea::Unknown)
            .expect("read")
            .expect("measured");
        assert!((d.valid_fraction - 72.0 / 81.0).abs() < 1e-12);
        assert!((d.peak_los_m + A_M).abs() < 5e-4);
    }

    #[test]
    fn box_pixels_follow_the_centre_rule_and_the_ring_its_width() {
        let r = box_pixels(&BBox::new(10.3, 5.0, 19.6, 5.4), (100, 100));
        assert_eq!(r, None, "no pixel centre (5.5) inside rows 5.0..5.4");
        let r = box_pixels(&BBox::new(10.3, 5.0, 19.6, 5.6), (100, 100)).expect("pixels");
        assert_eq!((r.x0, r.width, r.y0, r.height), (10, 10, 5, 1));
        let r = box_pixels(&BBox::new(-5.0, 90.0, 8.0, 140.0), (100, 100)).expect("pixels");
        assert_eq!((r.x0, r.width, r.y0, r.height), (0, 8, 90, 10));
        let small = PixelRect {
            x0: 0,
            y0: 0,
            width: 12,
            height: 20,
        };
        assert_eq!(ring_width(&small), MIN_RING_PX);
        let big = PixelRect {
            width: 101,
            ..small
        };
        assert_eq!(ring_width(&big), 26);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [5.0]), 5.0);
    }

    #[test]
    fn a_short_window_is_an_error_not_a_panic() {
        struct Short;
        impl LosWindows for Short {
            fn size(&self) -> (usize, usize) {
                (50, 50)
            }
            fn window(&mut self, _: PixelRect) -> Result<LosWindow, Box<dyn Error + Send + Sync>> {
                Ok(LosWindow {
                    values: vec![0.0; 3],
                    valid: vec![true; 3],
                })
            }
        }
        let e = measure(
            &mut Short,
            &BBox::new(10.0, 10.0, 20.0, 20.0),
            &PixelArea::Unknown,
        )
        .expect_err("short window");
        assert!(e.to_string().contains("expected"), "{e}");
    }
}

//! A quicklook picture of a scene's detections: the scene's wrapped phase reduced to a
//! readable size, every detected box with its score, a scale bar and a legend, as one PNG.
//!
//! The phase comes as an [`Overview`] (the `input` crate streams a scene into one): the
//! argument of the mean unit phasor over square blocks of whole pixels, so fringes keep their
//! place and density instead of aliasing as subsampling would. The picture is the overview
//! at one picture pixel per overview pixel, with a legend panel on its right.
//!
//! Layers: the raster parts (phase in the cyclic colormap, no-data in grey, the colour bar)
//! are written into the pixel buffer directly; boxes and text are drawn over them with
//! plotters and the bundled font ([`crate::plot::ensure_font`]). The scale bar's ground
//! length is measured as every output measures sizes ([`crate::output::measure`]).

use std::path::{Path, PathBuf};

use insar::Colormap;
use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use raster::GeoInfo;

use crate::bbox::BBox;
use crate::output::{Basin, Frame, measure};
use crate::plot::{PlotError, ensure_font};

/// The font family the bundled font is registered under ([`ensure_font`]).
const FAMILY: &str = "sans-serif";
/// Width of the legend panel right of the picture.
pub const PANEL_WIDTH: usize = 250;
/// The picture is at least this tall, so the legend fits beside a small overview.
pub const MIN_HEIGHT: usize = 240;
/// The largest overview side a quicklook is drawn at (beyond it the picture is no quicklook).
pub const MAX_SIDE: usize = 16_384;
/// No-data pixels: a grey the cyclic colormap never takes (it is saturated throughout).
pub const NODATA_GREY: [u8; 3] = [160, 160, 160];
/// Box outline: white, with a black line outside it so it reads on any phase colour.
pub const BOX_COLOUR: [u8; 3] = [255, 255, 255];
pub const BOX_HALO: [u8; 3] = [0, 0, 0];
/// The colormap of the phase: perceptually uniform and cyclic, so ±π meet without a seam.
pub const PHASE_COLORMAP: Colormap = Colormap::Cyclic;

/// Length of the colour bar and the longest scale bar, in picture pixels.
const BAR_PX: usize = 200;
/// Left edge of the legend's contents, from the panel's left edge.
const PANEL_INSET: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum QuicklookError {
    #[error("{}: cannot draw the quicklook: {msg}", path.display())]
    Draw { path: PathBuf, msg: String },
    #[error("quicklook overview: {0}")]
    Overview(String),
    #[error(transparent)]
    Font(#[from] PlotError),
    #[error(transparent)]
    Write(#[from] raster::RasterError),
}

/// A scene reduced for display: each pixel is the argument of the mean unit phasor e^{iφ}
/// of one `factor` × `factor` block of scene pixels (the blocks of the last column and row
/// may be cut short by the scene's edge).
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub width: usize,
    pub height: usize,
    /// Scene pixels per overview pixel along each side.
    pub factor: usize,
    /// Row-major wrapped phase in (−π, π]; NaN where `valid` is false.
    pub phase: Vec<f32>,
    /// False where the block held no valid scene pixel.
    pub valid: Vec<bool>,
}

impl Overview {
    /// The smallest whole-pixel factor that brings a `width` × `height` scene's longest side
    /// to at most `max_side` (1 when it already fits), or `None` when `max_side` is 0.
    pub fn factor_for(width: usize, height: usize, max_side: usize) -> Option<usize> {
        if max_side == 0 {
            return None;
        }
        // ⌈L / f⌉ ≤ M ⇔ L / f ≤ M for whole M, and f = ⌈L / M⌉ is the smallest such f.
        Some(width.max(height).div_ceil(max_side).max(1))
    }

    /// Refuses an overview whose buffers do not match its size.
    fn check(&self) -> Result<(), QuicklookError> {
        let n = self.width.checked_mul(self.height).filter(|&n| n > 0);
        let bad = |what: String| Err(QuicklookError::Overview(what));
        match n {
            None => bad(format!(
                "{}×{} pixels, expected a non-empty grid",
                self.width, self.height
            )),
            Some(_) if self.width > MAX_SIDE || self.height > MAX_SIDE => bad(format!(
                "{}×{} pixels, expected sides of at most {MAX_SIDE}",
                self.width, self.height
            )),
            Some(n) if self.phase.len() != n || self.valid.len() != n => bad(format!(
                "{} phase values and {} flags for {}×{} pixels",
                self.phase.len(),
                self.valid.len(),
                self.width,
                self.height
            )),
            Some(_) if self.factor == 0 => bad("factor 0, expected at least 1".into()),
            Some(_) => Ok(()),
        }
    }
}

/// The size of the quicklook of `ov`: the overview and the legend panel beside it.
pub fn canvas_size(ov: &Overview) -> (usize, usize) {
    (ov.width + PANEL_WIDTH, ov.height.max(MIN_HEIGHT))
}

/// Renders the quicklook and writes it to `path` as PNG, whole or not at all.
pub fn write_quicklook(
    path: &Path,
    ov: &Overview,
    basins: &[Basin],
    geo: Option<&GeoInfo>,
) -> Result<(), QuicklookError> {
    let rgb = render_quicklook(ov, basins, geo).map_err(|e| match e {
        QuicklookError::Draw { msg, .. } => QuicklookError::Draw {
            path: path.to_path_buf(),
            msg,
        },
        other => other,
    })?;
    let (w, h) = canvas_size(ov);
    raster::write_png_rgb(path, w, h, &rgb)?;
    Ok(())
}

/// The quicklook as interleaved RGB of [`canvas_size`]: `basins` are in scene pixels, `geo`
/// (the scene's georeference, if any) sets the scale bar's unit.
pub fn render_quicklook(
    ov: &Overview,
    basins: &[Basin],
    geo: Option<&GeoInfo>,
) -> Result<Vec<u8>, QuicklookError> {
    ov.check()?;
    ensure_font()?;
    let (w, h) = canvas_size(ov);
    let mut buf = vec![255u8; w * h * 3];
    paint_phase(&mut buf, w, ov)?;
    paint_legend_swatches(&mut buf, w, ov.width);
    let size = (
        u32::try_from(w).map_err(|_| draw_err("canvas too wide"))?,
        u32::try_from(h).map_err(|_| draw_err("canvas too tall"))?,
    );
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buf, size)
            .map_err(|e| draw_err(&e.to_string()))?;
        let root = backend.into_drawing_area();
        // Every box first, then every label: no box is drawn through another's score.
        for b in basins {
            draw_box(&root, ov, b).map_err(|e| draw_err(&e))?;
        }
        for b in basins {
            draw_score(&root, ov, b).map_err(|e| draw_err(&e))?;
        }
        draw_panel(&root, ov, basins.len(), geo).map_err(|e| draw_err(&e))?;
        root.present().map_err(|e| draw_err(&e.to_string()))?;
    }
    Ok(buf)
}

fn draw_err(msg: &str) -> QuicklookError {
    QuicklookError::Draw {
        path: "<memory>".into(),
        msg: msg.to_string(),
    }
}

/// The overview in the colormap, no-data in grey, into the canvas's top-left corner.
fn paint_phase(buf: &mut [u8], canvas_w: usize, ov: &Overview) -> Result<(), QuicklookError> {
    let rgb = insar::try_render_phase(&ov.phase, ov.width, ov.height, PHASE_COLORMAP, 0.0, false)
        .map_err(|e| QuicklookError::Overview(e.to_string()))?;
    for (y, row) in rgb.chunks_exact(ov.width * 3).enumerate() {
        let out = &mut buf[y * canvas_w * 3..][..ov.width * 3];
        out.copy_from_slice(row);
        let valid = &ov.valid[y * ov.width..][..ov.width];
        let phase = &ov.phase[y * ov.width..][..ov.width];
        for ((px, &ok), &p) in out.chunks_exact_mut(3).zip(valid).zip(phase) {
            if !ok || !p.is_finite() {
                px.copy_from_slice(&NODATA_GREY);
            }
        }
    }
    Ok(())
}

/// Top edges (picture rows) of the legend's parts.
mod layout {
    pub const TITLE: i32 = 10;
    pub const LOOKS: i32 = 36;
    pub const PHASE_CAPTION: i32 = 62;
    pub const COLOUR_BAR: usize = 82;
    pub const COLOUR_BAR_H: usize = 16;
    pub const PHASE_TICKS: i32 = 102;
    pub const BOX_SAMPLE: usize = 130;
    pub const NODATA_SAMPLE: usize = 158;
    pub const SWATCH_W: usize = 28;
    pub const SWATCH_H: usize = 16;
    pub const SCALE_BAR: i32 = 200;
}

/// The colour bar (−π … π left to right) and the swatches behind the box and no-data keys.
fn paint_legend_swatches(buf: &mut [u8], canvas_w: usize, ov_w: usize) {
    let x0 = ov_w + PANEL_INSET;
    let mut fill = |x: usize, y: usize, c: [u8; 3]| {
        let o = (y * canvas_w + x) * 3;
        buf[o..o + 3].copy_from_slice(&c);
    };
    for i in 0..BAR_PX {
        // Pixel i shows the phase at its centre, so both ends are half a pixel inside ±π.
        let c = PHASE_COLORMAP.color((i as f32 + 0.5) / BAR_PX as f32);
        for y in layout::COLOUR_BAR..layout::COLOUR_BAR + layout::COLOUR_BAR_H {
            fill(x0 + i, y, c);
        }
    }
    let behind_box = PHASE_COLORMAP.color(0.25);
    for y in 0..layout::SWATCH_H {
        for x in 0..layout::SWATCH_W {
            fill(x0 + x, layout::BOX_SAMPLE + y, behind_box);
            fill(x0 + x, layout::NODATA_SAMPLE + y, NODATA_GREY);
        }
    }
}

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// A 1-px rectangle outline through the pixels (x1, y1) … (x2, y2), both corners included.
fn outline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x1, y1): (i32, i32),
    (x2, y2): (i32, i32),
    colour: [u8; 3],
) -> Result<(), String> {
    root.draw(&Rectangle::new(
        [(x1, y1), (x2, y2)],
        rgb(colour).stroke_width(1),
    ))
    .map_err(|e| e.to_string())
}

/// The box style: two white lines inside the box's edge pixels, one black line outside.
fn styled_box<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x1, y1): (i32, i32),
    (x2, y2): (i32, i32),
) -> Result<(), String> {
    outline(root, (x1 - 1, y1 - 1), (x2 + 1, y2 + 1), BOX_HALO)?;
    outline(root, (x1, y1), (x2, y2), BOX_COLOUR)?;
    if x2 - x1 >= 2 && y2 - y1 >= 2 {
        outline(root, (x1 + 1, y1 + 1), (x2 - 1, y2 - 1), BOX_COLOUR)?;
    }
    Ok(())
}

/// The overview pixels a scene box covers, inclusive, clipped to the overview; `None` for a
/// box wholly outside it or not finite.
pub fn overview_box(ov: &Overview, b: &BBox) -> Option<((i32, i32), (i32, i32))> {
    let f = ov.factor as f64;
    let coords = [b.x1 / f, b.y1 / f, b.x2 / f, b.y2 / f];
    if coords.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (w, h) = (ov.width as f64, ov.height as f64);
    // Overview pixel c covers [c, c + 1): an edge at x2 ends in pixel ⌈x2⌉ − 1.
    let x1 = coords[0].clamp(0.0, w).floor();
    let y1 = coords[1].clamp(0.0, h).floor();
    let x2 = coords[2].clamp(0.0, w).ceil() - 1.0;
    let y2 = coords[3].clamp(0.0, h).ceil() - 1.0;
    if x2 < x1 || y2 < y1 {
        return None;
    }
    Some(((x1 as i32, y1 as i32), (x2 as i32, y2 as i32)))
}

/// A basin's box.
fn draw_box<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ov: &Overview,
    basin: &Basin,
) -> Result<(), String> {
    match overview_box(ov, &basin.det.bbox) {
        Some((p1, p2)) => styled_box(root, p1, p2),
        None => Ok(()),
    }
}

/// A basin's score on a dark label above its box (below it, or inside it, near the edge).
fn draw_score<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ov: &Overview,
    basin: &Basin,
) -> Result<(), String> {
    let Some((p1, p2)) = overview_box(ov, &basin.det.bbox) else {
        return Ok(());
    };
    let text = format!("{:.2}", basin.det.score);
    let font = (FAMILY, 13).into_font().color(&WHITE);
    let (tw, th) = root
        .estimate_text_size(&text, &font)
        .map_err(|e| e.to_string())?;
    let (tw, th) = (tw as i32 + 4, th as i32 + 2);
    // Above the box's top-left corner, else below its bottom-left one, else inside it.
    let (x, y) = if p1.1 - th - 2 >= 0 {
        (p1.0, p1.1 - th - 2)
    } else if p2.1 + 2 + th <= ov.height as i32 {
        (p1.0, p2.1 + 2)
    } else {
        (p1.0 + 2, p1.1 + 2)
    };
    // Keep the label on the picture, not over the legend.
    let x = x.min(ov.width as i32 - tw).max(0);
    root.draw(&Rectangle::new(
        [(x, y), (x + tw - 1, y + th - 1)],
        BLACK.mix(0.7).filled(),
    ))
    .map_err(|e| e.to_string())?;
    root.draw_text(&text, &font, (x + 2, y + 1))
        .map_err(|e| e.to_string())
}

/// The legend: count, looks, colour bar with its ticks, the box and no-data keys, the scale.
fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ov: &Overview,
    n: usize,
    geo: Option<&GeoInfo>,
) -> Result<(), String> {
    let x0 = (ov.width + PANEL_INSET) as i32;
    let text = |s: &str, size: u32, (x, y): (i32, i32), h: HPos| {
        let style = (FAMILY, size)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(h, VPos::Top));
        root.draw_text(s, &style, (x, y)).map_err(|e| e.to_string())
    };
    let title = match n {
        1 => "1 basin".to_string(),
        n => format!("{n} basins"),
    };
    text(&title, 18, (x0, layout::TITLE), HPos::Left)?;
    let looks = match ov.factor {
        1 => "full resolution".to_string(),
        f => format!("{f}×{f} looks per pixel"),
    };
    text(&looks, 12, (x0, layout::LOOKS), HPos::Left)?;
    text(
        "wrapped phase (rad)",
        13,
        (x0, layout::PHASE_CAPTION),
        HPos::Left,
    )?;
    let bar = BAR_PX as i32;
    text("−π", 12, (x0, layout::PHASE_TICKS), HPos::Left)?;
    text("0", 12, (x0 + bar / 2, layout::PHASE_TICKS), HPos::Center)?;
    text("π", 12, (x0 + bar, layout::PHASE_TICKS), HPos::Right)?;

    let (sw, sh) = (layout::SWATCH_W as i32, layout::SWATCH_H as i32);
    let sample = layout::BOX_SAMPLE as i32;
    styled_box(root, (x0 + 4, sample + 3), (x0 + sw - 5, sample + sh - 4))?;
    let key_x = x0 + sw + 8;
    text(
        "box: detected basin, score",
        12,
        (key_x, sample + 1),
        HPos::Left,
    )?;
    text(
        "no data",
        12,
        (key_x, layout::NODATA_SAMPLE as i32 + 1),
        HPos::Left,
    )?;

    let scale = ScaleBar::for_overview(ov, geo);
    let y = layout::SCALE_BAR;
    let end = x0 + scale.length_px as i32;
    for dy in 0..2 {
        root.draw(&PathElement::new(
            vec![(x0, y + dy), (end, y + dy)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
    }
    for x in [x0, end] {
        root.draw(&PathElement::new(
            vec![(x, y - 5), (x, y + 6)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
    }
    text(&scale.label, 12, (x0, y + 9), HPos::Left)
}

/// A scale bar of a round length.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleBar {
    /// Its length on the picture (overview pixels).
    pub length_px: f64,
    /// "2 km", "500 m", or in scene pixels where the scene has no georeference.
    pub label: String,
}

impl ScaleBar {
    /// The bar for `ov`, drawn from a scene georeferenced by `geo`: in ground metres where
    /// its CRS is known (measured on the ellipsoid along the overview's middle row, so
    /// degrees count at the scene's centre latitude), else in scene pixels.
    pub fn for_overview(ov: &Overview, geo: Option<&GeoInfo>) -> Self {
        let f = ov.factor.max(1) as f64;
        let (scene_w, centre_row) = (ov.width as f64 * f, ov.height as f64 * f / 2.0);
        let row = BBox::new(0.0, centre_row - 0.5, scene_w, centre_row + 0.5);
        let ground = geo.and_then(|g| measure(&row, &Frame::new(Some(g))).ok().flatten());
        match ground.map(|m| m.width_m / scene_w * f) {
            Some(m_per_px) if m_per_px.is_finite() && m_per_px > 0.0 => {
                let metres = round_down_125(BAR_PX as f64 * m_per_px);
                Self {
                    length_px: metres / m_per_px,
                    label: metres_label(metres),
                }
            }
            _ => {
                let pixels = round_down_125(BAR_PX as f64 * f);
                Self {
                    length_px: pixels / f,
                    label: format!("{pixels} px"),
                }
            }
        }
    }
}

/// The largest 1, 2 or 5 × 10ᵏ not above `x` (`x` > 0).
fn round_down_125(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&v| v <= x * (1.0 + 1e-12))
        .unwrap_or(p)
}

fn metres_label(m: f64) -> String {
    if m >= 1000.0 {
        format!("{} km", m / 1000.0)
    } else {
        format!("{m} m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BBox, Detection};
    use raster::GeoTransform;

    /// A 64 × 48 overview of a ramp, one no-data corner block.
    fn ramp(factor: usize) -> Overview {
        let (w, h) = (64, 48);
        let mut phase: Vec<f32> = (0..w * h)
            .map(|i| insar::wrap((i % w) as f32 * 0.2 - 3.0))
            .collect();
        let mut valid = vec![true; w * h];
        for y in 0..4 {
            for x in 0..4 {
                valid[y * w + x] = false;
                phase[y * w + x] = f32::NAN;
            }
        }
        Overview {
            width: w,
            height: h,
            factor,
            phase,
            valid,
        }
    }

    fn basin(x1: f64, y1: f64, x2: f64, y2: f64, score: f64) -> Basin {
        Basin::from(Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
        })
    }

    fn px(buf: &[u8], w: usize, x: usize, y: usize) -> [u8; 3] {
        let o = (y * w + x) * 3;
        [buf[o], buf[o + 1], buf[o + 2]]
    }

    #[test]
    fn factor_brings_the_longest_side_within_the_limit() {
        assert_eq!(Overview::factor_for(100, 50, 2048), Some(1));
        assert_eq!(Overview::factor_for(4096, 100, 2048), Some(2));
        // 4097 / 2 would be 2049 pixels wide: one more look.
        assert_eq!(Overview::factor_for(100, 4097, 2048), Some(3));
        assert_eq!(Overview::factor_for(30_000, 20_000, 2048), Some(15));
        assert_eq!(Overview::factor_for(10, 10, 0), None);
    }

    #[test]
    fn boxes_phase_and_no_data_land_where_they_belong() {
        let ov = ramp(4);
        // Scene box 80..160 × 100..180 at 4 looks: overview pixels 20..=39 × 25..=44.
        let basins = [basin(80.0, 100.0, 160.0, 180.0, 0.87)];
        let buf = render_quicklook(&ov, &basins, None).expect("render");
        let (w, h) = canvas_size(&ov);
        assert_eq!((w, h), (64 + PANEL_WIDTH, MIN_HEIGHT));
        assert_eq!(buf.len(), w * h * 3);
        // The box's edge pixels, two wide, in white; the line outside it black.
        for (x, y) in [(20, 30), (21, 30), (39, 35), (38, 35), (30, 44), (30, 43)] {
            assert_eq!(px(&buf, w, x, y), BOX_COLOUR, "edge at ({x}, {y})");
        }
        for (x, y) in [(19, 30), (40, 35), (30, 45)] {
            assert_eq!(px(&buf, w, x, y), BOX_HALO, "halo at ({x}, {y})");
        }
        // Inside and far from the box: the phase's colour, as insar renders it.
        for (x, y) in [(30, 35), (60, 45), (5, 40)] {
            let want = insar::render_phase(
                &ov.phase[y * 64 + x..][..1],
                1,
                1,
                PHASE_COLORMAP,
                0.0,
                false,
            );
            assert_eq!(px(&buf, w, x, y).to_vec(), want, "phase at ({x}, {y})");
        }
        assert_eq!(px(&buf, w, 2, 2), NODATA_GREY);
        // Below the overview (48 rows) and in the panel: white background with black text.
        assert_eq!(px(&buf, w, 10, 100), [255, 255, 255]);
        let panel_dark = (0..h)
            .flat_map(|y| (64..w).map(move |x| (x, y)))
            .filter(|&(x, y)| px(&buf, w, x, y) == [0, 0, 0])
            .count();
        assert!(
            panel_dark > 200,
            "legend text and scale bar: {panel_dark} black pixels"
        );
    }

    #[test]
    fn the_score_is_written_on_a_dark_label() {
        let ov = ramp(1);
        let with =
            render_quicklook(&ov, &[basin(20.0, 20.0, 50.0, 40.0, 0.5)], None).expect("render");
        let (w, _) = canvas_size(&ov);
        // The label sits above the box (rows 20 − label height … 18): dark, with white text.
        let label: Vec<[u8; 3]> = (2..18)
            .flat_map(|y| (20..40).map(move |x| (x, y)))
            .map(|(x, y)| px(&with, w, x, y))
            .collect();
        let dark = label.iter().filter(|c| c.iter().all(|&v| v < 90)).count();
        let light = label.iter().filter(|c| c.iter().all(|&v| v > 200)).count();
        assert!(dark > 50 && light > 5, "dark {dark}, light {light}");
    }

    #[test]
    fn boxes_off_the_overview_are_clipped_or_skipped() {
        let ov = ramp(2);
        let b = BBox::new(-10.0, 90.0, 1000.0, 1000.0);
        assert_eq!(overview_box(&ov, &b), Some(((0, 45), (63, 47))));
        assert_eq!(overview_box(&ov, &BBox::new(200.0, 0.0, 300.0, 10.0)), None);
        assert_eq!(overview_box(&ov, &BBox::new(f64::NAN, 0.0, 3.0, 3.0)), None);
        // Edges inside a pixel: the pixels they touch.
        assert_eq!(
            overview_box(&ov, &BBox::new(3.0, 3.0, 4.5, 8.0)),
            Some(((1, 1), (2, 3)))
        );
        render_quicklook(&ov, &[basin(-10.0, 90.0, 1000.0, 1000.0, 0.3)], None).expect("render");
    }

    /// An overview of `w` × `h` pixels at `factor` looks, all phase 0.
    fn blank(w: usize, h: usize, factor: usize) -> Overview {
        Overview {
            width: w,
            height: h,
            factor,
            phase: vec![0.0; w * h],
            valid: vec![true; w * h],
        }
    }

    #[test]
    fn scale_bar_in_metres_kilometres_or_pixels() {
        // 20 m UTM pixels at the zone's central meridian (scale 0.9996: 20.008 m of ground),
        // 4 looks: 80.03 m per picture pixel, 16 km in 200 px → a 10 km bar of 124.95 px.
        let utm = GeoInfo::new(
            GeoTransform::north_up(499_000.0, 4e6, 20.0, -20.0),
            Some(32650),
        );
        let s = ScaleBar::for_overview(&blank(25, 25, 4), Some(&utm));
        assert_eq!(s.label, "10 km");
        assert!(
            (s.length_px - 125.0 * 0.9996).abs() < 0.01,
            "{}",
            s.length_px
        );
        // 3 m pixels at full resolution: at most 600 m → 500 m.
        let fine = GeoInfo::new(GeoTransform::north_up(5e5, 4e6, 3.0, -3.0), Some(32650));
        assert_eq!(
            ScaleBar::for_overview(&blank(50, 50, 1), Some(&fine)).label,
            "500 m"
        );
        // No georeference, or a CRS not known to count in metres: scene pixels (200 px × 4
        // looks → 500 px).
        let unknown = GeoInfo::new(GeoTransform::north_up(5e5, 4e6, 3.0, -3.0), None);
        for geo in [None, Some(&unknown)] {
            let s = ScaleBar::for_overview(&blank(50, 50, 4), geo);
            assert_eq!(s.label, "500 px");
            assert!((s.length_px - 125.0).abs() < 1e-9);
        }
    }

    /// Metres per degree of longitude at `lat_deg` on WGS84: N cos φ · π/180.
    fn east_metres_per_degree(lat_deg: f64) -> f64 {
        let (a, e2) = (6_378_137.0, 6.694_379_990_141_316e-3);
        let phi = lat_deg.to_radians();
        a / (1.0 - e2 * phi.sin().powi(2)).sqrt() * phi.cos() * 1f64.to_radians()
    }

    #[test]
    fn geographic_scale_uses_the_centre_latitude() {
        // A 2000-pixel scene of 0.001° pixels at 2 looks whose top row lies at `lat`: its
        // centre row is 1° further south.
        let at = |lat: f64| {
            let g = GeoInfo::new(GeoTransform::north_up(18.0, lat, 0.001, -0.001), Some(4326));
            ScaleBar::for_overview(&blank(1000, 1000, 2), Some(&g))
        };
        // 59° N: 57.5 m per scene pixel, 115 m per picture pixel, 23 km in 200 px → 20 km.
        let s = at(60.0);
        assert_eq!(s.label, "20 km");
        let want = 20_000.0 / (2.0 * 0.001 * east_metres_per_degree(59.0));
        assert!(
            (s.length_px - want).abs() < 0.01,
            "{} vs {want}",
            s.length_px
        );
        // At the equator (111.3 m per scene pixel) 44.5 km fit: 20 km on a shorter bar.
        let s0 = at(1.0);
        assert_eq!(s0.label, "20 km");
        let want = 20_000.0 / (2.0 * 0.001 * east_metres_per_degree(0.0));
        assert!(
            (s0.length_px - want).abs() < 0.01,
            "{} vs {want}",
            s0.length_px
        );
    }

    #[test]
    fn writes_a_png_of_the_canvas_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("q.basins.png");
        let mut ov = ramp(1);
        ov.height = 300;
        ov.phase = (0..64 * 300).map(|i| (i % 7) as f32 * 0.5 - 1.5).collect();
        ov.valid = vec![true; 64 * 300];
        write_quicklook(&path, &ov, &[basin(10.0, 10.0, 30.0, 30.0, 0.9)], None).expect("write");
        let back = raster::read_picture(&path).expect("read back");
        assert_eq!((back.width, back.height), (64 + PANEL_WIDTH, 300));
        let raster::Pixels::U8(px) = &back.pixels else {
            panic!("8-bit picture expected");
        };
        let o = (10 * back.width + 10) * 3;
        assert_eq!(px[o..o + 3], BOX_COLOUR);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "q.basins.png")
            .collect();
        assert!(leftovers.is_empty(), "no temporary left");
    }

    #[test]
    fn inconsistent_overviews_are_refused() {
        let mut ov = ramp(1);
        ov.valid.pop();
        let e = render_quicklook(&ov, &[], None).expect_err("short mask");
        assert!(e.to_string().contains("flags"), "{e}");
        let mut ov = ramp(1);
        ov.factor = 0;
        assert!(render_quicklook(&ov, &[], None).is_err());
    }
}

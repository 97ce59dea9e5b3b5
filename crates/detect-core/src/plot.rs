//! Precision–recall curves as a PNG, one line per IoU threshold.
//!
//! Text is drawn with DejaVu Sans compiled into the binary (assets/, Bitstream Vera
//! licence beside it), so plotting needs no system fonts.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::eval::PrCurve;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{}: cannot draw the P-R plot: {msg}", path.display())]
    Draw {
        path: std::path::PathBuf,
        msg: String,
    },
    #[error("the bundled font could not be loaded")]
    Font,
}

/// Registers the bundled font with plotters (once per process); any plot in the workspace
/// calls this before drawing text.
pub fn ensure_font() -> Result<(), PlotError> {
    // plotters keeps one font registry per process: register once, remember the outcome.
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// Writes the curves to `path` (PNG, `size` pixels).
pub fn write_pr_png(
    path: &Path,
    curves: &[PrCurve],
    title: &str,
    size: (u32, u32),
) -> Result<(), PlotError> {
    ensure_font()?;
    let err = |e: String| PlotError::Draw {
        path: path.to_path_buf(),
        msg: e,
    };
    let root = BitMapBackend::new(path, size).into_drawing_area();
    draw(&root, curves, title).map_err(err)?;
    root.present().map_err(|e| err(e.to_string()))
}

/// Draws the curves into an RGB buffer of `size` pixels (what the PNG holds).
pub fn render_pr_rgb(
    curves: &[PrCurve],
    title: &str,
    size: (u32, u32),
) -> Result<Vec<u8>, PlotError> {
    ensure_font()?;
    let mut buf = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        draw(&root, curves, title).map_err(|msg| PlotError::Draw {
            path: "<memory>".into(),
            msg,
        })?;
        root.present().map_err(|e| PlotError::Draw {
            path: "<memory>".into(),
            msg: e.to_string(),
        })?;
    }
    Ok(buf)
}

/// The colour of curve `i` of `n`: blue (loose IoU) to red (strict).
pub fn curve_colour(i: usize, n: usize) -> RGBColor {
    let f = if n > 1 {
        i as f64 / (n - 1) as f64
    } else {
        0.0
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(lerp(30.0, 220.0), lerp(90.0, 40.0), lerp(220.0, 40.0))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[PrCurve],
    title: &str,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(54)
        .build_cartesian_2d(0.0f64..1.0, 0.0f64..1.02)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .label_style((FAMILY, 14))
        .draw()
        .map_err(|e| e.to_string())?;
    let n = curves.len();
    for (i, c) in curves.iter().enumerate() {
        let points: Vec<(f64, f64)> = c
            .recall
            .iter()
            .zip(&c.precision)
            .filter(|(_, p)| **p > -1.0)
            .map(|(&r, &p)| (r, p))
            .collect();
        if points.is_empty() {
            continue;
        }
        let colour = curve_colour(i, n);
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!("IoU {:.2}", c.iou))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves() -> Vec<PrCurve> {
        let recall: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        [0.5, 0.75, 0.95]
            .iter()
            .enumerate()
            .map(|(k, &iou)| PrCurve {
                iou,
                precision: recall
                    .iter()
                    .map(|r| (1.0 - r * (0.3 + 0.3 * k as f64)).max(0.0))
                    .collect(),
                recall: recall.clone(),
            })
            .collect()
    }

    #[test]
    fn draws_every_curve_and_text() {
        let (w, h) = (640u32, 480u32);
        let buf = render_pr_rgb(&curves(), "P-R test", (w, h)).unwrap();
        let has = |c: RGBColor| buf.chunks(3).any(|p| p == [c.0, c.1, c.2]);
        for i in 0..3 {
            assert!(has(curve_colour(i, 3)), "curve {i} missing");
        }
        // Text is drawn in black with anti-aliasing: grey levels appear only if glyphs do.
        let greys = buf
            .chunks(3)
            .filter(|p| p[0] == p[1] && p[1] == p[2] && p[0] > 30 && p[0] < 220)
            .count();
        assert!(greys > 50, "no anti-aliased text pixels ({greys})");
    }

    #[test]
    fn writes_a_png_of_the_requested_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pr.png");
        write_pr_png(&path, &curves(), "P-R", (500, 400)).unwrap();
        let size = imagesize::size(&path).unwrap();
        assert_eq!((size.width, size.height), (500, 400));
    }
}

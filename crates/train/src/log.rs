//! The run's CSV log (one row per step, validation columns on evaluated steps) and the
//! loss / mAP curve drawn from it at the end.

use std::io::Write;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

/// Text uses detect-core's bundled DejaVu Sans, registered once per process there.
fn ensure_font() -> Result<(), String> {
    detect_core::plot::ensure_font().map_err(|e| e.to_string())
}

/// One row of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    pub step: u64,
    pub lr: f64,
    pub loss: f32,
    pub obj: f32,
    pub boxes: f32,
    pub positives: usize,
    pub images_per_s: f64,
    /// (mAP, AP50) on evaluated steps.
    pub val: Option<(f64, f64)>,
}

const HEADER: &str = "step,lr,loss,obj,box,positives,images_per_s,map,ap50";

impl LogRow {
    fn to_csv(&self) -> String {
        let (map, ap50) = self.val.map_or((String::new(), String::new()), |(m, a)| {
            (format!("{m:.5}"), format!("{a:.5}"))
        });
        format!(
            "{},{:.6e},{:.6},{:.6},{:.6},{},{:.3},{map},{ap50}",
            self.step, self.lr, self.loss, self.obj, self.boxes, self.positives, self.images_per_s
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 9 {
            return None;
        }
        let val = match (f[7].parse::<f64>(), f[8].parse::<f64>()) {
            (Ok(m), Ok(a)) => Some((m, a)),
            _ => None,
        };
        Some(Self {
            step: f[0].parse().ok()?,
            lr: f[1].parse().ok()?,
            loss: f[2].parse().ok()?,
            obj: f[3].parse().ok()?,
            boxes: f[4].parse().ok()?,
            positives: f[5].parse().ok()?,
            images_per_s: f[6].parse().ok()?,
            val,
        })
    }
}

/// Appends rows to `log.csv`, flushing each so a killed run keeps its log.
pub struct CsvLog {
    path: PathBuf,
    file: std::fs::File,
}

impl CsvLog {
    /// Opens the log; on resume keeps only the rows up to `keep_until` (steps after the
    /// checkpoint will be run again).
    pub fn open(path: &Path, keep_until: Option<u64>) -> std::io::Result<Self> {
        let kept: Vec<String> = match keep_until {
            Some(step) if path.is_file() => std::fs::read_to_string(path)?
                .lines()
                .skip(1)
                .filter(|l| LogRow::parse(l).is_some_and(|r| r.step <= step))
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        // The kept rows are rewritten whole before they replace the log: killed half way,
        // the old log stays.
        let mut text = format!("{HEADER}\n");
        for l in kept {
            text.push_str(&l);
            text.push('\n');
        }
        raster::atomic::write(path, text)?;
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn append(&mut self, row: &LogRow) -> std::io::Result<()> {
        writeln!(self.file, "{}", row.to_csv())?;
        self.file.flush()
    }

    /// Every row written so far.
    pub fn rows(&self) -> std::io::Result<Vec<LogRow>> {
        Ok(std::fs::read_to_string(&self.path)?
            .lines()
            .skip(1)
            .filter_map(LogRow::parse)
            .collect())
    }
}

/// Draws the loss (smoothed, on a linear axis so that a short run's narrow range still gets
/// tick labels) and the validation mAP / AP50 against the step.
pub fn plot_curves(path: &Path, rows: &[LogRow]) -> Result<(), String> {
    if rows.is_empty() {
        return Err("no steps logged".into());
    }
    ensure_font()?;
    let root = BitMapBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (top, bottom) = root.split_vertically(380);
    let last = rows.last().map_or(1, |r| r.step).max(1);
    let smooth = smoothed(rows);
    let (lo, hi) = smooth
        .iter()
        .filter(|v| v.1 > 0.0 && v.1.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v.1), b.max(v.1))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.9, hi * 1.1)
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(&top)
        .caption("training loss (EMA-smoothed)", ("sans-serif", 22))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0u64..last, lo..hi)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            smooth.iter().filter(|v| v.1 > 0.0).copied(),
            &BLUE,
        ))
        .map_err(|e| e.to_string())?;

    let val: Vec<(u64, f64, f64)> = rows
        .iter()
        .filter_map(|r| r.val.map(|(m, a)| (r.step, m, a)))
        .collect();
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "validation mAP@[.5:.95] (blue) and AP50 (red)",
            ("sans-serif", 22),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0u64..last, 0f64..1f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("AP")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(val.iter().map(|v| (v.0, v.1)), &BLUE))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(val.iter().map(|v| (v.0, v.2)), &RED))
        .map_err(|e| e.to_string())?;
    // Markers too: a run evaluated once has no line to draw.
    chart
        .draw_series(
            val.iter()
                .map(|v| Circle::new((v.0, v.1), 4, BLUE.filled())),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(val.iter().map(|v| Circle::new((v.0, v.2), 4, RED.filled())))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Exponential smoothing of the loss (factor 0.9), for a readable curve.
fn smoothed(rows: &[LogRow]) -> Vec<(u64, f64)> {
    let mut acc: Option<f64> = None;
    rows.iter()
        .filter(|r| r.loss.is_finite())
        .map(|r| {
            let v = acc.map_or(r.loss as f64, |a| 0.9 * a + 0.1 * r.loss as f64);
            acc = Some(v);
            (r.step, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, val: Option<(f64, f64)>) -> LogRow {
        LogRow {
            step,
            lr: 1e-3,
            loss: 2.0 / step as f32,
            obj: 1.0,
            boxes: 0.5,
            positives: 7,
            images_per_s: 3.5,
            val,
        }
    }

    #[test]
    fn csv_round_trip_and_resume_truncation() {
        let dir = std::env::temp_dir().join(format!("train-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("log.csv");
        let mut log = CsvLog::open(&path, None).expect("open");
        for s in 1..=4 {
            log.append(&row(s, (s == 2).then_some((0.25, 0.5))))
                .expect("append");
        }
        let rows = log.rows().expect("rows");
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1].val, Some((0.25, 0.5)));
        assert_eq!(rows[3].positives, 7);
        let log = CsvLog::open(&path, Some(2)).expect("reopen");
        assert_eq!(log.rows().expect("rows").len(), 2);
        plot_curves(&dir.join("curves.png"), &rows).expect("plot");
        assert!(
            std::fs::metadata(dir.join("curves.png"))
                .expect("png")
                .len()
                > 1000
        );
    }
}

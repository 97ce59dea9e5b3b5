//! A whole scene reduced to an overview of wrapped phase for the quicklook picture, read in
//! strips so memory stays one strip and the overview whatever the scene's size.
//!
//! Each overview pixel is a whole-pixel complex multilook: the argument of the mean unit
//! phasor e^{iφ} of the valid pixels of a `factor` × `factor` block. Averaging phasors keeps
//! fringes where they are (subsampling would alias dense fringes into false ones, and
//! averaging phase values would smear every ±π jump); where fringes are denser than the
//! block the phasors cancel and the overview shows noise, as it should.
//!
//! Any [`SceneSource`] works: it yields wrapped phase (NaN on no-data) as band 1 for every
//! kind of scene (wrapped, unwrapped, LOS, complex; a picture read back through its
//! colormap) when opened for a phase model, which is how an overview must open it.

use std::path::Path;

use detect_core::quicklook::{MAX_SIDE, Overview};
use detect_core::tiling::{RowSource, Strip};
use model::InputKind;

use crate::InputError;
use crate::scene::SceneSource;

/// Scene pixels read per strip, at least (a strip is whole blocks of rows).
const STRIP_PIXELS: usize = 1 << 22;

/// The overview of `src` (the scene at `path`) whose longest side is at most `max_side`.
/// Refuses a source opened for a picture model (its rows are colours, not phase).
pub fn scene_overview(
    src: &mut SceneSource,
    max_side: usize,
    path: &Path,
) -> Result<Overview, InputError> {
    if src.input_kind() != InputKind::Phase {
        return Err(InputError::invalid(
            path,
            "an overview needs the scene as phase: open it for a phase model",
        ));
    }
    overview(src, max_side, path)
}

/// The overview of band 1 of `src` (wrapped phase in radians; a pixel counts where its flag
/// is set and its value finite), longest side at most `max_side`; `path` names the scene
/// in errors.
pub fn overview<S: RowSource + ?Sized>(
    src: &mut S,
    max_side: usize,
    path: &Path,
) -> Result<Overview, InputError> {
    let (w, h) = (src.width(), src.height());
    let mut builder =
        OverviewBuilder::new(w, h, max_side).map_err(|e| InputError::invalid(path, e))?;
    let blocks_per_strip = (STRIP_PIXELS / w.saturating_mul(builder.factor)).max(1);
    let strip_rows = builder.factor.saturating_mul(blocks_per_strip);
    let mut y0 = 0;
    while y0 < h {
        let n = strip_rows.min(h - y0);
        let strip = src.read_rows(y0, n).map_err(|e| {
            InputError::invalid(path, format!("reading rows {y0}..{}: {e}", y0 + n))
        })?;
        let plane = w * n;
        if strip.data.len() < plane || strip.valid.len() != plane {
            return Err(InputError::invalid(
                path,
                format!(
                    "rows {y0}..{} came back with {} values and {} flags, expected at least {plane} and {plane}",
                    y0 + n,
                    strip.data.len(),
                    strip.valid.len()
                ),
            ));
        }
        builder.feed(y0, &strip.data[..plane], &strip.valid);
        y0 += n;
    }
    builder
        .finish()
        .ok_or_else(|| InputError::invalid(path, "the overview missed rows"))
}

/// An overview built from rows fed top to bottom, as [`overview`] reads them or as a scan
/// that reads the scene anyway passes them by ([`OverviewTap`]).
#[derive(Debug)]
pub struct OverviewBuilder {
    width: usize,
    height: usize,
    factor: usize,
    acc: BlockRow,
    phase: Vec<f32>,
    valid: Vec<bool>,
    /// The first row not yet fed.
    next_row: usize,
    /// Rows were skipped: the overview cannot be completed.
    gap: bool,
}

impl OverviewBuilder {
    /// For a `width` × `height` scene, longest side of the overview at most `max_side`; the
    /// error says what is wrong with the sizes.
    pub fn new(width: usize, height: usize, max_side: usize) -> Result<Self, String> {
        if width == 0 || height == 0 {
            return Err(format!("the scene is {width}×{height}"));
        }
        let factor = Overview::factor_for(width, height, max_side)
            .filter(|_| max_side <= MAX_SIDE)
            .ok_or_else(|| format!("overview side {max_side}: expected 1 to {MAX_SIDE} pixels"))?;
        let (ow, oh) = (width.div_ceil(factor), height.div_ceil(factor));
        Ok(Self {
            width,
            height,
            factor,
            acc: BlockRow::new(ow, factor),
            phase: Vec::with_capacity(ow * oh),
            valid: Vec::with_capacity(ow * oh),
            next_row: 0,
            gap: false,
        })
    }

    /// Rows `y0 ..` of band 1: `phase` and `valid` row-major, whole rows of the scene's
    /// width. Rows already fed (overlapping reads) are skipped; rows past a gap are not used,
    /// and [`finish`](Self::finish) then gives nothing.
    pub fn feed(&mut self, y0: usize, phase: &[f32], valid: &[bool]) {
        let w = self.width;
        let whole_rows = phase.len() == valid.len() && phase.len().is_multiple_of(w);
        if y0 > self.next_row || !whole_rows {
            self.gap = true;
        }
        if self.gap {
            return;
        }
        let n = phase.len() / w;
        for y in self.next_row.max(y0)..(y0 + n).min(self.height) {
            let row = (y - y0) * w..(y - y0 + 1) * w;
            self.acc.add_row(&phase[row.clone()], &valid[row]);
            // A block row ends every `factor` rows, and at the scene's last row.
            if (y + 1).is_multiple_of(self.factor) || y + 1 == self.height {
                self.acc.finish(&mut self.phase, &mut self.valid);
            }
            self.next_row = y + 1;
        }
    }

    /// The overview, once every row has been fed in order.
    pub fn finish(self) -> Option<Overview> {
        (!self.gap && self.next_row == self.height).then(|| Overview {
            width: self.width.div_ceil(self.factor),
            height: self.height.div_ceil(self.factor),
            factor: self.factor,
            phase: self.phase,
            valid: self.valid,
        })
    }
}

/// A [`RowSource`] that hands on every read of `inner` and builds the overview of its band 1
/// from the rows as they first come by, so a scan that reads the scene in order (window
/// bands overlapping) makes the quicklook without a second read of the file.
pub struct OverviewTap<'a, S: ?Sized> {
    inner: &'a mut S,
    builder: OverviewBuilder,
}

impl<'a, S: RowSource + ?Sized> OverviewTap<'a, S> {
    pub fn new(inner: &'a mut S, builder: OverviewBuilder) -> Self {
        Self { inner, builder }
    }

    /// The overview, if every row was read in order.
    pub fn into_overview(self) -> Option<Overview> {
        self.builder.finish()
    }
}

impl<S: RowSource + ?Sized> RowSource for OverviewTap<'_, S> {
    fn width(&self) -> usize {
        self.inner.width()
    }
    fn height(&self) -> usize {
        self.inner.height()
    }
    fn bands(&self) -> usize {
        self.inner.bands()
    }
    fn read_rows(
        &mut self,
        y0: usize,
        n: usize,
    ) -> Result<Strip, Box<dyn std::error::Error + Send + Sync>> {
        let strip = self.inner.read_rows(y0, n)?;
        let plane = self.inner.width() * n;
        match (strip.data.get(..plane), strip.valid.len() == plane) {
            (Some(phase), true) => self.builder.feed(y0, phase, &strip.valid),
            // A short strip is the scan's error to report; the overview is left incomplete.
            _ => self.builder.gap = true,
        }
        Ok(strip)
    }
}

/// Phasor sums of one row of blocks.
#[derive(Debug)]
struct BlockRow {
    factor: usize,
    re: Vec<f64>,
    im: Vec<f64>,
    count: Vec<u32>,
    /// One scene row's unit phasors.
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl BlockRow {
    fn new(width: usize, factor: usize) -> Self {
        Self {
            factor,
            re: vec![0.0; width],
            im: vec![0.0; width],
            count: vec![0; width],
            cos: Vec::new(),
            sin: Vec::new(),
        }
    }

    fn add_row(&mut self, phase: &[f32], valid: &[bool]) {
        self.cos.resize(phase.len(), 0.0);
        self.sin.resize(phase.len(), 0.0);
        // The vectorised sine and cosine (2e-7): per-pixel f64 `sin_cos` made the quicklook
        // cost as much as a tenth of a scan.
        kernels::trig::phasors_into(phase, &mut self.cos, &mut self.sin);
        for (x, (&p, &ok)) in phase.iter().zip(valid).enumerate() {
            if ok && p.is_finite() {
                let b = x / self.factor;
                self.re[b] += f64::from(self.cos[x]);
                self.im[b] += f64::from(self.sin[x]);
                self.count[b] += 1;
            }
        }
    }

    /// Appends the row's overview pixels and starts the next row.
    fn finish(&mut self, phase: &mut Vec<f32>, valid: &mut Vec<bool>) {
        for b in 0..self.re.len() {
            let ok = self.count[b] > 0;
            valid.push(ok);
            phase.push(if ok {
                // atan2 is in [−π, π]; −π is the same angle as π, and wrap keeps (−π, π].
                insar::wrap(self.im[b].atan2(self.re[b]) as f32)
            } else {
                f32::NAN
            });
        }
        self.re.fill(0.0);
        self.im.fill(0.0);
        self.count.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{InputSpec, Kind};
    use detect_core::tiling::{SliceSource, Strip};
    use std::error::Error;

    /// A ramp φ = a·x + b·y of slopes the blocks resolve (|a|·f, |b|·f < 2π).
    const A: f64 = 0.31;
    const B: f64 = -0.17;

    fn ramp_phase(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| insar::wrap64(A * (i % w) as f64 + B * (i / w) as f64) as f32)
            .collect()
    }

    /// The mean phasor of a linear phase over pixels `lo..hi` (a row and a column range)
    /// points at the phase of their centre: Σ e^{i(a·x)} = e^{i·a·(lo+hi−1)/2} × a real,
    /// positive Dirichlet kernel while |a|·n < 2π.
    fn closed_form(bx: usize, by: usize, f: usize, w: usize, h: usize) -> f32 {
        let centre = |b: usize, n: usize| (b * f + ((b + 1) * f).min(n) - 1) as f64 / 2.0;
        insar::wrap64(A * centre(bx, w) + B * centre(by, h)) as f32
    }

    #[test]
    fn fringes_average_to_the_block_centre_phase() {
        // 103 × 70 at 4 looks: 26 × 18 blocks, the last column 3 wide, the last row 2 tall.
        let (w, h) = (103, 70);
        let data = ramp_phase(w, h);
        let mut src = SliceSource::one_band(w, h, &data, None);
        let ov = overview(&mut src, 26, Path::new("ramp.tif")).expect("overview");
        assert_eq!((ov.width, ov.height, ov.factor), (26, 18, 4));
        for by in 0..ov.height {
            for bx in 0..ov.width {
                let got = ov.phase[by * ov.width + bx];
                let want = closed_form(bx, by, 4, w, h);
                let d = insar::wrap(got - want).abs();
                assert!(d < 1e-4, "block ({bx}, {by}): {got} vs {want}");
            }
        }
        assert!(ov.valid.iter().all(|&v| v));
    }

    #[test]
    fn no_data_blocks_are_invalid_and_partial_ones_average_what_is_there() {
        let (w, h) = (12, 9);
        let data = ramp_phase(w, h);
        let mut valid = vec![true; w * h];
        // Block (0, 0) of 3 × 3: all gone. Block (1, 0): only its centre pixel (4, 1) left.
        for y in 0..3 {
            for x in 0..6 {
                valid[y * w + x] = x == 4 && y == 1;
            }
        }
        let mut src = SliceSource::one_band(w, h, &data, Some(&valid));
        let ov = overview(&mut src, 4, Path::new("holes.tif")).expect("overview");
        assert_eq!((ov.width, ov.height, ov.factor), (4, 3, 3));
        assert!(!ov.valid[0] && ov.phase[0].is_nan());
        assert!(ov.valid[1]);
        assert!((ov.phase[1] - data[w + 4]).abs() < 1e-6);
    }

    /// A scan's reads: overlapping bands of rows, top to bottom, some read twice.
    #[test]
    fn a_tap_on_overlapping_reads_gives_the_overview_of_one_read() {
        let (w, h) = (103, 70);
        let data = ramp_phase(w, h);
        let mut valid = vec![true; w * h];
        valid[5 * w + 7] = false;
        let want = {
            let mut src = SliceSource::one_band(w, h, &data, Some(&valid));
            overview(&mut src, 26, Path::new("ramp.tif")).expect("overview")
        };
        let mut src = SliceSource::one_band(w, h, &data, Some(&valid));
        let builder = OverviewBuilder::new(w, h, 26).expect("builder");
        let mut tap = OverviewTap::new(&mut src, builder);
        for (y0, n) in [(0, 32), (16, 32), (16, 10), (38, 32)] {
            let strip = tap.read_rows(y0, n).expect("read");
            assert_eq!(
                strip.data,
                data[y0 * w..(y0 + n) * w],
                "rows pass through unchanged"
            );
        }
        assert_eq!(tap.into_overview(), Some(want));
    }

    #[test]
    fn a_tap_that_misses_rows_gives_no_overview() {
        let (w, h) = (40, 30);
        let data = ramp_phase(w, h);
        let mut src = SliceSource::one_band(w, h, &data, None);
        let mut tap = OverviewTap::new(&mut src, OverviewBuilder::new(w, h, 10).unwrap());
        tap.read_rows(0, 10).unwrap();
        tap.read_rows(12, 18).unwrap();
        assert_eq!(tap.into_overview(), None, "rows 10 and 11 were never read");
        let mut src = SliceSource::one_band(w, h, &data, None);
        let mut tap = OverviewTap::new(&mut src, OverviewBuilder::new(w, h, 10).unwrap());
        tap.read_rows(0, 20).unwrap();
        assert_eq!(tap.into_overview(), None, "the scan stopped early");
        assert!(OverviewBuilder::new(0, 5, 10).is_err());
        assert!(OverviewBuilder::new(5, 5, 0).is_err());
    }

    /// Rows served, and the most held at once.
    struct Counting {
        inner: Vec<f32>,
        width: usize,
        height: usize,
        rows_read: usize,
        largest: usize,
    }

    impl RowSource for Counting {
        fn width(&self) -> usize {
            self.width
        }
        fn height(&self) -> usize {
            self.height
        }
        fn read_rows(
            &mut self,
            y0: usize,
            n: usize,
        ) -> Result<Strip, Box<dyn Error + Send + Sync>> {
            self.rows_read += n;
            self.largest = self.largest.max(n);
            let data = self.inner[y0 * self.width..(y0 + n) * self.width].to_vec();
            Ok(Strip {
                valid: vec![true; data.len()],
                data,
            })
        }
    }

    #[test]
    fn a_tall_scene_is_read_once_in_strips() {
        // 5000 × 3000 at 2048: 3 looks; a strip of whole block rows holds ≤ 4 Mi pixels.
        let (w, h) = (5000, 3000);
        let mut src = Counting {
            inner: vec![0.5; w * h],
            width: w,
            height: h,
            rows_read: 0,
            largest: 0,
        };
        let ov = overview(&mut src, 2048, Path::new("tall.tif")).expect("overview");
        assert_eq!((ov.width, ov.height, ov.factor), (1667, 1000, 3));
        assert_eq!(src.rows_read, h, "every row read exactly once");
        assert!(
            src.largest * w <= STRIP_PIXELS && src.largest.is_multiple_of(3),
            "{}",
            src.largest
        );
        assert!(ov.phase.iter().all(|&p| (p - 0.5).abs() < 1e-6));
    }

    #[test]
    fn every_kind_of_scene_gives_the_same_overview() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (60, 40);
        // One unwrapped field (several fringes), written as each kind a scene can be.
        let unw: Vec<f32> = (0..w * h)
            .map(|i| (0.4 * (i % w) as f64 + 0.05 * (i / w) as f64) as f32)
            .collect();
        let wrapped: Vec<f32> = unw.iter().map(|&p| insar::wrap(p)).collect();
        let los: Vec<f32> = unw
            .iter()
            .map(|&p| insar::phase_to_los(f64::from(p), insar::S1_WAVELENGTH) as f32)
            .collect();
        let complex: Vec<raster::Complex32> = unw
            .iter()
            .map(|&p| raster::Complex32::from_polar(2.0, p))
            .collect();
        let path = |n: &str| dir.path().join(n);
        raster::write_geotiff_f32(&path("a.tif"), w, h, &wrapped, None, None).expect("wrapped");
        raster::write_geotiff_f32(&path("a.unw.tif"), w, h, &unw, None, None).expect("unw");
        raster::write_geotiff_f32(&path("a.los.tif"), w, h, &los, None, None).expect("los");
        raster::write_geotiff_c32(&path("a.int.tif"), w, h, &complex, None, None).expect("cpx");
        let of = |name: &str| {
            let p = path(name);
            let mut src =
                SceneSource::open(&p, &InputSpec::default(), InputKind::Phase).expect("open");
            (
                src.kind(),
                scene_overview(&mut src, 20, &p).expect("overview"),
            )
        };
        let (kind, reference) = of("a.tif");
        assert_eq!(kind, Kind::Wrapped);
        assert_eq!(
            (reference.width, reference.height, reference.factor),
            (20, 14, 3)
        );
        for (name, want) in [
            ("a.unw.tif", Kind::Unwrapped),
            ("a.los.tif", Kind::Los),
            ("a.int.tif", Kind::Complex),
        ] {
            let (kind, ov) = of(name);
            assert_eq!(kind, want, "{name}");
            for (a, b) in ov.phase.iter().zip(&reference.phase) {
                assert!(insar::wrap(a - b).abs() < 1e-3, "{name}: {a} vs {b}");
            }
        }
        let mut phase = SceneSource::open(&path("a.tif"), &InputSpec::default(), InputKind::Phase)
            .expect("open");
        let e = overview(&mut phase, 0, &path("a.tif")).expect_err("side 0");
        assert!(
            e.to_string().contains("a.tif") && e.to_string().contains("1 to"),
            "{e}"
        );
    }

    #[test]
    fn a_picture_opened_for_a_picture_model_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("fringes.png");
        raster::write_png_rgb(&p, 8, 8, &[90u8; 8 * 8 * 3]).expect("png");
        let mut src = SceneSource::open(&p, &InputSpec::default(), InputKind::Rgb).expect("open");
        let e = scene_overview(&mut src, 20, &p).expect_err("colours are not phase");
        assert!(e.to_string().contains("fringes.png"), "{e}");
    }
}

//! Streaming a scene into tiles one strip of rows at a time, so that a scene larger than
//! memory is never read whole: at any moment one strip (`tile` rows × scene width × bands)
//! and one tile are held.

use std::error::Error;

use super::TilingError;
use super::plan::{Tile, TilePlan};

/// Rows of a raster, read on demand (the CLI wires it to raster's `GeoTiffReader`).
pub trait RowSource {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    /// Bands per pixel (e.g. phase and coherence); 1 unless said otherwise.
    fn bands(&self) -> usize {
        1
    }
    /// Rows `y0 .. y0 + n` (all inside the raster). `data` is band-sequential:
    /// `data[(b · n + r) · width + c]`; `valid[r · width + c]` is false on no-data.
    fn read_rows(&mut self, y0: usize, n: usize) -> Result<Strip, Box<dyn Error + Send + Sync>>;
}

/// Rows read from a [`RowSource`].
#[derive(Debug, Clone, PartialEq)]
pub struct Strip {
    pub data: Vec<f32>,
    pub valid: Vec<bool>,
}

/// One tile's pixels, band-sequential, `height` rows of `width`, padding marked not valid
/// (value 0).
#[derive(Debug, Clone, PartialEq)]
pub struct TileData {
    pub tile: Tile,
    pub bands: usize,
    pub data: Vec<f32>,
    pub valid: Vec<bool>,
}

impl TileData {
    /// The share of the tile's pixels holding data.
    pub fn valid_fraction(&self) -> f64 {
        self.valid.iter().filter(|&&v| v).count() as f64 / self.valid.len().max(1) as f64
    }
}

/// Iterates over the tiles of `plan` holding any valid pixel, row by row, reading `source`
/// one tile row (strip) at a time.
pub struct TileStream<'a, S: RowSource> {
    source: &'a mut S,
    plan: &'a TilePlan,
    row: usize,
    col: usize,
    strip: Option<(usize, Strip)>,
    failed: bool,
}

impl<'a, S: RowSource> TileStream<'a, S> {
    pub fn new(source: &'a mut S, plan: &'a TilePlan) -> Result<Self, TilingError> {
        if source.width() != plan.scene_width || source.height() != plan.scene_height {
            return Err(TilingError::Plan(format!(
                "plan is for {}x{} but the source is {}x{}",
                plan.scene_width,
                plan.scene_height,
                source.width(),
                source.height()
            )));
        }
        Ok(Self {
            source,
            plan,
            row: 0,
            col: 0,
            strip: None,
            failed: false,
        })
    }

    /// Reads the strip of tile row `row`: rows `y0 .. min(y0 + tile height, height)`.
    fn load_strip(&mut self, row: usize) -> Result<(), TilingError> {
        let y0 = self.plan.ys[row];
        let n = self.plan.tile_height.min(self.plan.scene_height - y0);
        let (w, bands) = (self.plan.scene_width, self.source.bands());
        let strip = self
            .source
            .read_rows(y0, n)
            .map_err(|cause| TilingError::Source { y0, n, cause })?;
        if strip.data.len() != bands * n * w || strip.valid.len() != n * w {
            return Err(TilingError::BadStrip {
                y0,
                n,
                expected: (bands * n * w, n * w),
                got: (strip.data.len(), strip.valid.len()),
            });
        }
        self.strip = Some((n, strip));
        Ok(())
    }

    fn cut(&self, tile: Tile) -> TileData {
        let (w, bands) = (self.plan.scene_width, self.source.bands());
        let (tw, th) = (tile.width, tile.height);
        let mut data = vec![0.0f32; bands * tw * th];
        let mut valid = vec![false; tw * th];
        if let Some((n, strip)) = &self.strip {
            let cols = tw.min(w - tile.x0);
            for r in 0..*n {
                let src = r * w + tile.x0;
                valid[r * tw..r * tw + cols].copy_from_slice(&strip.valid[src..src + cols]);
                for b in 0..bands {
                    let from = (b * n + r) * w + tile.x0;
                    let to = (b * th + r) * tw;
                    data[to..to + cols].copy_from_slice(&strip.data[from..from + cols]);
                }
            }
        }
        TileData {
            tile,
            bands,
            data,
            valid,
        }
    }
}

impl<S: RowSource> Iterator for TileStream<'_, S> {
    type Item = Result<TileData, TilingError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed && self.row < self.plan.rows() {
            if self.col == 0
                && self.strip.is_none()
                && let Err(e) = self.load_strip(self.row)
            {
                self.failed = true;
                return Some(Err(e));
            }
            let tile = self.plan.tile_at(self.row, self.col);
            self.col += 1;
            if self.col == self.plan.cols() {
                self.col = 0;
                self.row += 1;
            }
            let data = self.cut(tile);
            if self.col == 0 {
                // The strip is done with; drop it before reading the next one.
                self.strip = None;
            }
            if data.valid.iter().any(|&v| v) {
                return Some(Ok(data));
            }
        }
        None
    }
}

/// A raster already in memory, as a [`RowSource`].
pub struct SliceSource<'a> {
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    /// Band-sequential, `bands · height · width` values.
    pub data: &'a [f32],
    /// `height · width` flags; `None`: every pixel with finite values in all bands is valid.
    pub valid: Option<&'a [bool]>,
}

impl<'a> SliceSource<'a> {
    /// One band of `width` × `height` values; `valid` as for the field.
    pub fn one_band(
        width: usize,
        height: usize,
        data: &'a [f32],
        valid: Option<&'a [bool]>,
    ) -> Self {
        Self {
            width,
            height,
            bands: 1,
            data,
            valid,
        }
    }
}

impl RowSource for SliceSource<'_> {
    fn width(&self) -> usize {
        self.width
    }

    fn height(&self) -> usize {
        self.height
    }

    fn bands(&self) -> usize {
        self.bands
    }

    fn read_rows(&mut self, y0: usize, n: usize) -> Result<Strip, Box<dyn Error + Send + Sync>> {
        let (w, h) = (self.width, self.height);
        if y0 + n > h || self.data.len() != self.bands * w * h {
            return Err(format!("rows {y0}..{} of a {w}x{h}x{} raster", y0 + n, self.bands).into());
        }
        let mut data = Vec::with_capacity(self.bands * n * w);
        for b in 0..self.bands {
            let start = (b * h + y0) * w;
            data.extend_from_slice(&self.data[start..start + n * w]);
        }
        let valid = match self.valid {
            Some(v) => v[y0 * w..(y0 + n) * w].to_vec(),
            None => (0..n * w)
                .map(|i| (0..self.bands).all(|b| data[b * n * w + i].is_finite()))
                .collect(),
        };
        Ok(Strip { data, valid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scene whose value at (x, y) is `x + 1000 y`, counting what is asked of it.
    struct Counting {
        w: usize,
        h: usize,
        requests: Vec<(usize, usize)>,
        nodata_rows: std::ops::Range<usize>,
    }

    impl RowSource for Counting {
        fn width(&self) -> usize {
            self.w
        }
        fn height(&self) -> usize {
            self.h
        }
        fn read_rows(
            &mut self,
            y0: usize,
            n: usize,
        ) -> Result<Strip, Box<dyn Error + Send + Sync>> {
            self.requests.push((y0, n));
            let mut data = Vec::new();
            let mut valid = Vec::new();
            for y in y0..y0 + n {
                for x in 0..self.w {
                    data.push((x + 1000 * y) as f32);
                    valid.push(!self.nodata_rows.contains(&y));
                }
            }
            Ok(Strip { data, valid })
        }
    }

    #[test]
    fn reads_one_bounded_strip_per_tile_row() {
        let (w, h) = (1500, 1300);
        let mut src = Counting {
            w,
            h,
            requests: Vec::new(),
            nodata_rows: 0..0,
        };
        let plan = TilePlan::new(w, h, 416, 160).unwrap();
        let tiles: Vec<TileData> = TileStream::new(&mut src, &plan)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tiles.len(), plan.len());
        assert_eq!(src.requests.len(), plan.rows(), "one read per tile row");
        assert!(
            src.requests.iter().all(|&(_, n)| n <= 416),
            "{:?}",
            src.requests
        );
        let rows_read: usize = src.requests.iter().map(|r| r.1).sum();
        assert!(rows_read <= plan.rows() * 416);
        // Pixel values land where they belong, padding is zero and invalid.
        let t = &tiles[plan.cols() + 1];
        assert_eq!((t.tile.x0, t.tile.y0), (256, 256));
        assert_eq!(t.data[3 * 416 + 5], (256 + 5 + 1000 * (256 + 3)) as f32);
        let last = tiles.last().unwrap();
        let inside_w = w - last.tile.x0;
        assert!(last.valid[inside_w - 1] && !last.valid[inside_w]);
        assert_eq!(last.data[inside_w], 0.0);
        let inside_h = h - last.tile.y0;
        assert!(!last.valid[inside_h * 416]);
    }

    #[test]
    fn skips_tiles_without_data() {
        let mut src = Counting {
            w: 900,
            h: 900,
            requests: Vec::new(),
            nodata_rows: 0..420,
        };
        let plan = TilePlan::new(900, 900, 416, 0).unwrap();
        let tiles: Vec<TileData> = TileStream::new(&mut src, &plan)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // The first tile row (rows 0..416) is all no-data.
        assert_eq!(tiles.len(), 2 * plan.cols());
        assert!(tiles.iter().all(|t| t.tile.row > 0));
        let partial = &tiles[0];
        assert!((partial.valid_fraction() - (412.0 / 416.0)).abs() < 1e-12);
    }

    #[test]
    fn slice_source_serves_bands_sequentially() {
        let (w, h) = (5, 4);
        let data: Vec<f32> = (0..2 * w * h).map(|v| v as f32).collect();
        let mut src = SliceSource {
            width: w,
            height: h,
            bands: 2,
            data: &data,
            valid: None,
        };
        let s = src.read_rows(1, 2).unwrap();
        assert_eq!(&s.data[..10], &data[5..15]);
        assert_eq!(&s.data[10..], &data[25..35]);
        assert!(s.valid.iter().all(|&v| v));
        assert!(src.read_rows(3, 2).is_err());
    }

    #[test]
    fn short_strip_is_an_error() {
        struct Short;
        impl RowSource for Short {
            fn width(&self) -> usize {
                10
            }
            fn height(&self) -> usize {
                10
            }
            fn read_rows(
                &mut self,
                _: usize,
                _: usize,
            ) -> Result<Strip, Box<dyn Error + Send + Sync>> {
                Ok(Strip {
                    data: vec![0.0; 3],
                    valid: vec![true; 3],
                })
            }
        }
        let plan = TilePlan::new(10, 10, 8, 0).unwrap();
        let mut src = Short;
        let mut it = TileStream::new(&mut src, &plan).unwrap();
        assert!(matches!(it.next(), Some(Err(TilingError::BadStrip { .. }))));
        assert!(it.next().is_none());
    }
}

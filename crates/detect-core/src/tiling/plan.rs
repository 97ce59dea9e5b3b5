//! Where the tiles of a scene go.
//!
//! Tiles are `size` × `size` pixels (the model's input, 416), stepped by
//! `stride = size − overlap` from the top-left corner (windows for a fully convolutional
//! network may be wider than tall, or taller than wide: [`TilePlan::windows`]); the last row and column stick out
//! past the scene and are padded (as no-data). With an overlap at least the size of the
//! largest basin (plus the edge margin), every basin lies whole inside some tile; overlap 0
//! reproduces the paper's plain cut.

use serde::{Deserialize, Serialize};

use super::TilingError;
use crate::bbox::BBox;

/// The model's input size in the paper.
pub const DEFAULT_TILE: usize = 416;
/// Largest expected basin in pixels: ~2 km at ~20 m pixels is 110 px; 160 leaves room.
pub const DEFAULT_MAX_BASIN_PX: usize = 160;

/// One tile: its place in the grid and its top-left pixel in the scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tile {
    pub row: usize,
    pub col: usize,
    pub x0: usize,
    pub y0: usize,
    pub width: usize,
    pub height: usize,
}

impl Tile {
    /// The tile's rectangle in scene pixels (padding included).
    pub fn rect(&self) -> BBox {
        let (x0, y0) = (self.x0 as f64, self.y0 as f64);
        BBox::new(x0, y0, x0 + self.width as f64, y0 + self.height as f64)
    }

    /// Pixels in the tile.
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }
}

/// The grid of tiles over a scene.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TilePlan {
    pub scene_width: usize,
    pub scene_height: usize,
    /// Width and height of every tile (equal for the model's own tiles).
    pub tile_width: usize,
    pub tile_height: usize,
    pub overlap: usize,
    /// Left edges of the tile columns.
    pub xs: Vec<usize>,
    /// Top edges of the tile rows.
    pub ys: Vec<usize>,
}

impl TilePlan {
    /// Tiles of `tile` pixels overlapping by `overlap` over a `width` × `height` scene.
    pub fn new(
        width: usize,
        height: usize,
        tile: usize,
        overlap: usize,
    ) -> Result<Self, TilingError> {
        check_sizes(width, height, tile, overlap)?;
        Ok(Self {
            scene_width: width,
            scene_height: height,
            tile_width: tile,
            tile_height: tile,
            overlap,
            xs: starts(width, tile, tile - overlap),
            ys: starts(height, tile, tile - overlap),
        })
    }

    /// Windows larger than a tile for a fully convolutional network: windows whose width
    /// and height lie between `min` and `max` (multiples of `multiple`), overlapping by at
    /// least `overlap` only where two windows meet. Each side is the one that covers its
    /// axis with the least length run (so the least area: the two axes are independent);
    /// the windows of each axis are spread evenly from edge to edge, so none sticks out past
    /// the scene (unless the scene is smaller than `min`: then one padded window).
    pub fn windows(
        width: usize,
        height: usize,
        [min, max]: [usize; 2],
        overlap: usize,
        multiple: usize,
    ) -> Result<Self, TilingError> {
        if multiple == 0 || min == 0 || min > max || !min.is_multiple_of(multiple) {
            return Err(TilingError::Plan(format!(
                "window sides {min}..{max} must be positive multiples of {multiple}"
            )));
        }
        check_sizes(width, height, min, overlap)?;
        // Of equal lengths run, the larger side: fewer windows, fewer seams.
        let side_for = |len: usize| {
            (min..=max)
                .step_by(multiple)
                .min_by_key(|&side| (windows_along(len, side, overlap) * side, usize::MAX - side))
                .unwrap_or(min)
        };
        let (tile_width, tile_height) = (side_for(width), side_for(height));
        Ok(Self {
            scene_width: width,
            scene_height: height,
            tile_width,
            tile_height,
            overlap,
            xs: spread(width, tile_width, overlap),
            ys: spread(height, tile_height, overlap),
        })
    }

    /// The default plan: 416-pixel tiles overlapping by the largest expected basin.
    pub fn for_scene(width: usize, height: usize) -> Result<Self, TilingError> {
        Self::new(width, height, DEFAULT_TILE, DEFAULT_MAX_BASIN_PX)
    }

    /// Steps between tile columns and rows of a plan of the model's tiles ([`Self::new`]).
    pub fn stride(&self) -> usize {
        self.tile_width - self.overlap
    }

    /// The longer side of the tiles (the side of the model's square tiles).
    pub fn longest_side(&self) -> usize {
        self.tile_width.max(self.tile_height)
    }

    pub fn rows(&self) -> usize {
        self.ys.len()
    }

    pub fn cols(&self) -> usize {
        self.xs.len()
    }

    pub fn len(&self) -> usize {
        self.rows() * self.cols()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn tile_at(&self, row: usize, col: usize) -> Tile {
        Tile {
            row,
            col,
            x0: self.xs[col],
            y0: self.ys[row],
            width: self.tile_width,
            height: self.tile_height,
        }
    }

    /// All tiles, row by row.
    pub fn tiles(&self) -> impl Iterator<Item = Tile> + '_ {
        (0..self.rows()).flat_map(move |r| (0..self.cols()).map(move |c| self.tile_at(r, c)))
    }

    /// Which sides of `tile` lie inside the scene (left, top, right, bottom): a box touching
    /// such a side may continue in the neighbouring tile; the scene border cuts nothing.
    pub fn inner_edges(&self, tile: &Tile) -> [bool; 4] {
        [
            tile.x0 > 0,
            tile.y0 > 0,
            tile.x0 + tile.width < self.scene_width,
            tile.y0 + tile.height < self.scene_height,
        ]
    }
}

/// A scene to cut must have pixels, and tiles must be wider than their overlap.
fn check_sizes(
    width: usize,
    height: usize,
    tile: usize,
    overlap: usize,
) -> Result<(), TilingError> {
    if width == 0 || height == 0 {
        return Err(TilingError::Plan(format!(
            "scene size {width}x{height} is empty"
        )));
    }
    if tile == 0 || overlap >= tile {
        return Err(TilingError::Plan(format!(
            "overlap {overlap} must be smaller than the tile size {tile}"
        )));
    }
    Ok(())
}

/// How many windows of `side` overlapping by at least `overlap` cover `len`.
fn windows_along(len: usize, side: usize, overlap: usize) -> usize {
    if len <= side {
        1
    } else {
        (len - overlap).div_ceil(side - overlap)
    }
}

/// Starts of [`windows_along`] windows spread evenly over `len`: the first at 0, the last
/// ending at `len`.
fn spread(len: usize, side: usize, overlap: usize) -> Vec<usize> {
    let n = windows_along(len, side, overlap);
    if n == 1 {
        return vec![0];
    }
    let room = len - side;
    (0..n).map(|k| k * room / (n - 1)).collect()
}

/// Tile starts 0, stride, 2·stride, … until a tile reaches the end.
fn starts(len: usize, tile: usize, stride: usize) -> Vec<usize> {
    let n = if len <= tile {
        1
    } else {
        1 + (len - tile).div_ceil(stride)
    };
    (0..n).map(|k| k * stride).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_plan_without_overlap() {
        let p = TilePlan::new(1000, 416, 416, 0).unwrap();
        assert_eq!(p.xs, vec![0, 416, 832]);
        assert_eq!(p.ys, vec![0]);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn overlapping_plan_covers_the_scene() {
        let p = TilePlan::new(1000, 700, 416, 160).unwrap();
        assert_eq!(p.stride(), 256);
        assert_eq!(p.xs, vec![0, 256, 512, 768]);
        assert_eq!(p.ys, vec![0, 256, 512]);
        let last = p.tile_at(2, 3);
        assert!(last.x0 + last.width >= 1000 && last.y0 + last.height >= 700);
        // The last tile before it does not reach the end: no tile is redundant.
        assert!(p.xs[2] + 416 < 1000);
    }

    #[test]
    fn small_scene_is_one_padded_tile() {
        let p = TilePlan::new(100, 50, 416, 160).unwrap();
        assert_eq!((p.xs.clone(), p.ys.clone()), (vec![0], vec![0]));
        assert_eq!(p.inner_edges(&p.tile_at(0, 0)), [false; 4]);
    }

    #[test]
    fn exact_fit_has_no_extra_tile() {
        let p = TilePlan::new(832, 416, 416, 0).unwrap();
        assert_eq!(p.xs, vec![0, 416]);
        assert_eq!(p.inner_edges(&p.tile_at(0, 1)), [true, false, false, false]);
    }

    #[test]
    fn every_box_up_to_the_overlap_fits_whole_in_some_tile() {
        let p = TilePlan::new(2000, 1500, 416, 160).unwrap();
        for x in (0..2000 - 150).step_by(7) {
            let b = BBox::new(x as f64, 10.0, x as f64 + 150.0, 160.0);
            assert!(p.tiles().any(|t| t.rect().contains(&b)), "box at x={x}");
        }
    }

    #[test]
    fn windows_cover_the_scene_with_the_overlap_and_stick_out_nowhere() {
        for (w, h) in [
            (7636, 8205),
            (2500, 2500),
            (4000, 1000),
            (20000, 20000),
            (416, 900),
        ] {
            let p = TilePlan::windows(w, h, [416, 2048], 160, 32).unwrap();
            for (starts, len, side) in [(&p.xs, w, p.tile_width), (&p.ys, h, p.tile_height)] {
                assert!(
                    side.is_multiple_of(32) && (416..=2048).contains(&side),
                    "{w}x{h}: {side}"
                );
                assert_eq!(starts[0], 0);
                let last = *starts.last().unwrap();
                assert!(
                    last + side >= len,
                    "{w}x{h}: the last window reaches the end"
                );
                assert!(
                    len < side || last + side == len,
                    "{w}x{h}: no window sticks out"
                );
                for pair in starts.windows(2) {
                    assert!(pair[0] + side >= pair[1] + 160, "{w}x{h}: overlap {pair:?}");
                }
            }
        }
    }

    /// 7,636 × 8,205 (the paper's scene): 4 columns of 2,048 and 5 rows of 1,792 run 1.17 ×
    /// the scene's area (square windows: 5 × 5 of 1,792, 1.28 ×; 416 tiles at overlap 160,
    /// 960 tiles, 2.65 ×); a 2,500² scene gets 2 × 2 windows of 1,344 (1.16 ×) rather than
    /// padded 2,048s; a strip 300 px tall one padded row of the smallest side.
    #[test]
    fn window_sides_are_the_least_area() {
        let p = TilePlan::windows(7636, 8205, [416, 2048], 160, 32).unwrap();
        assert_eq!(
            (p.tile_width, p.tile_height, p.cols(), p.rows()),
            (2048, 1792, 4, 5)
        );
        let p = TilePlan::windows(2500, 2500, [416, 2048], 160, 32).unwrap();
        assert_eq!(
            (p.tile_width, p.tile_height, p.cols(), p.rows()),
            (1344, 1344, 2, 2)
        );
        let p = TilePlan::windows(5000, 300, [416, 2048], 160, 32).unwrap();
        assert_eq!((p.tile_height, p.rows(), p.ys.clone()), (416, 1, vec![0]));
        assert!(TilePlan::windows(100, 100, [400, 2048], 160, 32).is_err());
        assert!(TilePlan::windows(100, 100, [416, 2048], 416, 32).is_err());
    }

    #[test]
    fn rejects_overlap_not_below_tile() {
        assert!(TilePlan::new(1000, 1000, 416, 416).is_err());
        assert!(TilePlan::new(0, 1000, 416, 0).is_err());
    }
}

//! Whole scenes: a tile plan, streaming the scene into tiles strip by strip, and stitching
//! the tiles' detections back together.

mod plan;
mod scene;
mod stitch;
mod stream;

pub use plan::{DEFAULT_MAX_BASIN_PX, DEFAULT_TILE, Tile, TilePlan};
pub use scene::{detect_scene, detect_tiles, detect_tiles_prepared, stitch_at};
pub use stitch::{StitchParams, TileDetections, perfect_tile_detections, stitch};
pub use stream::{RowSource, SliceSource, Strip, TileData, TileStream};

#[derive(Debug, thiserror::Error)]
pub enum TilingError {
    #[error("tile plan: {0}")]
    Plan(String),
    #[error("reading rows {y0}..{} of the scene: {cause}", y0 + n)]
    Source {
        y0: usize,
        n: usize,
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("detector: {0}")]
    Detector(Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "rows {y0}..{} of the scene came back with {} values and {} flags, expected {} and {}",
        y0 + n, got.0, got.1, expected.0, expected.1
    )]
    BadStrip {
        y0: usize,
        n: usize,
        expected: (usize, usize),
        got: (usize, usize),
    },
}

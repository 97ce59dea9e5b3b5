//! Physically based simulator of Sentinel-1 interferograms over longwall coal mines, with
//! exact labels: PIM basins (Knothe time function for the advancing face), LOS geometry,
//! atmosphere, DEM, decorrelation, hard negatives, and the data-set and scene writers.

pub mod coherence;
pub mod conditions;
pub mod config;
pub mod dataset;
pub mod deformation;
pub mod error;
pub mod field;
pub mod geometry;
pub mod labels;
pub mod layout;
pub mod noise;
pub mod nuisance;
pub mod picture;
pub mod pim;
pub mod rng;
pub mod scene;
pub mod scene_tiles;
pub mod scene_writer;

pub use conditions::{Conditions, Weather};
pub use config::{SynthConfig, Threshold};
pub use dataset::Summary;
pub use error::SynthError;
pub use geometry::{Looks, Orbit, los_unit_vector};
pub use scene::{AreaConfig, MineLayout, OrbitChoice, SimArea, simulate};

use std::path::Path;

/// Writes a whole data set (tiles, COCO, splits, scenes, manifest) into `out`.
/// `progress` is called once per finished tile and once per scene.
pub fn write_dataset(
    cfg: &SynthConfig,
    out: &Path,
    force: bool,
    progress: &(dyn Fn() + Sync),
) -> Result<Summary, SynthError> {
    cfg.validate()?;
    dataset::prepare_out_dir(
        out,
        force,
        &[
            "images",
            "coherence",
            "los",
            "png",
            "labels",
            "voc",
            "splits",
            "scenes",
        ],
    )?;
    let (coco, mut summary) = dataset::write_tiles(cfg, out, progress)?;
    dataset::write_json(&out.join("annotations.json"), &coco)?;
    for k in 0..cfg.scenes {
        summary.scene_basins += scene_writer::write_scene(cfg, out, k)?;
        summary.scenes += 1;
        progress();
    }
    dataset::write_json(
        &out.join("manifest.json"),
        &dataset::manifest(cfg, &summary),
    )?;
    Ok(summary)
}

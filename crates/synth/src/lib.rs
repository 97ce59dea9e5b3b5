//! Physically based simulator of Sentinel-1 interferograms over longwall coal mines, with
//! exact labels: PIM basins (Knothe time function for the advancing face), LOS geometry,
//! atmosphere, DEM, decorrelation, hard negatives, and the data-set and scene writers.

pub mod coherence;
pub mod deformation;
pub mod field;
pub mod geometry;
pub mod labels;
pub mod layout;
pub mod noise;
pub mod nuisance;
pub mod pim;
pub mod rng;
pub mod scene;

//! Data: finding images and labels, reading them, augmenting them, and feeding batches
//! from worker threads.

pub mod augment;
pub mod dataset;
mod folder;
pub mod labels;
pub mod loader;
pub mod sample;
pub mod ultralytics;

pub use augment::AugmentConfig;
pub use dataset::{
    Dataset, Item, Split, open_dataset, open_dataset_with, open_optional, open_optional_with,
};
pub use labels::LabelOptions;
pub use loader::{Batch, Loader, LoaderConfig, eval_sample};
pub use sample::{Planes, Sample, load_item};

use std::path::{Path, PathBuf};

/// What went wrong reading a data set, and where.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
    #[error(transparent)]
    Labels(#[from] detect_core::labels::LabelError),
    #[error(transparent)]
    Raster(#[from] raster::RasterError),
    #[error(transparent)]
    Model(#[from] model::ModelError),
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error("data loading stopped: {0}")]
    Stopped(String),
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(path: &Path, msg: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }
}

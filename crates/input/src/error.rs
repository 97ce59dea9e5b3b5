//! What went wrong turning a file into network input, and in which file.

use std::path::{Path, PathBuf};

/// Why an input could not be read or encoded.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Raster(#[from] raster::RasterError),
    #[error("{}: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
    #[error("{}: {source}", path.display())]
    Insar {
        path: PathBuf,
        #[source]
        source: insar::InsarError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Model {
        path: PathBuf,
        #[source]
        source: model::ModelError,
    },
    #[error(transparent)]
    Encode(#[from] model::ModelError),
    #[error("Goldstein filter: {0}")]
    Filter(#[from] insar::InsarError),
}

impl InputError {
    pub(crate) fn invalid(path: &Path, msg: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    pub(crate) fn insar(path: &Path, source: insar::InsarError) -> Self {
        Self::Insar {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn model(path: &Path, source: model::ModelError) -> Self {
        Self::Model {
            path: path.to_path_buf(),
            source,
        }
    }
}

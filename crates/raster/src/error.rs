//! One error type for the crate; every variant names the file it is about so a user with
//! a folder of rasters knows which one to look at.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: TIFF decoding failed: {source}", path.display())]
    Tiff {
        path: PathBuf,
        #[source]
        source: tiff::TiffError,
    },
    /// The file is readable but its content breaks the format (a tag, field or size is wrong).
    #[error("{}: {msg}", path.display())]
    Format { path: PathBuf, msg: String },
    /// The file is valid but uses a feature this crate does not read or write.
    #[error("{}: unsupported: {msg}", path.display())]
    Unsupported { path: PathBuf, msg: String },
    /// A GAMMA parameter file line or key is missing or malformed.
    #[error("{}, line {line}: {msg}", path.display())]
    Par {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    /// A GAMMA raw raster without an explicit width and without a parameter file beside it.
    #[error(
        "{}: cannot tell the raster width: no GAMMA parameter file found (looked for {}); \
         give the width explicitly (`--width`) or the .par file (`--par`)",
        path.display(),
        looked_for.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    WidthNotFound {
        path: PathBuf,
        looked_for: Vec<PathBuf>,
    },
    #[error("{}: PNG encoding failed: {source}", path.display())]
    Png {
        path: PathBuf,
        #[source]
        source: png::EncodingError,
    },
    #[error("{}: picture decoding failed: {source}", path.display())]
    Picture {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    /// The caller passed inconsistent arguments (data length, sizes); no file involved yet.
    #[error("{}: invalid argument: {msg}", path.display())]
    Argument { path: PathBuf, msg: String },
}

impl RasterError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: &Path, msg: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    pub(crate) fn unsupported(path: &Path, msg: impl Into<String>) -> Self {
        Self::Unsupported {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    pub(crate) fn argument(path: &Path, msg: impl Into<String>) -> Self {
        Self::Argument {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    pub(crate) fn tiff(path: &Path, source: tiff::TiffError) -> Self {
        Self::Tiff {
            path: path.to_path_buf(),
            source,
        }
    }
}

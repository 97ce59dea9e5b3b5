//! One error type for the crate; every variant names the file it is about so a user with
//! a folder of rasters knows which one to look at. Underlying errors are part of the
//! message (not a `source` chain) so that printing the error once says everything.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: TIFF decoding failed: {cause}", path.display())]
    Tiff {
        path: PathBuf,
        cause: tiff::TiffError,
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
    #[error("{}: PNG encoding failed: {cause}", path.display())]
    Png {
        path: PathBuf,
        cause: png::EncodingError,
    },
    #[error("{}: picture decoding failed: {cause}", path.display())]
    Picture {
        path: PathBuf,
        cause: image::ImageError,
    },
    /// A raster of several bands without a band chosen, or a band that is not there.
    #[error("{}: {msg}", path.display())]
    BandChoice { path: PathBuf, msg: String },
    /// The caller passed inconsistent arguments (data length, sizes); no file involved yet.
    #[error("{}: invalid argument: {msg}", path.display())]
    Argument { path: PathBuf, msg: String },
}

impl RasterError {
    pub(crate) fn io(path: &Path, cause: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            cause,
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

    /// Refuses an empty or out-of-range request for rows `y0 .. y0 + n` (every row reader).
    pub(crate) fn check_rows(path: &Path, y0: usize, n: usize, height: usize) -> Result<(), Self> {
        if n == 0 || y0.checked_add(n).is_none_or(|end| end > height) {
            return Err(Self::argument(
                path,
                format!(
                    "rows {y0}..{} requested from a raster of height {height}",
                    y0 as u128 + n as u128
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn tiff(path: &Path, cause: tiff::TiffError) -> Self {
        Self::Tiff {
            path: path.to_path_buf(),
            cause,
        }
    }
}

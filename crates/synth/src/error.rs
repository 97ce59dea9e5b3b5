//! Errors of the simulator's writers and configuration.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("configuration field `{field}` = {value}: expected {expected}")]
    BadConfig {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "{}: output directory exists and is not empty; choose another or allow overwriting (--force)",
        path.display()
    )]
    OutDirNotEmpty { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Raster(#[from] raster::RasterError),
    #[error(transparent)]
    Label(#[from] detect_core::labels::LabelError),
    #[error("{}: cannot encode JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl SynthError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::Io {
            path: path.into(),
            source,
        }
    }
}

//! The model crate's errors: each says what was wrong, where, and what was expected.

use std::path::PathBuf;

use crate::config::InputKind;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown {what} `{got}`: expected {expected}")]
    Parse {
        what: &'static str,
        got: String,
        expected: &'static str,
    },
    #[error("invalid model config: {0}")]
    Config(String),
    #[error(
        "input kind mismatch: the model was trained on `{model}` input but the data is `{data}` \
         (phase rasters → cos φ, sin φ, coherence; pictures → RGB/255); use data of the kind \
         the model was trained on or a model trained on this kind"
    )]
    InputMismatch { model: InputKind, data: InputKind },
    #[error("{what} buffer has {got} values, expected {want} for a {width}×{height} image")]
    InputSize {
        what: &'static str,
        got: usize,
        want: usize,
        width: usize,
        height: usize,
    },
    #[error("batch shape {shape:?} is not [B, 3, H, W] with H, W positive multiples of 32")]
    BatchShape { shape: [usize; 4] },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a weights file: {detail}")]
    Format { path: PathBuf, detail: String },
    #[error("{path}: weights do not fit {model}: {detail}")]
    Mismatch {
        path: PathBuf,
        model: String,
        detail: String,
    },
    #[error("{path}: writing weights failed: {detail}")]
    Save { path: PathBuf, detail: String },
    #[error("fast inference path: {0}")]
    Fast(#[from] crate::fast::FastError),
    #[error("anchor fitting: {0}")]
    Anchors(String),
}

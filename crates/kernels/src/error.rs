//! The one error type of the crate: every variant names the operation and what it expected.

/// A tensor or a layer whose sizes do not fit the operation asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// A buffer's length does not match the shape it is said to have.
    #[error("{what}: expected {expected} values ({detail}), got {got}")]
    Length {
        what: &'static str,
        detail: String,
        expected: usize,
        got: usize,
    },
    /// Input channels differ from those the layer was built for.
    #[error("{op}: input has {got} channels, the layer expects {expected}")]
    Channels {
        op: &'static str,
        expected: usize,
        got: usize,
    },
    /// Two tensors that must agree in some dimensions do not.
    #[error("{op}: shapes disagree: {detail}")]
    ShapeMismatch { op: &'static str, detail: String },
    /// A layer parameter out of the supported range.
    #[error("{op}: invalid parameter {param} = {value} ({expected})")]
    Param {
        op: &'static str,
        param: &'static str,
        value: usize,
        expected: &'static str,
    },
}

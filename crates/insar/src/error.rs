//! Errors for the checked (`try_*`) entry points; the infallible contract functions panic
//! with the same messages, because a wrong buffer size there is a caller bug, not bad input.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum InsarError {
    /// A raster buffer does not hold `width × height` samples.
    #[error("{what}: buffer holds {len} samples, expected width {w} × height {h} = {expected}")]
    SizeMismatch {
        what: &'static str,
        len: usize,
        w: usize,
        h: usize,
        expected: usize,
    },
    /// A parameter is outside its valid range.
    #[error("{what} = {value} is invalid: expected {expected}")]
    BadParameter {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A colormap name that [`crate::Colormap`] does not know.
    #[error(
        "unknown colormap {0:?}: expected one of cyclic, jet, jet64, hsv, gamma, gray, twilight, cmy"
    )]
    UnknownColormap(String),
    /// No known palette explains a picture's colours.
    #[error(
        "no known colormap explains the picture's colours: the best, {best}, puts only {:.0}% \
         of its pixels within {tolerance} RGB levels of a palette colour (median distance \
         {residual:.1}); name the colormap it was drawn with or give its palette (a CSV of RGB \
         rows or a colour-bar picture)",
        explained * 100.0
    )]
    NoPaletteFits {
        best: String,
        explained: f32,
        residual: f32,
        tolerance: f32,
    },
}

/// Checks that a `w × h` raster buffer has exactly `len` samples.
pub(crate) fn check_size(
    what: &'static str,
    len: usize,
    w: usize,
    h: usize,
) -> Result<(), InsarError> {
    let expected = w.checked_mul(h);
    if expected == Some(len) {
        return Ok(());
    }
    Err(InsarError::SizeMismatch {
        what,
        len,
        w,
        h,
        expected: expected.unwrap_or(usize::MAX),
    })
}

//! Phase tools for InSAR interferograms.
//!
//! * [`phase`]: wrapping to (−π, π], complex ↔ phase, line-of-sight displacement ↔ phase.
//! * [`multilook`](mod@multilook): complex multilooking by (range, azimuth) factors.
//! * [`coherence`](mod@coherence): windowed coherence estimation, used to measure filtering.
//! * [`goldstein`](mod@goldstein): the Goldstein–Werner adaptive spectral filter.
//! * [`colormap`] and [`render`]: wrapped phase to RGB pictures in the palettes InSAR
//!   software draws with (cyclic, jet, 64-level jet, HSV, GAMMA, grey, twilight, cmy).
//! * [`invert`](mod@invert): rendered pictures back to wrapped phase, with the colormap
//!   named or found among the known ones, or a user's palette.
//!
//! Rasters are row-major slices of `w × h` samples (x = range = column, y = azimuth = row).

pub mod coherence;
pub mod colormap;
pub mod error;
pub mod goldstein;
pub mod invert;
pub mod multilook;
pub mod phase;
pub mod render;

pub use coherence::{coherence, mean_coherence};
pub use colormap::Colormap;
pub use error::InsarError;
pub use goldstein::{GoldsteinParams, goldstein, try_goldstein};
pub use invert::{Palette, Pixels};
pub use multilook::{multilook, multilook_real, try_multilook};
pub use phase::{
    S1_WAVELENGTH, amplitude, fast_arg, fringe_los, los_to_phase, phase_of, phase_to_los, phasor,
    phasors, wrap, wrap64,
};
pub use render::{render_coherence, render_gray, render_phase, try_render_phase};
pub use rustfft::num_complex::Complex32;

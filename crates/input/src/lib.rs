//! Raster → network input, in one place.
//!
//! Every command that feeds a model (`detect` on whole scenes, `predict` on tiles and
//! pictures, training and its validation) reads through this crate, so the same file gives
//! the same tensor whichever way it comes in:
//!
//! - [`spec`]: what the user says about an input ([`InputSpec`]: kind, band, colormap,
//!   wavelength, coherence, Goldstein α, GAMMA width, no-data) and the kind guessed from the
//!   file *name* and the pixel type ([`Kind::guess`]).
//! - [`phase`]: one band of a raster as masked wrapped phase (no-data → NaN).
//! - [`coherence`]: coherence rasters, float32 or byte, on the phase's grid.
//! - [`picture`]: pictures read back to phase through a colormap ([`ColormapSpec`]).
//! - [`planes`]: an image in memory as float planes ([`Planes`]), what augmentation works on.
//! - [`image`]: one image or tile read whole into [`Planes`] (`predict`, training).
//! - [`scene`]: a whole scene streamed as rows for the tiler ([`SceneSource`], `detect`).
//! - [`encode`]: planes and tiles to the `[3, H, W]` tensor, padded to the coarsest stride.
//! - [`filter`]: the optional Goldstein filter of phase before encoding.
//! - [`defaults`]: post-processing defaults (score, NMS IoU, detections kept, stitching).

pub mod coherence;
pub mod defaults;
pub mod encode;
pub mod error;
pub mod filter;
pub mod image;
pub mod los_raster;
pub mod overview;
pub mod phase;
pub mod picture;
pub mod planes;
pub mod scene;
pub mod spec;

pub use encode::{encode_tile, pad_to_stride};
pub use error::InputError;
pub use image::{Image, load_image};
pub use picture::{ColormapSpec, Inverted, invert_picture};
pub use planes::Planes;
pub use scene::SceneSource;
pub use spec::{InputSpec, Kind};

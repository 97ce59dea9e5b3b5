//! One image in memory as float planes, before augmentation and encoding.

use std::path::Path;

use model::InputKind;
use raster::{Pixels, Raster};

use super::DataError;
use super::dataset::{Item, input_kind_of};

/// Pixel planes of one image, each `width × height` row-major.
#[derive(Clone, Debug, PartialEq)]
pub enum Planes {
    /// Wrapped phase (NaN where there is no data) and coherence in [0, 1], if known.
    Phase {
        phase: Vec<f32>,
        coherence: Option<Vec<f32>>,
    },
    /// Red, green, blue in 0..=255.
    Rgb([Vec<f32>; 3]),
}

/// An image and its boxes (pixel xyxy).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub width: usize,
    pub height: usize,
    pub planes: Planes,
    pub boxes: Vec<[f32; 4]>,
}

/// Fill for pixels brought in from outside the image: no phase (encoded as zeros), zero
/// coherence, YOLOv5's letterbox grey for pictures.
pub const RGB_FILL: f32 = 114.0;

impl Planes {
    /// Every plane with the value that fills pixels from outside the image.
    pub fn planes_mut(&mut self) -> Vec<(&mut Vec<f32>, f32)> {
        match self {
            Planes::Phase { phase, coherence } => {
                let mut v = vec![(phase, f32::NAN)];
                if let Some(c) = coherence {
                    v.push((c, 0.0));
                }
                v
            }
            Planes::Rgb(ch) => ch.iter_mut().map(|c| (c, RGB_FILL)).collect(),
        }
    }

    /// The network input `[3, H, W]` (model::input's encodings).
    pub fn encode(&self, width: usize, height: usize) -> Result<Vec<f32>, DataError> {
        match self {
            Planes::Phase { phase, coherence } => Ok(model::input::encode_phase(
                phase,
                coherence.as_deref(),
                width,
                height,
            )?),
            Planes::Rgb(ch) => {
                let n = width * height;
                let mut rgb = vec![0u8; 3 * n];
                for (i, px) in rgb.chunks_exact_mut(3).enumerate() {
                    for c in 0..3 {
                        px[c] = ch[c][i].round().clamp(0.0, 255.0) as u8;
                    }
                }
                Ok(model::input::encode_rgb(&rgb, width, height)?)
            }
        }
    }
}

fn phase_planes(path: &Path, r: &Raster) -> Result<Vec<f32>, DataError> {
    let valid = r.valid_mask();
    match (&r.pixels, r.bands) {
        (Pixels::F32(v), 1) => Ok(v
            .iter()
            .zip(&valid)
            .map(|(&p, &ok)| if ok { p } else { f32::NAN })
            .collect()),
        (Pixels::C32(v), 1) => Ok(v
            .iter()
            .zip(&valid)
            .map(|(z, &ok)| if ok { z.arg() } else { f32::NAN })
            .collect()),
        _ => Err(DataError::invalid(
            path,
            format!(
                "expected one band of Float32 wrapped phase or CFloat32 interferogram, found {} band(s) of {}",
                r.bands,
                r.pixels.type_name()
            ),
        )),
    }
}

fn rgb_planes(path: &Path, r: &Raster) -> Result<[Vec<f32>; 3], DataError> {
    let Pixels::U8(v) = &r.pixels else {
        return Err(DataError::invalid(path, "expected an 8-bit picture"));
    };
    let bands = r.bands;
    if bands != 3 && bands != 1 {
        return Err(DataError::invalid(
            path,
            format!("expected RGB or grey, found {bands} bands"),
        ));
    }
    let pick = |c: usize| -> Vec<f32> {
        v.chunks_exact(bands)
            .map(|px| f32::from(px[c.min(bands - 1)]))
            .collect()
    };
    Ok([pick(0), pick(1), pick(2)])
}

/// Reads an item's image (and coherence) from disk.
pub fn load_item(item: &Item) -> Result<Sample, DataError> {
    let path = item.image.as_path();
    let kind = input_kind_of(path).unwrap_or(InputKind::Phase);
    let r = match kind {
        InputKind::Phase => raster::read_geotiff(path)?,
        InputKind::Rgb => raster::read_picture(path)?,
    };
    let planes = match kind {
        InputKind::Phase => {
            let phase = phase_planes(path, &r)?;
            let coherence = match &item.coherence {
                Some(cp) => {
                    let c = raster::read_geotiff(cp)?;
                    if (c.width, c.height) != (r.width, r.height) {
                        return Err(DataError::invalid(
                            cp,
                            format!(
                                "coherence is {}×{} but the phase is {}×{}",
                                c.width, c.height, r.width, r.height
                            ),
                        ));
                    }
                    Some(c.coherence().ok_or_else(|| {
                        DataError::invalid(cp, "coherence must be one Float32 or Byte band")
                    })?)
                }
                None => None,
            };
            Planes::Phase { phase, coherence }
        }
        InputKind::Rgb => Planes::Rgb(rgb_planes(path, &r)?),
    };
    Ok(Sample {
        width: r.width,
        height: r.height,
        planes,
        boxes: item.boxes.clone(),
    })
}

//! One image in memory as float planes: what is read, augmented in training, then encoded.

use std::path::Path;

use raster::{Pixels, Raster};

use crate::InputError;

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

    /// The network input `[3, H, W]` (see [`crate::encode::encode`]).
    pub fn encode(&self, width: usize, height: usize) -> Result<Vec<f32>, InputError> {
        crate::encode::encode(self, width, height)
    }
}

/// The red, green and blue planes of 8-bit samples (grey, RGB or RGBA, interleaved) of `r`,
/// read from `path`.
pub fn rgb_planes(r: &Raster, path: &Path) -> Result<[Vec<f32>; 3], InputError> {
    let Pixels::U8(v) = &r.pixels else {
        return Err(InputError::invalid(
            path,
            format!("expected an 8-bit picture, found {}", r.pixels.type_name()),
        ));
    };
    let bands = r.bands;
    if !(1..=4).contains(&bands) {
        return Err(InputError::invalid(
            path,
            format!("expected grey, RGB or RGBA, found {bands} bands"),
        ));
    }
    // Grey repeats its one band; RGBA drops alpha.
    let pick = |c: usize| -> Vec<f32> {
        v.chunks_exact(bands)
            .map(|px| px.get(c.min(bands - 1)).map_or(0.0, |&s| f32::from(s)))
            .collect()
    };
    Ok([pick(0), pick(1), pick(2)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_and_rgba_become_three_planes() {
        let p = Path::new("pic.png");
        let grey = Raster {
            width: 2,
            height: 1,
            bands: 1,
            pixels: Pixels::U8(vec![10, 20]),
            geo: None,
            nodata: None,
        };
        let planes = rgb_planes(&grey, p).expect("grey");
        assert_eq!(
            planes,
            [vec![10.0, 20.0], vec![10.0, 20.0], vec![10.0, 20.0]]
        );
        let rgba = Raster {
            bands: 4,
            pixels: Pixels::U8(vec![1, 2, 3, 255, 4, 5, 6, 0]),
            ..grey.clone()
        };
        let planes = rgb_planes(&rgba, p).expect("rgba");
        assert_eq!(planes, [vec![1.0, 4.0], vec![2.0, 5.0], vec![3.0, 6.0]]);
        let float = Raster {
            pixels: Pixels::F32(vec![0.0, 0.0]),
            ..grey
        };
        let e = rgb_planes(&float, p).expect_err("not 8-bit");
        assert!(e.to_string().contains("pic.png"), "{e}");
    }
}

//! Pictures: PNG writing (rendered phase, annotated detections) and PNG/JPEG reading
//! (rendered interferograms users already have, RGB training sets).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::atomic::Pending;
use crate::error::RasterError;
use crate::raster::{Pixels, Raster};

pub fn write_png_rgb(path: &Path, w: usize, h: usize, rgb: &[u8]) -> Result<(), RasterError> {
    write_png(path, w, h, rgb, png::ColorType::Rgb, 3)
}

pub fn write_png_gray(path: &Path, w: usize, h: usize, g: &[u8]) -> Result<(), RasterError> {
    write_png(path, w, h, g, png::ColorType::Grayscale, 1)
}

fn write_png(
    path: &Path,
    w: usize,
    h: usize,
    data: &[u8],
    color: png::ColorType,
    channels: usize,
) -> Result<(), RasterError> {
    if w.checked_mul(h).and_then(|n| n.checked_mul(channels)) != Some(data.len()) {
        return Err(RasterError::argument(
            path,
            format!(
                "{} bytes given for a {w}×{h} picture with {channels} channel(s) (expected {})",
                data.len(),
                w as u128 * h as u128 * channels as u128
            ),
        ));
    }
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(RasterError::argument(
            path,
            "picture side does not fit in 32 bits",
        ));
    };
    let png_err = |cause| RasterError::Png {
        path: path.to_path_buf(),
        cause,
    };
    let mut temp = Pending::new(path);
    let file = File::create(temp.tmp()).map_err(|e| RasterError::io(path, e))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), w32, h32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(png_err)?;
    writer.write_image_data(data).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    temp.commit().map_err(|e| RasterError::io(path, e))
}

/// Writes an 8-bit RGB JPEG at `quality` (1–100), as figures and screenshots are often
/// saved; used to measure how reading pictures back to phase survives JPEG's loss.
pub fn write_jpeg_rgb(
    path: &Path,
    w: usize,
    h: usize,
    rgb: &[u8],
    quality: u8,
) -> Result<(), RasterError> {
    if w.checked_mul(h).and_then(|n| n.checked_mul(3)) != Some(rgb.len()) {
        return Err(RasterError::argument(
            path,
            format!("{} bytes given for a {w}×{h} RGB picture", rgb.len()),
        ));
    }
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(RasterError::argument(
            path,
            "picture side does not fit in 32 bits",
        ));
    };
    let mut temp = Pending::new(path);
    let file = File::create(temp.tmp()).map_err(|e| RasterError::io(path, e))?;
    let mut out = BufWriter::new(file);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode(rgb, w32, h32, image::ExtendedColorType::Rgb8)
        .map_err(|cause| RasterError::Picture {
            path: path.to_path_buf(),
            cause,
        })?;
    std::io::Write::flush(&mut out).map_err(|e| RasterError::io(path, e))?;
    temp.commit().map_err(|e| RasterError::io(path, e))
}

/// A PNG or JPEG picture as 8-bit RGB (3 bands); gray and palette pictures are expanded,
/// alpha is dropped.
pub fn read_picture(path: &Path) -> Result<Raster, RasterError> {
    let (width, height, channels, samples) = read_picture_rgba(path)?;
    Ok(picture_raster(width, height, channels, &samples))
}

/// The 8-bit RGB raster of [`read_picture_rgba`]'s samples (alpha dropped): what
/// [`read_picture`] returns, for a caller that also needs the samples themselves.
pub fn picture_raster(width: usize, height: usize, channels: usize, samples: &[u8]) -> Raster {
    Raster {
        width,
        height,
        bands: 3,
        pixels: Pixels::U8(rgb_of(samples, channels)),
        geo: None,
        nodata: None,
    }
}

/// The RGB of interleaved RGB (`channels` 3) or RGBA (4) samples, alpha dropped as the
/// `image` crate's RGBA → RGB conversion does.
fn rgb_of(samples: &[u8], channels: usize) -> Vec<u8> {
    if channels == 3 {
        return samples.to_vec();
    }
    samples
        .chunks_exact(channels.max(1))
        .flat_map(|px| px.iter().take(3).copied())
        .collect()
}

/// A PNG or JPEG picture as interleaved 8-bit samples with its channel count: 4 (RGBA) when
/// the picture has an alpha channel, else 3 (RGB; gray and palette pictures expanded).
/// Returns `(width, height, channels, samples)`.
pub fn read_picture_rgba(path: &Path) -> Result<(usize, usize, usize, Vec<u8>), RasterError> {
    let pic_err = |cause| RasterError::Picture {
        path: path.to_path_buf(),
        cause,
    };
    let img = image::ImageReader::open(path)
        .map_err(|e| RasterError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| RasterError::io(path, e))?
        .decode()
        .map_err(pic_err)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    Ok(if img.color().has_alpha() {
        (w, h, 4, img.into_rgba8().into_raw())
    } else {
        (w, h, 3, img.into_rgb8().into_raw())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_rgb_and_gray_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (5, 3);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 17 % 256) as u8).collect();
        let p = dir.path().join("a.png");
        write_png_rgb(&p, w, h, &rgb).unwrap();
        let r = read_picture(&p).unwrap();
        assert_eq!((r.width, r.height, r.bands), (w, h, 3));
        assert_eq!(r.pixels, Pixels::U8(rgb));

        let gray: Vec<u8> = (0..w * h).map(|i| (i * 40 % 256) as u8).collect();
        let p = dir.path().join("g.png");
        write_png_gray(&p, w, h, &gray).unwrap();
        let r = read_picture(&p).unwrap();
        let expanded: Vec<u8> = gray.iter().flat_map(|&g| [g, g, g]).collect();
        assert_eq!(r.pixels, Pixels::U8(expanded));
    }

    #[test]
    fn jpeg_reads_as_rgb_close_to_source() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jpg");
        // A smooth picture survives JPEG's loss to within a few levels.
        let (w, h) = (32u32, 16u32);
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 8) as u8, (y * 16) as u8, 128])
        });
        img.save(&p).unwrap();
        let r = read_picture(&p).unwrap();
        assert_eq!((r.width, r.height, r.bands), (32, 16, 3));
        let Pixels::U8(v) = &r.pixels else {
            panic!("not bytes")
        };
        let err = v
            .iter()
            .zip(img.as_raw())
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
            .max()
            .unwrap();
        assert!(err <= 12, "JPEG error {err}");
    }

    #[test]
    fn jpeg_writes_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jpg");
        let rgb: Vec<u8> = (0..16 * 8 * 3).map(|i| (i % 200) as u8).collect();
        write_jpeg_rgb(&p, 16, 8, &rgb, 75).unwrap();
        let (w, h, c, _) = read_picture_rgba(&p).unwrap();
        assert_eq!((w, h, c), (16, 8, 3));
        assert!(write_jpeg_rgb(&p, 16, 9, &rgb, 75).is_err());
    }

    #[test]
    fn alpha_is_kept_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        let img = image::RgbaImage::from_fn(3, 2, |x, y| image::Rgba([x as u8, y as u8, 7, 200]));
        img.save(&p).unwrap();
        let (w, h, c, v) = read_picture_rgba(&p).unwrap();
        assert_eq!((w, h, c), (3, 2, 4));
        assert_eq!(v, img.clone().into_raw());
        // read_picture drops the alpha, as the image crate's own RGB conversion does.
        let Pixels::U8(rgb) = read_picture(&p).unwrap().pixels else {
            panic!("8-bit RGB")
        };
        assert_eq!(
            rgb,
            image::DynamicImage::ImageRgba8(img.clone())
                .into_rgb8()
                .into_raw()
        );
        assert_eq!(rgb_of(&v, 4), rgb);
        let q = dir.path().join("b.png");
        write_png_rgb(&q, 2, 1, &[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            read_picture_rgba(&q).unwrap(),
            (2, 1, 3, vec![1, 2, 3, 4, 5, 6])
        );
    }

    #[test]
    fn wrong_length_names_file() {
        let err = write_png_rgb(Path::new("/tmp/x.png"), 2, 2, &[0; 5]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/tmp/x.png") && msg.contains("expected 12"),
            "{msg}"
        );
    }
}

//! Files shaped like the InSAR products users download, for tests and demos: LiCSAR
//! (COMET) `*.geo.*.tif` in EPSG:4326 and ASF HyP3 `*_*.tif` in WGS 84 / UTM, each with
//! GDAL_NODATA = 0 as the real products have.

use std::path::{Path, PathBuf};

use crate::codec::Compression;
use crate::error::RasterError;
use crate::geo::GeoInfo;
use crate::raster::{Pixels, Raster};
use crate::tiff_write::{Layout, WriteOptions, write_geotiff};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// `<pair>.geo.diff_pha.tif`: wrapped (filtered) phase, Float32 radians.
    LicsarWrappedPhase,
    /// `<pair>.geo.unw.tif`: unwrapped phase, Float32 radians.
    LicsarUnwrapped,
    /// `<pair>.geo.cc.tif`: coherence as Byte, round(γ × 255) (current LiCSAR products;
    /// early ones were Float32). Users divide by 255, see [`Raster::coherence`].
    LicsarCoherence,
    /// `<granule>_wrapped_phase.tif`: Float32 radians.
    Hyp3WrappedPhase,
    /// `<granule>_unw_phase.tif`: Float32 radians.
    Hyp3Unwrapped,
    /// `<granule>_corr.tif`: Float32 coherence.
    Hyp3Coherence,
}

impl Product {
    pub fn file_name(self, stem: &str) -> String {
        let suffix = match self {
            Product::LicsarWrappedPhase => ".geo.diff_pha.tif",
            Product::LicsarUnwrapped => ".geo.unw.tif",
            Product::LicsarCoherence => ".geo.cc.tif",
            Product::Hyp3WrappedPhase => "_wrapped_phase.tif",
            Product::Hyp3Unwrapped => "_unw_phase.tif",
            Product::Hyp3Coherence => "_corr.tif",
        };
        format!("{stem}{suffix}")
    }

    pub fn is_licsar(self) -> bool {
        matches!(
            self,
            Product::LicsarWrappedPhase | Product::LicsarUnwrapped | Product::LicsarCoherence
        )
    }
}

/// Writes `values` (radians, or coherence in [0, 1]) as `product` into `dir`, named from
/// `stem` (a LiCSAR pair "20200101_20200113" or a HyP3 granule name). LiCSAR products must
/// be EPSG:4326 and HyP3 ones WGS 84 / UTM (326xx, 327xx), as the real ones are.
pub fn write_product(
    dir: &Path,
    stem: &str,
    product: Product,
    w: usize,
    h: usize,
    values: &[f32],
    geo: &GeoInfo,
) -> Result<PathBuf, RasterError> {
    let path = dir.join(product.file_name(stem));
    let crs_ok = match geo.epsg {
        Some(4326) => product.is_licsar(),
        Some(e) => !product.is_licsar() && (32601..=32760).contains(&e),
        None => false,
    };
    if !crs_ok {
        return Err(RasterError::argument(
            &path,
            format!(
                "{product:?} products are in {}, got EPSG {:?}",
                if product.is_licsar() {
                    "EPSG:4326"
                } else {
                    "UTM (EPSG:326xx/327xx)"
                },
                geo.epsg
            ),
        ));
    }
    if values.len() != w * h {
        return Err(RasterError::argument(
            &path,
            format!("{} values for {w}×{h}", values.len()),
        ));
    }
    let pixels = if product == Product::LicsarCoherence {
        Pixels::U8(
            values
                .iter()
                .map(|&c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect(),
        )
    } else {
        Pixels::F32(values.to_vec())
    };
    let opts = if product.is_licsar() {
        WriteOptions::default()
    } else {
        // HyP3 ships cloud-optimised GeoTIFFs: Deflate, 256-pixel tiles.
        WriteOptions {
            compression: Compression::Deflate,
            layout: Layout::Tiles {
                width: 256,
                height: 256,
            },
            ..WriteOptions::default()
        }
    };
    let raster = Raster {
        width: w,
        height: h,
        bands: 1,
        pixels,
        geo: Some(*geo),
        nodata: Some(0.0),
    };
    write_geotiff(&path, &raster, &opts)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoTransform;
    use crate::tiff_read::{GeoTiffReader, StoredType};

    fn phase(w: usize, h: usize) -> Vec<f32> {
        // A wrapped bowl, with a no-data border row as in real frames.
        (0..w * h)
            .map(|i| {
                let (x, y) = (
                    (i % w) as f32 - w as f32 / 2.0,
                    (i / w) as f32 - h as f32 / 2.0,
                );
                if i < w {
                    0.0
                } else {
                    let p = 0.05 * (x * x + y * y) + 0.5;
                    (p + std::f32::consts::PI).rem_euclid(2.0 * std::f32::consts::PI)
                        - std::f32::consts::PI
                }
            })
            .collect()
    }

    #[test]
    fn licsar_products_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (40, 30);
        let geo = GeoInfo::new(
            GeoTransform::north_up(18.9, 50.3, 0.001, -0.001),
            Some(4326),
        );
        let ph = phase(w, h);
        let p = write_product(
            dir.path(),
            "20200101_20200113",
            Product::LicsarWrappedPhase,
            w,
            h,
            &ph,
            &geo,
        )
        .unwrap();
        assert!(
            p.to_string_lossy()
                .ends_with("20200101_20200113.geo.diff_pha.tif")
        );
        let mut rd = GeoTiffReader::open(&p).unwrap();
        assert_eq!(
            (rd.layout().stored, rd.nodata(), rd.geo().copied()),
            (StoredType::F32, Some(0.0), Some(geo))
        );
        let r = rd.read_all().unwrap();
        assert_eq!(r.pixels, Pixels::F32(ph.clone()));
        assert_eq!(r.valid_mask().iter().filter(|v| !**v).count(), w);

        let p = write_product(
            dir.path(),
            "20200101_20200113",
            Product::LicsarUnwrapped,
            w,
            h,
            &ph,
            &geo,
        )
        .unwrap();
        assert!(
            p.to_string_lossy()
                .ends_with("20200101_20200113.geo.unw.tif")
        );
        assert_eq!(
            crate::read_geotiff(&p).unwrap().pixels,
            Pixels::F32(ph.clone())
        );

        let coh: Vec<f32> = (0..w * h).map(|i| (i % 256) as f32 / 255.0).collect();
        let p = write_product(
            dir.path(),
            "20200101_20200113",
            Product::LicsarCoherence,
            w,
            h,
            &coh,
            &geo,
        )
        .unwrap();
        let r = crate::read_geotiff(&p).unwrap();
        assert_eq!(r.pixels.type_name(), "Byte");
        let back = r.coherence().unwrap();
        assert!(back.iter().zip(&coh).all(|(a, b)| (a - b).abs() < 1e-6));
        // Coherence exactly 0 is no-data in LiCSAR's encoding.
        assert!(!r.valid_mask()[0] && r.valid_mask()[1]);
    }

    #[test]
    fn hyp3_products_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (300, 20);
        let geo = GeoInfo::new(
            GeoTransform::north_up(399960.0, 5600040.0, 80.0, -80.0),
            Some(32634),
        );
        let stem = "S1AA_20200101T045302_20200113T045302_VVP012_INT80_G_ueF_1A2B";
        for product in [
            Product::Hyp3WrappedPhase,
            Product::Hyp3Unwrapped,
            Product::Hyp3Coherence,
        ] {
            let v = phase(w, h);
            let p = write_product(dir.path(), stem, product, w, h, &v, &geo).unwrap();
            let mut rd = GeoTiffReader::open(&p).unwrap();
            assert!(rd.layout().tiled);
            assert_eq!(rd.geo().unwrap().epsg, Some(32634));
            assert_eq!(rd.read_all().unwrap().pixels, Pixels::F32(v));
        }
        let err = write_product(
            dir.path(),
            stem,
            Product::Hyp3Coherence,
            w,
            h,
            &phase(w, h),
            &GeoInfo::new(geo.transform, Some(4326)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("UTM"), "{err}");
    }
}

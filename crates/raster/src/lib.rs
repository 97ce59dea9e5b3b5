//! InSAR raster I/O for yolo-basin: GeoTIFF (Float32, CFloat32, Byte RGB/gray; strips and
//! tiles; none/LZW/Deflate/PackBits/ZSTD/LZMA; BigTIFF) with geotransform, EPSG, no-data
//! and band descriptions; streaming row reads; GAMMA raw rasters with their `.par` files;
//! raw rasters with a header: ISCE2 (`.xml`), GDAL raw VRT (`.vrt`), ENVI (`.hdr`), SNAP
//! BEAM-DIMAP (`.dim` + `.data/`); PNG/JPEG pictures.
//!
//! Entry points: [`read_any`] / [`open_any`] (any format, whole or by rows), [`open_band`]
//! (one band, chosen by number, name or the format's convention),
//! [`read_geotiff`] / [`GeoTiffReader`], [`write_geotiff_f32`] / [`write_geotiff_c32`] /
//! [`write_geotiff`] / [`GeoTiffWriter`] (streamed), [`gamma`] (raw rasters, `.par` files,
//! DEM geotransform), [`write_png_rgb`] / [`read_picture`], [`describe`] (gdalinfo-like
//! report), [`products`] (files shaped like LiCSAR and HyP3 products, for tests).
//!
//! Conventions: pixels are band-interleaved by pixel; the geotransform is GDAL's (pixel
//! corner origin, also for PixelIsPoint files); a pixel is invalid where it is NaN, equals
//! the no-data value, or is an exact complex zero ([`Raster::valid_mask`]).

pub mod any;
pub mod atomic;
pub mod band;
mod chunk;
pub mod codec;
pub mod convert;
pub mod crs;
pub mod dimap;
pub mod envi;
pub mod error;
pub mod gamma;
pub mod geo;
pub mod info;
pub mod isce;
pub mod picture;
pub mod products;
mod raster;
pub mod rawbands;
pub mod tiff_read;
pub mod tiff_write;
pub mod vrt;
pub mod xml;

pub use any::{Format, ReadOptions, RowReader, detect_format, open_any, read_any, read_any_with};
pub use band::{BandChoice, open_band};
pub use codec::Compression;
pub use convert::convert_to_geotiff;
pub use error::RasterError;
pub use geo::{GeoInfo, GeoTransform};
pub use info::{RasterInfo, describe};
pub use num_complex::Complex32;
pub use picture::{
    picture_raster, read_picture, read_picture_rgba, write_jpeg_rgb, write_png_gray, write_png_rgb,
};
pub use raster::{BandStats, Pixels, Raster, StatsAccumulator};
pub use tiff_read::{GeoTiffReader, StoredType, TiffLayout, read_geotiff};
pub use tiff_write::{
    GeoTiffWriter, Layout, RasterSpec, SampleType, WriteOptions, write_geotiff, write_geotiff_c32,
    write_geotiff_f32, write_geotiff_u8,
};

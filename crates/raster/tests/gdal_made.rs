//! Reading GeoTIFFs that GDAL wrote (see tests/data/gdal/README.md): features our own
//! writer does not produce (big-endian, planar bands, integer and Float64 samples) and an
//! independent encoder for the ones it does.

use std::path::{Path, PathBuf};

use raster::{Complex32, GeoTiffReader, Pixels, StoredType, read_geotiff};

const W: usize = 20;
const H: usize = 15;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/gdal")
        .join(name)
}

fn value(i: usize) -> f32 {
    ((i * 7919) % 1000) as f32 - 500.0
}

fn f32s(p: &Pixels) -> &[f32] {
    match p {
        Pixels::F32(v) => v,
        other => panic!("expected Float32, got {}", other.type_name()),
    }
}

fn check_geo_4326(r: &raster::Raster) {
    let g = r.geo.expect("geotransform");
    assert_eq!(g.epsg, Some(4326));
    assert!(!g.pixel_is_point);
    let t = g.transform.0;
    assert!(
        (t[0] - 150.0).abs() < 1e-12 && (t[3] + 33.0).abs() < 1e-12,
        "{t:?}"
    );
    assert!(
        (t[1] - 0.0005).abs() < 1e-15 && (t[5] + 0.0005).abs() < 1e-15,
        "{t:?}"
    );
}

#[test]
fn big_endian_complex() {
    let mut rd = GeoTiffReader::open(&data("c32_big_endian.tif")).unwrap();
    assert!(rd.layout().big_endian);
    assert_eq!(rd.layout().stored, StoredType::CF32);
    let r = rd.read_all().unwrap();
    check_geo_4326(&r);
    let want: Vec<Complex32> = (0..W * H)
        .map(|i| Complex32::new(value(i), (i % 17) as f32 - 8.0))
        .collect();
    assert_eq!(r.pixels, Pixels::C32(want));
}

#[test]
fn complex_int16() {
    let r = read_geotiff(&data("cint16.tif")).unwrap();
    let want: Vec<Complex32> = (0..W * H)
        .map(|i| Complex32::new(value(i), (i % 17) as f32 - 8.0))
        .collect();
    assert_eq!(r.pixels, Pixels::C32(want));
}

#[test]
fn big_endian_lzw_horizontal_predictor_tiles() {
    let mut rd = GeoTiffReader::open(&data("f32_be_lzw_pred2_tiled.tif")).unwrap();
    let l = rd.layout().clone();
    assert!(l.big_endian && l.tiled && l.predictor == 2 && l.compression == 5);
    assert_eq!(l.chunk, (16, 16));
    let r = rd.read_all().unwrap();
    check_geo_4326(&r);
    assert_eq!(r.nodata, Some(0.0));
    let want: Vec<f32> = (0..W * H).map(value).collect();
    assert_eq!(f32s(&r.pixels), want.as_slice());
    // Streaming across the tile boundary at row 16 is not possible (H = 15), but a window
    // inside one tile row must still come out right.
    let part = rd.read_rows(7, 5).unwrap();
    assert_eq!(f32s(&part.pixels), &want[7 * W..12 * W]);
}

#[test]
fn float64_bigtiff_floating_point_predictor() {
    let mut rd = GeoTiffReader::open(&data("f64_bigtiff_pred3_tiled.tif")).unwrap();
    assert!(rd.layout().bigtiff);
    assert_eq!(
        (rd.layout().stored, rd.layout().predictor),
        (StoredType::F64, 3)
    );
    let r = rd.read_all().unwrap();
    let want: Vec<f32> = (0..W * H).map(value).collect();
    assert_eq!(f32s(&r.pixels), want.as_slice());
}

#[test]
fn int16_deflate_predictor() {
    let r = read_geotiff(&data("i16_deflate_pred2.tif")).unwrap();
    let want: Vec<f32> = (0..W * H).map(value).collect();
    assert_eq!(f32s(&r.pixels), want.as_slice());
    assert_eq!(r.nodata, Some(0.0));
}

#[test]
fn planar_rgb_packbits() {
    let mut rd = GeoTiffReader::open(&data("rgb_planar_packbits.tif")).unwrap();
    assert!(rd.layout().planar);
    let r = rd.read_all().unwrap();
    assert_eq!(r.bands, 3);
    let want: Vec<u8> = (0..W * H * 3).map(|k| (k * 31 % 256) as u8).collect();
    assert_eq!(r.pixels, Pixels::U8(want.clone()));
    let part = rd.read_rows(3, 4).unwrap();
    assert_eq!(part.pixels, Pixels::U8(want[3 * W * 3..7 * W * 3].to_vec()));
}

#[test]
fn utm_pixel_is_point_matches_gdal_origin() {
    let r = read_geotiff(&data("f32_utm_point_lzw_pred3.tif")).unwrap();
    let g = r.geo.unwrap();
    assert_eq!(g.epsg, Some(32633));
    assert!(g.pixel_is_point);
    assert_eq!(g.transform.0, [500000.0, 20.0, 0.0, 4000000.0, 0.0, -20.0]);
    let want: Vec<f32> = (0..W * H).map(value).collect();
    assert_eq!(f32s(&r.pixels), want.as_slice());
}

fn random_f32(n: usize) -> Vec<f32> {
    let mut x: u64 = 12345;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f32::from_bits(x as u32)
        })
        .collect()
}

#[test]
fn high_entropy_padded_tiles_every_codec() {
    let want = random_f32(37 * 23);
    for name in [
        "f32_random_lzw_tiled.tif",
        "f32_random_lzw_pred3_tiled.tif",
        "f32_random_lzw_pred3_strips.tif",
        "f32_random_deflate_tiled.tif",
    ] {
        let mut rd = GeoTiffReader::open(&data(name)).unwrap();
        assert_eq!((rd.width(), rd.height()), (37, 23), "{name}");
        let r = rd.read_all().unwrap();
        let got = f32s(&r.pixels);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}"
        );
        let part = rd.read_rows(14, 9).unwrap();
        assert!(
            f32s(&part.pixels)
                .iter()
                .zip(&want[14 * 37..])
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name} rows 14..23"
        );
    }
}

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

/// ZSTD and LZMA GeoTIFFs GDAL wrote (strips, tiles, predictors 2 and 3, Int16, CFloat32,
/// high-entropy padded tiles): the same values as their LZW/Deflate sources.
#[test]
fn zstd_and_lzma_every_layout() {
    let want: Vec<f32> = (0..W * H).map(value).collect();
    for (name, compression, predictor, tiled) in [
        ("f32_zstd_pred3_tiled.tif", "ZSTD", 3, true),
        ("f32_lzma_strips.tif", "LZMA", 1, false),
        ("i16_zstd_pred2_strips.tif", "ZSTD", 2, false),
    ] {
        let mut rd = GeoTiffReader::open(&data(name)).unwrap();
        let l = rd.layout().clone();
        assert_eq!(
            (l.compression_name().as_str(), l.predictor, l.tiled),
            (compression, predictor, tiled),
            "{name}"
        );
        let r = rd.read_all().unwrap();
        assert_eq!(f32s(&r.pixels), want.as_slice(), "{name}");
        assert_eq!(r.nodata, Some(0.0), "{name}");
        // Rows across strip boundaries (4 and 6 rows a strip) and inside one tile.
        let part = rd.read_rows(3, 9).unwrap();
        assert_eq!(
            f32s(&part.pixels),
            &want[3 * W..12 * W],
            "{name} rows 3..12"
        );
    }
    let mut rd = GeoTiffReader::open(&data("f32_zstd_pred3_tiled.tif")).unwrap();
    check_geo_4326(&rd.read_all().unwrap());

    let r = read_geotiff(&data("c32_lzma_tiled.tif")).unwrap();
    check_geo_4326(&r);
    let want: Vec<Complex32> = (0..W * H)
        .map(|i| Complex32::new(value(i), (i % 17) as f32 - 8.0))
        .collect();
    assert_eq!(r.pixels, Pixels::C32(want));

    let want = random_f32(37 * 23);
    for name in [
        "f32_random_zstd_tiled.tif",
        "f32_random_lzma_pred3_tiled.tif",
    ] {
        let r = read_geotiff(&data(name)).unwrap();
        let got = f32s(&r.pixels);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}"
        );
    }
}

/// GDAL writes band descriptions into its metadata tag; a multi-band file read without a
/// band chosen is refused with them, and a band is chosen by number or name.
#[test]
fn band_descriptions_and_band_choice() {
    use raster::{BandChoice, ReadOptions, open_band};
    let p = data("f32x3_described_zstd.tif");
    let rd = GeoTiffReader::open(&p).unwrap();
    assert_eq!(
        rd.band_descriptions(),
        &[
            Some("amplitude".to_string()),
            Some("unwrapped phase".to_string()),
            None
        ]
    );
    let opts = ReadOptions::default();
    let e = open_band(&p, &opts, None).err().unwrap().to_string();
    assert!(
        e.contains("3 bands")
            && e.contains("1 \"amplitude\", 2 \"unwrapped phase\", 3")
            && e.contains("--band"),
        "{e}"
    );
    let want: Vec<f32> = (0..W * H).map(value).collect();
    let by_name = BandChoice::Name("Unwrapped Phase".into());
    let mut r = open_band(&p, &opts, Some(&by_name)).unwrap();
    assert_eq!(r.band_names(), vec![Some("unwrapped phase".to_string())]);
    let got = r.read_all().unwrap();
    assert_eq!(got.bands, 1);
    let twice: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
    assert_eq!(f32s(&got.pixels), twice.as_slice());
    let mut r = open_band(&p, &opts, Some(&BandChoice::Number(3))).unwrap();
    let plus1: Vec<f32> = want.iter().map(|v| v + 1.0).collect();
    assert_eq!(f32s(&r.read_rows(0, H).unwrap().pixels), plus1.as_slice());
}

/// A 16 MiB strip of zeros, as GDAL compresses it: LZMA at 6533:1 and ZSTD at 31715:1,
/// close to the ceilings the reader allows (7200:1, 32768:1) but under them.
#[test]
fn constant_strips_near_the_zstd_and_lzma_ceilings_read() {
    for name in ["zeros_2048_lzma_strip.tif", "zeros_2048_zstd22_strip.tif"] {
        let r = read_geotiff(&data(name)).unwrap();
        assert_eq!((r.width, r.height), (2048, 2048), "{name}");
        assert!(f32s(&r.pixels).iter().all(|&v| v == 0.0), "{name}");
    }
}

//! Real files written by GAMMA / PyRate (../shared/fixtures/real, see its README.md): every
//! number GDAL reports there must come out of our readers. Skips, saying so, where the
//! folder is absent.
// The constants are GDAL's and GAMMA's printed digits, kept as printed.
#![allow(clippy::excessive_precision)]

use std::path::PathBuf;

use raster::gamma::{self, RawKind, RawReader};
use raster::{GeoTiffReader, Pixels, Raster, ReadOptions, StoredType, read_any, read_any_with};

fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/real/pyrate"
    ));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

fn f32s(r: &Raster) -> &[f32] {
    match &r.pixels {
        Pixels::F32(v) => v,
        other => panic!("expected Float32, got {}", other.type_name()),
    }
}

struct Expect {
    name: &'static str,
    size: (usize, usize),
    compression: &'static str,
    rows_per_strip: usize,
    origin: (f64, f64),
    pixel: (f64, f64),
    point: bool,
    min: &'static str,
    max: &'static str,
    valid_percent: Option<&'static str>,
}

fn check_geotiff(e: &Expect) {
    let Some(dir) = fixtures() else { return };
    let mut rd = GeoTiffReader::open(&dir.join(e.name)).unwrap();
    assert_eq!((rd.width(), rd.height()), e.size, "{}", e.name);
    assert_eq!(rd.layout().stored, StoredType::F32);
    assert_eq!(rd.layout().stored.gdal_name(), "Float32");
    assert_eq!(rd.layout().compression_name(), e.compression, "{}", e.name);
    assert!(!rd.layout().tiled);
    assert_eq!(rd.rows_per_chunk(), e.rows_per_strip, "{}", e.name);
    assert_eq!(rd.nodata(), Some(0.0));
    let g = *rd.geo().unwrap();
    assert_eq!(g.epsg, Some(4326));
    assert_eq!(g.pixel_is_point, e.point, "{}", e.name);
    let (x0, y0) = g.transform.origin();
    assert!((x0 - e.origin.0).abs() < 1e-9, "{}: x0 {x0}", e.name);
    assert!((y0 - e.origin.1).abs() < 1e-9, "{}: y0 {y0}", e.name);
    let (dx, dy) = g.transform.pixel_size();
    assert!(
        (dx - e.pixel.0).abs() < 1e-12 && (dy - e.pixel.1).abs() < 1e-12,
        "{dx} {dy}"
    );
    let r = rd.read_all().unwrap();
    let s = r.band_stats(0).unwrap();
    assert_eq!(format!("{:.3}", s.min), e.min, "{}", e.name);
    assert_eq!(format!("{:.3}", s.max), e.max, "{}", e.name);
    if let Some(p) = e.valid_percent {
        let digits = p.split('.').nth(1).map_or(0, str::len);
        assert_eq!(format!("{:.*}", digits, s.valid_percent()), p, "{}", e.name);
    }
    // Streaming in uneven bands of rows gives the same pixels as the whole read.
    let full = f32s(&r).to_vec();
    let mut y = 0;
    while y < rd.height() {
        let n = 7.min(rd.height() - y);
        let part = rd.read_rows(y, n).unwrap();
        let want = &full[y * rd.width()..(y + n) * rd.width()];
        assert!(
            f32s(&part)
                .iter()
                .zip(want)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        y += n;
    }
}

#[test]
fn crop_a_unwrapped_phase() {
    check_geotiff(&Expect {
        name: "cropA_20180106-20180130_VV_8rlks_eqa_unw.tif",
        size: (100, 60),
        compression: "PACKBITS",
        rows_per_strip: 20,
        origin: (-99.191069781636742, 19.451292623451756),
        pixel: (0.0013888889, -0.0013888889),
        point: false,
        min: "5.234",
        max: "11.119",
        valid_percent: Some("98.3"),
    });
}

#[test]
fn crop_a_coherence() {
    check_geotiff(&Expect {
        name: "cropA_20180106-20180130_VV_8rlks_flat_eqa_cc.tif",
        size: (100, 60),
        compression: "PACKBITS",
        rows_per_strip: 20,
        origin: (-99.191069781636742, 19.451292623451756),
        pixel: (0.0013888889, -0.0013888889),
        point: false,
        min: "0.116",
        max: "0.903",
        valid_percent: Some("98.15"),
    });
}

#[test]
fn pixel_is_point_16x20() {
    check_geotiff(&Expect {
        name: "16x20_20090713-20090817_VV_4rlks_utm.tif",
        size: (16, 20),
        compression: "NONE",
        rows_per_strip: 20,
        origin: (150.387050238714437, -33.383159247503500),
        pixel: (0.000069444446126, -0.000069444446126),
        point: true,
        min: "19.785",
        max: "20.134",
        valid_percent: None,
    });
}

#[test]
fn gamma_16x20_equals_its_geotiff() {
    let Some(dir) = fixtures() else { return };
    let unw = dir.join("16x20_20090713-20090817_VV_4rlks_utm.unw");
    // No parameter file follows this raster's naming: the error must say where we looked
    // and that --width exists.
    let err = read_any(&unw).unwrap_err().to_string();
    assert!(
        err.contains("16x20_20090713-20090817_VV_4rlks_utm.unw.par") && err.contains("--width"),
        "{err}"
    );
    let opts = ReadOptions {
        par: Some(dir.join("dem16x20raw.dem.par")),
        ..ReadOptions::default()
    };
    let raw = read_any_with(&unw, &opts).unwrap();
    let tif = raster::read_geotiff(&dir.join("16x20_20090713-20090817_VV_4rlks_utm.tif")).unwrap();
    assert_eq!((raw.width, raw.height), (16, 20));
    assert_eq!(f32s(&raw), f32s(&tif));
    assert_eq!(f32s(&raw)[0], 20.133993);
    assert_eq!(f32s(&raw)[19 * 16 + 15], 20.079365);
    // corner_lon/lat name the first pixel's centre; the GeoTIFF's tiepoint is the same
    // point rounded to float32, hence agreement to ~2e-6 degrees, not 1e-9.
    let (gr, gt) = (raw.geo.unwrap(), tif.geo.unwrap());
    assert_eq!(gr.epsg, Some(4326));
    for k in [0, 3] {
        assert!(
            (gr.transform.0[k] - gt.transform.0[k]).abs() < 2e-6,
            "{gr:?} vs {gt:?}"
        );
    }
    for k in [1, 5] {
        assert!((gr.transform.0[k] - gt.transform.0[k]).abs() < 1e-11);
    }
    assert_eq!(gr.transform.0[0], 150.3870833 - 6.9444445e-05 / 2.0);
}

#[test]
fn gamma_47x72_found_by_pair_naming() {
    let Some(dir) = fixtures() else { return };
    let unw = dir.join("20060619-20061002_utm.unw");
    let r = read_any(&unw).unwrap();
    assert_eq!((r.width, r.height), (47, 72));
    let v = f32s(&r);
    let min = v.iter().copied().fold(f32::INFINITY, f32::min);
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert_eq!(format!("{min:.4}"), "-3.5678");
    assert_eq!(max, 0.0);
    assert_eq!(v.iter().filter(|&&x| x == 0.0).count(), 89);
    assert_eq!(r.valid_mask().iter().filter(|ok| !**ok).count(), 89);
    assert_eq!(&v[..4], &[-2.1485236, -2.12366, -2.1058574, -2.1224053]);
    // The README prints this one to 7 significant digits.
    assert_eq!(format!("{:.6}", v[10 * 47 + 20]), "-2.121795");
    let g = r.geo.unwrap();
    assert_eq!(g.epsg, Some(4326));
    assert_eq!(
        g.transform.0,
        [
            150.91 - 8.33333e-04 / 2.0,
            8.33333e-04,
            0.0,
            -34.17 + 8.33333e-04 / 2.0,
            0.0,
            -8.33333e-04
        ]
    );
    // Streaming rows through the raw reader matches.
    let mut rd = RawReader::open(&unw, RawKind::F32, 47, Some(72), None).unwrap();
    assert_eq!(f32s(&rd.read_rows(70, 2).unwrap()), &v[70 * 47..]);
    // A wrong width is caught by the file size and the error names the file.
    let err = RawReader::open(&unw, RawKind::F32, 46, None, None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("20060619-20061002_utm.unw") && err.contains("width 46"),
        "{err}"
    );
}

#[test]
fn other_par_layouts_parse() {
    let Some(dir) = fixtures() else { return };
    let slc = gamma::parse_par(&dir.join("20060619_slc.par")).unwrap();
    let f = slc.get_f64(&["radar_frequency"]).unwrap().unwrap();
    assert_eq!(f, 5.334694994e9);
    let wavelength = 299_792_458.0 / f;
    assert!((wavelength - 0.0561970).abs() < 1e-6, "{wavelength}");
    assert_eq!(slc.get_f64(&["incidence_angle"]).unwrap(), Some(22.9671));
    assert_eq!(slc.get_f64(&["heading"]).unwrap(), Some(193.1522256));
    assert_eq!(
        (slc.width().unwrap(), slc.lines().unwrap()),
        (Some(8630), Some(8571))
    );
    assert_eq!(slc.get("date").as_deref(), Some("2006 06 19 8 28 59.6906"));
    assert_eq!(gamma::dem_par_geo(&slc).unwrap(), None);
    let base = gamma::parse_par(&dir.join("20060619-20061002_base.par")).unwrap();
    let e = base.entry("precision_baseline(TCN)").unwrap();
    assert_eq!(e.values[..3], ["0.1585592", "15.3525463", "9.7718029"]);
}

#[test]
fn info_prints_gdal_numbers() {
    let Some(dir) = fixtures() else { return };
    let info = raster::describe(
        &dir.join("cropA_20180106-20180130_VV_8rlks_eqa_unw.tif"),
        &ReadOptions::default(),
    )
    .unwrap();
    let text = info.to_string();
    for want in [
        "Size is 100, 60",
        "Coordinate System is EPSG:4326",
        "Origin = (-99.191069781636742,19.451292623451756)",
        "AREA_OR_POINT=Area",
        "COMPRESSION=PACKBITS",
        "Block=100x20 Type=Float32",
        "Minimum=5.234, Maximum=11.119",
        "NoData Value=0",
        "STATISTICS_VALID_PERCENT=98.3",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let info = raster::describe(
        &dir.join("20060619-20061002_utm.unw"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(info.par, Some(dir.join("20060619_utm_dem.par")));
    assert_eq!(info.stats[0].total - info.stats[0].valid, 89);
    assert!(info.to_string().contains("Minimum=-3.568"));
}

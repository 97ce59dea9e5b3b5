//! Raw rasters with a header, written byte for byte as ISCE2, ENVI and SNAP write them
//! (tests/data/raw/make.py), read by our readers and checked against what GDAL 3.6 reads
//! from the same files (tests/data/raw/answers/, made by gdal_answers.sh): size, band
//! types, names and no-data, geotransform, EPSG code, and every pixel of every band.

use std::path::{Path, PathBuf};

use raster::{
    BandChoice, Complex32, Format, Pixels, Raster, ReadOptions, RowReader, detect_format, open_any,
    open_band,
};
use serde_json::Value;

const W: usize = 7;

fn raw(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/raw")
        .join(p)
}

fn answer(key: &str) -> Value {
    let text = std::fs::read_to_string(raw(&format!("answers/{key}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// GDAL's pixel values of band `b` (from 1), row-major: `Some(re, im)` per pixel.
fn gdal_pixels(key: &str, b: usize) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(raw(&format!("answers/{key}.b{b}.txt"))).unwrap();
    text.lines().map(parse_value).collect()
}

/// As gdallocationinfo prints values: "12.5", "-3", complex "35.625+1.75i",
/// "32.125+-1.75i" (always `+`, the sign of the imaginary part after it).
fn parse_value(s: &str) -> (f64, f64) {
    let s = s.trim();
    let Some(body) = s.strip_suffix('i') else {
        return (s.parse().unwrap(), 0.0);
    };
    let split = body
        .char_indices()
        .skip(1)
        .find(|&(i, c)| c == '+' && !body[..i].ends_with(['e', 'E']))
        .map(|(i, _)| i)
        .unwrap();
    (
        body[..split].parse().unwrap(),
        body[split + 1..].parse().unwrap(),
    )
}

/// The EPSG code GDAL gives the CRS: `gdalsrsinfo -e`'s match, else (GDAL finds no code
/// for ESRI-style WGS 84 definitions and says EPSG:0) 4326 for a geographic CRS on the WGS
/// 84 ellipsoid; `None` without a CRS.
fn gdal_epsg(key: &str) -> Option<u32> {
    let text = std::fs::read_to_string(raw(&format!("answers/{key}.epsg.txt"))).unwrap();
    let code: u32 = text.lines().next()?.strip_prefix("EPSG:")?.parse().ok()?;
    if code != 0 {
        return Some(code);
    }
    let wkt = answer(key)["coordinateSystem"]["wkt"].as_str()?.to_string();
    (wkt.starts_with("GEOGCRS") && wkt.contains("6378137,298.257223563")).then_some(4326)
}

fn pixel_values(r: &Raster) -> Vec<Vec<(f64, f64)>> {
    let nb = r.bands;
    (0..nb)
        .map(|b| match &r.pixels {
            Pixels::F32(v) => v
                .iter()
                .skip(b)
                .step_by(nb)
                .map(|&x| (f64::from(x), 0.0))
                .collect(),
            Pixels::U8(v) => v
                .iter()
                .skip(b)
                .step_by(nb)
                .map(|&x| (f64::from(x), 0.0))
                .collect(),
            Pixels::C32(v) => v
                .iter()
                .skip(b)
                .step_by(nb)
                .map(|z| (f64::from(z.re), f64::from(z.im)))
                .collect(),
        })
        .collect()
}

/// Our band `ours` (from 1) of `r` holds what GDAL reads as band `theirs` of `key`. GDAL
/// prints 15 significant digits, more than a float32 has: rounded to float32 they are the
/// samples exactly.
fn same_values(r: &Raster, ours: usize, key: &str, theirs: usize) {
    let f32s = |v: Vec<(f64, f64)>| -> Vec<(f32, f32)> {
        v.into_iter().map(|(a, b)| (a as f32, b as f32)).collect()
    };
    assert_eq!(
        f32s(pixel_values(r)[ours - 1].clone()),
        f32s(gdal_pixels(key, theirs)),
        "band {ours} against GDAL's band {theirs} of {key}"
    );
}

/// Size, geotransform and EPSG code as GDAL reports them for `key` (`geo_key`: the answer
/// whose georeferencing counts, see the ISCE tests).
fn same_frame(reader: &RowReader, key: &str, geo_key: &str) {
    let a = answer(key);
    assert_eq!(
        [reader.width() as u64, reader.height() as u64],
        [
            a["size"][0].as_u64().unwrap(),
            a["size"][1].as_u64().unwrap()
        ],
        "{key}"
    );
    let g = answer(geo_key);
    match (reader.geo(), g["geoTransform"].as_array()) {
        (None, None) => {}
        (Some(ours), Some(theirs)) => {
            for (k, t) in theirs.iter().enumerate() {
                let t = t.as_f64().unwrap();
                let o = ours.transform.0[k];
                // gdalinfo -json prints 16 significant digits.
                assert!(
                    (o - t).abs() <= 1e-12 * t.abs().max(1.0),
                    "{geo_key} [{k}]: {o} vs {t}"
                );
            }
            assert_eq!(ours.epsg, gdal_epsg(geo_key), "{geo_key}");
        }
        (ours, theirs) => panic!("{geo_key}: ours {ours:?}, GDAL's {theirs:?}"),
    }
}

fn gdal_band_field(key: &str, b: usize, field: &str) -> Value {
    answer(key)["bands"][b - 1][field].clone()
}

// ---------------------------------------------------------------- ISCE2

/// ISCE2's `filt_topophase.flat` (CFLOAT) through its XML, its VRT, and the XML named
/// directly. GDAL's ISCE driver gives radar-geometry images the identity transform on WGS
/// 84 (0, 1, 0, 0, 0, 1); ISCE itself writes no georeferencing for them (its VRT has none,
/// nor do we).
#[test]
fn isce_flat_through_xml_and_vrt() {
    let data = raw("isce/filt_topophase.flat");
    assert_eq!(detect_format(&data, None).unwrap(), Format::Isce);
    for (path, format) in [
        (data.clone(), Format::Isce),
        (raw("isce/filt_topophase.flat.xml"), Format::Isce),
        (raw("isce/filt_topophase.flat.vrt"), Format::Vrt),
    ] {
        assert_eq!(detect_format(&path, None).unwrap(), format);
        let mut r = open_any(&path, &ReadOptions::default()).unwrap();
        same_frame(&r, "isce_flat", "isce_flat.vrt");
        assert_eq!(gdal_band_field("isce_flat", 1, "type"), "CFloat32");
        let all = r.read_all().unwrap();
        assert!(matches!(all.pixels, Pixels::C32(_)));
        same_values(&all, 1, "isce_flat", 1);
        same_values(&all, 1, "isce_flat.vrt", 1);
        // A band of rows from the middle.
        let rows = r.read_rows(2, 2).unwrap();
        let want: Vec<Complex32> = gdal_pixels("isce_flat", 1)[2 * W..4 * W]
            .iter()
            .map(|&(re, im)| Complex32::new(re as f32, im as f32))
            .collect();
        assert_eq!(rows.pixels, Pixels::C32(want), "{}", path.display());
    }
}

/// SNAPHU's `filt_topophase.unw`: two line-interleaved bands, amplitude and phase; without
/// a band chosen the phase (band 2) is read, by ISCE's convention.
#[test]
fn isce_unw_reads_its_phase_band_by_convention() {
    for path in [
        raw("isce/filt_topophase.unw"),
        raw("isce/filt_topophase.unw.vrt"),
    ] {
        let mut all = open_any(&path, &ReadOptions::default()).unwrap();
        same_frame(&all, "isce_unw", "isce_unw.vrt");
        assert_eq!((all.bands(), all.phase_band()), (2, Some(2)));
        let r = all.read_all().unwrap();
        same_values(&r, 1, "isce_unw", 1);
        same_values(&r, 2, "isce_unw", 2);
        let mut phase = open_band(&path, &ReadOptions::default(), None).unwrap();
        let r = phase.read_all().unwrap();
        assert_eq!(r.bands, 1);
        same_values(&r, 1, "isce_unw.vrt", 2);
        let mut amp =
            open_band(&path, &ReadOptions::default(), Some(&BandChoice::Number(1))).unwrap();
        same_values(&amp.read_all().unwrap(), 1, "isce_unw", 1);
    }
}

#[test]
fn isce_connected_components_are_bytes() {
    let mut r = open_any(
        &raw("isce/filt_topophase.unw.conncomp"),
        &ReadOptions::default(),
    )
    .unwrap();
    same_frame(&r, "isce_unw.conncomp", "isce_unw.conncomp.vrt");
    assert_eq!(gdal_band_field("isce_unw.conncomp", 1, "type"), "Byte");
    let all = r.read_all().unwrap();
    assert!(matches!(all.pixels, Pixels::U8(_)));
    same_values(&all, 1, "isce_unw.conncomp", 1);
    // No phase-band convention for a one-band image; band 1 is all there is.
    assert_eq!(r.phase_band(), None);
}

/// A geocoded `filt_topophase.unw.geo`: coordinate1/2 startingValue and delta → the
/// geotransform (corner origin) on EPSG:4326, as GDAL's ISCE and VRT drivers both read it.
#[test]
fn isce_geocoded_unw() {
    for (path, key) in [
        (raw("isce/filt_topophase.unw.geo"), "isce_unw.geo"),
        (raw("isce/filt_topophase.unw.geo.vrt"), "isce_unw.geo.vrt"),
    ] {
        let mut r = open_band(&path, &ReadOptions::default(), None).unwrap();
        same_frame(&r, key, key);
        same_frame(&r, key, "isce_unw.geo");
        same_values(&r.read_all().unwrap(), 1, key, 2);
        // Rows from the middle carry the geotransform moved to their first row.
        let part = r.read_rows(3, 2).unwrap();
        let g = part.geo.unwrap().transform.0;
        assert!((g[3] - (50.3 - 3.0 / 1200.0)).abs() < 1e-12, "{g:?}");
    }
}

// ---------------------------------------------------------------- ENVI

/// Float32, band-interleaved by pixel, big-endian, 16-byte header offset, band names, UTM
/// map info referenced to the first pixel's centre (1.5, 1.5), data ignore value.
#[test]
fn envi_bip_big_endian_utm() {
    let path = raw("envi/disp_utm.img");
    assert_eq!(detect_format(&path, None).unwrap(), Format::Envi);
    let mut r = open_any(&path, &ReadOptions::default()).unwrap();
    same_frame(&r, "envi_disp_utm", "envi_disp_utm");
    let names: Vec<Option<String>> = (1..=3)
        .map(|b| {
            gdal_band_field("envi_disp_utm", b, "description")
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(r.band_names(), names);
    let all = r.read_all().unwrap();
    assert_eq!(
        all.nodata,
        gdal_band_field("envi_disp_utm", 1, "noDataValue").as_f64()
    );
    for b in 1..=3 {
        same_values(&all, b, "envi_disp_utm", b);
    }
    // Three bands and no convention: refused, naming them; chosen by name.
    let e = open_band(&path, &ReadOptions::default(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("\"amplitude\"") && e.contains("\"coherence\""),
        "{e}"
    );
    let mut phase = open_band(
        &path,
        &ReadOptions::default(),
        Some(&BandChoice::Name("phase".into())),
    )
    .unwrap();
    same_values(&phase.read_all().unwrap(), 1, "envi_disp_utm", 2);
    // The header opened directly reads the same.
    let mut h = open_any(&raw("envi/disp_utm.hdr"), &ReadOptions::default()).unwrap();
    same_values(&h.read_all().unwrap(), 3, "envi_disp_utm", 3);
}

/// The header ISCE's renderEnviHDR writes for its DEM: `name.hdr` appended, `map_info`
/// with an underscore, an ESRI coordinate system string; Int16.
#[test]
fn envi_isce_dem_header() {
    let path = raw("envi/demLat_N50_N51_Lon_E018_E019.dem.wgs84");
    let mut r = open_band(&path, &ReadOptions::default(), None).unwrap();
    same_frame(&r, "envi_dem", "envi_dem");
    assert_eq!(gdal_band_field("envi_dem", 1, "type"), "Int16");
    same_values(&r.read_all().unwrap(), 1, "envi_dem", 1);
}

/// Complex64, band-sequential, the header named by replacing the extension, no map info.
#[test]
fn envi_complex_bsq() {
    let path = raw("envi/ifg.cpx");
    let mut r = open_any(&path, &ReadOptions::default()).unwrap();
    same_frame(&r, "envi_ifg", "envi_ifg");
    assert_eq!(
        r.band_names(),
        vec![Some("VV".to_string()), Some("VH".to_string())]
    );
    let all = r.read_all().unwrap();
    same_values(&all, 1, "envi_ifg", 1);
    same_values(&all, 2, "envi_ifg", 2);
}

// ---------------------------------------------------------------- SNAP BEAM-DIMAP

fn dimap_key(product: &str, band: &str) -> String {
    format!("dimap_{product}_{band}_VV_01Jan2020_13Jan2020")
}

/// A terrain-corrected SNAP interferogram: i/q stored, Intensity and Phase virtual, coh
/// stored. Without a band chosen the i/q pair is read as one complex band; every band's
/// values and the product's georeferencing are what GDAL reads from the band files.
#[test]
fn dimap_interferogram_reads_i_and_q_as_complex() {
    let dim = raw("dimap/S1_ifg_TC.dim");
    assert_eq!(detect_format(&dim, None).unwrap(), Format::Dimap);
    let (ik, qk, ck) = (
        dimap_key("S1_ifg_TC", "i_ifg"),
        dimap_key("S1_ifg_TC", "q_ifg"),
        dimap_key("S1_ifg_TC", "coh_IW1"),
    );
    let mut all = open_any(&dim, &ReadOptions::default()).unwrap();
    same_frame(&all, &ik, &ik);
    assert_eq!(all.bands(), 3, "the stored bands");
    let r = all.read_all().unwrap();
    same_values(&r, 1, &ik, 1);
    same_values(&r, 2, &qk, 1);
    same_values(&r, 3, &ck, 1);

    let mut z = open_band(&dim, &ReadOptions::default(), None).unwrap();
    same_frame(&z, &ik, &ik);
    let r = z.read_all().unwrap();
    let want: Vec<(f64, f64)> = gdal_pixels(&ik, 1)
        .iter()
        .zip(gdal_pixels(&qk, 1))
        .map(|(&(re, _), (im, _))| (re, im))
        .collect();
    assert_eq!(pixel_values(&r)[0], want);
    // The virtual phase band by name is the same complex band.
    let phase = BandChoice::Name("Phase_ifg_VV_01Jan2020_13Jan2020".into());
    let mut z2 = open_band(&dim, &ReadOptions::default(), Some(&phase)).unwrap();
    assert_eq!(z2.read_all().unwrap().pixels, r.pixels);
    // Coherence by name and by number.
    for choice in [
        BandChoice::Name("COH_IW1_VV_01Jan2020_13Jan2020".into()),
        BandChoice::Number(3),
    ] {
        let mut c = open_band(&dim, &ReadOptions::default(), Some(&choice)).unwrap();
        same_values(&c.read_all().unwrap(), 1, &ck, 1);
    }
    // A virtual band that is not phase cannot be read.
    let intensity = BandChoice::Name("Intensity_ifg_VV_01Jan2020_13Jan2020".into());
    let e = open_band(&dim, &ReadOptions::default(), Some(&intensity))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("virtual") && e.contains("i_ifg_VV_01Jan2020_13Jan2020 *"),
        "{e}"
    );
}

/// A SNAP product whose phase band is stored (after Goldstein filtering): read without a
/// band chosen, its no-data value from the `.dim`; radar geometry, no georeferencing.
#[test]
fn dimap_stored_phase_band() {
    let dim = raw("dimap/S1_ifg_deb_flt.dim");
    let pk = dimap_key("S1_ifg_deb_flt", "Phase_ifg");
    let mut r = open_band(&dim, &ReadOptions::default(), None).unwrap();
    same_frame(&r, &pk, &pk);
    assert_eq!(
        r.band_names(),
        vec![Some("Phase_ifg_VV_01Jan2020_13Jan2020".to_string())]
    );
    let phase = r.read_all().unwrap();
    same_values(&phase, 1, &pk, 1);
    // SNAP keeps no-data in the .dim (NO_DATA_VALUE_USED), not in the ENVI header GDAL reads.
    assert_eq!(phase.nodata, Some(0.0));
    assert!(!phase.valid_mask()[4]);
    let e = open_band(&dim, &ReadOptions::default(), Some(&BandChoice::Number(4)))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no band 4") && e.contains("3 coh_IW1"), "{e}");
}

/// `raster info` on a raw format: its driver, data files and band names.
#[test]
fn describe_names_driver_files_and_bands() {
    let info = raster::describe(&raw("envi/disp_utm.hdr"), &ReadOptions::default()).unwrap();
    let text = info.to_string();
    assert!(
        text.starts_with("Driver: ENVI/ENVI .hdr Labelled"),
        "{text}"
    );
    assert!(
        text.contains("disp_utm.img") && text.contains("Description = phase"),
        "{text}"
    );
    assert!(
        text.contains("Coordinate System is EPSG:32633") && text.contains("big-endian"),
        "{text}"
    );
    assert_eq!(info.bands, 3);
    let info = raster::describe(&raw("isce/filt_topophase.unw"), &ReadOptions::default()).unwrap();
    assert!(info.to_string().starts_with("Driver: ISCE/ISCE raster"));
    assert_eq!((info.bands, info.data_type.as_str()), (2, "Float32"));
}

#[test]
fn complex_values_as_gdal_prints_them() {
    assert_eq!(parse_value("35.625+1.75i"), (35.625, 1.75));
    assert_eq!(parse_value("32.125+-1.75i"), (32.125, -1.75));
    assert_eq!(parse_value("-1e+05+-2.5i"), (-1e5, -2.5));
    assert_eq!(parse_value("-9999"), (-9999.0, 0.0));
}

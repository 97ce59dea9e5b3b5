//! The inputs users have, through the binary: ISCE2, ENVI and SNAP rasters (the raster
//! crate's fixtures), bands chosen by number or name or refused with their list, and HyP3's
//! vertical displacement with and without an incidence angle.

mod common;

use std::path::{Path, PathBuf};

use common::{bin, refused, run, scratch};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../raster/tests/data/raw")
        .join(rel)
}

#[test]
fn raster_info_and_convert_read_isce_and_snap() {
    let out = run(bin()
        .args(["raster", "info"])
        .arg(fixture("isce/filt_topophase.unw.geo")));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Driver: ISCE") && text.contains("EPSG:4326") && text.contains("Band 2"),
        "{text}"
    );
    let dir = scratch("convert");
    let coh = dir.join("coh.tif");
    run(bin()
        .args(["raster", "convert"])
        .arg(fixture("dimap/S1_ifg_TC.dim"))
        .arg(&coh)
        .args(["--band", "coh_IW1_VV_01Jan2020_13Jan2020"]));
    let r = raster::read_geotiff(&coh).expect("tif");
    assert_eq!((r.width, r.height, r.bands), (7, 5, 1));
    let want = raster::open_band(
        &fixture("dimap/S1_ifg_TC.dim"),
        &raster::ReadOptions::default(),
        Some(&raster::BandChoice::Number(3)),
    )
    .and_then(|mut rd| rd.read_all())
    .expect("coh band");
    assert_eq!(r.pixels, want.pixels);
    assert_eq!(r.geo.and_then(|g| g.epsg), Some(4326));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn phase_render_chooses_bands_or_lists_them() {
    let dir = scratch("render");
    // ISCE's .unw: the phase band by convention.
    run(bin()
        .args(["phase", "render"])
        .arg(fixture("isce/filt_topophase.unw"))
        .arg("-o")
        .arg(dir.join("unw.png")));
    // ENVI with three named bands: refused without --band, listing them; read with one.
    let utm = fixture("envi/disp_utm.img");
    let e = refused(
        bin()
            .args(["phase", "render"])
            .arg(&utm)
            .arg("-o")
            .arg(dir.join("x.png")),
    );
    assert!(
        e.contains("\"amplitude\"") && e.contains("\"phase\"") && e.contains("--band"),
        "{e}"
    );
    run(bin()
        .args(["phase", "render"])
        .arg(&utm)
        .args(["--band", "phase", "-o"])
        .arg(dir.join("phase.png")));
    assert!(dir.join("phase.png").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn vertical_displacement_needs_an_incidence_angle() {
    let dir = scratch("vertical");
    let p = dir.join("S1AA_20200101_20200113_VVP012_INT80_G_ueF_1A2B_vert_disp.tif");
    let v: Vec<f32> = (0..64).map(|i| i as f32 * 1e-3).collect();
    raster::write_geotiff_f32(&p, 8, 8, &v, None, None).expect("tif");
    let e = refused(
        bin()
            .args(["phase", "render"])
            .arg(&p)
            .arg("-o")
            .arg(dir.join("v.png")),
    );
    assert!(
        e.contains("vertical displacement") && e.contains("--incidence") && e.contains("_los_disp"),
        "{e}"
    );
    run(bin()
        .args(["phase", "render"])
        .arg(&p)
        .args(["--incidence", "39", "-o"])
        .arg(dir.join("v.png")));
    assert!(dir.join("v.png").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

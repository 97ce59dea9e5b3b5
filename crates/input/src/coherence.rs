//! Coherence, the third input channel: one reader for every command, float32 (0–1) or byte
//! (0–255, LiCSAR's `*.cc`), always on the phase's grid.

use std::path::{Path, PathBuf};

use raster::{Pixels, Raster};

use crate::InputError;

/// Coherence in [0, 1] from the first band of `r` (read from `path`).
pub fn values(r: &Raster, path: &Path) -> Result<Vec<f32>, InputError> {
    let bands = r.bands.max(1);
    match &r.pixels {
        Pixels::F32(v) => Ok(v.iter().step_by(bands).copied().collect()),
        Pixels::U8(v) => Ok(v
            .iter()
            .step_by(bands)
            .map(|&b| f32::from(b) / 255.0)
            .collect()),
        p => Err(InputError::invalid(
            path,
            format!(
                "coherence must be Float32 (0–1) or Byte (0–255), found {}",
                p.type_name()
            ),
        )),
    }
}

/// Refuses coherence at `path` of `coh` size for phase at `phase_path` of `phase` size.
pub fn check_grid(
    path: &Path,
    coh: (usize, usize),
    phase_path: &Path,
    phase: (usize, usize),
) -> Result<(), InputError> {
    if coh == phase {
        return Ok(());
    }
    Err(InputError::invalid(
        path,
        format!(
            "coherence is {}×{} but the phase {} is {}×{}: they must be the same grid",
            coh.0,
            coh.1,
            phase_path.display(),
            phase.0,
            phase.1
        ),
    ))
}

/// The whole coherence raster at `path`, checked against phase `phase_path` of `size`.
pub fn read(path: &Path, phase_path: &Path, size: (usize, usize)) -> Result<Vec<f32>, InputError> {
    let r = raster::read_any(path)?;
    check_grid(path, (r.width, r.height), phase_path, size)?;
    values(&r, path)
}

/// `<folder>/../coherence/<file name>` (the simulator's data-set layout), when it exists.
pub fn beside(image: &Path) -> Option<PathBuf> {
    let name = image.file_name()?;
    let coh = image.parent()?.parent()?.join("coherence").join(name);
    coh.is_file().then_some(coh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_and_byte_coherence_read_alike() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("coh.tif");
        raster::write_geotiff_f32(&f, 2, 1, &[0.2, 1.0], None, None).expect("f32");
        let b = dir.path().join("coh.cc.tif");
        raster::write_geotiff_u8(&b, 2, 1, 1, &[51, 255], None, None).expect("u8");
        let phase = Path::new("phase.tif");
        assert_eq!(read(&f, phase, (2, 1)).expect("float"), vec![0.2, 1.0]);
        assert_eq!(read(&b, phase, (2, 1)).expect("byte"), vec![0.2, 1.0]);
        let e = read(&b, phase, (3, 1)).expect_err("other grid");
        let msg = e.to_string();
        assert!(
            msg.contains("coh.cc.tif") && msg.contains("phase.tif"),
            "{msg}"
        );
    }

    #[test]
    fn beside_finds_the_data_set_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("images").join("t.tif");
        let coh = dir.path().join("coherence").join("t.tif");
        std::fs::create_dir_all(coh.parent().expect("parent")).expect("mkdir");
        assert_eq!(beside(&img), None);
        std::fs::write(&coh, b"").expect("touch");
        assert_eq!(beside(&img), Some(coh));
    }
}

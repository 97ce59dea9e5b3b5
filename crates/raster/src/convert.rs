//! Any readable raster → GeoTIFF, streamed in bands of rows (e.g. a GAMMA `.diff` + its
//! `.par` into a georeferenced CFloat32 GeoTIFF).

use std::path::{Path, PathBuf};

use crate::any::{self, ReadOptions};
use crate::band::{BandChoice, open_band};
use crate::error::RasterError;
use crate::raster::Raster;
use crate::tiff_write::{GeoTiffWriter, RasterSpec, SampleType, WriteOptions};

/// Rows read and written per step: bounded memory whatever the scene size.
const ROWS_PER_STEP: usize = 256;

/// Converts `input` to a GeoTIFF at `output`; `nodata` overrides the source's no-data
/// value. Returns the (width, height, bands) written.
pub fn convert_to_geotiff(
    input: &Path,
    read: &ReadOptions,
    output: &Path,
    write: &WriteOptions,
    nodata: Option<f64>,
) -> Result<(usize, usize, usize), RasterError> {
    convert_band_to_geotiff(input, read, None, output, write, nodata, &mut |_, _| {})
}

/// [`convert_to_geotiff`] of one band (`band`, see [`crate::band::open_band`]), or of
/// every band when `band` is `None`; `progress(rows done, rows)` after each step (for a
/// progress bar).
pub fn convert_band_to_geotiff(
    input: &Path,
    read: &ReadOptions,
    band: Option<&BandChoice>,
    output: &Path,
    write: &WriteOptions,
    nodata: Option<f64>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(usize, usize, usize), RasterError> {
    if same_file(input, output) {
        return Err(RasterError::argument(
            output,
            format!(
                "is the input {}: write the GeoTIFF under another name",
                input.display()
            ),
        ));
    }
    let mut reader = match band {
        Some(b) => open_band(input, read, Some(b))?,
        None => any::open_any(input, read)?,
    };
    let (w, h) = (reader.width(), reader.height());
    let first = reader.read_rows(0, ROWS_PER_STEP.min(h))?;
    let spec = RasterSpec {
        width: w,
        height: h,
        bands: first.bands,
        sample: SampleType::of(&first.pixels),
        geo: reader.geo().copied(),
        nodata: nodata.or(first.nodata),
    };
    let mut writer = GeoTiffWriter::create(output, spec, *write)?;
    writer.write_rows(&first.pixels)?;
    let mut y = first.height;
    progress(y, h);
    while y < h {
        let n = ROWS_PER_STEP.min(h - y);
        let part: Raster = reader.read_rows(y, n)?;
        writer.write_rows(&part.pixels)?;
        y += n;
        progress(y, h);
    }
    writer.finish()?;
    Ok((w, h, spec.bands))
}

/// Whether `a` and `b` name one file (links and relative paths resolved; `b` need not
/// exist yet).
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// `p` with links and relative parts resolved; for a file that does not exist yet, its
/// resolved folder joined with its name. `None` when the folder does not exist either.
pub fn resolved(p: &Path) -> Option<PathBuf> {
    p.canonicalize().ok().or_else(|| {
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = parent.map_or_else(|| Path::new(".").canonicalize(), |d| d.canonicalize());
        Some(dir.ok()?.join(p.file_name()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Compression;
    use crate::gamma::{write_dem_par, write_raw_c32_be};
    use crate::geo::{GeoInfo, GeoTransform};
    use crate::raster::Pixels;
    use crate::tiff_read::read_geotiff;
    use crate::tiff_write::Layout;
    use num_complex::Complex32;

    #[test]
    fn gamma_diff_to_geotiff_keeps_values_and_geo() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (9, 600);
        let c: Vec<Complex32> = (0..w * h)
            .map(|i| Complex32::new((i % 13) as f32, -((i % 7) as f32)))
            .collect();
        let src = dir.path().join("20210101_20210113.diff");
        write_raw_c32_be(&src, &c).unwrap();
        let geo = GeoInfo::new(
            GeoTransform::north_up(19.0, 50.0, 0.001, -0.001),
            Some(4326),
        );
        write_dem_par(&dir.path().join("20210101_20210113.dem_par"), w, h, &geo).unwrap();
        let out = dir.path().join("out.tif");
        let opts = WriteOptions {
            compression: Compression::Lzw,
            layout: Layout::Tiles {
                width: 16,
                height: 64,
            },
            ..WriteOptions::default()
        };
        let dims = convert_to_geotiff(&src, &ReadOptions::default(), &out, &opts, None).unwrap();
        assert_eq!(dims, (w, h, 1));
        let r = read_geotiff(&out).unwrap();
        assert_eq!(r.pixels, Pixels::C32(c));
        assert_eq!(r.nodata, Some(0.0));
        let g = r.geo.unwrap();
        assert_eq!(g.epsg, Some(4326));
        for k in 0..6 {
            assert!((g.transform.0[k] - geo.transform.0[k]).abs() < 1e-9);
        }
    }

    /// `raster convert X X` once truncated its input to 8 bytes.
    #[test]
    fn converting_onto_the_input_is_refused_and_leaves_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.tif");
        crate::tiff_write::write_geotiff_f32(&src, 3, 2, &[1.0; 6], None, None).unwrap();
        let before = std::fs::read(&src).unwrap();
        let same = dir.path().join(".").join("a.tif");
        let opts = WriteOptions::default();
        let err = convert_to_geotiff(&src, &ReadOptions::default(), &same, &opts, None)
            .expect_err("onto its input");
        assert!(err.to_string().contains("is the input"), "{err}");
        assert_eq!(std::fs::read(&src).unwrap(), before);
        assert!(same_file(&src, &same) && !same_file(&src, &dir.path().join("b.tif")));
    }

    /// A write that fails half way leaves neither a half file nor a temporary one.
    #[test]
    fn an_unfinished_write_leaves_the_old_file_and_no_temporary() {
        use crate::tiff_write::{GeoTiffWriter, RasterSpec, SampleType};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.tif");
        std::fs::write(&p, b"old").unwrap();
        let spec = RasterSpec {
            width: 4,
            height: 2,
            bands: 1,
            sample: SampleType::F32,
            geo: None,
            nodata: None,
        };
        let mut w = GeoTiffWriter::create(&p, spec, WriteOptions::default()).unwrap();
        w.write_rows(&Pixels::F32(vec![0.0; 4])).unwrap();
        assert!(w.finish().is_err(), "a row is missing");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only b.tif remains");
    }

    /// One band of an ENVI file, chosen by name, to a one-band GeoTIFF.
    #[test]
    fn one_band_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("two.bin");
        let v: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(&data, v).unwrap();
        std::fs::write(
            dir.path().join("two.hdr"),
            "ENVI\nsamples = 2\nlines = 1\nbands = 2\ndata type = 4\ninterleave = bsq\n\
             band names = {amp, phase}\n",
        )
        .unwrap();
        let out = dir.path().join("phase.tif");
        let choice = BandChoice::Name("phase".into());
        let opts = WriteOptions::default();
        let mut steps = Vec::new();
        let dims = convert_band_to_geotiff(
            &data,
            &ReadOptions::default(),
            Some(&choice),
            &out,
            &opts,
            None,
            &mut |done, rows| steps.push((done, rows)),
        )
        .unwrap();
        assert_eq!(steps, vec![(1, 1)], "one step of the one row");
        assert_eq!(dims, (2, 1, 1));
        assert_eq!(
            read_geotiff(&out).unwrap().pixels,
            Pixels::F32(vec![3.0, 4.0])
        );
        let all = dir.path().join("all.tif");
        let dims = convert_to_geotiff(&data, &ReadOptions::default(), &all, &opts, None).unwrap();
        assert_eq!(dims, (2, 1, 2));
    }
}

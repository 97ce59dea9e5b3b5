//! `yolo_basin._native`: the native half of the `yolo_basin` Python package (the
//! pure-Python half in `python/yolo_basin` turns the JSON these functions return into dicts
//! and GeoDataFrames). Options arrive as the CLI's own arguments and are parsed by its clap
//! definitions, so a Python call and a `yolo-basin` command line mean the same thing and
//! are validated alike.

mod array;
mod basins;

use std::path::{Path, PathBuf};

use anyhow::Context;
use cli::cmd::detect::{self, Args as DetectArgs, SceneTiles};
use model::InputKind;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use raster::{Complex32, GeoInfo, GeoTransform, Pixels};

use crate::array::{ArraySource, Samples, resolve_kind};

pyo3::create_exception!(
    yolo_basin,
    YoloBasinError,
    PyRuntimeError,
    "An error of yolo-basin itself (reading, the model, writing); the message holds the whole chain of causes."
);

/// A Rust error as `YoloBasinError`, with every cause.
fn py_err(e: anyhow::Error) -> PyErr {
    YoloBasinError::new_err(format!("{e:#}"))
}

/// The CLI's arguments of one subcommand, parsed by its clap definition; bad ones are a
/// `ValueError` with clap's message.
fn parse<A: clap::Args>(argv: Vec<String>) -> PyResult<A> {
    #[derive(clap::Parser)]
    struct Wrap<A: clap::Args> {
        #[command(flatten)]
        args: A,
    }
    <Wrap<A> as clap::Parser>::try_parse_from(argv)
        .map(|w| w.args)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Basins of a scene file as JSON; writes the CLI's layers into `out_dir` when given.
#[pyfunction]
#[pyo3(signature = (argv, out_dir=None))]
fn detect_path(py: Python<'_>, argv: Vec<String>, out_dir: Option<PathBuf>) -> PyResult<String> {
    let args: DetectArgs = parse(argv)?;
    let Some(scene) = args.scene.clone() else {
        return Err(PyValueError::new_err("no scene path given"));
    };
    // No Python object is touched below: other Python threads run meanwhile.
    py.detach(|| detect_file(&scene, &args, out_dir.as_deref()))
        .map_err(py_err)
}

fn detect_file(scene: &Path, args: &DetectArgs, out_dir: Option<&Path>) -> anyhow::Result<String> {
    if !scene.is_file() {
        anyhow::bail!("scene {} not found", scene.display());
    }
    let (model, score, _) = detect::load_for_scenes(&weights(args), args)?;
    let run = detect::detect_tiles_of(scene, args, &model, false)?;
    let mut basins = detect::stitched_basins(&run, &model, score, args);
    cli::cmd::extras::add_deformation(
        scene,
        &args.input_spec(),
        args.unwrapped.as_deref(),
        run.geo.as_ref(),
        args.pixel_size,
        &mut basins,
    )?;
    finish(&basins, &run, scene, args, out_dir)
}

/// The weights `args` name, else the bundled model.
fn weights(args: &DetectArgs) -> PathBuf {
    args.weights_path()
}

/// The basins as JSON, after writing the CLI's layers named after `scene` into `out_dir`.
fn finish(
    basins: &[detect_core::output::Basin],
    run: &SceneTiles,
    scene: &Path,
    args: &DetectArgs,
    out_dir: Option<&Path>,
) -> anyhow::Result<String> {
    if let Some(dir) = out_dir {
        detect::write_outputs_as(
            dir,
            scene,
            basins,
            run.geo.as_ref(),
            detect::geojson_coords(args),
        )?;
    }
    let v = basins::basins_json(basins, run.geo.as_ref());
    serde_json::to_string(&v).context("serialising the basins")
}

/// Basins of a 2-D float32 or complex64 C-contiguous array as JSON. The array is read in
/// place, holding the GIL throughout: NumPy's borrow flags keep Rust from writing it, not
/// other Python threads, and only the GIL keeps those from changing it under the reader.
#[pyfunction]
#[pyo3(signature = (array, argv, geo=None, out_dir=None, name="array".to_string()))]
fn detect_array(
    array: &Bound<'_, PyAny>,
    argv: Vec<String>,
    geo: Option<(Vec<f64>, Option<u32>)>,
    out_dir: Option<PathBuf>,
    name: String,
) -> PyResult<String> {
    let args: DetectArgs = parse(argv)?;
    if args.unwrapped.is_some() || args.coherence.is_some() {
        return Err(PyValueError::new_err(
            "unwrapped= and coherence= are read from files beside a scene file: pass the scene as a path",
        ));
    }
    let geo = geo.map(geo_info).transpose()?;
    if let Ok(a) = array.extract::<PyReadonlyArray2<'_, f32>>() {
        let shape = (a.shape()[0], a.shape()[1]);
        let s = a
            .as_slice()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        detect_samples(
            Samples::F32(s),
            shape,
            geo,
            &args,
            &name,
            out_dir.as_deref(),
        )
    } else if let Ok(a) = array.extract::<PyReadonlyArray2<'_, Complex32>>() {
        let shape = (a.shape()[0], a.shape()[1]);
        let s = a
            .as_slice()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        detect_samples(
            Samples::C32(s),
            shape,
            geo,
            &args,
            &name,
            out_dir.as_deref(),
        )
    } else {
        Err(PyTypeError::new_err(
            "expected a 2-D float32 or complex64 NumPy array",
        ))
    }
}

fn detect_samples(
    samples: Samples<'_>,
    shape: (usize, usize),
    geo: Option<GeoInfo>,
    args: &DetectArgs,
    name: &str,
    out_dir: Option<&Path>,
) -> PyResult<String> {
    let kind = resolve_kind(args.kind, &samples).map_err(PyValueError::new_err)?;
    let mut source = ArraySource::new(samples, shape, kind, args.nodata, args.wavelength)
        .map_err(PyValueError::new_err)?;
    let what = format!("the {} x {} array {name}", shape.0, shape.1);
    detect_rows(&mut source, geo, &what, args, Path::new(name), out_dir).map_err(py_err)
}

/// Basins of an array read as phase rows, as JSON.
fn detect_rows(
    source: &mut ArraySource<'_>,
    geo: Option<GeoInfo>,
    what: &str,
    args: &DetectArgs,
    name: &Path,
    out_dir: Option<&Path>,
) -> anyhow::Result<String> {
    let (model, score, _) = detect::load_for_scenes(&weights(args), args)?;
    let run = detect::detect_source(source, InputKind::Phase, geo, what, args, &model, false)?;
    let basins = detect::stitched_basins(&run, &model, score, args);
    finish(&basins, &run, name, args, out_dir)
}

/// A GDAL-order geotransform and an optional EPSG code as a georeference.
fn geo_info((t, epsg): (Vec<f64>, Option<u32>)) -> PyResult<GeoInfo> {
    let t: [f64; 6] = t.try_into().map_err(|t: Vec<f64>| {
        PyValueError::new_err(format!(
            "geo: expected a GDAL geotransform of 6 numbers, got {}",
            t.len()
        ))
    })?;
    if t.iter().any(|v| !v.is_finite()) || t[1] * t[5] - t[2] * t[4] == 0.0 {
        return Err(PyValueError::new_err(format!(
            "geo: the geotransform {t:?} is not finite and invertible"
        )));
    }
    Ok(GeoInfo::new(GeoTransform(t), epsg))
}

/// One band of a raster file as a 2-D array (float32 with no-data as NaN, complex64, or
/// uint8) with its georeference `(geotransform, epsg)` or None.
#[pyfunction]
#[pyo3(signature = (path, band=None))]
#[allow(clippy::type_complexity)]
fn read_raster<'py>(
    py: Python<'py>,
    path: PathBuf,
    band: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Option<(Vec<f64>, Option<u32>)>)> {
    let choice = band
        .map(|b| b.parse::<raster::BandChoice>())
        .transpose()
        .map_err(|e| PyValueError::new_err(format!("band: {e}")))?;
    let r = py
        .detach(|| -> anyhow::Result<raster::Raster> {
            let mut reader =
                raster::open_band(&path, &raster::ReadOptions::default(), choice.as_ref())
                    .with_context(|| format!("opening {}", path.display()))?;
            let h = reader.height();
            reader
                .read_rows(0, h)
                .with_context(|| format!("reading {}", path.display()))
        })
        .map_err(py_err)?;
    let shape = [r.height, r.width];
    let nodata = r.nodata;
    let arr = match r.pixels {
        Pixels::F32(mut v) => {
            if let Some(nd) = nodata {
                v.iter_mut()
                    .filter(|x| f64::from(**x) == nd)
                    .for_each(|x| *x = f32::NAN);
            }
            PyArray1::from_vec(py, v).reshape(shape)?.into_any()
        }
        Pixels::C32(v) => PyArray1::from_vec(py, v).reshape(shape)?.into_any(),
        Pixels::U8(v) => PyArray1::from_vec(py, v).reshape(shape)?.into_any(),
    };
    let geo = r.geo.map(|g| (g.transform.0.to_vec(), g.epsg));
    Ok((arr, geo))
}

/// `yolo-basin synth` with these arguments.
#[pyfunction]
fn synth(py: Python<'_>, argv: Vec<String>) -> PyResult<()> {
    let args: cli::cmd::synth::Args = parse(argv)?;
    py.detach(|| cli::cmd::synth::run(args)).map_err(py_err)
}

/// `yolo-basin eval` with these arguments (the report goes to its `--out`).
#[pyfunction]
fn eval(py: Python<'_>, argv: Vec<String>) -> PyResult<()> {
    let args: cli::cmd::eval::Args = parse(argv)?;
    py.detach(|| cli::cmd::eval::run(args)).map_err(py_err)
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("YoloBasinError", m.py().get_type::<YoloBasinError>())?;
    m.add_function(wrap_pyfunction!(detect_path, m)?)?;
    m.add_function(wrap_pyfunction!(detect_array, m)?)?;
    m.add_function(wrap_pyfunction!(read_raster, m)?)?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add_function(wrap_pyfunction!(eval, m)?)?;
    Ok(())
}

//! `yolo-basin phase`: Goldstein filter, multilook, rendering of interferograms and the
//! inversion of rendered pictures back to phase.
//!
//! Inputs are one band of a raster `raster::open_band` opens (`--band`, else the only band
//! or the format's phase band): a complex interferogram (CFloat32 GeoTIFF, GAMMA
//! `.int`/`.diff`, ISCE `filt_topophase.flat`, SNAP i/q) or wrapped phase in radians
//! (Float32). Outputs keep the input's kind, georeferencing and no-data.

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};
use indicatif::ProgressBar;
use insar::{Colormap, Complex32, GoldsteinParams};
use raster::{GeoInfo, GeoTransform, Pixels, Raster};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Phase tools: Goldstein filter, multilook, render wrapped phase to colour pictures and back.
///
/// Each reads what `detect` reads (GeoTIFF, GAMMA, ISCE, ENVI, SNAP; complex, wrapped or
/// unwrapped phase) and writes a new file, never over its input.
#[derive(ClapArgs)]
#[command(after_long_help = "\
Examples:
  yolo-basin phase render 20201230_20210111.geo.diff_pha.tif -o ifg.png --cmap jet
  yolo-basin phase invert ifg.png -o ifg-phase.tif")]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Goldstein–Werner adaptive filter (as GAMMA `adf`, ISCE, SNAP).
    ///
    /// Sharpens fringes by weighting each window's spectrum by its own smoothed magnitude to
    /// the power α. Most products are filtered already; filter unfiltered ones (`detect
    /// --goldstein` does the same per window).
    #[command(after_long_help = "\
Examples:
  yolo-basin phase filter 20201230_20210111.diff -o filtered.tif --alpha 0.5")]
    Filter(FilterArgs),
    /// Average blocks of looks_x × looks_y pixels (complex mean).
    ///
    /// Partial edge blocks are dropped, as GAMMA `multi_cpx` does; wrapped phase is averaged
    /// as unit phasors, so fringes stay where they are. The geotransform's pixel size grows by
    /// the look factors.
    #[command(after_long_help = "\
Examples:
  yolo-basin phase multilook 20201230_20210111.geo.diff_pha.tif -o ml.tif --looks-x 2 --looks-y 2")]
    Multilook(MultilookArgs),
    /// Draw wrapped phase as a colour PNG in the palettes InSAR software uses.
    ///
    /// Unwrapped phase and LOS displacement are wrapped first, as `detect` reads them; a
    /// coherence band (`--coherence`) is drawn in grey.
    #[command(after_long_help = "\
Examples:
  yolo-basin phase render 20201230_20210111.geo.diff_pha.tif -o ifg.png --cmap jet
  yolo-basin phase render 20201230_20210111.geo.cc.tif -o coherence.png --coherence")]
    Render(RenderArgs),
    /// Turn a rendered picture back into wrapped phase (a Float32 GeoTIFF, radians).
    ///
    /// Reads a PNG/JPEG (a screenshot, a figure, a quicklook); NaN no-data where a pixel is not
    /// a palette colour (text, axes, margins, transparency). The phase offset and the cycle
    /// direction of the drawing are not recovered; detection does not depend on them.
    #[command(after_long_help = "\
Examples:
  yolo-basin phase invert ifg.png -o ifg-phase.tif --colormap auto")]
    Invert(InvertArgs),
}

#[derive(ClapArgs)]
struct InvertArgs {
    /// The picture (PNG or JPEG, RGB or RGBA).
    input: PathBuf,
    /// Output GeoTIFF of wrapped phase (must differ from the input; replaced if it exists).
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long, default_value = "auto", long_help = input::picture::COLORMAP_HELP)]
    colormap: input::ColormapSpec,
}

/// Which band of a multi-band input to read.
#[derive(ClapArgs)]
struct BandArg {
    /// The band, by number (from 1) or name. Default: the only band, or the format's phase
    /// band (ISCE `.unw`: 2; SNAP: the phase band or the i/q pair); several bands and no
    /// convention are refused with the list of bands.
    #[arg(long, value_name = "N|NAME")]
    band: Option<raster::BandChoice>,
}

#[derive(ClapArgs)]
struct FilterArgs {
    /// Complex interferogram or wrapped phase (radians).
    input: PathBuf,
    #[command(flatten)]
    band: BandArg,
    /// Output GeoTIFF, same kind as the input (CFloat32 or Float32 phase); must differ from
    /// the input, replaced if it exists.
    #[arg(short, long)]
    output: PathBuf,
    /// Filter strength in [0, 1]: 0 leaves the data unchanged, 1 is the strongest.
    #[arg(long, default_value_t = GoldsteinParams::default().alpha, value_parser = super::unit_interval)]
    alpha: f32,
    /// FFT window size in pixels.
    #[arg(long, default_value_t = GoldsteinParams::default().patch)]
    patch: usize,
    /// Distance between windows; smaller blends more smoothly but costs more (patch/step)².
    #[arg(long, default_value_t = GoldsteinParams::default().step)]
    step: usize,
    /// Boxcar smoothing of the spectrum magnitude before the power (0 = off, 3, 5, …).
    #[arg(long, default_value_t = GoldsteinParams::default().smooth)]
    smooth: usize,
}

#[derive(ClapArgs)]
struct MultilookArgs {
    /// Complex interferogram or wrapped phase (radians).
    input: PathBuf,
    #[command(flatten)]
    band: BandArg,
    /// Output GeoTIFF, same kind as the input; pixel size grows by the look factors. Must
    /// differ from the input; replaced if it exists.
    #[arg(short, long)]
    output: PathBuf,
    /// Looks in range (x, columns).
    #[arg(long, default_value_t = 1)]
    looks_x: usize,
    /// Looks in azimuth (y, rows).
    #[arg(long, default_value_t = 1)]
    looks_y: usize,
}

#[derive(ClapArgs)]
struct RenderArgs {
    /// Complex interferogram, wrapped or unwrapped phase (radians), read as `detect` reads
    /// scenes; or with --coherence a Float32 band in [0, 1] or a Byte band (0–255).
    input: PathBuf,
    #[command(flatten)]
    band: BandArg,
    /// Incidence angle in degrees from the vertical, to draw vertical displacement (HyP3
    /// `*_vert_disp.tif`) as the phase of LOS = vertical × cos(incidence).
    #[arg(long, value_name = "DEG")]
    incidence: Option<f64>,
    /// Output PNG (replaced if it exists).
    #[arg(short, long)]
    output: PathBuf,
    /// Palette: cyclic (cmocean phase), jet, jet64, hsv, gamma (GAMMA rasmph wheel), gray.
    #[arg(long, default_value = "cyclic")]
    cmap: Colormap,
    /// Radians added before wrapping (moves where the colour cycle starts).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    offset: f32,
    /// Run the colour cycle the other way (negates the phase).
    #[arg(long)]
    reverse: bool,
    /// Render a coherence (or any [0, 1]) band in grey instead of phase.
    #[arg(long, conflicts_with_all = ["cmap", "offset", "reverse"])]
    coherence: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (input, output) = match &args.command {
        Command::Filter(a) => (&a.input, &a.output),
        Command::Multilook(a) => (&a.input, &a.output),
        Command::Render(a) => (&a.input, &a.output),
        Command::Invert(a) => (&a.input, &a.output),
    };
    // Outputs replace what was there, whole; never the input being read.
    if raster::convert::same_file(input, output) {
        bail!(
            "--output {} is the input: write elsewhere",
            output.display()
        );
    }
    // Each tool reads and computes in one go: a spinner says it is working.
    let (what, name) = match &args.command {
        Command::Filter(a) => ("Goldstein filter", a.input.display()),
        Command::Multilook(a) => ("multilook", a.input.display()),
        Command::Render(a) => ("render", a.input.display()),
        Command::Invert(a) => ("invert", a.input.display()),
    };
    let spinner = spinner(format!("{what} of {name}"));
    let result = match args.command {
        Command::Filter(a) => filter(a),
        Command::Multilook(a) => multilook(a),
        Command::Render(a) => render(a),
        Command::Invert(a) => invert(a),
    };
    spinner.finish_and_clear();
    result
}

fn invert(a: InvertArgs) -> anyhow::Result<()> {
    let inv = input::invert_picture(&a.input, &a.colormap)?;
    raster::write_geotiff_f32(&a.output, inv.width, inv.height, &inv.phase, None, None)
        .with_context(|| format!("writing {}", a.output.display()))?;
    println!(
        "{}: {} → {}",
        a.input.display(),
        inv.summary(),
        a.output.display()
    );
    Ok(())
}

fn filter(a: FilterArgs) -> anyhow::Result<()> {
    let params = GoldsteinParams {
        alpha: a.alpha,
        patch: a.patch,
        step: a.step,
        smooth: a.smooth,
    };
    params.validate().context("Goldstein parameters")?;
    let input = Interferogram::read(&a.input, &a.band)?;
    let (w, h) = (input.raster.width, input.raster.height);
    let filtered = insar::try_goldstein(&input.data, w, h, &params)
        .with_context(|| format!("filtering {}", a.input.display()))?;
    input.write_like(&a.output, w, h, &filtered, input.raster.geo.as_ref())
}

fn multilook(a: MultilookArgs) -> anyhow::Result<()> {
    let input = Interferogram::read(&a.input, &a.band)?;
    let (w, h) = (input.raster.width, input.raster.height);
    let (data, ow, oh) = insar::try_multilook(&input.data, w, h, a.looks_x, a.looks_y)
        .with_context(|| format!("multilooking {}", a.input.display()))?;
    if ow == 0 || oh == 0 {
        bail!(
            "{w}×{h} pixels hold no full {}×{} block",
            a.looks_x,
            a.looks_y
        );
    }
    let geo = input
        .raster
        .geo
        .map(|g| scaled_geo(&g, a.looks_x, a.looks_y));
    input.write_like(&a.output, ow, oh, &data, geo.as_ref())
}

fn render(a: RenderArgs) -> anyhow::Result<()> {
    let raster = read_single_band(&a.input, &a.band)?;
    let (w, h) = (raster.width, raster.height);
    if a.coherence {
        let valid = raster.valid_mask();
        let values = input::coherence::values(&raster, &a.input)?;
        let masked: Vec<f32> = values
            .iter()
            .zip(&valid)
            .map(|(&v, &ok)| if ok { v } else { f32::NAN })
            .collect();
        let grey = insar::render_coherence(&masked);
        return raster::write_png_gray(&a.output, w, h, &grey)
            .with_context(|| format!("writing {}", a.output.display()));
    }
    let spec = input::InputSpec {
        incidence: a.incidence,
        ..input::InputSpec::default()
    };
    let phase = input::image::raster_phase(&raster, &a.input, &spec)?;
    let rgb = insar::try_render_phase(&phase, w, h, a.cmap, a.offset, a.reverse)
        .with_context(|| format!("rendering {}", a.input.display()))?;
    raster::write_png_rgb(&a.output, w, h, &rgb)
        .with_context(|| format!("writing {}", a.output.display()))
}

/// Input as complex samples, no-data as exact zeros (the convention `insar` keeps).
struct Interferogram {
    raster: Raster,
    data: Vec<Complex32>,
    was_phase: bool,
}

impl Interferogram {
    fn read(path: &Path, band: &BandArg) -> anyhow::Result<Self> {
        let raster = read_single_band(path, band)?;
        let valid = raster.valid_mask();
        let zero = Complex32::new(0.0, 0.0);
        let (data, was_phase) = match &raster.pixels {
            Pixels::C32(v) => (
                v.iter()
                    .zip(&valid)
                    .map(|(&z, &ok)| if ok { z } else { zero })
                    .collect(),
                false,
            ),
            Pixels::F32(v) => (
                v.iter()
                    .zip(&valid)
                    .map(|(&p, &ok)| if ok { insar::phasor(p) } else { zero })
                    .collect(),
                true,
            ),
            Pixels::U8(_) => bail!(
                "{}: expected a complex interferogram or Float32 phase, found 8-bit data",
                path.display()
            ),
        };
        Ok(Self {
            raster,
            data,
            was_phase,
        })
    }

    /// Writes results in the input's kind: phase in, phase out (no-data as the input's
    /// no-data value, else NaN); complex in, complex out (no-data as 0 + 0i).
    fn write_like(
        &self,
        path: &Path,
        w: usize,
        h: usize,
        data: &[Complex32],
        geo: Option<&GeoInfo>,
    ) -> anyhow::Result<()> {
        let nodata = self.raster.nodata;
        let written = if self.was_phase {
            let fill = nodata.map_or(f32::NAN, |v| v as f32);
            let phase: Vec<f32> = data
                .iter()
                .map(|z| {
                    if z.re == 0.0 && z.im == 0.0 {
                        fill
                    } else {
                        z.im.atan2(z.re)
                    }
                })
                .collect();
            raster::write_geotiff_f32(path, w, h, &phase, geo, nodata)
        } else {
            raster::write_geotiff_c32(path, w, h, data, geo, nodata)
        };
        written.with_context(|| format!("writing {}", path.display()))
    }
}

/// One band of the raster at `path`: the one `band` names, else the only one or the
/// format's phase band (a picture's colours stay together, and are refused below).
fn read_single_band(path: &Path, band: &BandArg) -> anyhow::Result<Raster> {
    let raster = raster::open_band(path, &raster::ReadOptions::default(), band.band.as_ref())
        .and_then(|mut r| r.read_all())
        .with_context(|| format!("reading {}", path.display()))?;
    if raster.bands != 1 {
        bail!(
            "{}: expected one band, found {}",
            path.display(),
            raster.bands
        );
    }
    Ok(raster)
}

/// Georeferencing of the multilooked grid: same corner, pixel steps times the looks.
fn scaled_geo(g: &GeoInfo, looks_x: usize, looks_y: usize) -> GeoInfo {
    let t = g.transform.0;
    let (lx, ly) = (looks_x as f64, looks_y as f64);
    GeoInfo {
        transform: GeoTransform([t[0], t[1] * lx, t[2] * ly, t[3], t[4] * lx, t[5] * ly]),
        ..*g
    }
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

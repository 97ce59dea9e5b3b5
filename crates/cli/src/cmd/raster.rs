//! `yolo-basin raster`: inspect and convert rasters (GeoTIFF, GAMMA raw + .par, PNG/JPEG)
//! the way GDAL would report them, without needing GDAL.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use raster::gamma::RawKind;
use raster::{Compression, Layout, ReadOptions, WriteOptions};

/// Inspect and convert rasters as GDAL would report them.
///
/// Reads GeoTIFF (Float32, CFloat32, Byte, integer types; strips or tiles; none, LZW,
/// Deflate, PackBits, ZSTD or LZMA; BigTIFF; either byte order), GAMMA raw rasters
/// (big-endian float `.unw .cc …` or fcomplex `.diff .int …`, width from the `.par` /
/// `.diff_par` / `*_dem.par` beside them), ISCE2 images (with their `.xml` or `.vrt`),
/// ENVI (`.hdr`), SNAP BEAM-DIMAP (`.dim`) and PNG/JPEG pictures.
#[derive(clap::Args)]
#[command(after_long_help = "\
Examples:
  yolo-basin raster info 20201230_20210111.geo.diff_pha.tif
  yolo-basin raster convert 20201230_20210111.diff ifg.tif")]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Describe a raster as `gdalinfo -stats` would: size, type, compression, CRS, origin,
    /// pixel size, no-data, min/max/mean and the valid-pixel percentage.
    ///
    /// What the readers make of a file is what every command reads: check a product here
    /// first when a command refuses it or its basins land in the wrong place.
    #[command(after_long_help = "\
Examples:
  yolo-basin raster info 20201230_20210111.geo.diff_pha.tif
  yolo-basin raster info 20201230_20210111.diff    # GAMMA raw, width from the .diff_par")]
    Info(InfoArgs),
    /// Convert any readable raster to a GeoTIFF, streaming rows (bounded memory).
    ///
    /// A GAMMA interferogram becomes a CFloat32 GeoTIFF (Deflate, no-data 0), georeferenced
    /// when a geocoded `*_dem.par` is given with `--par`; ISCE, ENVI and SNAP bands likewise
    /// (`--band` for one of several). The output must differ from the input.
    #[command(after_long_help = "\
Examples:
  yolo-basin raster convert 20201230_20210111.diff ifg.tif
  yolo-basin raster convert 20201230_20210111.geo.unw.tif unw-lzw.tif --compress lzw")]
    Convert(ConvertArgs),
}

/// How to read a headerless GAMMA raster (ignored for GeoTIFF/PNG/JPEG).
#[derive(clap::Args)]
struct GammaArgs {
    /// Raster width in pixels, when no parameter file is beside the raster.
    #[arg(long)]
    width: Option<usize>,
    /// GAMMA parameter file giving the width (`width`, `range_samples`,
    /// `interferogram_width`) and, for a geocoded `*_dem.par`, the geotransform.
    #[arg(long)]
    par: Option<PathBuf>,
    /// Element type, when the extension does not say it.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Byte order; by default guessed from the values (GAMMA writes big-endian,
    /// LiCSBAS and ISCE little-endian).
    #[arg(long, value_enum)]
    byte_order: Option<ByteOrder>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ByteOrder {
    Big,
    Little,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// float32 (unwrapped phase, coherence, heights).
    Float,
    /// Complex float32 pairs (interferograms).
    Fcomplex,
    /// Bytes (LiCSBAS `.cc`: coherence × 255).
    Byte,
}

impl GammaArgs {
    fn options(&self) -> ReadOptions {
        ReadOptions {
            width: self.width,
            par: self.par.clone(),
            kind: self.kind.map(|k| match k {
                Kind::Float => RawKind::F32,
                Kind::Fcomplex => RawKind::C32,
                Kind::Byte => RawKind::U8,
            }),
            big_endian: self.byte_order.map(|b| matches!(b, ByteOrder::Big)),
        }
    }
}

#[derive(clap::Args)]
struct InfoArgs {
    /// The raster to describe.
    file: PathBuf,
    #[command(flatten)]
    gamma: GammaArgs,
}

#[derive(clap::Args)]
struct ConvertArgs {
    /// The raster to read.
    input: PathBuf,
    /// The GeoTIFF to write (replaced if it exists, written whole; never the input).
    output: PathBuf,
    #[command(flatten)]
    gamma: GammaArgs,
    /// Convert one band only, by number (from 1) or name (a SNAP `.dim`'s `Phase_ifg_…`,
    /// or its virtual phase band by name for the i/q pair as complex). Default: every band.
    #[arg(long, value_name = "N|NAME")]
    band: Option<raster::BandChoice>,
    /// Compression of the output.
    #[arg(long, value_enum, default_value = "deflate")]
    compress: Compress,
    /// Write square tiles of this side (a multiple of 16) instead of strips.
    #[arg(long)]
    tile: Option<usize>,
    /// Predictor: horizontal for Byte, floating point for Float32 (smaller files).
    #[arg(long)]
    predictor: bool,
    /// Write BigTIFF (chosen anyway above ~3.5 GB).
    #[arg(long)]
    bigtiff: bool,
    /// No-data value to record, replacing the source's (GAMMA rasters: 0).
    #[arg(long)]
    nodata: Option<f64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Compress {
    None,
    Lzw,
    Deflate,
    Packbits,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Info(a) => info(a),
        What::Convert(a) => convert(a),
    }
}

fn info(a: InfoArgs) -> anyhow::Result<()> {
    // Library errors already name the file; the context says which step failed.
    let report = raster::describe(&a.file, &a.gamma.options()).context("raster info")?;
    // `raster info … | head` closes the pipe early; that is not an error.
    match write!(std::io::stdout().lock(), "{report}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn convert(a: ConvertArgs) -> anyhow::Result<()> {
    let ext = a.output.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext.to_ascii_lowercase().as_str(), "tif" | "tiff") {
        anyhow::bail!(
            "{}: the output must be a GeoTIFF (.tif or .tiff)",
            a.output.display()
        );
    }
    let write = WriteOptions {
        compression: match a.compress {
            Compress::None => Compression::None,
            Compress::Lzw => Compression::Lzw,
            Compress::Deflate => Compression::Deflate,
            Compress::Packbits => Compression::PackBits,
        },
        layout: match a.tile {
            Some(side) => Layout::Tiles {
                width: side,
                height: side,
            },
            None => Layout::Auto,
        },
        bigtiff: a.bigtiff,
        predictor: a.predictor,
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} converting [{bar:30}] {pos}/{len} rows eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let (w, h, bands) = raster::convert::convert_band_to_geotiff(
        &a.input,
        &a.gamma.options(),
        a.band.as_ref(),
        &a.output,
        &write,
        a.nodata,
        &mut |done, rows| {
            bar.set_length(rows as u64);
            bar.set_position(done as u64);
        },
    )
    .with_context(|| format!("raster convert to {}", a.output.display()))?;
    bar.finish_and_clear();
    println!("wrote {} ({w} × {h}, {bands} band(s))", a.output.display());
    Ok(())
}

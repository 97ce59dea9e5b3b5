pub mod batch;
pub mod bench;
pub mod bench_infer;
pub mod bench_pictures;
pub mod bench_scan;
pub mod bench_scenes;
pub mod bench_synth;
pub mod bench_train;
pub mod calibrate;
pub mod detect;
pub mod eval;
pub mod extras;
pub mod fuzz;
pub mod info;
pub mod merge;
pub mod mine;
pub mod phase;
pub mod predict;
pub mod raster;
pub mod scenes;
pub mod synth;
pub mod train;

use anyhow::Context;
use std::path::Path;

/// A clap value parser for a batch size in 1..=`max` (a huge one once overflowed the sizes
/// computed from it).
pub fn batch_size(max: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=max)
}

/// A clap value parser's body for a number that must pass `ok`: refused with `range` (as
/// "[0, 1)") before any work starts.
pub fn number_in<T: std::str::FromStr>(
    s: &str,
    ok: impl Fn(&T) -> bool,
    range: &str,
) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let v: T = s
        .parse()
        .map_err(|e| format!("{s:?} is not a number: {e}"))?;
    if ok(&v) {
        Ok(v)
    } else {
        Err(format!("{s} is outside {range}"))
    }
}

/// A clap value parser for a strength in [0, 1] (Goldstein's α).
pub fn unit_interval(s: &str) -> Result<f32, String> {
    number_in(
        s,
        |v: &f32| v.is_finite() && (0.0..=1.0).contains(v),
        "[0, 1]",
    )
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so a reader
/// never sees half a file and an interrupted run leaves the old one whole.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    ::raster::atomic::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

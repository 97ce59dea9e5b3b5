//! Timing of batch-1 tile inference, plain burn against the folded fast path, in one run
//! (what `yolo-basin bench infer` prints), and peak resident memory of each.

use std::time::Instant;

use burn::prelude::*;

use super::{FastError, FastNet};
use crate::decode::head_to_host;
use crate::detector::Detector;

/// What [`bench_infer`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub model: String,
    pub tile: usize,
    pub threads: usize,
    pub runs: usize,
    /// Time to fold the detector into a [`FastNet`].
    pub fold_ms: f64,
    /// Median of `runs` batch-1 forwards (burn: forward + read back to the host).
    pub burn_ms: f64,
    pub fast_ms: f64,
    /// Fastest and slowest run of each, to show the spread.
    pub burn_range_ms: (f64, f64),
    pub fast_range_ms: (f64, f64),
    /// Largest |fast − burn| over all raw outputs, relative to the largest |burn|.
    pub max_rel_diff: f64,
    /// Largest |burn| output: a tiny or constant output (untrained weights whose
    /// activations die out) makes `max_rel_diff` say little.
    pub output_scale: f64,
    /// Peak resident memory (VmHWM, KiB) during the first forward of each path (fast
    /// first), the process's resident memory before it included (weights of both nets).
    /// `None` where /proc does not offer it.
    pub burn_peak_kib: Option<u64>,
    pub fast_peak_kib: Option<u64>,
    /// Resident memory (VmRSS, KiB) before those forwards.
    pub base_rss_kib: Option<u64>,
}

impl BenchReport {
    /// burn time / fast time.
    pub fn speedup(&self) -> f64 {
        self.burn_ms / self.fast_ms
    }
}

/// Times `runs` batch-1 forwards of `det` at `tile`×`tile` on the burn path and on the fast
/// path, interleaved so drifts in machine load hit both alike, after `warmup` untimed runs
/// of each.
pub fn bench_infer(
    det: &Detector,
    tile: usize,
    runs: usize,
    warmup: usize,
) -> Result<BenchReport, FastError> {
    let t0 = Instant::now();
    let fast = FastNet::from_detector(det)?;
    let fold_ms = ms(t0);
    let x = bench_input(tile);
    let device = det.backbone.stem.conv.weight.device();
    let burn_once = || {
        let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 3, tile, tile]), &device);
        head_to_host(&det.forward(input))
    };
    let fast_once = || fast.forward(&x, 1, tile, tile);

    // Memory first, while the heap has not yet been grown by dozens of forwards (the
    // allocator keeps freed pages resident, which would hide a later peak).
    let base_rss_kib = proc_status_kib("VmRSS:");
    let mut ours = Vec::new();
    let fast_peak_kib = peak_of(|| {
        ours = fast_once()?;
        Ok(())
    })?;
    let mut reference = Vec::new();
    let burn_peak_kib = peak_of(|| {
        reference = burn_once();
        Ok(())
    })?;
    for _ in 0..warmup {
        burn_once();
        fast_once()?;
    }
    let (mut burn_t, mut fast_t) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        burn_once();
        burn_t.push(ms(t));
        let t = Instant::now();
        fast_once()?;
        fast_t.push(ms(t));
    }

    let (burn_ms, burn_range_ms) = median_and_range(&mut burn_t);
    let (fast_ms, fast_range_ms) = median_and_range(&mut fast_t);
    Ok(BenchReport {
        model: det.config.name(),
        tile,
        threads: rayon::current_num_threads(),
        runs: runs.max(1),
        fold_ms,
        burn_ms,
        fast_ms,
        burn_range_ms,
        fast_range_ms,
        max_rel_diff: max_rel_diff(&reference, &ours),
        output_scale: max_abs(&reference),
        burn_peak_kib,
        fast_peak_kib,
        base_rss_kib,
    })
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A fixed input of phase-like values in [−1, 1] (cos φ, sin φ, coherence planes).
fn bench_input(tile: usize) -> Vec<f32> {
    let plane = tile * tile;
    (0..3 * plane)
        .map(|i| {
            let (c, p) = (i / plane, i % plane);
            let phase = (p % tile) as f32 * 0.07 + (p / tile) as f32 * 0.05;
            match c {
                0 => phase.cos(),
                1 => phase.sin(),
                _ => 0.5 + 0.4 * (phase * 0.3).sin(),
            }
        })
        .collect()
}

fn median_and_range(v: &mut [f64]) -> (f64, (f64, f64)) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    };
    (median, (v[0], v[n - 1]))
}

pub(super) fn max_rel_diff(a: &[crate::decode::LevelRaw], b: &[crate::decode::LevelRaw]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut scale = 0.0_f64;
    let mut worst = 0.0_f64;
    for (la, lb) in a.iter().zip(b) {
        if la.shape != lb.shape {
            return f64::INFINITY;
        }
        for (&u, &v) in la.data.iter().zip(&lb.data) {
            scale = scale.max((u as f64).abs());
            worst = worst.max((u as f64 - v as f64).abs());
        }
    }
    worst / scale.max(f64::MIN_POSITIVE)
}

fn max_abs(levels: &[crate::decode::LevelRaw]) -> f64 {
    levels
        .iter()
        .flat_map(|l| &l.data)
        .fold(0.0, |m, v| m.max((*v as f64).abs()))
}

/// A field of /proc/self/status in KiB (Linux only; `None` elsewhere).
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// Peak resident memory of the process so far (VmHWM, KiB).
pub fn peak_rss_kib() -> Option<u64> {
    proc_status_kib("VmHWM:")
}

/// VmHWM after running `f`, the high-water mark first reset to the current resident size
/// (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0). `None` when the reset is refused,
/// since the mark would then include everything before.
fn peak_of(f: impl FnOnce() -> Result<(), FastError>) -> Result<Option<u64>, FastError> {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    f()?;
    Ok(if reset { peak_rss_kib() } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_and_range(&mut [3.0, 1.0, 2.0]), (2.0, (1.0, 3.0)));
        assert_eq!(
            median_and_range(&mut [4.0, 1.0, 2.0, 3.0]),
            (2.5, (1.0, 4.0))
        );
    }

    #[test]
    fn proc_status_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = proc_status_kib("VmRSS:").expect("VmRSS on Linux");
            let hwm = peak_rss_kib().expect("VmHWM on Linux");
            assert!(rss > 0 && hwm >= rss);
        }
    }
}

//! Times the Goldstein filter, multilook and rendering on a synthetic scene.
//!
//! `cargo run --release -p insar --example goldstein_speed -- [size]` (default 2048). The
//! scene is concentric fringes under noise of coherence 0.5, so every window holds data.

use insar::{Colormap, Complex32, GoldsteinParams, goldstein, multilook, phasor, render_phase};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let data = scene(n);
    println!(
        "{n}×{n} complex, {} rayon threads",
        rayon::current_num_threads()
    );
    for p in [
        GoldsteinParams::default(),
        GoldsteinParams {
            smooth: 0,
            ..GoldsteinParams::default()
        },
        GoldsteinParams {
            step: 16,
            ..GoldsteinParams::default()
        },
        GoldsteinParams {
            alpha: 0.7,
            ..GoldsteinParams::default()
        },
    ] {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let out = goldstein(&data, n, n, &p);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let cpu_ms = (cpu_seconds() - cpu) * 1e3;
        println!(
            "goldstein {p:?}: {ms:.0} ms wall, {cpu_ms:.0} ms CPU ({:.1} ns CPU/pixel)",
            cpu_ms * 1e6 / (n * n) as f64
        );
        std::hint::black_box(out);
    }
    let t = Instant::now();
    let ml = multilook(&data, n, n, 4, 4);
    println!("multilook 4×4: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    std::hint::black_box(ml);
    let phase: Vec<f32> = data.iter().map(|z| z.im.atan2(z.re)).collect();
    let t = Instant::now();
    let rgb = render_phase(&phase, n, n, Colormap::Cyclic, 0.0, false);
    println!("render cyclic: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    std::hint::black_box(rgb);
}

/// Fringes plus deterministic pseudo-random noise (a hash, to keep the example dependency-free).
fn scene(n: usize) -> Vec<Complex32> {
    let c = n as f32 / 2.0;
    (0..n * n)
        .map(|k| {
            let (x, y) = ((k % n) as f32 - c, (k / n) as f32 - c);
            let phi = 40.0 * (x * x + y * y) / (c * c);
            let hash = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            let noise = phasor(hash as f32 * 1e-3);
            phasor(phi) * 0.5 + noise * 0.5
        })
        .collect()
}

/// User + system CPU seconds of this process (Linux /proc; 0 elsewhere): on a shared,
/// loaded machine CPU time is a steadier measure than wall time.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

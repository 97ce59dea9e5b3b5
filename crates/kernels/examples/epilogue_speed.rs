//! Times the bias + SiLU epilogue (`kernels::bias_act`) on cache-sized rows: nanoseconds per
//! value, best of several runs. `cargo run --release -p kernels --example epilogue_speed`.

use std::time::Instant;

use kernels::act::{Activation, bias_act};

fn main() {
    // 64 KiB rows: what a GEMM tile's epilogue touches at once, in L2.
    let len = 16 * 1024;
    let mut row: Vec<f32> = (0..len)
        .map(|i| ((i * 7919) % 2001) as f32 * 0.01 - 10.0)
        .collect();
    let reps = 2000;
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let t = Instant::now();
        for r in 0..reps {
            // Alternate signs of the bias so values neither blow up nor vanish.
            let bias = if r % 2 == 0 { 0.25 } else { -0.25 };
            bias_act(&mut row, bias, Activation::Silu);
            for v in row.iter_mut().step_by(4096) {
                *v = -*v;
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let ns = best * 1e9 / (reps * len) as f64;
    println!("bias + SiLU: {ns:.3} ns per value (best of 7, {len} values × {reps})");
    println!("checksum {}", row.iter().map(|&v| v as f64).sum::<f64>());
}

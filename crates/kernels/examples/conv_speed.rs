//! Times the dense convolutions of the Light-S net on their real shapes: the plain
//! whole-image im2col + GEMM ([`Conv2d::forward_into_im2col`]) against the route
//! [`Conv2d::forward_into`] takes (Winograd for 3×3 stride 1, blocked im2col otherwise).
//!
//! `cargo run --release -p kernels --example conv_speed [threads [name filter]]` (2 threads
//! and every layer by default).
//! Shapes come at a 1,792-pixel scene window and at a 416-pixel tile; the last rows are
//! few-channel 3×3 layers that place [`kernels::WINOGRAD_MIN_CHANNELS`] (2→2, under it,
//! takes the blocked im2col). GFLOP/s counts 2 flops per multiply-add of the direct
//! convolution, for both routes. On a shared machine the CPU-time columns (best of the
//! runs, all threads) are the steadier comparison; both come from the same runs.

use std::time::{Duration, Instant};

use kernels::{Activation, Conv2d, ConvSpec, Shape, Tensor};

/// One layer shape to time.
struct Case {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    side: usize,
}

const fn case(
    name: &'static str,
    (c_in, c_out): (usize, usize),
    (kernel, stride, padding): (usize, usize, usize),
    side: usize,
) -> Case {
    Case {
        name,
        c_in,
        c_out,
        kernel,
        stride,
        padding,
        side,
    }
}

const S1: (usize, usize, usize) = (3, 1, 1);
const S2: (usize, usize, usize) = (3, 2, 1);
const STEM: (usize, usize, usize) = (6, 2, 2);

const CASES: [Case; 17] = [
    case("head L0 3x3 @1792", (128, 128), S1, 224),
    case("head L0 3x3 @416", (128, 128), S1, 52),
    case("C3 64 3x3 @1792", (64, 64), S1, 448),
    case("C3 64 3x3 @416", (64, 64), S1, 104),
    case("C3 256 3x3 @1792", (256, 256), S1, 56),
    case("C3 256 3x3 @416", (256, 256), S1, 13),
    case("down 128 s2 @1792", (128, 128), S2, 224),
    case("down 128 s2 @416", (128, 128), S2, 52),
    case("stem 6x6 s2 @1792", (3, 32), STEM, 1792),
    case("stem 6x6 s2 @416", (3, 32), STEM, 416),
    case("small 3x3 @1792", (2, 2), S1, 224),
    case("small 3x3 @1792", (4, 4), S1, 224),
    case("small 3x3 @1792", (8, 8), S1, 224),
    case("small 3x3 @1792", (16, 16), S1, 224),
    case("small 3x3 @1792", (32, 32), S1, 224),
    case("small 3x3 @416", (8, 8), S1, 52),
    case("small 3x3 @416", (16, 16), S1, 52),
];

/// Deterministic values in [−1, 1) (SplitMix64), so runs compare.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// CPU time of all this process's threads so far: unlike wall time it leaves out the
/// moments other processes hold the cores (a shared machine). Zero where unsupported.
fn cpu_time() -> Duration {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    {
        #[repr(C)]
        struct Timespec {
            sec: i64,
            nsec: i64,
        }
        unsafe extern "C" {
            fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
        }
        const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
        let mut ts = Timespec { sec: 0, nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux).
        if unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.sec.max(0) as u64, ts.nsec.clamp(0, 999_999_999) as u32);
        }
    }
    Duration::ZERO
}

/// Best wall and best CPU time of repeated runs: at least 5, for at least a second.
fn best_time(mut run: impl FnMut()) -> (Duration, Duration) {
    run();
    let (mut wall, mut cpu, mut total, mut reps) =
        (Duration::MAX, Duration::MAX, Duration::ZERO, 0);
    while reps < 5 || total < Duration::from_secs(1) {
        let (start, cpu0) = (Instant::now(), cpu_time());
        run();
        let took = start.elapsed();
        wall = wall.min(took);
        cpu = cpu.min(cpu_time().saturating_sub(cpu0));
        total += took;
        reps += 1;
    }
    (wall, cpu)
}

/// Largest |a − b| over the largest |b|.
fn relative_difference(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.data().iter().fold(0.0_f64, |m, v| m.max(v.abs() as f64));
    let worst = a
        .data()
        .iter()
        .zip(b.data())
        .fold(0.0_f64, |m, (u, v)| m.max((u - v).abs() as f64));
    worst / scale.max(f64::MIN_POSITIVE)
}

fn time_case(c: &Case) -> Result<(), kernels::KernelError> {
    let spec = ConvSpec {
        c_in: c.c_in,
        c_out: c.c_out,
        kernel: c.kernel,
        stride: c.stride,
        padding: c.padding,
    };
    let k2 = c.kernel * c.kernel;
    // Weights scaled like a trained layer's (unit output variance), so SiLU sees both signs.
    let scale = 1.0 / ((c.c_in * k2) as f32).sqrt();
    let weight = values(c.c_out * c.c_in * k2, 1)
        .iter()
        .map(|v| v * scale)
        .collect();
    let conv = Conv2d::new(spec, weight, values(c.c_out, 2), Activation::Silu)?;
    let x = Tensor::new(
        values(c.c_in * c.side * c.side, 3),
        Shape::new(1, c.c_in, c.side, c.side),
    )?;
    let shape = conv.output_shape(x.shape())?;
    let (mut old, mut new) = (Tensor::zeros(shape), Tensor::zeros(shape));
    let (t_old, cpu_old) = best_time(|| {
        conv.forward_into_im2col(&x, &mut old, 0)
            .expect("checked shapes")
    });
    let (t_new, cpu_new) =
        best_time(|| conv.forward_into(&x, &mut new, 0).expect("checked shapes"));
    let flops = 2.0 * (shape.len() * c.c_in * k2) as f64;
    let gflops = |t: Duration| flops / t.as_secs_f64() / 1e9;
    let ms = |t: Duration| t.as_secs_f64() * 1e3;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "| {:<20} | {:>3}→{:<3} | {:>4}² | {:>8.2} | {:>5.1} | {:>8.2} | {:>5.1} | {:>5.2}× | {:>8.2} | {:>8.2} | {:>5.2}× | {:>7.1e} |",
        c.name,
        c.c_in,
        c.c_out,
        c.side,
        ms(t_old),
        gflops(t_old),
        ms(t_new),
        gflops(t_new),
        ratio(t_old, t_new),
        ms(cpu_old),
        ms(cpu_new),
        ratio(cpu_old, cpu_new),
        relative_difference(&new, &old),
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 2,
    };
    let only = std::env::args().nth(2).unwrap_or_default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    println!(
        "{threads} threads; old = whole-image im2col + GEMM, new = forward_into's route; \
         wall and CPU (all threads) ms are each the best of ≥ 5 runs"
    );
    println!(
        "| layer | channels | input | old ms | GF/s | new ms | GF/s | speed-up | old CPU ms | new CPU ms | CPU ratio | max|Δ|/max|y| |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    pool.install(|| {
        CASES
            .iter()
            .filter(|c| c.name.contains(only.as_str()))
            .try_for_each(time_case)
    })?;
    Ok(())
}

//! Fast CPU inference kernels for the YOLO-Basin networks, on plain `f32` NCHW tensors.
//!
//! Everything here works on [`Tensor`] (a batch-major NCHW `Vec<f32>` with its shape) and
//! knows nothing of burn: the model crate folds BatchNorm into the convolutions and feeds
//! the folded weights to these kernels.
//!
//! - [`Conv2d`]: dense convolution (any square kernel, stride, padding) on the `gemm` crate,
//!   with bias and activation fused into the epilogue. 3×3 stride-1 layers of at least
//!   [`WINOGRAD_MIN_CHANNELS`] channels on planes of at least [`WINOGRAD_MIN_SIDE`] a side
//!   run Winograd F(4×4, 3×3) (`winograd`); 1×1 layers
//!   one GEMM on the image as it is; the rest im2col + GEMM a block of output pixels at a
//!   time (`im2col`), each block's scratch reused per thread (`scratch`), never a buffer
//!   that grows with the image. [`Conv2d::forward_into_im2col`] keeps the plain
//!   whole-image im2col + GEMM as a baseline.
//! - [`Depthwise3x3`]: direct depthwise 3×3 (stride 1 or 2, padding 1) with fused bias +
//!   activation.
//! - [`act`]: SiLU on a vectorised polynomial `exp`.
//! - [`max_pool_same`], [`upsample_bilinear2x`], [`concat_channels`], [`add`].
//!
//! Parallel work is split on rayon in pieces fixed by the tensor shapes alone, never by the
//! number of threads, so every result is bit-identical whatever the thread count.
//!
//! Tensors of 64 KiB and more take their buffers from a process-wide [`buffer_pool`] and
//! give them back on drop, so a forward reuses the previous one's memory instead of paying
//! page faults for fresh pages. Tensors come zeroed or filled by copies, never with
//! another's values, so results do not depend on the pool. [`set_pool_limit`] caps the idle
//! bytes (1 GiB), [`clear_pool`] frees them.

pub mod act;
pub mod buffer_pool;
mod conv;
mod depthwise;
mod error;
mod im2col;
mod matmul;
mod ops;
mod pool;
#[cfg(test)]
mod reference;
mod scratch;
mod simd;
mod tensor;
pub mod train;
pub mod trig;
mod upsample;
mod winograd;

pub use act::Activation;
pub use buffer_pool::{PoolStats, clear_pool, pool_stats, set_pool_limit};
pub use conv::{Conv2d, ConvSpec, WINOGRAD_MIN_CHANNELS, WINOGRAD_MIN_SIDE};
pub use depthwise::Depthwise3x3;
pub use error::KernelError;
pub use matmul::matmul_bias_act;
pub use ops::{add, add_assign, concat_channels};
pub use pool::max_pool_same;
pub use tensor::{Shape, Tensor};
pub use upsample::upsample_bilinear2x;

#[cfg(test)]
mod determinism {
    use super::*;
    use crate::reference::{random_tensor, random_vec};

    /// Runs every kernel once, in a pool of `threads` threads.
    fn run_all(threads: usize) -> Vec<Tensor> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            let x = random_tensor(Shape::new(2, 16, 37, 41), 1);
            let spec = ConvSpec {
                c_in: 16,
                c_out: 48,
                kernel: 3,
                stride: 1,
                padding: 1,
            };
            let conv = Conv2d::new(
                spec,
                random_vec(48 * 16 * 9, 2),
                random_vec(48, 3),
                Activation::Silu,
            )
            .expect("sizes from the spec");
            let dw = Depthwise3x3::new(
                16,
                2,
                random_vec(144, 4),
                random_vec(16, 5),
                Activation::Silu,
            )
            .expect("sizes from the spec");
            let y = conv.forward(&x).expect("shapes fit");
            let mut sum = y.clone();
            add_assign(&mut sum, &y).expect("same shapes");
            // A Winograd layer of the neck's size, the stem and a stride-2 layer (blocked
            // im2col) besides the 16→48 above (Winograd too).
            let wide = Shape::new(1, 64, 64, 64);
            let layer = |spec: ConvSpec, seed: u64| {
                let k2 = spec.kernel * spec.kernel;
                let weight = random_vec(spec.c_out * spec.c_in * k2, seed);
                let bias = random_vec(spec.c_out, seed + 1);
                Conv2d::new(spec, weight, bias, Activation::Silu).expect("sizes from the spec")
            };
            let spec = ConvSpec::new;
            let run = |spec: ConvSpec, x: &Tensor, seed: u64| {
                layer(spec, seed).forward(x).expect("shapes fit")
            };
            let image = random_tensor(Shape::new(2, 3, 70, 66), 6);
            vec![
                run(spec(64, 64, 3, 1, 1), &random_tensor(wide, 7), 8),
                run(spec(3, 32, 6, 2, 2), &image, 9),
                run(spec(16, 32, 3, 2, 1), &x, 10),
                y,
                dw.forward(&x).expect("shapes fit"),
                max_pool_same(&x, 5).expect("odd kernel"),
                upsample_bilinear2x(&x),
                sum,
            ]
        })
    }

    #[test]
    fn bit_identical_whatever_the_thread_count() {
        let one = run_all(1);
        for threads in [2, 3, 5] {
            let many = run_all(threads);
            for (a, b) in one.iter().zip(&many) {
                let same = a
                    .data()
                    .iter()
                    .zip(b.data())
                    .all(|(u, v)| u.to_bits() == v.to_bits());
                assert!(same, "results differ with {threads} threads");
            }
        }
    }
}

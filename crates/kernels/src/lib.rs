//! Fast CPU inference kernels for the YOLO-Basin networks, on plain `f32` NCHW tensors.
//!
//! Everything here works on [`Tensor`] (a batch-major NCHW `Vec<f32>` with its shape) and
//! knows nothing of burn: the model crate folds BatchNorm into the convolutions and feeds
//! the folded weights to these kernels.
//!
//! - [`Conv2d`]: dense convolution (any square kernel, stride, padding) as im2col + GEMM on
//!   the `gemm` crate, with bias and activation fused into the GEMM's epilogue.
//! - [`Depthwise3x3`]: direct depthwise 3×3 (stride 1 or 2, padding 1) with fused bias +
//!   activation.
//! - [`act`]: SiLU on a vectorised polynomial `exp`.
//! - [`max_pool_same`], [`upsample_bilinear2x`], [`concat_channels`], [`add`].
//!
//! Parallel work is split on rayon in pieces fixed by the tensor shapes alone, never by the
//! number of threads, so every result is bit-identical whatever the thread count.

pub mod act;
mod conv;
mod depthwise;
mod error;
mod im2col;
mod matmul;
mod ops;
mod pool;
#[cfg(test)]
mod reference;
mod simd;
mod tensor;
pub mod train;
mod upsample;

pub use act::Activation;
pub use conv::{Conv2d, ConvSpec};
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
            vec![
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

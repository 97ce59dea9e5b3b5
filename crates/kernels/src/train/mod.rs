//! Training kernels: the forward pass of a YOLOv5 `Conv` block (convolution → batch-statistic
//! BatchNorm → SiLU) and its closed-form backward, on plain `f32` NCHW slices.
//!
//! The model crate wraps these in an autodiff-aware burn op, so that one block costs one
//! graph node instead of a dozen element-wise ones.
//!
//! - [`ConvShape`], [`conv_forward`], [`conv_backward`]: dense (groups = 1) 3×3 stride-1
//!   convolution by Winograd F(4×4, 3×3) in all three passes; other dense ones as im2col +
//!   GEMM, their data gradient as GEMM + col2im and weight gradient as GEMM; depthwise
//!   (groups = channels) as direct loops.
//! - [`bn_silu_forward`], [`bn_silu_backward`]: batch-statistic BatchNorm fused with SiLU.
//! - [`conv_bn_silu_backward`]: the whole block's backward, its BatchNorm gradient kept in
//!   a reused scratch buffer.
//!
//! Work is split by image (convolutions) or by image plane (BatchNorm), and per-image partial
//! sums are reduced in image order, so results do not depend on the thread count.

mod block;
mod bn_silu;
mod conv;
mod depthwise;
mod gemm;
mod winograd;

pub use block::{BlockGrads, BlockSaved, conv_bn_silu_backward};
pub use bn_silu::{BnSiluGrads, BnSiluOutput, bn_silu_backward, bn_silu_forward};
pub use conv::{ConvGrads, ConvShape, conv_backward, conv_forward};

#[cfg(test)]
mod determinism {
    use super::*;
    use crate::reference::random_vec;

    /// Forward and backward of a strided dense, a Winograd (3×3 stride 1) and a depthwise
    /// block in a pool of `threads`.
    fn run(threads: usize) -> Vec<Vec<f32>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            let mut out = Vec::new();
            for (stride, depthwise) in [(2, false), (1, false), (2, true)] {
                let s = ConvShape {
                    batch: 3,
                    c_in: 8,
                    h: 23,
                    w: 21,
                    c_out: 8,
                    kernel: 3,
                    stride,
                    padding: 1,
                    depthwise,
                };
                let x = random_vec(s.batch * s.input_len(), 1);
                let w = random_vec(s.weight_len(), 2);
                let z = conv_forward(&s, &x, &w).expect("sizes fit");
                let plane = z.len() / (s.batch * s.c_out);
                let (gamma, beta) = (random_vec(8, 3), random_vec(8, 4));
                let bn = bn_silu_forward(&z, 3, 8, plane, &gamma, &beta, 1e-3).expect("sizes fit");
                let dy = random_vec(z.len(), 5);
                let g =
                    bn_silu_backward(&z, &dy, 3, 8, plane, &gamma, &beta, &bn.mean, &bn.var, 1e-3)
                        .expect("sizes fit");
                let c = conv_backward(&s, &x, &w, &g.input, true).expect("sizes fit");
                out.extend([bn.y, bn.mean, bn.var, g.gamma, g.beta, c.weight]);
                out.extend(c.input);
            }
            out
        })
    }

    #[test]
    fn bit_identical_whatever_the_thread_count() {
        let one = run(1);
        for threads in [2, 3] {
            let many = run(threads);
            assert_eq!(one.len(), many.len());
            for (a, b) in one.iter().zip(&many) {
                assert!(
                    a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits()),
                    "{threads} threads"
                );
            }
        }
    }
}

//! The backward of a whole `Conv` block: BatchNorm + SiLU backward into a scratch buffer,
//! then the convolution's backward from it.

use super::bn_silu::{BnStats, backward_into};
use super::conv::{ConvShape, conv_backward};
use crate::KernelError;
use crate::scratch::with_scratch;

/// Gradients of a `Conv` block's input (when asked for), conv weights, γ and β.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockGrads {
    pub input: Option<Vec<f32>>,
    pub weight: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// A `Conv` block's forward values the backward needs.
#[derive(Debug, Clone, Copy)]
pub struct BlockSaved<'a> {
    /// The block input and conv weights.
    pub x: &'a [f32],
    pub weight: &'a [f32],
    /// The conv output (BatchNorm input).
    pub z: &'a [f32],
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    /// Batch mean and biased variance of `z`.
    pub mean: &'a [f32],
    pub var: &'a [f32],
    pub eps: f64,
}

/// Backward of conv → BatchNorm (batch statistics) → SiLU given the output gradient `dy`.
pub fn conv_bn_silu_backward(
    shape: &ConvShape,
    saved: &BlockSaved,
    dy: &[f32],
    need_input: bool,
) -> Result<BlockGrads, KernelError> {
    let (oh, ow) = shape.output_size()?;
    let stats = BnStats {
        batch: shape.batch,
        channels: shape.c_out,
        plane: oh * ow,
        gamma: saved.gamma,
        beta: saved.beta,
        mean: saved.mean,
        var: saved.var,
        eps: saved.eps,
    };
    with_scratch(saved.z.len(), |dz| {
        let (gamma, beta) = backward_into(saved.z, dy, &stats, dz)?;
        let conv = conv_backward(shape, saved.x, saved.weight, dz, need_input)?;
        Ok(BlockGrads {
            input: conv.input,
            weight: conv.weight,
            gamma,
            beta,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::random_vec;
    use crate::train::{bn_silu_backward, bn_silu_forward, conv_forward};

    #[test]
    fn equals_the_two_backwards_chained() {
        let s = ConvShape {
            batch: 2,
            c_in: 3,
            h: 9,
            w: 8,
            c_out: 4,
            kernel: 3,
            stride: 2,
            padding: 1,
            depthwise: false,
        };
        let x = random_vec(s.batch * s.input_len(), 1);
        let w = random_vec(s.weight_len(), 2);
        let z = conv_forward(&s, &x, &w).unwrap();
        let plane = z.len() / 8;
        let (gamma, beta) = (random_vec(4, 3), random_vec(4, 4));
        let f = bn_silu_forward(&z, 2, 4, plane, &gamma, &beta, 1e-3).unwrap();
        let dy = random_vec(z.len(), 5);
        let bn =
            bn_silu_backward(&z, &dy, 2, 4, plane, &gamma, &beta, &f.mean, &f.var, 1e-3).unwrap();
        let conv = conv_backward(&s, &x, &w, &bn.input, true).unwrap();
        let saved = BlockSaved {
            x: &x,
            weight: &w,
            z: &z,
            gamma: &gamma,
            beta: &beta,
            mean: &f.mean,
            var: &f.var,
            eps: 1e-3,
        };
        let got = conv_bn_silu_backward(&s, &saved, &dy, true).unwrap();
        assert_eq!(got.input, conv.input);
        assert_eq!(got.weight, conv.weight);
        assert_eq!((got.gamma, got.beta), (bn.gamma, bn.beta));
        let short = conv_bn_silu_backward(&s, &saved, &dy[1..], true).unwrap_err();
        assert!(short.to_string().contains("output gradient"), "{short}");
    }
}

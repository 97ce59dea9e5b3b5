//! Reading a trained burn layer out to plain `f32` and folding its BatchNorm into it.
//!
//! In eval mode BatchNorm is the affine map y = γ·(x − μ)/√(σ² + ε) + β per channel, so
//! conv-then-BN is one conv with w' = w·s and b' = β + (b − μ)·s where s = γ/√(σ² + ε).
//! The fold is done in f64 so it adds no rounding beyond the final cast.

use burn::nn::conv::Conv2d as BurnConv2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use kernels::{Activation, Conv2d, ConvSpec, Depthwise3x3};

use super::FastError;

/// A folded convolution: dense (groups = 1) or depthwise 3×3.
#[derive(Debug, Clone)]
pub(super) enum Folded {
    Dense(Conv2d),
    Depthwise(Depthwise3x3),
}

/// Tensor values on the host as f32, whatever the device and element type.
pub(super) fn read<const D: usize>(
    t: Tensor<D>,
    layer: &str,
    tensor: &'static str,
) -> Result<Vec<f32>, FastError> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| FastError::Read {
            layer: layer.to_string(),
            tensor,
            detail: format!("{e:?}"),
        })
}

/// Per-channel (scale, shift) of an eval-mode BatchNorm.
fn bn_affine(bn: &BatchNorm, layer: &str) -> Result<(Vec<f64>, Vec<f64>), FastError> {
    let gamma = read(bn.gamma.val(), layer, "bn.gamma")?;
    let beta = read(bn.beta.val(), layer, "bn.beta")?;
    let mean = read(bn.running_mean.value(), layer, "bn.running_mean")?;
    let var = read(bn.running_var.value(), layer, "bn.running_var")?;
    let n = gamma.len();
    if [beta.len(), mean.len(), var.len()] != [n, n, n] {
        return Err(unsupported(
            layer,
            format!(
                "BatchNorm vectors differ in length: γ {n}, β {}, μ {}, σ² {}",
                beta.len(),
                mean.len(),
                var.len()
            ),
        ));
    }
    let scale: Vec<f64> = gamma
        .iter()
        .zip(&var)
        .map(|(&g, &v)| g as f64 / (v as f64 + bn.epsilon).sqrt())
        .collect();
    let shift = (0..n)
        .map(|c| beta[c] as f64 - mean[c] as f64 * scale[c])
        .collect();
    Ok((scale, shift))
}

fn unsupported(layer: &str, detail: String) -> FastError {
    FastError::Unsupported {
        layer: layer.to_string(),
        detail,
    }
}

/// Symmetric padding of a burn conv, or why it is not supported.
fn padding(conv: &BurnConv2d, layer: &str) -> Result<usize, FastError> {
    match conv.padding {
        PaddingConfig2d::Valid => Ok(0),
        PaddingConfig2d::Explicit(t, l, b, r) if t == l && l == b && b == r => Ok(t),
        PaddingConfig2d::Same if conv.stride == [1, 1] && conv.kernel_size[0] % 2 == 1 => {
            Ok(conv.kernel_size[0] / 2)
        }
        ref other => Err(unsupported(
            layer,
            format!("padding {other:?} (only symmetric padding is folded)"),
        )),
    }
}

/// Folds `conv` (and `bn` when given) into a kernel layer applying `act` after the bias.
pub(super) fn fold(
    conv: &BurnConv2d,
    bn: Option<&BatchNorm>,
    act: Activation,
    layer: &str,
) -> Result<Folded, FastError> {
    let [c_out, c_in_group, kh, kw] = conv.weight.dims();
    if kh != kw || conv.stride[0] != conv.stride[1] || conv.dilation != [1, 1] {
        return Err(unsupported(
            layer,
            format!(
                "kernel {kh}×{kw}, stride {:?}, dilation {:?} (only square, undilated kernels)",
                conv.stride, conv.dilation
            ),
        ));
    }
    let pad = padding(conv, layer)?;
    let mut weight = read(conv.weight.val(), layer, "conv.weight")?;
    let bias = match &conv.bias {
        Some(b) => read(b.val(), layer, "conv.bias")?,
        None => vec![0.0; c_out],
    };
    let (scale, shift) = match bn {
        Some(bn) => bn_affine(bn, layer)?,
        None => (vec![1.0; c_out], vec![0.0; c_out]),
    };
    if scale.len() != c_out || bias.len() != c_out {
        return Err(unsupported(
            layer,
            format!(
                "{c_out} output channels but {} BatchNorm channels and {} biases",
                scale.len(),
                bias.len()
            ),
        ));
    }
    let per_out = c_in_group * kh * kw;
    for (co, row) in weight.chunks_exact_mut(per_out).enumerate() {
        for v in row {
            *v = (*v as f64 * scale[co]) as f32;
        }
    }
    let bias: Vec<f32> = (0..c_out)
        .map(|co| (shift[co] + bias[co] as f64 * scale[co]) as f32)
        .collect();
    let stride = conv.stride[0];
    let kernel_err = |e| FastError::Kernel {
        layer: layer.to_string(),
        source: e,
    };
    match conv.groups {
        1 => {
            let spec = ConvSpec {
                c_in: c_in_group,
                c_out,
                kernel: kh,
                stride,
                padding: pad,
            };
            Conv2d::new(spec, weight, bias, act)
                .map(Folded::Dense)
                .map_err(kernel_err)
        }
        g if g == c_out && c_in_group == 1 && kh == 3 && pad == 1 => {
            Depthwise3x3::new(c_out, stride, weight, bias, act)
                .map(Folded::Depthwise)
                .map_err(kernel_err)
        }
        g => Err(unsupported(
            layer,
            format!(
                "groups {g} with {c_out} outputs, kernel {kh}, padding {pad} (only dense or \
                 depthwise 3×3 with padding 1)"
            ),
        )),
    }
}

//! The fused Conv → BatchNorm (batch statistics) → SiLU op as a burn backend extension:
//! forward kernel on Flex, a hand-written autodiff step on `Autodiff<Flex, C>`.
//!
//! One block becomes one graph node whose backward is closed-form, where the plain burn path
//! records a dozen element-wise nodes (each with its own pass and saved tensors).

use std::fmt;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::{Shape, TensorData};
use kernels::train::{BlockSaved, ConvShape, bn_silu_forward, conv_bn_silu_backward, conv_forward};

/// A YOLOv5 `Conv` block in training mode. Returns the block's output and the batch mean and
/// biased variance (for the running statistics; they carry no gradient).
#[backend_extension(Flex, Autodiff)]
pub trait ConvBnSiluBackend: Backend {
    #[allow(clippy::too_many_arguments)] // the block's four tensors and its four settings
    fn conv_bn_silu_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        depthwise: bool,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl ConvBnSiluBackend for Flex {
    fn conv_bn_silu_train(
        x: FlexTensor,
        weight: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        stride: usize,
        padding: usize,
        depthwise: bool,
        eps: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let inputs = Inputs::new(x, weight, gamma, beta, stride, padding, depthwise, eps);
        let fwd = Forward::run(&inputs);
        (fwd.y, fwd.mean, fwd.var)
    }
}

impl<C: CheckpointStrategy> ConvBnSiluBackend for Autodiff<Flex, C> {
    fn conv_bn_silu_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stride: usize,
        padding: usize,
        depthwise: bool,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        // The guards keep the inputs' nodes alive until the step is registered.
        let prep = ConvBnSiluStep
            .prepare::<C>([x.node(), weight.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let inputs = Inputs::new(
            x.into_primitive(),
            weight.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            stride,
            padding,
            depthwise,
            eps,
        );
        let fwd = Forward::run(&inputs);
        let stats = (
            FloatTensor::<Self>::new(fwd.mean.clone()),
            FloatTensor::<Self>::new(fwd.var.clone()),
        );
        let y = match prep {
            OpsKind::Tracked(prep) => {
                let saved = Saved {
                    mean: values(&fwd.mean),
                    var: values(&fwd.var),
                    z: Arc::new(fwd.z),
                    inputs,
                };
                prep.finish(saved, fwd.y)
            }
            OpsKind::UnTracked(prep) => prep.finish(fwd.y),
        };
        (y, stats.0, stats.1)
    }
}

/// The block's inputs as contiguous f32 tensors, with the convolution's sizes.
#[derive(Clone)]
struct Inputs {
    x: FlexTensor,
    weight: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    shape: ConvShape,
    eps: f64,
}

impl Inputs {
    #[allow(clippy::too_many_arguments)]
    fn new(
        x: FlexTensor,
        weight: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        stride: usize,
        padding: usize,
        depthwise: bool,
        eps: f64,
    ) -> Self {
        let (x, weight) = (contiguous(x), contiguous(weight));
        let xs = x.layout().shape();
        let ws = weight.layout().shape();
        assert!(
            xs.num_dims() == 4 && ws.num_dims() == 4 && ws[2] == ws[3],
            "conv_bn_silu_train: input {xs:?} and weight {ws:?} must be 4-D, the kernel square"
        );
        let shape = ConvShape {
            batch: xs[0],
            c_in: xs[1],
            h: xs[2],
            w: xs[3],
            c_out: ws[0],
            kernel: ws[2],
            stride,
            padding,
            depthwise,
        };
        Self {
            x,
            weight,
            gamma: contiguous(gamma),
            beta: contiguous(beta),
            shape,
            eps,
        }
    }
}

/// Forward results: output, statistics and the conv output the backward needs.
struct Forward {
    y: FlexTensor,
    mean: FlexTensor,
    var: FlexTensor,
    z: Vec<f32>,
}

impl Forward {
    fn run(inp: &Inputs) -> Self {
        let s = &inp.shape;
        let z = conv_forward(s, slice(&inp.x), slice(&inp.weight))
            .unwrap_or_else(|e| panic!("conv_bn_silu_train: {e}"));
        let (oh, ow) = s.output_size().unwrap_or_else(|e| panic!("{e}"));
        let out = bn_silu_forward(
            &z,
            s.batch,
            s.c_out,
            oh * ow,
            slice(&inp.gamma),
            slice(&inp.beta),
            inp.eps,
        )
        .unwrap_or_else(|e| panic!("conv_bn_silu_train: {e}"));
        Self {
            y: tensor(out.y, [s.batch, s.c_out, oh, ow]),
            mean: tensor(out.mean, [s.c_out]),
            var: tensor(out.var, [s.c_out]),
            z,
        }
    }
}

/// What the backward reads: the inputs (shared, not copied), the conv output and the
/// statistics.
#[derive(Clone)]
struct Saved {
    inputs: Inputs,
    z: Arc<Vec<f32>>,
    mean: Arc<Vec<f32>>,
    var: Arc<Vec<f32>>,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Saved")
            .field("shape", &self.inputs.shape)
            .field("eps", &self.inputs.eps)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct ConvBnSiluStep;

impl Backward<Flex, 4> for ConvBnSiluStep {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_gamma, node_beta] = ops.parents;
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        let saved = ops.state;
        let inp = &saved.inputs;
        let s = &inp.shape;
        let block = BlockSaved {
            x: slice(&inp.x),
            weight: slice(&inp.weight),
            z: &saved.z,
            gamma: slice(&inp.gamma),
            beta: slice(&inp.beta),
            mean: &saved.mean,
            var: &saved.var,
            eps: inp.eps,
        };
        let g = conv_bn_silu_backward(s, &block, slice(&dy), node_x.is_some())
            .unwrap_or_else(|e| panic!("conv_bn_silu_train backward: {e}"));
        if let (Some(node), Some(dx)) = (node_x, g.input) {
            grads.register::<Flex>(node.id, like(dx, &inp.x));
        }
        if let Some(node) = node_w {
            grads.register::<Flex>(node.id, like(g.weight, &inp.weight));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, like(g.gamma, &inp.gamma));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, like(g.beta, &inp.beta));
        }
    }
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The f32 values of a tensor made contiguous by [`contiguous`].
fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .unwrap_or_else(|| panic!("conv_bn_silu_train: {t:?} is not a contiguous f32 tensor"))
}

fn values(t: &FlexTensor) -> Arc<Vec<f32>> {
    Arc::new(slice(t).to_vec())
}

fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

/// A tensor of `data` with the shape of `of`.
fn like(data: Vec<f32>, of: &FlexTensor) -> FlexTensor {
    let shape: Shape = of.layout().shape().clone();
    FlexTensor::from_data(TensorData::new(data, shape))
}

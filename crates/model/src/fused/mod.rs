//! The fused training path of YOLOv5's `Conv` block (conv → batch-statistic BatchNorm →
//! SiLU as one autodiff node with a closed-form backward, on the `kernels` crate).
//!
//! [`crate::blocks::Conv::forward`] takes it when the input lives on an autodiff Flex
//! device and the BatchNorm trains; inference (`model.valid()`), GPU devices and frozen
//! BatchNorms keep the plain burn path. [`set_enabled`] (or `YOLO_BASIN_FUSED=0` in the
//! environment) forces the plain path everywhere, [`with_enabled`] on one thread, so both
//! can be compared in one process.

mod op;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

use burn::backend::{Dispatch, DispatchDevice};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::DType;

use crate::blocks::Conv;
pub use op::ConvBnSiluBackend;

/// The environment variable that disables the fused path when set to `0`.
pub const ENV_VAR: &str = "YOLO_BASIN_FUSED";

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static GLOBAL: AtomicU8 = AtomicU8::new(UNSET);

thread_local! {
    static OVERRIDE: Cell<Option<bool>> = const { Cell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// Fused blocks run on this thread, so tests can tell which path ran.
    static FUSED_CALLS: Cell<usize> = const { Cell::new(0) };
}

/// Turns the fused path on or off for the whole process (overrides [`ENV_VAR`]).
pub fn set_enabled(on: bool) {
    GLOBAL.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether `Conv::forward` may take the fused path on this thread: the innermost
/// [`with_enabled`], else [`set_enabled`], else [`ENV_VAR`] (on unless `0`).
pub fn enabled() -> bool {
    if let Some(on) = OVERRIDE.with(Cell::get) {
        return on;
    }
    match GLOBAL.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on = std::env::var(ENV_VAR).map_or(true, |v| v.trim() != "0");
            // A concurrent set_enabled wins over the environment.
            let _ = GLOBAL.compare_exchange(
                UNSET,
                if on { ON } else { OFF },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            GLOBAL.load(Ordering::Relaxed) == ON
        }
    }
}

/// Runs `f` with the fused path on or off for the calling thread only (a network's forward
/// decides per block on the thread that calls it), restoring the previous setting after.
pub fn with_enabled<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(on))));
    f()
}

/// How the fused op runs one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    stride: usize,
    padding: usize,
    depthwise: bool,
}

/// The plan of a block the fused op can run: square kernel, equal strides, symmetric
/// explicit padding, no dilation or bias, groups 1 or depthwise.
fn block_plan(block: &Conv) -> Option<Plan> {
    let conv = &block.conv;
    let [c_out, per_group, kh, kw] = conv.weight.dims();
    let [sy, sx] = conv.stride;
    let padding = match conv.padding {
        PaddingConfig2d::Explicit(t, l, b, r) if t == l && t == b && t == r => t,
        _ => return None,
    };
    let depthwise = conv.groups > 1 && per_group == 1 && conv.groups == c_out;
    let plain = kh == kw && sy == sx && conv.dilation == [1, 1] && conv.bias.is_none();
    (plain && (conv.groups == 1 || depthwise)).then_some(Plan {
        stride: sy,
        padding,
        depthwise,
    })
}

fn is_autodiff_flex(device: &Device) -> bool {
    match device.as_dispatch() {
        DispatchDevice::Autodiff(ad) => matches!(**ad, DispatchDevice::Flex(_)),
        _ => false,
    }
}

/// The fused op's plan for `block` on `x`, or `None` where the plain path must run:
/// fused path disabled, BatchNorm frozen, not f32, not an autodiff Flex tensor.
pub(crate) fn plan(block: &Conv, x: &Tensor<4>) -> Option<Plan> {
    let usable = enabled()
        && block.bn.training.is_enabled()
        && x.dtype() == DType::F32
        && is_autodiff_flex(&x.device());
    block_plan(block).filter(|_| usable)
}

/// The block's output, its BatchNorm's running statistics updated as burn's would be.
pub(crate) fn forward(block: &Conv, x: Tensor<4>, plan: Plan) -> Tensor<4> {
    #[cfg(test)]
    FUSED_CALLS.with(|c| c.set(c.get() + 1));
    let device = x.device();
    let bn = &block.bn;
    let (y, mean, var) = <Dispatch as ConvBnSiluBackend>::conv_bn_silu_train(
        x.into_dispatch(),
        block.conv.weight.val().into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        plan.stride,
        plan.padding,
        plan.depthwise,
        bn.epsilon,
    );
    // burn-nn's BatchNorm::forward_train, term for term: the running estimates move by
    // `momentum` towards the batch mean and the (biased) batch variance.
    let m = bn.momentum;
    let mean = Tensor::<1>::from_dispatch(mean);
    let var = Tensor::<1>::from_dispatch(var);
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    let running_mean = running_mean
        .mul_scalar(1.0 - m)
        .add(mean.detach().mul_scalar(m));
    let running_var = running_var
        .mul_scalar(1.0 - m)
        .add(var.detach().mul_scalar(m));
    bn.running_mean.update(running_mean.detach());
    bn.running_var.update(running_var.detach());
    Tensor::from_dispatch(y)
}

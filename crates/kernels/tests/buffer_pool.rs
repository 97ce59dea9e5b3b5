//! Tensors and the process-wide buffer pool. A test binary of its own (its own process), so
//! that no other test's tensors take or evict the buffers these watch; the tests here take
//! turns on `SERIAL` for the same reason.

use std::sync::Mutex;

use kernels::{Shape, Tensor, clear_pool, pool_stats};

static SERIAL: Mutex<()> = Mutex::new(());

/// 1,000,000 values: 4 MB, far over the pooling threshold.
const SHAPE: Shape = Shape::new(1, 10, 100, 1000);
const BYTES: usize = SHAPE.len() * 4;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    clear_pool();
    guard
}

fn dirty(t: &mut Tensor) {
    for (i, v) in t.data_mut().iter_mut().enumerate() {
        *v = i as f32 + 0.25;
    }
}

#[test]
fn zeros_reuse_a_dropped_tensor_s_buffer_and_are_zero() {
    let _g = serial();
    let mut a = Tensor::zeros(SHAPE);
    dirty(&mut a);
    let p = a.data().as_ptr();
    drop(a);
    let before = pool_stats();
    assert_eq!((before.pooled_bytes, before.lent_bytes), (BYTES, 0));
    let b = Tensor::zeros(SHAPE);
    assert_eq!(b.data().as_ptr(), p);
    assert!(b.data().iter().all(|v| v.to_bits() == 0));
    assert_eq!(pool_stats().hits, before.hits + 1);
}

#[test]
fn clones_and_channel_slices_come_from_the_pool_with_their_values() {
    let _g = serial();
    let mut a = Tensor::zeros(SHAPE);
    dirty(&mut a);
    drop(Tensor::zeros(SHAPE));
    let (p, hits) = (pool_stats(), pool_stats().hits);
    assert_eq!(p.pooled_buffers, 1);
    let b = a.clone();
    assert_eq!(b, a);
    assert_eq!(pool_stats().hits, hits + 1);
    drop(b);
    // Half the channels fit the pooled 4 MB buffer (within four times the request).
    let half = a.channels(5, 5).expect("channels 5..10 of 10");
    assert_eq!(pool_stats().hits, hits + 2);
    assert_eq!(half.data()[0], (5 * 100 * 1000) as f32 + 0.25);
    assert_eq!(half.data().len(), SHAPE.len() / 2);
}

#[test]
fn into_data_takes_the_buffer_out_and_new_leaves_the_callers_alone() {
    let _g = serial();
    let lent = pool_stats().lent_bytes;
    let a = Tensor::zeros(SHAPE);
    assert_eq!(pool_stats().lent_bytes, lent + BYTES);
    let data = a.into_data();
    assert_eq!(pool_stats().lent_bytes, lent);
    // A buffer from outside is neither counted nor pooled: it is freed as before.
    let b = Tensor::new(data, SHAPE).expect("the length of the shape");
    assert_eq!(pool_stats().lent_bytes, lent);
    drop(b);
    let s = pool_stats();
    assert_eq!((s.lent_bytes, s.pooled_bytes), (lent, 0));
}

#[test]
fn a_fill_of_the_wrong_length_is_refused_and_its_buffer_returned() {
    let _g = serial();
    let lent = pool_stats().lent_bytes;
    let short = Tensor::from_fill(SHAPE, |v| v.extend_from_slice(&[1.0; 10]));
    assert!(short.is_err());
    // Past the room: the fill reallocates, and the accounts follow the new buffer.
    let long = Tensor::from_fill(SHAPE, |v| v.resize(SHAPE.len() + 1, 2.0));
    assert!(long.is_err());
    let ok = Tensor::from_fill(SHAPE, |v| v.resize(SHAPE.len(), 3.0)).expect("exact fill");
    assert!(ok.data().iter().all(|&v| v == 3.0));
    drop(ok);
    assert_eq!(pool_stats().lent_bytes, lent);
}

/// Every route of `Conv2d` and `Depthwise3x3` writes its output into a pooled buffer as its
/// last user left it; a value skipped would show the NaN planted here.
#[test]
fn layers_overwrite_every_value_of_a_dirty_pooled_buffer() {
    use kernels::{Activation, Conv2d, ConvSpec, Depthwise3x3};
    let _g = serial();
    let x_shape = Shape::new(2, 32, 41, 45);
    let x = Tensor::new(
        (0..x_shape.len())
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect(),
        x_shape,
    )
    .unwrap();
    let conv = |kernel: usize, stride: usize, padding: usize| {
        let spec = ConvSpec {
            c_in: 32,
            c_out: 24,
            kernel,
            stride,
            padding,
        };
        let n = 24 * 32 * kernel * kernel;
        let w = (0..n).map(|i| ((i % 13) as f32 - 6.0) / 50.0).collect();
        Conv2d::new(spec, w, vec![0.1; 24], Activation::Silu).unwrap()
    };
    // Winograd, one GEMM (1×1), blocked im2col (stride 2, and the 6×6 stem's shape).
    let convs = [conv(3, 1, 1), conv(1, 1, 0), conv(3, 2, 1), conv(6, 2, 2)];
    let dws = [1, 2].map(|s| {
        let w = (0..32 * 9).map(|i| ((i % 7) as f32 - 3.0) / 10.0).collect();
        Depthwise3x3::new(32, s, w, vec![0.0; 32], Activation::Silu).unwrap()
    });
    let runs: Vec<Box<dyn Fn() -> Tensor>> = convs
        .iter()
        .map(|c| Box::new(|| c.forward(&x).unwrap()) as Box<dyn Fn() -> Tensor>)
        .chain(dws.iter().map(|d| Box::new(|| d.forward(&x).unwrap()) as _))
        .collect();
    for run in &runs {
        let clean = run();
        let (want, shape) = (clean.data().to_vec(), clean.shape());
        drop(clean);
        let mut planted = Tensor::zeros(shape);
        planted.data_mut().fill(f32::NAN);
        let p = planted.data().as_ptr();
        drop(planted);
        let again = run();
        assert_eq!(again.data().as_ptr(), p, "the planted buffer was reused");
        assert!(
            again
                .data()
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "a layer of output {shape} left values of the buffer's last user"
        );
    }
}

//! Per-thread scratch buffers for im2col columns and their gradients.
//!
//! A 3×3 convolution's columns are nine times its input; allocating them afresh for every
//! image of every layer cost more in page faults (the kernel zeroing new pages) than the
//! copies themselves. Buffers are taken from and returned to a per-thread pool, so a rayon
//! task that steals another while holding one simply takes a second.

use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with a buffer of `len` values whose contents are unspecified (left over from
/// earlier use): `f` must write before it reads.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = POOL.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    POOL.with(|p| p.borrow_mut().push(buf));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_takes_give_distinct_buffers_and_are_reused() {
        let first = with_scratch(8, |a| {
            a.fill(1.0);
            with_scratch(4, |b| {
                b.fill(2.0);
                b.as_ptr() as usize
            });
            assert!(
                a.iter().all(|&v| v == 1.0),
                "the inner buffer aliased the outer"
            );
            a.as_ptr() as usize
        });
        // The most recently returned buffer (the outer one) comes back first.
        assert_eq!(with_scratch(8, |a| a.as_ptr() as usize), first);
    }
}

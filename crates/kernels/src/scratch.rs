//! Per-thread scratch buffers for the blocked convolutions (Winograd tiles, im2col column
//! blocks).
//!
//! Each rayon task of a convolution needs a few MB of working memory. Allocating it per task
//! would page-fault it in afresh every time (the kernel zeroing new pages cost ~15 % of a
//! profile of the whole-image im2col); taking it from a per-thread pool touches those pages
//! once per thread. A task that steals another while holding a buffer simply takes a second.

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
            let inner = with_scratch(4, |b| {
                b.fill(2.0);
                b.as_ptr() as usize
            });
            assert!(
                a.iter().all(|&v| v == 1.0),
                "the inner buffer aliased the outer"
            );
            assert_ne!(inner, a.as_ptr() as usize);
            a.as_ptr() as usize
        });
        // The most recently returned buffer (the outer one) comes back first.
        assert_eq!(with_scratch(8, |a| a.as_ptr() as usize), first);
    }
}

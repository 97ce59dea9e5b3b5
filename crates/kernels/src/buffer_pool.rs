//! A process-wide pool of large `f32` buffers that [`Tensor`](crate::Tensor) draws from and
//! returns to.
//!
//! Why: a forward on a ~1,800 px window makes a few hundred layer outputs, many of 50–100 MB.
//! Fresh, glibc serves each with mmap, and every forward pays page faults and kernel zeroing
//! on first touch, then munmap on drop (~16 % of a scene scan's time in `perf`). Reused, a
//! buffer costs one memset, or nothing when it is filled by copies.
//!
//! A request takes the smallest idle buffer that holds it and is at most [`MAX_WASTE`] times
//! its size (best fit), else allocates. Windows of one scene all have one side, so from the
//! second forward on every request finds a buffer and no page is faulted in. Requests are
//! tensors ([`Tensor::zeros`](crate::Tensor::zeros), [`Tensor::from_fill`](crate::Tensor::from_fill),
//! clones, channel slices); a `Vec` handed to [`Tensor::new`](crate::Tensor::new) stays its
//! caller's and is not pooled. (Convolution scratch is per thread and bounded: `scratch`.)
//!
//! Memory. Without the pool only the buffers alive at one moment are resident; with it, also
//! the idle ones the forward needs again later. Idle bytes are capped ([`DEFAULT_POOL_LIMIT`],
//! 1 GiB; [`set_pool_limit`]) and past the cap the oldest idle buffers are freed, so what the
//! pool adds is bounded by the cap (plus the unused tails of buffers lent to tensors up to
//! [`MAX_WASTE`] times smaller). [`clear_pool`] frees them all: between scenes of other
//! window sides, or after a larger network. `yolo-basin bench scan` measures the peak of a
//! whole scan (docs/results.md).
//!
//! Small buffers (under [`MIN_POOLED_BYTES`]) bypass the pool: malloc serves them well.
//! Buffers come back zeroed or empty, never with another tensor's values visible, so results
//! do not depend on the pool.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Idle bytes kept at most unless [`set_pool_limit`] says otherwise.
pub const DEFAULT_POOL_LIMIT: usize = 1 << 30;
/// Buffers smaller than this bypass the pool.
pub const MIN_POOLED_BYTES: usize = 64 << 10;
/// An idle buffer serves requests of at least `1 / MAX_WASTE` of its capacity: small enough
/// that a small tensor does not pin a large buffer a later layer needs, large enough that the
/// halving sizes of successive stages share buffers (of 1, 2 and 4, 4 kept the fewest idle
/// bytes for the emulated forward's tensors, each serving every request from the second
/// forward on).
pub const MAX_WASTE: usize = 4;

const F32: usize = size_of::<f32>();

/// The pool every [`Tensor`](crate::Tensor) uses.
pub(crate) static GLOBAL: BufferPool = BufferPool::new(DEFAULT_POOL_LIMIT);

/// Caps the bytes the global pool keeps idle, freeing its oldest buffers down to the new
/// cap; 0 turns pooling off.
pub fn set_pool_limit(bytes: usize) {
    GLOBAL.set_limit(bytes);
}

/// Frees every idle buffer of the global pool (the limit stays).
pub fn clear_pool() {
    GLOBAL.clear();
}

/// The global pool's accounts.
pub fn pool_stats() -> PoolStats {
    GLOBAL.stats()
}

/// A pool's accounts, in bytes of capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Idle, ready for reuse.
    pub pooled_bytes: usize,
    pub pooled_buffers: usize,
    /// In live tensors.
    pub lent_bytes: usize,
    pub limit_bytes: usize,
    /// Requests served from the pool / by a fresh allocation.
    pub hits: u64,
    pub misses: u64,
}

/// A best-fit pool of `Vec<f32>` buffers that frees its oldest idle ones when over its limit.
pub(crate) struct BufferPool {
    state: Mutex<State>,
}

struct State {
    /// Idle buffers, oldest returned first.
    free: Vec<Vec<f32>>,
    pooled: usize,
    lent: usize,
    limit: usize,
    hits: u64,
    misses: u64,
}

/// Bytes a buffer of `capacity` values counts for: nothing below the pooling threshold.
fn counted(capacity: usize) -> usize {
    let bytes = capacity.saturating_mul(F32);
    if bytes < MIN_POOLED_BYTES { 0 } else { bytes }
}

impl BufferPool {
    pub const fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                free: Vec::new(),
                pooled: 0,
                lent: 0,
                limit,
                hits: 0,
                misses: 0,
            }),
        }
    }

    /// `len` zeros, in a pooled buffer when one fits.
    pub fn take_zeroed(&self, len: usize) -> Vec<f32> {
        match self.take(len) {
            Some(mut v) => {
                v.clear();
                v.resize(len, 0.0);
                v
            }
            // calloc: fresh pages come zeroed by the kernel, no memset.
            None => self.fresh(len, || vec![0.0; len]),
        }
    }

    /// An empty buffer with room for `len` values, for a caller that pushes them all.
    pub fn take_empty(&self, len: usize) -> Vec<f32> {
        match self.take(len) {
            Some(mut v) => {
                v.clear();
                v
            }
            None => self.fresh(len, || Vec::with_capacity(len)),
        }
    }

    /// `len` values left over from the buffer's last use (zeros past what it held then, and
    /// for a fresh one): initialised, never cleared, for a caller that writes every value
    /// before anything reads it.
    pub fn take_stale(&self, len: usize) -> Vec<f32> {
        match self.take(len) {
            // A buffer keeps its length in the pool, so every value up to it was written.
            Some(mut v) => {
                v.resize(len, 0.0);
                v
            }
            None => self.fresh(len, || vec![0.0; len]),
        }
    }

    /// Takes back a buffer lent by this pool.
    pub fn give(&self, v: Vec<f32>) {
        let bytes = counted(v.capacity());
        if bytes == 0 {
            return;
        }
        let freed = self.locked(|s| {
            s.lent = s.lent.saturating_sub(bytes);
            if bytes > s.limit {
                return vec![v];
            }
            let freed = s.free_oldest_while(|s| s.pooled + bytes > s.limit);
            s.pooled += bytes;
            s.free.push(v);
            freed
        });
        drop(freed);
    }

    /// Forgets a lent buffer that leaves for good (`Tensor::into_data`).
    pub fn disown(&self, capacity: usize) {
        let bytes = counted(capacity);
        if bytes > 0 {
            self.locked(|s| s.lent = s.lent.saturating_sub(bytes));
        }
    }

    /// A lent buffer's capacity changed from `old` to `new` values (a fill outgrew it, and
    /// the buffer given back will be the new one).
    pub fn recount(&self, old: usize, new: usize) {
        let (old, new) = (counted(old), counted(new));
        if old != new {
            self.locked(|s| s.lent = s.lent.saturating_sub(old).saturating_add(new));
        }
    }

    pub fn set_limit(&self, bytes: usize) {
        let freed = self.locked(|s| {
            s.limit = bytes;
            s.free_oldest_while(|s| s.pooled > s.limit)
        });
        drop(freed);
    }

    pub fn clear(&self) {
        let freed = self.locked(|s| s.free_oldest_while(|s| s.pooled > 0));
        drop(freed);
    }

    pub fn stats(&self) -> PoolStats {
        self.locked(|s| PoolStats {
            pooled_bytes: s.pooled,
            pooled_buffers: s.free.len(),
            lent_bytes: s.lent,
            limit_bytes: s.limit,
            hits: s.hits,
            misses: s.misses,
        })
    }

    /// The best-fitting idle buffer, its contents stale (callers clear or resize it), or `None` after
    /// counting the fresh allocation the caller makes instead.
    fn take(&self, len: usize) -> Option<Vec<f32>> {
        let bytes = counted(len);
        if bytes == 0 {
            return None;
        }
        self.locked(|s| {
            let found = s.best_fit(len).map(|i| s.free.remove(i));
            match &found {
                Some(v) => {
                    let b = counted(v.capacity());
                    s.pooled -= b;
                    s.lent += b;
                    s.hits += 1;
                }
                None => {
                    s.lent += bytes;
                    s.misses += 1;
                }
            }
            found
        })
    }

    /// A fresh allocation after a miss, its count corrected should the allocator have given
    /// more than `len`.
    fn fresh(&self, len: usize, alloc: impl FnOnce() -> Vec<f32>) -> Vec<f32> {
        let v = alloc();
        self.recount(len, v.capacity());
        v
    }

    fn locked<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // The accounts are updated in arithmetic that cannot panic half-way, so a poisoned
        // lock (a panic elsewhere while holding it) still guards consistent ones.
        let mut guard: MutexGuard<'_, State> =
            self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl State {
    /// Index of the smallest idle buffer of `len` to `MAX_WASTE × len` values.
    fn best_fit(&self, len: usize) -> Option<usize> {
        let most = len.saturating_mul(MAX_WASTE);
        self.free
            .iter()
            .enumerate()
            .filter(|(_, v)| (len..=most).contains(&v.capacity()))
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i)
    }

    /// Takes the oldest idle buffers out while `over`, to be freed outside the lock (munmap
    /// of 100 MB is slow enough to stall other threads).
    fn free_oldest_while(&mut self, over: impl Fn(&State) -> bool) -> Vec<Vec<f32>> {
        let mut n = 0;
        while n < self.free.len() && over(self) {
            self.pooled -= counted(self.free[n].capacity());
            n += 1;
        }
        self.free.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in a buffer of `mib` MiB.
    const fn mib(mib: usize) -> usize {
        mib * (1 << 20) / F32
    }
    const MIB: usize = 1 << 20;

    fn pointers(pool: &BufferPool, lens: &[usize]) -> Vec<*const f32> {
        let bufs: Vec<_> = lens.iter().map(|&n| pool.take_empty(n)).collect();
        let ptrs = bufs.iter().map(|v| v.as_ptr()).collect();
        bufs.into_iter().for_each(|v| pool.give(v));
        ptrs
    }

    #[test]
    fn a_returned_buffer_comes_back() {
        let pool = BufferPool::new(DEFAULT_POOL_LIMIT);
        let v = pool.take_zeroed(mib(4));
        let p = v.as_ptr();
        pool.give(v);
        let w = pool.take_zeroed(mib(4));
        assert_eq!(w.as_ptr(), p);
        let s = pool.stats();
        assert_eq!((s.hits, s.misses), (1, 1));
        assert_eq!((s.lent_bytes, s.pooled_bytes), (4 * MIB, 0));
    }

    #[test]
    fn best_fit_within_max_waste() {
        let pool = BufferPool::new(DEFAULT_POOL_LIMIT);
        let p = pointers(&pool, &[mib(1), mib(3), mib(2)]);
        // 1.5 MiB: the 2 MiB buffer, not the 3 MiB one.
        let mid = pool.take_empty(mib(3) / 2);
        assert_eq!(mid.as_ptr(), p[2]);
        // 0.2 MiB: the 1 MiB buffer is over four times that, so a fresh one (a miss; its
        // address proves nothing, malloc may reuse a freed buffer's).
        let small = pool.take_empty(mib(1) / 5);
        assert!(small.capacity() >= mib(1) / 5);
        assert_eq!((pool.stats().hits, pool.stats().misses), (1, 4));
        // 0.3 MiB: within four times, the 1 MiB buffer.
        let third = pool.take_empty(mib(3) / 10);
        assert_eq!(third.as_ptr(), p[0]);
        let s = pool.stats();
        assert_eq!(
            (s.pooled_bytes, s.lent_bytes),
            (3 * MIB, 3 * MIB + small.capacity() * F32)
        );
    }

    #[test]
    fn zeros_after_reuse_of_a_dirtied_buffer() {
        let pool = BufferPool::new(DEFAULT_POOL_LIMIT);
        let mut v = pool.take_zeroed(mib(1));
        v.iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = i as f32 - 0.5);
        v[7] = f32::NAN;
        let p = v.as_ptr();
        pool.give(v);
        let shorter = mib(1) - 1000;
        let w = pool.take_zeroed(shorter);
        assert_eq!(w.as_ptr(), p);
        assert_eq!(w.len(), shorter);
        assert!(w.iter().all(|x| x.to_bits() == 0));
        pool.give(w);
        let e = pool.take_empty(mib(1));
        assert_eq!((e.as_ptr(), e.len()), (p, 0));
    }

    #[test]
    fn small_buffers_bypass_the_pool() {
        let pool = BufferPool::new(DEFAULT_POOL_LIMIT);
        let n = MIN_POOLED_BYTES / F32 - 1;
        let v = pool.take_zeroed(n);
        assert_eq!(v.len(), n);
        pool.give(v);
        let s = pool.stats();
        assert_eq!(
            (s.hits, s.misses, s.pooled_buffers, s.lent_bytes),
            (0, 0, 0, 0)
        );
    }

    #[test]
    fn the_limit_holds_and_evicts_the_oldest() {
        let pool = BufferPool::new(3 * MIB);
        // A buffer over the whole limit is not kept.
        pool.give(pool.take_empty(mib(8)));
        assert_eq!(pool.stats().pooled_bytes, 0);
        let p = pointers(&pool, &[mib(1); 5]);
        let s = pool.stats();
        assert_eq!((s.pooled_bytes, s.pooled_buffers), (3 * MIB, 3));
        // The three kept are the last three returned.
        assert_eq!(pointers(&pool, &[mib(1); 3]), p[2..].to_vec());
        pool.set_limit(MIB);
        assert_eq!(pool.stats().pooled_buffers, 1);
        let last = pool.take_empty(mib(1));
        assert_eq!(last.as_ptr(), p[4]);
        pool.give(last);
        pool.set_limit(0);
        pool.give(pool.take_empty(mib(1)));
        assert_eq!(pool.stats().pooled_bytes, 0);
    }

    #[test]
    fn clear_frees_the_idle_and_keeps_the_lent_count() {
        let pool = BufferPool::new(DEFAULT_POOL_LIMIT);
        let kept = pool.take_zeroed(mib(2));
        pointers(&pool, &[mib(1), mib(3)]);
        assert_eq!(pool.stats().pooled_bytes, 4 * MIB);
        pool.clear();
        let s = pool.stats();
        assert_eq!(
            (s.pooled_bytes, s.pooled_buffers, s.lent_bytes),
            (0, 0, 2 * MIB)
        );
        pool.give(kept);
        let s = pool.stats();
        assert_eq!((s.pooled_bytes, s.lent_bytes), (2 * MIB, 0));
    }

    #[test]
    fn threads_taking_and_returning_keep_the_accounts() {
        let pool = BufferPool::new(24 * MIB);
        std::thread::scope(|scope| {
            for t in 0..6 {
                let pool = &pool;
                scope.spawn(move || {
                    for i in 0..200 {
                        let len = mib(1 + (t + i) % 5) - i;
                        let mut v = pool.take_zeroed(len);
                        assert!(v.iter().step_by(997).all(|x| *x == 0.0));
                        v[len - 1] = 1.0;
                        pool.give(v);
                    }
                });
            }
        });
        let s = pool.stats();
        assert_eq!(s.lent_bytes, 0);
        assert_eq!(s.hits + s.misses, 6 * 200);
        assert!(s.hits > 0);
        assert!(s.pooled_bytes <= 24 * MIB);
        let state = pool.state.lock().unwrap_or_else(PoisonError::into_inner);
        let sum: usize = state.free.iter().map(|v| v.capacity() * F32).sum();
        assert_eq!(sum, s.pooled_bytes);
    }
}

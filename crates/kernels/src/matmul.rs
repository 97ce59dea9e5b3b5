//! `out = act(W · X + bias)`: the GEMM every dense and pointwise convolution reduces to.
//!
//! The output is cut into tiles whose sizes depend only on (M, N); each tile is one
//! single-threaded call of the `gemm` crate, then its bias + activation while the tile is
//! still in cache. Tiles run in parallel on rayon. Because the tiling never depends on the
//! thread count, neither do the bits of the result (`gemm`'s own blocking depends only on
//! the sizes it is given).
//!
//! [`gemm_serial`] and [`gemm_bias_act_serial`] are the single-threaded GEMMs on strided
//! views that the blocked convolutions (Winograd, blocked im2col) call from their own
//! rayon tasks.

use std::ops::Range;

use rayon::prelude::*;

use crate::KernelError;
use crate::act::{Activation, bias_act};

/// Enough tiles to keep a few cores busy and balanced.
const MIN_TILES: usize = 8;
/// Tiles narrower or shorter than these cost more in packing and call overhead than they
/// gain in balance.
const MIN_TILE_N: usize = 256;
const MIN_TILE_M: usize = 32;
const MAX_TILE_N: usize = 2048;
/// Tile edges are kept multiples of this, the width of `gemm`'s register blocks.
const ALIGN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tiling {
    m_tile: usize,
    n_tile: usize,
}

impl Tiling {
    /// Halves the columns, then the rows, until there are [`MIN_TILES`] tiles or the tiles
    /// reach their minimum size.
    fn plan(m: usize, n: usize) -> Self {
        let mut t = Tiling {
            m_tile: m.max(1),
            n_tile: n.clamp(1, MAX_TILE_N),
        };
        while t.count(m, n) < MIN_TILES {
            if t.n_tile > MIN_TILE_N {
                t.n_tile = (t.n_tile / 2).next_multiple_of(ALIGN);
            } else if t.m_tile > MIN_TILE_M {
                t.m_tile = (t.m_tile / 2).next_multiple_of(ALIGN);
            } else {
                break;
            }
        }
        t
    }

    fn count(&self, m: usize, n: usize) -> usize {
        m.div_ceil(self.m_tile) * n.div_ceil(self.n_tile)
    }
}

/// An output buffer shared by tasks that write disjoint blocks of it.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub(crate) *mut f32);
// SAFETY: every user hands each task a block of the output no other task touches (see
// `run_tile`, `winograd` and the blocked im2col in `conv`).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    // A method, not field access, so closures capture the whole (Send) wrapper.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// A matrix in a raw buffer: element (i, j) lies at `ptr + i·rs + j·cs`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strided {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

/// `dst[m×n] = lhs[m×k] · rhs[k×n]` on the calling thread, any strides: the one place the
/// blocked convolutions call the `gemm` crate. Serial, so its bits depend on the sizes alone.
///
/// # Safety
/// Every element the three views address must lie inside its live buffer, and no other
/// thread may read or write `dst`'s elements during the call.
#[allow(clippy::too_many_arguments)] // a GEMM's three sizes and three strided operands
pub(crate) unsafe fn gemm_serial(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    dst_cs: usize,
    lhs: Strided,
    rhs: Strided,
) {
    // SAFETY: forwarded from the caller.
    unsafe { gemm_serial_or_add(m, n, k, dst, dst_rs, dst_cs, lhs, rhs, false) }
}

/// [`gemm_serial`], or with `add` `dst[m×n] += lhs[m×k] · rhs[k×n]` (sums over blocks).
///
/// # Safety
/// As [`gemm_serial`]; with `add`, `dst` must also hold initialised values, which are read.
#[allow(clippy::too_many_arguments)] // a GEMM's three sizes, three strided operands, a flag
pub(crate) unsafe fn gemm_serial_or_add(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    dst_cs: usize,
    lhs: Strided,
    rhs: Strided,
    add: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: forwarded from the caller; without `add`, `dst` is only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            add,
            lhs.ptr,
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.ptr,
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `out[M×N] = act(w[M×K] · x[K×N] + bias[M])`, all row-major.
#[allow(clippy::too_many_arguments)] // the three sizes and three buffers of a GEMM
pub fn matmul_bias_act(
    w: &[f32],
    x: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    bias: &[f32],
    act: Activation,
) -> Result<(), KernelError> {
    let checks = [
        ("matmul weights", "M×K", m * k, w.len()),
        ("matmul input", "K×N", k * n, x.len()),
        ("matmul output", "M×N", m * n, out.len()),
        ("matmul bias", "M", m, bias.len()),
    ];
    for (what, dims, expected, got) in checks {
        if expected != got {
            return Err(KernelError::Length {
                what,
                detail: format!("{dims} with M={m}, K={k}, N={n}"),
                expected,
                got,
            });
        }
    }
    matmul_unchecked(w, x, out, m, k, n, bias, act);
    Ok(())
}

/// [`matmul_bias_act`] for callers that built the buffers to size themselves.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_unchecked(
    w: &[f32],
    x: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    bias: &[f32],
    act: Activation,
) {
    debug_assert!(w.len() == m * k && x.len() == k * n && out.len() == m * n);
    debug_assert!(bias.len() == m);
    if m == 0 || n == 0 {
        return;
    }
    let tiling = Tiling::plan(m, n);
    let tiles_n = n.div_ceil(tiling.n_tile);
    let dst = OutPtr(out.as_mut_ptr());
    (0..tiling.count(m, n)).into_par_iter().for_each(|t| {
        let i0 = (t / tiles_n) * tiling.m_tile;
        let j0 = (t % tiles_n) * tiling.n_tile;
        let block = Block {
            i0,
            j0,
            rows: tiling.m_tile.min(m - i0),
            cols: tiling.n_tile.min(n - j0),
        };
        run_tile(w, x, dst, m, k, n, block, bias, act);
    });
}

#[derive(Debug, Clone, Copy)]
struct Block {
    i0: usize,
    j0: usize,
    rows: usize,
    cols: usize,
}

#[allow(clippy::too_many_arguments)]
fn run_tile(
    w: &[f32],
    x: &[f32],
    dst: OutPtr,
    m: usize,
    k: usize,
    n: usize,
    b: Block,
    bias: &[f32],
    act: Activation,
) {
    debug_assert!(b.i0 + b.rows <= m && b.j0 + b.cols <= n);
    let layer = Layer { w, k, bias, act };
    let rhs = Strided {
        ptr: x[b.j0..].as_ptr(),
        rs: n,
        cs: 1,
    };
    // SAFETY: the block lies inside the M×N output (asserted above by construction in
    // `matmul_unchecked`), the input's columns j0.. lie inside it, and no other task writes
    // this block.
    unsafe {
        let dst = dst.get().add(b.i0 * n + b.j0);
        gemm_bias_act_serial(layer, b.i0..b.i0 + b.rows, rhs, b.cols, dst, n);
    }
}

/// The left operand and epilogue of a convolution's GEMMs: weights `[M, K]` row-major, bias
/// `[M]` and activation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layer<'a> {
    pub w: &'a [f32],
    pub k: usize,
    pub bias: &'a [f32],
    pub act: Activation,
}

/// `dst[i][j] = act(Σ_p w[rows.start + i][p] · rhs[p][j] + bias[rows.start + i])` for the
/// weight rows `rows` and `cols` columns of `rhs`, on the calling thread; row `i` of the
/// block starts at `dst + i·dst_rs`. The epilogue runs while the block is in cache.
///
/// # Safety
/// `rhs` must address `k × cols` values of a live buffer, and the block's rows in `dst` a
/// live buffer no other thread reads or writes during the call.
pub(crate) unsafe fn gemm_bias_act_serial(
    layer: Layer<'_>,
    rows: Range<usize>,
    rhs: Strided,
    cols: usize,
    dst: *mut f32,
    dst_rs: usize,
) {
    debug_assert!(rows.end * layer.k <= layer.w.len() && rows.end <= layer.bias.len());
    let lhs = Strided {
        ptr: layer.w[rows.start * layer.k..].as_ptr(),
        rs: layer.k,
        cs: 1,
    };
    // SAFETY: the weights' rows lie inside `w`; the rest is the caller's promise.
    unsafe { gemm_serial(rows.len(), cols, layer.k, dst, dst_rs, 1, lhs, rhs) };
    for (i, &bias_i) in layer.bias[rows].iter().enumerate() {
        // SAFETY: row i of the block, which the caller gave to this call alone.
        let row = unsafe { std::slice::from_raw_parts_mut(dst.add(i * dst_rs), cols) };
        bias_act(row, bias_i, layer.act);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(w: &[f32], x: &[f32], m: usize, k: usize, n: usize, bias: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut acc = bias[i] as f64;
                for p in 0..k {
                    acc += w[i * k + p] as f64 * x[p * n + j] as f64;
                }
                out[i * n + j] = acc as f32;
            }
        }
        out
    }

    fn pattern(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 997) as f32 / 997.0) - 0.5)
            .collect()
    }

    #[test]
    fn tiling_depends_on_sizes_only_and_covers_all() {
        for &(m, n) in &[
            (1, 1),
            (32, 43_264),
            (128, 2704),
            (512, 169),
            (3, 5),
            (64, 100),
        ] {
            let t = Tiling::plan(m, n);
            assert!(t.m_tile >= 1 && t.n_tile >= 1);
            assert!(t.count(m, n) * t.m_tile * t.n_tile >= m * n);
            assert_eq!(t, Tiling::plan(m, n));
        }
        assert!(Tiling::plan(512, 169).count(512, 169) >= MIN_TILES);
    }

    #[test]
    fn matches_naive_product_with_bias() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 3, 7),
            (40, 27, 300),
            (70, 64, 1500),
            (600, 9, 20),
        ] {
            let w = pattern(m * k, 1);
            let x = pattern(k * n, 2);
            let bias = pattern(m, 3);
            let mut out = vec![f32::NAN; m * n];
            matmul_bias_act(&w, &x, &mut out, m, k, n, &bias, Activation::None).unwrap();
            let truth = naive(&w, &x, m, k, n, &bias);
            for (g, t) in out.iter().zip(&truth) {
                assert!(
                    (g - t).abs() <= 1e-5 * (1.0 + t.abs()),
                    "{g} vs {t} at {m}x{k}x{n}"
                );
            }
        }
    }

    #[test]
    fn refuses_wrong_buffer_sizes() {
        let mut out = vec![0.0; 6];
        let err = matmul_bias_act(
            &[0.0; 6],
            &[0.0; 5],
            &mut out,
            2,
            3,
            3,
            &[0.0; 2],
            Activation::None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("matmul input"), "{err}");
    }
}

//! Dense 3×3, stride-1, padding-1 convolution by Winograd's minimal filtering F(4×4, 3×3).
//!
//! Each 4×4 block of outputs ("tile") is computed from the 6×6 input patch around it as
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`: in the transformed domain the 3×3 convolution becomes an
//! element-wise product, and summed over input channels the 36 element positions become 36
//! independent GEMMs `M_p[tiles × c_out] = V_p[tiles × c_in] · U_p[c_in × c_out]`. That is
//! 36 multiplies per 16 outputs instead of 144: 4× fewer than im2col + GEMM, less the cost
//! of the transforms (about a third of the time on the network's layers).
//!
//! - `U = G g Gᵀ` (the weights) is computed once, in f64, when the layer is built.
//! - The tiles of an image are taken in raster order, up to a few hundred at a time (as
//!   many as fit [`BLOCK_BUDGET`]); a block is one rayon task: input transform into `V`, 36
//!   serial GEMMs into `M`, output transform with bias + activation ([`bias_act`]) straight
//!   into the destination rows. Its working memory, `36·(c_in + c_out)` values per tile, is
//!   taken from a per-thread pool: nothing grows with the image.
//! - Transforms are separable (along the patch rows, then down its columns) and run on
//!   eight tiles at once, one tile per SIMD lane. Input rows are first split into their four
//!   phases (columns 4t + q), so a lane's six columns are plain vector loads.
//!
//! The blocks depend on the shapes alone, so results do not depend on the thread count.
//! Rounding: the transforms scale values by up to 10 (Bᵀ) and 19 (Aᵀ) and each output is
//! a difference of terms much larger than itself, so F(4, 3) in f32 errs by ~4e-6 to 2e-5
//! of the largest output (growing with c_in; see the tests), against ~1e-6 for im2col.

use std::ops::Range;

use rayon::prelude::*;

use crate::act::{Activation, bias_act};
use crate::matmul::{OutPtr, Strided, gemm_serial};
use crate::scratch::with_scratch;
use crate::simd::{LANES, multiversion};
use crate::{Shape, Tensor};

/// Outputs per tile side and input patch side.
pub(crate) const TILE: usize = 4;
pub(crate) const PATCH: usize = 6;
/// Positions of the transformed 6×6 tile: one GEMM each.
pub(crate) const POSITIONS: usize = PATCH * PATCH;
/// Working memory per task (values), and the tile counts a block stays within: fewer tiles
/// make GEMMs too thin to run at speed, more spill the block out of the caches.
const BLOCK_BUDGET: usize = 1024 * 1024;
const MIN_BLOCK_TILES: usize = 16;
const MAX_BLOCK_TILES: usize = 256;
/// Tiles per block are a multiple of this: the rows of `gemm`'s f32 register block (two
/// AVX vectors), so no GEMM ends on a ragged block.
const BLOCK_ALIGN: usize = 16;
/// Tasks wanted per layer to keep a few cores balanced.
const MIN_TASKS: usize = 8;

/// Transformed kernels scattered to the position planes together (36 × 64 values, in L1).
const SCATTER_RUN: usize = 64;

/// Bᵀ: the input transform, one row per transformed position.
#[cfg(test)]
const BT: [[f64; PATCH]; PATCH] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];
/// G: the weight transform.
pub(crate) const G: [[f64; 3]; PATCH] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];
/// Aᵀ: the output transform.
#[cfg(test)]
const AT: [[f64; PATCH]; TILE] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// The transformed weights of a 3×3 layer.
///
/// Position `(i, j)` of the 6×6 transformed tile is stored as plane `j·6 + i`, so that the
/// six positions of one column `j` (what one column transform reads or writes) are adjacent
/// planes. Plane `p` of `u` is `[c_out, c_in]`: the GEMM's right operand column by column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Winograd {
    c_in: usize,
    c_out: usize,
    u: Vec<f32>,
}

impl Winograd {
    /// Transforms weights `[c_out, c_in, 3, 3]` (the caller checked the length).
    ///
    /// Training builds two per 3×3 layer and step, so the kernels are transformed on the
    /// thread pool and scattered to the position planes a run of [`SCATTER_RUN`] kernels at
    /// a time (36 contiguous runs instead of 36 scattered writes per kernel).
    pub(crate) fn new(c_in: usize, c_out: usize, weight: &[f32]) -> Self {
        debug_assert_eq!(weight.len(), c_out * c_in * 9);
        let pairs = c_out * c_in;
        let transformed: Vec<[f32; POSITIONS]> = weight
            .par_chunks_exact(9)
            .map(|g| {
                let mut t = [0.0; POSITIONS];
                for (j, column) in transform_weight(g).iter().enumerate() {
                    for (i, &v) in column.iter().enumerate() {
                        t[j * PATCH + i] = v as f32;
                    }
                }
                t
            })
            .collect();
        let mut u = vec![0.0; POSITIONS * pairs];
        for (run, kernels) in transformed.chunks(SCATTER_RUN).enumerate() {
            let first = run * SCATTER_RUN;
            for (p, plane) in u.chunks_exact_mut(pairs).enumerate() {
                let dst = &mut plane[first..first + kernels.len()];
                for (v, t) in dst.iter_mut().zip(kernels) {
                    *v = t[p];
                }
            }
        }
        Self { c_in, c_out, u }
    }

    /// Writes `act(conv(x) + bias)` into channels `c0..c0 + c_out` of `out`; the caller
    /// checked that `x` has `c_in` channels and `out` the same batch and plane size.
    pub(crate) fn forward(
        &self,
        x: &Tensor,
        out: &mut Tensor,
        c0: usize,
        bias: &[f32],
        act: Activation,
    ) {
        let out_shape = out.shape();
        self.forward_into(
            x.data(),
            x.shape(),
            out.data_mut(),
            out_shape,
            c0,
            bias,
            act,
        );
    }

    /// [`forward`](Self::forward) on plain NCHW slices of the given shapes (training's
    /// buffers); the caller checked that the lengths match the shapes.
    #[allow(clippy::too_many_arguments)] // two buffers with their shapes, and the epilogue
    pub(crate) fn forward_into(
        &self,
        x: &[f32],
        s: Shape,
        out: &mut [f32],
        out_shape: Shape,
        c0: usize,
        bias: &[f32],
        act: Activation,
    ) {
        debug_assert_eq!(s.c, self.c_in);
        debug_assert!(x.len() == s.len() && out.len() == out_shape.len());
        debug_assert!(out_shape.h == s.h && out_shape.w == s.w && out_shape.n == s.n);
        debug_assert!(c0 + self.c_out <= out_shape.c && bias.len() == self.c_out);
        let plan = Plan::new(s, self.c_in, self.c_out);
        let dst = Dest {
            ptr: OutPtr(out.as_mut_ptr()),
            shape: out_shape,
            c0,
        };
        (0..s.n * plan.blocks).into_par_iter().for_each(|task| {
            let (b, block) = (task / plan.blocks, task % plan.blocks);
            let tiles = plan.block_tiles(block);
            with_scratch(plan.scratch_len(self.c_in, self.c_out), |scratch| {
                let job = Job {
                    plan: &plan,
                    tiles,
                    epilogue: (bias, act),
                };
                self.run_block(
                    &x[b * s.image()..(b + 1) * s.image()],
                    &job,
                    scratch,
                    dst.image(b),
                );
            });
        });
    }

    /// One block of tiles: transform in, 36 GEMMs, transform out.
    fn run_block(&self, image: &[f32], job: &Job, scratch: &mut [f32], dst: Dest) {
        let ld = job.plan.per_block;
        let (v, m, temp) = transformed_input(image, job, self.c_in, self.c_out, scratch);
        let rows = job.lanes();
        for p in 0..POSITIONS {
            let lhs = Strided {
                ptr: v[p * self.c_in * ld..].as_ptr(),
                rs: 1,
                cs: ld,
            };
            let rhs = Strided {
                ptr: self.u[p * self.c_out * self.c_in..].as_ptr(),
                rs: 1,
                cs: self.c_in,
            };
            let out = m[p * self.c_out * ld..].as_mut_ptr();
            // SAFETY: plane p of `v` holds c_in columns of ld ≥ rows values, plane p of `u`
            // c_out columns of c_in, plane p of `m` c_out columns of ld; `m` is this task's
            // own scratch.
            unsafe { gemm_serial(rows, self.c_out, self.c_in, out, 1, ld, lhs, rhs) };
        }
        temp.fill(0.0);
        for co in 0..self.c_out {
            output_channel(m, job, temp, co, dst.channel(co));
        }
    }
}

/// Cuts a block task's scratch ([`Plan::scratch_len`]) into `V` (`c_in` columns per
/// position), `M` (`c_out` columns per position) and the transforms' rows, and fills `V`
/// with the input transform of every channel of `image`. Returns `(V, M, rows)`.
pub(crate) fn transformed_input<'s>(
    image: &[f32],
    job: &Job,
    c_in: usize,
    c_out: usize,
    scratch: &'s mut [f32],
) -> (&'s [f32], &'s mut [f32], &'s mut [f32]) {
    let ld = job.plan.per_block;
    let (v, rest) = scratch.split_at_mut(POSITIONS * c_in * ld);
    let (m, rest) = rest.split_at_mut(POSITIONS * c_out * ld);
    let (temp, row) = rest.split_at_mut(POSITIONS * (ld + LANES));
    // Lanes past the block's last tile are transformed (and discarded) with the rest:
    // zeros, not stale scratch, so no NaN or subnormal slows them down.
    temp.fill(0.0);
    for (ci, plane) in image.chunks_exact(job.plan.h * job.plan.w).enumerate() {
        input_channel(plane, job, temp, row, v, ci * ld);
    }
    (v, m, temp)
}

/// `G g Gᵀ` for one 3×3 kernel `g` (row-major), as `[column j][row i]`.
fn transform_weight(g: &[f32]) -> [[f64; PATCH]; PATCH] {
    let mut gg = [[0.0; 3]; PATCH]; // G·g
    for (i, row) in gg.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|a| G[i][a] * g[a * 3 + c] as f64).sum();
        }
    }
    let mut u = [[0.0; PATCH]; PATCH];
    for (j, column) in u.iter_mut().enumerate() {
        for (i, v) in column.iter_mut().enumerate() {
            *v = (0..3).map(|c| gg[i][c] * G[j][c]).sum();
        }
    }
    u
}

/// How an image's tiles are cut into blocks: from the shapes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) h: usize,
    pub(crate) w: usize,
    tiles_y: usize,
    pub(crate) tiles_x: usize,
    /// Tiles per block, a multiple of the GEMM's register block, so also of [`LANES`].
    pub(crate) per_block: usize,
    pub(crate) blocks: usize,
}

/// A run of tiles within one tile row: row `ty`, columns `tx0..tx0 + len`, and where the
/// run starts among its block's tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) ty: usize,
    pub(crate) tx0: usize,
    pub(crate) len: usize,
    pub(crate) offset: usize,
}

impl Plan {
    pub(crate) fn new(s: Shape, c_in: usize, c_out: usize) -> Self {
        let (tiles_y, tiles_x) = (s.h.div_ceil(TILE), s.w.div_ceil(TILE));
        let tiles = tiles_y * tiles_x;
        let fit =
            (BLOCK_BUDGET / (POSITIONS * (c_in + c_out))).clamp(MIN_BLOCK_TILES, MAX_BLOCK_TILES);
        let mut blocks = tiles.div_ceil(fit);
        let wanted = MIN_TASKS.div_ceil(s.n.max(1));
        if blocks < wanted {
            blocks = wanted.min(tiles.div_ceil(MIN_BLOCK_TILES)).max(blocks);
        }
        let per_block = tiles.div_ceil(blocks.max(1)).next_multiple_of(BLOCK_ALIGN);
        Self {
            h: s.h,
            w: s.w,
            tiles_y,
            tiles_x,
            per_block,
            blocks: tiles.div_ceil(per_block),
        }
    }

    pub(crate) fn tiles(&self) -> usize {
        self.tiles_y * self.tiles_x
    }

    /// The tiles (raster order) of block `block`.
    pub(crate) fn block_tiles(&self, block: usize) -> Range<usize> {
        let first = block * self.per_block;
        first..(first + self.per_block).min(self.tiles())
    }

    /// Values of scratch a task needs: `V`, `M`, the transforms' rows (36 of a block's
    /// tiles and a vector more) and one padded input row.
    pub(crate) fn scratch_len(&self, c_in: usize, c_out: usize) -> usize {
        let ld = self.per_block;
        POSITIONS * (c_in + c_out) * ld + POSITIONS * (ld + LANES) + 2 * TILE * (ld + 1)
    }

    /// The tiles `range` (raster order) as runs within tile rows.
    pub(crate) fn segments(&self, range: Range<usize>) -> impl Iterator<Item = Segment> + use<> {
        let (tiles_x, start, end) = (self.tiles_x, range.start, range.end);
        let mut t = start;
        std::iter::from_fn(move || {
            (t < end).then(|| {
                let (ty, tx0) = (t / tiles_x, t % tiles_x);
                let len = (tiles_x - tx0).min(end - t);
                let seg = Segment {
                    ty,
                    tx0,
                    len,
                    offset: t - start,
                };
                t += len;
                seg
            })
        })
    }
}

/// What one task computes: a block of tiles of one image, and the epilogue.
pub(crate) struct Job<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) tiles: Range<usize>,
    pub(crate) epilogue: (&'a [f32], Activation),
}

impl Job<'_> {
    /// The block's tiles rounded up to whole vectors: the transforms and GEMMs run over
    /// these; the extra lanes hold zeros or neighbouring tiles and are never written out.
    pub(crate) fn lanes(&self) -> usize {
        self.tiles.len().next_multiple_of(LANES)
    }
}

/// The destination tensor, written through a raw pointer by tasks owning disjoint tiles.
#[derive(Clone, Copy)]
struct Dest {
    ptr: OutPtr,
    shape: Shape,
    c0: usize,
}

impl Dest {
    /// The same destination from image `b` on.
    fn image(self, b: usize) -> Self {
        // `wrapping_add`: computing the address is safe; the writes in `output_channel`
        // are where the bounds matter.
        let ptr = OutPtr(self.ptr.get().wrapping_add(b * self.shape.image()));
        Self { ptr, ..self }
    }

    /// Start of output channel `co` of this layer.
    fn channel(&self, co: usize) -> OutPtr {
        let offset = (self.c0 + co) * self.shape.plane();
        OutPtr(self.ptr.get().wrapping_add(offset))
    }
}

multiversion! {
    /// Input transform of one channel plane over a block: `Bᵀ d B` of every tile, written
    /// to column `col0..` of each position's plane of `v` (planes `v.len() / 36` apart).
    /// `h` holds the row-transformed patches (`[row r][position j][tile]`, rows
    /// `h.len() / 36` apart); `row` one input row padded with zeros.
    fn input_channel(
        plane: &[f32],
        job: &Job,
        h: &mut [f32],
        row: &mut [f32],
        v: &mut [f32],
        col0: usize,
    ) {
        let plan = job.plan;
        let hs = h.len() / POSITIONS;
        for r in 0..PATCH {
            for seg in plan.segments(job.tiles.clone()) {
                // One tile past the segment's vectors: the row transform reads its first two
                // columns.
                let chunks = seg.len.div_ceil(LANES);
                let n1 = LANES * chunks + 1;
                let (padded, phases) = row.split_at_mut(TILE * n1);
                let phases = &mut phases[..TILE * n1];
                padded_row(plane, plan, seg.ty * TILE + r, seg.tx0, padded);
                split_phases(padded, phases);
                for i in 0..chunks {
                    let d = row_transform(phases, n1, LANES * i);
                    for (j, lanes) in d.iter().enumerate() {
                        let at = (r * PATCH + j) * hs + seg.offset + LANES * i;
                        h[at..at + LANES].copy_from_slice(lanes);
                    }
                }
            }
        }
        let vs = v.len() / POSITIONS;
        for j in 0..PATCH {
            for t in (0..job.lanes()).step_by(LANES) {
                let mut d = [[0.0; LANES]; PATCH];
                for (r, lanes) in d.iter_mut().enumerate() {
                    *lanes = lanes_at(h, (r * PATCH + j) * hs + t);
                }
                for (i, lanes) in bt6(&d).iter().enumerate() {
                    let at = (j * PATCH + i) * vs + col0 + t;
                    v[at..at + LANES].copy_from_slice(lanes);
                }
            }
        }
    }
}

multiversion! {
    /// Output transform of output channel `co` over a block: `Aᵀ m A` of every tile plus
    /// bias, activated, written to the rows of `channel` (`[h, w]`) the tiles cover. `c`
    /// holds the column-transformed tiles (`[row a][position j][tile]`, rows
    /// `c.len() / 36` apart).
    fn output_channel(m: &[f32], job: &Job, c: &mut [f32], co: usize, channel: OutPtr) {
        let plan = job.plan;
        let (ms, cs) = (m.len() / POSITIONS, c.len() / POSITIONS);
        let col0 = co * plan.per_block;
        for j in 0..PATCH {
            for t in (0..job.lanes()).step_by(LANES) {
                let mut d = [[0.0; LANES]; PATCH];
                for (i, lanes) in d.iter_mut().enumerate() {
                    *lanes = lanes_at(m, (j * PATCH + i) * ms + col0 + t);
                }
                for (a, lanes) in at6(&d).iter().enumerate() {
                    let at = (a * PATCH + j) * cs + t;
                    c[at..at + LANES].copy_from_slice(lanes);
                }
            }
        }
        let (bias, act) = job.epilogue;
        for seg in plan.segments(job.tiles.clone()) {
            let x0 = seg.tx0 * TILE;
            let width = (TILE * seg.len).min(plan.w - x0);
            for a in 0..TILE {
                let y = seg.ty * TILE + a;
                if y >= plan.h {
                    break;
                }
                // SAFETY: row y, columns x0..x0 + width of this channel lie inside the
                // destination (y < h, x0 + width ≤ w) and belong to this segment's tiles,
                // which no other task (nor another segment of this one) covers.
                let out = unsafe {
                    std::slice::from_raw_parts_mut(channel.get().add(y * plan.w + x0), width)
                };
                let first = a * PATCH * cs + seg.offset;
                let (full, rest) = out.as_chunks_mut::<{ TILE * LANES }>();
                for (i, piece) in full.iter_mut().enumerate() {
                    *piece = output_row(c, cs, first + LANES * i);
                }
                if !rest.is_empty() {
                    let last = output_row(c, cs, first + LANES * full.len());
                    rest.copy_from_slice(&last[..rest.len()]);
                }
                bias_act(out, bias[co], act);
            }
        }
    }
}

/// [`LANES`] tiles' output row: the row transform of the six column-transformed positions
/// at `c[first + j·cs..]`, interleaved into 32 consecutive columns.
#[inline(always)]
fn output_row(c: &[f32], cs: usize, first: usize) -> [f32; TILE * LANES] {
    let mut d = [[0.0; LANES]; PATCH];
    for (j, lanes) in d.iter_mut().enumerate() {
        *lanes = lanes_at(c, first + j * cs);
    }
    interleave(&at6(&d))
}

/// Input row `r_abs − 1` (absent above and below the image: zeros) from column
/// `4·tx0 − 1` on, zero past either edge, into `row`.
#[inline(always)]
fn padded_row(plane: &[f32], plan: &Plan, r_abs: usize, tx0: usize, row: &mut [f32]) {
    let Some(iy) = r_abs.checked_sub(1).filter(|&iy| iy < plan.h) else {
        row.fill(0.0);
        return;
    };
    let src = &plane[iy * plan.w..(iy + 1) * plan.w];
    // row[j] is column 4·tx0 − 1 + j: column −1 (left of the image) only when tx0 = 0.
    let lead = usize::from(tx0 == 0);
    let first = TILE * tx0 + lead - 1;
    let len = (row.len() - lead).min(plan.w - first);
    row[..lead].fill(0.0);
    row[lead..lead + len].copy_from_slice(&src[first..first + len]);
    row[lead + len..].fill(0.0);
}

/// Splits `row` into its four phases: `phases[q·n1 + t] = row[4t + q]`, `n1` =
/// `row.len() / 4`. A plain interleaved-load loop, which LLVM turns into vector loads and
/// shuffles.
#[inline(always)]
fn split_phases(row: &[f32], phases: &mut [f32]) {
    let (quads, _) = row.as_chunks::<TILE>();
    let [p0, p1, p2, p3] = split4(phases, quads.len());
    let lanes = quads.iter().zip(p0).zip(p1).zip(p2).zip(p3);
    for ((((q, a), b), c), d) in lanes {
        (*a, *b, *c, *d) = (q[0], q[1], q[2], q[3]);
    }
}

/// Four consecutive pieces of `len` values.
#[inline(always)]
fn split4(buf: &mut [f32], len: usize) -> [&mut [f32]; TILE] {
    let (p0, rest) = buf.split_at_mut(len);
    let (p1, rest) = rest.split_at_mut(len);
    let (p2, p3) = rest.split_at_mut(len);
    [p0, p1, p2, &mut p3[..len]]
}

/// The row transform of [`LANES`] tiles from `t` on: tile `t`'s input columns
/// `4t − 1 .. 4t + 5` are phases 0–3 at `t` and phases 0–1 at `t + 1` (phases `n1` apart).
#[inline(always)]
fn row_transform(phases: &[f32], n1: usize, t: usize) -> [[f32; LANES]; PATCH] {
    let d = [
        lanes_at(phases, t),
        lanes_at(phases, n1 + t),
        lanes_at(phases, 2 * n1 + t),
        lanes_at(phases, 3 * n1 + t),
        lanes_at(phases, t + 1),
        lanes_at(phases, n1 + t + 1),
    ];
    bt6(&d)
}

/// Four output phases (phase `b`, lane `l` = column `4l + b`) as one row of 32 values.
#[inline(always)]
fn interleave(y: &[[f32; LANES]; TILE]) -> [f32; TILE * LANES] {
    let mut row = [0.0; TILE * LANES];
    for l in 0..LANES {
        for (b, phase) in y.iter().enumerate() {
            row[TILE * l + b] = phase[l];
        }
    }
    row
}

#[inline(always)]
fn lanes_at(buf: &[f32], at: usize) -> [f32; LANES] {
    let mut lanes = [0.0; LANES];
    lanes.copy_from_slice(&buf[at..at + LANES]);
    lanes
}

/// The six rows of `Bᵀ` lane-wise: `out[i][l] = Σ_c Bᵀ[i][c] · d[c][l]`.
#[inline(always)]
fn bt6(d: &[[f32; LANES]; PATCH]) -> [[f32; LANES]; PATCH] {
    let mut o = [[0.0; LANES]; PATCH];
    for l in 0..LANES {
        let (a, b, c, e, f, g) = (d[0][l], d[1][l], d[2][l], d[3][l], d[4][l], d[5][l]);
        o[0][l] = 4.0 * a - 5.0 * c + f;
        o[1][l] = f + e - 4.0 * (b + c);
        o[2][l] = f - e + 4.0 * (b - c);
        o[3][l] = f - c + 2.0 * (e - b);
        o[4][l] = f - c - 2.0 * (e - b);
        o[5][l] = 4.0 * b - 5.0 * e + g;
    }
    o
}

/// The four rows of `Aᵀ` lane-wise: `out[a][l] = Σ_i Aᵀ[a][i] · m[i][l]`.
#[inline(always)]
fn at6(m: &[[f32; LANES]; PATCH]) -> [[f32; LANES]; TILE] {
    let mut o = [[0.0; LANES]; TILE];
    for l in 0..LANES {
        let (s12, d12) = (m[1][l] + m[2][l], m[1][l] - m[2][l]);
        let (s34, d34) = (m[3][l] + m[4][l], m[3][l] - m[4][l]);
        o[0][l] = m[0][l] + s12 + s34;
        o[1][l] = d12 + 2.0 * d34;
        o[2][l] = s12 + 4.0 * s34;
        o[3][l] = d12 + 8.0 * d34 + m[5][l];
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConvSpec;
    use crate::reference::{self, random_tensor, random_vec};
    use proptest::prelude::*;

    /// Winograd's identity on one tile in f64: `Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A` is the 4×4
    /// correlation of the 6×6 patch `d` with `g`, so the three tables are right.
    #[test]
    fn the_transform_tables_compute_a_correlation() {
        let d = random_vec(PATCH * PATCH, 1);
        let g = random_vec(9, 2);
        let u = transform_weight(&g); // [column j][row i]
        let mut prod = [[0.0; PATCH]; PATCH];
        for (i, row) in prod.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let mut bdb = 0.0;
                for r in 0..PATCH {
                    for c in 0..PATCH {
                        bdb += BT[i][r] * d[r * PATCH + c] as f64 * BT[j][c];
                    }
                }
                *v = u[j][i] * bdb;
            }
        }
        for a in 0..TILE {
            for b in 0..TILE {
                let mut y = 0.0;
                for (i, row) in prod.iter().enumerate() {
                    for (j, v) in row.iter().enumerate() {
                        y += AT[a][i] * v * AT[b][j];
                    }
                }
                let mut truth = 0.0;
                for ky in 0..3 {
                    for kx in 0..3 {
                        truth += d[(a + ky) * PATCH + b + kx] as f64 * g[ky * 3 + kx] as f64;
                    }
                }
                assert!((y - truth).abs() < 1e-12, "({a}, {b}): {y} vs {truth}");
            }
        }
    }

    /// The hand-expanded lane kernels apply exactly the rows of the tables: fed unit
    /// vectors they return the tables' columns.
    #[test]
    fn lane_kernels_equal_the_tables() {
        for c in 0..PATCH {
            let mut unit = [[0.0; LANES]; PATCH];
            unit[c] = [1.0; LANES];
            let b = bt6(&unit);
            let a = at6(&unit);
            for (i, lanes) in b.iter().enumerate() {
                assert!(lanes.iter().all(|&v| v as f64 == BT[i][c]), "Bᵀ[{i}][{c}]");
            }
            for (i, lanes) in a.iter().enumerate() {
                assert!(lanes.iter().all(|&v| v as f64 == AT[i][c]), "Aᵀ[{i}][{c}]");
            }
        }
    }

    /// `max |got − truth| / max |truth|` over the channels `c0..` of `got`.
    fn relative_error(got: &Tensor, c0: usize, truth: &Tensor) -> f64 {
        let scale = truth
            .data()
            .iter()
            .fold(0.0_f64, |m, v| m.max(v.abs() as f64));
        let got = got
            .channels(c0, truth.shape().c)
            .expect("channels in range");
        let worst = got
            .data()
            .iter()
            .zip(truth.data())
            .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs() as f64));
        worst / scale
    }

    /// Runs the Winograd route directly (whatever the channel counts) into channels
    /// `c0..` of a wider tensor, and returns the error against the f64 reference.
    fn winograd_error(x: Shape, c_out: usize, c0: usize, act: Activation, seed: u64) -> f64 {
        let spec = ConvSpec {
            c_in: x.c,
            c_out,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        let input = random_tensor(x, seed);
        let weight = random_vec(c_out * x.c * 9, seed + 1);
        let bias = random_vec(c_out, seed + 2);
        let mut out = Tensor::zeros(Shape::new(x.n, c0 + c_out + 1, x.h, x.w));
        Winograd::new(x.c, c_out, &weight).forward(&input, &mut out, c0, &bias, act);
        let truth = reference::conv2d(&input, &weight, &bias, spec, 1, act);
        // The channels around the range stay untouched.
        let s = out.shape();
        for b in 0..s.n {
            let image = out.image(b);
            let before = &image[..c0 * s.plane()];
            let after = &image[(c0 + c_out) * s.plane()..];
            assert!(before.iter().chain(after).all(|&v| v == 0.0));
        }
        relative_error(&out, c0, &truth)
    }

    /// F(4×4, 3×3) in f32 loses more than a plain dot product: inputs are scaled by up to
    /// 10 (Bᵀ's row sums), products summed over c_in, then by up to 19 (Aᵀ's); each output
    /// is a difference of terms much larger than itself. Measured here the error stays
    /// within ~6e-6 of max |y| (and within 1e-5 on the network's 64–256-channel layers, see
    /// the `conv_speed` example); this bound leaves a margin of 3 while any wrong tap,
    /// tile or edge gives an error of order 1.
    const TOLERANCE: f64 = 2e-5;

    #[test]
    fn shapes_of_the_network_and_ragged_edges() {
        let cases = [
            (Shape::new(1, 16, 37, 41), 48),
            (Shape::new(2, 24, 9, 8), 16),
            (Shape::new(1, 64, 52, 52), 64),
            (Shape::new(1, 8, 1, 1), 5),
            (Shape::new(1, 3, 2, 7), 4),
        ];
        for (i, (x, c_out)) in cases.into_iter().enumerate() {
            let err = winograd_error(x, c_out, 1, Activation::Silu, i as u64 * 7);
            assert!(err <= TOLERANCE, "{x} → {c_out}: relative error {err:e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn random_shapes_match_the_reference(
            n in 1usize..3, c_in in 1usize..24, c_out in 1usize..24,
            h in 1usize..30, w in 1usize..30, c0 in 0usize..3,
            silu in any::<bool>(), seed in 0u64..1000,
        ) {
            let act = if silu { Activation::Silu } else { Activation::None };
            let err = winograd_error(Shape::new(n, c_in, h, w), c_out, c0, act, seed);
            prop_assert!(err <= TOLERANCE, "relative error {:e}", err);
        }
    }

    #[test]
    fn plan_covers_every_tile_in_bounded_blocks() {
        for &(n, c, h, w) in &[
            (1, 128, 224, 224),
            (1, 128, 1792, 1792),
            (1, 16, 37, 41),
            (3, 256, 13, 13),
            (1, 1, 1, 1),
        ] {
            let plan = Plan::new(Shape::new(n, c, h, w), c, c);
            assert_eq!(plan, Plan::new(Shape::new(n, c, h, w), c, c));
            assert_eq!(plan.per_block % BLOCK_ALIGN, 0);
            assert!(plan.per_block <= MAX_BLOCK_TILES.next_multiple_of(BLOCK_ALIGN));
            assert!(plan.blocks * plan.per_block >= plan.tiles());
            assert!((plan.blocks - 1) * plan.per_block < plan.tiles());
            // Segments of every block tile it exactly, in raster order.
            let mut next = 0;
            for block in 0..plan.blocks {
                let range = plan.block_tiles(block);
                let first = range.start;
                for seg in plan.segments(range.clone()) {
                    assert_eq!(seg.ty * plan.tiles_x + seg.tx0, next);
                    assert_eq!(seg.offset, next - first);
                    assert!(seg.len >= 1 && seg.tx0 + seg.len <= plan.tiles_x);
                    next += seg.len;
                }
                assert_eq!(next, range.end);
            }
        }
        // Scratch is bounded by the budget (plus the rounding to whole register blocks),
        // whatever the image: a 7,000-pixel side needs no more than a 416 tile.
        for side in [52, 224, 448, 1792, 7000] {
            let plan = Plan::new(Shape::new(1, 128, side, side), 128, 128);
            let len = plan.scratch_len(128, 128);
            assert!(len <= BLOCK_BUDGET * 5 / 4, "{side}: {len} values");
        }
    }
}

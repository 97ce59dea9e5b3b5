//! Dense 3×3, stride-1, padding-1 convolutions in training by Winograd F(4×4, 3×3)
//! (`crate::winograd`), in all three passes: 36 multiplies per 4×4 tile and channel pair
//! where im2col's GEMMs take 144, and no column matrix. These layers (the double head and
//! the neck's bottlenecks) hold 60 % of Light-S's multiply-adds.
//!
//! - Forward: the inference kernel, without bias or activation.
//! - Data gradient: the adjoint of a padding-1 correlation is a padding-1 correlation of the
//!   output gradient with every kernel turned 180° and the channel roles swapped, so the
//!   inference kernel again.
//! - Weight gradient: per tile the forward is `Y = Aᵀ[U ⊙ V]A` with `U = G g Gᵀ` and
//!   `V = Bᵀ d B`, so `∂L/∂U = Σ_tiles (A ∂L/∂Y Aᵀ) ⊙ V` — for each of the 36 positions one
//!   GEMM `[c_out × tiles]·[tiles × c_in]` — and `∂L/∂g = Gᵀ (∂L/∂U) G`. Output tiles
//!   reaching past the image take a zero gradient there, input patches zero padding: the
//!   forward's own conventions.
//!
//! The weight gradient is summed per image and the images' sums added in image order; the
//! inference kernel's blocks depend on the shapes alone. So the bits do not depend on the
//! thread count.

use rayon::prelude::*;

use super::conv::{ConvShape, sum_parts};
use crate::Shape;
use crate::act::Activation;
use crate::conv::{ConvSpec, takes_winograd, winograd_pays_at};
use crate::matmul::{Strided, gemm_serial_or_add};
use crate::scratch::with_scratch;
use crate::simd::multiversion;
use crate::winograd::{G, Job, PATCH, POSITIONS, Plan, TILE, Winograd, transformed_input};

/// Whether a dense layer takes this route: the inference engine's rule for Winograd.
pub(crate) fn applies(s: &ConvShape) -> bool {
    let spec = ConvSpec {
        c_in: s.c_in,
        c_out: s.c_out,
        kernel: s.kernel,
        stride: s.stride,
        padding: s.padding,
    };
    !s.depthwise && takes_winograd(spec) && winograd_pays_at(s.h, s.w)
}

/// The convolution's output into `z` (`[batch, c_out, h, w]`).
pub(crate) fn forward(s: &ConvShape, x: &[f32], weight: &[f32], z: &mut [f32]) {
    let input = Shape::new(s.batch, s.c_in, s.h, s.w);
    let output = Shape::new(s.batch, s.c_out, s.h, s.w);
    let zeros = vec![0.0; s.c_out];
    Winograd::new(s.c_in, s.c_out, weight).forward_into(
        x,
        input,
        z,
        output,
        0,
        &zeros,
        Activation::None,
    );
}

/// The input gradient `[batch, c_in, h, w]` from the output gradient `dz`.
pub(crate) fn input_grad(s: &ConvShape, weight: &[f32], dz: &[f32]) -> Vec<f32> {
    let from = Shape::new(s.batch, s.c_out, s.h, s.w);
    let to = Shape::new(s.batch, s.c_in, s.h, s.w);
    let mut dx = vec![0.0; to.len()];
    let zeros = vec![0.0; s.c_in];
    let turned = turned_kernels(s.c_in, s.c_out, weight);
    Winograd::new(s.c_out, s.c_in, &turned).forward_into(
        dz,
        from,
        &mut dx,
        to,
        0,
        &zeros,
        Activation::None,
    );
    dx
}

/// `[c_out, c_in, 3, 3]` → `[c_in, c_out, 3, 3]`, each kernel turned by 180°.
fn turned_kernels(c_in: usize, c_out: usize, weight: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; weight.len()];
    for (pair, kernel) in weight.chunks_exact(9).enumerate() {
        let (co, ci) = (pair / c_in, pair % c_in);
        let dst = &mut out[(ci * c_out + co) * 9..][..9];
        for (t, v) in kernel.iter().enumerate() {
            dst[8 - t] = *v;
        }
    }
    out
}

/// The weight gradient `[c_out, c_in, 3, 3]` from the input `x` and output gradient `dz`.
pub(crate) fn weight_grad(s: &ConvShape, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let shape = Shape::new(s.batch, s.c_in, s.h, s.w);
    let plan = Plan::new(shape, s.c_in, s.c_out);
    let (plane, du_len) = (s.h * s.w, POSITIONS * s.c_out * s.c_in);
    // Every value of the per-image sums is written by its image's first block before it is
    // read, so a reused buffer serves (tens of MB: fresh pages would cost more than the sum).
    let du = with_scratch(s.batch * du_len, |parts| {
        parts
            .par_chunks_mut(du_len)
            .zip(x.par_chunks(shape.image()))
            .zip(dz.par_chunks(s.c_out * plane))
            .for_each(|((du, xn), dzn)| {
                with_scratch(plan.scratch_len(s.c_in, s.c_out), |scratch| {
                    for block in 0..plan.blocks {
                        let job = Job {
                            plan: &plan,
                            tiles: plan.block_tiles(block),
                            epilogue: (&[], Activation::None),
                        };
                        block_grad(&job, s.c_in, s.c_out, xn, dzn, scratch, du, block > 0);
                    }
                });
            });
        sum_parts(parts, du_len)
    });
    untransform(&du, s.c_in, s.c_out)
}

/// One block's `Σ_tiles (A dY Aᵀ) ⊙ V` into `du` (`[position][c_out][c_in]`), added to what
/// it holds when `add`.
#[allow(clippy::too_many_arguments)] // a block, its two channel counts, four buffers, a flag
fn block_grad(
    job: &Job,
    c_in: usize,
    c_out: usize,
    xn: &[f32],
    dzn: &[f32],
    scratch: &mut [f32],
    du: &mut [f32],
    add: bool,
) {
    let plan = job.plan;
    let ld = plan.per_block;
    let (v, m, _) = transformed_input(xn, job, c_in, c_out, scratch);
    for (co, channel) in dzn.chunks_exact(plan.h * plan.w).enumerate() {
        gradient_channel(channel, job, m, co * ld);
    }
    let pairs = c_out * c_in;
    for p in 0..POSITIONS {
        // (co, t) of the output gradient's plane p, (t, ci) of the input's.
        let lhs = Strided {
            ptr: m[p * c_out * ld..].as_ptr(),
            rs: ld,
            cs: 1,
        };
        let rhs = Strided {
            ptr: v[p * c_in * ld..].as_ptr(),
            rs: 1,
            cs: ld,
        };
        let dst = du[p * pairs..(p + 1) * pairs].as_mut_ptr();
        let k = job.tiles.len();
        // SAFETY: plane p of `m` holds c_out rows of ld ≥ k values, plane p of `v` c_in
        // columns of ld, and `du`'s plane p c_out × c_in values (written by an earlier block
        // when `add`); all three are this task's own.
        unsafe { gemm_serial_or_add(c_out, c_in, k, dst, c_in, 1, lhs, rhs, add) };
    }
}

/// Tiles of a segment transformed together, one per SIMD lane (one AVX-512 vector).
const RUN: usize = 16;

multiversion! {
    /// `A dY Aᵀ` of every tile of the block for one output channel, into column `col0..` of
    /// each position's plane of `m` (position `(i, j)` at plane `j·6 + i`, as `V`). Along
    /// the rows first (index b → j), then down the columns (a → i), [`RUN`] tiles at once.
    fn gradient_channel(channel: &[f32], job: &Job, m: &mut [f32], col0: usize) {
        let plan = job.plan;
        let ms = m.len() / POSITIONS;
        for seg in plan.segments(job.tiles.clone()) {
            for t0 in (0..seg.len).step_by(RUN) {
                let count = RUN.min(seg.len - t0);
                let x0 = (seg.tx0 + t0) * TILE;
                let mut rows = [[[0.0; RUN]; PATCH]; TILE];
                for (a, out) in rows.iter_mut().enumerate() {
                    let y = seg.ty * TILE + a;
                    if y >= plan.h {
                        break;
                    }
                    // Column 4t + q of the run is phase q, lane t; zero past the image.
                    let mut phases = [[0.0; RUN]; TILE];
                    let width = (TILE * count).min(plan.w - x0);
                    let (quads, rest) = channel[y * plan.w + x0..][..width].as_chunks::<TILE>();
                    for (t, quad) in quads.iter().enumerate() {
                        for (q, &v) in quad.iter().enumerate() {
                            phases[q][t] = v;
                        }
                    }
                    for (q, &v) in rest.iter().enumerate() {
                        phases[q][quads.len()] = v;
                    }
                    *out = a6_lanes(&phases);
                }
                for j in 0..PATCH {
                    let column = a6_lanes(&rows.map(|row| row[j]));
                    for (i, lanes) in column.iter().enumerate() {
                        let at = (j * PATCH + i) * ms + col0 + seg.offset + t0;
                        m[at..at + count].copy_from_slice(&lanes[..count]);
                    }
                }
            }
        }
    }
}

/// [`a6`] lane by lane.
#[inline(always)]
fn a6_lanes(x: &[[f32; RUN]; TILE]) -> [[f32; RUN]; PATCH] {
    let mut o = [[0.0; RUN]; PATCH];
    for l in 0..RUN {
        let y = a6([x[0][l], x[1][l], x[2][l], x[3][l]]);
        for (i, v) in y.into_iter().enumerate() {
            o[i][l] = v;
        }
    }
    o
}

/// `A x` for the four values of a tile row or column: `out[i] = Σ_a Aᵀ[a][i] · x[a]`.
#[inline(always)]
fn a6(x: [f32; TILE]) -> [f32; PATCH] {
    let (s02, s13) = (x[0] + x[2], x[1] + x[3]);
    let (t02, t13) = (x[0] + 4.0 * x[2], 2.0 * x[1] + 8.0 * x[3]);
    [x[0], s02 + s13, s02 - s13, t02 + t13, t02 - t13, x[3]]
}

/// `Gᵀ (∂L/∂U) G` for every kernel, in f64: `[position][c_out][c_in]` → `[c_out, c_in, 3, 3]`.
fn untransform(du: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
    let pairs = c_out * c_in;
    let mut dw = vec![0.0; pairs * 9];
    dw.par_chunks_mut(9).enumerate().for_each(|(pair, kernel)| {
        // h[a][j] = Σ_i G[i][a] · dU[i][j]
        let mut h = [[0.0_f64; PATCH]; 3];
        for (a, hrow) in h.iter_mut().enumerate() {
            for (j, v) in hrow.iter_mut().enumerate() {
                *v = (0..PATCH)
                    .map(|i| G[i][a] * f64::from(du[(j * PATCH + i) * pairs + pair]))
                    .sum();
            }
        }
        for (t, out) in kernel.iter_mut().enumerate() {
            let (a, c) = (t / 3, t % 3);
            *out = (0..PATCH).map(|j| h[a][j] * G[j][c]).sum::<f64>() as f32;
        }
    });
    dw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::im2col::{Geometry, im2col};
    use crate::reference::random_vec;

    /// The im2col route's three passes in f64: the truth the Winograd ones are checked on.
    fn reference(s: &ConvShape, x: &[f32], w: &[f32], dz: &[f32]) -> [Vec<f64>; 3] {
        let g = Geometry {
            c: s.c_in,
            h: s.h,
            w: s.w,
            k: 3,
            stride: 1,
            pad: 1,
            oh: s.h,
            ow: s.w,
        };
        let (ckk, hw) = (s.c_in * 9, s.h * s.w);
        let mut z = vec![0.0; s.batch * s.c_out * hw];
        let mut dx = vec![0.0; x.len()];
        let mut dw = vec![0.0; w.len()];
        let mut col = vec![0.0; ckk * hw];
        for n in 0..s.batch {
            im2col(&x[n * s.c_in * hw..][..s.c_in * hw], &g, &mut col);
            for co in 0..s.c_out {
                for r in 0..ckk {
                    let wv = f64::from(w[co * ckk + r]);
                    for p in 0..hw {
                        let c = f64::from(col[r * hw + p]);
                        let d = f64::from(dz[(n * s.c_out + co) * hw + p]);
                        z[(n * s.c_out + co) * hw + p] += wv * c;
                        dw[co * ckk + r] += d * c;
                    }
                }
            }
            // dX by the definition: every tap adds dz·w back to the pixel it read.
            for co in 0..s.c_out {
                for ci in 0..s.c_in {
                    for (t, &wv) in w[(co * s.c_in + ci) * 9..][..9].iter().enumerate() {
                        let (ky, kx) = (t / 3, t % 3);
                        for oy in 0..s.h {
                            for ox in 0..s.w {
                                let (iy, ix) = (oy + ky, ox + kx);
                                if iy == 0 || ix == 0 || iy > s.h || ix > s.w {
                                    continue;
                                }
                                let d = f64::from(dz[((n * s.c_out + co) * s.h + oy) * s.w + ox]);
                                dx[((n * s.c_in + ci) * s.h + iy - 1) * s.w + ix - 1] +=
                                    d * f64::from(wv);
                            }
                        }
                    }
                }
            }
        }
        [z, dx, dw]
    }

    /// `max |got − truth| / max |truth|`.
    fn relative_error(got: &[f32], truth: &[f64]) -> f64 {
        let scale = truth.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(truth)
            .fold(0.0_f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()));
        worst / scale
    }

    fn shape(batch: usize, c_in: usize, c_out: usize, h: usize, w: usize) -> ConvShape {
        ConvShape {
            batch,
            c_in,
            h,
            w,
            c_out,
            kernel: 3,
            stride: 1,
            padding: 1,
            depthwise: false,
        }
    }

    /// All three passes against the f64 definitions (called directly: small planes too), on
    /// ragged edges (sides not multiples of 4), a single pixel, several blocks per image and
    /// a batch: errors of F(4×4, 3×3)
    /// in f32 are ~1e-5 of the largest value, any wrong tap, tile or edge of order 1.
    #[test]
    fn three_passes_match_the_definitions() {
        let cases = [
            shape(2, 5, 7, 9, 11),
            shape(1, 4, 4, 1, 1),
            shape(3, 8, 6, 13, 6),
            shape(1, 16, 24, 70, 61),
        ];
        for (i, s) in cases.iter().enumerate() {
            let seed = 10 * i as u64;
            let x = random_vec(s.batch * s.input_len(), seed);
            let w = random_vec(s.weight_len(), seed + 1);
            let dz = random_vec(s.batch * s.c_out * s.h * s.w, seed + 2);
            let [z, dx, dw] = reference(s, &x, &w, &dz);
            let mut got_z = vec![f32::NAN; z.len()];
            forward(s, &x, &w, &mut got_z);
            let got_dx = input_grad(s, &w, &dz);
            let got_dw = weight_grad(s, &x, &dz);
            for (what, got, truth) in [
                ("z", &got_z, &z),
                ("dx", &got_dx, &dx),
                ("dw", &got_dw, &dw),
            ] {
                let err = relative_error(got, truth);
                assert!(err < 3e-5, "{s:?} {what}: relative error {err:e}");
            }
        }
    }

    #[test]
    fn the_route_is_the_inference_engines() {
        assert!(applies(&shape(1, 128, 128, 52, 52)));
        assert!(!applies(&shape(1, 3, 32, 52, 52)));
        assert!(!applies(&shape(1, 256, 256, 13, 13)));
        let strided = ConvShape {
            stride: 2,
            ..shape(1, 64, 64, 52, 52)
        };
        let depthwise = ConvShape {
            depthwise: true,
            ..shape(1, 64, 64, 52, 52)
        };
        assert!(!applies(&strided) && !applies(&depthwise));
    }

    #[test]
    fn turned_kernels_swap_channels_and_turn_taps() {
        let w: Vec<f32> = (0..2 * 3 * 9).map(|v| v as f32).collect();
        let t = turned_kernels(3, 2, &w);
        // Kernel (co 1, ci 2) of w becomes kernel (ci 2, co 1) of t, tap (0,0) ↔ (2,2).
        assert_eq!(t[(2 * 2 + 1) * 9], w[(3 + 2) * 9 + 8]);
        assert_eq!(t[(2 * 2 + 1) * 9 + 8], w[(3 + 2) * 9]);
        assert_eq!(t[(2 * 2 + 1) * 9 + 4], w[(3 + 2) * 9 + 4]);
    }
}

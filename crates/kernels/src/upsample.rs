//! Bilinear upsampling ×2 with `align_corners = False`, as PyTorch's
//! `F.interpolate(scale_factor=2, mode="bilinear")` and burn's `interpolate(Bilinear)` (both
//! map output o to source (o + 0.5)/2 − 0.5, clamp it at 0 and clamp the upper neighbour).
//! For a factor of 2 the weights are fixed: even outputs blend (¼, ¾) of pixels (i−1, i),
//! odd outputs (¾, ¼) of (i, i+1), so the kernel is a row pass then a column pass.

use rayon::prelude::*;

use crate::simd::multiversion;
use crate::{Shape, Tensor};

pub fn upsample_bilinear2x(x: &Tensor) -> Tensor {
    let s = x.shape();
    let mut out = Tensor::zeros(Shape::new(s.n, s.c, 2 * s.h, 2 * s.w));
    if s.is_empty() {
        return out;
    }
    let (plane, out_plane) = (s.plane(), 4 * s.plane());
    out.data_mut()
        .par_chunks_mut(out_plane)
        .zip(x.data().par_chunks(plane))
        .for_each(|(dst, src)| upsample_plane(src, s.h, s.w, dst));
    out
}

multiversion! {
    fn upsample_plane(src: &[f32], h: usize, w: usize, dst: &mut [f32]) {
        let ow = 2 * w;
        let mut rows = vec![0.0_f32; h * ow];
        for (row, out) in src.chunks_exact(w).zip(rows.chunks_exact_mut(ow)) {
            widen_row(row, out);
        }
        let row = |i: usize| &rows[i * ow..(i + 1) * ow];
        for i in 0..h {
            let (above, here, below) = (row(i.saturating_sub(1)), row(i), row((i + 1).min(h - 1)));
            let (even, odd) = dst[2 * i * ow..(2 * i + 2) * ow].split_at_mut(ow);
            if i == 0 {
                even.copy_from_slice(here);
            } else {
                blend(even, above, here);
            }
            blend(odd, below, here);
        }
    }
}

/// `out = ¼·far + ¾·near`.
#[inline(always)]
fn blend(out: &mut [f32], far: &[f32], near: &[f32]) {
    for (o, (f, n)) in out.iter_mut().zip(far.iter().zip(near)) {
        *o = 0.25 * f + 0.75 * n;
    }
}

/// Upsamples one row ×2 along its length.
#[inline(always)]
fn widen_row(row: &[f32], out: &mut [f32]) {
    let w = row.len();
    for (j, pair) in out.chunks_exact_mut(2).enumerate() {
        let here = row[j];
        pair[0] = if j == 0 {
            here
        } else {
            0.25 * row[j - 1] + 0.75 * here
        };
        pair[1] = 0.25 * row[(j + 1).min(w - 1)] + 0.75 * here;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{self, random_tensor};

    #[test]
    fn matches_pytorch_formula() {
        for (i, &(h, w)) in [(1, 1), (1, 3), (2, 2), (4, 7), (13, 13)]
            .iter()
            .enumerate()
        {
            let x = random_tensor(Shape::new(2, 3, h, w), i as u64);
            let got = upsample_bilinear2x(&x);
            reference::assert_close(&got, &reference::upsample_bilinear2x(&x), 1e-6);
        }
    }

    #[test]
    fn hand_computed_row() {
        // Row [0, 4, 8] → [0, 1, 3, 5, 7, 8]; both output rows equal it.
        let x = Tensor::new(vec![0.0, 4.0, 8.0], Shape::new(1, 1, 1, 3)).unwrap();
        let y = upsample_bilinear2x(&x);
        assert_eq!(
            y.data(),
            &[0.0, 1.0, 3.0, 5.0, 7.0, 8.0, 0.0, 1.0, 3.0, 5.0, 7.0, 8.0]
        );
    }
}

//! Max-pooling k×k, stride 1, "same" padding (SPPF's 5×5 pools), as a row pass then a
//! column pass: the max is exact, so the separable form gives the very same values.

use rayon::prelude::*;

use crate::simd::multiversion;
use crate::{KernelError, Tensor};

/// Max over the k×k window centred on each pixel (k odd), the outside ignored as PyTorch's
/// `MaxPool2d(k, stride=1, padding=k//2)` does by padding with −∞.
pub fn max_pool_same(x: &Tensor, k: usize) -> Result<Tensor, KernelError> {
    if k.is_multiple_of(2) {
        return Err(KernelError::Param {
            op: "max_pool_same",
            param: "kernel",
            value: k,
            expected: "an odd size",
        });
    }
    let s = x.shape();
    let mut out = Tensor::zeros(s);
    if s.is_empty() {
        return Ok(out);
    }
    let plane = s.plane();
    out.data_mut()
        .par_chunks_mut(plane)
        .zip(x.data().par_chunks(plane))
        .for_each(|(dst, src)| pool_plane(src, s.h, s.w, k / 2, dst));
    Ok(out)
}

multiversion! {
    fn pool_plane(src: &[f32], h: usize, w: usize, r: usize, dst: &mut [f32]) {
        let mut rows = vec![0.0_f32; h * w];
        let mut padded = vec![f32::NEG_INFINITY; w + 2 * r];
        for (row, out) in src.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
            padded[r..r + w].copy_from_slice(row);
            out.copy_from_slice(&padded[..w]);
            for d in 1..=2 * r {
                for (o, v) in out.iter_mut().zip(&padded[d..d + w]) {
                    *o = o.max(*v);
                }
            }
        }
        for (y, out) in dst.chunks_exact_mut(w).enumerate() {
            let (y0, y1) = (y.saturating_sub(r), (y + r).min(h - 1));
            out.copy_from_slice(&rows[y0 * w..(y0 + 1) * w]);
            for yy in y0 + 1..=y1 {
                for (o, v) in out.iter_mut().zip(&rows[yy * w..(yy + 1) * w]) {
                    *o = o.max(*v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shape;
    use crate::reference::{self, random_tensor};

    #[test]
    fn equals_windowed_max() {
        for (i, &(h, w, k)) in [(1, 1, 5), (3, 2, 5), (13, 13, 5), (6, 9, 3), (4, 4, 1)]
            .iter()
            .enumerate()
        {
            let x = random_tensor(Shape::new(2, 3, h, w), i as u64);
            let got = max_pool_same(&x, k).unwrap();
            assert_eq!(got, reference::max_pool_same(&x, k), "{h}x{w} k{k}");
        }
    }

    #[test]
    fn refuses_even_kernel() {
        let x = Tensor::zeros(Shape::new(1, 1, 2, 2));
        assert!(max_pool_same(&x, 4).is_err());
    }
}

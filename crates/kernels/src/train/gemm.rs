//! One single-threaded GEMM call of the `gemm` crate on row-major slices, either operand
//! optionally stored transposed; callers parallelise over images instead.

/// How a `rows × cols` operand lies in its slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Row-major `rows × cols`.
    Plain,
    /// Stored as its transpose, row-major `cols × rows`.
    Transposed,
}

impl Layout {
    /// (column stride, row stride) of a `rows × cols` operand.
    fn strides(self, rows: usize, cols: usize) -> (isize, isize) {
        match self {
            Layout::Plain => (1, cols as isize),
            Layout::Transposed => (rows as isize, 1),
        }
    }
}

/// `dst[m×n] = lhs[m×k] · rhs[k×n]`, `dst` row-major and overwritten.
///
/// # Panics
/// When a slice is shorter than its operand (a bug in the caller's shape arithmetic).
#[allow(clippy::too_many_arguments)] // three sizes, three operands, two layouts
pub(crate) fn gemm(
    dst: &mut [f32],
    lhs: &[f32],
    lhs_layout: Layout,
    rhs: &[f32],
    rhs_layout: Layout,
    m: usize,
    n: usize,
    k: usize,
) {
    assert!(dst.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst[..m * n].fill(0.0);
        return;
    }
    let (lhs_cs, lhs_rs) = lhs_layout.strides(m, k);
    let (rhs_cs, rhs_rs) = rhs_layout.strides(k, n);
    // SAFETY: the asserts above keep every element the strides reach inside its slice;
    // `read_dst = false` means `dst`'s previous contents are never read.
    unsafe {
        ::gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            ::gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], at: bool, b: &[f32], bt: bool, m: usize, n: usize, k: usize) -> Vec<f32> {
        let a_at = |i: usize, p: usize| if at { a[p * m + i] } else { a[i * k + p] };
        let b_at = |p: usize, j: usize| if bt { b[j * k + p] } else { b[p * n + j] };
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|p| a_at(i, p) as f64 * b_at(p, j) as f64)
                    .sum::<f64>() as f32;
            }
        }
        out
    }

    #[test]
    fn every_layout_matches_the_naive_product() {
        let (m, n, k) = (7, 13, 29);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 17) % 7) as f32 - 3.0).collect();
        for (la, at) in [(Layout::Plain, false), (Layout::Transposed, true)] {
            for (lb, bt) in [(Layout::Plain, false), (Layout::Transposed, true)] {
                let mut out = vec![f32::NAN; m * n];
                gemm(&mut out, &a, la, &b, lb, m, n, k);
                assert_eq!(out, naive(&a, at, &b, bt, m, n, k), "{la:?} {lb:?}");
            }
        }
    }
}

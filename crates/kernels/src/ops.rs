//! Layout-level operations of the networks: channel concatenation and the residual add.

use rayon::prelude::*;

use crate::{KernelError, Shape, Tensor};

/// Concatenates along channels (PyTorch `cat(dim=1)`); all inputs share n, h, w.
pub fn concat_channels(parts: &[&Tensor]) -> Result<Tensor, KernelError> {
    let Some(first) = parts.first() else {
        return Err(KernelError::Param {
            op: "concat_channels",
            param: "inputs",
            value: 0,
            expected: "at least one tensor",
        });
    };
    let s0 = first.shape();
    let mut c = 0;
    for p in parts {
        let s = p.shape();
        if (s.n, s.h, s.w) != (s0.n, s0.h, s0.w) {
            return Err(KernelError::ShapeMismatch {
                op: "concat_channels",
                detail: format!("{s} next to {s0}"),
            });
        }
        c += s.c;
    }
    let shape = Shape::new(s0.n, c, s0.h, s0.w);
    // A pooled buffer, filled by the copies alone (no zeros first).
    Tensor::from_fill(shape, |data| {
        for b in 0..s0.n {
            for p in parts {
                data.extend_from_slice(p.image(b));
            }
        }
    })
}

/// `a + b`, element-wise, same shapes.
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor, KernelError> {
    let mut out = a.clone();
    add_assign(&mut out, b)?;
    Ok(out)
}

/// `a += b`, element-wise, same shapes: the residual of a Bottleneck.
pub fn add_assign(a: &mut Tensor, b: &Tensor) -> Result<(), KernelError> {
    if a.shape() != b.shape() {
        return Err(KernelError::ShapeMismatch {
            op: "add",
            detail: format!("{} + {}", a.shape(), b.shape()),
        });
    }
    const CHUNK: usize = 1 << 14;
    a.data_mut()
        .par_chunks_mut(CHUNK)
        .zip(b.data().par_chunks(CHUNK))
        .for_each(|(x, y)| {
            for (u, v) in x.iter_mut().zip(y) {
                *u += v;
            }
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_interleaves_per_image() {
        let a = Tensor::new(vec![1.0, 2.0], Shape::new(2, 1, 1, 1)).unwrap();
        let b = Tensor::new(vec![3.0, 4.0, 5.0, 6.0], Shape::new(2, 2, 1, 1)).unwrap();
        let c = concat_channels(&[&a, &b]).unwrap();
        assert_eq!(c.shape(), Shape::new(2, 3, 1, 1));
        assert_eq!(c.data(), &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        let d = Tensor::zeros(Shape::new(2, 1, 1, 2));
        assert!(concat_channels(&[&a, &d]).is_err());
        assert!(concat_channels(&[]).is_err());
    }

    #[test]
    fn add_checks_shapes() {
        let a = Tensor::new(vec![1.0, 2.0], Shape::new(1, 2, 1, 1)).unwrap();
        assert_eq!(add(&a, &a).unwrap().data(), &[2.0, 4.0]);
        let b = Tensor::zeros(Shape::new(1, 1, 1, 2));
        let err = add(&a, &b).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add: shapes disagree: [1, 2, 1, 1] + [1, 1, 1, 2]"
        );
    }
}

//! The batch-major NCHW `f32` tensor every kernel reads and writes.

use std::fmt;

use crate::KernelError;
use crate::buffer_pool::GLOBAL as POOL;

/// Sizes of an NCHW tensor: batch, channels, rows, columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub const fn new(n: usize, c: usize, h: usize, w: usize) -> Self {
        Self { n, c, h, w }
    }

    /// Total number of values.
    pub const fn len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values in one channel plane (`h·w`).
    pub const fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Values in one image of the batch (`c·h·w`).
    pub const fn image(&self) -> usize {
        self.c * self.h * self.w
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}, {}, {}]", self.n, self.c, self.h, self.w)
    }
}

/// An owned NCHW tensor whose buffer length always equals its shape's.
///
/// Tensors made here ([`zeros`](Self::zeros), [`from_fill`](Self::from_fill), clones,
/// channel slices) take their buffers from the process-wide [`buffer_pool`](crate::buffer_pool)
/// and give them back on drop; a buffer handed in by [`new`](Self::new) is the caller's and is
/// freed as before, so that buffers from outside never crowd the pool. The buffer's capacity
/// never changes while a tensor owns it, which keeps the pool's accounts exact.
#[derive(Debug)]
pub struct Tensor {
    data: Vec<f32>,
    shape: Shape,
    /// The buffer came from the pool and goes back to it.
    pooled: bool,
}

impl Tensor {
    /// Wraps `data` as a tensor of `shape`, refusing a buffer of the wrong length. The buffer
    /// stays outside the pool (freed on drop as any `Vec`); [`from_fill`](Self::from_fill)
    /// copies into a pooled one instead.
    pub fn new(data: Vec<f32>, shape: Shape) -> Result<Self, KernelError> {
        if data.len() != shape.len() {
            return Err(KernelError::Length {
                what: "tensor",
                detail: format!("shape {shape}"),
                expected: shape.len(),
                got: data.len(),
            });
        }
        Ok(Self {
            data,
            shape,
            pooled: false,
        })
    }

    /// A tensor of zeros, in a pooled buffer when one fits.
    pub fn zeros(shape: Shape) -> Self {
        Self {
            data: POOL.take_zeroed(shape.len()),
            shape,
            pooled: true,
        }
    }

    /// A tensor for a kernel that writes every value before anything reads one: a pooled
    /// buffer as its last user left it (zeros when fresh), so no pass of zeros first. Never
    /// uninitialised memory; a kernel that skipped a value would show an earlier tensor's,
    /// which the kernels' tests (run after the pool holds dirty buffers) would catch.
    pub(crate) fn for_overwrite(shape: Shape) -> Self {
        Self {
            data: POOL.take_stale(shape.len()),
            shape,
            pooled: true,
        }
    }

    /// A tensor whose values `fill` pushes onto an empty pooled buffer with room for them
    /// all: for copies and concatenations, which write every value and need no zeros first.
    /// Refuses a fill that leaves other than `shape.len()` values.
    pub fn from_fill(shape: Shape, fill: impl FnOnce(&mut Vec<f32>)) -> Result<Self, KernelError> {
        // Inside a tensor from the start, so that a panicking fill still returns the buffer.
        let mut t = Self {
            data: POOL.take_empty(shape.len()),
            shape,
            pooled: true,
        };
        let capacity = t.data.capacity();
        fill(&mut t.data);
        // A fill that pushed past the room reallocated the buffer.
        POOL.recount(capacity, t.data.capacity());
        if t.data.len() != shape.len() {
            return Err(KernelError::Length {
                what: "tensor fill",
                detail: format!("shape {shape}"),
                expected: shape.len(),
                got: t.data.len(),
            });
        }
        Ok(t)
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The buffer, which leaves the pool for good.
    pub fn into_data(mut self) -> Vec<f32> {
        let data = std::mem::take(&mut self.data);
        if self.pooled {
            POOL.disown(data.capacity());
        }
        data
    }

    /// One image of the batch, `[c, h, w]` contiguous.
    pub fn image(&self, b: usize) -> &[f32] {
        let size = self.shape.image();
        &self.data[b * size..(b + 1) * size]
    }

    /// Channels `c0..c0 + count` of every image, as a new tensor.
    pub fn channels(&self, c0: usize, count: usize) -> Result<Tensor, KernelError> {
        let s = self.shape;
        if c0 + count > s.c {
            return Err(KernelError::ShapeMismatch {
                op: "channels",
                detail: format!("channels {c0}..{} of a tensor {s}", c0 + count),
            });
        }
        let plane = s.plane();
        Tensor::from_fill(Shape::new(s.n, count, s.h, s.w), |data| {
            for b in 0..s.n {
                let image = self.image(b);
                data.extend_from_slice(&image[c0 * plane..(c0 + count) * plane]);
            }
        })
    }

    /// Copies `src` into channels `c0..c0 + src.c` of every image: builds a concatenation
    /// in place, piece by piece.
    pub fn write_channels(&mut self, c0: usize, src: &Tensor) -> Result<(), KernelError> {
        let (s, d) = (src.shape, self.shape);
        if (s.n, s.h, s.w) != (d.n, d.h, d.w) || c0 + s.c > d.c {
            return Err(KernelError::ShapeMismatch {
                op: "write_channels",
                detail: format!("{s} does not fit at channel {c0} of {d}"),
            });
        }
        let (block, image) = (s.image(), d.image());
        let offset = c0 * d.plane();
        for b in 0..d.n {
            let start = b * image + offset;
            self.data[start..start + block].copy_from_slice(src.image(b));
        }
        Ok(())
    }
}

impl Clone for Tensor {
    fn clone(&self) -> Self {
        let mut data = POOL.take_empty(self.data.len());
        data.extend_from_slice(&self.data);
        Self {
            data,
            shape: self.shape,
            pooled: true,
        }
    }
}

/// Equal shapes and values; where the buffers came from does not matter.
impl PartialEq for Tensor {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.data == other.data
    }
}

impl Drop for Tensor {
    fn drop(&mut self) {
        if self.pooled {
            POOL.give(std::mem::take(&mut self.data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_wrong_length() {
        let err = Tensor::new(vec![0.0; 5], Shape::new(1, 2, 1, 3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor: expected 6 values (shape [1, 2, 1, 3]), got 5"
        );
    }

    #[test]
    fn channel_slice_of_each_image() {
        let data: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let t = Tensor::new(data, Shape::new(2, 3, 2, 2)).unwrap();
        let mid = t.channels(1, 1).unwrap();
        assert_eq!(mid.shape(), Shape::new(2, 1, 2, 2));
        assert_eq!(mid.data(), &[4.0, 5.0, 6.0, 7.0, 16.0, 17.0, 18.0, 19.0]);
        assert!(t.channels(2, 2).is_err());
    }

    #[test]
    fn write_channels_is_the_inverse_of_channels() {
        let data: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let t = Tensor::new(data, Shape::new(2, 3, 2, 2)).unwrap();
        let mut rebuilt = Tensor::zeros(t.shape());
        rebuilt
            .write_channels(0, &t.channels(0, 2).unwrap())
            .unwrap();
        rebuilt
            .write_channels(2, &t.channels(2, 1).unwrap())
            .unwrap();
        assert_eq!(rebuilt, t);
        assert!(
            rebuilt
                .write_channels(2, &t.channels(0, 2).unwrap())
                .is_err()
        );
    }
}

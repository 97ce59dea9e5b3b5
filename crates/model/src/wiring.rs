//! The network's wiring, written once: which block feeds which from the input to the three
//! feature maps the head reads (the backbone's taps at strides 8 and 16, SPPF at 32, and the
//! PANet's top-down then bottom-up paths with its lateral joins).
//!
//! Three evaluators walk it with their own blocks: the burn modules ([`crate::detector`]),
//! the folded fast path ([`crate::fast`], host tensors) and the analytic count
//! ([`crate::report`], where an activation is only its output size). A change of wiring is
//! made here and reaches all three.

/// The block types of one representation of the network (burn modules, folded layers).
pub trait Family {
    type Conv;
    type Spatial;
    type C3;
    type Sppf;
}

/// What an evaluator does with each kind of block of family `F`, and with the neck's joins.
///
/// `X` is an activation (a tensor, or what stands for one); every method consumes its input,
/// so an activation used twice is cloned where the wiring says so. `name` is the block's path
/// in the module tree (`neck.td4`), for error messages and layer listings.
pub trait Blocks<F: Family> {
    type X: Clone;
    type E;

    fn conv(&mut self, name: &str, l: &F::Conv, x: Self::X) -> Result<Self::X, Self::E>;
    fn spatial(&mut self, name: &str, l: &F::Spatial, x: Self::X) -> Result<Self::X, Self::E>;
    fn c3(&mut self, name: &str, l: &F::C3, x: Self::X) -> Result<Self::X, Self::E>;
    fn sppf(&mut self, name: &str, l: &F::Sppf, x: Self::X) -> Result<Self::X, Self::E>;
    /// `cat([up2(coarse), fine], channels)`, the neck's bilinear ×2 (paper Figure 4).
    fn up_cat(&mut self, name: &str, coarse: Self::X, fine: Self::X) -> Result<Self::X, Self::E>;
    /// `cat([a, b], channels)`.
    fn cat(&mut self, name: &str, a: Self::X, b: Self::X) -> Result<Self::X, Self::E>;
}

/// Number of downsampling stages of the backbone.
pub const STAGES: usize = 4;

/// One backbone stage's blocks: a stride-2 conv, then a C3.
pub struct Stage<'a, F: Family> {
    pub down: &'a F::Spatial,
    pub c3: &'a F::C3,
}

/// The backbone's blocks, borrowed from an evaluator's network.
pub struct BackboneParts<'a, F: Family> {
    pub stem: &'a F::Conv,
    pub stages: [Stage<'a, F>; STAGES],
    pub sppf: &'a F::Sppf,
}

/// The neck's blocks (see [`crate::neck::Neck`] for what each one is).
pub struct NeckParts<'a, F: Family> {
    pub lat5: &'a F::Conv,
    pub td4: &'a F::C3,
    pub lat4: &'a F::Conv,
    pub out3: &'a F::C3,
    pub down3: &'a F::Spatial,
    pub out4: &'a F::C3,
    pub down4: &'a F::Spatial,
    pub out5: &'a F::C3,
}

/// Stem, four stages, SPPF: the feature maps at strides 8, 16 and 32 (the outputs of stages
/// 2 and 3, and SPPF over stage 4).
pub fn backbone<F: Family, B: Blocks<F>>(
    b: &mut B,
    p: &BackboneParts<'_, F>,
    x: B::X,
) -> Result<[B::X; 3], B::E> {
    let [s1, s2, s3, s4] = &p.stages;
    let x = b.conv("backbone.stem", p.stem, x)?;
    let x = stage(b, 0, s1, x)?;
    let p3 = stage(b, 1, s2, x)?;
    let p4 = stage(b, 2, s3, p3.clone())?;
    let x = stage(b, 3, s4, p4.clone())?;
    let p5 = b.sppf("backbone.sppf", p.sppf, x)?;
    Ok([p3, p4, p5])
}

fn stage<F: Family, B: Blocks<F>>(
    b: &mut B,
    i: usize,
    s: &Stage<'_, F>,
    x: B::X,
) -> Result<B::X, B::E> {
    let x = b.spatial(&format!("backbone.stages.{i}.down"), s.down, x)?;
    b.c3(&format!("backbone.stages.{i}.c3"), s.c3, x)
}

/// YOLOv5 v7.0's PANet (its yaml head section, layers 10–23): top-down from P5 to the P3
/// output, then bottom-up to P4 and P5, each joined with the lateral of its level.
pub fn neck<F: Family, B: Blocks<F>>(
    b: &mut B,
    p: &NeckParts<'_, F>,
    [p3, p4, p5]: [B::X; 3],
) -> Result<[B::X; 3], B::E> {
    let l5 = b.conv("neck.lat5", p.lat5, p5)?;
    let t4 = b.up_cat("neck.td4", l5.clone(), p4)?;
    let t4 = b.c3("neck.td4", p.td4, t4)?;
    let l4 = b.conv("neck.lat4", p.lat4, t4)?;
    let o3 = b.up_cat("neck.out3", l4.clone(), p3)?;
    let o3 = b.c3("neck.out3", p.out3, o3)?;
    let d3 = b.spatial("neck.down3", p.down3, o3.clone())?;
    let o4 = b.cat("neck.out4", d3, l4)?;
    let o4 = b.c3("neck.out4", p.out4, o4)?;
    let d4 = b.spatial("neck.down4", p.down4, o4.clone())?;
    let o5 = b.cat("neck.out5", d4, l5)?;
    let o5 = b.c3("neck.out5", p.out5, o5)?;
    Ok([o3, o4, o5])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{C3, Conv, Modules, Spatial, Sppf};
    use crate::config::{ModelConfig, STRIDES, Scale, Variant};
    use crate::detector::Detector;
    use burn::prelude::Device;

    /// Follows the stride of each activation (from the convs' own strides) and the blocks
    /// visited, by name.
    #[derive(Default)]
    struct Trace {
        visited: Vec<String>,
    }

    impl Trace {
        fn step(&mut self, name: &str, stride: usize, x: usize) -> Result<usize, String> {
            self.visited.push(name.to_string());
            Ok(x * stride)
        }
    }

    fn conv_stride(c: &Conv) -> usize {
        c.conv.stride[0]
    }

    impl Blocks<Modules> for Trace {
        type X = usize;
        type E = String;

        fn conv(&mut self, name: &str, l: &Conv, x: usize) -> Result<usize, String> {
            self.step(name, conv_stride(l), x)
        }
        fn spatial(&mut self, name: &str, l: &Spatial, x: usize) -> Result<usize, String> {
            let s = match l {
                Spatial::Dense(c) => conv_stride(c),
                Spatial::Depthwise(d) => conv_stride(&d.dconv) * conv_stride(&d.pconv),
            };
            self.step(name, s, x)
        }
        fn c3(&mut self, name: &str, _: &C3, x: usize) -> Result<usize, String> {
            self.step(name, 1, x)
        }
        fn sppf(&mut self, name: &str, _: &Sppf, x: usize) -> Result<usize, String> {
            self.step(name, 1, x)
        }
        fn up_cat(&mut self, name: &str, coarse: usize, fine: usize) -> Result<usize, String> {
            (coarse == 2 * fine).then_some(fine).ok_or(format!(
                "{name}: up ×2 of stride {coarse} joins stride {fine}"
            ))
        }
        fn cat(&mut self, name: &str, a: usize, b: usize) -> Result<usize, String> {
            (a == b)
                .then_some(a)
                .ok_or(format!("{name}: joins strides {a} and {b}"))
        }
    }

    /// The wiring reaches the head's strides with every join between maps of one size, and
    /// uses each of the 18 blocks of the backbone and neck exactly once.
    #[test]
    fn every_block_once_and_the_head_strides() {
        for v in [Variant::Yolov5, Variant::LightYoloBasin] {
            let cfg = ModelConfig::new(v, Scale::N).with_tile(64);
            let det = Detector::new(&cfg, &Device::flex());
            let mut t = Trace::default();
            let f = backbone(&mut t, &det.backbone.parts(), 1).unwrap();
            let out = neck(&mut t, &det.neck.parts(), f).unwrap();
            assert_eq!(out, STRIDES, "{v:?}");
            let mut names = t.visited.clone();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                t.visited.len(),
                "a block used twice: {names:?}"
            );
            assert_eq!(names.len(), 1 + 2 * STAGES + 1 + 8);
        }
    }
}

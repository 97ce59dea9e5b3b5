//! From raw head maps to boxes in pixels: a differentiable tensor decoder (training and the
//! reference inference path) and a plain-f32 decoder for raw maps on the host (the fast
//! path), tested equal.
//!
//! Prediction order (N): level by level (strides 8, 16, 32); within a level, anchor-major
//! for YOLOv5 (as `Detect` views `[B, na, ny, nx, no]`), then row-major cells.

use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::config::{ANCHORS_PER_LEVEL, ModelConfig, YOLOV5_OUTPUTS};
use crate::head::HeadOutput;

/// Upper clamp of the anchor-free size logits: exp(6) ≈ 403 cells, beyond any tile, so
/// sizes stay finite however far a bad step throws the logits.
pub const T_WH_MAX: f32 = 6.0;
/// Lower clamp: sizes stay strictly positive (exp(−10)·stride ≈ 4e−4 px).
pub const T_WH_MIN: f32 = -10.0;

/// Decoded predictions of a batch.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// `[B, N, 4]` boxes (x1, y1, x2, y2) in input pixels.
    pub boxes: Tensor<3>,
    /// `[B, N]` objectness / confidence logits.
    pub obj_logits: Tensor<2>,
    /// `[B, N]` class logits (YOLOv5 only; one class, scored as σ(obj)·σ(cls)).
    pub cls_logits: Option<Tensor<2>>,
    /// `[N, 2]` centre of each prediction's cell in pixels (x, y).
    pub centers: Tensor<2>,
    /// `[N]` stride of each prediction's level.
    pub strides: Tensor<1>,
    /// `[N, 2]` anchor (w, h) in pixels of each prediction (YOLOv5 only).
    pub anchors: Option<Tensor<2>>,
}

/// Decodes every level. Anchor-free (paper Figure 7B): centre = (σ(t_xy) + cell corner) ·
/// stride — σ keeps the centre inside its own cell, as the paper draws it (no widening to
/// 2σ − 0.5); size = exp(clamp(t_wh)) · stride. YOLOv5 v7.0: xy = (2σ − 0.5 + cell) ·
/// stride, wh = (2σ)² · anchor.
pub fn decode(out: &HeadOutput, cfg: &ModelConfig) -> Decoded {
    let device = out.levels[0].raw.device();
    let mut parts = Parts::default();
    for (li, level) in out.levels.iter().enumerate() {
        let [b, c, h, w] = level.raw.dims();
        let s = level.stride as f32;
        let grid = cell_grid(h, w, &device); // [HW, 2] cell corners (x, y)
        if cfg.variant.is_anchor_free() {
            // [B, 5, H, W] → [B, HW, 5]
            let p = level.raw.clone().reshape([b, c, h * w]).swap_dims(1, 2);
            let xy =
                (sigmoid(p.clone().narrow(2, 0, 2)) + grid.clone().unsqueeze::<3>()).mul_scalar(s);
            let wh = p
                .clone()
                .narrow(2, 2, 2)
                .clamp(T_WH_MIN, T_WH_MAX)
                .exp()
                .mul_scalar(s);
            parts.push_level(xy, wh, p.narrow(2, 4, 1).squeeze_dim(2), None);
            parts.centers.push(grid.add_scalar(0.5).mul_scalar(s));
            parts.strides.push(h * w, s, &device);
        } else {
            let na = ANCHORS_PER_LEVEL;
            let no = YOLOV5_OUTPUTS;
            // [B, na·no, H, W] → [B, na, no, HW] → [B, na, HW, no] → [B, na·HW, no]
            let p = level
                .raw
                .clone()
                .reshape([b, na, no, h * w])
                .swap_dims(2, 3)
                .reshape([b, na * h * w, no]);
            let grid_a = grid.clone().repeat_dim(0, na); // [na·HW, 2]
            let anchor_wh = anchor_table(cfg, li, h * w, &device); // [na·HW, 2]
            let sxy = sigmoid(p.clone().narrow(2, 0, 2));
            let xy = (sxy.mul_scalar(2.0).sub_scalar(0.5) + grid_a.clone().unsqueeze::<3>())
                .mul_scalar(s);
            let swh = sigmoid(p.clone().narrow(2, 2, 2)).mul_scalar(2.0);
            let wh = swh.clone() * swh * anchor_wh.clone().unsqueeze::<3>();
            let obj = p.clone().narrow(2, 4, 1).squeeze_dim(2);
            let cls = p.narrow(2, 5, 1).squeeze_dim(2);
            parts.push_level(xy, wh, obj, Some(cls));
            parts.centers.push(grid_a.add_scalar(0.5).mul_scalar(s));
            parts.strides.push(na * h * w, s, &device);
            parts.anchors.push(anchor_wh);
        }
    }
    parts.finish()
}

/// Per-level pieces gathered before one concatenation along N.
#[derive(Default)]
struct Parts {
    boxes: Vec<Tensor<3>>,
    obj: Vec<Tensor<2>>,
    cls: Vec<Tensor<2>>,
    centers: Vec<Tensor<2>>,
    strides: StrideParts,
    anchors: Vec<Tensor<2>>,
}

#[derive(Default)]
struct StrideParts(Vec<Tensor<1>>);

impl StrideParts {
    fn push(&mut self, n: usize, s: f32, device: &Device) {
        self.0.push(Tensor::full([n], s, device));
    }
}

impl Parts {
    fn push_level(&mut self, xy: Tensor<3>, wh: Tensor<3>, obj: Tensor<2>, cls: Option<Tensor<2>>) {
        let half = wh.div_scalar(2.0);
        self.boxes
            .push(Tensor::cat(vec![xy.clone() - half.clone(), xy + half], 2));
        self.obj.push(obj);
        if let Some(c) = cls {
            self.cls.push(c);
        }
    }

    fn finish(self) -> Decoded {
        let opt = |v: Vec<Tensor<2>>, dim: usize| (!v.is_empty()).then(|| Tensor::cat(v, dim));
        Decoded {
            boxes: Tensor::cat(self.boxes, 1),
            obj_logits: Tensor::cat(self.obj, 1),
            cls_logits: opt(self.cls, 1),
            centers: Tensor::cat(self.centers, 0),
            strides: Tensor::cat(self.strides.0, 0),
            anchors: opt(self.anchors, 0),
        }
    }
}

/// `[H·W, 2]` top-left corners (x, y) of the cells, in cell units, row-major.
fn cell_grid(h: usize, w: usize, device: &Device) -> Tensor<2> {
    let mut v = Vec::with_capacity(h * w * 2);
    for y in 0..h {
        for x in 0..w {
            v.push(x as f32);
            v.push(y as f32);
        }
    }
    Tensor::from_data(TensorData::new(v, [h * w, 2]), device)
}

/// `[na·HW, 2]` anchor (w, h) of every prediction of level `li`, anchor-major.
fn anchor_table(cfg: &ModelConfig, li: usize, cells: usize, device: &Device) -> Tensor<2> {
    let a = cfg.anchors()[li];
    let mut v = Vec::with_capacity(ANCHORS_PER_LEVEL * cells * 2);
    for k in 0..ANCHORS_PER_LEVEL {
        for _ in 0..cells {
            v.push(a[2 * k]);
            v.push(a[2 * k + 1]);
        }
    }
    Tensor::from_data(TensorData::new(v, [ANCHORS_PER_LEVEL * cells, 2]), device)
}

/// One level's raw head map on the host, `[B, C, H, W]` row-major f32 (what the fast path
/// produces).
#[derive(Clone, Debug, PartialEq)]
pub struct LevelRaw {
    pub stride: usize,
    pub shape: [usize; 4],
    pub data: Vec<f32>,
}

/// One decoded prediction on the host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HostPrediction {
    /// x1, y1, x2, y2 in pixels.
    pub bbox: [f32; 4],
    /// Confidence in [0, 1]: σ(obj), times σ(cls) for YOLOv5.
    pub score: f32,
}

fn sig(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Decodes host raw maps with the same formulas and order as [`decode`]; returns, per
/// image, the predictions scoring at least `min_score` (the rest are never materialised).
pub fn decode_host(
    levels: &[LevelRaw],
    cfg: &ModelConfig,
    min_score: f32,
) -> Vec<Vec<HostPrediction>> {
    let batch = levels.first().map_or(0, |l| l.shape[0]);
    let mut out = vec![Vec::new(); batch];
    for (li, level) in levels.iter().enumerate() {
        let [b, c, h, w] = level.shape;
        let s = level.stride as f32;
        let hw = h * w;
        for (bi, preds) in out.iter_mut().enumerate().take(b) {
            let img = &level.data[bi * c * hw..(bi + 1) * c * hw];
            if cfg.variant.is_anchor_free() {
                let at = |k: usize, i: usize| img[k * hw + i];
                for i in 0..hw {
                    let score = sig(at(4, i));
                    if score < min_score {
                        continue;
                    }
                    let (gx, gy) = ((i % w) as f32, (i / w) as f32);
                    let cx = (sig(at(0, i)) + gx) * s;
                    let cy = (sig(at(1, i)) + gy) * s;
                    let bw = at(2, i).clamp(T_WH_MIN, T_WH_MAX).exp() * s;
                    let bh = at(3, i).clamp(T_WH_MIN, T_WH_MAX).exp() * s;
                    preds.push(host_box(cx, cy, bw, bh, score));
                }
            } else {
                let anchors = cfg.anchors()[li];
                for a in 0..ANCHORS_PER_LEVEL {
                    let at = |k: usize, i: usize| img[(a * YOLOV5_OUTPUTS + k) * hw + i];
                    for i in 0..hw {
                        let score = sig(at(4, i)) * sig(at(5, i));
                        if score < min_score {
                            continue;
                        }
                        let (gx, gy) = ((i % w) as f32, (i / w) as f32);
                        let cx = (2.0 * sig(at(0, i)) - 0.5 + gx) * s;
                        let cy = (2.0 * sig(at(1, i)) - 0.5 + gy) * s;
                        let bw = (2.0 * sig(at(2, i))).powi(2) * anchors[2 * a];
                        let bh = (2.0 * sig(at(3, i))).powi(2) * anchors[2 * a + 1];
                        preds.push(host_box(cx, cy, bw, bh, score));
                    }
                }
            }
        }
    }
    out
}

fn host_box(cx: f32, cy: f32, w: f32, h: f32, score: f32) -> HostPrediction {
    HostPrediction {
        bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
        score,
    }
}

/// Reads a burn head output back to the host (for [`decode_host`] or the fast path's tests).
pub fn head_to_host(out: &HeadOutput) -> Vec<LevelRaw> {
    out.levels
        .iter()
        .map(|l| LevelRaw {
            stride: l.stride,
            shape: l.raw.dims(),
            data: l
                .raw
                .clone()
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_ANCHORS, Scale, Variant};
    use crate::head::LevelOutput;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn level(stride: usize, shape: [usize; 4], data: Vec<f32>) -> LevelOutput {
        LevelOutput {
            stride,
            raw: Tensor::from_data(TensorData::new(data, shape), &Device::flex()),
        }
    }

    fn v<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().expect("f32")
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 1e-4 * (1.0 + b.abs())
    }

    #[test]
    fn anchor_free_by_hand() {
        // One image, stride 8, 2 rows × 3 columns; all logits 0 except cell (row 1, col 2):
        // tx = ln 3 (σ = 0.75), ty = −ln 3 (σ = 0.25), tw = ln 2, th = 0, obj = 1.
        let (h, w) = (2, 3);
        let mut data = vec![0.0f32; 5 * h * w];
        let cell = w + 2;
        data[cell] = 3f32.ln();
        data[h * w + cell] = -(3f32.ln());
        data[2 * h * w + cell] = 2f32.ln();
        data[4 * h * w + cell] = 1.0;
        let out = HeadOutput {
            levels: vec![level(8, [1, 5, h, w], data)],
        };
        let cfg = ModelConfig::new(Variant::YoloBasin, Scale::N);
        let d = decode(&out, &cfg);
        assert_eq!(d.boxes.dims(), [1, 6, 4]);
        let boxes = v(d.boxes);
        // σ(0) = 0.5: the cell centre; size exp(0)·8 = 8.
        assert_eq!(&boxes[0..4], &[0.0, 0.0, 8.0, 8.0]);
        // cell (0, 1): centre (12, 4).
        assert_eq!(&boxes[4..8], &[8.0, 0.0, 16.0, 8.0]);
        // cell (1, 2): centre ((0.75 + 2)·8, (0.25 + 1)·8) = (22, 10), size 16 × 8.
        let want = [14.0, 6.0, 30.0, 14.0];
        for (a, b) in boxes[cell * 4..cell * 4 + 4].iter().zip(want) {
            assert!(close(*a, b), "{:?}", &boxes[cell * 4..cell * 4 + 4]);
        }
        assert_eq!(v(d.obj_logits)[cell], 1.0);
        assert_eq!(&v(d.centers)[cell * 2..cell * 2 + 2], &[20.0, 12.0]);
        assert_eq!(v(d.strides), vec![8.0; 6]);
        assert!(d.cls_logits.is_none() && d.anchors.is_none());
    }

    #[test]
    fn anchor_free_sizes_stay_finite_and_positive() {
        let data = vec![1e4f32, 1e4, 1e4, -1e4, 0.0];
        let out = HeadOutput {
            levels: vec![level(32, [1, 5, 1, 1], data)],
        };
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N);
        let b = v(decode(&out, &cfg).boxes);
        let (w, h) = (b[2] - b[0], b[3] - b[1]);
        assert!(w.is_finite() && close(w, T_WH_MAX.exp() * 32.0), "{w}");
        assert!(h > 0.0 && close(h, T_WH_MIN.exp() * 32.0), "{h}");
    }

    #[test]
    fn yolov5_zero_logits_give_anchor_boxes_at_cell_centres() {
        // σ(0) = 0.5: xy = (2·0.5 − 0.5 + g)·s = (g + 0.5)·s, wh = (2·0.5)²·anchor.
        let (h, w) = (2, 2);
        let out = HeadOutput {
            levels: vec![level(16, [1, 18, h, w], vec![0.0; 18 * h * w])],
        };
        // Level 0 of the config's anchors pairs with the first (only) level here.
        let cfg = ModelConfig::new(Variant::Yolov5, Scale::N);
        let d = decode(&out, &cfg);
        assert_eq!(d.boxes.dims(), [1, 12, 4]);
        let boxes = v(d.boxes);
        let anchors = v(d.anchors.expect("anchors"));
        for a in 0..3 {
            for cell in 0..4 {
                let i = a * 4 + cell;
                let (cx, cy) = (
                    (cell % 2) as f32 * 16.0 + 8.0,
                    (cell / 2) as f32 * 16.0 + 8.0,
                );
                let (aw, ah) = (DEFAULT_ANCHORS[0][2 * a], DEFAULT_ANCHORS[0][2 * a + 1]);
                assert_eq!(&anchors[i * 2..i * 2 + 2], &[aw, ah]);
                let want = [cx - aw / 2.0, cy - ah / 2.0, cx + aw / 2.0, cy + ah / 2.0];
                for (g, w) in boxes[i * 4..i * 4 + 4].iter().zip(want) {
                    assert!(
                        close(*g, w),
                        "prediction {i}: {:?} vs {want:?}",
                        &boxes[i * 4..]
                    );
                }
            }
        }
        assert!(d.cls_logits.is_some());
    }

    fn random_output(cfg: &ModelConfig, batch: usize, seed: u64) -> HeadOutput {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = cfg.outputs_per_level();
        let levels = [(8, 4, 5), (16, 2, 3), (32, 1, 2)]
            .into_iter()
            .map(|(s, h, w)| {
                let data = (0..batch * c * h * w)
                    .map(|_| rng.random_range(-4.0f32..4.0))
                    .collect();
                level(s, [batch, c, h, w], data)
            })
            .collect();
        HeadOutput { levels }
    }

    #[test]
    fn host_decode_equals_tensor_decode() {
        for variant in Variant::ALL {
            let cfg = ModelConfig::new(variant, Scale::N);
            let out = random_output(&cfg, 2, 3);
            let d = decode(&out, &cfg);
            let n = d.boxes.dims()[1];
            let boxes = v(d.boxes);
            let mut score = v(sigmoid(d.obj_logits));
            if let Some(c) = d.cls_logits {
                score = score
                    .iter()
                    .zip(v(sigmoid(c)))
                    .map(|(a, b)| a * b)
                    .collect();
            }
            let host = decode_host(&head_to_host(&out), &cfg, 0.0);
            assert_eq!(host.len(), 2);
            for (bi, preds) in host.iter().enumerate() {
                assert_eq!(preds.len(), n, "{variant}");
                for (i, p) in preds.iter().enumerate() {
                    let o = bi * n + i;
                    assert!(close(p.score, score[o]), "{variant} score {i}");
                    for k in 0..4 {
                        assert!(close(p.bbox[k], boxes[o * 4 + k]), "{variant} box {i}");
                    }
                }
            }
            // The score filter only drops, never reorders.
            let kept = decode_host(&head_to_host(&out), &cfg, 0.5);
            let all = &host[0];
            let want: Vec<_> = all.iter().filter(|p| p.score >= 0.5).copied().collect();
            assert_eq!(kept[0], want);
        }
    }

    #[test]
    fn decode_is_differentiable_through_the_network() {
        // Training goes forward → decode → loss on an autodiff device; gradients must reach
        // both the regression and the confidence outputs of the head.
        let d = Device::flex().autodiff();
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let m = crate::Detector::new(&cfg, &d);
        let x = Tensor::<4>::ones([1, 3, 64, 64], &d);
        let dec = decode(&m.forward(x), &cfg);
        let loss = dec.boxes.sum() + dec.obj_logits.sum();
        let grads = loss.backward();
        let crate::head::LevelHead::Double(h) = &m.head.levels[0] else {
            panic!("anchor-free head expected");
        };
        for (what, w) in [("reg", &h.reg_pred.weight), ("obj", &h.obj_pred.weight)] {
            let g = w.grad(&grads).expect("a gradient");
            let total = g.abs().sum().into_scalar::<f32>();
            assert!(total.is_finite() && total > 0.0, "{what}: {total}");
        }
    }
}

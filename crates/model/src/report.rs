//! The model report of the paper's Table 3, counted analytically from the built network:
//! every conv layer's shape is read from its weight tensor and its output size followed
//! through the layout, so the figures describe the network that runs, not a table.
//!
//! GFLOPs convention: `conv_gflops` = 2 × multiply-adds of the conv layers. `gflops` adds
//! BatchNorm as thop counts it for YOLOv5's `model.info()` (4 multiply-adds per output
//! element, so 8 FLOPs); the reference figures (YOLOv5-s 6.74 at 416, …) follow that
//! convention, which is the whole ~1.3 % gap between them and the conv-only count.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;

use std::convert::Infallible;

use crate::blocks::{Bottleneck, C3, Conv, DwConv, Modules, Spatial, Sppf};
use crate::detector::Detector;
use crate::head::{Head, LevelHead};
use crate::wiring::{self, Blocks};

/// FLOPs per output element of a BatchNorm in thop's count (2 × 2 multiply-adds when affine).
pub const BN_FLOPS_PER_ELEMENT: u64 = 8;

/// One conv layer of the network.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerStat {
    /// Module path, e.g. `backbone.stages.0.down.conv`.
    pub name: String,
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub groups: usize,
    /// Output height and width.
    pub out_hw: [usize; 2],
    /// Weights + bias + BatchNorm γ and β.
    pub params: usize,
    pub macs: u64,
    /// Followed by a BatchNorm (and SiLU).
    pub batch_norm: bool,
}

/// Totals over the network at one input size.
#[derive(Clone, Debug)]
pub struct ModelReport {
    pub name: String,
    pub input_hw: [usize; 2],
    pub layers: Vec<LayerStat>,
    /// Trainable parameters (running statistics excluded).
    pub params: usize,
    /// 2 × conv multiply-adds, in 1e9.
    pub conv_gflops: f64,
    /// `conv_gflops` plus BatchNorm as thop counts it, in 1e9 (the reference convention).
    pub gflops: f64,
    /// Size of the f32 tensors of a weights file (running statistics included), bytes.
    pub weights_bytes: usize,
}

impl ModelReport {
    pub fn conv_layers(&self) -> usize {
        self.layers.len()
    }

    pub fn weights_mib(&self) -> f64 {
        self.weights_bytes as f64 / (1024.0 * 1024.0)
    }

    /// A table like the paper's Table 3 row plus a per-layer listing when `per_layer`.
    pub fn render(&self, per_layer: bool) -> String {
        let mut s = String::new();
        if per_layer {
            s.push_str(&format!(
                "{:<44} {:>5} {:>5} {:>2} {:>2} {:>5} {:>9} {:>10} {:>9}\n",
                "layer", "c_in", "c_out", "k", "s", "groups", "out", "params", "MMACs"
            ));
            for l in &self.layers {
                s.push_str(&format!(
                    "{:<44} {:>5} {:>5} {:>2} {:>2} {:>5} {:>9} {:>10} {:>9.2}\n",
                    l.name,
                    l.c_in,
                    l.c_out,
                    l.kernel,
                    l.stride,
                    l.groups,
                    format!("{}x{}", l.out_hw[0], l.out_hw[1]),
                    l.params,
                    l.macs as f64 / 1e6
                ));
            }
        }
        s.push_str(&format!(
            "{}: {} conv layers, {} parameters, {:.2} GFLOPs at {}x{} ({:.2} conv only), \
             weights {:.2} MiB\n",
            self.name,
            self.conv_layers(),
            self.params,
            self.gflops,
            self.input_hw[0],
            self.input_hw[1],
            self.conv_gflops,
            self.weights_mib()
        ));
        s
    }
}

/// Counts `model` at an input of `hw` pixels (multiples of 32).
pub fn profile(model: &Detector, hw: [usize; 2]) -> ModelReport {
    let mut p = Profiler::default();
    let Ok(features) = wiring::backbone(&mut p, &model.backbone.parts(), hw);
    let Ok(outs) = wiring::neck(&mut p, &model.neck.parts(), features);
    p.head("head", &model.head, outs);
    let params = p.layers.iter().map(|l| l.params).sum();
    let macs: u64 = p.layers.iter().map(|l| l.macs).sum();
    let bn_elems: u64 = p
        .layers
        .iter()
        .filter(|l| l.batch_norm)
        .map(|l| (l.c_out * l.out_hw[0] * l.out_hw[1]) as u64)
        .sum();
    let bn_channels: usize = p
        .layers
        .iter()
        .filter(|l| l.batch_norm)
        .map(|l| l.c_out)
        .sum();
    let conv_flops = 2 * macs;
    ModelReport {
        name: model.config.name(),
        input_hw: hw,
        layers: p.layers,
        params,
        conv_gflops: conv_flops as f64 / 1e9,
        gflops: (conv_flops + BN_FLOPS_PER_ELEMENT * bn_elems) as f64 / 1e9,
        // f32 parameters plus each BatchNorm's running mean and variance.
        weights_bytes: 4 * (params + 2 * bn_channels),
    }
}

#[derive(Default)]
struct Profiler {
    layers: Vec<LayerStat>,
}

impl Profiler {
    fn conv2d(&mut self, name: String, c: &Conv2d, hw: [usize; 2], bn: bool) -> [usize; 2] {
        // The lazy shape: counting must not allocate (an L model has 46 M parameters).
        let [c_out, c_in_g, kh, kw] = c.weight.lazy_shape().dims::<4>();
        let (t, l, b, r) = match c.padding {
            PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
            // The networks only use explicit padding; `Same` keeps the size at stride 1.
            PaddingConfig2d::Same => ((kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2),
            PaddingConfig2d::Valid => (0, 0, 0, 0),
        };
        let out_hw = [
            (hw[0] + t + b - kh) / c.stride[0] + 1,
            (hw[1] + l + r - kw) / c.stride[1] + 1,
        ];
        let weights = c_out * c_in_g * kh * kw;
        let bias = if c.bias.is_some() { c_out } else { 0 };
        let bn_params = if bn { 2 * c_out } else { 0 };
        self.layers.push(LayerStat {
            name,
            c_in: c_in_g * c.groups,
            c_out,
            kernel: kh,
            stride: c.stride[0],
            groups: c.groups,
            out_hw,
            params: weights + bias + bn_params,
            macs: (weights * out_hw[0] * out_hw[1]) as u64,
            batch_norm: bn,
        });
        out_hw
    }

    fn conv(&mut self, name: &str, c: &Conv, hw: [usize; 2]) -> [usize; 2] {
        self.conv2d(format!("{name}.conv"), &c.conv, hw, true)
    }

    fn dwconv(&mut self, name: &str, c: &DwConv, hw: [usize; 2]) -> [usize; 2] {
        let hw = self.conv(&format!("{name}.dconv"), &c.dconv, hw);
        self.conv(&format!("{name}.pconv"), &c.pconv, hw)
    }

    fn spatial(&mut self, name: &str, s: &Spatial, hw: [usize; 2]) -> [usize; 2] {
        match s {
            Spatial::Dense(c) => self.conv(name, c, hw),
            Spatial::Depthwise(c) => self.dwconv(name, c, hw),
        }
    }

    fn bottleneck(&mut self, name: &str, b: &Bottleneck, hw: [usize; 2]) -> [usize; 2] {
        let hw = self.conv(&format!("{name}.cv1"), &b.cv1, hw);
        self.spatial(&format!("{name}.cv2"), &b.cv2, hw)
    }

    fn c3(&mut self, name: &str, c: &C3, hw: [usize; 2]) -> [usize; 2] {
        let mut a = self.conv(&format!("{name}.cv1"), &c.cv1, hw);
        for (i, b) in c.m.iter().enumerate() {
            a = self.bottleneck(&format!("{name}.m.{i}"), b, a);
        }
        self.conv(&format!("{name}.cv2"), &c.cv2, hw);
        self.conv(&format!("{name}.cv3"), &c.cv3, a)
    }

    fn sppf(&mut self, name: &str, s: &Sppf, hw: [usize; 2]) -> [usize; 2] {
        // The max-pools keep the size (stride 1, padding 2) and have no multiply-adds.
        let hw = self.conv(&format!("{name}.cv1"), &s.cv1, hw);
        self.conv(&format!("{name}.cv2"), &s.cv2, hw)
    }

    fn head(&mut self, name: &str, h: &Head, ins: [[usize; 2]; 3]) {
        for (i, (lh, hw)) in h.levels.iter().zip(ins).enumerate() {
            let name = format!("{name}.levels.{i}");
            match lh {
                LevelHead::Coupled(c) => {
                    self.conv2d(format!("{name}.pred"), c, hw, false);
                }
                LevelHead::Double(d) => {
                    let hw = self.conv(&format!("{name}.stem"), &d.stem, hw);
                    for (branch, convs, pred) in [
                        ("reg", &d.reg_convs, &d.reg_pred),
                        ("obj", &d.obj_convs, &d.obj_pred),
                    ] {
                        let mut y = hw;
                        for (j, c) in convs.iter().enumerate() {
                            y = self.spatial(&format!("{name}.{branch}_convs.{j}"), c, y);
                        }
                        self.conv2d(format!("{name}.{branch}_pred"), pred, y, false);
                    }
                }
            }
        }
    }
}

/// The count walks the wiring with output sizes for activations: the channels come from the
/// weights, and a join takes the size of its finer input.
impl Blocks<Modules> for Profiler {
    type X = [usize; 2];
    type E = Infallible;

    fn conv(&mut self, name: &str, l: &Conv, hw: [usize; 2]) -> Result<[usize; 2], Infallible> {
        Ok(Profiler::conv(self, name, l, hw))
    }
    fn spatial(
        &mut self,
        name: &str,
        l: &Spatial,
        hw: [usize; 2],
    ) -> Result<[usize; 2], Infallible> {
        Ok(Profiler::spatial(self, name, l, hw))
    }
    fn c3(&mut self, name: &str, l: &C3, hw: [usize; 2]) -> Result<[usize; 2], Infallible> {
        Ok(Profiler::c3(self, name, l, hw))
    }
    fn sppf(&mut self, name: &str, l: &Sppf, hw: [usize; 2]) -> Result<[usize; 2], Infallible> {
        Ok(Profiler::sppf(self, name, l, hw))
    }
    fn up_cat(
        &mut self,
        _: &str,
        coarse: [usize; 2],
        fine: [usize; 2],
    ) -> Result<[usize; 2], Infallible> {
        debug_assert_eq!(coarse.map(|s| 2 * s), fine);
        Ok(fine)
    }
    fn cat(&mut self, _: &str, a: [usize; 2], b: [usize; 2]) -> Result<[usize; 2], Infallible> {
        debug_assert_eq!(a, b);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, Scale, Variant};
    use burn::module::Module;
    use burn::prelude::Device;

    fn report(cfg: &ModelConfig) -> (ModelReport, usize) {
        let m = Detector::new(cfg, &Device::flex());
        (profile(&m, [416, 416]), m.num_params())
    }

    /// Parameter counts (nc = 1, BN γ and β counted, running statistics not) from an
    /// independent implementation of the same layout.
    #[test]
    fn parameter_counts_match_the_reference_exactly() {
        let cases = [
            (ModelConfig::new(Variant::Yolov5, Scale::S), 7_022_326),
            (ModelConfig::new(Variant::YoloBasin, Scale::S), 8_896_079),
            (
                ModelConfig::new(Variant::LightYoloBasin, Scale::S),
                6_526_287,
            ),
            (
                ModelConfig::new(Variant::LightYoloBasin, Scale::N),
                1_642_159,
            ),
        ];
        for (cfg, want) in cases {
            let (r, burn_count) = report(&cfg);
            assert_eq!(r.params, want, "{}", cfg.name());
            // burn's `num_params` also visits the BN running mean and variance.
            assert_eq!(
                burn_count * 4,
                r.weights_bytes,
                "burn's count for {}",
                cfg.name()
            );
        }
    }

    /// YOLOv5-s with 80 classes is YOLOv5's published 7,235,389; with one class its Detect
    /// convs shrink from 255 to 18 outputs: 7,235,389 − 896·237 − 3·237 = 7,022,326.
    #[test]
    fn yolov5_s_agrees_with_the_published_count() {
        let (r, _) = report(&ModelConfig::new(Variant::Yolov5, Scale::S));
        assert_eq!(r.params, 7_235_389 - 896 * 237 - 3 * 237);
    }

    #[test]
    fn gflops_within_one_percent_of_the_reference() {
        let cases = [
            (Variant::Yolov5, 6.74, 6_656_079_872u64),
            (Variant::YoloBasin, 11.08, 10_980_446_464),
            (Variant::LightYoloBasin, 8.46, 8_351_898_880),
        ];
        for (v, reference, conv_flops) in cases {
            let (r, _) = report(&ModelConfig::new(v, Scale::S));
            let rel = (r.gflops - reference).abs() / reference;
            assert!(rel < 0.01, "{v}: {} vs {reference} ({rel})", r.gflops);
            // Conv-only FLOPs, exact, from an independent per-layer count.
            assert_eq!(
                (r.conv_gflops * 1e9).round() as u64,
                conv_flops,
                "{v} conv-only"
            );
        }
    }

    #[test]
    fn depthwise_neck_and_sizes_scale_as_expected() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N);
        let m = Detector::new(&cfg, &Device::flex());
        let r416 = profile(&m, [416, 416]);
        let r832 = profile(&m, [832, 832]);
        // Every conv's MACs scale with the output area: 4× the pixels, 4× the FLOPs.
        assert!((r832.conv_gflops / r416.conv_gflops - 4.0).abs() < 1e-9);
        let dn = Detector::new(&cfg.with_depthwise_neck(true), &Device::flex());
        let rdn = profile(&dn, [416, 416]);
        assert_eq!(rdn.weights_bytes, 4 * dn.num_params());
        assert!(rdn.params < r416.params && rdn.gflops < r416.gflops);
    }

    #[test]
    fn weights_size_counts_running_statistics() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &Device::flex());
        let r = profile(&m, [64, 64]);
        assert_eq!(r.weights_bytes, crate::weights::tensor_bytes(&m));
        assert!(r.render(true).contains("backbone.stem.conv"));
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`…); `None` off Linux.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Resets the peak resident set size (`VmHWM`) to the current one, so a following peak
/// belongs to what runs next; false where the kernel does not allow it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident memory that `f` adds over what the process held before it, KiB:
/// VmHWM after − VmRSS before (the peak is reset first where the kernel allows, else an
/// earlier higher peak hides this one and the figure is a lower bound).
pub fn peak_memory_of<T>(f: impl FnOnce() -> T) -> (T, Option<u64>) {
    reset_peak_rss();
    let before = proc_status_kib("VmRSS");
    let out = f();
    let peak = proc_status_kib("VmHWM");
    let delta = match (before, peak) {
        (Some(b), Some(p)) => Some(p.saturating_sub(b)),
        _ => None,
    };
    (out, delta)
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_touched_allocation_shows_in_the_peak() {
        let (_, kib) = peak_memory_of(|| {
            let v = vec![1u8; 64 << 20];
            std::hint::black_box(v.iter().map(|&b| b as u64).sum::<u64>())
        });
        let kib = kib.expect("linux has /proc/self/status");
        // 64 MiB touched: at least most of it must be seen (other threads may add a bit).
        assert!(kib >= 48 << 10, "{kib} KiB");
    }
}

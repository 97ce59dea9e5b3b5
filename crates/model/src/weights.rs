//! Weights files: safetensors with a JSON header in the metadata (variant, scale, input
//! kind, tile size, anchors, training manifest, metrics). Loading checks every tensor's name,
//! dtype and shape against the network the header describes before any value is applied,
//! and names what does not fit.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::config::ModelConfig;
use crate::detector::Detector;

/// Key of our header in the safetensors `__metadata__` map.
pub const METADATA_KEY: &str = "yolo_basin";
/// Value of [`WeightsHeader::format`].
pub const WEIGHTS_FORMAT: &str = "yolo-basin-weights";
/// Current header version.
pub const WEIGHTS_VERSION: u32 = 1;
/// A safetensors header larger than this is not ours (and not worth reading).
const MAX_HEADER_BYTES: u64 = 64 << 20;

/// What a weights file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightsHeader {
    pub format: String,
    pub version: u32,
    /// The network (variant, scale, input kind, tile, depthwise neck, anchors).
    pub config: ModelConfig,
    /// The training run's manifest (data set, seed, schedule…), free-form.
    #[serde(default)]
    pub training: serde_json::Value,
    /// Evaluation results (mAP…), free-form.
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// The score threshold chosen on simulated validation scenes (`yolo-basin calibrate`):
    /// `detect` uses it unless given `--score`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// The second look at each box (`detect_core::rescore`), fitted on simulated training
    /// scenes by `yolo-basin calibrate --rescore-scenes N`; its probability replaces the
    /// network's score, and `calibration`'s threshold then applies to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescorer: Option<detect_core::rescore::Rescorer>,
}

/// How a model's default score threshold was chosen: the maximum F1 at IoU 0.5 on
/// simulated validation scenes (never the benchmark's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub score_threshold: f64,
    /// At that threshold, over the validation scenes.
    pub f1: f64,
    pub recall: f64,
    pub precision: f64,
    pub iou: f64,
    /// The validation scenes: how many, their side (px) and the synth seed.
    pub scenes: usize,
    pub scene_size: usize,
    pub seed: u64,
}

impl WeightsHeader {
    pub fn new(config: &ModelConfig) -> Self {
        Self {
            format: WEIGHTS_FORMAT.to_string(),
            version: WEIGHTS_VERSION,
            config: config.clone(),
            training: serde_json::Value::Null,
            metrics: serde_json::Value::Null,
            calibration: None,
            rescorer: None,
        }
    }

    pub fn with_training(mut self, manifest: serde_json::Value) -> Self {
        self.training = manifest;
        self
    }

    pub fn with_metrics(mut self, metrics: serde_json::Value) -> Self {
        self.metrics = metrics;
        self
    }
}

/// Writes `model` with `header` (atomically: a scratch file renamed into place). The
/// header's config is taken from the model, which is what the tensors fit; YOLOv5 anchors
/// are always written out explicitly.
pub fn save_weights(
    path: &Path,
    model: &Detector,
    header: &WeightsHeader,
) -> Result<(), ModelError> {
    let mut header = header.clone();
    header.config = model.config.clone();
    if !header.config.variant.is_anchor_free() {
        header.config.anchors = Some(header.config.anchors());
    }
    let json = serde_json::to_string(&header).map_err(|e| ModelError::Save {
        path: path.to_path_buf(),
        detail: format!("header to JSON: {e}"),
    })?;
    let mut store = SafetensorsStore::from_file(path)
        .overwrite(true)
        .metadata(METADATA_KEY, json);
    model.save_into(&mut store).map_err(|e| ModelError::Save {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Reads only the header of a weights file (cheap: no tensor is read).
pub fn read_header(path: &Path) -> Result<WeightsHeader, ModelError> {
    Ok(read_container_header(path)?.header)
}

/// Builds the network the header describes on `device` and loads the tensors into it.
pub fn load_weights(path: &Path, device: &Device) -> Result<(Detector, WeightsHeader), ModelError> {
    let container = read_container_header(path)?;
    let header = container.header;
    let mismatch = |detail: String| ModelError::Mismatch {
        path: path.to_path_buf(),
        model: header.config.name(),
        detail,
    };
    let mut model =
        Detector::try_new(&header.config, device).map_err(|e| mismatch(e.to_string()))?;
    check_tensors(&model, &container.tensors).map_err(mismatch)?;
    let mut store = SafetensorsStore::from_file(path);
    // Names and shapes were checked above: what the loader still refuses is a damaged file
    // (cut short, bad offsets), not another network.
    model
        .load_from(&mut store)
        .map_err(|e| ModelError::Format {
            path: path.to_path_buf(),
            detail: format!("the tensors cannot be read (damaged or cut short?): {e}"),
        })?;
    Ok((model, header))
}

/// Name → (dtype, shape) of the tensors in a file.
type TensorTable = BTreeMap<String, (String, Vec<usize>)>;

struct ContainerHeader {
    header: WeightsHeader,
    tensors: TensorTable,
}

/// Parses the safetensors header (8-byte little-endian length, then JSON) ourselves, so a
/// wrong file is reported as such and the tensor table can be checked before loading.
fn read_container_header(path: &Path) -> Result<ContainerHeader, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let format = |detail: String| ModelError::Format {
        path: path.to_path_buf(),
        detail,
    };
    let mut f = File::open(path).map_err(io)?;
    let file_len = f.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|_| {
        format(format!(
            "{file_len} bytes is too short for a safetensors file"
        ))
    })?;
    let n = u64::from_le_bytes(len);
    if n > MAX_HEADER_BYTES || n + 8 > file_len {
        return Err(format(format!(
            "header length {n} does not fit a {file_len}-byte file (not safetensors?)"
        )));
    }
    let mut buf = vec![0u8; n as usize];
    f.read_exact(&mut buf).map_err(io)?;
    let json: serde_json::Value = serde_json::from_slice(&buf)
        .map_err(|e| format(format!("safetensors header is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| format("safetensors header is not a JSON object".into()))?;
    let header = parse_metadata(obj.get("__metadata__")).map_err(format)?;
    let mut tensors = TensorTable::new();
    for (name, entry) in obj.iter().filter(|(k, _)| *k != "__metadata__") {
        let dtype = entry["dtype"].as_str().unwrap_or("?").to_string();
        let shape = entry["shape"]
            .as_array()
            .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
            .ok_or_else(|| format(format!("tensor `{name}` has no valid shape")))?;
        tensors.insert(name.clone(), (dtype, shape));
    }
    Ok(ContainerHeader { header, tensors })
}

fn parse_metadata(meta: Option<&serde_json::Value>) -> Result<WeightsHeader, String> {
    let text = meta
        .and_then(|m| m.get(METADATA_KEY))
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            format!(
                "no `{METADATA_KEY}` entry in the safetensors metadata (not saved by yolo-basin)"
            )
        })?;
    let header: WeightsHeader =
        serde_json::from_str(text).map_err(|e| format!("`{METADATA_KEY}` metadata: {e}"))?;
    if header.format != WEIGHTS_FORMAT {
        return Err(format!(
            "header format `{}`, expected `{WEIGHTS_FORMAT}`",
            header.format
        ));
    }
    if header.version > WEIGHTS_VERSION {
        return Err(format!(
            "header version {} is newer than this program's {WEIGHTS_VERSION}",
            header.version
        ));
    }
    // Every reader of a header (detect sizes its batches by the tile) gets a valid config.
    header.config.validate().map_err(|e| e.to_string())?;
    Ok(header)
}

/// Compares the file's tensors with those `model` expects; lists every difference.
fn check_tensors(model: &Detector, file: &TensorTable) -> Result<(), String> {
    let expected: TensorTable = model
        .collect(None, None, false)
        .into_iter()
        .map(|t| (t.name.clone(), ("F32".to_string(), t.shape.to_vec())))
        .collect();
    let mut problems = Vec::new();
    for (name, (_, shape)) in &expected {
        match file.get(name) {
            None => problems.push(format!(
                "tensor `{name}` is missing (expected shape {shape:?})"
            )),
            Some((_, got)) if got != shape => problems.push(format!(
                "tensor `{name}` has shape {got:?}, expected {shape:?}"
            )),
            Some((dtype, _)) if dtype != "F32" => {
                problems.push(format!("tensor `{name}` has dtype {dtype}, expected F32"))
            }
            Some(_) => {}
        }
    }
    for name in file.keys().filter(|k| !expected.contains_key(*k)) {
        problems.push(format!("unexpected tensor `{name}`"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let n = problems.len();
    problems.truncate(10);
    let more = if n > 10 {
        format!("; and {} more", n - 10)
    } else {
        String::new()
    };
    Err(format!("{}{more}", problems.join("; ")))
}

/// Weights file size in bytes for `model` (f32 tensors, header excluded).
pub fn tensor_bytes(model: &Detector) -> usize {
    model
        .collect(None, None, false)
        .iter()
        .map(|t| t.shape.iter().product::<usize>() * 4)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InputKind, Scale, Variant};
    use crate::input::check_input_kind;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("model-weights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join(name)
    }

    fn outputs(m: &Detector) -> Vec<Vec<f32>> {
        let d = Device::flex();
        let x = Tensor::<4>::random(
            [1, 3, 64, 64],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &d,
        );
        m.valid()
            .forward(x)
            .levels
            .into_iter()
            .map(|l| l.raw.into_data().try_into_vec::<f32>().expect("f32"))
            .collect()
    }

    #[test]
    fn round_trip_gives_identical_outputs_and_header() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N)
            .with_tile(64)
            .with_input(InputKind::Rgb);
        let m = Detector::new(&cfg, &Device::flex());
        let header = WeightsHeader::new(&cfg)
            .with_training(serde_json::json!({"seed": 7}))
            .with_metrics(serde_json::json!({"mAP": 0.5}));
        let path = scratch("round.safetensors");
        save_weights(&path, &m, &header).expect("save");
        let (back, h) = load_weights(&path, &Device::flex()).expect("load");
        assert_eq!(h, header);
        assert_eq!(read_header(&path).expect("header"), header);
        assert_eq!(back.config, cfg);
        // Exactly equal outputs on the same input: every tensor was loaded.
        let (a, b) = (m.valid(), back.valid());
        let d = Device::flex();
        let x = Tensor::<4>::random(
            [1, 3, 64, 64],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &d,
        );
        let ya = a.forward(x.clone());
        let yb = b.forward(x);
        for (la, lb) in ya.levels.into_iter().zip(yb.levels) {
            assert_eq!(
                la.raw.into_data().try_into_vec::<f32>().expect("f32"),
                lb.raw.into_data().try_into_vec::<f32>().expect("f32")
            );
        }
        // A differently initialised network really does differ (the check has teeth).
        let other = Detector::new(&cfg, &Device::flex());
        assert_ne!(outputs(&other)[0], outputs(&back)[0]);
    }

    #[test]
    fn yolov5_anchors_are_written_out() {
        let cfg = ModelConfig::new(Variant::Yolov5, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &Device::flex());
        let path = scratch("v5.safetensors");
        save_weights(&path, &m, &WeightsHeader::new(&cfg)).expect("save");
        let h = read_header(&path).expect("header");
        assert_eq!(h.config.anchors, Some(crate::config::DEFAULT_ANCHORS));
    }

    /// Rewrites the safetensors header of `src` into `dst` with `edit` applied to its JSON.
    fn rewrite_header(src: &Path, dst: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
        let bytes = std::fs::read(src).expect("read");
        let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
        let mut json: serde_json::Value =
            serde_json::from_slice(&bytes[8..8 + n]).expect("header json");
        edit(&mut json);
        let text = serde_json::to_vec(&json).expect("json");
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&text);
        out.extend_from_slice(&bytes[8 + n..]);
        std::fs::write(dst, out).expect("write");
    }

    #[test]
    fn reshaped_tensor_is_named_in_the_error() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &Device::flex());
        let good = scratch("good.safetensors");
        save_weights(&good, &m, &WeightsHeader::new(&cfg)).expect("save");
        // Same bytes, another shape: [16, 3, 6, 6] → [16, 3, 36, 1].
        let bad = scratch("reshaped.safetensors");
        let name = "backbone.stem.conv.weight";
        rewrite_header(&good, &bad, |j| {
            j[name]["shape"] = serde_json::json!([16, 3, 36, 1])
        });
        let err = load_weights(&bad, &Device::flex()).expect_err("reshaped tensor");
        let msg = err.to_string();
        assert!(msg.contains(name), "{msg}");
        assert!(
            msg.contains("[16, 3, 36, 1]") && msg.contains("[16, 3, 6, 6]"),
            "{msg}"
        );
        assert!(msg.contains("reshaped.safetensors"), "{msg}");
    }

    /// A file cut short in its tensor data is called damaged, not "another network".
    #[test]
    fn a_cut_file_is_damaged_not_a_mismatch() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &Device::flex());
        let good = scratch("cut-good.safetensors");
        save_weights(&good, &m, &WeightsHeader::new(&cfg)).expect("save");
        let bytes = std::fs::read(&good).expect("read");
        let cut = scratch("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 1000]).expect("write");
        let msg = load_weights(&cut, &Device::flex())
            .expect_err("cut short")
            .to_string();
        assert!(
            msg.contains("damaged") && !msg.contains("do not fit"),
            "{msg}"
        );
    }

    /// A header naming a 2^33-pixel tile once overflowed the sizes detect computes from it.
    #[test]
    fn header_with_an_absurd_tile_is_refused_on_reading() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &Device::flex());
        let good = scratch("tile-good.safetensors");
        save_weights(&good, &m, &WeightsHeader::new(&cfg)).expect("save");
        let bad = scratch("tile-huge.safetensors");
        let lie = WeightsHeader::new(&cfg.with_tile(1 << 33));
        rewrite_header(&good, &bad, |j| {
            j["__metadata__"][METADATA_KEY] =
                serde_json::Value::String(serde_json::to_string(&lie).expect("json"));
        });
        let msg = read_header(&bad).expect_err("huge tile").to_string();
        assert!(msg.contains("tile size 8589934592"), "{msg}");
        assert!(load_weights(&bad, &Device::flex()).is_err());
    }

    #[test]
    fn header_of_another_network_is_refused() {
        // Tensors of light-yolo-basin-n with a header claiming yolo-basin-n: the dense
        // stage convs are missing and the depthwise ones unexpected.
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N).with_tile(64);
        let m = Detector::new(&cfg, &Device::flex());
        let good = scratch("light.safetensors");
        save_weights(&good, &m, &WeightsHeader::new(&cfg)).expect("save");
        let bad = scratch("claims-dense.safetensors");
        let lie = WeightsHeader::new(&ModelConfig {
            variant: Variant::YoloBasin,
            ..cfg
        });
        rewrite_header(&good, &bad, |j| {
            j["__metadata__"][METADATA_KEY] =
                serde_json::Value::String(serde_json::to_string(&lie).expect("json"));
        });
        let msg = load_weights(&bad, &Device::flex())
            .expect_err("wrong network")
            .to_string();
        assert!(
            msg.contains("yolo-basin-n") && msg.contains("missing"),
            "{msg}"
        );
    }

    #[test]
    fn files_that_are_not_ours_are_refused() {
        let junk = scratch("junk.safetensors");
        std::fs::write(&junk, b"hello").expect("write");
        let msg = load_weights(&junk, &Device::flex())
            .expect_err("junk")
            .to_string();
        assert!(
            msg.contains("junk.safetensors") && msg.contains("too short"),
            "{msg}"
        );
        let missing = scratch("absent.safetensors");
        assert!(load_weights(&missing, &Device::flex()).is_err());
    }

    #[test]
    fn input_kind_recorded_and_mismatch_refused() {
        let cfg = ModelConfig::new(Variant::LightYoloBasin, Scale::N)
            .with_tile(64)
            .with_input(InputKind::Rgb);
        let m = Detector::new(&cfg, &Device::flex());
        let path = scratch("rgb.safetensors");
        save_weights(&path, &m, &WeightsHeader::new(&cfg)).expect("save");
        let h = read_header(&path).expect("header");
        assert_eq!(h.config.input, InputKind::Rgb);
        assert!(check_input_kind(h.config.input, InputKind::Rgb).is_ok());
        let msg = check_input_kind(h.config.input, InputKind::Phase)
            .expect_err("phase data into an RGB model")
            .to_string();
        assert!(msg.contains("rgb") && msg.contains("phase"), "{msg}");
    }
}

//! Checkpoints that let a run continue exactly: the model (with its parameter ids, which key
//! the optimiser state), the optimiser state, the EMA weights and the run's position.
//!
//! One file, written to a temporary name and renamed over the old one, so a run killed
//! while saving leaves the previous checkpoint intact. The random state needs no storing:
//! every draw is a function of (seed, step) (see `data::loader`).
//!
//! Layout: `YBCKPT01`, then four length-prefixed (u64 LE) sections: JSON metadata, model
//! record, optimiser record, EMA record (burnpack bytes).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"YBCKPT01";

/// What a checkpoint says about the run besides the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Steps completed.
    pub step: u64,
    /// EMA updates so far.
    pub ema_updates: u64,
    /// Best validation mAP so far (−1 before any evaluation).
    pub best_map: f64,
    /// Step of that best.
    pub best_step: u64,
    /// The run's configuration, as JSON (checked on resume).
    pub config: serde_json::Value,
}

/// A checkpoint in memory.
pub struct Checkpoint {
    pub meta: CheckpointMeta,
    pub model: ModuleRecord,
    pub optim: Bytes,
    pub ema: Option<ModuleRecord>,
}

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {msg}", path.display())]
    Format { path: PathBuf, msg: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format_err(path: &Path, msg: impl Into<String>) -> CheckpointError {
    CheckpointError::Format {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Serialises the parts of a run. `model` must be the training model (its parameter ids
/// key `optim`'s state).
pub fn save_checkpoint<M: Module>(
    path: &Path,
    meta: &CheckpointMeta,
    model: &M,
    optim: &ModuleOptimizer,
    ema: Option<&M>,
) -> Result<(), CheckpointError> {
    let rec_err =
        |what: &str, e: burn::store::RecordError| format_err(path, format!("{what}: {e}"));
    // valid() folds batch-norm's pending running-statistics update into the shared state.
    let _ = model.valid();
    let model_bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| rec_err("model", e))?;
    let optim_bytes = optim.into_bytes().map_err(|e| rec_err("optimiser", e))?;
    let ema_bytes = match ema {
        Some(m) => m
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| rec_err("EMA", e))?
            .to_vec(),
        None => Vec::new(),
    };
    let meta_bytes =
        serde_json::to_vec_pretty(meta).map_err(|e| format_err(path, e.to_string()))?;

    let tmp = path.with_extension("tmp");
    {
        let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = std::io::BufWriter::new(file);
        w.write_all(MAGIC).map_err(io_err(&tmp))?;
        for section in [
            &meta_bytes[..],
            &model_bytes[..],
            &optim_bytes[..],
            &ema_bytes[..],
        ] {
            w.write_all(&(section.len() as u64).to_le_bytes())
                .map_err(io_err(&tmp))?;
            w.write_all(section).map_err(io_err(&tmp))?;
        }
        let file = w.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Reads one length-prefixed section; `left` is what remains of the file, which bounds the
/// length a corrupt header may claim (the allocation follows the file, not the header).
fn read_section(
    path: &Path,
    r: &mut impl Read,
    name: &str,
    left: &mut u64,
) -> Result<Vec<u8>, CheckpointError> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)
        .map_err(|_| format_err(path, format!("truncated before the {name} section")))?;
    *left = left.saturating_sub(8);
    let claimed = u64::from_le_bytes(len);
    if claimed > *left {
        return Err(format_err(
            path,
            format!(
                "the {name} section claims {claimed} bytes but only {left} follow: the file is \
                 corrupt or cut short"
            ),
        ));
    }
    *left -= claimed;
    let len = usize::try_from(claimed)
        .map_err(|_| format_err(path, format!("the {name} section is too large")))?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(|_| {
        format_err(
            path,
            format!("the {name} section is cut short ({len} bytes expected)"),
        )
    })?;
    Ok(buf)
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut left = file.metadata().map_err(io_err(path))?.len();
    let mut r = std::io::BufReader::new(file);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(io_err(path))?;
    left = left.saturating_sub(8);
    if &magic != MAGIC {
        return Err(format_err(
            path,
            "not a yolo-basin training checkpoint (bad magic)",
        ));
    }
    let mut section = |name: &str| read_section(path, &mut r, name, &mut left);
    let meta = section("metadata")?;
    let meta: CheckpointMeta =
        serde_json::from_slice(&meta).map_err(|e| format_err(path, format!("metadata: {e}")))?;
    let record = |bytes: Vec<u8>, what: &str| {
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| format_err(path, format!("{what}: {e}")))
    };
    let model = record(section("model")?, "model")?;
    let optim = Bytes::from_bytes_vec(section("optimiser")?);
    let ema_bytes = section("EMA")?;
    let ema = if ema_bytes.is_empty() {
        None
    } else {
        Some(record(ema_bytes, "EMA")?)
    };
    Ok(Checkpoint {
        meta,
        model,
        optim,
        ema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::{Device, Tensor};

    fn weights(l: &Linear) -> Vec<f32> {
        l.weight.val().into_data().try_to_vec::<f32>().expect("f32")
    }

    fn step(model: Linear, optim: &mut ModuleOptimizer) -> Linear {
        let x = Tensor::<2>::ones([2, 3], &model.weight.val().device());
        let grads = GradientsParams::from_grads(model.forward(x).sum().backward(), &model);
        optim.step(1e-2, model, grads)
    }

    #[test]
    fn round_trip_continues_like_the_original() {
        let ad = Device::flex().autodiff();
        let mut model = LinearConfig::new(3, 2).init(&ad);
        let mut optim = AdamConfig::new().init();
        model = step(model, &mut optim);
        let dir = std::env::temp_dir().join(format!("train-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("last.ckpt");
        let meta = CheckpointMeta {
            step: 1,
            ema_updates: 0,
            best_map: -1.0,
            best_step: 0,
            config: serde_json::json!({"k": 1}),
        };
        save_checkpoint(&path, &meta, &model, &optim, Some(&model.valid())).expect("save");
        assert!(!path.with_extension("tmp").exists());

        let ck = load_checkpoint(&path).expect("load");
        assert_eq!(ck.meta, meta);
        assert!(ck.ema.is_some());
        // A fresh model (new parameter ids) takes the stored ids with the weights.
        let mut resumed = LinearConfig::new(3, 2).init(&ad).load_record(ck.model);
        let mut optim2 = AdamConfig::new()
            .init()
            .from_bytes(ck.optim)
            .expect("optimiser");
        assert_eq!(weights(&resumed), weights(&model));
        model = step(model, &mut optim);
        resumed = step(resumed, &mut optim2);
        assert_eq!(weights(&resumed), weights(&model));
    }

    #[test]
    fn garbage_is_refused() {
        let dir = std::env::temp_dir().join(format!("train-ckpt-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("bad.ckpt");
        std::fs::write(&path, b"YBCKPT01\x10\x00").expect("write");
        let err = load_checkpoint(&path).err().expect("truncated").to_string();
        assert!(
            err.contains("truncated") || err.contains("cut short"),
            "{err}"
        );
        std::fs::write(&path, b"hello world").expect("write");
        assert!(
            load_checkpoint(&path)
                .err()
                .expect("magic")
                .to_string()
                .contains("magic")
        );
        // A section length of 2^64 − 1 once made a capacity overflow (an abort): the length
        // is checked against what the file holds before anything is allocated.
        let mut corrupt = MAGIC.to_vec();
        corrupt.extend(u64::MAX.to_le_bytes());
        corrupt.extend(b"{}");
        std::fs::write(&path, &corrupt).expect("write");
        let err = load_checkpoint(&path).err().expect("corrupt").to_string();
        assert!(err.contains("claims") && err.contains("only 2"), "{err}");
    }
}

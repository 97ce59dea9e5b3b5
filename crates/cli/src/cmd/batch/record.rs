//! The completion record of one scene: written last, so its presence means "done".
//!
//! A batch killed mid-scene (a Slurm time limit, a pre-empted node) leaves outputs that may
//! be stale or missing; the record, written atomically after every output is in place,
//! lists each output with its size and says what produced them (weights digest, options,
//! the scene's size). A rerun skips a scene only when the record exists, matches the
//! current model and options, and every listed output is there at its recorded size — a
//! truncated or missing output, another model or other options mean the scene is redone.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The record's file name inside a scene's output folder.
pub const FILE: &str = "batch-done.json";
/// What the record's `format` field holds, so an unrelated JSON file is not taken for one.
pub const FORMAT: &str = "yolo-basin batch record 1";

/// What a scene's outputs were made with: the same model and options give the same outputs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MadeWith {
    /// The weights' path when the record was written (provenance only: a moved copy of the
    /// same weights has the same digest and does not redo the scene).
    pub weights: PathBuf,
    /// FNV-1a 64 of the weights file's bytes, in hex.
    pub weights_digest: String,
    /// Every option that changes the outputs (resolved: the score threshold actually used).
    pub options: Value,
}

impl MadeWith {
    fn same_as(&self, other: &MadeWith) -> bool {
        self.weights_digest == other.weights_digest && self.options == other.options
    }
}

/// One output file and its size.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Output {
    /// The file's name inside the scene folder (relative, so the results can be moved).
    pub file: String,
    pub bytes: u64,
}

/// A scene's georeferencing (GDAL transform, EPSG), kept so the merge can place its boxes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct SceneGeo {
    pub transform: [f64; 6],
    pub epsg: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Record {
    pub format: String,
    /// The scene as the batch listed it.
    pub scene: PathBuf,
    /// The scene file's size: a regenerated product of another size is searched again.
    pub scene_bytes: u64,
    pub made_with: MadeWith,
    /// The yolo-basin version that wrote it (provenance only).
    pub yolo_basin: String,
    pub basins: usize,
    pub seconds: f64,
    pub geo: Option<SceneGeo>,
    pub outputs: Vec<Output>,
}

/// What a scene folder holds.
#[derive(Debug)]
pub enum Check {
    /// Complete outputs of the same model and options.
    Complete(Box<Record>),
    /// No record: never run, or interrupted before finishing.
    Missing,
    /// A record that does not stand: why.
    Stale(String),
}

/// Checks the scene folder `dir` against what this run would make.
pub fn check(dir: &Path, want: &MadeWith, scene_bytes: u64) -> Check {
    let rec = match read(dir) {
        Ok(Some(r)) => r,
        Ok(None) => return Check::Missing,
        Err(e) => return Check::Stale(format!("{e:#}")),
    };
    if !rec.made_with.same_as(want) {
        return Check::Stale("made with another model or other options".into());
    }
    if rec.scene_bytes != scene_bytes {
        return Check::Stale(format!(
            "the scene is {scene_bytes} bytes now, {} when searched",
            rec.scene_bytes
        ));
    }
    if let Err(why) = intact(dir, &rec) {
        return Check::Stale(why);
    }
    Check::Complete(Box::new(rec))
}

/// Whether every output `rec` lists is in `dir` at its recorded size; if not, why.
pub fn intact(dir: &Path, rec: &Record) -> Result<(), String> {
    for o in &rec.outputs {
        let path = dir.join(&o.file);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == o.bytes => {}
            Ok(m) => {
                return Err(format!(
                    "{} is {} bytes, the record says {}",
                    path.display(),
                    m.len(),
                    o.bytes
                ));
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Ok(())
}

/// The record in `dir`, `None` when there is none.
pub fn read(dir: &Path) -> Result<Option<Record>> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let rec: Record = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a batch completion record", path.display()))?;
    if rec.format != FORMAT {
        anyhow::bail!(
            "{}: format {:?}, expected {FORMAT:?}",
            path.display(),
            rec.format
        );
    }
    Ok(Some(rec))
}

/// Writes `rec` into `dir`, atomically: the last step of a scene.
pub fn write(dir: &Path, rec: &Record) -> Result<()> {
    let text = serde_json::to_string_pretty(rec)?;
    crate::cmd::atomic_write(&dir.join(FILE), text.as_bytes())
}

/// Removes `dir`'s record before its outputs are rewritten, so a run killed half-way leaves
/// a folder that reads as unfinished rather than as done with a mix of old and new files.
pub fn remove(dir: &Path) -> Result<()> {
    let path = dir.join(FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `path` as an [`Output`] of the folder it lies in.
pub fn output_of(path: &Path) -> Result<Output> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("reading the size of {}", path.display()))?
        .len();
    let file = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    Ok(Output { file, bytes })
}

/// FNV-1a 64 of a file's bytes as 16 hex digits: a stable digest (std's hasher may change
/// between Rust releases) to tell one weights file from another; not a security measure.
pub fn digest(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hash = Fnv1a::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        match buf.get(..n) {
            Some([]) | None => break,
            Some(chunk) => hash.update(chunk),
        }
    }
    Ok(format!("{:016x}", hash.0))
}

/// The 64-bit Fowler–Noll–Vo 1a hash.
pub struct Fnv1a(pub u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn made_with(digest: &str, score: f64) -> MadeWith {
        MadeWith {
            weights: "m.safetensors".into(),
            weights_digest: digest.into(),
            options: json!({"score": score}),
        }
    }

    /// A scene folder with two outputs and its record.
    fn done_folder(dir: &Path) -> MadeWith {
        std::fs::write(dir.join("a.basins.csv"), "id,score\n1,0.5\n").unwrap();
        std::fs::write(dir.join("a.basins.geojson"), "{}").unwrap();
        let outputs = ["a.basins.csv", "a.basins.geojson"]
            .map(|f| output_of(&dir.join(f)).unwrap())
            .to_vec();
        let want = made_with("00ff", 0.35);
        let rec = Record {
            format: FORMAT.into(),
            scene: "a.tif".into(),
            scene_bytes: 1000,
            made_with: want.clone(),
            yolo_basin: "0.1.0".into(),
            basins: 1,
            seconds: 1.5,
            geo: None,
            outputs,
        };
        write(dir, &rec).unwrap();
        want
    }

    #[test]
    fn complete_until_an_output_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let want = done_folder(dir.path());
        let rec = match check(dir.path(), &want, 1000) {
            Check::Complete(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            rec.outputs[0].bytes, 15,
            "the CSV's size as written: 9 + 6 bytes"
        );
        assert_eq!(read(dir.path()).unwrap(), Some(*rec.clone()));
        // One byte short: the record no longer stands.
        std::fs::write(dir.path().join("a.basins.csv"), "id,score\n1,0.5").unwrap();
        assert!(
            matches!(check(dir.path(), &want, 1000), Check::Stale(m) if m.contains("14 bytes"))
        );
        std::fs::remove_file(dir.path().join("a.basins.geojson")).unwrap();
        assert!(matches!(check(dir.path(), &want, 1000), Check::Stale(_)));
    }

    #[test]
    fn another_model_options_or_scene_redo() {
        let dir = tempfile::tempdir().unwrap();
        let want = done_folder(dir.path());
        assert!(matches!(check(dir.path(), &want, 1000), Check::Complete(_)));
        let moved = MadeWith {
            weights: "elsewhere/m.safetensors".into(),
            ..want.clone()
        };
        assert!(
            matches!(check(dir.path(), &moved, 1000), Check::Complete(_)),
            "the same weights moved elsewhere"
        );
        assert!(matches!(
            check(dir.path(), &made_with("00fe", 0.35), 1000),
            Check::Stale(_)
        ));
        assert!(matches!(
            check(dir.path(), &made_with("00ff", 0.5), 1000),
            Check::Stale(_)
        ));
        assert!(matches!(check(dir.path(), &want, 999), Check::Stale(_)));
    }

    #[test]
    fn missing_removed_and_foreign_records() {
        let dir = tempfile::tempdir().unwrap();
        let want = made_with("00ff", 0.35);
        assert!(matches!(check(dir.path(), &want, 1), Check::Missing));
        done_folder(dir.path());
        remove(dir.path()).unwrap();
        assert!(matches!(check(dir.path(), &want, 1000), Check::Missing));
        remove(dir.path()).unwrap();
        std::fs::write(dir.path().join(FILE), "{\"format\": \"other\"}").unwrap();
        assert!(matches!(check(dir.path(), &want, 1000), Check::Stale(_)));
    }

    #[test]
    fn fnv1a_known_values() {
        // Published FNV-1a 64 test vectors: "" and "a".
        let mut h = Fnv1a::default();
        assert_eq!(h.0, 0xcbf29ce484222325);
        h.update(b"a");
        assert_eq!(h.0, 0xaf63dc4c8601ec8c);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w");
        std::fs::write(&p, "a").unwrap();
        assert_eq!(digest(&p).unwrap(), "af63dc4c8601ec8c");
    }
}

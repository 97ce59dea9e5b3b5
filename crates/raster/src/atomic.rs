//! Outputs written whole or not at all: bytes go to a hidden temporary file beside the
//! target (same folder, so the same file system) and are renamed onto it once complete. A
//! reader never sees half a file, an interrupted write leaves what was there, and a file
//! being read is not truncated by an output of the same name.

use std::path::{Path, PathBuf};

use crate::error::RasterError;

/// The temporary file of one output; removed when dropped uncommitted.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl Pending {
    pub fn new(path: &Path) -> Self {
        let name = path
            .file_name()
            .map_or("out".into(), |n| n.to_string_lossy().into_owned());
        Self {
            path: path.to_path_buf(),
            tmp: path.with_file_name(format!(".{name}.{}.tmp", std::process::id())),
            committed: false,
        }
    }

    /// Where to write the bytes.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Renames the finished temporary file onto the target.
    pub fn commit(&mut self) -> Result<(), RasterError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|e| RasterError::io(&self.path, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

//! Outputs written whole or not at all: bytes go to a hidden temporary file beside the
//! target (same folder, so the same file system) and are renamed onto it once complete. A
//! reader never sees half a file, an interrupted write leaves what was there, and a file
//! being read is not truncated by an output of the same name.

use std::path::{Path, PathBuf};

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
    pub fn commit(&mut self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

/// `std::fs::write`, atomically.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    let mut temp = Pending::new(path);
    std::fs::write(temp.tmp(), bytes)?;
    temp.commit()
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_whole_or_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write(&p, "one").unwrap();
        write(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        {
            let temp = Pending::new(&p);
            std::fs::write(temp.tmp(), "half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        assert!(write(&dir.path().join("no/such/folder.json"), "x").is_err());
    }
}

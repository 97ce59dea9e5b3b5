//! The per-shard manifest: one CSV row per scene searched, rewritten whole (temporary file
//! and rename) after each scene — at most once a second — so a job killed at any moment
//! leaves a valid file listing what it had finished a second before.
//!
//! `manifest-<I>-of-<N>.csv` (shard I of N), columns `scene, first_date, second_date,
//! status, seconds, basins, error`; dates ISO 8601 or empty when the file name names no
//! pair. CSV because it is what one opens to see which scenes failed (a spreadsheet,
//! `column -s, -t`, pandas); fields are quoted per RFC 4180 where needed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};

use super::shard::Shard;

pub const HEADER: [&str; 7] = [
    "scene",
    "first_date",
    "second_date",
    "status",
    "seconds",
    "basins",
    "error",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Searched in this run.
    Done,
    /// Complete outputs of the same model and options were there already.
    Skipped,
    Failed,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Done => "done",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        })
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "done" => Ok(Status::Done),
            "skipped" => Ok(Status::Skipped),
            "failed" => Ok(Status::Failed),
            _ => Err(format!("{s:?} is not a status (done, skipped, failed)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub scene: PathBuf,
    /// ISO dates, empty when unknown.
    pub dates: [String; 2],
    pub status: Status,
    pub seconds: f64,
    pub basins: usize,
    pub error: String,
}

/// The manifest's path for `shard` in `dir`.
pub fn path(dir: &Path, shard: Shard) -> PathBuf {
    dir.join(format!("manifest-{}-of-{}.csv", shard.index, shard.count))
}

/// The manifests in `dir` (any shard count), sorted by name.
pub fn find(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let p = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|n| n.starts_with("manifest-") && n.ends_with(".csv")) {
            found.push(p);
        }
    }
    found.sort();
    Ok(found)
}

/// The manifest as CSV text.
pub fn to_csv(rows: &[Row]) -> String {
    let mut s = HEADER.join(",");
    s.push('\n');
    for r in rows {
        let fields = [
            r.scene.to_string_lossy().into_owned(),
            r.dates[0].clone(),
            r.dates[1].clone(),
            r.status.to_string(),
            format!("{:.3}", r.seconds),
            r.basins.to_string(),
            r.error.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        s.push_str(&quoted.join(","));
        s.push('\n');
    }
    s
}

/// Writes the manifest whole (temporary file + rename).
pub fn write(path: &Path, rows: &[Row]) -> Result<()> {
    crate::cmd::atomic_write(path, to_csv(rows).as_bytes())
}

/// Reads a manifest written by [`write`].
pub fn read(path: &Path) -> Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("reading manifest {}", path.display()))
}

fn parse(text: &str) -> Result<Vec<Row>> {
    let records = split_records(text)?;
    let mut it = records.into_iter().enumerate();
    match it.next() {
        Some((_, h)) if h == HEADER => {}
        Some((_, h)) => bail!("header {h:?}, expected {HEADER:?}"),
        None => bail!("empty file, expected the header {HEADER:?}"),
    }
    it.map(|(i, rec)| row(&rec).with_context(|| format!("record {} (after the header)", i)))
        .collect()
}

fn row(rec: &[String]) -> Result<Row> {
    let [scene, first, second, status, seconds, basins, error] = rec else {
        bail!("{} fields, expected {}", rec.len(), HEADER.len());
    };
    Ok(Row {
        scene: scene.into(),
        dates: [first.clone(), second.clone()],
        status: status.parse().map_err(anyhow::Error::msg)?,
        seconds: seconds
            .parse()
            .with_context(|| format!("seconds {seconds:?}"))?,
        basins: basins
            .parse()
            .with_context(|| format!("basins {basins:?}"))?,
        error: error.clone(),
    })
}

/// RFC 4180 quoting where a field needs it.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// Splits RFC 4180 text into records of fields (quoted fields may hold commas, quotes
/// doubled, and line breaks).
fn split_records(text: &str) -> Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let (mut rec, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => rec.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                rec.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut rec));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        bail!("a quoted field is not closed before the end of the file");
    }
    if !field.is_empty() || !rec.is_empty() {
        rec.push(field);
        records.push(rec);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        vec![
            Row {
                scene: "a/20201230_20210111.geo.diff_pha.tif".into(),
                dates: ["2020-12-30".into(), "2021-01-11".into()],
                status: Status::Done,
                seconds: 2.5,
                basins: 3,
                error: String::new(),
            },
            Row {
                scene: "b, \"odd\".tif".into(),
                dates: [String::new(), String::new()],
                status: Status::Failed,
                seconds: 0.125,
                basins: 0,
                error: "opening scene b: line 1\nline 2, \"quoted\"".into(),
            },
        ]
    }

    #[test]
    fn csv_as_written_by_hand() {
        let text = to_csv(&rows());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "scene,first_date,second_date,status,seconds,basins,error"
        );
        assert_eq!(
            lines[1],
            "a/20201230_20210111.geo.diff_pha.tif,2020-12-30,2021-01-11,done,2.500,3,"
        );
        assert!(lines[2].starts_with("\"b, \"\"odd\"\".tif\",,,failed,0.125,0,\"opening"));
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), Shard { index: 2, count: 5 });
        assert!(p.ends_with("manifest-2-of-5.csv"));
        write(&p, &rows()).unwrap();
        assert_eq!(read(&p).unwrap(), rows());
        assert_eq!(find(dir.path()).unwrap(), vec![p]);
        write(&dir.path().join("manifest-0-of-1.csv"), &[]).unwrap();
        assert_eq!(
            read(&dir.path().join("manifest-0-of-1.csv")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn damaged_manifests_are_refused() {
        assert!(parse("").is_err());
        assert!(parse("scene,status\n").is_err());
        let head = HEADER.join(",");
        assert!(
            parse(&format!("{head}\na,,,done,1.0,x,\n")).is_err(),
            "basins x"
        );
        assert!(
            parse(&format!("{head}\na,,,lost,1.0,1,\n")).is_err(),
            "status"
        );
        assert!(
            parse(&format!("{head}\na,,,done,1.0,1\n")).is_err(),
            "6 fields"
        );
        assert!(
            parse(&format!("{head}\n\"a,,,done,1.0,1,\n")).is_err(),
            "open quote"
        );
    }
}

//! What every end-to-end test of the binary needs: the binary, scratch folders, running a
//! command that must succeed or must fail, and reading what it wrote. Each test file takes
//! only some of it, hence `allow(dead_code)`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `yolo-basin` binary Cargo built for these tests.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_yolo-basin"))
}

/// The binary, without the sharding environment a CI runner under Slurm or Kubernetes
/// might pass on (`batch` would read it; a test sets what it needs after this).
pub fn bin() -> Command {
    let mut cmd = Command::new(exe());
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "JOB_COMPLETION_INDEX",
        "JOB_COMPLETIONS",
    ] {
        cmd.env_remove(k);
    }
    cmd
}

/// A fresh scratch folder per test (removed first if a previous run left it), named after
/// the test file and the process so test binaries running at once never share one.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "yolo-basin-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Runs `cmd`, whatever its exit status.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

/// `train` options for a run of seconds on tiny tiles: it shows the command works end to
/// end, not that the model learns.
pub const TINY_TRAINING: [&str; 11] = [
    "--scale",
    "n",
    "--tile",
    "64",
    "--batch",
    "2",
    "--max-iter",
    "2",
    "--eval-every",
    "0",
    "--no-progress",
];

/// Runs `cmd`, which must succeed; its output.
pub fn run(cmd: &mut Command) -> Output {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "command failed: {cmd:?}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Simulates one scene of `size` × `size` px from `seed` and no tiles into `out`:
/// `out/scenes/scene_0.tif` and its truth `scene_0.geojson`; `extra` are more `synth` options.
pub fn synth_scene(out: &Path, size: usize, seed: u64, extra: &[&str]) {
    run(bin()
        .args(["synth", "--tiles", "0", "--scenes", "1", "--scene-size"])
        .arg(size.to_string())
        .arg("--seed")
        .arg(seed.to_string())
        .args(extra)
        .arg("--out")
        .arg(out));
}

/// Runs `cmd`, which must fail; its stderr.
pub fn fail(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(!out.status.success(), "command should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd`, which must be refused cleanly (an error exit, not a panic); its message.
pub fn refused(cmd: &mut Command) -> String {
    let out = output(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && out.status.code().is_some_and(|c| c != 101),
        "expected a clean refusal, got {:?}: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("json file")).expect("valid json")
}

/// The value of the statistic `name` in an `eval` JSON report.
pub fn stat(report: &Value, name: &str) -> f64 {
    report["stats"]
        .as_array()
        .expect("stats")
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["value"].as_f64())
        .expect("stat present")
}

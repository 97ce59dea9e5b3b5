//! `yolo-basin batch` and `merge` end to end on small simulated scenes named as LiCSAR
//! names pairs: shards add up to one process, failures are recorded and skipped past,
//! reruns skip what is complete and redo what is not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, output, run, scratch, synth_scene};

/// The bundled model, by absolute path (tests run in the crate's folder).
fn weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/light-yolo-basin-s.safetensors")
}

/// `n` scenes of one simulated area (the same seed: the same mines), pairs of growing span
/// named `<first>_<second>.geo.diff_pha.tif`; their paths.
fn scenes(dir: &Path, n: usize) -> Vec<PathBuf> {
    let pairs = [
        ("20210101", "20210113", 12),
        ("20210113", "20210206", 24),
        ("20210206", "20210314", 36),
    ];
    pairs
        .iter()
        .take(n)
        .map(|&(first, second, span)| {
            let out = dir.join(format!("synth-{span}"));
            synth_scene(&out, 512, 7, &["--span-days", &span.to_string()]);
            let scene = dir.join(format!("{first}_{second}.geo.diff_pha.tif"));
            std::fs::rename(out.join("scenes/scene_0.tif"), &scene).expect("move scene");
            scene
        })
        .collect()
}

fn batch(scenes: &[PathBuf], out: &Path) -> Command {
    let mut cmd = bin();
    cmd.arg("batch")
        .args(scenes)
        .arg("-o")
        .arg(out)
        .arg("--weights")
        .arg(weights());
    cmd
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The manifest's rows as (scene file name, status, error) after the header.
fn manifest(p: &Path) -> Vec<(String, String, String)> {
    read(p)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let name = Path::new(f[0])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, f[3].to_string(), f[6..].join(","))
        })
        .collect()
}

#[test]
fn two_shards_then_merge_equal_one_process() {
    let dir = scratch("shards");
    let s = scenes(&dir, 3);
    let (sharded, whole) = (dir.join("sharded"), dir.join("whole"));
    run(batch(&s, &sharded).args(["--shard", "0/2"]));
    // The second shard from the Slurm environment, as an array task would get it.
    let out = run(batch(&s, &sharded)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "2"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shard 1/2 (Slurm array)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run(&mut batch(&s, &whole));

    // Shard 0 takes the 1st and 3rd scene of the sorted list, shard 1 the 2nd.
    let m0 = manifest(&sharded.join("manifest-0-of-2.csv"));
    let m1 = manifest(&sharded.join("manifest-1-of-2.csv"));
    let names: Vec<&str> = m0.iter().chain(&m1).map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "20210101_20210113.geo.diff_pha.tif",
            "20210206_20210314.geo.diff_pha.tif",
            "20210113_20210206.geo.diff_pha.tif"
        ]
    );
    assert!(m0.iter().chain(&m1).all(|r| r.1 == "done"));
    assert_eq!(manifest(&whole.join("manifest-0-of-1.csv")).len(), 3);
    let dates = read(&sharded.join("manifest-0-of-2.csv"));
    assert!(dates.contains(",2021-01-01,2021-01-13,done,"), "{dates}");

    let merge = |results: &Path, name: &str| {
        let gpkg = dir.join(format!("{name}.gpkg"));
        let csv = dir.join(format!("{name}.basins.csv"));
        run(bin()
            .arg("merge")
            .arg(results)
            .arg("-o")
            .arg(&gpkg)
            .arg("--csv")
            .arg(&csv));
        let head = std::fs::read(&gpkg).expect("GeoPackage written");
        assert!(
            head.starts_with(b"SQLite format 3\0"),
            "{name}.gpkg is SQLite"
        );
        (read(&csv), read(&dir.join(format!("{name}.tracks.csv"))))
    };
    let (basins_a, tracks_a) = merge(&sharded, "sharded");
    let (basins_b, tracks_b) = merge(&whole, "whole");
    assert_eq!(basins_a, basins_b);
    assert_eq!(tracks_a, tracks_b);
    // Every basin the manifests count is in the merge.
    let counted: usize = read(&whole.join("manifest-0-of-1.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(counted > 0, "the model finds basins in these scenes");
    assert_eq!(basins_a.lines().count() - 1, counted);
    assert!(tracks_a.starts_with("track_id,first_date,second_date,"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_scene_fails_alone_and_reruns_skip_what_is_done() {
    let dir = scratch("rerun");
    let mut s = scenes(&dir, 1);
    let bad = dir.join("20210113_20210125.geo.diff_pha.tif");
    std::fs::write(&bad, b"II*\0 this is not a GeoTIFF").expect("corrupt scene");
    s.push(bad);
    let results = dir.join("results");
    let m = results.join("manifest-0-of-1.csv");

    let out = output(&mut batch(&s, &results));
    assert!(
        !out.status.success(),
        "a failed scene makes the exit status non-zero"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 of 2 scenes failed"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 done, 0 skipped, 1 failed of 2 scenes"),
        "{stdout}"
    );
    let rows = manifest(&m);
    assert_eq!((rows[0].1.as_str(), rows[1].1.as_str()), ("done", "failed"));
    assert!(
        rows[1].2.contains("20210113_20210125.geo.diff_pha.tif"),
        "{}",
        rows[1].2
    );
    let good = results.join("20210101_20210113.geo.diff_pha");
    assert!(good.join("batch-done.json").is_file());
    assert!(
        !results
            .join("20210113_20210125.geo.diff_pha/batch-done.json")
            .exists()
    );

    // Rerun: the good scene is skipped, the corrupt one fails again.
    let out = output(&mut batch(&s, &results));
    assert!(!out.status.success());
    let rows = manifest(&m);
    assert_eq!(
        (rows[0].1.as_str(), rows[1].1.as_str()),
        ("skipped", "failed")
    );

    // Without the corrupt scene, after truncating an output: the good scene is redone.
    let csv = good.join("20210101_20210113.geo.diff_pha.basins.csv");
    let text = read(&csv);
    std::fs::write(&csv, &text[..text.len() / 2]).expect("truncate");
    run(&mut batch(&s[..1], &results));
    assert_eq!(manifest(&m)[0].1, "done");
    assert_eq!(read(&csv), text, "redone whole");
    run(&mut batch(&s[..1], &results));
    assert_eq!(manifest(&m)[0].1, "skipped");
    // Other options: redone.
    run(batch(&s[..1], &results).args(["--score", "0.9"]));
    assert_eq!(manifest(&m)[0].1, "done");
    let _ = std::fs::remove_dir_all(&dir);
}

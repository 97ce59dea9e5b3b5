//! Every example a user reads is run: the `Examples:` of each subcommand's `--help` and the
//! `yolo-basin …` lines of the README's shell blocks.
//!
//! They run in order, as a user following them would, in one folder that holds a small
//! simulated scene under the names the examples use (LiCSAR, HyP3 and GAMMA products of one
//! pair), with the repository's `data/` and `models/` linked in. Some examples are sized for
//! real work (a 60,000-step training, ten 4,000² benchmark scenes); for those the test appends
//! options that make them small ([`scaled_down`]), which the command line lets override the
//! example's own (`args_override_self`). An example that names a file the kit does not make
//! fails here, so the examples stay runnable.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use raster::products::{Product, write_product};
use raster::{GeoInfo, GeoTransform};

use common::{bin, exe};

const PAIR: &str = "20201230_20210111";
const HYP3: &str = "S1AA_20201230T101010_20210111T101010_VVP012_INT80_G_ueF_1A2B";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The help text of `path` (e.g. `["raster", "info"]`).
fn help(path: &[String]) -> String {
    let out = bin()
        .args(path)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{path:?} --help failed");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The names listed in a help text's `Commands:` section (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Commands:") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with(' ') {
                break;
            }
            // A command's name stands at two spaces; wrapped descriptions are indented more.
            if let Some(rest) = line.strip_prefix("  ")
                && !rest.starts_with(' ')
                && let Some(name) = rest.split_whitespace().next()
                && name != "help"
            {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Every command path below the top level, parents before children.
fn command_paths() -> Vec<Vec<String>> {
    let mut todo = vec![Vec::new()];
    let mut all = Vec::new();
    while let Some(path) = todo.pop() {
        for name in subcommands(&help(&path)).into_iter().rev() {
            let mut child = path.clone();
            child.push(name);
            todo.push(child.clone());
            all.push(child);
        }
    }
    all.sort_by_key(|p| order_of(p));
    all
}

/// Examples run in the order a user would meet them: data before training, detections
/// before their evaluation.
fn order_of(path: &[String]) -> (usize, Vec<String>) {
    const ORDER: [&str; 12] = [
        "synth",
        "raster",
        "phase",
        "detect",
        "predict",
        "eval",
        "train",
        "info",
        "calibrate",
        "hard-negatives",
        "bench",
        "fuzz",
    ];
    let first = path.first().map(String::as_str).unwrap_or("");
    let rank = ORDER
        .iter()
        .position(|c| *c == first)
        .unwrap_or(ORDER.len());
    (rank, path.to_vec())
}

/// Programs other than ours an example may name (shown, not run).
const OTHER_PROGRAMS: [&str; 3] = ["sbatch", "squeue", "pip"];

/// The lines of a help text's `Examples:` section that run the program. A line that starts
/// with neither `yolo-basin` nor another program is an example clap wrapped (help is at most
/// 100 columns): an error, since it cannot be copied as it stands.
fn help_examples(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_end() == "Examples:" {
            inside = true;
            continue;
        }
        if inside {
            if !line.is_empty() && !line.starts_with(' ') {
                break;
            }
            let l = line.trim();
            let program = l.split_whitespace().next().unwrap_or("");
            if l.is_empty() || OTHER_PROGRAMS.contains(&program) {
                continue;
            }
            if program != "yolo-basin" {
                return Err(format!(
                    "example line {l:?} is not a command (wrapped? keep examples under 98 columns)"
                ));
            }
            out.push(l.to_string());
        }
    }
    Ok(out)
}

/// The `yolo-basin …` lines of the README's shell blocks (comments after `#` removed).
fn readme_examples() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        let l = line.split(" #").next().unwrap_or("").trim();
        if in_sh && l.starts_with("yolo-basin ") {
            out.push(l.to_string());
        }
    }
    out
}

/// Options appended to examples sized for real work, so the test stays small.
fn scaled_down(example: &str) -> &'static str {
    let words: Vec<&str> = example.split_whitespace().collect();
    if example.contains("--resume") {
        return "";
    }
    match words.get(1..3).unwrap_or(&[]) {
        ["train", ..] => " --max-iter 2 --eval-every 0 --batch 2 --no-progress",
        ["calibrate", ..] if example.contains("--rescore-scenes") => {
            " --scenes 1 --size 600 --rescore-scenes 2"
        }
        ["calibrate", ..] => " --scenes 1 --size 600",
        ["hard-negatives", ..] => " --scenes 1 --size 600",
        ["synth", ..] => " --tiles 6 --scene-tiles 0 --scenes 1 --scene-size 600",
        ["bench", "synth"] => " --tiles 4 --scene-size 600",
        ["bench", "infer"] => " --runs 1 --warmup 0",
        ["bench", "train"] => " --steps 1 --batch 2",
        ["bench", "scenes"] => " --size 600 --only winter-quiet",
        ["bench", "pictures"] => " --tiles 2",
        ["bench", "scan"] => " --width 600 --height 600 --windows 0,512",
        ["fuzz", ..] => " --iterations 50",
        _ => "",
    }
}

/// A small simulated scene written as the products the examples name.
fn make_kit(dir: &Path) {
    let sim = dir.join("kit-sim");
    let out = bin()
        .args([
            "synth",
            "--tiles",
            "4",
            "--scenes",
            "1",
            "--scene-size",
            "480",
        ])
        .args(["--negative-fraction", "0", "--seed", "5", "--out"])
        .arg(&sim)
        .output()
        .expect("synth runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scene = raster::read_geotiff(&sim.join("scenes/scene_0.tif")).expect("scene");
    let los = raster::read_geotiff(&sim.join("scenes/scene_0_los.tif")).expect("LOS");
    let coh = raster::read_geotiff(&sim.join("scenes/scene_0_coh.tif")).expect("coherence");
    let (w, h) = (scene.width, scene.height);
    let values = |r: &raster::Raster| match &r.pixels {
        raster::Pixels::F32(v) => v.clone(),
        _ => panic!("float32 expected"),
    };
    let phase = values(&scene);
    let unwrapped: Vec<f32> = values(&los)
        .iter()
        .map(|&d| insar::los_to_phase(f64::from(d), insar::S1_WAVELENGTH) as f32)
        .collect();
    let utm = scene.geo.expect("simulated scenes are georeferenced");
    let lonlat = GeoInfo {
        transform: GeoTransform([113.2, 0.000_25, 0.0, 35.1, 0.0, -0.000_25]),
        epsg: Some(4326),
        pixel_is_point: false,
    };
    for (product, v) in [
        (Product::LicsarWrappedPhase, &phase),
        (Product::LicsarUnwrapped, &unwrapped),
        (Product::LicsarCoherence, &values(&coh)),
    ] {
        write_product(dir, PAIR, product, w, h, v, &lonlat).expect("LiCSAR product");
    }
    write_product(dir, HYP3, Product::Hyp3WrappedPhase, w, h, &phase, &utm).expect("HyP3");
    // GAMMA: big-endian fcomplex interferogram with its .diff_par.
    let ifg: Vec<raster::Complex32> = phase
        .iter()
        .map(|&p| raster::Complex32::from_polar(1.0, p))
        .collect();
    raster::gamma::write_raw_c32_be(&dir.join(format!("{PAIR}.diff")), &ifg).expect("GAMMA");
    std::fs::write(
        dir.join(format!("{PAIR}.diff_par")),
        format!("interferogram_width: {w}\ninterferogram_azimuth_lines: {h}\n"),
    )
    .expect("diff_par");
    ultralytics_set(&sim, &dir.join("mine"));
    // A scene list for `batch --list`, and a second results folder for `merge`.
    let list = format!("{PAIR}.geo.diff_pha.tif\n{HYP3}_wrapped_phase.tif\n");
    std::fs::write(dir.join("scenes.txt"), list).expect("scene list");
    std::fs::create_dir_all(dir.join("more-results")).expect("results folder");
    for linked in ["data", "models"] {
        std::os::unix::fs::symlink(repo().join(linked), dir.join(linked)).expect("symlink");
    }
    // An "earlier build" for `bench scan --baseline-exe`: this one.
    std::os::unix::fs::symlink(exe(), dir.join("yolo-basin-old")).expect("link binary");
}

/// The simulated tiles' pictures as a user's Ultralytics data set: `data.yaml` naming a
/// building class before the basins' `subsidence_area`, two tiles to train and two to
/// validate, each with one building box besides its basins.
fn ultralytics_set(sim: &Path, mine: &Path) {
    for (k, split) in ["train", "train", "val", "val"].iter().enumerate() {
        let name = format!("tile_{k:05}");
        let images = mine.join("images").join(split);
        let labels = mine.join("labels").join(split);
        std::fs::create_dir_all(&images).expect("images folder");
        std::fs::create_dir_all(&labels).expect("labels folder");
        std::fs::copy(
            sim.join("png").join(format!("{name}.png")),
            images.join(format!("{name}.png")),
        )
        .expect("tile picture");
        let basins = std::fs::read_to_string(sim.join("labels").join(format!("{name}.txt")))
            .expect("YOLO labels");
        let mut text = String::from("0 0.1 0.1 0.05 0.05\n");
        for line in basins.lines() {
            if let Some(rest) = line.strip_prefix("0 ") {
                text.push_str(&format!("1 {rest}\n"));
            }
        }
        std::fs::write(labels.join(format!("{name}.txt")), text).expect("labels");
    }
    std::fs::write(
        mine.join("data.yaml"),
        "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: building\n  1: subsidence_area\n",
    )
    .expect("data.yaml");
}

/// Runs `example` in `dir` with `yolo-basin` on the PATH; the error says which and why.
fn run_example(dir: &Path, example: &str, from: &str) -> Result<(), String> {
    let bindir = dir.join("kit-bin");
    // A trailing `# comment` is dropped: the shell would swallow the appended options into it.
    let code = example.split_once(" #").map_or(example, |(code, _)| code);
    let command = format!("{}{}", code.trim_end(), scaled_down(example));
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .map_err(|e| format!("{from}: `{command}` did not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{from}: `{command}` failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn every_subcommand_has_long_help_with_an_example() {
    let mut missing = Vec::new();
    for path in command_paths() {
        let text = help(&path);
        let long = text
            .lines()
            .take_while(|l| !l.starts_with("Usage:"))
            .count();
        match help_examples(&text) {
            Ok(e) if !e.is_empty() && long >= 3 => {}
            Ok(_) => missing.push(path.join(" ")),
            Err(e) => missing.push(format!("{}: {e}", path.join(" "))),
        }
    }
    assert!(
        missing.is_empty(),
        "subcommands without a long --help and an `Examples:` section: {missing:?}"
    );
}

#[test]
fn readme_and_help_examples_run() {
    let dir = std::env::temp_dir().join(format!("yolo-basin-examples-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("kit-bin")).expect("scratch");
    std::os::unix::fs::symlink(exe(), dir.join("kit-bin/yolo-basin")).expect("link binary");
    make_kit(&dir);
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    let readme = readme_examples();
    assert!(readme.len() >= 5, "README examples found: {readme:?}");
    let mut all: Vec<(String, String)> = readme
        .into_iter()
        .map(|e| (e, "README.md".to_string()))
        .collect();
    for path in std::iter::once(Vec::new()).chain(command_paths()) {
        for e in help_examples(&help(&path)).unwrap_or_default() {
            all.push((e, format!("yolo-basin {} --help", path.join(" "))));
        }
    }
    for (example, from) in all {
        if seen.insert(example.clone())
            && let Err(e) = run_example(&dir, &example, &from)
        {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

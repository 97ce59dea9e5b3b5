//! `yolo-basin fuzz` end to end: the child-process harness catches panics, aborts, failed
//! huge allocations and hangs, saves the inputs, and goes on; a short real run passes.

use std::process::Command;

fn yolo_basin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yolo-basin"))
}

#[test]
fn the_harness_reports_panics_aborts_allocations_and_hangs_and_goes_on() {
    let save =
        std::env::temp_dir().join(format!("yolo-basin-fuzz-selftest-{}", std::process::id()));
    let out = yolo_basin()
        .args([
            "fuzz",
            "--target",
            "selftest",
            "--iterations",
            "45",
            "--hang-seconds",
            "3",
        ])
        .args(["--memory-limit-mib", "2048", "--save"])
        .arg(&save)
        .output()
        .expect("run yolo-basin");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "failures must fail the command:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("selftest    45 inputs"), "{stdout}");
    assert!(
        stdout.contains("panic at input 10: selftest: a panic"),
        "{stdout}"
    );
    assert!(stdout.contains("abort at input 20"), "{stdout}");
    assert!(
        stdout.contains("abort at input 30") && stdout.contains("memory allocation of"),
        "{stdout}"
    );
    assert!(stdout.contains("hang at input 40"), "{stdout}");
    assert!(stdout.contains("4 failing"), "{stdout}");
    for i in [10, 20, 30, 40] {
        let dir = save.join(format!("selftest-seed0-{i}"));
        let note = std::fs::read_to_string(dir.join("failure.txt")).expect("failure.txt");
        assert!(
            note.contains(&format!("--start {i} --iterations 1")),
            "{note}"
        );
        assert!(dir.join("input.txt").is_file());
    }
    let _ = std::fs::remove_dir_all(&save);
}

#[test]
fn a_short_child_process_run_passes() {
    let out = yolo_basin()
        .args([
            "fuzz",
            "--target",
            "par,yolo,voc",
            "--iterations",
            "200",
            "--seed",
            "3",
        ])
        .output()
        .expect("run yolo-basin");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in ["par", "yolo", "voc"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(t))
            .unwrap_or_else(|| panic!("no line for {t}:\n{stdout}"));
        assert!(
            line.contains(" 200 inputs") && line.contains(" 0 failing"),
            "{line}"
        );
    }
}

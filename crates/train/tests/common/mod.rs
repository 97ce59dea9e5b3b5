//! A tiny stand-in for the simulator: wrapped-phase tiles with Gaussian subsidence bowls
//! (several concentric fringes), a little noise and a ramp, YOLO labels and split lists.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Peak phase of a bowl: three fringes.
const PEAK: f32 = 6.0 * std::f32::consts::PI;
/// The labelled edge: the bowl's phase there is PEAK·e^(−2·1.2²) ≈ 1 rad.
const EDGE: f32 = 1.2;

/// Writes `n` tiles of `side²` into a fresh folder and returns it.
pub fn write_dataset(name: &str, n: usize, side: usize, seed: u64) -> PathBuf {
    let root = std::env::temp_dir().join(format!("train-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for d in ["images", "labels", "splits"] {
        std::fs::create_dir_all(root.join(d)).expect("create data set folders");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stems = Vec::new();
    for i in 0..n {
        let stem = format!("tile{i:03}");
        write_tile(&root, &stem, side, &mut rng);
        stems.push(stem);
    }
    let list = stems.join("\n") + "\n";
    std::fs::write(root.join("splits/train.txt"), &list).expect("write split");
    std::fs::write(root.join("splits/val.txt"), &list).expect("write split");
    root
}

fn write_tile(root: &Path, stem: &str, side: usize, rng: &mut ChaCha8Rng) {
    let s = side as f32;
    let count = rng.random_range(1..=2);
    let mut bowls: Vec<[f32; 4]> = Vec::new();
    while bowls.len() < count {
        let rx = rng.random_range(0.10..0.18) * s;
        let ry = rng.random_range(0.10..0.18) * s;
        let cx = rng.random_range(EDGE * rx + 2.0..s - EDGE * rx - 2.0);
        let cy = rng.random_range(EDGE * ry + 2.0..s - EDGE * ry - 2.0);
        let overlaps = bowls.iter().any(|b| {
            (b[0] - cx).abs() < EDGE * (b[2] + rx) && (b[1] - cy).abs() < EDGE * (b[3] + ry)
        });
        if !overlaps {
            bowls.push([cx, cy, rx, ry]);
        }
    }
    let (gx, gy) = (rng.random_range(-0.02..0.02), rng.random_range(-0.02..0.02));
    let mut phase = vec![0.0f32; side * side];
    for y in 0..side {
        for x in 0..side {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let mut v = gx * px + gy * py + rng.random_range(-0.3..0.3);
            for b in &bowls {
                let rho2 = ((px - b[0]) / b[2]).powi(2) + ((py - b[1]) / b[3]).powi(2);
                v -= PEAK * (-2.0 * rho2).exp();
            }
            phase[y * side + x] = insar::wrap(v);
        }
    }
    raster::write_geotiff_f32(
        &root.join(format!("images/{stem}.tif")),
        side,
        side,
        &phase,
        None,
        None,
    )
    .expect("write tile");
    let labels: String = bowls
        .iter()
        .map(|b| {
            let (w, h) = (2.0 * EDGE * b[2] / s, 2.0 * EDGE * b[3] / s);
            format!("0 {:.6} {:.6} {:.6} {:.6}\n", b[0] / s, b[1] / s, w, h)
        })
        .collect();
    std::fs::write(root.join(format!("labels/{stem}.txt")), labels).expect("write labels");
}

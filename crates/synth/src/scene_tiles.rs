//! Tiles cut from whole simulated training scenes. Basin-centred tiles teach what a basin
//! is; a scene is mostly background, and a detector run over one meets every look-alike
//! the simulator makes, in the proportion a scene has. Each training scene (5 × 5 tiles)
//! is simulated whole with the scene layout (coalfields of mines), cut on the tile grid,
//! and every basin is relabelled in each tile it reaches: the box of its visible pixels
//! inside the tile.

use crate::config::SynthConfig;
use crate::dataset::{AreaTile, SPLIT_NAMES, TileOut, write_area_tile};
use crate::error::SynthError;
use crate::labels::PixBox;
use crate::rng::{derive, rng_for, stream};
use crate::scene::{AreaConfig, Basin, MIN_VISIBLE_PEAK_M, SimArea, simulate};
use crate::scene_writer::scene_area;
use insar::S1_WAVELENGTH;
use rand::Rng;
use rayon::prelude::*;
use std::path::Path;

/// Tiles per side of a training scene (5 × 416 px ≈ 38 × 29 km at the default looks).
pub const TILES_PER_SIDE: usize = 5;

/// Writes `cfg.scene_tiles` tiles cut from training scenes, with image ids and file
/// indices following `first_index`; every tile of a scene goes to the same split.
pub fn write_scene_tiles(
    cfg: &SynthConfig,
    out: &Path,
    first_index: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<TileOut>, SynthError> {
    let per_scene = TILES_PER_SIDE * TILES_PER_SIDE;
    let ts = cfg.tile_size;
    let mut all = Vec::with_capacity(cfg.scene_tiles);
    for k in 0..cfg.scene_tiles.div_ceil(per_scene) {
        let area = AreaConfig {
            w: TILES_PER_SIDE * ts,
            h: TILES_PER_SIDE * ts,
            ..scene_area(cfg)
        };
        let scene = simulate(&area, derive(cfg.seed, stream::TRAIN_SCENE, k as u64));
        let split = split_of_scene(cfg, k);
        let count = per_scene.min(cfg.scene_tiles - k * per_scene);
        let tiles: Vec<TileOut> = (0..count)
            .into_par_iter()
            .map(|j| {
                let n = k * per_scene + j;
                let (x0, y0) = ((j % TILES_PER_SIDE) * ts, (j / TILES_PER_SIDE) * ts);
                let a = crop_area(&scene, x0, y0, ts, &area);
                let tile = AreaTile {
                    stem: format!("stile_{n:05}"),
                    image_id: (first_index + n) as u64 + 1,
                    split,
                    negative: a.basins.is_empty(),
                };
                let mut kind_rng = rng_for(cfg.seed, stream::TRAIN_SCENE + 100, n as u64);
                let r = write_area_tile(cfg, out, &a, &tile, &mut kind_rng);
                progress();
                r
            })
            .collect::<Result<_, _>>()?;
        all.extend(tiles);
    }
    Ok(all)
}

/// Split of training scene `k`, drawn with the run's fractions.
fn split_of_scene(cfg: &SynthConfig, k: usize) -> &'static str {
    let u: f64 = rng_for(cfg.seed, stream::SPLIT, 1 + k as u64).random_range(0.0..1.0);
    if u < cfg.split[0] {
        SPLIT_NAMES[0]
    } else if u < cfg.split[0] + cfg.split[1] {
        SPLIT_NAMES[1]
    } else {
        SPLIT_NAMES[2]
    }
}

/// The `ts × ts` window at (`x0`, `y0`) of a scene, its basins relabelled inside it.
pub fn crop_area(scene: &SimArea, x0: usize, y0: usize, ts: usize, cfg: &AreaConfig) -> SimArea {
    let crop = |v: &[f32]| -> Vec<f32> {
        (y0..y0 + ts)
            .flat_map(|r| v[r * scene.w + x0..][..ts].iter().copied())
            .collect()
    };
    let los = crop(&scene.los);
    let basins = scene
        .basins
        .iter()
        .filter_map(|b| clip_basin(b, &los, x0, y0, ts, cfg))
        .collect();
    SimArea {
        w: ts,
        h: ts,
        phase: crop(&scene.phase),
        coherence: crop(&scene.coherence),
        los,
        basins,
        ..scene.clone_facts()
    }
}

/// A scene basin as the tile sees it: the box of the pixels of its scene box inside the
/// tile whose |LOS| reaches the label threshold. Left out, as for basin-centred tiles,
/// when that part is narrower than the smallest box or peaks below a quarter fringe.
fn clip_basin(
    b: &Basin,
    los: &[f32],
    x0: usize,
    y0: usize,
    ts: usize,
    cfg: &AreaConfig,
) -> Option<Basin> {
    let (c1, r1) = (b.bbox.x1.max(x0), b.bbox.y1.max(y0));
    let (c2, r2) = (b.bbox.x2.min(x0 + ts), b.bbox.y2.min(y0 + ts));
    if c2 <= c1 || r2 <= r1 {
        return None;
    }
    let thr = cfg.label_threshold_m as f32;
    let half = (S1_WAVELENGTH / 4.0) as f32;
    let (mut bbox, mut half_box, mut peak) = (None::<PixBox>, None::<PixBox>, 0.0f32);
    for r in r1 - y0..r2 - y0 {
        for c in c1 - x0..c2 - x0 {
            let v = los[r * ts + c].abs();
            peak = peak.max(v);
            if v >= thr {
                bbox = Some(PixBox::grow(bbox, c, r));
            }
            if v >= half {
                half_box = Some(PixBox::grow(half_box, c, r));
            }
        }
    }
    let bbox = bbox?;
    let min_peak = (MIN_VISIBLE_PEAK_M as f32).max(thr);
    if bbox.width() < cfg.min_box_px || bbox.height() < cfg.min_box_px || peak < min_peak {
        return None;
    }
    Some(Basin {
        bbox,
        bbox_half_fringe: half_box,
        max_abs_los_m: peak,
        truncated: bbox.x1 == 0 || bbox.y1 == 0 || bbox.x2 == ts || bbox.y2 == ts || b.truncated,
        panels: b.panels.clone(),
        decorrelated_centre: b.decorrelated_centre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::Conditions;
    use crate::geometry::Looks;
    use crate::scene::{MineLayout, OrbitChoice};

    fn scene_cfg(side: usize) -> AreaConfig {
        AreaConfig {
            w: side,
            h: side,
            pad: 0,
            looks: Looks::default(),
            orbit: OrbitChoice::Random,
            layout: MineLayout::Scene,
            filtered_fraction: 0.7,
            label_threshold_m: S1_WAVELENGTH / 16.0,
            min_box_px: 8,
            conditions: Conditions::default(),
        }
    }

    /// Each tile's boxes are its scene basins' boxes cut to the tile: a basin wholly inside
    /// keeps its box (shifted), a cut one's box lies inside its scene box and holds every
    /// visible pixel of it that falls in the tile.
    #[test]
    fn tiles_relabel_the_scene_basins_they_hold() {
        let ts = 128;
        let cfg = scene_cfg(3 * ts);
        let (mut whole, mut cut) = (0, 0);
        for seed in 0..6u64 {
            let scene = simulate(&cfg, 100 + seed);
            for j in 0..9 {
                let (x0, y0) = ((j % 3) * ts, (j / 3) * ts);
                let a = crop_area(&scene, x0, y0, ts, &cfg);
                assert_eq!((a.w, a.h, a.phase.len()), (ts, ts, ts * ts));
                assert_eq!(
                    a.phase[5 * ts + 7],
                    scene.phase[(y0 + 5) * scene.w + x0 + 7]
                );
                for b in &a.basins {
                    let s = scene
                        .basins
                        .iter()
                        .find(|s| s.panels == b.panels)
                        .expect("a tile basin is a scene basin");
                    let inside = s.bbox.x1 >= x0
                        && s.bbox.y1 >= y0
                        && s.bbox.x2 <= x0 + ts
                        && s.bbox.y2 <= y0 + ts;
                    let shifted = PixBox {
                        x1: b.bbox.x1 + x0,
                        y1: b.bbox.y1 + y0,
                        x2: b.bbox.x2 + x0,
                        y2: b.bbox.y2 + y0,
                    };
                    if inside {
                        assert_eq!(shifted, s.bbox, "seed {seed} tile {j}");
                        whole += 1;
                    } else {
                        assert!(
                            shifted.x1 >= s.bbox.x1
                                && shifted.y1 >= s.bbox.y1
                                && shifted.x2 <= s.bbox.x2
                                && shifted.y2 <= s.bbox.y2
                        );
                        assert!(b.truncated);
                        cut += 1;
                    }
                    assert!(b.bbox.width() >= 8 && b.bbox.height() >= 8);
                }
            }
        }
        assert!(
            whole > 0 && cut > 0,
            "both kinds met: {whole} whole, {cut} cut"
        );
    }
}

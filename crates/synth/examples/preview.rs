//! Renders simulated tiles with their label boxes (red: label threshold, white: half
//! fringe) for eyeballing, and prints per-tile facts.
//! `cargo run -p synth --release --example preview -- OUT_DIR [N] [SEED] [SIZE]`

use synth::dataset::TILE_PAD;
use synth::picture::{draw_box, random_style, render};
use synth::rng::rng_for;
use synth::{AreaConfig, Looks, MineLayout, OrbitChoice, simulate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(
        args.get(1)
            .ok_or("usage: preview OUT_DIR [N] [SEED] [SIZE]")?,
    );
    let n: usize = args.get(2).map_or(Ok(8), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(1), |s| s.parse())?;
    let size: usize = args.get(4).map_or(Ok(416), |s| s.parse())?;
    std::fs::create_dir_all(&out)?;
    let (mut basins, mut decor) = (0, 0);
    let mut mosaic: Vec<Vec<u8>> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    for i in 0..n {
        let cfg = AreaConfig {
            w: size,
            h: size,
            pad: TILE_PAD,
            looks: Looks::default(),
            orbit: OrbitChoice::Random,
            layout: MineLayout::Tile {
                negative: i % 7 == 6,
            },
            filtered_fraction: 0.7,
            label_threshold_m: insar::S1_WAVELENGTH / 16.0,
            min_box_px: 8,
            conditions: synth::Conditions::default(),
        };
        let t0 = std::time::Instant::now();
        let a = simulate(&cfg, seed * 1000 + i as u64);
        let dt = t0.elapsed();
        let style = random_style(&mut rng_for(seed, 9, i as u64), None);
        let mut rgb = render(&a.phase, a.w, a.h, &style);
        for b in &a.basins {
            if let Some(h) = &b.bbox_half_fringe {
                draw_box(&mut rgb, a.w, a.h, h, [255, 255, 255], 1);
            }
            draw_box(&mut rgb, a.w, a.h, &b.bbox, [255, 0, 0], 2);
        }
        raster::write_png_rgb(&out.join(format!("tile_{i:03}.png")), a.w, a.h, &rgb)?;
        let g: Vec<u8> = a.coherence.iter().map(|&v| (v * 255.0) as u8).collect();
        raster::write_png_gray(&out.join(format!("coh_{i:03}.png")), a.w, a.h, &g)?;
        let (pc, pd) = phase_stats(&a.phase, a.w, a.h);
        println!("  3x3 phase coherence {pc:.3}, pixel-difference std {pd:.2} rad");
        mosaic.push(rgb);
        basins += a.basins.len();
        sizes.extend(
            a.basins
                .iter()
                .filter(|b| !b.truncated)
                .map(|b| ((b.bbox.width() * b.bbox.height()) as f64).sqrt() as usize),
        );
        decor += a.basins.iter().filter(|b| b.decorrelated_centre).count();
        println!(
            "tile {i}: {:?} {} basins {:?} filt {:?} cmap {} mean coh {:.2} {:.0} ms",
            a.viewing.orbit,
            a.basins.len(),
            a.basins
                .iter()
                .map(|b| (b.max_abs_los_m * 100.0).round() / 100.0)
                .collect::<Vec<_>>(),
            a.filter.as_ref().map(|f| f.alpha),
            style.colormap.name(),
            a.coherence.iter().sum::<f32>() / a.coherence.len() as f32,
            dt.as_secs_f64() * 1e3
        );
    }
    println!("{basins} basins, {decor} with decorrelated centres");
    sizes.sort_unstable();
    if !sizes.is_empty() {
        let q = |f: f64| sizes[((sizes.len() - 1) as f64 * f) as usize];
        println!(
            "box side (sqrt area) px: p10 {} p50 {} p90 {} max {}",
            q(0.1),
            q(0.5),
            q(0.9),
            q(1.0)
        );
    }
    let cols = 4.min(n);
    let rows = n.div_ceil(cols).min(2);
    mosaic.truncate(cols * rows);
    let (mw, mh) = (cols * size, rows * size);
    let mut m = vec![0u8; mw * mh * 3];
    for (k, t) in mosaic.iter().enumerate().take(cols * rows) {
        let (ox, oy) = ((k % cols) * size, (k / cols) * size);
        for r in 0..size {
            let dst = 3 * ((oy + r) * mw + ox);
            m[dst..dst + 3 * size].copy_from_slice(&t[3 * r * size..3 * (r + 1) * size]);
        }
    }
    raster::write_png_rgb(&out.join("mosaic.png"), mw, mh, &m)?;
    Ok(())
}

/// Mean 3×3 phase coherence |Σ e^{iφ}|/9 and std of wrapped neighbour differences.
fn phase_stats(p: &[f32], w: usize, h: usize) -> (f64, f64) {
    let (mut c, mut n) = (0.0, 0usize);
    let (mut d2, mut nd) = (0.0, 0usize);
    for r in 1..h - 1 {
        for col in 1..w - 1 {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for dr in 0..3 {
                for dc in 0..3 {
                    let v = p[(r + dr - 1) * w + col + dc - 1] as f64;
                    re += v.cos();
                    im += v.sin();
                }
            }
            c += re.hypot(im) / 9.0;
            n += 1;
            let d = insar::wrap(p[r * w + col + 1] - p[r * w + col]) as f64;
            d2 += d * d;
            nd += 1;
        }
    }
    (c / n as f64, (d2 / nd as f64).sqrt())
}

//! Training-step timing without the CLI: `cargo run --example bench_step -p train --release --
//! <variant> <scale> <batch> <tile> <steps>`.

use model::{ModelConfig, Scale, Variant};
use train::bench::bench_train_steps;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| a.get(i).cloned().unwrap_or_else(|| d.to_string());
    let variant: Variant = arg(0, "light-yolo-basin")
        .parse()
        .unwrap_or(Variant::LightYoloBasin);
    let scale: Scale = arg(1, "s").parse().unwrap_or(Scale::S);
    let batch: usize = arg(2, "8").parse().unwrap_or(8);
    let tile: usize = arg(3, "416").parse().unwrap_or(416);
    let steps: usize = arg(4, "3").parse().unwrap_or(3);
    let cfg = ModelConfig::new(variant, scale).with_tile(tile);
    let r = bench_train_steps(&cfg, batch, 1, steps, &burn::tensor::Device::flex());
    for t in &r.steps {
        println!(
            "forward {:.3} loss {:.3} backward {:.3} adam {:.3} total {:.3} s",
            t.forward, t.loss, t.backward, t.optimizer, t.total
        );
    }
    println!(
        "{} batch {batch} tile {tile}: {:.2} images/s",
        cfg.name(),
        r.images_per_s()
    );
}

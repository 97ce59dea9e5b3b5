//! Prints a trained run's top detections next to the ground truth of its validation split:
//! `cargo run --example inspect_run -p train -- <data dir> <weights>`.

use std::path::PathBuf;

use burn::tensor::Device;
use train::data::{Split, eval_sample, open_dataset};
use train::eval::detect_batch;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let (Some(data), Some(weights)) = (a.first(), a.get(1)) else {
        eprintln!("usage: inspect_run <data dir> <weights>");
        std::process::exit(2);
    };
    // "train" as a third argument runs the network in training mode (batch statistics).
    let train_mode = a.get(2).is_some_and(|m| m == "train");
    let device = if train_mode {
        Device::flex().autodiff()
    } else {
        Device::flex()
    };
    let (model, _) = match model::load_weights(&PathBuf::from(weights), &device) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let ds = match open_dataset(&PathBuf::from(data), Split::Val) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let model = if train_mode {
        burn::module::Module::train(model)
    } else {
        model
    };
    let tile = model.config().tile;
    let mut xs = Vec::new();
    let mut all_gts = Vec::new();
    for i in 0..ds.items.len() {
        let Ok((x, gts)) = eval_sample(&ds, i, tile) else {
            continue;
        };
        xs.extend(x);
        all_gts.push(gts);
    }
    let dets = detect_batch(&model, xs, all_gts.len(), tile);
    for (i, gts) in all_gts.iter().enumerate() {
        println!("image {i}: gt {gts:?}");
        for d in dets[i].iter().take(3) {
            let b = d.bbox;
            println!(
                "  {:.3} [{:.1}, {:.1}, {:.1}, {:.1}]",
                d.score, b.x1, b.y1, b.x2, b.y2
            );
        }
    }
}

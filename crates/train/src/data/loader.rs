//! Batches from worker threads, deterministic whatever the number of workers.
//!
//! The sample stream is a pure function of (seed, position): position p is sample
//! `perm_epoch[p mod n]` of epoch ⌊p / n⌋, and its augmentation is drawn from a generator
//! seeded by (seed, epoch, sample). Batch `s` holds positions `s·B .. (s+1)·B`, so a resumed
//! run at step s sees exactly what an uninterrupted one would. Worker w builds the batches
//! s ≡ w (mod W) in order into its own bounded channel; the trainer takes them round-robin,
//! so up to W × prefetch batches are ready ahead of the step.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DataError;
use super::augment::{AugmentConfig, augment, fit_to_tile};
use super::dataset::Dataset;
use super::sample::load_item;

/// An encoded network input `[3, tile, tile]` and its boxes (pixel xyxy).
pub type EncodedSample = (Vec<f32>, Vec<[f32; 4]>);

/// Loader settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoaderConfig {
    /// Images per batch.
    pub batch: usize,
    /// Side of the square network input.
    pub tile: usize,
    /// Worker threads.
    pub workers: usize,
    /// Batches each worker may hold ready.
    pub prefetch: usize,
    /// The run's seed.
    pub seed: u64,
    /// Augmentation.
    pub augment: AugmentConfig,
}

/// One training batch, ready for the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The step it belongs to.
    pub step: u64,
    /// `[B, 3, tile, tile]` encoded inputs, row-major.
    pub images: Vec<f32>,
    /// Boxes per image, pixel xyxy.
    pub gts: Vec<Vec<[f32; 4]>>,
    /// B.
    pub size: usize,
    /// Tile side.
    pub tile: usize,
}

/// splitmix64 over the combined words: independent-looking seeds for nearby indices.
pub fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Epoch `epoch`'s order of the `n` samples.
pub fn epoch_order(seed: u64, epoch: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, epoch, u64::MAX)));
    order
}

/// Reads, crops or pads, augments and encodes sample `index` with its own generator.
fn train_sample(
    ds: &Dataset,
    cfg: &LoaderConfig,
    epoch: u64,
    index: usize,
) -> Result<EncodedSample, DataError> {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(cfg.seed, epoch, index as u64));
    let mut s = load_item(ds, index)?;
    let slack = |side: usize, rng: &mut ChaCha8Rng| {
        if side > cfg.tile {
            rng.random_range(0..=side - cfg.tile)
        } else {
            0
        }
    };
    let origin = (slack(s.width, &mut rng), slack(s.height, &mut rng));
    fit_to_tile(&mut s, cfg.tile, origin);
    let turn = augment(&mut s, &cfg.augment, &mut rng);
    let mut x = s.planes.encode(s.width, s.height)?;
    if let Some(turn) = turn {
        turn.apply(&mut x, s.width * s.height);
    }
    Ok((x, s.boxes))
}

/// A validation sample: centre crop or pad to the tile, no augmentation.
pub fn eval_sample(ds: &Dataset, index: usize, tile: usize) -> Result<EncodedSample, DataError> {
    let mut s = load_item(ds, index)?;
    let origin = (
        s.width.saturating_sub(tile) / 2,
        s.height.saturating_sub(tile) / 2,
    );
    fit_to_tile(&mut s, tile, origin);
    Ok((s.planes.encode(s.width, s.height)?, s.boxes))
}

/// Builds batch `step`. `order` caches the current epoch's permutation.
fn build_batch(
    ds: &Dataset,
    cfg: &LoaderConfig,
    step: u64,
    order: &mut Option<(u64, Vec<usize>)>,
) -> Result<Batch, DataError> {
    let n = ds.items.len() as u64;
    let per = 3 * cfg.tile * cfg.tile;
    let mut images = Vec::with_capacity(cfg.batch * per);
    let mut gts = Vec::with_capacity(cfg.batch);
    for i in 0..cfg.batch as u64 {
        let pos = step * cfg.batch as u64 + i;
        let epoch = pos / n;
        if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            *order = Some((epoch, epoch_order(cfg.seed, epoch, n as usize)));
        }
        let index = order.as_ref().map_or(0, |(_, o)| o[(pos % n) as usize]);
        let (x, b) = train_sample(ds, cfg, epoch, index)?;
        images.extend_from_slice(&x);
        gts.push(b);
    }
    Ok(Batch {
        step,
        images,
        gts,
        size: cfg.batch,
        tile: cfg.tile,
    })
}

fn worker(
    ds: Arc<Dataset>,
    cfg: LoaderConfig,
    first: u64,
    tx: SyncSender<Result<Batch, DataError>>,
    stop: Arc<AtomicBool>,
) {
    let mut order = None;
    let mut step = first;
    while !stop.load(Ordering::Relaxed) {
        let result = build_batch(&ds, &cfg, step, &mut order);
        let failed = result.is_err();
        if tx.send(result).is_err() || failed {
            return;
        }
        step += cfg.workers as u64;
    }
}

/// The running loader.
pub struct Loader {
    receivers: Vec<Receiver<Result<Batch, DataError>>>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    next_step: u64,
    first_step: u64,
}

impl Loader {
    /// Starts the workers at batch `first_step` (0, or the step a run resumes at).
    pub fn start(ds: Arc<Dataset>, cfg: LoaderConfig, first_step: u64) -> Self {
        let workers = cfg.workers.max(1);
        let cfg = LoaderConfig { workers, ..cfg };
        let stop = Arc::new(AtomicBool::new(false));
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(cfg.prefetch.max(1));
            let (ds, stop) = (Arc::clone(&ds), Arc::clone(&stop));
            handles.push(std::thread::spawn(move || {
                worker(ds, cfg, first_step + w as u64, tx, stop)
            }));
            receivers.push(rx);
        }
        Self {
            receivers,
            handles,
            stop,
            next_step: first_step,
            first_step,
        }
    }

    /// The next batch, in step order.
    pub fn next_batch(&mut self) -> Result<Batch, DataError> {
        let w = ((self.next_step - self.first_step) % self.receivers.len() as u64) as usize;
        let batch = self.receivers[w].recv().map_err(|_| {
            DataError::Stopped(format!("worker {w} ended before batch {}", self.next_step))
        })??;
        self.next_step += 1;
        Ok(batch)
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers fails the workers' pending sends, so they all return.
        self.receivers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Item;
    use model::InputKind;

    fn dataset(n: usize) -> (Arc<Dataset>, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("train-loader-{n}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let items = (0..n)
            .map(|i| {
                let path = dir.join(format!("t{i}.tif"));
                let data: Vec<f32> = (0..32 * 32).map(|k| ((k + i) % 7) as f32 * 0.3).collect();
                raster::write_geotiff_f32(&path, 32, 32, &data, None, None).expect("write tif");
                Item {
                    image: path,
                    coherence: None,
                    width: 32,
                    height: 32,
                    boxes: vec![[8.0, 8.0, 24.0, 20.0]],
                    crowd: Vec::new(),
                }
            })
            .collect();
        let ds = Dataset {
            root: dir.clone(),
            input: InputKind::Phase,
            model_input: InputKind::Phase,
            spec: input::InputSpec::default(),
            items,
            ignored: Default::default(),
        };
        (Arc::new(ds), dir)
    }

    fn cfg(workers: usize) -> LoaderConfig {
        LoaderConfig {
            batch: 3,
            tile: 32,
            workers,
            prefetch: 2,
            seed: 11,
            augment: AugmentConfig::default(),
        }
    }

    #[test]
    fn same_batches_whatever_the_workers_and_the_start() {
        let (ds, _dir) = dataset(5);
        let take = |workers: usize, first: u64, n: usize| {
            let mut l = Loader::start(Arc::clone(&ds), cfg(workers), first);
            (0..n)
                .map(|_| l.next_batch().expect("batch"))
                .collect::<Vec<_>>()
        };
        let one = take(1, 0, 4);
        let three = take(3, 0, 4);
        assert_eq!(one, three);
        let resumed = take(2, 2, 2);
        assert_eq!(&one[2..], &resumed[..]);
        assert_eq!(one[1].step, 1);
        assert_eq!(one[0].images.len(), 3 * 3 * 32 * 32);
    }

    /// The encoded phasors' sum direction and Σ sin 2φ of a `[3, n]` input.
    fn reference_of(x: &[f32], n: usize) -> (f64, f64) {
        let (cos, sin) = (&x[..n], &x[n..2 * n]);
        let sc: f64 = cos.iter().map(|&c| f64::from(c)).sum();
        let ss: f64 = sin.iter().map(|&s| f64::from(s)).sum();
        let sin2: f64 = cos
            .iter()
            .zip(sin)
            .map(|(&c, &s)| f64::from(2.0 * c * s))
            .sum();
        (ss.atan2(sc), sin2)
    }

    #[test]
    fn training_tiles_keep_the_drawn_offset_and_direction() {
        // Validation tiles are referenced to themselves, as the encoding does: sum along 0,
        // Σ sin 2φ ≥ 0. Training tiles are turned after it, as a basin in a window is.
        let (ds, _dir) = dataset(1);
        let n = 32 * 32;
        let (x, _) = eval_sample(&ds, 0, 32).expect("eval sample");
        let (angle, sin2) = reference_of(&x, n);
        assert!(angle.abs() < 1e-4 && sin2 >= 0.0, "{angle} {sin2}");
        let mut c = cfg(1);
        c.augment = AugmentConfig {
            phase_offset: true,
            conjugate: 0.5,
            ..AugmentConfig::none()
        };
        let draws: Vec<(f64, f64)> = (0..16)
            .map(|epoch| {
                let (x, _) = train_sample(&ds, &c, epoch, 0).expect("train sample");
                reference_of(&x, n)
            })
            .collect();
        assert!(draws.iter().any(|(a, _)| a.abs() > 0.5), "{draws:?}");
        assert!(draws.iter().any(|(_, s)| *s < -1.0), "{draws:?}");
        assert!(draws.iter().any(|(_, s)| *s > 1.0), "{draws:?}");
    }

    #[test]
    fn every_sample_once_per_epoch() {
        let mut o = epoch_order(3, 0, 7);
        o.sort_unstable();
        assert_eq!(o, (0..7).collect::<Vec<_>>());
        assert_ne!(epoch_order(3, 0, 7), epoch_order(3, 1, 7));
    }

    #[test]
    fn missing_image_is_reported() {
        let (ds, _dir) = dataset(2);
        let mut broken = (*ds).clone();
        broken.items[0].image = broken.root.join("gone.tif");
        broken.items[1].image = broken.root.join("gone.tif");
        let mut l = Loader::start(Arc::new(broken), cfg(1), 0);
        let err = l.next_batch().expect_err("missing image").to_string();
        assert!(err.contains("gone.tif"), "{err}");
    }
}

//! A whole scene through a detector: stream the tiles, run the detector on batches of
//! them, stitch. The detector is any function from tiles to per-tile detections (the CLI
//! passes the network's predictor), so this is tested here without one.

use std::error::Error;

use super::TilingError;
use super::plan::TilePlan;
use super::stitch::{StitchParams, TileDetections, stitch};
use super::stream::{RowSource, TileData, TileStream};
use crate::bbox::Detection;
use crate::nms::merge_partial;

/// Detections over the whole scene, in scene pixels, by descending score.
///
/// `detector` gets up to `batch` tiles at a time and must return one list per tile, in
/// tile pixels. At most one strip of the scene and one batch of tiles are in memory.
pub fn detect_scene<S, F, E>(
    source: &mut S,
    plan: &TilePlan,
    batch: usize,
    detector: F,
    params: &StitchParams,
) -> Result<Vec<Detection>, TilingError>
where
    S: RowSource + Send,
    F: FnMut(&[TileData]) -> Result<Vec<Vec<Detection>>, E>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    let found = detect_tiles(source, plan, batch, detector)?;
    Ok(stitch(plan, &found, params))
}

/// The scene's boxes scoring at least `min_score`, from tiles detected at a lower score.
/// Every box the tiles found takes part in stitching, and the threshold applies after it:
/// a basin's piece cut by a tile edge is dropped when another tile saw the basin whole,
/// however low that whole view scored. Thresholding first would keep a well-scored piece of
/// a basin (a fringe rim) as a basin of its own once the whole view fell under the
/// threshold. One detection pass at a low score serves every threshold. Boxes kept that
/// overlap by [`StitchParams::bowl_ios`] (intersection over the smaller) become one.
pub fn stitch_at(
    plan: &TilePlan,
    tiles: &[TileDetections],
    min_score: f64,
    params: &StitchParams,
) -> Vec<Detection> {
    let kept: Vec<Detection> = stitch(plan, tiles, params)
        .into_iter()
        .filter(|d| d.score >= min_score)
        .collect();
    if params.bowl_ios > 1.0 {
        return kept;
    }
    let from = min_score.max(params.bowl_from);
    let (strong, faint): (Vec<Detection>, Vec<Detection>) =
        kept.into_iter().partition(|d| d.score >= from);
    let mut out: Vec<Detection> = merge_partial(&strong, params.bowl_ios)
        .into_iter()
        .map(|m| m.det)
        .collect();
    out.extend(faint);
    out
}

/// Each tile's detections, in tile pixels, in the order the tiles were read.
pub fn detect_tiles<S, F, E>(
    source: &mut S,
    plan: &TilePlan,
    batch: usize,
    mut detector: F,
) -> Result<Vec<TileDetections>, TilingError>
where
    S: RowSource + Send,
    F: FnMut(&[TileData]) -> Result<Vec<Vec<Detection>>, E>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    detect_tiles_prepared(
        source,
        plan,
        batch,
        |_: &[TileData]| Ok::<(), Box<dyn Error + Send + Sync>>(()),
        |tiles: &[TileData], ()| detector(tiles).map_err(Into::into),
    )
}

/// [`detect_tiles`] with a first step, `prepare` (encoding the tiles as network input),
/// whose result `detector` gets with the tiles.
///
/// The next batch is read, cut from the scene and prepared on a thread of its own while
/// `detector` runs on the current one: reading (decompressing, masking, cutting windows)
/// and encoding otherwise left the network's cores waiting, a sixth of a whole scene's
/// time. The hand-over is a rendezvous: the reader prepares one batch ahead and waits
/// with it, so no more than two batches are in memory at once.
pub fn detect_tiles_prepared<S, P, X, F, E>(
    source: &mut S,
    plan: &TilePlan,
    batch: usize,
    prepare: P,
    mut detector: F,
) -> Result<Vec<TileDetections>, TilingError>
where
    S: RowSource + Send,
    P: FnMut(&[TileData]) -> Result<X, E> + Send,
    X: Send,
    F: FnMut(&[TileData], X) -> Result<Vec<Vec<Detection>>, E>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    let batch = batch.max(1);
    std::thread::scope(|scope| {
        let (send, batches) = std::sync::mpsc::sync_channel(0);
        let reader = scope.spawn(move || read_batches(source, plan, batch, prepare, &send));
        let mut found: Vec<TileDetections> = Vec::new();
        // Stops at the first error of either side; dropping `batches` on an early return
        // ends the reader at its next send.
        let detected = batches
            .iter()
            .try_for_each(|(pending, x): (Vec<TileData>, X)| {
                let out = detector(&pending, x).map_err(|e| TilingError::Detector(e.into()))?;
                if out.len() != pending.len() {
                    return Err(TilingError::Detector(
                        format!(
                            "detector returned {} lists for {} tiles",
                            out.len(),
                            pending.len()
                        )
                        .into(),
                    ));
                }
                found.extend(
                    pending
                        .into_iter()
                        .zip(out)
                        .map(|(t, dets)| TileDetections { tile: t.tile, dets }),
                );
                Ok(())
            });
        drop(batches);
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        detected?;
        read?;
        Ok(found)
    })
}

/// Streams `plan`'s tiles of `source` to `send` in prepared batches of `batch`, until the
/// plan ends, a read or `prepare` fails (returned) or the receiver is gone.
fn read_batches<S, P, X, E>(
    source: &mut S,
    plan: &TilePlan,
    batch: usize,
    mut prepare: P,
    send: &std::sync::mpsc::SyncSender<(Vec<TileData>, X)>,
) -> Result<(), TilingError>
where
    S: RowSource,
    P: FnMut(&[TileData]) -> Result<X, E>,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    let mut ready = |tiles: Vec<TileData>| -> Result<bool, TilingError> {
        let x = prepare(&tiles).map_err(|e| TilingError::Detector(e.into()))?;
        Ok(send.send((tiles, x)).is_ok())
    };
    let mut pending: Vec<TileData> = Vec::with_capacity(batch);
    for tile in TileStream::new(source, plan)? {
        pending.push(tile?);
        if pending.len() == batch {
            let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
            if !ready(full)? {
                return Ok(());
            }
        }
    }
    if !pending.is_empty() {
        // A closed receiver has an error of its own to report.
        ready(pending)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbox::BBox;
    use crate::tiling::SliceSource;

    /// Bounding boxes of the 4-connected regions of value 1 among valid pixels: a
    /// "detector" that sees exactly what lies in its tile.
    fn blobs(t: &TileData) -> Vec<Detection> {
        let (w, h) = (t.tile.width, t.tile.height);
        let on = |i: usize| t.valid[i] && t.data[i] == 1.0;
        let mut seen = vec![false; w * h];
        let mut out = Vec::new();
        for start in 0..w * h {
            if seen[start] || !on(start) {
                continue;
            }
            let (mut x1, mut y1, mut x2, mut y2) = (w, h, 0, 0);
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                (x1, y1, x2, y2) = (x1.min(x), y1.min(y), x2.max(x + 1), y2.max(y + 1));
                let mut push = |j: usize| {
                    if !seen[j] && on(j) {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    push(i - 1);
                }
                if x + 1 < w {
                    push(i + 1);
                }
                if y > 0 {
                    push(i - w);
                }
                if y + 1 < h {
                    push(i + w);
                }
            }
            out.push(Detection {
                bbox: BBox::new(x1 as f64, y1 as f64, x2 as f64, y2 as f64),
                score: 1.0,
            });
        }
        out
    }

    #[test]
    fn painted_basins_come_back_through_tiles_batches_and_stitching() {
        let (w, h) = (1100, 900);
        // In (x1, y1) order, as the result is sorted below.
        let truth = [
            BBox::new(10.0, 10.0, 90.0, 70.0),
            BBox::new(230.0, 100.0, 300.0, 180.0), // across the first vertical tile edge
            BBox::new(500.0, 230.0, 560.0, 290.0), // across a tile corner
            BBox::new(700.0, 600.0, 780.0, 650.0),
            BBox::new(1040.0, 820.0, 1100.0, 900.0), // in the scene's corner
        ];
        let mut data = vec![0.0f32; w * h];
        let mut valid = vec![true; w * h];
        for b in &truth {
            for y in b.y1 as usize..b.y2 as usize {
                for x in b.x1 as usize..b.x2 as usize {
                    data[y * w + x] = 1.0;
                }
            }
        }
        // A no-data hole away from the basins.
        for y in 400..500 {
            for x in 100..200 {
                valid[y * w + x] = false;
            }
        }
        let mut src = SliceSource::one_band(w, h, &data, Some(&valid));
        // Square tiles, and windows of 448 × 512 (each axis fitted on its own).
        let windows = TilePlan::windows(w, h, [256, 512], 96, 32).unwrap();
        assert_eq!((windows.tile_width, windows.tile_height), (448, 512));
        let plans = [
            TilePlan::new(w, h, 256, 0).unwrap(),
            TilePlan::new(w, h, 256, 96).unwrap(),
            windows,
        ];
        for plan in plans {
            let overlap = (plan.overlap, plan.tile_width, plan.tile_height);
            let mut calls = 0;
            let found = detect_scene(
                &mut src,
                &plan,
                3,
                |tiles: &[TileData]| {
                    calls += 1;
                    assert!(tiles.len() <= 3);
                    Ok::<_, std::convert::Infallible>(tiles.iter().map(blobs).collect())
                },
                &StitchParams::default(),
            )
            .unwrap();
            assert_eq!(
                calls,
                plan.len().div_ceil(3),
                "overlap, tile sides {overlap:?}"
            );
            let mut got: Vec<BBox> = found.iter().map(|d| d.bbox).collect();
            got.sort_by(|a, b| (a.x1, a.y1).partial_cmp(&(b.x1, b.y1)).unwrap());
            assert_eq!(got, truth.to_vec(), "overlap, tile sides {overlap:?}");
        }
    }

    /// A source whose rows from `fail_from` on cannot be read.
    struct FailingFrom<'a> {
        inner: SliceSource<'a>,
        fail_from: usize,
    }

    impl RowSource for FailingFrom<'_> {
        fn width(&self) -> usize {
            self.inner.width()
        }
        fn height(&self) -> usize {
            self.inner.height()
        }
        fn read_rows(
            &mut self,
            y0: usize,
            n: usize,
        ) -> Result<crate::tiling::Strip, Box<dyn Error + Send + Sync>> {
            if y0 + n > self.fail_from {
                return Err("disk gone".into());
            }
            self.inner.read_rows(y0, n)
        }
    }

    /// The reading thread and the detector stop each other: a read failing after some
    /// batches were detected, a detector failing while the reader is ahead, and a failing
    /// preparation each end the scan with their own error (no hang, no lost error).
    #[test]
    fn errors_on_either_side_of_the_reading_thread_end_the_scan() {
        let side = 1024;
        let plan = TilePlan::new(side, side, 256, 0).unwrap();
        let data = vec![0.0; side * side];
        let mut src = FailingFrom {
            inner: SliceSource::one_band(side, side, &data, None),
            fail_from: 600,
        };
        let mut detected = 0;
        let err = detect_tiles(&mut src, &plan, 2, |tiles: &[TileData]| {
            detected += tiles.len();
            Ok::<_, std::convert::Infallible>(vec![Vec::new(); tiles.len()])
        })
        .unwrap_err();
        assert!(matches!(err, TilingError::Source { .. }), "{err}");
        assert!(detected >= 4 && detected < plan.len(), "{detected}");

        src.fail_from = usize::MAX;
        let mut calls = 0;
        let err = detect_tiles(&mut src, &plan, 1, |_: &[TileData]| {
            calls += 1;
            Err::<Vec<Vec<Detection>>, _>("network out of memory")
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert!(err.to_string().contains("network out of memory"), "{err}");

        let err = detect_tiles_prepared(
            &mut src,
            &plan,
            3,
            |tiles: &[TileData]| {
                if tiles[0].tile.row == 2 {
                    Err("cannot encode")
                } else {
                    Ok(tiles.len())
                }
            },
            |tiles: &[TileData], prepared: usize| {
                assert_eq!(prepared, tiles.len());
                Ok(vec![Vec::new(); tiles.len()])
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot encode"), "{err}");
    }

    /// A basin cut by the right edge of the first tile and seen whole by the second: the
    /// piece scores well, the whole view poorly. Between the two scores the piece is not
    /// reported as a basin of its own; below both the whole view is; and a higher threshold
    /// never adds a box.
    #[test]
    fn a_cut_piece_goes_when_another_tile_saw_the_basin_whole() {
        let plan = TilePlan::new(672, 416, 416, 160).unwrap();
        let tiles: Vec<_> = plan.tiles().collect();
        assert_eq!((tiles.len(), tiles[0].x0, tiles[1].x0), (2, 0, 256));
        let det = |x1, x2, score| Detection {
            bbox: BBox::new(x1, 100.0, x2, 160.0),
            score,
        };
        let found = vec![
            TileDetections {
                tile: tiles[0],
                dets: vec![det(380.0, 416.0, 0.6)],
            },
            TileDetections {
                tile: tiles[1],
                dets: vec![det(124.0, 204.0, 0.2)],
            },
        ];
        let p = StitchParams::default();
        assert!(stitch_at(&plan, &found, 0.35, &p).is_empty());
        let low = stitch_at(&plan, &found, 0.1, &p);
        assert_eq!(low, vec![det(380.0, 460.0, 0.2)]);
        for (lo, hi) in [(0.05, 0.1), (0.1, 0.35), (0.35, 0.7)] {
            let a = stitch_at(&plan, &found, lo, &p);
            let b = stitch_at(&plan, &found, hi, &p);
            assert!(b.iter().all(|d| a.contains(d)), "{lo} → {hi}");
        }
    }

    /// Two panels of one mine boxed apart, overlapping by a third of the smaller box, become
    /// the bowl's one box at the higher score; a faint box over them under the threshold
    /// changes nothing, and `bowl_ios` above 1 keeps the panels apart.
    #[test]
    fn panels_of_one_bowl_become_one_box() {
        let plan = TilePlan::new(416, 416, 416, 0).unwrap();
        let tile = plan.tiles().next().unwrap();
        let d = |x1, y1, x2, y2, score| Detection {
            bbox: BBox::new(x1, y1, x2, y2),
            score,
        };
        // Intersection 20 × 40 = 800 of the smaller box's 60 × 40 = 2,400: IoS 1/3, IoU 0.08.
        let found = vec![TileDetections {
            tile,
            dets: vec![
                d(100.0, 100.0, 200.0, 160.0, 0.7),
                d(180.0, 110.0, 240.0, 150.0, 0.5),
                d(90.0, 90.0, 300.0, 300.0, 0.1),
                d(300.0, 10.0, 330.0, 40.0, 0.6),
            ],
        }];
        let p = StitchParams::default();
        assert_eq!(
            stitch_at(&plan, &found, 0.35, &p),
            vec![
                d(100.0, 100.0, 240.0, 160.0, 0.7),
                d(300.0, 10.0, 330.0, 40.0, 0.6)
            ]
        );
        let apart = StitchParams { bowl_ios: 1.5, ..p };
        assert_eq!(stitch_at(&plan, &found, 0.35, &apart).len(), 3);
        // Down to 0.05 with the operating point at 0.35: the same bowl, the faint box as found.
        let at_point = StitchParams {
            bowl_from: 0.35,
            ..p
        };
        assert_eq!(
            stitch_at(&plan, &found, 0.05, &at_point),
            vec![
                d(100.0, 100.0, 240.0, 160.0, 0.7),
                d(300.0, 10.0, 330.0, 40.0, 0.6),
                d(90.0, 90.0, 300.0, 300.0, 0.1)
            ]
        );
    }

    #[test]
    fn detector_errors_and_wrong_counts_are_reported() {
        let data = vec![0.0f32; 64 * 64];
        let mut src = SliceSource::one_band(64, 64, &data, None);
        let plan = TilePlan::new(64, 64, 32, 0).unwrap();
        let err = detect_scene(
            &mut src,
            &plan,
            2,
            |_: &[TileData]| Err("no model"),
            &StitchParams::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no model"), "{err}");
        let err = detect_scene(
            &mut src,
            &plan,
            2,
            |_: &[TileData]| Ok::<_, String>(vec![Vec::new()]),
            &StitchParams::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("1 lists for 2 tiles"), "{err}");
    }
}

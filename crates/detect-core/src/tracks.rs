//! Basin tracks: the same subsidence basin found in many interferometric pairs, linked.
//!
//! A longwall panel subsides for months, so an archive of 12-day pairs shows the same
//! basin pair after pair. Two sightings are the same basin when their footprints (boxes in
//! one CRS common to every scene: lon/lat) overlap by at least half of the smaller one;
//! tracks are the connected components of that relation. Over the smaller, not over the
//! union (IoU): a basin's visible extent changes from pair to pair — a short pair shows
//! the active part over the face, a long or coherent one the whole bowl, and the bowl
//! grows as the face advances — and IoU would split a track whenever one box is much
//! smaller than the other, while a box lying inside another is the same basin seen
//! partly. It is also the rule the stitcher uses for the same question (a cut piece of a
//! basin against the whole, [`crate::iou::ios`]). In lon/lat the ratio is exact to the
//! curvature over a basin (a km): degrees map to metres by a local affine map, and area
//! ratios do not change under one.
//!
//! The price of components is chaining: a large box over two neighbouring basins joins
//! their tracks. Scores and the per-pair table let that be seen.
//!
//! Ids are deterministic: sightings are ordered by first date, second date, then position
//! (centre longitude, latitude), then scene and score; basin ids follow that order, and a
//! track's id is the rank of its first sighting in it — the same inputs in any order give
//! the same ids.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::bbox::BBox;
use crate::iou::ios;

/// The least intersection over the smaller footprint that makes two sightings one basin.
pub const MIN_OVERLAP: f64 = 0.5;

/// A box covering more grid cells than this per side is compared with every box instead
/// of being entered in each cell (keeps one huge false alarm from filling the grid).
const MAX_CELLS_PER_SIDE: i64 = 8;

/// One detection of a basin in one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// The footprint in a CRS common to every scene (x = longitude, y = latitude).
    pub footprint: BBox,
    /// Acquisition dates, ISO 8601 (`2021-01-11`, so text order is time order); empty when
    /// the scene's name gave none (then ordered after every dated sighting).
    pub first_date: String,
    pub second_date: String,
    /// The scene it was found in.
    pub scene: String,
    pub score: f64,
}

/// Sightings linked into tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracks {
    /// The sightings in id order: `order[k]` is the input index of basin id `k + 1`.
    pub order: Vec<usize>,
    /// `track[i]`: the track id (from 1) of input sighting `i`.
    pub track: Vec<usize>,
    /// The number of tracks.
    pub count: usize,
}

/// One track's best sighting in one pair (`merge`'s per-track table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackPair {
    pub track: usize,
    /// The input index of the pair's highest-scoring sighting of the track (overlapping
    /// frames see a basin twice in one pair).
    pub best: usize,
    /// How many sightings of the track the pair has.
    pub sightings: usize,
}

/// Links `sightings` whose footprints overlap by at least `min_overlap` of the smaller.
pub fn link(sightings: &[Sighting], min_overlap: f64) -> Tracks {
    let order = canonical_order(sightings);
    let footprints: Vec<BBox> = sightings.iter().map(|s| s.footprint).collect();
    let mut sets = components(&footprints, min_overlap);
    let mut id_of_root: HashMap<usize, usize> = HashMap::new();
    let mut track = vec![0; sightings.len()];
    for &i in &order {
        let root = sets.find(i);
        let next = id_of_root.len() + 1;
        track[i] = *id_of_root.entry(root).or_insert(next);
    }
    Tracks {
        order,
        track,
        count: id_of_root.len(),
    }
}

/// One row per (track, pair): its best sighting, sorted by track, then dates (unknown last).
pub fn by_pair(sightings: &[Sighting], tracks: &Tracks) -> Vec<TrackPair> {
    let mut rows: Vec<TrackPair> = Vec::new();
    let mut row_of: HashMap<(usize, &str, &str), usize> = HashMap::new();
    // Id order puts a pair's sightings after the pair's first, so the first seen is kept
    // on equal scores.
    for &i in &tracks.order {
        let (Some(s), Some(&t)) = (sightings.get(i), tracks.track.get(i)) else {
            continue;
        };
        let key = (t, s.first_date.as_str(), s.second_date.as_str());
        match row_of.get(&key).and_then(|&r| rows.get_mut(r)) {
            Some(row) => {
                row.sightings += 1;
                if sightings.get(row.best).is_some_and(|b| s.score > b.score) {
                    row.best = i;
                }
            }
            None => {
                row_of.insert(key, rows.len());
                rows.push(TrackPair {
                    track: t,
                    best: i,
                    sightings: 1,
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        a.track
            .cmp(&b.track)
            .then_with(|| match (sightings.get(a.best), sightings.get(b.best)) {
                (Some(x), Some(y)) => by_dates(x, y),
                _ => Ordering::Equal,
            })
    });
    rows
}

/// Input indices in id order: first date, second date, centre x, centre y, scene, score
/// (highest first).
pub fn canonical_order(sightings: &[Sighting]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sightings.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&sightings[a], &sightings[b]);
        let [xc, yc] = [x.footprint.center(), y.footprint.center()];
        by_dates(x, y)
            .then_with(|| xc[0].total_cmp(&yc[0]))
            .then_with(|| xc[1].total_cmp(&yc[1]))
            .then_with(|| x.scene.cmp(&y.scene))
            .then_with(|| y.score.total_cmp(&x.score))
            .then_with(|| a.cmp(&b))
    });
    order
}

/// Dated before undated, then chronologically by first, then second date.
fn by_dates(x: &Sighting, y: &Sighting) -> Ordering {
    fn key(s: &Sighting) -> (bool, &str, bool, &str) {
        (
            s.first_date.is_empty(),
            &s.first_date,
            s.second_date.is_empty(),
            &s.second_date,
        )
    }
    key(x).cmp(&key(y))
}

/// The connected components of "overlaps by at least `min_overlap` of the smaller".
///
/// Boxes are entered in a uniform grid of cells the size of the median box, and only boxes
/// sharing a cell are compared: an archive holds 10⁵–10⁶ sightings, all pairs would be
/// 10¹¹. Two boxes that overlap at all share a cell, so nothing is missed.
fn components(boxes: &[BBox], min_overlap: f64) -> DisjointSets {
    let mut sets = DisjointSets::new(boxes.len());
    let proper: Vec<usize> = (0..boxes.len()).filter(|&i| boxes[i].is_proper()).collect();
    let Some(cell) = median_side(boxes, &proper) else {
        return sets;
    };
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    let mut huge = Vec::new();
    for &i in &proper {
        let b = &boxes[i];
        let (cx, cy) = (cells(b.x1, b.x2, cell), cells(b.y1, b.y2, cell));
        if cx.1.saturating_sub(cx.0) >= MAX_CELLS_PER_SIDE
            || cy.1.saturating_sub(cy.0) >= MAX_CELLS_PER_SIDE
        {
            huge.push(i);
            continue;
        }
        for gx in cx.0..=cx.1 {
            for gy in cy.0..=cy.1 {
                grid.entry((gx, gy)).or_default().push(i);
            }
        }
    }
    let try_join = |sets: &mut DisjointSets, a: usize, b: usize| {
        if sets.find(a) != sets.find(b) && ios(&boxes[a], &boxes[b]) >= min_overlap {
            sets.union(a, b);
        }
    };
    for members in grid.values() {
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                try_join(&mut sets, a, b);
            }
        }
    }
    for &a in &huge {
        for &b in &proper {
            if a != b {
                try_join(&mut sets, a, b);
            }
        }
    }
    sets
}

/// The median of the boxes' larger sides: the grid's cell size.
fn median_side(boxes: &[BBox], proper: &[usize]) -> Option<f64> {
    let mut sides: Vec<f64> = proper
        .iter()
        .map(|&i| boxes[i].width().max(boxes[i].height()))
        .collect();
    sides.sort_by(f64::total_cmp);
    sides.get(sides.len() / 2).copied().filter(|s| *s > 0.0)
}

/// The first and last cell index covering `[lo, hi]`.
fn cells(lo: f64, hi: f64, cell: f64) -> (i64, i64) {
    // Float-to-int `as` saturates, so coordinates far outside any CRS stay defined.
    ((lo / cell).floor() as i64, (hi / cell).floor() as i64)
}

/// Union–find with path halving and union by size.
struct DisjointSets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra;
        self.size[ra] += self.size[rb];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn seen(x1: f64, y1: f64, x2: f64, y2: f64, first: &str, score: f64) -> Sighting {
        Sighting {
            footprint: BBox::new(x1, y1, x2, y2),
            first_date: first.into(),
            second_date: String::new(),
            scene: format!("{first}.tif"),
            score,
        }
    }

    #[test]
    fn chain_is_one_track_disjoint_is_another() {
        // A ∩ B = 0.6 of each (unit boxes shifted 0.4), B ∩ C likewise, A ∩ C empty: one
        // track through B. D lies far away.
        let s = vec![
            seen(0.8, 0.0, 1.8, 1.0, "2021-01-13", 0.9), // C
            seen(0.0, 0.0, 1.0, 1.0, "2021-01-01", 0.9), // A
            seen(5.0, 5.0, 6.0, 6.0, "2021-01-01", 0.9), // D
            seen(0.4, 0.0, 1.4, 1.0, "2021-01-07", 0.9), // B
        ];
        let t = link(&s, MIN_OVERLAP);
        assert_eq!(t.count, 2);
        // Ids by first date then position: A (01-01, x 0.5) 1, D (01-01, x 5.5) 2, B 3, C 4.
        assert_eq!(t.order, vec![1, 2, 3, 0]);
        assert_eq!(t.track, vec![1, 1, 2, 1]);
    }

    #[test]
    fn overlap_of_the_smaller_decides() {
        // A 1×1 box inside a 2×2 one: IoU 0.25, but all of the smaller: one basin.
        let inside = [
            seen(0.0, 0.0, 2.0, 2.0, "2021-01-01", 0.5),
            seen(0.5, 0.5, 1.5, 1.5, "2021-01-13", 0.5),
        ];
        assert_eq!(link(&inside, MIN_OVERLAP).count, 1);
        // Unit boxes overlapping by 0.4 of each stay apart; by 0.5 they join.
        let apart = [
            seen(0.0, 0.0, 1.0, 1.0, "2021-01-01", 0.5),
            seen(0.6, 0.0, 1.6, 1.0, "2021-01-13", 0.5),
        ];
        assert_eq!(link(&apart, MIN_OVERLAP).count, 2);
        let half = [
            seen(0.0, 0.0, 1.0, 1.0, "2021-01-01", 0.5),
            seen(0.5, 0.0, 1.5, 1.0, "2021-01-13", 0.5),
        ];
        assert_eq!(link(&half, MIN_OVERLAP).count, 1);
        // A degenerate footprint joins nothing.
        let flat = [
            seen(0.0, 0.0, 1.0, 1.0, "2021-01-01", 0.5),
            seen(0.5, 0.5, 0.5, 0.9, "2021-01-13", 0.5),
        ];
        assert_eq!(link(&flat, MIN_OVERLAP).track, vec![1, 2]);
    }

    #[test]
    fn undated_sightings_come_last() {
        let s = [
            seen(0.0, 0.0, 1.0, 1.0, "", 0.5),
            seen(9.0, 9.0, 10.0, 10.0, "2021-01-13", 0.5),
        ];
        let t = link(&s, MIN_OVERLAP);
        assert_eq!(t.order, vec![1, 0]);
        assert_eq!(t.track, vec![2, 1]);
    }

    #[test]
    fn ids_do_not_depend_on_input_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let s: Vec<Sighting> = (0..60).map(|_| random_sighting(&mut rng)).collect();
        let t = link(&s, MIN_OVERLAP);
        let mut perm: Vec<usize> = (0..s.len()).collect();
        perm.reverse();
        perm.rotate_left(17);
        let shuffled: Vec<Sighting> = perm.iter().map(|&i| s[i].clone()).collect();
        let u = link(&shuffled, MIN_OVERLAP);
        for (k, &i) in perm.iter().enumerate() {
            assert_eq!(u.track[k], t.track[i], "sighting {i}");
        }
        let ids = |t: &Tracks, s: &[Sighting]| -> Vec<Sighting> {
            t.order.iter().map(|&i| s[i].clone()).collect()
        };
        assert_eq!(ids(&u, &shuffled), ids(&t, &s));
    }

    fn random_sighting(rng: &mut ChaCha8Rng) -> Sighting {
        // Mostly basin-sized boxes over a small area, a few large ones.
        let side = if rng.random_bool(0.05) {
            rng.random_range(2.0..6.0)
        } else {
            rng.random_range(0.05..0.3)
        };
        let (x, y) = (rng.random_range(0.0..3.0), rng.random_range(0.0..3.0));
        let day = rng.random_range(1..28);
        seen(
            x,
            y,
            x + side,
            y + side * rng.random_range(0.5..1.5),
            &format!("2021-01-{day:02}"),
            rng.random(),
        )
    }

    #[test]
    fn grid_finds_what_comparing_every_pair_finds() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..20 {
            let s: Vec<Sighting> = (0..150).map(|_| random_sighting(&mut rng)).collect();
            let fast = link(&s, MIN_OVERLAP);
            // Reference: every pair, then the same relabelling.
            let mut sets = DisjointSets::new(s.len());
            for a in 0..s.len() {
                for b in a + 1..s.len() {
                    if ios(&s[a].footprint, &s[b].footprint) >= MIN_OVERLAP {
                        sets.union(a, b);
                    }
                }
            }
            for a in 0..s.len() {
                for b in 0..s.len() {
                    let same_ref = sets.find(a) == sets.find(b);
                    assert_eq!(fast.track[a] == fast.track[b], same_ref, "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn one_row_per_track_and_pair_with_the_best_score() {
        let mut s = vec![
            seen(0.0, 0.0, 1.0, 1.0, "2021-01-13", 0.6),
            seen(0.1, 0.0, 1.1, 1.0, "2021-01-01", 0.7),
            seen(0.2, 0.0, 1.2, 1.0, "2021-01-13", 0.8), // the same pair, another frame
            seen(7.0, 7.0, 8.0, 8.0, "2021-01-07", 0.9),
        ];
        s[2].scene = "other-frame.tif".into();
        let t = link(&s, MIN_OVERLAP);
        let rows = by_pair(&s, &t);
        let got: Vec<(usize, usize, usize)> = rows
            .iter()
            .map(|r| (r.track, r.best, r.sightings))
            .collect();
        assert_eq!(got, vec![(1, 1, 1), (1, 2, 2), (2, 3, 1)]);
    }
}

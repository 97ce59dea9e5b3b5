//! Label boxes from the noise-free deformation of each basin.
//!
//! Convention: one box per visually separate bowl. A *basin* is a group of panels. Panels
//! start alone; two groups merge when their visible regions (|own LOS| ≥ threshold, the
//! group's own LOS being the sum of its panels') touch or overlap (8-neighbourhood): people
//! box one connected fringe pattern. Panels separated by undisturbed ground (below the
//! threshold) stay separate basins with separate boxes, even when one box overlaps the
//! other (a detector sees two bowls there, and a merged box would teach it to join them).
//! Merging repeats until stable. The box is the axis-aligned bounding box of the group's
//! visible pixels inside the window.

use crate::deformation::Patch;
use rayon::prelude::*;

/// Pixel rectangle of the area that is labelled (the tile or the scene).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub x0: usize,
    pub y0: usize,
    pub w: usize,
    pub h: usize,
}

/// Box in window pixels, `x2`/`y2` exclusive (pixel edges).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PixBox {
    pub x1: usize,
    pub y1: usize,
    pub x2: usize,
    pub y2: usize,
}

impl PixBox {
    pub fn width(&self) -> usize {
        self.x2 - self.x1
    }
    pub fn height(&self) -> usize {
        self.y2 - self.y1
    }
    pub fn contains(&self, c: usize, r: usize) -> bool {
        c >= self.x1 && c < self.x2 && r >= self.y1 && r < self.y2
    }
    /// The smallest box holding `b` and pixel (`c`, `r`).
    pub fn grow(b: Option<PixBox>, c: usize, r: usize) -> PixBox {
        match b {
            None => PixBox {
                x1: c,
                y1: r,
                x2: c + 1,
                y2: r + 1,
            },
            Some(b) => PixBox {
                x1: b.x1.min(c),
                y1: b.y1.min(r),
                x2: b.x2.max(c + 1),
                y2: b.y2.max(r + 1),
            },
        }
    }
}

/// A group's summed own LOS over the window, stored sparsely (visible pixels only).
#[derive(Clone, Debug)]
pub struct GroupMask {
    /// Visible pixels (window coordinates) and their LOS.
    pub pixels: Vec<(usize, usize, f32)>,
    pub bbox: Option<PixBox>,
}

/// A labelled basin: member panel indices, the box at the label threshold, and facts.
#[derive(Clone, Debug)]
pub struct BasinLabel {
    pub members: Vec<usize>,
    pub bbox: PixBox,
    /// Largest |own LOS| inside the window (m).
    pub max_abs_los_m: f32,
    /// The box reaches the window edge: the basin continues outside.
    pub truncated: bool,
}

/// Sum of the member patches' LOS over the window; visible pixels at `threshold`.
pub fn group_mask(
    patches: &[Option<Patch>],
    members: &[usize],
    win: Window,
    threshold: f32,
) -> GroupMask {
    // Dense sum over the union of the members' footprints (clipped to the window): one
    // pass per member in member order, then a row-major scan gives the pixels sorted.
    let rects: Vec<(&Patch, [usize; 4])> = members
        .iter()
        .filter_map(|&m| patches[m].as_ref())
        .filter_map(|p| {
            let c0 = p.x0.max(win.x0);
            let r0 = p.y0.max(win.y0);
            let c1 = (p.x0 + p.w).min(win.x0 + win.w);
            let r1 = (p.y0 + p.h).min(win.y0 + win.h);
            (c1 > c0 && r1 > r0).then_some((p, [c0, r0, c1, r1]))
        })
        .collect();
    let mut pixels = Vec::new();
    if let Some(u) = rects.iter().map(|r| r.1).reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    }) {
        let uw = u[2] - u[0];
        let mut acc = vec![0.0f32; uw * (u[3] - u[1])];
        for (p, [c0, r0, c1, r1]) in &rects {
            for r in *r0..*r1 {
                let src = &p.los[(r - p.y0) * p.w + (c0 - p.x0)..][..c1 - c0];
                let dst = &mut acc[(r - u[1]) * uw + (c0 - u[0])..][..c1 - c0];
                for (d, v) in dst.iter_mut().zip(src) {
                    *d += v;
                }
            }
        }
        for (i, &v) in acc.iter().enumerate() {
            if v != 0.0 && v.abs() >= threshold {
                let (c, r) = (u[0] + i % uw, u[1] + i / uw);
                pixels.push((c - win.x0, r - win.y0, v));
            }
        }
    }
    let bbox = pixels
        .iter()
        .fold(None, |b, &(c, r, _)| Some(PixBox::grow(b, c, r)));
    GroupMask { pixels, bbox }
}

/// Groups panels into basins by the convention above. Returns groups of panel indices
/// with their masks; groups with no visible pixel in the window are left out.
pub fn group_panels(
    patches: &[Option<Patch>],
    win: Window,
    threshold: f32,
) -> Vec<(Vec<usize>, GroupMask)> {
    let mut groups: Vec<Vec<usize>> = (0..patches.len())
        .filter(|&i| patches[i].is_some())
        .map(|i| vec![i])
        .collect();
    let mut masks: Vec<GroupMask> = groups
        .par_iter()
        .map(|g| group_mask(patches, g, win, threshold))
        .collect();
    loop {
        match find_merge(&masks) {
            Some((a, b)) => {
                let gb = groups.remove(b);
                masks.remove(b);
                groups[a].extend(gb);
                groups[a].sort_unstable();
                masks[a] = group_mask(patches, &groups[a], win, threshold);
            }
            None => {
                return groups
                    .into_iter()
                    .zip(masks)
                    .filter(|(_, m)| m.bbox.is_some())
                    .collect();
            }
        }
    }
}

/// First pair (a < b) of groups whose visible regions touch. Only pairs whose boxes come
/// within a pixel of each other can, and each such pair is checked on a small grid over
/// where their boxes meet.
fn find_merge(masks: &[GroupMask]) -> Option<(usize, usize)> {
    for (a, ma) in masks.iter().enumerate() {
        let Some(ba) = ma.bbox else { continue };
        for (b, mb) in masks.iter().enumerate().skip(a + 1) {
            let Some(bb) = mb.bbox else { continue };
            let near = bb.x1 <= ba.x2 && ba.x1 <= bb.x2 && bb.y1 <= ba.y2 && ba.y1 <= bb.y2;
            if !near {
                continue;
            }
            if touch(ma, ba, mb, bb) {
                return Some((a, b));
            }
        }
    }
    None
}

/// Whether a visible pixel of `ma` is one of the 8 neighbours of (or the same as) a visible
/// pixel of `mb`. Both pixels of such a pair lie within one pixel of the other's box, so a
/// grid over the meeting region of the two boxes (each grown by a pixel) decides it.
fn touch(ma: &GroupMask, ba: PixBox, mb: &GroupMask, bb: PixBox) -> bool {
    let x1 = ba.x1.max(bb.x1).saturating_sub(1);
    let y1 = ba.y1.max(bb.y1).saturating_sub(1);
    let x2 = ba.x2.min(bb.x2) + 1;
    let y2 = ba.y2.min(bb.y2) + 1;
    if x2 <= x1 || y2 <= y1 {
        return false;
    }
    let (gw, gh) = (x2 - x1, y2 - y1);
    let inside = |c: usize, r: usize| c >= x1 && c < x2 && r >= y1 && r < y2;
    let mut grid = vec![false; gw * gh];
    for &(c, r, _) in &ma.pixels {
        if inside(c, r) {
            grid[(r - y1) * gw + (c - x1)] = true;
        }
    }
    mb.pixels.iter().any(|&(c, r, _)| {
        inside(c, r)
            && (r.saturating_sub(1).max(y1)..(r + 2).min(y2)).any(|rr| {
                (c.saturating_sub(1).max(x1)..(c + 2).min(x2))
                    .any(|cc| grid[(rr - y1) * gw + (cc - x1)])
            })
    })
}

/// Labels of the groups whose box is at least `min_px` wide and high and whose peak |LOS|
/// in the window reaches `min_peak`. The others are returned separately: callers remove
/// them from the simulation, so nothing visible goes unlabelled and no label marks a
/// basin too faint to see.
pub fn make_labels(
    groups: Vec<(Vec<usize>, GroupMask)>,
    win: Window,
    min_px: usize,
    min_peak: f32,
) -> (Vec<BasinLabel>, Vec<Vec<usize>>) {
    let mut labels = Vec::new();
    let mut tiny = Vec::new();
    for (members, mask) in groups {
        let Some(b) = mask.bbox else { continue };
        let max_abs = mask.pixels.iter().fold(0.0f32, |m, p| m.max(p.2.abs()));
        if b.width() < min_px || b.height() < min_px || max_abs < min_peak {
            tiny.push(members);
            continue;
        }
        let truncated = b.x1 == 0 || b.y1 == 0 || b.x2 == win.w || b.y2 == win.h;
        labels.push(BasinLabel {
            members,
            bbox: b,
            max_abs_los_m: max_abs,
            truncated,
        });
    }
    (labels, tiny)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(x0: usize, y0: usize, w: usize, h: usize, amp: f32) -> Patch {
        // A cone: amp at the centre, zero at the patch edge.
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let los = (0..w * h)
            .map(|i| {
                let (c, r) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
                let d = (((c - cx) / cx).powi(2) + ((r - cy) / cy).powi(2)).sqrt();
                -amp * (1.0 - d).max(0.0)
            })
            .collect();
        Patch { x0, y0, w, h, los }
    }

    const WIN: Window = Window {
        x0: 0,
        y0: 0,
        w: 100,
        h: 100,
    };

    #[test]
    fn separate_basins_get_separate_boxes() {
        let patches = vec![
            Some(blob(5, 5, 20, 20, 1.0)),
            Some(blob(60, 60, 30, 20, 1.0)),
        ];
        let g = group_panels(&patches, WIN, 0.5);
        assert_eq!(g.len(), 2);
        let b = g[0].1.bbox.expect("visible");
        // |LOS| ≥ 0.5 inside half the cone radius: a 10 × 10 box around the centre.
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (10, 10, 20, 20));
    }

    #[test]
    fn touching_basins_merge() {
        let patches = vec![
            Some(blob(10, 10, 20, 20, 1.0)),
            Some(blob(22, 10, 20, 20, 1.0)),
        ];
        let g = group_panels(&patches, WIN, 0.3);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].0, vec![0, 1]);
    }

    #[test]
    fn a_bowl_apart_from_another_keeps_its_box_inside_the_others() {
        // A long thin diagonal's box contains a small blob beside it, with undisturbed
        // ground between them: two bowls, two boxes.
        let mut diag = Patch {
            x0: 0,
            y0: 0,
            w: 60,
            h: 60,
            los: vec![0.0; 3600],
        };
        for i in 0..60 {
            diag.los[i * 60 + i] = -1.0;
        }
        let small = blob(40, 5, 10, 10, 1.0);
        let g = group_panels(&[Some(diag), Some(small)], WIN, 0.5);
        assert_eq!(g.len(), 2);
        let (big, inner) = (g[0].1.bbox.expect("diag"), g[1].1.bbox.expect("blob"));
        assert!(big.contains(inner.x1, inner.y1) && big.contains(inner.x2 - 1, inner.y2 - 1));
    }

    proptest::proptest! {
        /// Whatever the layout, each group's box holds all pixels where the sum of its
        /// members reaches the threshold, and no visible pixel of one group touches (is an
        /// 8-neighbour of) a visible pixel of another.
        #[test]
        fn boxes_are_complete_and_bowls_apart(
            blobs in proptest::collection::vec((0usize..90, 0usize..90, 4usize..40, 4usize..40, 0.2f32..2.0), 1..6)
        ) {
            let patches: Vec<Option<Patch>> =
                blobs.iter().map(|&(x, y, w, h, a)| Some(blob(x, y, w, h, a))).collect();
            let thr = 0.3;
            let groups = group_panels(&patches, WIN, thr);
            // Owner of each visible pixel, from the members' LOS summed independently.
            let mut owner = vec![None; WIN.w * WIN.h];
            for (gi, (members, mask)) in groups.iter().enumerate() {
                let b = mask.bbox.expect("visible groups only");
                for r in 0..WIN.h {
                    for c in 0..WIN.w {
                        let v: f32 = members
                            .iter()
                            .filter_map(|&m| patches[m].as_ref())
                            .map(|p| p.at(c, r))
                            .sum();
                        if v.abs() >= thr {
                            proptest::prop_assert!(b.contains(c, r));
                            proptest::prop_assert!(owner[r * WIN.w + c].is_none());
                            owner[r * WIN.w + c] = Some(gi);
                        }
                    }
                }
                proptest::prop_assert!(!members.is_empty());
            }
            for r in 0..WIN.h {
                for c in 0..WIN.w {
                    let Some(g) = owner[r * WIN.w + c] else { continue };
                    for (nc, nr) in [(c + 1, r), (c, r + 1), (c + 1, r + 1), (c.wrapping_sub(1), r + 1)] {
                        if nc < WIN.w
                            && nr < WIN.h
                            && let Some(o) = owner[nr * WIN.w + nc]
                        {
                            proptest::prop_assert_eq!(o, g);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tiny_and_edge_cut_basins() {
        let patches = vec![
            Some(blob(0, 40, 8, 8, 1.0)),
            Some(blob(80, 30, 40, 40, 1.0)),
        ];
        let win = Window {
            x0: 0,
            y0: 0,
            w: 100,
            h: 100,
        };
        let (labels, tiny) = make_labels(group_panels(&patches, win, 0.2), win, 8, 0.0);
        assert_eq!(tiny, vec![vec![0]]);
        assert_eq!(labels.len(), 1);
        assert!(labels[0].truncated);
        assert_eq!(labels[0].bbox.x2, 100);
        // A faint basin (peak 0.3 < 0.5) is set aside as well.
        let faint = vec![Some(blob(40, 40, 20, 20, 0.3))];
        let (labels, tiny) = make_labels(group_panels(&faint, win, 0.2), win, 8, 0.5);
        assert!(labels.is_empty() && tiny == vec![vec![0]]);
    }
}

//! YOLOv5's own assignment (utils/loss.py `build_targets`), for the `yolov5` variant: a gt
//! goes to every anchor whose width and height ratios are within `anchor_t` (4.0), in its
//! own cell and the two neighbouring cells nearest its centre (offset g = 0.5).

/// One positive of one level: the cell-anchor that predicts it and its target box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct V5Target {
    /// Image in the batch.
    pub image: usize,
    /// Anchor index (0..3) within the level.
    pub anchor: usize,
    /// Cell column.
    pub gi: usize,
    /// Cell row.
    pub gj: usize,
    /// Target box in grid units, centre relative to the cell's corner: (x, y, w, h).
    pub tbox: [f32; 4],
}

/// Neighbour-cell offset of YOLOv5 (`g`).
const G: f32 = 0.5;

/// Builds the positives of one level.
///
/// `gts[b]` are image b's boxes in pixels (xyxy); `anchors` the level's three anchors in
/// pixels (w, h); the grid is `w × h` cells of `stride` pixels.
pub fn build_targets(
    gts: &[Vec<[f32; 4]>],
    anchors: &[[f32; 2]; 3],
    stride: f32,
    grid: (usize, usize),
    anchor_t: f32,
) -> Vec<V5Target> {
    let (gw_cells, gh_cells) = grid;
    let mut out = Vec::new();
    for (image, boxes) in gts.iter().enumerate() {
        for (a, anchor) in anchors.iter().enumerate() {
            let (aw, ah) = (anchor[0] / stride, anchor[1] / stride);
            for b in boxes {
                let (gx, gy) = ((b[0] + b[2]) * 0.5 / stride, (b[1] + b[3]) * 0.5 / stride);
                let (w, h) = ((b[2] - b[0]) / stride, (b[3] - b[1]) / stride);
                let rw = (w / aw).max(aw / w);
                let rh = (h / ah).max(ah / h);
                let within_ratio = rw.max(rh) < anchor_t;
                if !within_ratio {
                    continue;
                }
                let (gxi, gyi) = (gw_cells as f32 - gx, gh_cells as f32 - gy);
                let mut offsets = vec![(0.0f32, 0.0f32)];
                if gx.fract() < G && gx > 1.0 {
                    offsets.push((G, 0.0));
                }
                if gy.fract() < G && gy > 1.0 {
                    offsets.push((0.0, G));
                }
                if gxi.fract() < G && gxi > 1.0 {
                    offsets.push((-G, 0.0));
                }
                if gyi.fract() < G && gyi > 1.0 {
                    offsets.push((0.0, -G));
                }
                for (ox, oy) in offsets {
                    let gi = ((gx - ox).floor().max(0.0) as usize).min(gw_cells - 1);
                    let gj = ((gy - oy).floor().max(0.0) as usize).min(gh_cells - 1);
                    out.push(V5Target {
                        image,
                        anchor: a,
                        gi,
                        gj,
                        tbox: [gx - gi as f32, gy - gj as f32, w, h],
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_cells_and_anchor_ratio_by_hand() {
        // Stride 8, 10×10 grid; box centre (26, 30) px → (3.25, 3.75) cells, 16×16 px = 2×2.
        let gts = vec![vec![[18.0, 22.0, 34.0, 38.0]]];
        // Anchor 0 matches (ratio 1); anchor 1 (2×2 px → 0.25 cells: ratio 8) does not;
        // anchor 2 is 40×40 px = 5 cells: ratio 2.5 < 4 matches.
        let anchors = [[16.0, 16.0], [2.0, 2.0], [40.0, 40.0]];
        let t = build_targets(&gts, &anchors, 8.0, (10, 10), 4.0);
        let cells: Vec<(usize, usize, usize)> = t.iter().map(|t| (t.anchor, t.gi, t.gj)).collect();
        // x frac 0.25 < 0.5 → left neighbour (2, 3); y frac 0.75: yi = 6.25 frac 0.25 → down (3, 4).
        assert_eq!(
            cells,
            vec![
                (0, 3, 3),
                (0, 2, 3),
                (0, 3, 4),
                (2, 3, 3),
                (2, 2, 3),
                (2, 3, 4)
            ]
        );
        assert_eq!(t[1].tbox, [1.25, 0.75, 2.0, 2.0]);
        assert_eq!(t[2].tbox, [0.25, -0.25, 2.0, 2.0]);
    }

    #[test]
    fn no_neighbours_at_the_border() {
        // Centre (0.25, 0.25) cells: the gx > 1 conditions fail, only the own cell.
        let gts = vec![vec![[0.0, 0.0, 4.0, 4.0]]];
        let t = build_targets(&gts, &[[4.0, 4.0]; 3], 8.0, (4, 4), 4.0);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|t| t.gi == 0 && t.gj == 0));
    }
}

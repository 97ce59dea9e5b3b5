//! Rectangles on interleaved 8-bit RGB pictures, for annotated outputs.

/// Draws the outline of the box (x1, y1, x2, y2) in pixels, `thickness` pixels wide inside
/// the box, clipped to the picture. Boxes wholly outside draw nothing.
pub fn draw_rect(
    rgb: &mut [u8],
    width: usize,
    height: usize,
    bbox: [f64; 4],
    color: [u8; 3],
    thickness: usize,
) {
    if width == 0 || height == 0 || rgb.len() < width * height * 3 {
        return;
    }
    // Pixel c covers [c, c + 1): a box edge at x2 ends in pixel ceil(x2) − 1.
    let clamp_x = |v: f64| v.clamp(0.0, width as f64);
    let clamp_y = |v: f64| v.clamp(0.0, height as f64);
    let (x1, x2) = (
        clamp_x(bbox[0]).floor() as usize,
        clamp_x(bbox[2]).ceil() as usize,
    );
    let (y1, y2) = (
        clamp_y(bbox[1]).floor() as usize,
        clamp_y(bbox[3]).ceil() as usize,
    );
    if x2 <= x1 || y2 <= y1 {
        return;
    }
    let t = thickness.max(1);
    let mut put = |x: usize, y: usize| {
        let o = (y * width + x) * 3;
        rgb[o..o + 3].copy_from_slice(&color);
    };
    for y in y1..y2 {
        for x in x1..x2 {
            let edge = x < x1 + t || x + t >= x2 || y < y1 + t || y + t >= y2;
            if edge {
                put(x, y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_by_hand() {
        let (w, h) = (6, 5);
        let mut rgb = vec![0u8; w * h * 3];
        draw_rect(&mut rgb, w, h, [1.0, 1.0, 5.0, 4.0], [9, 8, 7], 1);
        let lit = |x: usize, y: usize| rgb[(y * w + x) * 3] == 9;
        // Columns 1..=4, rows 1..=3: the border is lit, the inside (2..=3, 2) is not.
        let mut want = Vec::new();
        for y in 1..4 {
            for x in 1..5 {
                if x == 1 || x == 4 || y == 1 || y == 3 {
                    want.push((x, y));
                }
            }
        }
        let mut got = Vec::new();
        for y in 0..h {
            for x in 0..w {
                if lit(x, y) {
                    got.push((x, y));
                }
            }
        }
        want.sort_by_key(|&(x, y)| (y, x));
        assert_eq!(got, want);
    }

    #[test]
    fn clipped_and_outside_boxes_are_safe() {
        let (w, h) = (4, 4);
        let mut rgb = vec![0u8; w * h * 3];
        draw_rect(&mut rgb, w, h, [-10.0, -10.0, 100.0, 100.0], [1, 1, 1], 1);
        assert_eq!(rgb[0], 1);
        assert_eq!(rgb[(w + 1) * 3], 0, "inside stays untouched");
        let before = rgb.clone();
        draw_rect(&mut rgb, w, h, [10.0, 10.0, 20.0, 20.0], [5, 5, 5], 2);
        assert_eq!(rgb, before);
    }
}

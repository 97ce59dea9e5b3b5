//! Axis-aligned boxes in pixel coordinates and scored detections.
//!
//! Convention (docs/ARCHITECTURE.md): x to the right (columns), y down (rows); a pixel
//! (col c, row r) covers [c, c+1) × [r, r+1); width = x2 − x1 with no +1, so a box that
//! covers pixels 0..=9 is (0, 0, 10, 10) and has area 100.

use serde::{Deserialize, Serialize};

/// A box `(x1, y1, x2, y2)` in pixels, `x1 ≤ x2`, `y1 ≤ y2` for a proper box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

/// A detected box with its confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f64,
}

impl BBox {
    pub const fn new(x1: f64, y1: f64, x2: f64, y2: f64) -> Self {
        Self { x1, y1, x2, y2 }
    }

    /// From centre and size (the YOLO parametrisation).
    pub fn from_cxcywh(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        Self::new(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    }

    /// `[cx, cy, w, h]`.
    pub fn to_cxcywh(&self) -> [f64; 4] {
        let [cx, cy] = self.center();
        [cx, cy, self.width(), self.height()]
    }

    /// From the COCO parametrisation `[x, y, w, h]` (top-left corner and size).
    pub fn from_xywh(xywh: [f64; 4]) -> Self {
        let [x, y, w, h] = xywh;
        Self::new(x, y, x + w, y + h)
    }

    /// `[x, y, w, h]`, as COCO stores boxes.
    pub fn to_xywh(&self) -> [f64; 4] {
        [self.x1, self.y1, self.width(), self.height()]
    }

    pub fn width(&self) -> f64 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f64 {
        self.y2 - self.y1
    }

    /// Area; zero (not negative) for degenerate or inverted boxes.
    pub fn area(&self) -> f64 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn center(&self) -> [f64; 2] {
        [(self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0]
    }

    /// True when the box has finite coordinates and positive width and height.
    pub fn is_proper(&self) -> bool {
        [self.x1, self.y1, self.x2, self.y2]
            .iter()
            .all(|v| v.is_finite())
            && self.x2 > self.x1
            && self.y2 > self.y1
    }

    /// The box clipped to the image `[0, width] × [0, height]`.
    pub fn clip(&self, width: f64, height: f64) -> Self {
        Self::new(
            self.x1.clamp(0.0, width),
            self.y1.clamp(0.0, height),
            self.x2.clamp(0.0, width),
            self.y2.clamp(0.0, height),
        )
    }

    /// The common part of two boxes, `None` when they do not overlap with positive area.
    pub fn intersection(&self, other: &Self) -> Option<Self> {
        let b = Self::new(
            self.x1.max(other.x1),
            self.y1.max(other.y1),
            self.x2.min(other.x2),
            self.y2.min(other.y2),
        );
        b.is_proper().then_some(b)
    }

    /// Area of the common part (0 when disjoint or only touching).
    pub fn intersection_area(&self, other: &Self) -> f64 {
        let w = self.x2.min(other.x2) - self.x1.max(other.x1);
        let h = self.y2.min(other.y2) - self.y1.max(other.y1);
        if w <= 0.0 || h <= 0.0 { 0.0 } else { w * h }
    }

    /// The smallest box enclosing both.
    pub fn enclosing(&self, other: &Self) -> Self {
        Self::new(
            self.x1.min(other.x1),
            self.y1.min(other.y1),
            self.x2.max(other.x2),
            self.y2.max(other.y2),
        )
    }

    /// The box shifted by `(dx, dy)`.
    pub fn translate(&self, dx: f64, dy: f64) -> Self {
        Self::new(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)
    }

    /// True when `other` lies inside this box (borders may coincide).
    pub fn contains(&self, other: &Self) -> bool {
        other.x1 >= self.x1 && other.y1 >= self.y1 && other.x2 <= self.x2 && other.y2 <= self.y2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_has_no_plus_one() {
        let b = BBox::new(0.0, 0.0, 10.0, 5.0);
        assert_eq!(b.width(), 10.0);
        assert_eq!(b.height(), 5.0);
        assert_eq!(b.area(), 50.0);
    }

    #[test]
    fn cxcywh_round_trip() {
        let b = BBox::new(3.0, 4.0, 11.0, 20.0);
        let [cx, cy, w, h] = b.to_cxcywh();
        assert_eq!([cx, cy, w, h], [7.0, 12.0, 8.0, 16.0]);
        assert_eq!(BBox::from_cxcywh(cx, cy, w, h), b);
    }

    #[test]
    fn xywh_round_trip() {
        let b = BBox::from_xywh([1.5, 2.0, 3.0, 4.0]);
        assert_eq!(b, BBox::new(1.5, 2.0, 4.5, 6.0));
        assert_eq!(b.to_xywh(), [1.5, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn clip_to_image() {
        let b = BBox::new(-5.0, 10.0, 50.0, 120.0).clip(40.0, 100.0);
        assert_eq!(b, BBox::new(0.0, 10.0, 40.0, 100.0));
    }

    #[test]
    fn intersection_of_touching_boxes_is_empty() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        let b = BBox::new(10.0, 0.0, 20.0, 10.0);
        assert_eq!(a.intersection(&b), None);
        assert_eq!(a.intersection_area(&b), 0.0);
        let c = BBox::new(5.0, 5.0, 15.0, 15.0);
        assert_eq!(a.intersection(&c), Some(BBox::new(5.0, 5.0, 10.0, 10.0)));
        assert_eq!(a.intersection_area(&c), 25.0);
    }

    #[test]
    fn inverted_box_has_zero_area() {
        assert_eq!(BBox::new(5.0, 5.0, 1.0, 9.0).area(), 0.0);
        assert!(!BBox::new(5.0, 5.0, 1.0, 9.0).is_proper());
    }
}

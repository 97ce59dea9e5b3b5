//! The IoU family. All are symmetric in their two boxes; degenerate boxes (no area) have
//! IoU 0 with everything rather than NaN.
//!
//! - IoU  = |A∩B| / |A∪B|
//! - GIoU = IoU − |C \ (A∪B)| / |C|, C the smallest enclosing box (Rezatofighi et al. 2019)
//! - DIoU = IoU − ρ²/c², ρ the distance of the centres, c the diagonal of C (Zheng et al. 2020)
//! - CIoU = DIoU − αv, v = 4/π² (atan(w_b/h_b) − atan(w_a/h_a))², α = v / ((1 − IoU) + v)
//! - IoS  = |A∩B| / min(|A|, |B|): 1 when one box lies inside the other, which is what tells
//!   a part of a basin cut by a tile border from the whole.

use std::f64::consts::PI;

use crate::bbox::BBox;

/// Intersection over union.
pub fn iou(a: &BBox, b: &BBox) -> f64 {
    let inter = a.intersection_area(b);
    let union = a.area() + b.area() - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Generalised IoU, in [−1, 1].
pub fn giou(a: &BBox, b: &BBox) -> f64 {
    let inter = a.intersection_area(b);
    let union = a.area() + b.area() - inter;
    let hull = a.enclosing(b).area();
    if union <= 0.0 || hull <= 0.0 {
        return 0.0;
    }
    inter / union - (hull - union) / hull
}

/// Distance IoU, in [−1, 1] and never above IoU.
pub fn diou(a: &BBox, b: &BBox) -> f64 {
    iou(a, b) - centre_penalty(a, b)
}

/// Complete IoU: DIoU less an aspect-ratio term.
pub fn ciou(a: &BBox, b: &BBox) -> f64 {
    let i = iou(a, b);
    let v = aspect_term(a, b);
    // Identical aspect ratios (v = 0) with IoU 1 would give 0/0; no penalty is due there.
    let alpha = if v > 0.0 { v / ((1.0 - i) + v) } else { 0.0 };
    i - centre_penalty(a, b) - alpha * v
}

/// Intersection over the smaller box's area.
pub fn ios(a: &BBox, b: &BBox) -> f64 {
    let smaller = a.area().min(b.area());
    if smaller <= 0.0 {
        0.0
    } else {
        a.intersection_area(b) / smaller
    }
}

/// ρ²/c²: squared centre distance over the squared diagonal of the enclosing box.
fn centre_penalty(a: &BBox, b: &BBox) -> f64 {
    let hull = a.enclosing(b);
    let c2 = hull.width().powi(2) + hull.height().powi(2);
    if c2 <= 0.0 {
        return 0.0;
    }
    let [ax, ay] = a.center();
    let [bx, by] = b.center();
    ((ax - bx).powi(2) + (ay - by).powi(2)) / c2
}

/// v = 4/π² (atan(w_b/h_b) − atan(w_a/h_a))²; atan2 keeps zero heights finite.
fn aspect_term(a: &BBox, b: &BBox) -> f64 {
    let ra = a.width().max(0.0).atan2(a.height().max(0.0));
    let rb = b.width().max(0.0).atan2(b.height().max(0.0));
    4.0 / (PI * PI) * (rb - ra).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn identical_boxes() {
        let a = BBox::new(3.0, 4.0, 10.0, 20.0);
        for f in [iou, giou, diou, ciou, ios] {
            close(f(&a, &a), 1.0);
        }
    }

    #[test]
    fn disjoint_boxes() {
        // Unit squares two apart: hull 3×1, union 2, centres 2 apart, diagonal² 10.
        let a = BBox::new(0.0, 0.0, 1.0, 1.0);
        let b = BBox::new(2.0, 0.0, 3.0, 1.0);
        close(iou(&a, &b), 0.0);
        close(giou(&a, &b), -1.0 / 3.0);
        close(diou(&a, &b), -0.4);
        close(ciou(&a, &b), -0.4);
        close(ios(&a, &b), 0.0);
    }

    #[test]
    fn nested_boxes() {
        // 2×2 inside 4×4 with the same centre and aspect: only IoU = 4/16 remains.
        let a = BBox::new(0.0, 0.0, 4.0, 4.0);
        let b = BBox::new(1.0, 1.0, 3.0, 3.0);
        close(iou(&a, &b), 0.25);
        close(giou(&a, &b), 0.25);
        close(diou(&a, &b), 0.25);
        close(ciou(&a, &b), 0.25);
        close(ios(&a, &b), 1.0);
    }

    #[test]
    fn overlapping_boxes_of_different_aspect() {
        // a 2×2 at the origin, b 2×1 shifted right by 1: ∩ 1, ∪ 5, hull 3×2,
        // centres (1,1) and (2,0.5): ρ² 1.25, c² 13.
        let a = BBox::new(0.0, 0.0, 2.0, 2.0);
        let b = BBox::new(1.0, 0.0, 3.0, 1.0);
        close(iou(&a, &b), 0.2);
        close(giou(&a, &b), 0.2 - 1.0 / 6.0);
        close(diou(&a, &b), 0.2 - 1.25 / 13.0);
        // v = 4/π² (atan 2 − atan 1)² = 0.04195646149429056, α = v / (0.8 + v).
        close(ciou(&a, &b), 0.10175537511633966);
        close(ios(&a, &b), 0.5);
    }

    #[test]
    fn degenerate_box_gives_zero_not_nan() {
        let a = BBox::new(1.0, 1.0, 1.0, 5.0);
        let b = BBox::new(0.0, 0.0, 4.0, 4.0);
        for f in [iou, ios] {
            assert_eq!(f(&a, &b), 0.0);
        }
        assert!(giou(&a, &b).is_finite() && diou(&a, &b).is_finite() && ciou(&a, &b).is_finite());
    }

    fn arb_box() -> impl Strategy<Value = BBox> {
        (-50.0..50.0f64, -50.0..50.0f64, 0.5..40.0f64, 0.5..40.0f64)
            .prop_map(|(x, y, w, h)| BBox::new(x, y, x + w, y + h))
    }

    proptest! {
        #[test]
        fn symmetric(a in arb_box(), b in arb_box()) {
            for f in [iou, giou, diou, ciou, ios] {
                prop_assert!((f(&a, &b) - f(&b, &a)).abs() < 1e-12);
            }
        }

        #[test]
        fn ranges_and_order(a in arb_box(), b in arb_box()) {
            let i = iou(&a, &b);
            prop_assert!((0.0..=1.0).contains(&i));
            prop_assert!((0.0..=1.0 + 1e-12).contains(&ios(&a, &b)));
            prop_assert!(ios(&a, &b) >= i - 1e-12);
            let g = giou(&a, &b);
            prop_assert!((-1.0..=1.0).contains(&g) && g <= i + 1e-12);
            let d = diou(&a, &b);
            prop_assert!(d <= i + 1e-12 && d >= -1.0);
            prop_assert!(ciou(&a, &b) <= d + 1e-12);
        }

        #[test]
        fn invariant_under_translation(a in arb_box(), b in arb_box(), dx in -100.0..100.0f64) {
            let (ta, tb) = (a.translate(dx, -dx), b.translate(dx, -dx));
            prop_assert!((iou(&a, &b) - iou(&ta, &tb)).abs() < 1e-9);
            prop_assert!((ciou(&a, &b) - ciou(&ta, &tb)).abs() < 1e-9);
        }
    }
}

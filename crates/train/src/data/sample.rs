//! One image in memory as float planes, before augmentation and encoding. Reading goes
//! through the `input` crate, as `predict` and `detect` read, so validation sees the tensor
//! inference would.

pub use input::Planes;

use super::DataError;
use super::dataset::Dataset;

/// An image and its boxes (pixel xyxy).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub width: usize,
    pub height: usize,
    pub planes: Planes,
    pub boxes: Vec<[f32; 4]>,
}

/// Reads item `index` of `ds` (its image and coherence) for the data set's model input.
pub fn load_item(ds: &Dataset, index: usize) -> Result<Sample, DataError> {
    let item = ds.items.get(index).ok_or_else(|| {
        DataError::invalid(
            &ds.root,
            format!("no item {index}: the split holds {}", ds.items.len()),
        )
    })?;
    let image = input::load_image(
        &item.image,
        item.coherence.as_deref(),
        &ds.spec,
        ds.model_input,
    )?;
    let mut sample = Sample {
        width: image.width,
        height: image.height,
        planes: image.planes,
        boxes: item.boxes.clone(),
    };
    blank_regions(&mut sample, &item.crowd);
    Ok(sample)
}

/// Fills the pixels under `regions` as pixels from outside the image are filled (no phase
/// and zero coherence, or letterbox grey), except those whose centre lies in a basin box.
///
/// This is how a crowd box (COCO `iscrowd`) is ignored in training: the loss and the
/// assigners see no box there, so without its pixels the network is neither taught to
/// find the crowd nor taught that it is background. Blanking reuses what padding already
/// does to the input, so neither loss (anchor-free nor yolov5) needs an ignore mask, and
/// augmentation moves the blanked pixels with the rest of the image.
pub fn blank_regions(sample: &mut Sample, regions: &[[f32; 4]]) {
    let (w, h) = (sample.width, sample.height);
    let in_basin = |x: usize, y: usize| {
        let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
        sample
            .boxes
            .iter()
            .any(|b| cx >= b[0] && cx < b[2] && cy >= b[1] && cy < b[3])
    };
    let mut blank = vec![false; w.saturating_mul(h)];
    for r in regions {
        // Every pixel the region touches: [floor(x1), ceil(x2)) clamped to the image.
        let span = |lo: f32, hi: f32, side: usize| {
            let clamp = |v: f32| v.max(0.0).min(side as f32) as usize;
            (clamp(lo.floor()), clamp(hi.ceil()))
        };
        let (x0, x1) = span(r[0], r[2], w);
        let (y0, y1) = span(r[1], r[3], h);
        for y in y0..y1 {
            for x in x0..x1 {
                if !in_basin(x, y) {
                    blank[y * w + x] = true;
                }
            }
        }
    }
    for (plane, fill) in sample.planes.planes_mut() {
        for (v, &b) in plane.iter_mut().zip(&blank) {
            if b {
                *v = fill;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::open_dataset;
    use crate::data::{Split, eval_sample};
    use detect_core::BBox;
    use detect_core::labels::{ImageLabels, LabeledBox, VocMeta, write_voc_xml};
    use input::ColormapSpec;
    use insar::Colormap;
    use model::InputKind;
    use std::path::PathBuf;

    /// LabelImg's layout: pictures drawn from known phase, a VOC XML beside each.
    fn labelimg_pictures(name: &str, w: usize, h: usize) -> (PathBuf, Vec<Vec<f32>>) {
        let root = std::env::temp_dir().join(format!("train-pic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("temp dir");
        let mut truths = Vec::new();
        for i in 0..2 {
            let truth: Vec<f32> = (0..w * h)
                .map(|k| insar::wrap((k % w) as f32 * 0.3 + (k / w) as f32 * 0.1 + i as f32))
                .collect();
            let rgb = insar::render_phase(&truth, w, h, Colormap::Jet, 0.0, false);
            raster::write_png_rgb(&root.join(format!("p{i}.png")), w, h, &rgb).expect("png");
            let labels = ImageLabels {
                file_name: format!("p{i}.png"),
                width: w as u32,
                height: h as u32,
                boxes: vec![LabeledBox::new(BBox::new(5.0, 6.0, 20.0, 25.0), 0)],
            };
            let meta = VocMeta::labelimg("root", vec!["basin".into()]);
            write_voc_xml(&root.join(format!("p{i}.xml")), &labels, &meta).expect("xml");
            truths.push(truth);
        }
        (root, truths)
    }

    #[test]
    fn pictures_train_a_phase_model_through_the_colormap() {
        let (w, h) = (64, 64);
        let (root, truths) = labelimg_pictures("phase", w, h);
        let ds = open_dataset(&root, Split::Train).expect("voc data set");
        assert_eq!((ds.input, ds.model_input), (InputKind::Rgb, InputKind::Rgb));
        let ds = ds
            .for_model(InputKind::Phase, ColormapSpec::Auto)
            .expect("pictures feed a phase model");
        let s = load_item(&ds, 0).expect("read back to phase");
        let Planes::Phase { phase, coherence } = &s.planes else {
            panic!("a phase model reads pictures as phase");
        };
        assert!(coherence.is_none());
        let err = insar::invert::aligned_error(phase, &truths[0]).expect("valid pixels");
        assert!(err < 0.1, "median phase error {err}");
        // Validation's tensor is predict's: the picture inverted, then encoded as phase.
        let (x, boxes) = eval_sample(&ds, 0, w).expect("validation sample");
        let inv = input::invert_picture(&root.join("p0.png"), &ColormapSpec::Auto).expect("inv");
        let want = model::input::encode_phase(&inv.phase, None, w, h).expect("encode");
        assert_eq!(x, want);
        assert_eq!(boxes, vec![[5.0, 6.0, 20.0, 25.0]]);
        // A named colormap that did not draw them is refused with the file's name.
        let gray = open_dataset(&root, Split::Train)
            .expect("voc")
            .for_model(InputKind::Phase, ColormapSpec::Known(Colormap::Gray))
            .expect("configured");
        let e = load_item(&gray, 1).expect_err("gray does not explain jet");
        assert!(e.to_string().contains("p1.png"), "{e}");
    }

    #[test]
    fn pictures_still_train_a_picture_model_and_phase_refuses_one() {
        let (root, _) = labelimg_pictures("rgb", 32, 32);
        let ds = open_dataset(&root, Split::Train).expect("voc data set");
        let s = load_item(&ds, 0).expect("colours");
        assert!(matches!(s.planes, Planes::Rgb(_)));
        let tif_root = root.join("tiles");
        std::fs::create_dir_all(&tif_root).expect("mkdir");
        raster::write_geotiff_f32(&tif_root.join("t.tif"), 32, 32, &[0.0; 1024], None, None)
            .expect("tif");
        std::fs::write(tif_root.join("t.txt"), "0 0.5 0.5 0.25 0.25\n").expect("label");
        let e = open_dataset(&tif_root, Split::Train)
            .expect("phase tiles")
            .for_model(InputKind::Rgb, ColormapSpec::Auto)
            .expect_err("phase tiles cannot feed a picture model");
        assert!(e.to_string().contains("rgb"), "{e}");
    }

    #[test]
    fn blanking_fills_what_a_region_touches_but_spares_basins() {
        let ramp: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let mut s = Sample {
            width: 4,
            height: 4,
            planes: Planes::Rgb([ramp.clone(), ramp.clone(), ramp.clone()]),
            boxes: vec![[2.0, 2.0, 4.0, 4.0]],
        };
        // Touches columns and rows 0..3 (ceil 2.2 = 3); pixel (2, 2) has its centre in the basin.
        blank_regions(&mut s, &[[0.5, 0.0, 2.2, 2.2]]);
        let g = input::planes::RGB_FILL;
        #[rustfmt::skip]
        let want = vec![
            g, g, g, 3.0,
            g, g, g, 7.0,
            g, g, 10.0, 11.0,
            12.0, 13.0, 14.0, 15.0,
        ];
        let Planes::Rgb(ch) = &s.planes else {
            panic!("still a picture");
        };
        assert!(ch.iter().all(|c| *c == want), "{ch:?}");
        // Phase: no data and zero coherence.
        let mut p = Sample {
            width: 2,
            height: 1,
            planes: Planes::Phase {
                phase: vec![0.5, 0.5],
                coherence: Some(vec![0.9, 0.9]),
            },
            boxes: Vec::new(),
        };
        blank_regions(&mut p, &[[1.0, 0.0, 2.0, 1.0]]);
        let Planes::Phase { phase, coherence } = &p.planes else {
            panic!("still phase");
        };
        assert!(phase[0] == 0.5 && phase[1].is_nan());
        assert_eq!(coherence.as_deref(), Some(&[0.9, 0.0][..]));
    }
}

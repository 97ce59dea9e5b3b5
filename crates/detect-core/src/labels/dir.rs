//! A folder of label files (YOLO txt or VOC XML), one per picture, read in file-name order.
//!
//! Image ids: when such a folder becomes a COCO data set ([`super::CocoDataset::from_labels`])
//! the images get ids 1, 2, … in file-name order of the label files; detections given as a
//! COCO results file must use the same ids (`yolo-basin predict` does).

use std::path::{Path, PathBuf};

use super::{
    CocoDataset, ImageLabels, LabelError, default_names, read_text, read_voc_xml, read_yolo_txt,
};

/// Which label files a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    Yolo,
    Voc,
}

/// Where picture sizes come from (YOLO labels are normalised and need them).
#[derive(Debug, Clone, Copy)]
pub enum SizeSource<'a> {
    /// Every picture has this width and height.
    Fixed(u32, u32),
    /// The picture with the label file's stem in this folder (PNG, JPEG, TIFF, BMP headers).
    ImagesDir(&'a Path),
}

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp"];

/// The file in which LabelImg keeps the class names of YOLO labels, beside them.
pub const CLASS_LIST: &str = "classes.txt";

/// Class names, one a line in class-id order (LabelImg's `classes.txt`); blank lines skipped.
pub fn read_class_list(path: &Path) -> Result<Vec<String>, LabelError> {
    Ok(read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// Reads every label file of `format` in `dir`. For YOLO, a LabelImg `classes.txt` beside the
/// labels supplies the class names when `classes` is empty; VOC names are added as met.
pub fn read_label_dir(
    dir: &Path,
    format: LabelFormat,
    sizes: SizeSource<'_>,
    classes: &mut Vec<String>,
) -> Result<Vec<ImageLabels>, LabelError> {
    let ext = match format {
        LabelFormat::Yolo => "txt",
        LabelFormat::Voc => "xml",
    };
    let files = list_files(dir, ext)?;
    if format == LabelFormat::Yolo && classes.is_empty() {
        let names = dir.join(CLASS_LIST);
        if names.is_file() {
            *classes = read_class_list(&names)?;
        }
    }
    files
        .iter()
        .map(|f| match format {
            LabelFormat::Yolo => read_yolo_file(f, sizes),
            LabelFormat::Voc => read_voc_file(f, sizes, classes),
        })
        .collect()
}

/// A folder of labels as a COCO data set (image ids 1, 2, … in file-name order).
/// Class names: `classes` if given, else a YOLO `classes.txt` or the VOC names met; class ids
/// without a name are called `basin` (id 0) and `class<k>`.
pub fn dataset_from_dir(
    dir: &Path,
    format: LabelFormat,
    sizes: SizeSource<'_>,
    classes: &[String],
) -> Result<CocoDataset, LabelError> {
    let mut names = classes.to_vec();
    let images = read_label_dir(dir, format, sizes, &mut names)?;
    if images.is_empty() {
        let ext = if format == LabelFormat::Yolo {
            "txt"
        } else {
            "xml"
        };
        return Err(LabelError::invalid(
            dir,
            format!("no .{ext} label files in this folder"),
        ));
    }
    let max_class = images
        .iter()
        .flat_map(|i| &i.boxes)
        .map(|b| b.class_id)
        .max();
    let wanted = max_class.map_or(1, |c| c + 1).max(names.len());
    let have = names.len();
    names.extend(default_names(wanted).into_iter().skip(have));
    Ok(CocoDataset::from_labels(&images, &names))
}

fn list_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, LabelError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LabelError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| LabelError::io(dir, e))?.path();
        let matches = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(ext));
        let is_class_list = path.file_name().is_some_and(|n| n == CLASS_LIST);
        if matches && !is_class_list && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_yolo_file(path: &Path, sizes: SizeSource<'_>) -> Result<ImageLabels, LabelError> {
    let stem = file_stem(path)?;
    let (file_name, width, height) = match sizes {
        SizeSource::Fixed(w, h) => (stem, w, h),
        SizeSource::ImagesDir(images) => {
            let image = find_image(images, &stem).ok_or_else(|| {
                LabelError::invalid(
                    path,
                    format!(
                        "no picture named {stem}.{{{}}} in {} to take its size from",
                        IMAGE_EXTENSIONS.join(","),
                        images.display()
                    ),
                )
            })?;
            let (w, h) = image_size(&image)?;
            let name = image
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(stem);
            (name, w, h)
        }
    };
    let boxes = read_yolo_txt(path, width, height)?;
    Ok(ImageLabels {
        file_name,
        width,
        height,
        boxes,
    })
}

fn read_voc_file(
    path: &Path,
    sizes: SizeSource<'_>,
    classes: &mut Vec<String>,
) -> Result<ImageLabels, LabelError> {
    let mut labels = read_voc_xml(path, classes, true)?;
    // Some tools write a zero size; then the size must come from elsewhere.
    if labels.width == 0 || labels.height == 0 {
        let (w, h) = match sizes {
            SizeSource::Fixed(w, h) => (w, h),
            SizeSource::ImagesDir(images) => {
                let stem = file_stem(path)?;
                let image = find_image(images, &stem).ok_or_else(|| {
                    LabelError::invalid(path, "<size> is zero and no picture found to read it from")
                })?;
                image_size(&image)?
            }
        };
        if w == 0 || h == 0 {
            return Err(LabelError::invalid(
                path,
                "<size> is zero: give the picture sizes (a fixed size or the pictures' folder)",
            ));
        }
        labels.width = w;
        labels.height = h;
    }
    Ok(labels)
}

fn file_stem(path: &Path) -> Result<String, LabelError> {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| LabelError::invalid(path, "file has no name"))
}

fn find_image(dir: &Path, stem: &str) -> Option<PathBuf> {
    IMAGE_EXTENSIONS
        .iter()
        .flat_map(|e| [e.to_string(), e.to_uppercase()])
        .map(|e| dir.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
}

/// Width and height of a picture from its header.
pub fn image_size(path: &Path) -> Result<(u32, u32), LabelError> {
    let s = imagesize::size(path)
        .map_err(|e| LabelError::invalid(path, format!("cannot read the picture size: {e}")))?;
    let w = u32::try_from(s.width).map_err(|_| LabelError::invalid(path, "width too large"))?;
    let h = u32::try_from(s.height).map_err(|_| LabelError::invalid(path, "height too large"))?;
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bbox::BBox;

    #[test]
    fn reads_yolo_folder_in_name_order_with_class_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), "0 0.5 0.5 0.5 0.5\n").unwrap();
        std::fs::write(dir.path().join("a.txt"), "").unwrap();
        std::fs::write(dir.path().join("classes.txt"), "basin\n").unwrap();
        let mut classes = Vec::new();
        let l = read_label_dir(
            dir.path(),
            LabelFormat::Yolo,
            SizeSource::Fixed(100, 40),
            &mut classes,
        )
        .unwrap();
        assert_eq!(classes, vec!["basin".to_string()]);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].file_name, "a");
        assert!(l[0].boxes.is_empty());
        assert_eq!(l[1].boxes[0].bbox, BBox::new(25.0, 10.0, 75.0, 30.0));
    }

    #[test]
    fn folder_becomes_a_dataset_with_named_classes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "2 0.5 0.5 0.5 0.5\n").unwrap();
        let ds = dataset_from_dir(
            dir.path(),
            LabelFormat::Yolo,
            SizeSource::Fixed(100, 40),
            &[],
        )
        .unwrap();
        let names: Vec<&str> = ds.categories.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["basin", "class1", "class2"]);
        assert_eq!(ds.annotations[0].category_id, 3);
        assert_eq!(ds.images[0].id, 1);
        let empty = tempfile::tempdir().unwrap();
        let err = dataset_from_dir(empty.path(), LabelFormat::Voc, SizeSource::Fixed(1, 1), &[])
            .unwrap_err();
        assert!(err.to_string().contains("no .xml label files"), "{err}");
    }

    #[test]
    fn missing_picture_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("z.txt"), "").unwrap();
        let err = read_label_dir(
            dir.path(),
            LabelFormat::Yolo,
            SizeSource::ImagesDir(dir.path()),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no picture named z."), "{err}");
    }
}

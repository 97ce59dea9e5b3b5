//! A whole scene streamed as rows for the tiler (`detect`): wrapped phase (plus coherence)
//! for a phase model, colours for a picture model; a picture is read back to phase whole.

use std::error::Error;
use std::path::{Path, PathBuf};

use detect_core::tiling::{RowSource, Strip};
use model::InputKind;
use raster::any::{RowReader, open_any};
use raster::{GeoInfo, ReadOptions, open_band};

use crate::InputError;
use crate::coherence;
use crate::image::{data_input, one_band_reading, refuse_non_phase};
use crate::phase::{PhaseReading, masked_phase, vertical_to_los};
use crate::picture::{Inverted, invert_picture};
use crate::planes::rgb_planes;
use crate::spec::{InputSpec, Kind};

/// The scene (and its coherence) as rows of wrapped phase, or of RGB for pictures.
pub struct SceneSource {
    reader: RowReader,
    coherence: Option<(RowReader, PathBuf)>,
    kind: Kind,
    data: InputKind,
    phase: PhaseReading,
    /// Vertical displacement is turned into LOS by this factor (cos(incidence)) first.
    los_factor: Option<f32>,
    geo: Option<GeoInfo>,
    path: PathBuf,
    /// A picture read back to wrapped phase (all of it: pictures are held whole anyway).
    inverted: Option<Inverted>,
}

impl SceneSource {
    /// Opens the scene at `path` as `spec` says, for a model trained on `model` input: one
    /// band of it (`spec.band`, else the format's phase band, else the only band; see
    /// `raster::open_band`), or all of a picture's.
    pub fn open(path: &Path, spec: &InputSpec, model: InputKind) -> Result<Self, InputError> {
        refuse_non_phase(path, spec)?;
        let mut reader = open_band(path, &spec.read_options(), spec.band.as_ref())?;
        let coherence = match &spec.coherence {
            Some(c) => {
                let r = open_any(c, &ReadOptions::default())?;
                coherence::check_grid(
                    c,
                    (r.width(), r.height()),
                    path,
                    (reader.width(), reader.height()),
                )?;
                Some((r, c.clone()))
            }
            None => None,
        };
        let kind = match spec.kind {
            Kind::Auto => {
                let name = reader.band_names().into_iter().next().flatten();
                Kind::guess_band(path, name.as_deref(), &reader.read_rows(0, 1)?.pixels)
            }
            k => k,
        };
        let data = data_input(kind, model);
        let (phase, los_factor) = one_band_reading(kind, spec, path)?;
        let inverted = if kind == Kind::Picture && data == InputKind::Phase {
            Some(invert_picture(path, &spec.colormap)?)
        } else {
            None
        };
        Ok(Self {
            geo: reader.geo().copied(),
            reader,
            coherence,
            kind,
            data,
            phase,
            los_factor,
            path: path.to_path_buf(),
            inverted,
        })
    }

    /// What the scene holds.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// What the model is fed: phase, or the picture's colours as they are.
    pub fn input_kind(&self) -> InputKind {
        self.data
    }

    /// Where the scene lies on the ground.
    pub fn geo(&self) -> Option<&GeoInfo> {
        self.geo.as_ref()
    }

    /// A picture read back to phase: which colormap and how well it fitted.
    pub fn inversion(&self) -> Option<&Inverted> {
        self.inverted.as_ref()
    }

    fn raw_picture(&self) -> bool {
        self.data == InputKind::Rgb
    }

    /// Rows of the inverted picture, or of the raster as phase or colours.
    fn scene_rows(&mut self, y0: usize, n: usize) -> Result<Strip, InputError> {
        if let Some(inv) = &self.inverted {
            let w = inv.width;
            let data = inv
                .phase
                .get(y0 * w..(y0 + n) * w)
                .ok_or_else(|| {
                    InputError::invalid(
                        &self.path,
                        format!("rows {y0}..{} beyond the picture", y0 + n),
                    )
                })?
                .to_vec();
            let valid = data.iter().map(|v| v.is_finite()).collect();
            return Ok(Strip { data, valid });
        }
        let r = self.reader.read_rows(y0, n)?;
        if self.raw_picture() {
            let valid = r.valid_mask();
            let data = rgb_planes(&r, &self.path)?.concat();
            return Ok(Strip { data, valid });
        }
        let r = match self.los_factor {
            Some(f) => vertical_to_los(r, f),
            None => r,
        };
        let data = masked_phase(&r, &self.phase, &self.path)?;
        let valid = data.iter().map(|v| v.is_finite()).collect();
        Ok(Strip { data, valid })
    }
}

impl RowSource for SceneSource {
    fn width(&self) -> usize {
        self.reader.width()
    }

    fn height(&self) -> usize {
        self.reader.height()
    }

    fn bands(&self) -> usize {
        match (self.raw_picture(), &self.coherence) {
            (true, _) => 3,
            (false, Some(_)) => 2,
            (false, None) => 1,
        }
    }

    fn read_rows(&mut self, y0: usize, n: usize) -> Result<Strip, Box<dyn Error + Send + Sync>> {
        let mut strip = self.scene_rows(y0, n)?;
        if !self.raw_picture()
            && let Some((reader, path)) = &mut self.coherence
        {
            let rows = reader.read_rows(y0, n)?;
            strip.data.extend(coherence::values(&rows, path.as_path())?);
        }
        Ok(strip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect_core::tiling::{TilePlan, TileStream};

    #[test]
    fn directory_named_like_a_kind_does_not_change_the_reading() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (32, 32);
        let values: Vec<f32> = (0..w * h).map(|i| (i % w) as f32 * 0.5).collect();
        let los_dir = dir.path().join("los");
        std::fs::create_dir_all(&los_dir).expect("mkdir");
        let scene = los_dir.join("scene.tif");
        raster::write_geotiff_f32(&scene, w, h, &values, None, None).expect("tif");
        let unw = dir.path().join("x.unw.tif");
        raster::write_geotiff_f32(&unw, w, h, &values, None, None).expect("tif");
        let spec = InputSpec::default();
        let src = SceneSource::open(&scene, &spec, InputKind::Phase).expect("open");
        assert_eq!(src.kind(), Kind::Wrapped);
        let src = SceneSource::open(&unw, &spec, InputKind::Phase).expect("open");
        assert_eq!(src.kind(), Kind::Unwrapped);
    }

    #[test]
    fn rows_carry_masked_phase_then_byte_coherence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (32, 32);
        let mut phase: Vec<f32> = (0..w * h).map(|i| insar::wrap(i as f32 * 0.1)).collect();
        phase[5] = -9999.0;
        let scene = dir.path().join("scene.tif");
        raster::write_geotiff_f32(&scene, w, h, &phase, None, Some(-9999.0)).expect("tif");
        let cc = dir.path().join("scene.cc.tif");
        raster::write_geotiff_u8(&cc, w, h, 1, &vec![51u8; w * h], None, None).expect("cc");
        let spec = InputSpec {
            coherence: Some(cc),
            ..InputSpec::default()
        };
        let mut src = SceneSource::open(&scene, &spec, InputKind::Phase).expect("open");
        assert_eq!(src.bands(), 2);
        let plan = TilePlan::new(w, h, 32, 0).expect("plan");
        let tiles: Vec<_> = TileStream::new(&mut src, &plan)
            .expect("stream")
            .collect::<Result<_, _>>()
            .expect("tiles");
        let t = &tiles[0];
        assert!(!t.valid[5] && t.valid[6]);
        assert_eq!(t.data[6], phase[6]);
        assert_eq!(t.data[w * h + 6], 0.2);

        let small = dir.path().join("small.cc.tif");
        raster::write_geotiff_u8(&small, 4, 4, 1, &[0u8; 16], None, None).expect("cc");
        let spec = InputSpec {
            coherence: Some(small),
            ..InputSpec::default()
        };
        let e = SceneSource::open(&scene, &spec, InputKind::Phase).err();
        let msg = e.expect("other grid refused").to_string();
        assert!(
            msg.contains("small.cc.tif") && msg.contains("same grid"),
            "{msg}"
        );
    }

    fn strip_of(src: &mut SceneSource) -> Strip {
        let h = src.height();
        src.read_rows(0, h).expect("rows")
    }

    /// An ISCE2 `.unw` (amplitude, phase; line-interleaved, with its image XML): the scene
    /// is its phase band, read as unwrapped phase by its name.
    #[test]
    fn isce_unw_scene_is_its_phase_band() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (4usize, 3usize);
        let amp = |i: usize| 100.0 + i as f32;
        let phase = |i: usize| i as f32 * 0.9 - 4.0;
        let mut bytes = Vec::new();
        for r in 0..h {
            for band in [amp, phase] {
                for c in 0..w {
                    bytes.extend(band(r * w + c).to_le_bytes());
                }
            }
        }
        let unw = dir.path().join("filt_topophase.unw");
        std::fs::write(&unw, bytes).expect("unw");
        let prop =
            |n: &str, v: &str| format!("<property name=\"{n}\"><value>{v}</value></property>");
        let xml = format!(
            "<imageFile>{}{}{}{}{}{}</imageFile>",
            prop("width", "4"),
            prop("length", "3"),
            prop("number_bands", "2"),
            prop("data_type", "FLOAT"),
            prop("scheme", "BIL"),
            prop("byte_order", "l")
        );
        std::fs::write(dir.path().join("filt_topophase.unw.xml"), xml).expect("xml");
        let mut src =
            SceneSource::open(&unw, &InputSpec::default(), InputKind::Phase).expect("open");
        assert_eq!(
            (src.kind(), src.width(), src.height()),
            (Kind::Unwrapped, w, h)
        );
        let strip = strip_of(&mut src);
        let want: Vec<f32> = (0..w * h).map(|i| insar::wrap(phase(i))).collect();
        assert_eq!(strip.data, want);
        // Band 1 on request: the amplitude, read as the kind asked for (wrapped phase is
        // taken as it is).
        let spec = InputSpec {
            band: Some(raster::BandChoice::Number(1)),
            kind: Kind::Wrapped,
            ..InputSpec::default()
        };
        let mut src = SceneSource::open(&unw, &spec, InputKind::Phase).expect("band 1");
        assert_eq!(strip_of(&mut src).data[0], amp(0));
        // Its connected components are refused by name.
        let cc = dir.path().join("filt_topophase.unw.conncomp");
        std::fs::write(&cc, vec![1u8; w * h]).expect("cc");
        let e = SceneSource::open(&cc, &InputSpec::default(), InputKind::Phase).err();
        let msg = e.expect("conncomp refused").to_string();
        assert!(
            msg.contains("connected components") && msg.contains(".unw"),
            "{msg}"
        );
    }

    /// A two-band GeoTIFF without a band given is refused, its bands listed; with one, read.
    #[test]
    fn multi_band_scene_needs_a_band() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (w, h) = (8usize, 4usize);
        let mut v = Vec::with_capacity(w * h * 2);
        for i in 0..w * h {
            v.extend([i as f32 * 0.01, -(i as f32) * 0.02]);
        }
        let r = raster::Raster {
            width: w,
            height: h,
            bands: 2,
            pixels: raster::Pixels::F32(v.clone()),
            geo: None,
            nodata: None,
        };
        let p = dir.path().join("two.tif");
        raster::write_geotiff(&p, &r, &raster::WriteOptions::default()).expect("tif");
        let e = SceneSource::open(&p, &InputSpec::default(), InputKind::Phase).err();
        let msg = e.expect("refused").to_string();
        assert!(
            msg.contains("two.tif") && msg.contains("2 bands") && msg.contains("--band"),
            "{msg}"
        );
        let spec = InputSpec {
            band: Some(raster::BandChoice::Number(2)),
            ..InputSpec::default()
        };
        let mut src = SceneSource::open(&p, &spec, InputKind::Phase).expect("band 2");
        let want: Vec<f32> = v.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(strip_of(&mut src).data, want);
    }
}

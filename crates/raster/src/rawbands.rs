//! Rasters kept as raw samples and described by a header (ENVI `.hdr`, ISCE `.xml`, GDAL
//! VRT raw bands, SNAP BEAM-DIMAP): each band is where its first sample lies, how many
//! bytes apart its samples and rows are, its sample type and byte order. That is GDAL's
//! RawRasterBand model, and it covers band-sequential, line- and pixel-interleaved files and
//! one file per band alike. Rows are read with seeks, so any band of rows is cheap.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use num_complex::Complex32;

use crate::error::RasterError;
use crate::geo::GeoInfo;
use crate::raster::{Pixels, Raster};
use crate::tiff_read::StoredType;
use crate::tiff_write::SampleType;

/// Most bands a header may declare: far above any InSAR product or hyperspectral cube,
/// and a bound on what one read may allocate (each band's rows fit in its file).
pub const MAX_BANDS: usize = 4096;

/// Where one band's samples are.
#[derive(Debug, Clone, PartialEq)]
pub struct RawBand {
    pub file: PathBuf,
    /// Byte offset of the band's first sample.
    pub offset: u64,
    /// Bytes from one sample of a row to the next.
    pub pixel_offset: u64,
    /// Bytes from one row to the next.
    pub line_offset: u64,
    pub stored: StoredType,
    pub big_endian: bool,
    /// The band's name or description, when the header gives one.
    pub name: Option<String>,
    pub nodata: Option<f64>,
    /// value = stored × .0 + .1 (SNAP's SCALING_FACTOR and SCALING_OFFSET); (1, 0) when
    /// the samples are the values.
    pub scaling: (f64, f64),
}

impl RawBand {
    /// A band of `stored` samples packed in rows of `width` (one band of a BSQ file).
    pub fn packed(
        file: PathBuf,
        offset: u64,
        width: u64,
        stored: StoredType,
        big_endian: bool,
    ) -> Self {
        let size = stored.bytes() as u64;
        Self {
            file,
            offset,
            pixel_offset: size,
            line_offset: size.saturating_mul(width),
            stored,
            big_endian,
            name: None,
            nodata: None,
            scaling: (1.0, 0.0),
        }
    }

    fn scaled(&self) -> bool {
        self.scaling != (1.0, 0.0)
    }

    /// Bytes from the band's first sample to the end of sample (col, row), exact.
    fn span(&self, cols: u64, rows: u64) -> u128 {
        u128::from(rows.saturating_sub(1)) * u128::from(self.line_offset)
            + u128::from(cols.saturating_sub(1)) * u128::from(self.pixel_offset)
            + self.stored.bytes() as u128
    }
}

/// A whole raw raster: size, bands, georeferencing, and which band holds phase by the
/// format's convention.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLayout {
    pub width: usize,
    pub height: usize,
    pub bands: Vec<RawBand>,
    pub geo: Option<GeoInfo>,
    /// 1-based; `None` when the format does not say (see [`crate::band`]).
    pub phase_band: Option<usize>,
    /// Format name for reports ("ENVI", "ISCE", "VRT", "BEAM-DIMAP").
    pub driver: &'static str,
}

/// Row reader over a [`RawLayout`], every band checked to lie inside its file.
pub struct RawBandsReader {
    /// The file the user opened (the header, or the data file beside it), for errors.
    path: PathBuf,
    layout: RawLayout,
    files: Vec<(PathBuf, File)>,
    /// Index into `files` of each band.
    file_of: Vec<usize>,
    out: SampleType,
    /// The two bands are the real and imaginary parts of one complex band (SNAP i/q).
    complex_pair: bool,
}

impl RawBandsReader {
    pub fn open(path: &Path, layout: RawLayout) -> Result<Self, RasterError> {
        check_layout(path, &layout)?;
        let mut files: Vec<(PathBuf, File)> = Vec::new();
        let mut lens: Vec<u64> = Vec::new();
        let mut file_of = Vec::with_capacity(layout.bands.len());
        for (i, band) in layout.bands.iter().enumerate() {
            let k = match files.iter().position(|(p, _)| *p == band.file) {
                Some(k) => k,
                None => {
                    let f = File::open(&band.file).map_err(|e| RasterError::io(&band.file, e))?;
                    let len = f
                        .metadata()
                        .map_err(|e| RasterError::io(&band.file, e))?
                        .len();
                    files.push((band.file.clone(), f));
                    lens.push(len);
                    files.len() - 1
                }
            };
            check_in_file(path, i, band, &layout, lens[k])?;
            file_of.push(k);
        }
        let out = out_type(path, &layout.bands)?;
        Ok(Self {
            path: path.to_path_buf(),
            layout,
            files,
            file_of,
            out,
            complex_pair: false,
        })
    }

    pub fn width(&self) -> usize {
        self.layout.width
    }

    pub fn height(&self) -> usize {
        self.layout.height
    }

    /// Bands a row read returns.
    pub fn bands(&self) -> usize {
        if self.complex_pair {
            1
        } else {
            self.layout.bands.len()
        }
    }

    pub fn geo(&self) -> Option<&GeoInfo> {
        self.layout.geo.as_ref()
    }

    pub fn layout(&self) -> &RawLayout {
        &self.layout
    }

    pub fn sample_type(&self) -> SampleType {
        self.out
    }

    /// Band names (or descriptions) as the header gives them, one per band read.
    pub fn band_names(&self) -> Vec<Option<String>> {
        if self.complex_pair {
            let names: Vec<&str> = self
                .layout
                .bands
                .iter()
                .filter_map(|b| b.name.as_deref())
                .collect();
            return vec![(names.len() == 2).then(|| format!("{} + j·{}", names[0], names[1]))];
        }
        self.layout.bands.iter().map(|b| b.name.clone()).collect()
    }

    pub fn phase_band(&self) -> Option<usize> {
        if self.complex_pair {
            Some(1)
        } else {
            self.layout.phase_band
        }
    }

    /// The no-data value every band shares (none when they differ).
    pub fn nodata(&self) -> Option<f64> {
        let first = self.layout.bands.first()?.nodata;
        let same = self
            .layout
            .bands
            .iter()
            .all(|b| b.nodata.map(f64::to_bits) == first.map(f64::to_bits));
        if same { first } else { None }
    }

    /// Keeps band `band` (1-based) only.
    pub fn select_band(mut self, band: usize) -> Result<Self, RasterError> {
        let n = self.layout.bands.len();
        if self.complex_pair || band == 0 || band > n {
            return Err(RasterError::argument(
                &self.path,
                format!("band {band} asked for, the raster has {}", self.bands()),
            ));
        }
        let keep = band - 1;
        let b = self.layout.bands.swap_remove(keep);
        let f = self.file_of[keep];
        self.layout.bands = vec![b];
        self.file_of = vec![f];
        self.layout.phase_band = Some(1);
        self.out = out_type(&self.path, &self.layout.bands)?;
        Ok(self)
    }

    /// Reads bands `re` and `im` (1-based) as the two parts of one complex band.
    pub fn complex_from(mut self, re: usize, im: usize) -> Result<Self, RasterError> {
        let n = self.layout.bands.len();
        let valid = |b: usize| (1..=n).contains(&b);
        if self.complex_pair || !valid(re) || !valid(im) || re == im {
            return Err(RasterError::argument(
                &self.path,
                format!("bands {re} and {im} as one complex band, of {n}"),
            ));
        }
        for b in [re, im] {
            let band = &self.layout.bands[b - 1];
            if matches!(band.stored, StoredType::CI16 | StoredType::CF32) {
                return Err(RasterError::argument(
                    &self.path,
                    format!("band {b} is already complex ({})", band.stored.gdal_name()),
                ));
            }
        }
        let (br, bi) = (
            self.layout.bands[re - 1].clone(),
            self.layout.bands[im - 1].clone(),
        );
        let (fr, fi) = (self.file_of[re - 1], self.file_of[im - 1]);
        self.layout.bands = vec![br, bi];
        self.file_of = vec![fr, fi];
        self.layout.phase_band = Some(1);
        self.complex_pair = true;
        self.out = SampleType::C32;
        Ok(self)
    }

    pub fn read_rows(&mut self, y0: usize, n: usize) -> Result<Raster, RasterError> {
        RasterError::check_rows(&self.path, y0, n, self.layout.height)?;
        let w = self.layout.width;
        let nb = self.layout.bands.len();
        let mut values: Vec<Option<BandValues>> = (0..nb).map(|_| None).collect();
        for k in 0..nb {
            if values[k].is_some() {
                continue;
            }
            for (j, v) in self.read_group(k, y0, n)? {
                values[j] = Some(v);
            }
        }
        let values: Vec<BandValues> = values.into_iter().flatten().collect();
        let pixels = if self.complex_pair {
            let parts: Vec<Vec<f32>> = values.into_iter().map(BandValues::into_f32).collect();
            Pixels::C32(
                parts[0]
                    .iter()
                    .zip(&parts[1])
                    .map(|(&re, &im)| Complex32::new(re, im))
                    .collect(),
            )
        } else {
            interleave(values, self.out, n * w)
        };
        Ok(Raster {
            width: w,
            height: n,
            bands: self.bands(),
            pixels,
            geo: self.layout.geo.map(|g| GeoInfo {
                transform: g.transform.shifted(0, y0),
                ..g
            }),
            nodata: self.nodata(),
        })
    }

    pub fn read_all(&mut self) -> Result<Raster, RasterError> {
        self.read_rows(0, self.layout.height)
    }

    /// Rows `y0 .. y0 + n` of band `k` and of the later bands interleaved with it (same
    /// file, same row step: BIL, BIP), from one read of the bytes they span when that is no
    /// more than reading each alone (a band-sequential file reads band by band). Every band
    /// was checked at open to lie in its file, so no read is larger than the file.
    fn read_group(
        &mut self,
        k: usize,
        y0: usize,
        n: usize,
    ) -> Result<Vec<(usize, BandValues)>, RasterError> {
        let w = self.layout.width as u64;
        let bands = &self.layout.bands;
        let same = |j: usize| {
            self.file_of[j] == self.file_of[k] && bands[j].line_offset == bands[k].line_offset
        };
        // open() checked offset + span(w, height) ≤ the file's length: these fit in u64.
        let start = |j: usize| bands[j].offset + y0 as u64 * bands[j].line_offset;
        let end = |j: usize| start(j) + bands[j].span(w, n as u64) as u64;
        let mut group: Vec<usize> = (k..bands.len()).filter(|&j| same(j)).collect();
        let lo = group.iter().map(|&j| start(j)).min().unwrap_or(0);
        let hi = group.iter().map(|&j| end(j)).max().unwrap_or(0);
        let alone: u64 = group.iter().map(|&j| end(j) - start(j)).sum();
        if hi - lo > alone {
            group = vec![k];
        }
        let (lo, hi) = if group.len() == 1 {
            (start(k), end(k))
        } else {
            (lo, hi)
        };
        let mut buf = vec![0u8; (hi - lo) as usize];
        let (file_path, file) = &mut self.files[self.file_of[k]];
        let io = |e| RasterError::io(file_path, e);
        file.seek(SeekFrom::Start(lo)).map_err(io)?;
        file.read_exact(&mut buf).map_err(io)?;
        Ok(group
            .into_iter()
            .map(|j| {
                let at = (start(j) - lo) as usize;
                (j, decode_band(&bands[j], &buf[at..], self.layout.width, n))
            })
            .collect())
    }
}

/// `n` rows of `w` samples of `band` from `buf`, which starts at its first sample.
fn decode_band(band: &RawBand, buf: &[u8], w: usize, n: usize) -> BandValues {
    let size = band.stored.bytes();
    let (px, line) = (band.pixel_offset as usize, band.line_offset as usize);
    let at = move |i: usize| (i / w) * line + (i % w) * px;
    let count = n * w;
    let be = band.big_endian;
    match band.stored.sample_type() {
        SampleType::C32 => BandValues::C32(
            (0..count)
                .map(|i| complex_sample(&buf[at(i)..at(i) + size], band.stored, be))
                .collect(),
        ),
        SampleType::U8 if !band.scaled() => {
            BandValues::U8((0..count).map(|i| buf[at(i)]).collect())
        }
        _ => {
            let (scale, offset) = band.scaling;
            let scaled = band.scaled();
            BandValues::F32(
                (0..count)
                    .map(|i| {
                        let v = real_sample(&buf[at(i)..at(i) + size], band.stored, be);
                        if scaled {
                            (v * scale + offset) as f32
                        } else {
                            v as f32
                        }
                    })
                    .collect(),
            )
        }
    }
}

/// One band's samples, in its own type.
enum BandValues {
    U8(Vec<u8>),
    F32(Vec<f32>),
    C32(Vec<Complex32>),
}

impl BandValues {
    fn into_f32(self) -> Vec<f32> {
        match self {
            BandValues::U8(v) => v.into_iter().map(f32::from).collect(),
            BandValues::F32(v) => v,
            // complex_from refused complex bands.
            BandValues::C32(v) => v.into_iter().map(|z| z.re).collect(),
        }
    }
}

/// Band-sequential values to pixel-interleaved pixels of type `out`.
fn interleave(values: Vec<BandValues>, out: SampleType, count: usize) -> Pixels {
    let nb = values.len();
    match out {
        SampleType::U8 => {
            let mut v = vec![0u8; count * nb];
            for (b, band) in values.into_iter().enumerate() {
                if let BandValues::U8(s) = band {
                    v.iter_mut()
                        .skip(b)
                        .step_by(nb)
                        .zip(s)
                        .for_each(|(d, s)| *d = s);
                }
            }
            Pixels::U8(v)
        }
        SampleType::F32 => {
            let mut v = vec![0f32; count * nb];
            for (b, band) in values.into_iter().enumerate() {
                let s = band.into_f32();
                v.iter_mut()
                    .skip(b)
                    .step_by(nb)
                    .zip(s)
                    .for_each(|(d, s)| *d = s);
            }
            Pixels::F32(v)
        }
        SampleType::C32 => {
            let mut v = vec![Complex32::new(0.0, 0.0); count * nb];
            for (b, band) in values.into_iter().enumerate() {
                if let BandValues::C32(s) = band {
                    v.iter_mut()
                        .skip(b)
                        .step_by(nb)
                        .zip(s)
                        .for_each(|(d, s)| *d = s);
                }
            }
            Pixels::C32(v)
        }
    }
}

/// The in-memory type of all bands together: bytes stay bytes, complex stays complex,
/// the rest (and bytes beside floats, or scaled) become Float32. Complex beside real bands
/// cannot share one pixel type.
fn out_type(path: &Path, bands: &[RawBand]) -> Result<SampleType, RasterError> {
    let types: Vec<SampleType> = bands
        .iter()
        .map(|b| match b.stored.sample_type() {
            SampleType::U8 if b.scaled() => SampleType::F32,
            t => t,
        })
        .collect();
    let complex = types.iter().filter(|&&t| t == SampleType::C32).count();
    if complex > 0 && complex < types.len() {
        return Err(RasterError::unsupported(
            path,
            "complex bands beside real ones in one raster: choose one band (--band)",
        ));
    }
    Ok(match types.first() {
        Some(&t) if types.iter().all(|&u| u == t) => t,
        _ => SampleType::F32,
    })
}

/// Sizes, offsets and the band count, checked before any file is opened.
fn check_layout(path: &Path, l: &RawLayout) -> Result<(), RasterError> {
    if l.width == 0 || l.height == 0 {
        return Err(RasterError::format(
            path,
            format!(
                "raster of {}×{} pixels: sizes must be positive",
                l.width, l.height
            ),
        ));
    }
    if l.bands.is_empty() || l.bands.len() > MAX_BANDS {
        return Err(RasterError::format(
            path,
            format!("{} bands, expected 1 to {MAX_BANDS}", l.bands.len()),
        ));
    }
    for (i, b) in l.bands.iter().enumerate() {
        let size = b.stored.bytes() as u64;
        // Samples of a row must not overlap, nor rows: then a band of rows is no more bytes
        // than its file holds, whatever the header claims.
        let row = u128::from(b.pixel_offset) * (l.width as u128 - 1) + u128::from(size);
        if b.pixel_offset < size || (l.height > 1 && u128::from(b.line_offset) < row) {
            return Err(RasterError::format(
                path,
                format!(
                    "band {}: samples {} bytes apart and rows {} bytes apart, but a sample is \
                     {size} bytes and a row of {} samples {row} bytes: overlapping layout",
                    i + 1,
                    b.pixel_offset,
                    b.line_offset,
                    l.width
                ),
            ));
        }
    }
    Ok(())
}

/// A band's last sample must lie inside its file (a truncated download is common).
fn check_in_file(
    path: &Path,
    i: usize,
    b: &RawBand,
    l: &RawLayout,
    file_len: u64,
) -> Result<(), RasterError> {
    let end = u128::from(b.offset) + b.span(l.width as u64, l.height as u64);
    if end > u128::from(file_len) {
        return Err(RasterError::format(
            path,
            format!(
                "band {} of {}×{} {} samples ends at byte {end}, but {} has {file_len} bytes \
                 (truncated file, or a header that does not match it?)",
                i + 1,
                l.width,
                l.height,
                b.stored.gdal_name(),
                b.file.display()
            ),
        ));
    }
    Ok(())
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[..N]);
    a
}

macro_rules! sample {
    ($t:ty, $b:expr, $be:expr) => {{
        let a = arr($b);
        if $be {
            <$t>::from_be_bytes(a)
        } else {
            <$t>::from_le_bytes(a)
        }
    }};
}

/// One real sample (`b` holds at least its bytes).
fn real_sample(b: &[u8], t: StoredType, be: bool) -> f64 {
    match t {
        StoredType::U8 => f64::from(b[0]),
        StoredType::U16 => f64::from(sample!(u16, b, be)),
        StoredType::I16 => f64::from(sample!(i16, b, be)),
        StoredType::U32 => f64::from(sample!(u32, b, be)),
        StoredType::I32 => f64::from(sample!(i32, b, be)),
        StoredType::F32 => f64::from(sample!(f32, b, be)),
        StoredType::F64 => sample!(f64, b, be),
        // Complex bands are read by complex_sample.
        StoredType::CI16 | StoredType::CF32 => f64::NAN,
    }
}

/// One complex sample: real part first, each part in the file's byte order.
fn complex_sample(b: &[u8], t: StoredType, be: bool) -> Complex32 {
    match t {
        StoredType::CI16 => Complex32::new(
            f32::from(sample!(i16, b, be)),
            f32::from(sample!(i16, &b[2..], be)),
        ),
        StoredType::CF32 => Complex32::new(sample!(f32, b, be), sample!(f32, &b[4..], be)),
        other => Complex32::new(real_sample(b, other, be) as f32, 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(file: &Path, bands: Vec<RawBand>, w: usize, h: usize) -> RawLayout {
        let _ = file;
        RawLayout {
            width: w,
            height: h,
            bands,
            geo: None,
            phase_band: None,
            driver: "test",
        }
    }

    /// 3 × 2 pixels, 2 bands of little-endian float32, written BSQ, BIL and BIP: the
    /// same values must come back, pixel-interleaved.
    #[test]
    fn bsq_bil_bip_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (3usize, 2usize);
        let v = |b: usize, r: usize, c: usize| (100 * b + 10 * r + c) as f32;
        let want: Vec<f32> = (0..h)
            .flat_map(|r| (0..w).flat_map(move |c| (0..2).map(move |b| v(b, r, c))))
            .collect();
        let le = |x: f32| x.to_le_bytes();
        let mut bsq = Vec::new();
        let mut bil = Vec::new();
        let mut bip = Vec::new();
        for b in 0..2 {
            for r in 0..h {
                for c in 0..w {
                    bsq.extend(le(v(b, r, c)));
                }
            }
        }
        for r in 0..h {
            for b in 0..2 {
                for c in 0..w {
                    bil.extend(le(v(b, r, c)));
                }
            }
            for c in 0..w {
                for b in 0..2 {
                    bip.extend(le(v(b, r, c)));
                }
            }
        }
        let f = StoredType::F32;
        // (bytes, offset of band 2, pixel offset, line offset)
        let cases = [(bsq, 24u64, 4u64, 12u64), (bil, 12, 4, 24), (bip, 4, 8, 24)];
        for (k, (bytes, off2, px, line)) in cases.into_iter().enumerate() {
            let p = dir.path().join(format!("x{k}.bin"));
            std::fs::write(&p, &bytes).unwrap();
            let band = |offset| RawBand {
                pixel_offset: px,
                line_offset: line,
                ..RawBand::packed(p.clone(), offset, w as u64, f, false)
            };
            let l = layout(&p, vec![band(0), band(off2)], w, h);
            let mut r = RawBandsReader::open(&p, l).unwrap();
            let all = r.read_all().unwrap();
            assert_eq!((all.width, all.height, all.bands), (w, h, 2));
            assert_eq!(all.pixels, Pixels::F32(want.clone()), "layout {k}");
            let row1 = r.read_rows(1, 1).unwrap();
            assert_eq!(row1.pixels, Pixels::F32(want[6..].to_vec()), "layout {k}");
            let b2 = r.select_band(2).unwrap().read_all().unwrap();
            let want2: Vec<f32> = want.iter().skip(1).step_by(2).copied().collect();
            assert_eq!(b2.pixels, Pixels::F32(want2), "layout {k}");
        }
    }

    #[test]
    fn big_endian_types_scaling_and_complex_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i16.img");
        let vals: [i16; 4] = [-3, 7, 1000, -32768];
        std::fs::write(
            &p,
            vals.iter()
                .flat_map(|v| v.to_be_bytes())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let band = RawBand {
            scaling: (0.5, 1.0),
            ..RawBand::packed(p.clone(), 0, 2, StoredType::I16, true)
        };
        let mut r = RawBandsReader::open(&p, layout(&p, vec![band], 2, 2)).unwrap();
        assert_eq!(
            r.read_all().unwrap().pixels,
            Pixels::F32(vec![-0.5, 4.5, 501.0, -16383.0])
        );

        let q = dir.path().join("q.img");
        std::fs::write(
            &q,
            [1.0f32, 2.0, 3.0, 4.0]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let i = dir.path().join("i.img");
        std::fs::write(
            &i,
            [5.0f32, 6.0, 7.0, 8.0]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let named = |file: &Path, name: &str| RawBand {
            name: Some(name.into()),
            ..RawBand::packed(file.to_path_buf(), 0, 2, StoredType::F32, true)
        };
        let l = layout(&i, vec![named(&q, "q_ifg"), named(&i, "i_ifg")], 2, 2);
        let r = RawBandsReader::open(&i, l)
            .unwrap()
            .complex_from(2, 1)
            .unwrap();
        assert_eq!(r.band_names(), vec![Some("i_ifg + j·q_ifg".to_string())]);
        let mut r = r;
        let got = r.read_rows(1, 1).unwrap();
        assert_eq!(
            got.pixels,
            Pixels::C32(vec![Complex32::new(7.0, 3.0), Complex32::new(8.0, 4.0)])
        );
    }

    #[test]
    fn truncated_and_overlapping_layouts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("short.bin");
        std::fs::write(&p, [0u8; 30]).unwrap();
        let band = RawBand::packed(p.clone(), 0, 4, StoredType::F32, false);
        let e = RawBandsReader::open(&p, layout(&p, vec![band.clone()], 4, 2))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("ends at byte 32") && e.contains("30 bytes"),
            "{e}"
        );
        let squeezed = RawBand {
            pixel_offset: 0,
            ..band.clone()
        };
        let e = RawBandsReader::open(&p, layout(&p, vec![squeezed], 4, 1))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("overlapping"), "{e}");
        // A width whose rows would wrap u64 arithmetic is refused, not wrapped.
        let huge = RawBand::packed(p.clone(), 0, u64::MAX / 2, StoredType::F32, false);
        let e = RawBandsReader::open(&p, layout(&p, vec![huge], usize::MAX / 2, 3))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("overlapping") || e.contains("ends at byte"),
            "{e}"
        );
        let cplx = RawBand::packed(p.clone(), 0, 1, StoredType::CF32, false);
        let e = RawBandsReader::open(&p, layout(&p, vec![band, cplx], 1, 1))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("complex bands beside real"), "{e}");
    }
}

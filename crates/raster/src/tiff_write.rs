//! GeoTIFF writer: our own TIFF/BigTIFF serialiser (the `tiff` crate's encoder writes
//! neither tiles nor complex samples), little-endian, strips or tiles, with the geo tags
//! GDAL reads (ModelPixelScale/Tiepoint or ModelTransformation, GeoKeyDirectory,
//! GDAL_NODATA).
//!
//! [`GeoTiffWriter`] takes rows in order and writes each strip/tile row as soon as it is
//! complete, so a scene never has to be held in memory whole.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use num_complex::Complex32;
use rayon::prelude::*;

use crate::codec::{self, Compression};
use crate::error::RasterError;
use crate::geo::{self, GeoInfo, GeoTags};
use crate::raster::{Pixels, Raster};

/// How the image is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Strips of about 64 KiB of uncompressed data (at least one row).
    Auto,
    Strips {
        rows: usize,
    },
    /// Tile sides must be multiples of 16 (TIFF 6.0).
    Tiles {
        width: usize,
        height: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteOptions {
    pub compression: Compression,
    pub layout: Layout,
    /// Force BigTIFF; it is chosen anyway when the data may pass 4 GiB.
    pub bigtiff: bool,
    /// Predictor 2 (horizontal) for Byte, 3 (floating point) for Float32; ignored for
    /// complex data, which GDAL does not predict either.
    pub predictor: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Deflate,
            layout: Layout::Auto,
            bigtiff: false,
            predictor: false,
        }
    }
}

/// The sample type of a raster, independent of its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleType {
    F32,
    C32,
    U8,
}

impl SampleType {
    pub fn of(p: &Pixels) -> Self {
        match p {
            Pixels::F32(_) => SampleType::F32,
            Pixels::C32(_) => SampleType::C32,
            Pixels::U8(_) => SampleType::U8,
        }
    }

    pub fn bytes(self) -> usize {
        match self {
            SampleType::F32 => 4,
            SampleType::C32 => 8,
            SampleType::U8 => 1,
        }
    }

    /// TIFF SampleFormat: 1 unsigned int, 3 IEEE float, 6 complex IEEE float.
    fn sample_format(self) -> u16 {
        match self {
            SampleType::F32 => 3,
            SampleType::C32 => 6,
            SampleType::U8 => 1,
        }
    }
}

/// Everything about the raster except its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RasterSpec {
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    pub sample: SampleType,
    pub geo: Option<GeoInfo>,
    pub nodata: Option<f64>,
}

/// Classic TIFF offsets are 32-bit; leave margin for compression overhead and tags.
const BIGTIFF_THRESHOLD: u64 = 3_500_000_000;
const TARGET_STRIP_BYTES: usize = 64 * 1024;
/// Raw bytes gathered before compressing in parallel: enough chunks to keep all cores busy,
/// small enough to keep a streamed write's memory bounded.
const PARALLEL_BATCH_BYTES: usize = 16 * 1024 * 1024;

const TYPE_ASCII: u16 = 2;
const TYPE_SHORT: u16 = 3;
const TYPE_LONG: u16 = 4;
const TYPE_DOUBLE: u16 = 12;
const TYPE_LONG8: u16 = 16;

/// A streamed GeoTIFF write. The file is written beside `path` under a temporary name and
/// renamed onto `path` by [`GeoTiffWriter::finish`], so a reader never sees half a file, an
/// interrupted write leaves what was there whole, and an input being read is not truncated
/// by its own output (dropped unfinished, the temporary file is removed).
pub struct GeoTiffWriter {
    out: BufWriter<File>,
    path: PathBuf,
    /// Where the bytes go until `finish` renames them onto `path`.
    temp: crate::atomic::Pending,
    spec: RasterSpec,
    opts: WriteOptions,
    big: bool,
    chunk_w: usize,
    chunk_h: usize,
    tiled: bool,
    /// Little-endian bytes of rows received but not yet written as a chunk row.
    pending: Vec<u8>,
    rows_received: usize,
    /// Raw chunks (with their width) waiting for parallel compression.
    queue: Vec<(Vec<u8>, usize)>,
    queued_bytes: usize,
    offsets: Vec<u64>,
    counts: Vec<u64>,
    pos: u64,
}

impl GeoTiffWriter {
    pub fn create(path: &Path, spec: RasterSpec, opts: WriteOptions) -> Result<Self, RasterError> {
        if spec.width == 0 || spec.height == 0 || spec.bands == 0 {
            return Err(RasterError::argument(
                path,
                format!(
                    "raster of {}×{}×{} bands is empty",
                    spec.width, spec.height, spec.bands
                ),
            ));
        }
        if u32::try_from(spec.width).is_err() || u32::try_from(spec.height).is_err() {
            return Err(RasterError::argument(
                path,
                "width and height must fit in 32 bits (TIFF limit)",
            ));
        }
        let row_bytes = spec.width * spec.bands * spec.sample.bytes();
        let (chunk_w, chunk_h, tiled) = match opts.layout {
            Layout::Auto => (
                spec.width,
                (TARGET_STRIP_BYTES / row_bytes).clamp(1, spec.height),
                false,
            ),
            Layout::Strips { rows } if rows > 0 => (spec.width, rows.min(spec.height), false),
            Layout::Strips { .. } => {
                return Err(RasterError::argument(path, "strips need at least 1 row"));
            }
            Layout::Tiles { width, height }
                if width > 0 && height > 0 && width % 16 == 0 && height % 16 == 0 =>
            {
                (width, height, true)
            }
            Layout::Tiles { width, height } => {
                return Err(RasterError::argument(
                    path,
                    format!("tile size {width}×{height}: sides must be positive multiples of 16"),
                ));
            }
        };
        let raw = (row_bytes as u64) * spec.height as u64;
        let big = opts.bigtiff || raw > BIGTIFF_THRESHOLD;
        let temp = crate::atomic::Pending::new(path);
        let file = File::create(temp.tmp()).map_err(|e| RasterError::io(path, e))?;
        let mut w = Self {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
            temp,
            spec,
            opts,
            big,
            chunk_w,
            chunk_h,
            tiled,
            pending: Vec::new(),
            rows_received: 0,
            queue: Vec::new(),
            queued_bytes: 0,
            offsets: Vec::new(),
            counts: Vec::new(),
            pos: 0,
        };
        // Header with a placeholder first-IFD offset, patched in `finish`.
        if big {
            w.put(&[b'I', b'I', 43, 0, 8, 0, 0, 0])?;
            w.put(&0u64.to_le_bytes())?;
        } else {
            w.put(&[b'I', b'I', 42, 0])?;
            w.put(&0u32.to_le_bytes())?;
        }
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends whole rows (their count is `pixels.len() / (width × bands)`).
    pub fn write_rows(&mut self, pixels: &Pixels) -> Result<(), RasterError> {
        if SampleType::of(pixels) != self.spec.sample {
            return Err(RasterError::argument(
                &self.path,
                format!(
                    "rows of {} given to a {:?} file",
                    pixels.type_name(),
                    self.spec.sample
                ),
            ));
        }
        let row_samples = self.spec.width * self.spec.bands;
        if !pixels.len().is_multiple_of(row_samples) {
            return Err(RasterError::argument(
                &self.path,
                format!(
                    "{} samples is not a whole number of rows of {row_samples} samples",
                    pixels.len()
                ),
            ));
        }
        let rows = pixels.len() / row_samples;
        if self.rows_received + rows > self.spec.height {
            return Err(RasterError::argument(
                &self.path,
                format!(
                    "{} rows given to a raster of height {}",
                    self.rows_received + rows,
                    self.spec.height
                ),
            ));
        }
        self.rows_received += rows;
        // Fill the pending chunk row a piece at a time, so only one chunk row of bytes is
        // ever buffered whatever the size of `pixels`.
        let row_bytes = row_samples * self.spec.sample.bytes();
        let mut row = 0;
        while row < rows {
            let pending_rows = self.pending.len() / row_bytes;
            let take = (self.chunk_h - pending_rows).min(rows - row);
            push_le_bytes(
                &mut self.pending,
                pixels,
                row * row_samples..(row + take) * row_samples,
            );
            row += take;
            if self.pending.len() == self.chunk_h * row_bytes {
                let band = std::mem::take(&mut self.pending);
                self.write_chunk_row(&band, self.chunk_h)?;
                self.pending = band;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Writes the last partial chunk row and the directory. Fails if rows are missing.
    pub fn finish(mut self) -> Result<(), RasterError> {
        if self.rows_received != self.spec.height {
            return Err(RasterError::argument(
                &self.path,
                format!(
                    "only {} of {} rows were written",
                    self.rows_received, self.spec.height
                ),
            ));
        }
        if !self.pending.is_empty() {
            let band = std::mem::take(&mut self.pending);
            let rows = self.spec.height % self.chunk_h;
            self.write_chunk_row(&band, rows)?;
        }
        self.write_directory()?;
        self.temp
            .commit()
            .map_err(|e| RasterError::io(&self.path, e))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), RasterError> {
        self.out
            .write_all(bytes)
            .map_err(|e| RasterError::io(&self.path, e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn align(&mut self) -> Result<(), RasterError> {
        let unit = if self.big { 8 } else { 2 };
        while !self.pos.is_multiple_of(unit) {
            self.put(&[0])?;
        }
        Ok(())
    }

    /// Cuts `rows` rows (one strip, or one row of tiles) from LE bytes into chunks and
    /// queues them; queued chunks are compressed in parallel once enough have gathered.
    fn write_chunk_row(&mut self, band: &[u8], rows: usize) -> Result<(), RasterError> {
        let px = self.spec.bands * self.spec.sample.bytes();
        let row_bytes = self.spec.width * px;
        let mut x = 0;
        while x < self.spec.width {
            // Tiles are always full size (padded with zeros); strips end where the data does.
            let (cw, ch) = if self.tiled {
                (self.chunk_w, self.chunk_h)
            } else {
                (self.spec.width, rows)
            };
            let mut chunk = vec![0u8; cw * ch * px];
            let used_w = cw.min(self.spec.width - x);
            for r in 0..rows {
                let src = &band[r * row_bytes + x * px..][..used_w * px];
                chunk[r * cw * px..][..used_w * px].copy_from_slice(src);
            }
            self.queued_bytes += chunk.len();
            self.queue.push((chunk, cw));
            x += cw;
        }
        if self.queued_bytes >= PARALLEL_BATCH_BYTES {
            self.flush_queue()?;
        }
        Ok(())
    }

    /// Predicts and compresses the queued chunks in parallel, then writes them in order
    /// (chunk order in the file is the TIFF order, so results do not depend on threads).
    fn flush_queue(&mut self) -> Result<(), RasterError> {
        let queue = std::mem::take(&mut self.queue);
        self.queued_bytes = 0;
        let encoded: Vec<Vec<u8>> = queue
            .into_par_iter()
            .map(|(chunk, cw)| codec::compress(&self.predicted(chunk, cw), self.opts.compression))
            .collect();
        for e in encoded {
            self.offsets.push(self.pos);
            self.counts.push(e.len() as u64);
            self.put(&e)?;
        }
        Ok(())
    }

    fn predictor_tag(&self) -> Option<u16> {
        match (self.opts.predictor, self.spec.sample) {
            (true, SampleType::U8) => Some(2),
            (true, SampleType::F32) => Some(3),
            _ => None,
        }
    }

    fn predicted(&self, mut chunk: Vec<u8>, chunk_w: usize) -> Vec<u8> {
        let samples = self.spec.bands;
        let row_bytes = chunk_w * samples * self.spec.sample.bytes();
        match self.predictor_tag() {
            Some(2) => {
                for row in chunk.chunks_mut(row_bytes) {
                    codec::predict_horizontal_u8(row, samples);
                }
                chunk
            }
            Some(_) => chunk
                .chunks(row_bytes)
                .flat_map(|row| codec::predict_float_f32_le(row, samples))
                .collect(),
            None => chunk,
        }
    }

    fn write_directory(&mut self) -> Result<(), RasterError> {
        self.flush_queue()?;
        let entries = self.entries()?;
        self.align()?;
        let ifd_pos = self.pos;
        let (count_size, entry_size, value_size) = if self.big { (8, 20, 8) } else { (2, 12, 4) };
        let ifd_len = count_size + entries.len() as u64 * entry_size + value_size;
        // Values too long to sit in an entry go right after the directory, word aligned.
        let mut data_pos = ifd_pos + ifd_len;
        let mut placed = Vec::with_capacity(entries.len());
        for e in &entries {
            if e.data.len() as u64 > value_size {
                data_pos += data_pos % 2;
                placed.push(Some(data_pos));
                data_pos += e.data.len() as u64;
            } else {
                placed.push(None);
            }
        }
        if !self.big && data_pos > u64::from(u32::MAX) {
            return Err(RasterError::argument(
                &self.path,
                "file passes 4 GiB: write it as BigTIFF (WriteOptions::bigtiff)",
            ));
        }
        let mut ifd = Vec::with_capacity(ifd_len as usize);
        if self.big {
            ifd.extend((entries.len() as u64).to_le_bytes());
        } else {
            ifd.extend((entries.len() as u16).to_le_bytes());
        }
        for (e, at) in entries.iter().zip(&placed) {
            ifd.extend(e.tag.to_le_bytes());
            ifd.extend(e.ty.to_le_bytes());
            let mut value = vec![0u8; value_size as usize];
            match at {
                Some(off) if self.big => value.copy_from_slice(&off.to_le_bytes()),
                Some(off) => value.copy_from_slice(&(*off as u32).to_le_bytes()),
                None => value[..e.data.len()].copy_from_slice(&e.data),
            }
            if self.big {
                ifd.extend(e.count.to_le_bytes());
            } else {
                ifd.extend((e.count as u32).to_le_bytes());
            }
            ifd.extend(value);
        }
        ifd.extend(vec![0u8; value_size as usize]);
        self.put(&ifd)?;
        for (e, at) in entries.iter().zip(&placed) {
            if let Some(off) = at {
                while self.pos < *off {
                    self.put(&[0])?;
                }
                self.put(&e.data)?;
            }
        }
        let header_slot = if self.big { 8 } else { 4 };
        let path = self.path.clone();
        let io = |e| RasterError::io(&path, e);
        self.out.seek(SeekFrom::Start(header_slot)).map_err(io)?;
        if self.big {
            self.out.write_all(&ifd_pos.to_le_bytes()).map_err(io)?;
        } else {
            self.out
                .write_all(&(ifd_pos as u32).to_le_bytes())
                .map_err(io)?;
        }
        self.out.flush().map_err(io)?;
        Ok(())
    }

    fn entries(&self) -> Result<Vec<Entry>, RasterError> {
        let s = &self.spec;
        let bands = s.bands as u16;
        let bits = (s.sample.bytes() * 8) as u16;
        let rgb = s.sample == SampleType::U8 && s.bands >= 3;
        let colour_samples = if rgb { 3 } else { 1 };
        let mut e = vec![
            Entry::long(256, s.width as u32),
            Entry::long(257, s.height as u32),
            Entry::shorts(258, &vec![bits; s.bands]),
            Entry::shorts(259, &[self.opts.compression.tag_value()]),
            Entry::shorts(262, &[if rgb { 2 } else { 1 }]),
            Entry::shorts(277, &[bands]),
            Entry::shorts(284, &[1]),
            Entry::shorts(339, &vec![s.sample.sample_format(); s.bands]),
        ];
        if let Some(p) = self.predictor_tag() {
            e.push(Entry::shorts(317, &[p]));
        }
        if s.bands > colour_samples {
            // 0 = unspecified extra samples: plain extra bands, not alpha.
            e.push(Entry::shorts(338, &vec![0; s.bands - colour_samples]));
        }
        let (offset_tag, count_tag) = if self.tiled { (324, 325) } else { (273, 279) };
        if self.tiled {
            e.push(Entry::long(322, self.chunk_w as u32));
            e.push(Entry::long(323, self.chunk_h as u32));
        } else {
            e.push(Entry::long(278, self.chunk_h as u32));
        }
        e.push(self.offset_entry(offset_tag, &self.offsets)?);
        e.push(self.offset_entry(count_tag, &self.counts)?);
        if let Some(g) = &s.geo {
            match geo::tags_from_transform(&g.transform, g.pixel_is_point) {
                GeoTags::ScaleTiepoint { scale, tiepoint } => {
                    e.push(Entry::doubles(geo::TAG_MODEL_PIXEL_SCALE, &scale));
                    e.push(Entry::doubles(geo::TAG_MODEL_TIEPOINT, &tiepoint));
                }
                GeoTags::Matrix(m) => e.push(Entry::doubles(geo::TAG_MODEL_TRANSFORMATION, &m)),
            }
            e.push(Entry::shorts(
                geo::TAG_GEO_KEY_DIRECTORY,
                &geo::build_geokeys(g.epsg, g.pixel_is_point),
            ));
        }
        if let Some(nd) = s.nodata {
            e.push(Entry::ascii(geo::TAG_GDAL_NODATA, &geo::format_nodata(nd)));
        }
        e.sort_by_key(|x| x.tag);
        Ok(e)
    }

    fn offset_entry(&self, tag: u16, values: &[u64]) -> Result<Entry, RasterError> {
        if self.big {
            return Ok(Entry {
                tag,
                ty: TYPE_LONG8,
                count: values.len() as u64,
                data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            });
        }
        let mut data = Vec::with_capacity(values.len() * 4);
        for &v in values {
            let v = u32::try_from(v).map_err(|_| {
                RasterError::argument(
                    &self.path,
                    "file passes 4 GiB: write it as BigTIFF (WriteOptions::bigtiff)",
                )
            })?;
            data.extend(v.to_le_bytes());
        }
        Ok(Entry {
            tag,
            ty: TYPE_LONG,
            count: values.len() as u64,
            data,
        })
    }
}

struct Entry {
    tag: u16,
    ty: u16,
    count: u64,
    data: Vec<u8>,
}

impl Entry {
    fn long(tag: u16, v: u32) -> Self {
        Self {
            tag,
            ty: TYPE_LONG,
            count: 1,
            data: v.to_le_bytes().to_vec(),
        }
    }

    fn shorts(tag: u16, v: &[u16]) -> Self {
        Self {
            tag,
            ty: TYPE_SHORT,
            count: v.len() as u64,
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    fn doubles(tag: u16, v: &[f64]) -> Self {
        Self {
            tag,
            ty: TYPE_DOUBLE,
            count: v.len() as u64,
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    fn ascii(tag: u16, s: &str) -> Self {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        Self {
            tag,
            ty: TYPE_ASCII,
            count: data.len() as u64,
            data,
        }
    }
}

fn push_le_bytes(out: &mut Vec<u8>, pixels: &Pixels, samples: std::ops::Range<usize>) {
    match pixels {
        Pixels::F32(v) => out.extend(v[samples].iter().flat_map(|x| x.to_le_bytes())),
        Pixels::C32(v) => out.extend(
            v[samples]
                .iter()
                .flat_map(|c| c.re.to_le_bytes().into_iter().chain(c.im.to_le_bytes())),
        ),
        Pixels::U8(v) => out.extend_from_slice(&v[samples]),
    }
}

/// Writes a whole raster.
pub fn write_geotiff(path: &Path, raster: &Raster, opts: &WriteOptions) -> Result<(), RasterError> {
    let spec = RasterSpec {
        width: raster.width,
        height: raster.height,
        bands: raster.bands,
        sample: SampleType::of(&raster.pixels),
        geo: raster.geo,
        nodata: raster.nodata,
    };
    let expected = raster.width * raster.height * raster.bands;
    if raster.pixels.len() != expected {
        return Err(RasterError::argument(
            path,
            format!(
                "{} samples for a {}×{}×{} raster (expected {expected})",
                raster.pixels.len(),
                raster.width,
                raster.height,
                raster.bands
            ),
        ));
    }
    let mut w = GeoTiffWriter::create(path, spec, *opts)?;
    w.write_rows(&raster.pixels)?;
    w.finish()
}

fn check_len(path: &Path, got: usize, w: usize, h: usize, bands: usize) -> Result<(), RasterError> {
    if got != w * h * bands {
        return Err(RasterError::argument(
            path,
            format!(
                "{got} samples given for {w}×{h}×{bands} (expected {})",
                w * h * bands
            ),
        ));
    }
    Ok(())
}

/// Single-band Float32 GeoTIFF, Deflate, strips (see [`write_geotiff`] for other options).
pub fn write_geotiff_f32(
    path: &Path,
    w: usize,
    h: usize,
    data: &[f32],
    geo: Option<&GeoInfo>,
    nodata: Option<f64>,
) -> Result<(), RasterError> {
    check_len(path, data.len(), w, h, 1)?;
    write_geotiff(
        path,
        &Raster {
            width: w,
            height: h,
            bands: 1,
            pixels: Pixels::F32(data.to_vec()),
            geo: geo.copied(),
            nodata,
        },
        &WriteOptions::default(),
    )
}

/// Single-band CFloat32 (SampleFormat 6) GeoTIFF, Deflate, strips.
pub fn write_geotiff_c32(
    path: &Path,
    w: usize,
    h: usize,
    data: &[Complex32],
    geo: Option<&GeoInfo>,
    nodata: Option<f64>,
) -> Result<(), RasterError> {
    check_len(path, data.len(), w, h, 1)?;
    write_geotiff(
        path,
        &Raster {
            width: w,
            height: h,
            bands: 1,
            pixels: Pixels::C32(data.to_vec()),
            geo: geo.copied(),
            nodata,
        },
        &WriteOptions::default(),
    )
}

/// Byte GeoTIFF: `bands` = 1 (gray) or 3 (RGB, pixel-interleaved), Deflate, strips.
pub fn write_geotiff_u8(
    path: &Path,
    w: usize,
    h: usize,
    bands: usize,
    data: &[u8],
    geo: Option<&GeoInfo>,
    nodata: Option<f64>,
) -> Result<(), RasterError> {
    check_len(path, data.len(), w, h, bands)?;
    write_geotiff(
        path,
        &Raster {
            width: w,
            height: h,
            bands,
            pixels: Pixels::U8(data.to_vec()),
            geo: geo.copied(),
            nodata,
        },
        &WriteOptions::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(w: usize, h: usize) -> RasterSpec {
        RasterSpec {
            width: w,
            height: h,
            bands: 1,
            sample: SampleType::F32,
            geo: None,
            nodata: Some(0.0),
        }
    }

    #[test]
    fn rows_in_pieces_give_the_same_file_as_one_call() {
        let (w, h) = (21, 53);
        let v: Vec<f32> = (0..w * h).map(|i| (i as f32).sqrt()).collect();
        let dir = tempfile::tempdir().unwrap();
        for layout in [
            Layout::Strips { rows: 5 },
            Layout::Tiles {
                width: 16,
                height: 16,
            },
        ] {
            let opts = WriteOptions {
                layout,
                ..WriteOptions::default()
            };
            let whole = dir.path().join("whole.tif");
            let raster = Raster {
                width: w,
                height: h,
                bands: 1,
                pixels: Pixels::F32(v.clone()),
                geo: None,
                nodata: Some(0.0),
            };
            write_geotiff(&whole, &raster, &opts).unwrap();
            let pieces = dir.path().join("pieces.tif");
            let mut wr = GeoTiffWriter::create(&pieces, spec(w, h), opts).unwrap();
            let mut y = 0;
            for n in [1, 3, 7, 2, 16, 9, 15].iter().cycle() {
                let n = (*n).min(h - y);
                wr.write_rows(&Pixels::F32(v[y * w..(y + n) * w].to_vec()))
                    .unwrap();
                y += n;
                if y == h {
                    break;
                }
            }
            wr.finish().unwrap();
            assert_eq!(
                std::fs::read(&whole).unwrap(),
                std::fs::read(&pieces).unwrap()
            );
        }
    }

    #[test]
    fn misuse_is_reported_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.tif");
        let opts = WriteOptions::default();
        let mut wr = GeoTiffWriter::create(&p, spec(4, 2), opts).unwrap();
        let err = wr
            .write_rows(&Pixels::U8(vec![0; 4]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.tif") && err.contains("Byte"), "{err}");
        let err = wr
            .write_rows(&Pixels::F32(vec![0.0; 5]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole number of rows"), "{err}");
        let err = wr
            .write_rows(&Pixels::F32(vec![0.0; 12]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("3 rows given to a raster of height 2"),
            "{err}"
        );
        wr.write_rows(&Pixels::F32(vec![0.0; 4])).unwrap();
        let err = wr.finish().unwrap_err().to_string();
        assert!(err.contains("only 1 of 2 rows"), "{err}");
        let tiles = WriteOptions {
            layout: Layout::Tiles {
                width: 20,
                height: 16,
            },
            ..opts
        };
        let err = GeoTiffWriter::create(&p, spec(4, 2), tiles)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("multiples of 16"), "{err}");
        let err = write_geotiff_f32(&p, 3, 3, &[0.0; 8], None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 9"), "{err}");
    }
}

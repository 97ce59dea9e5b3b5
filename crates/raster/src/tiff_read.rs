//! GeoTIFF reader. The `tiff` crate decodes individual strips/tiles (all compressions and
//! predictors it knows, BigTIFF, either byte order); this module reads the geo tags and
//! assembles rows, so a scene larger than memory can be read a band of rows at a time.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use num_complex::Complex32;
use tiff::decoder::{ChunkType, Decoder, Limits};
use tiff::tags::Tag;

use crate::chunk::{self, ChunkFormat, decode_chunk};
use crate::codec::Compression;
use crate::error::RasterError;
use crate::geo::{self, GeoInfo};
use crate::raster::{Pixels, Raster};
use crate::tiff_write::SampleType;

/// How samples are stored in the file (they are converted to [`SampleType`] on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredType {
    U8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
    CI16,
    CF32,
}

impl StoredType {
    fn from_tags(format: u16, bits: u16) -> Option<Self> {
        Some(match (format, bits) {
            (1, 8) => StoredType::U8,
            (1, 16) => StoredType::U16,
            (2, 16) => StoredType::I16,
            (1, 32) => StoredType::U32,
            (2, 32) => StoredType::I32,
            (3, 32) => StoredType::F32,
            (3, 64) => StoredType::F64,
            (5, 32) => StoredType::CI16,
            (6, 64) => StoredType::CF32,
            _ => return None,
        })
    }

    pub fn bytes(self) -> usize {
        match self {
            StoredType::U8 => 1,
            StoredType::U16 | StoredType::I16 => 2,
            StoredType::U32 | StoredType::I32 | StoredType::F32 | StoredType::CI16 => 4,
            StoredType::F64 | StoredType::CF32 => 8,
        }
    }

    /// GDAL's name for the type.
    pub fn gdal_name(self) -> &'static str {
        match self {
            StoredType::U8 => "Byte",
            StoredType::U16 => "UInt16",
            StoredType::I16 => "Int16",
            StoredType::U32 => "UInt32",
            StoredType::I32 => "Int32",
            StoredType::F32 => "Float32",
            StoredType::F64 => "Float64",
            StoredType::CI16 => "CInt16",
            StoredType::CF32 => "CFloat32",
        }
    }

    /// The in-memory type: bytes stay bytes, complex becomes CFloat32, the rest Float32.
    pub fn sample_type(self) -> SampleType {
        match self {
            StoredType::U8 => SampleType::U8,
            StoredType::CI16 | StoredType::CF32 => SampleType::C32,
            _ => SampleType::F32,
        }
    }
}

/// How the file is laid out, for reports like gdalinfo's.
#[derive(Debug, Clone, PartialEq)]
pub struct TiffLayout {
    pub stored: StoredType,
    /// The Compression tag value; see [`TiffLayout::compression_name`].
    pub compression: u16,
    pub predictor: u16,
    pub tiled: bool,
    /// Strip: (width, rows per strip); tile: (tile width, tile height).
    pub chunk: (usize, usize),
    pub planar: bool,
    pub bigtiff: bool,
    pub big_endian: bool,
}

impl TiffLayout {
    pub fn compression_name(&self) -> String {
        match (Compression::from_tag(self.compression), self.compression) {
            (Some(c), _) => c.name().to_string(),
            // Read by the `tiff` crate (JPEG) or not at all, but named as GDAL names them.
            (None, 7) => "JPEG".to_string(),
            (None, 34925) => "LZMA".to_string(),
            (None, 50000) => "ZSTD".to_string(),
            (None, 50001) => "WEBP".to_string(),
            (None, 50002) => "JXL".to_string(),
            (None, code) => format!("code {code}"),
        }
    }
}

/// Streaming GeoTIFF reader over the first image of a file.
pub struct GeoTiffReader {
    path: PathBuf,
    dec: Decoder<BufReader<File>>,
    width: usize,
    height: usize,
    bands: usize,
    layout: TiffLayout,
    geo: Option<GeoInfo>,
    nodata: Option<f64>,
    /// Band descriptions from GDAL's metadata tag, one per band.
    descriptions: Vec<Option<String>>,
    chunks_per_plane: usize,
    /// Bytes of one decoded row of all bands (checked to fit in memory when opening).
    row_bytes: usize,
    /// Where each chunk's stored bytes are: read ourselves for LZW, and the counts bound
    /// how much any chunk may decode to (see [`max_ratio`]).
    chunk_offsets: Vec<u64>,
    chunk_counts: Vec<u64>,
    /// The chunks of the last strip/tile row decoded, by chunk index: consecutive
    /// `read_rows` calls that share a chunk row (overlapping scene tiles, bands of rows not
    /// aligned to strips) decode it once.
    cache: Vec<(usize, Vec<u8>)>,
}

impl GeoTiffReader {
    pub fn open(path: &Path) -> Result<Self, RasterError> {
        let (bigtiff, big_endian, file_len) = sniff_header(path)?;
        let file = File::open(path).map_err(|e| RasterError::io(path, e))?;
        // The `tiff` crate's default limits stay on (tag values and decoded buffers of at
        // most 256 MiB each); `decoder_limits` below raises only the one real files need.
        let mut dec = Decoder::new(BufReader::new(file)).map_err(|e| RasterError::tiff(path, e))?;
        check_tag_sizes(path, &mut dec, file_len)?;
        let t = |e| RasterError::tiff(path, e);
        let (w, h) = dec.dimensions().map_err(t)?;
        let bands: u16 = dec
            .find_tag_unsigned(Tag::SamplesPerPixel)
            .map_err(t)?
            .unwrap_or(1);
        let stored = read_stored_type(path, &mut dec)?;
        let tag_or_1 = |dec: &mut Decoder<BufReader<File>>, tag| -> Result<u16, RasterError> {
            Ok(dec.find_tag_unsigned(tag).map_err(t)?.unwrap_or(1))
        };
        let compression = tag_or_1(&mut dec, Tag::Compression)?;
        let predictor = tag_or_1(&mut dec, Tag::Predictor)?;
        let planar = tag_or_1(&mut dec, Tag::PlanarConfiguration)? == 2;
        let tiled = dec.get_chunk_type() == ChunkType::Tile;
        let (cw, ch) = dec.chunk_dimensions();
        // RowsPerStrip may be 2^32 − 1 ("one strip"); report the rows the strip really has.
        let ch = if tiled { ch } else { ch.min(h) };
        let planes = if planar { usize::from(bands) } else { 1 };
        let table = ChunkTable::read(path, &mut dec, (w, h), (cw, ch), planes, file_len)?;
        // Every size product of the header, checked once: a row of the image and a whole
        // chunk must be addressable, or no read of this file could ever be allocated.
        let row_bytes = byte_size(path, "a row", (w, 1), usize::from(bands), stored)?;
        let px = if planar { 1 } else { usize::from(bands) };
        let what = if tiled { "a tile" } else { "a strip" };
        byte_size(path, what, (cw, ch), px, stored)?;
        let mut dec = dec.with_limits(decoder_limits(&table.counts));
        let layout = TiffLayout {
            stored,
            compression,
            predictor,
            tiled,
            chunk: (cw as usize, ch as usize),
            planar,
            bigtiff,
            big_endian,
        };
        let geo = read_geo(path, &mut dec)?;
        let nodata = read_nodata(path, &mut dec)?;
        let descriptions = read_descriptions(path, &mut dec, usize::from(bands))?;
        Ok(Self {
            path: path.to_path_buf(),
            dec,
            width: w as usize,
            height: h as usize,
            bands: usize::from(bands),
            layout,
            geo,
            nodata,
            descriptions,
            chunks_per_plane: table.per_plane,
            row_bytes,
            chunk_offsets: table.offsets,
            chunk_counts: table.counts,
            cache: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn bands(&self) -> usize {
        self.bands
    }

    pub fn geo(&self) -> Option<&GeoInfo> {
        self.geo.as_ref()
    }

    pub fn nodata(&self) -> Option<f64> {
        self.nodata
    }

    /// Each band's description (GDAL_METADATA `<Item name="DESCRIPTION" sample="k"
    /// role="description">`), `None` where the file gives none.
    pub fn band_descriptions(&self) -> &[Option<String>] {
        &self.descriptions
    }

    pub fn layout(&self) -> &TiffLayout {
        &self.layout
    }

    /// The in-memory type `read_rows` returns.
    pub fn sample_type(&self) -> SampleType {
        self.layout.stored.sample_type()
    }

    /// Rows a strip or tile row holds: reading in multiples of it decodes each chunk once.
    pub fn rows_per_chunk(&self) -> usize {
        self.layout.chunk.1
    }

    /// Rows `y0 .. y0 + n`, decoding only the strips/tiles that hold them. The result's
    /// geotransform is shifted to its first row.
    pub fn read_rows(&mut self, y0: usize, n: usize) -> Result<Raster, RasterError> {
        RasterError::check_rows(&self.path, y0, n, self.height)?;
        let (cw, ch) = self.layout.chunk;
        let across = if self.layout.tiled {
            self.width.div_ceil(cw)
        } else {
            1
        };
        let planes = if self.layout.planar { self.bands } else { 1 };
        let chunk_rows = y0 / ch..=(y0 + n - 1) / ch;
        // Every chunk these rows need is checked against what its stored bytes can hold
        // before anything is allocated: the rows are no more bytes than those chunks decode
        // to, so the output is bounded by the file too, one band of rows at a time.
        for chunk_row in chunk_rows.clone() {
            for cx in 0..across {
                for plane in 0..planes {
                    let index = plane * self.chunks_per_plane + chunk_row * across + cx;
                    self.decoded_chunk_bytes(index, chunk_row * ch)?;
                }
            }
        }
        let out_len = self.row_bytes.checked_mul(n).ok_or_else(|| {
            RasterError::format(
                &self.path,
                format!(
                    "rows {y0}..{} of {} bytes each are more than this machine can address",
                    y0 + n,
                    self.row_bytes
                ),
            )
        })?;
        let mut out = vec![0u8; out_len];
        for chunk_row in chunk_rows {
            let mut decoded = Vec::with_capacity(across * planes);
            for cx in 0..across {
                for plane in 0..planes {
                    let index = plane * self.chunks_per_plane + chunk_row * across + cx;
                    let data = match self.cache.iter().position(|(i, _)| *i == index) {
                        Some(k) => self.cache.swap_remove(k).1,
                        None => self.read_chunk(index, chunk_row * ch)?,
                    };
                    let (dw, dh) = self.dec.chunk_data_dimensions(index as u32);
                    let place = Placement {
                        x0: cx * cw,
                        y0: chunk_row * ch,
                        w: dw as usize,
                        h: dh as usize,
                        plane: self.layout.planar.then_some(plane),
                    };
                    self.scatter(&data, &place, y0, n, &mut out);
                    decoded.push((index, data));
                }
            }
            self.cache = decoded;
        }
        Ok(Raster {
            width: self.width,
            height: n,
            bands: self.bands,
            pixels: convert(&out, self.layout.stored, self.layout.big_endian),
            geo: self.geo.map(|g| GeoInfo {
                transform: g.transform.shifted(0, y0),
                ..g
            }),
            nodata: self.nodata,
        })
    }

    pub fn read_all(&mut self) -> Result<Raster, RasterError> {
        self.read_rows(0, self.height)
    }

    /// The bytes decoding chunk `index` allocates, refused when its stored bytes cannot
    /// hold that much: more than the stored bytes themselves when uncompressed, more than
    /// the compression's ceiling ratio ([`max_ratio`]) times them when compressed.
    fn decoded_chunk_bytes(
        &mut self,
        index: usize,
        first_row: usize,
    ) -> Result<usize, RasterError> {
        let (dw, dh) = self.dec.chunk_data_dimensions(index as u32);
        let samples = if self.layout.planar { 1 } else { self.bands };
        // Our own decoders unpack a tile's padding columns too.
        let decoded_w = if self.layout.tiled && chunk::decodes(self.layout.compression) {
            self.layout.chunk.0 as u64
        } else {
            u64::from(dw)
        };
        let stored = self.layout.stored;
        let bytes =
            u128::from(decoded_w) * u128::from(dh) * samples as u128 * stored.bytes() as u128;
        let count = self.chunk_counts[index];
        let (ratio, codec) = max_ratio(self.layout.compression);
        let most = u128::from(count) * u128::from(ratio);
        let what = if self.layout.tiled { "tile" } else { "strip" };
        let counts_tag = if self.layout.tiled {
            "TileByteCounts"
        } else {
            "StripByteCounts"
        };
        let pixels = format!(
            "{decoded_w}×{dh} pixels of {samples} {} sample(s) = {bytes} bytes",
            stored.gdal_name()
        );
        if bytes > most {
            let why = if ratio == 1 {
                format!("{counts_tag} says it stores {count} bytes, uncompressed")
            } else {
                format!(
                    "{counts_tag} says it stores {count} {codec} bytes, which decode to at most \
                     {most} ({codec} cannot exceed {ratio}:1)"
                )
            };
            return Err(RasterError::format(
                &self.path,
                format!(
                    "{what} {index} (rows from {first_row}) holds {pixels}, but {why}: \
                     corrupt or crafted header"
                ),
            ));
        }
        usize::try_from(bytes).map_err(|_| {
            RasterError::format(
                &self.path,
                format!(
                    "{what} {index} (rows from {first_row}) holds {pixels}, more than this \
                     machine can address"
                ),
            )
        })
    }

    fn read_chunk(&mut self, index: usize, first_row: usize) -> Result<Vec<u8>, RasterError> {
        let size = self.decoded_chunk_bytes(index, first_row)?;
        let what = if self.layout.tiled { "tile" } else { "strip" };
        let path = self.path.clone();
        let fail = |e: String| {
            RasterError::format(
                &path,
                format!(
                    "{what} {index} (rows from {first_row}) does not decode: {e} \
                     (truncated or corrupt file?)"
                ),
            )
        };
        let (dw, dh) = self.dec.chunk_data_dimensions(index as u32);
        let (dw, dh) = (dw as usize, dh as usize);
        let px = if self.layout.planar { 1 } else { self.bands };
        if chunk::decodes(self.layout.compression) {
            let compressed = self.raw_chunk(index).map_err(|e| fail(e.to_string()))?;
            let format = ChunkFormat {
                stored: self.layout.stored,
                samples: px,
                big_endian: self.layout.big_endian,
                predictor: self.layout.predictor,
            };
            let full = if self.layout.tiled {
                self.layout.chunk
            } else {
                (dw, dh)
            };
            return decode_chunk(
                self.layout.compression,
                &compressed,
                full,
                (dw, dh),
                &format,
            )
            .map_err(fail);
        }
        let mut buf = vec![0u8; size];
        self.dec
            .read_chunk_bytes(index as u32, &mut buf)
            .map_err(|e| fail(e.to_string()))?;
        Ok(buf)
    }

    fn raw_chunk(&mut self, index: usize) -> std::io::Result<Vec<u8>> {
        let (offset, count) = (self.chunk_offsets[index], self.chunk_counts[index]);
        let mut buf = vec![0u8; count as usize];
        let file = self.dec.inner();
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Copies the part of a decoded chunk that falls in rows `y0 .. y0 + n` into `out`.
    fn scatter(&self, data: &[u8], c: &Placement, y0: usize, n: usize, out: &mut [u8]) {
        let bps = self.layout.stored.bytes();
        let px_out = self.bands * bps;
        let px_in = if c.plane.is_some() { bps } else { px_out };
        let r_start = c.y0.max(y0);
        let r_end = (c.y0 + c.h).min(y0 + n);
        for r in r_start..r_end {
            let src = &data[(r - c.y0) * c.w * px_in..][..c.w * px_in];
            let dst = &mut out[((r - y0) * self.width + c.x0) * px_out..][..c.w * px_out];
            match c.plane {
                None => dst.copy_from_slice(src),
                Some(p) => {
                    for (d, s) in dst.chunks_exact_mut(px_out).zip(src.chunks_exact(bps)) {
                        d[p * bps..][..bps].copy_from_slice(s);
                    }
                }
            }
        }
    }
}

struct Placement {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    plane: Option<usize>,
}

/// Whole file in memory.
pub fn read_geotiff(path: &Path) -> Result<Raster, RasterError> {
    GeoTiffReader::open(path)?.read_all()
}

/// Byte order and classic/BigTIFF from the 4-byte signature, plus the file length.
fn sniff_header(path: &Path) -> Result<(bool, bool, u64), RasterError> {
    let mut f = File::open(path).map_err(|e| RasterError::io(path, e))?;
    let len = f.metadata().map_err(|e| RasterError::io(path, e))?.len();
    let mut sig = [0u8; 4];
    f.read_exact(&mut sig).map_err(|_| {
        RasterError::format(path, format!("{len} bytes is too short for a TIFF header"))
    })?;
    match sig {
        [b'I', b'I', 42, 0] => Ok((false, false, len)),
        [b'I', b'I', 43, 0] => Ok((true, false, len)),
        [b'M', b'M', 0, 42] => Ok((false, true, len)),
        [b'M', b'M', 0, 43] => Ok((true, true, len)),
        _ => Err(RasterError::format(
            path,
            format!("starts with {sig:02X?}, not a TIFF signature (II*\\0 or MM\\0*)"),
        )),
    }
}

/// The sample type, which must be the same for every band.
fn read_stored_type(
    path: &Path,
    dec: &mut Decoder<BufReader<File>>,
) -> Result<StoredType, RasterError> {
    let t = |e| RasterError::tiff(path, e);
    let bits: Vec<u16> = dec
        .find_tag_unsigned_vec(Tag::BitsPerSample)
        .map_err(t)?
        .unwrap_or_else(|| vec![1]);
    let formats: Vec<u16> = dec
        .find_tag_unsigned_vec(Tag::SampleFormat)
        .map_err(t)?
        .unwrap_or_else(|| vec![1]);
    let bits0 = bits.first().copied().unwrap_or(1);
    let format0 = formats.first().copied().unwrap_or(1);
    if bits.iter().any(|&b| b != bits0) || formats.iter().any(|&f| f != format0) {
        return Err(RasterError::unsupported(
            path,
            format!("bands of different types (BitsPerSample {bits:?}, SampleFormat {formats:?})"),
        ));
    }
    StoredType::from_tags(format0, bits0).ok_or_else(|| {
        RasterError::unsupported(
            path,
            format!(
                "SampleFormat {format0} with {bits0} bits per sample (reads Byte, (U)Int16, \
                 (U)Int32, Float32, Float64, CInt16, CFloat32)"
            ),
        )
    })
}

/// Where the strips/tiles are, checked against the image size and the file length.
struct ChunkTable {
    offsets: Vec<u64>,
    counts: Vec<u64>,
    per_plane: usize,
}

impl ChunkTable {
    fn read(
        path: &Path,
        dec: &mut Decoder<BufReader<File>>,
        (w, h): (u32, u32),
        (cw, ch): (u32, u32),
        planes: usize,
        file_len: u64,
    ) -> Result<Self, RasterError> {
        let t = |e| RasterError::tiff(path, e);
        let tiled = dec.get_chunk_type() == ChunkType::Tile;
        let (offset_tag, count_tag) = if tiled {
            (Tag::TileOffsets, Tag::TileByteCounts)
        } else {
            (Tag::StripOffsets, Tag::StripByteCounts)
        };
        let offsets = dec.get_tag_u64_vec(offset_tag).map_err(t)?;
        let counts = dec.get_tag_u64_vec(count_tag).map_err(t)?;
        check_chunks_in_file(path, &offsets, &counts, file_len, tiled)?;
        let per_plane = expected_chunks(path, (w, h), (cw, ch), tiled)?;
        let expected = per_plane as u128 * planes as u128;
        if offsets.len() as u128 != expected {
            let what = if tiled { "tile" } else { "strip" };
            return Err(RasterError::format(
                path,
                format!(
                    "{} {what} offsets, but a {w}×{h} image in {cw}×{ch} {what}s ({planes} \
                     plane(s)) has {expected}",
                    offsets.len(),
                ),
            ));
        }
        Ok(Self {
            offsets,
            counts,
            per_plane,
        })
    }
}

fn read_nodata(
    path: &Path,
    dec: &mut Decoder<BufReader<File>>,
) -> Result<Option<f64>, RasterError> {
    let t = |e| RasterError::tiff(path, e);
    let Some(v) = dec.find_tag(Tag::GdalNodata).map_err(t)? else {
        return Ok(None);
    };
    let text = v.into_string().map_err(t)?;
    geo::parse_nodata(&text).map(Some).ok_or_else(|| {
        RasterError::format(
            path,
            format!("GDAL_NODATA tag holds {text:?}, expected a number or \"nan\""),
        )
    })
}

/// Band descriptions from the GDAL_METADATA tag (`<Item name="DESCRIPTION" sample="k"
/// role="description">`, sample counted from 0). Metadata GDAL cannot make sense of is
/// ignored as GDAL ignores it: descriptions are a convenience, the pixels do not depend on
/// them.
fn read_descriptions(
    path: &Path,
    dec: &mut Decoder<BufReader<File>>,
    bands: usize,
) -> Result<Vec<Option<String>>, RasterError> {
    let mut out = vec![None; bands];
    let Some(v) = dec
        .find_tag(Tag::Unknown(TAG_GDAL_METADATA))
        .map_err(|e| RasterError::tiff(path, e))?
    else {
        return Ok(out);
    };
    let Ok(text) = v.into_string() else {
        return Ok(out);
    };
    let Ok(doc) = crate::xml::parse(text.trim_end_matches('\0')) else {
        return Ok(out);
    };
    for item in doc.children_named("Item") {
        let is_description =
            item.attr("name") == Some("DESCRIPTION") && item.attr("role") == Some("description");
        let sample = item.attr("sample").and_then(|s| s.parse::<usize>().ok());
        if let (true, Some(slot)) = (is_description, sample.and_then(|s| out.get_mut(s))) {
            *slot = Some(item.text.clone()).filter(|t| !t.is_empty());
        }
    }
    Ok(out)
}

/// Chunks per plane the image size and chunk size imply.
fn expected_chunks(
    path: &Path,
    (w, h): (u32, u32),
    (cw, ch): (u32, u32),
    tiled: bool,
) -> Result<usize, RasterError> {
    if cw == 0 || ch == 0 || w == 0 || h == 0 {
        return Err(RasterError::format(
            path,
            format!("image {w}×{h} with chunks of {cw}×{ch}: sizes must be positive"),
        ));
    }
    let down = u64::from(h.div_ceil(ch));
    let chunks = if tiled {
        // At most (2^32 − 1)^2: fits in a u64.
        u64::from(w.div_ceil(cw)) * down
    } else {
        down
    };
    usize::try_from(chunks).map_err(|_| {
        RasterError::format(
            path,
            format!("image {w}×{h} in chunks of {cw}×{ch} has {chunks} chunks, too many to index"),
        )
    })
}

/// `w × h` pixels of `samples` samples of `stored`, in bytes, or an error saying the header
/// asks for more than this machine can address (`what`: "a row", "a strip", "a tile").
fn byte_size(
    path: &Path,
    what: &str,
    (w, h): (u32, u32),
    samples: usize,
    stored: StoredType,
) -> Result<usize, RasterError> {
    // u32 × u32 × u16 × 8 < 2^83: exact in u128.
    let bytes = u128::from(w) * u128::from(h) * samples as u128 * stored.bytes() as u128;
    usize::try_from(bytes).map_err(|_| {
        RasterError::format(
            path,
            format!(
                "{what} of {w}×{h} pixels of {samples} {} sample(s) is {bytes} bytes, more than \
                 this machine can address (corrupt or crafted header?)",
                stored.gdal_name()
            ),
        )
    })
}

/// The most bytes one stored byte can decode to, per compression, with the compression's
/// name: each is the format's own ceiling, so no chunk any encoder can write is refused,
/// while a header claiming more pixels than its stored bytes can hold is.
///
/// - PackBits: a 2-byte run (header + byte) gives at most 128 bytes: 64:1.
/// - Deflate: a 258-byte match coded in 2 bits (1-bit length and distance codes) is
///   the format's ceiling, 1032:1.
/// - LZW (9–12-bit codes, 4096-entry table): table entry k (258 ≤ k < 4096) is at most
///   k − 256 bytes long, and one 12-bit code emits one entry: 3839 × 8 / 12 < 2560:1.
///
/// A rounder 1000:1 for both would refuse real files: constant data (an all-no-data strip,
/// common at the edges of geocoded scenes) gets close to the ceilings, and our own writer
/// stores a 4 MiB strip of zeros at 1027:1 (Deflate) and 1050:1 (LZW); see the test
/// `constant_chunks_near_the_ratio_ceiling_still_read`.
/// - ZSTD: a block is at most 128 KiB and an RLE block (3-byte header + the byte) the
///   cheapest way to write one: 32768:1; frame headers only lower it.
/// - LZMA: the cheapest symbol is a rep0 match of the longest length (273 bytes), 14
///   range-coder decisions, each at best probability 2017/2048 (the adaptive model's fixed
///   point), −log2 of which is 0.022 bits: 0.308 bits for 273 bytes, 7090:1. Rounded up to
///   7200; xz and LZMA2 chunk headers only lower it.
/// - Anything else the `tiff` crate decodes (JPEG, CCITT): 1032:1 as well; JPEG's
///   ceiling (about 2 bits of Huffman codes per 8×8 block: 256:1 a channel, 512:1 with
///   4:2:0 chroma) is below it.
fn max_ratio(compression: u16) -> (u64, &'static str) {
    match compression {
        1 => (1, "uncompressed"),
        32773 => (MAX_RATIO_PACKBITS, "PackBits"),
        8 | 32946 => (MAX_RATIO_DEFLATE, "Deflate"),
        chunk::LZW => (MAX_RATIO_LZW, "LZW"),
        chunk::ZSTD => (MAX_RATIO_ZSTD, "ZSTD"),
        chunk::LZMA => (MAX_RATIO_LZMA, "LZMA"),
        _ => (MAX_RATIO_OTHER, "compressed"),
    }
}

/// See [`max_ratio`].
const MAX_RATIO_PACKBITS: u64 = 64;
const MAX_RATIO_DEFLATE: u64 = 1032;
const MAX_RATIO_LZW: u64 = 2560;
const MAX_RATIO_ZSTD: u64 = 32768;
const MAX_RATIO_LZMA: u64 = 7200;
const MAX_RATIO_OTHER: u64 = 1032;

/// The `tiff` crate's default limits (tag values and decoded buffers of at most 256 MiB),
/// with one raise: a chunk's stored bytes may be as many as the largest chunk of this file
/// holds (the default stops at 128 MiB), so a big single-strip file still reads. Those
/// counts were checked to lie inside the file, so the raise is bounded by its size.
fn decoder_limits(counts: &[u64]) -> Limits {
    let mut limits = Limits::default();
    let largest = counts.iter().copied().max().unwrap_or(0);
    limits.intermediate_buffer_size = limits
        .intermediate_buffer_size
        .max(usize::try_from(largest).unwrap_or(usize::MAX));
    limits
}

/// The tags this reader decodes, with the number of values a sane file has.
const TAGS_READ: [(u16, &str, &str); 16] = [
    (258, "BitsPerSample", "one per band"),
    (259, "Compression", "1"),
    (273, "StripOffsets", "one per strip"),
    (277, "SamplesPerPixel", "1"),
    (279, "StripByteCounts", "one per strip"),
    (284, "PlanarConfiguration", "1"),
    (317, "Predictor", "1"),
    (324, "TileOffsets", "one per tile"),
    (325, "TileByteCounts", "one per tile"),
    (339, "SampleFormat", "one per band"),
    (geo::TAG_MODEL_PIXEL_SCALE, "ModelPixelScale", "3"),
    (geo::TAG_MODEL_TIEPOINT, "ModelTiepoint", "6 per tiepoint"),
    (geo::TAG_MODEL_TRANSFORMATION, "ModelTransformation", "16"),
    (
        geo::TAG_GEO_KEY_DIRECTORY,
        "GeoKeyDirectory",
        "4 + 4 per key",
    ),
    (
        geo::TAG_GDAL_NODATA,
        "GDAL_NODATA",
        "a short number as text",
    ),
    (TAG_GDAL_METADATA, "GDAL_METADATA", "an XML text"),
];

/// GDAL's metadata as XML text (`<GDALMetadata><Item name=… sample=… role=…>`).
const TAG_GDAL_METADATA: u16 = 42112;

/// A tag whose values would be more bytes than the whole file is refused before it is
/// decoded (the `tiff` crate would allocate up to its 256 MiB limit first, then fail on a
/// short read or the limit without naming the tag).
fn check_tag_sizes(
    path: &Path,
    dec: &mut Decoder<BufReader<File>>,
    file_len: u64,
) -> Result<(), RasterError> {
    for (code, name, expected) in TAGS_READ {
        let Some(entry) = dec.image_ifd().find_entry(Tag::Unknown(code)) else {
            continue;
        };
        let size = type_bytes(entry.field_type());
        let bytes = u128::from(entry.count()) * u128::from(size);
        if bytes > u128::from(file_len) {
            return Err(RasterError::format(
                path,
                format!(
                    "tag {name} ({code}) declares {} values of {size} bytes ({bytes} bytes), \
                     more than the whole file ({file_len} bytes); expected {expected} value(s)",
                    entry.count()
                ),
            ));
        }
    }
    Ok(())
}

/// Bytes per value of a TIFF field type.
fn type_bytes(t: tiff::tags::Type) -> u64 {
    use tiff::tags::Type;
    match t {
        Type::BYTE | Type::SBYTE | Type::ASCII | Type::UNDEFINED => 1,
        Type::SHORT | Type::SSHORT => 2,
        Type::LONG | Type::SLONG | Type::FLOAT | Type::IFD => 4,
        // RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8; a type added later counts as
        // 8 bytes too.
        _ => 8,
    }
}

/// A truncated download is common; name the first chunk that lies past the end.
fn check_chunks_in_file(
    path: &Path,
    offsets: &[u64],
    counts: &[u64],
    file_len: u64,
    tiled: bool,
) -> Result<(), RasterError> {
    let what = if tiled { "tile" } else { "strip" };
    if offsets.len() != counts.len() {
        return Err(RasterError::format(
            path,
            format!(
                "{} {what} offsets but {} {what} byte counts",
                offsets.len(),
                counts.len()
            ),
        ));
    }
    for (i, (&o, &c)) in offsets.iter().zip(counts).enumerate() {
        if o.saturating_add(c) > file_len {
            return Err(RasterError::format(
                path,
                format!(
                    "{what} {i} spans bytes {o}..{} but the file has only {file_len} bytes \
                     (truncated file?)",
                    o.saturating_add(c)
                ),
            ));
        }
    }
    Ok(())
}

fn read_geo(
    path: &Path,
    dec: &mut Decoder<BufReader<File>>,
) -> Result<Option<GeoInfo>, RasterError> {
    let t = |e| RasterError::tiff(path, e);
    let f64s =
        |dec: &mut Decoder<BufReader<File>>, tag: u16| -> Result<Option<Vec<f64>>, RasterError> {
            match dec.find_tag(Tag::Unknown(tag)).map_err(t)? {
                Some(v) => Ok(Some(v.into_f64_vec().map_err(t)?)),
                None => Ok(None),
            }
        };
    let scale = f64s(dec, geo::TAG_MODEL_PIXEL_SCALE)?;
    let tiepoint = f64s(dec, geo::TAG_MODEL_TIEPOINT)?;
    let matrix = f64s(dec, geo::TAG_MODEL_TRANSFORMATION)?;
    let keys = match dec
        .find_tag(Tag::Unknown(geo::TAG_GEO_KEY_DIRECTORY))
        .map_err(t)?
    {
        Some(v) => {
            let dir = v.into_u16_vec().map_err(t)?;
            geo::parse_geokeys(&dir).map_err(|m| RasterError::format(path, m))?
        }
        None => geo::GeoKeys::default(),
    };
    let pixel_is_point = keys.raster_type == Some(2);
    let transform = geo::transform_from_tags(
        scale.as_deref(),
        tiepoint.as_deref(),
        matrix.as_deref(),
        pixel_is_point,
    )
    .map_err(|m| RasterError::format(path, m))?;
    Ok(transform.map(|transform| GeoInfo {
        transform,
        epsg: keys.epsg,
        pixel_is_point,
    }))
}

/// Native-endian sample bytes (as the `tiff` crate leaves them) to in-memory pixels.
fn convert(bytes: &[u8], stored: StoredType, file_big_endian: bool) -> Pixels {
    fn ne<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        a
    }
    // The `tiff` crate swaps a complex sample as one 2N-byte word, which leaves the halves
    // swapped (imaginary first) when the file's byte order differs from ours.
    let swapped_halves = file_big_endian != cfg!(target_endian = "big");
    let cplx = |re: f32, im: f32| {
        if swapped_halves {
            Complex32::new(im, re)
        } else {
            Complex32::new(re, im)
        }
    };
    match stored {
        StoredType::U8 => Pixels::U8(bytes.to_vec()),
        StoredType::U16 => Pixels::F32(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(u16::from_ne_bytes(ne(b))))
                .collect(),
        ),
        StoredType::I16 => Pixels::F32(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_ne_bytes(ne(b))))
                .collect(),
        ),
        StoredType::U32 => Pixels::F32(
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_ne_bytes(ne(b)) as f32)
                .collect(),
        ),
        StoredType::I32 => Pixels::F32(
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_ne_bytes(ne(b)) as f32)
                .collect(),
        ),
        StoredType::F32 => Pixels::F32(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes(ne(b)))
                .collect(),
        ),
        StoredType::F64 => Pixels::F32(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_ne_bytes(ne(b)) as f32)
                .collect(),
        ),
        StoredType::CI16 => Pixels::C32(
            bytes
                .chunks_exact(4)
                .map(|b| {
                    cplx(
                        f32::from(i16::from_ne_bytes(ne(&b[..2]))),
                        f32::from(i16::from_ne_bytes(ne(&b[2..]))),
                    )
                })
                .collect(),
        ),
        StoredType::CF32 => Pixels::C32(
            bytes
                .chunks_exact(8)
                .map(|b| {
                    cplx(
                        f32::from_ne_bytes(ne(&b[..4])),
                        f32::from_ne_bytes(ne(&b[4..])),
                    )
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::GeoTransform;
    use crate::tiff_write::{Layout, WriteOptions, write_geotiff};

    const ALL_COMPRESSIONS: [Compression; 4] = [
        Compression::None,
        Compression::Lzw,
        Compression::Deflate,
        Compression::PackBits,
    ];

    fn layouts() -> [Layout; 4] {
        [
            Layout::Auto,
            Layout::Strips { rows: 1 },
            Layout::Strips { rows: 7 },
            Layout::Tiles {
                width: 16,
                height: 32,
            },
        ]
    }

    fn geo_4326() -> GeoInfo {
        GeoInfo::new(
            GeoTransform::north_up(-99.2, 19.45, 0.0013888889, -0.0013888889),
            Some(4326),
        )
    }

    fn f32_raster(w: usize, h: usize, bands: usize) -> Raster {
        // Mixed values: negatives, tiny, large, exact zeros (no-data), NaN.
        let v = (0..w * h * bands)
            .map(|i| match i % 11 {
                0 => 0.0,
                5 => f32::NAN,
                k => (i as f32 * 0.37).sin() * 10f32.powi(k as i32 - 5),
            })
            .collect();
        Raster {
            width: w,
            height: h,
            bands,
            pixels: Pixels::F32(v),
            geo: Some(geo_4326()),
            nodata: Some(0.0),
        }
    }

    /// Bit-exact equality of pixels (NaN payloads included).
    fn same_pixels(a: &Pixels, b: &Pixels) -> bool {
        match (a, b) {
            (Pixels::F32(x), Pixels::F32(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            (Pixels::C32(x), Pixels::C32(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|(p, q)| {
                        p.re.to_bits() == q.re.to_bits() && p.im.to_bits() == q.im.to_bits()
                    })
            }
            _ => a == b,
        }
    }

    fn round_trip(r: &Raster, opts: &WriteOptions) -> (Raster, TiffLayout) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.tif");
        write_geotiff(&p, r, opts).unwrap();
        let mut rd = GeoTiffReader::open(&p).unwrap();
        let layout = rd.layout().clone();
        (rd.read_all().unwrap(), layout)
    }

    #[test]
    fn f32_round_trip_every_compression_and_layout() {
        let r = f32_raster(37, 29, 1);
        for c in ALL_COMPRESSIONS {
            for layout in layouts() {
                for predictor in [false, true] {
                    let opts = WriteOptions {
                        compression: c,
                        layout,
                        bigtiff: false,
                        predictor,
                    };
                    let (back, lay) = round_trip(&r, &opts);
                    assert!(same_pixels(&back.pixels, &r.pixels), "{opts:?}");
                    assert_eq!((back.width, back.height, back.bands), (37, 29, 1));
                    assert_eq!(back.geo, r.geo);
                    assert_eq!(back.nodata, Some(0.0));
                    assert_eq!(lay.compression, c.tag_value());
                    assert_eq!(lay.predictor, if predictor { 3 } else { 1 });
                    assert_eq!(lay.tiled, matches!(layout, Layout::Tiles { .. }));
                    assert_eq!(lay.stored, StoredType::F32);
                }
            }
        }
    }

    #[test]
    fn c32_round_trip_every_compression_and_layout() {
        let v: Vec<Complex32> = (0..23 * 19)
            .map(|i| {
                if i % 7 == 0 {
                    Complex32::new(0.0, 0.0)
                } else {
                    Complex32::from_polar(1.0 + i as f32 * 0.01, i as f32 * 0.3)
                }
            })
            .collect();
        let r = Raster {
            width: 23,
            height: 19,
            bands: 1,
            pixels: Pixels::C32(v),
            geo: Some(GeoInfo::new(
                GeoTransform::north_up(500000.0, 4100000.0, 40.0, -40.0),
                Some(32633),
            )),
            nodata: None,
        };
        for c in ALL_COMPRESSIONS {
            for layout in layouts() {
                let opts = WriteOptions {
                    compression: c,
                    layout,
                    ..WriteOptions::default()
                };
                let (back, lay) = round_trip(&r, &opts);
                assert_eq!(back, r, "{opts:?}");
                assert_eq!(lay.stored, StoredType::CF32);
                let mask = back.valid_mask();
                assert_eq!(
                    mask.iter().filter(|ok| !**ok).count(),
                    (23usize * 19).div_ceil(7)
                );
            }
        }
    }

    #[test]
    fn u8_rgb_and_gray_round_trip() {
        for bands in [1, 3] {
            let v: Vec<u8> = (0..33 * 18 * bands).map(|i| (i * 7 % 251) as u8).collect();
            let r = Raster {
                width: 33,
                height: 18,
                bands,
                pixels: Pixels::U8(v),
                geo: None,
                nodata: None,
            };
            for c in ALL_COMPRESSIONS {
                for layout in layouts() {
                    for predictor in [false, true] {
                        let opts = WriteOptions {
                            compression: c,
                            layout,
                            bigtiff: false,
                            predictor,
                        };
                        let (back, lay) = round_trip(&r, &opts);
                        assert_eq!(back, r, "{opts:?} bands {bands}");
                        assert_eq!(lay.predictor, if predictor { 2 } else { 1 });
                    }
                }
            }
        }
    }

    #[test]
    fn multiband_float_pixel_is_point_and_rotation_round_trip() {
        let mut r = f32_raster(20, 17, 2);
        r.geo = Some(GeoInfo {
            transform: GeoTransform([10.0, 2.0, 0.5, 20.0, -0.25, -2.0]),
            epsg: Some(32734),
            pixel_is_point: true,
        });
        r.nodata = Some(f64::NAN);
        let (back, _) = round_trip(&r, &WriteOptions::default());
        assert!(same_pixels(&back.pixels, &r.pixels));
        let g = back.geo.unwrap();
        assert!(g.pixel_is_point);
        assert_eq!(g.epsg, Some(32734));
        for k in 0..6 {
            assert!((g.transform.0[k] - r.geo.unwrap().transform.0[k]).abs() < 1e-12);
        }
        assert!(back.nodata.unwrap().is_nan());
    }

    #[test]
    fn bigtiff_round_trip() {
        let r = f32_raster(40, 21, 1);
        for layout in [
            Layout::Strips { rows: 4 },
            Layout::Tiles {
                width: 16,
                height: 16,
            },
        ] {
            let opts = WriteOptions {
                compression: Compression::Deflate,
                layout,
                bigtiff: true,
                predictor: false,
            };
            let (back, lay) = round_trip(&r, &opts);
            assert!(lay.bigtiff);
            assert!(same_pixels(&back.pixels, &r.pixels));
            assert_eq!(back.geo, r.geo);
        }
    }

    #[test]
    fn streaming_rows_equal_full_read() {
        let r = f32_raster(35, 50, 1);
        let dir = tempfile::tempdir().unwrap();
        for (k, layout) in layouts().into_iter().enumerate() {
            let p = dir.path().join(format!("s{k}.tif"));
            let opts = WriteOptions {
                layout,
                ..WriteOptions::default()
            };
            write_geotiff(&p, &r, &opts).unwrap();
            let mut rd = GeoTiffReader::open(&p).unwrap();
            let Pixels::F32(full) = &r.pixels else {
                unreachable!()
            };
            for (y0, n) in [(0, 1), (3, 9), (31, 19), (49, 1), (6, 32), (0, 50)] {
                let part = rd.read_rows(y0, n).unwrap();
                let Pixels::F32(got) = &part.pixels else {
                    panic!()
                };
                let want = &full[y0 * 35..(y0 + n) * 35];
                assert!(
                    got.iter()
                        .zip(want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{layout:?} rows {y0}+{n}"
                );
                assert_eq!(got.len(), want.len());
                let (x, y) = part.geo.unwrap().transform.origin();
                let (ex, ey) = r.geo.unwrap().transform.apply(0.0, y0 as f64);
                assert_eq!((x, y), (ex, ey));
            }
            let err = rd.read_rows(45, 6).unwrap_err().to_string();
            assert!(err.contains("s") && err.contains("height 50"), "{err}");
        }
    }

    /// Offset of the value array of a LONG tag in a classic little-endian TIFF.
    fn long_array_offset(bytes: &[u8], tag: u16) -> usize {
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
        let ifd = u32_at(4) as usize;
        (0..usize::from(u16_at(ifd)))
            .map(|k| ifd + 2 + 12 * k)
            .find(|&e| u16_at(e) == tag)
            .map(|e| u32_at(e + 8) as usize)
            .unwrap()
    }

    #[test]
    fn truncated_file_names_file_and_strip() {
        let r = f32_raster(30, 40, 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.tif");
        let opts = WriteOptions {
            compression: Compression::None,
            layout: Layout::Strips { rows: 10 },
            ..WriteOptions::default()
        };
        write_geotiff(&p, &r, &opts).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        // A strip whose byte count runs past the end of the file is what a cut-short
        // download looks like when the directory happens to come first.
        let counts = long_array_offset(&bytes, 279);
        let last = counts + 4 * 3;
        bytes[last..last + 4].copy_from_slice(&(10_000_000u32).to_le_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let err = GeoTiffReader::open(&p)
            .err()
            .expect("truncated file opened")
            .to_string();
        assert!(
            err.contains("cut.tif") && err.contains("strip 3") && err.contains("truncated"),
            "{err}"
        );
        // Cut in half: the directory (written last) is gone.
        write_geotiff(&p, &r, &opts).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let err = GeoTiffReader::open(&p)
            .err()
            .expect("truncated file opened");
        assert!(err.to_string().contains("cut.tif"), "{err}");
    }

    #[test]
    fn missing_strips_are_a_format_error() {
        let r = f32_raster(30, 40, 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("few.tif");
        let opts = WriteOptions {
            compression: Compression::Lzw,
            layout: Layout::Strips { rows: 10 },
            ..WriteOptions::default()
        };
        write_geotiff(&p, &r, &opts).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        // Declare 3 strips instead of 4 in both StripOffsets and StripByteCounts.
        let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        for k in 0..usize::from(u16_at(&bytes, ifd)) {
            let e = ifd + 2 + 12 * k;
            if matches!(u16_at(&bytes, e), 273 | 279) {
                bytes[e + 4..e + 8].copy_from_slice(&3u32.to_le_bytes());
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        // The `tiff` crate notices first for strips; our own check backs it up. Either way:
        // an error naming the file, not a panic.
        let err = GeoTiffReader::open(&p).err().unwrap().to_string();
        assert!(
            err.contains("few.tif") && (err.contains("has 4") || err.contains("inconsistent")),
            "{err}"
        );
    }

    #[test]
    fn rows_per_strip_all_ones_means_one_strip() {
        let r = f32_raster(12, 9, 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("one.tif");
        let opts = WriteOptions {
            layout: Layout::Strips { rows: 9 },
            ..WriteOptions::default()
        };
        write_geotiff(&p, &r, &opts).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        for k in 0..usize::from(u16_at(&bytes, ifd)) {
            let e = ifd + 2 + 12 * k;
            if u16_at(&bytes, e) == 278 {
                bytes[e + 8..e + 12].copy_from_slice(&u32::MAX.to_le_bytes());
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        let mut rd = GeoTiffReader::open(&p).unwrap();
        assert_eq!(rd.rows_per_chunk(), 9);
        assert!(same_pixels(&rd.read_rows(4, 5).unwrap().pixels, &{
            let Pixels::F32(v) = &r.pixels else {
                unreachable!()
            };
            Pixels::F32(v[4 * 12..].to_vec())
        }));
    }

    #[test]
    fn corrupt_strip_data_names_strip() {
        let r = f32_raster(30, 40, 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.tif");
        let opts = WriteOptions {
            compression: Compression::Deflate,
            layout: Layout::Strips { rows: 10 },
            ..WriteOptions::default()
        };
        write_geotiff(&p, &r, &opts).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        let offsets = long_array_offset(&bytes, 273);
        let strip2 = u32::from_le_bytes(bytes[offsets + 8..offsets + 12].try_into().unwrap());
        // Break the zlib header of strip 2.
        bytes[strip2 as usize] = 0xFF;
        bytes[strip2 as usize + 1] = 0xFF;
        std::fs::write(&p, &bytes).unwrap();
        let mut rd = GeoTiffReader::open(&p).unwrap();
        assert!(rd.read_rows(0, 20).is_ok(), "strips 0 and 1 are intact");
        let err = rd.read_rows(15, 10).unwrap_err().to_string();
        assert!(
            err.contains("bad.tif") && err.contains("strip 2 (rows from 20)"),
            "{err}"
        );
    }

    fn any_layout() -> impl proptest::strategy::Strategy<Value = Layout> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Layout::Auto),
            (1usize..9).prop_map(|rows| Layout::Strips { rows }),
            (1usize..3, 1usize..3).prop_map(|(a, b)| Layout::Tiles {
                width: 16 * a,
                height: 16 * b
            }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn random_rasters_round_trip_bit_exact(
            w in 1usize..40,
            h in 1usize..40,
            bands in 1usize..3,
            seed in proptest::prelude::any::<u64>(),
            c in 0usize..4,
            layout in any_layout(),
            predictor in proptest::prelude::any::<bool>(),
            bigtiff in proptest::prelude::any::<bool>(),
            window in (0usize..40, 1usize..40),
        ) {
            // Arbitrary bit patterns, NaN payloads and subnormals included; every sample
            // type, so Byte (predictor 2) and complex data are covered too.
            let mut x = seed | 1;
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let n = w * h * bands;
            let v: Pixels = match seed % 3 {
                0 => Pixels::F32((0..n).map(|_| f32::from_bits(next() as u32)).collect()),
                1 => Pixels::U8((0..n).map(|_| next() as u8).collect()),
                _ => Pixels::C32(
                    (0..n)
                        .map(|_| {
                            let b = next();
                            Complex32::new(f32::from_bits(b as u32), f32::from_bits((b >> 32) as u32))
                        })
                        .collect(),
                ),
            };
            let r = Raster { width: w, height: h, bands, pixels: v.clone(), geo: None, nodata: None };
            let opts = WriteOptions { compression: ALL_COMPRESSIONS[c], layout, bigtiff, predictor };
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("p.tif");
            write_geotiff(&p, &r, &opts).unwrap();
            let mut rd = GeoTiffReader::open(&p).unwrap();
            let back = rd.read_all().unwrap();
            proptest::prop_assert!(same_pixels(&back.pixels, &r.pixels));
            let y0 = window.0 % h;
            let n = 1 + (window.1 - 1) % (h - y0);
            let part = rd.read_rows(y0, n).unwrap();
            let row = w * bands;
            let (a, b) = (y0 * row, (y0 + n) * row);
            let want = match &v {
                Pixels::F32(v) => Pixels::F32(v[a..b].to_vec()),
                Pixels::U8(v) => Pixels::U8(v[a..b].to_vec()),
                Pixels::C32(v) => Pixels::C32(v[a..b].to_vec()),
            };
            proptest::prop_assert!(same_pixels(&part.pixels, &want));
        }
    }

    /// One IFD entry of a hand-made TIFF: tag, field type, value count, and the value bytes
    /// (little-endian; fewer than `count` values in a crafted file).
    type RawEntry = (u16, u16, u64, Vec<u8>);

    fn shorts(tag: u16, v: &[u16]) -> RawEntry {
        (
            tag,
            3,
            v.len() as u64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    }

    fn longs(tag: u16, v: &[u32]) -> RawEntry {
        (
            tag,
            4,
            v.len() as u64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    }

    fn long8s(tag: u16, v: &[u64]) -> RawEntry {
        (
            tag,
            16,
            v.len() as u64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    }

    /// Where `hand_made_tiff` puts the chunk data.
    fn data_start(bigtiff: bool) -> u64 {
        if bigtiff { 16 } else { 8 }
    }

    /// A little-endian TIFF (classic or BigTIFF), byte by byte, as our writer would never
    /// make it: header, `data` (the one chunk), one IFD of `entries`, their long values.
    fn hand_made_tiff(bigtiff: bool, data: &[u8], entries: &[RawEntry]) -> Vec<u8> {
        let mut entries = entries.to_vec();
        entries.sort_by_key(|e| e.0);
        let (count_len, entry_len, inline) = if bigtiff { (8, 20, 8) } else { (2, 12, 4) };
        let ifd_at = data_start(bigtiff) as usize + data.len().next_multiple_of(8);
        let values_at = ifd_at + count_len + entries.len() * entry_len + inline;
        let mut out = Vec::new();
        if bigtiff {
            out.extend([b'I', b'I', 43, 0, 8, 0, 0, 0]);
            out.extend((ifd_at as u64).to_le_bytes());
        } else {
            out.extend([b'I', b'I', 42, 0]);
            out.extend((ifd_at as u32).to_le_bytes());
        }
        out.extend(data);
        out.resize(ifd_at, 0);
        let mut values = Vec::new();
        if bigtiff {
            out.extend((entries.len() as u64).to_le_bytes());
        } else {
            out.extend((entries.len() as u16).to_le_bytes());
        }
        for (tag, ty, count, bytes) in &entries {
            out.extend(tag.to_le_bytes());
            out.extend(ty.to_le_bytes());
            if bigtiff {
                out.extend(count.to_le_bytes());
            } else {
                out.extend((*count as u32).to_le_bytes());
            }
            let size = match ty {
                1 | 2 | 6 | 7 => 1,
                3 | 8 => 2,
                4 | 9 | 11 | 13 => 4,
                _ => 8,
            };
            let mut field = if u128::from(*count) * size <= inline as u128 {
                bytes.clone()
            } else {
                let at = (values_at + values.len()) as u64;
                values.extend(bytes);
                values.resize(values.len().next_multiple_of(2), 0);
                if bigtiff {
                    at.to_le_bytes().to_vec()
                } else {
                    (at as u32).to_le_bytes().to_vec()
                }
            };
            field.resize(inline, 0);
            out.extend(field);
        }
        out.extend(vec![0u8; inline]);
        out.extend(values);
        out
    }

    /// A Float32 image of `w`×`h` pixels and `bands` bands stored as one strip (or one
    /// `w`×`h` tile) of `data` under `compression`, plus `extra` entries.
    fn one_chunk_tiff(
        bigtiff: bool,
        (w, h): (u32, u32),
        bands: u16,
        compression: u16,
        tiled: bool,
        data: &[u8],
        extra: &[RawEntry],
    ) -> Vec<u8> {
        let b = usize::from(bands);
        let offsets = if bigtiff {
            long8s(0, &[data_start(bigtiff)])
        } else {
            longs(0, &[data_start(bigtiff) as u32])
        };
        let (offsets_tag, counts_tag) = if tiled { (324, 325) } else { (273, 279) };
        let mut e = vec![
            longs(256, &[w]),
            longs(257, &[h]),
            shorts(258, &vec![32; b]),
            shorts(259, &[compression]),
            shorts(262, &[1]),
            shorts(277, &[bands]),
            shorts(339, &vec![3; b]),
            (offsets_tag, offsets.1, offsets.2, offsets.3),
            longs(counts_tag, &[data.len() as u32]),
        ];
        if bands > 1 {
            e.push(shorts(338, &vec![0; b - 1]));
        }
        if tiled {
            e.extend([longs(322, &[w]), longs(323, &[h])]);
        } else {
            e.push(longs(278, &[h]));
        }
        e.extend(extra.iter().cloned());
        hand_made_tiff(bigtiff, data, &e)
    }

    #[test]
    fn hand_made_tiff_reads() {
        // The builder the crafted-file tests use makes files the reader opens as intended.
        let v = [1.5f32, -2.0, 3.25, 0.0, 7.0, 8.5];
        let raw: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hand.tif");
        for bigtiff in [false, true] {
            for (c, data) in [
                (Compression::None, raw.clone()),
                (
                    Compression::Deflate,
                    crate::codec::compress(&raw, Compression::Deflate),
                ),
                (
                    Compression::Lzw,
                    crate::codec::compress(&raw, Compression::Lzw),
                ),
                (
                    Compression::PackBits,
                    crate::codec::compress(&raw, Compression::PackBits),
                ),
            ] {
                let scale = (
                    33550,
                    12,
                    3,
                    [30.0f64, 30.0, 0.0]
                        .iter()
                        .flat_map(|x| x.to_le_bytes())
                        .collect(),
                );
                let tie = (
                    33922,
                    12,
                    6,
                    [0.0f64, 0.0, 0.0, 500.0, 900.0, 0.0]
                        .iter()
                        .flat_map(|x| x.to_le_bytes())
                        .collect(),
                );
                let bytes = one_chunk_tiff(
                    bigtiff,
                    (3, 2),
                    1,
                    c.tag_value(),
                    false,
                    &data,
                    &[scale, tie],
                );
                std::fs::write(&p, bytes).unwrap();
                let r = read_geotiff(&p).unwrap();
                assert_eq!(
                    (r.width, r.height, r.pixels),
                    (3, 2, Pixels::F32(v.to_vec())),
                    "{c:?}"
                );
                assert_eq!(
                    r.geo.unwrap().transform.0,
                    [500.0, 30.0, 0.0, 900.0, 0.0, -30.0]
                );
            }
        }
    }

    #[test]
    fn huge_header_over_a_tiny_chunk_is_an_error_not_an_allocation() {
        // 300 000 × 300 000 Float32 pixels (360 GB) declared over a few stored bytes: the
        // reader used to allocate the 360 GB (and abort) before decoding anything.
        let zeros = [0u8; 64];
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.tif");
        for (c, name) in [
            (Compression::Deflate, "Deflate"),
            (Compression::Lzw, "LZW"),
            (Compression::PackBits, "PackBits"),
            (Compression::None, "uncompressed"),
        ] {
            for tiled in [false, true] {
                let data = crate::codec::compress(&zeros[..12], c);
                let bytes = one_chunk_tiff(
                    false,
                    (300_000, 300_000),
                    1,
                    c.tag_value(),
                    tiled,
                    &data,
                    &[],
                );
                if !tiled {
                    assert!(bytes.len() < 160, "{} bytes", bytes.len());
                }
                std::fs::write(&p, &bytes).unwrap();
                // The header alone is fine: opening works, describing it is possible.
                let mut rd = GeoTiffReader::open(&p).unwrap();
                assert_eq!((rd.width(), rd.height()), (300_000, 300_000));
                let what = if tiled { "tile 0" } else { "strip 0" };
                for err in [
                    read_geotiff(&p).unwrap_err().to_string(),
                    rd.read_rows(0, 1).unwrap_err().to_string(),
                ] {
                    assert!(
                        err.contains("huge.tif")
                            && err.contains(&format!("{what} (rows from 0)"))
                            && err.contains("360000000000 bytes")
                            && err.contains(name)
                            && err.contains("crafted"),
                        "{c:?} tiled {tiled}: {err}"
                    );
                }
            }
        }
    }

    #[test]
    fn constant_chunks_near_the_ratio_ceiling_still_read() {
        // An all-no-data strip is the best case for every compressor: 4 MiB of zeros goes
        // past 1000:1 with Deflate and LZW, so the ceilings must be the formats' own.
        let (w, h) = (1024, 1024);
        let r = Raster {
            width: w,
            height: h,
            bands: 1,
            pixels: Pixels::F32(vec![0.0; w * h]),
            geo: None,
            nodata: Some(0.0),
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("zeros.tif");
        for c in ALL_COMPRESSIONS {
            for layout in [
                Layout::Strips { rows: h },
                Layout::Tiles {
                    width: 256,
                    height: 256,
                },
            ] {
                let opts = WriteOptions {
                    compression: c,
                    layout,
                    ..WriteOptions::default()
                };
                write_geotiff(&p, &r, &opts).unwrap();
                let mut rd = GeoTiffReader::open(&p).unwrap();
                let lossless = matches!(c, Compression::Deflate | Compression::Lzw);
                if lossless && matches!(layout, Layout::Strips { .. }) {
                    // Past 1000:1: a round 1000:1 cap would refuse this strip.
                    let stored = rd.chunk_counts[0];
                    assert!((w * h * 4) as u64 > 1000 * stored, "{c:?}: {stored} bytes");
                }
                let back = rd.read_all().unwrap();
                assert_eq!(back.pixels, r.pixels, "{c:?} {layout:?}");
            }
        }
    }

    #[test]
    fn tag_with_more_values_than_the_file_is_an_error() {
        // ModelPixelScale claiming 2^32 − 1 (classic) or 2^32 (BigTIFF) doubles: with the
        // `tiff` crate's limits turned off this was a 32 GiB allocation and an abort.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("scale.tif");
        let scale: Vec<u8> = [30.0f64, 30.0, 0.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        for (bigtiff, count) in [(false, u64::from(u32::MAX)), (true, 1u64 << 32)] {
            let bad = (33550, 12, count, scale.clone());
            let bytes = one_chunk_tiff(bigtiff, (1, 1), 1, 1, false, &[0; 4], &[bad]);
            std::fs::write(&p, &bytes).unwrap();
            let err = GeoTiffReader::open(&p).err().expect("opened").to_string();
            assert!(
                err.contains("scale.tif")
                    && err.contains(&format!("ModelPixelScale (33550) declares {count} values"))
                    && err.contains(&format!("whole file ({} bytes)", bytes.len()))
                    && err.contains("expected 3"),
                "{err}"
            );
            // The same file with an honest count opens.
            let good = (33550, 12, 3, scale.clone());
            std::fs::write(
                &p,
                one_chunk_tiff(bigtiff, (1, 1), 1, 1, false, &[0; 4], &[good]),
            )
            .unwrap();
            assert!(GeoTiffReader::open(&p).is_ok());
        }
    }

    #[test]
    fn sizes_that_overflow_are_an_error_not_a_panic() {
        // 2^31 × 2^31 pixels of 4 Float32 samples in one LZW strip or tile: 2^66 bytes,
        // which wrapped to 0 and then indexed out of range.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wrap.tif");
        let data = crate::codec::compress(&[0; 64], Compression::Lzw);
        let side = 1u32 << 31;
        for bigtiff in [false, true] {
            for tiled in [false, true] {
                let bytes = one_chunk_tiff(bigtiff, (side, side), 4, 5, tiled, &data, &[]);
                std::fs::write(&p, &bytes).unwrap();
                let err = read_geotiff(&p).unwrap_err().to_string();
                let what = if tiled { "a tile" } else { "a strip" };
                assert!(
                    err.contains("wrap.tif")
                        && err.contains(&format!(
                            "{what} of 2147483648×2147483648 pixels of 4 Float32"
                        ))
                        && err.contains("more than this machine can address"),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn not_a_tiff_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.tif");
        std::fs::write(&p, b"GIF89a....").unwrap();
        let err = GeoTiffReader::open(&p).err().unwrap().to_string();
        assert!(
            err.contains("x.tif") && err.contains("not a TIFF signature"),
            "{err}"
        );
    }
}

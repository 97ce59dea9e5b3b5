//! Our own decoding of compressed TIFF chunks, where the `tiff` crate cannot be used:
//!
//! - LZW: the `tiff` crate 0.11 fails on LZW tiles whose right edge is padded when the data
//!   is high-entropy ("no lzw end code found": its padding accounting, image-rs/image-tiff#395),
//!   which GDAL-written tiled scenes hit.
//! - ZSTD (50000) and LZMA (34925, an xz stream as libtiff writes it): the `tiff` crate reads
//!   ZSTD only through C bindings and LZMA not at all; here they go through pure-Rust
//!   decoders (`ruzstd`, `lzma-rs`).
//!
//! A chunk is unpacked whole (stopping, like libtiff, once the expected bytes are out), then
//! the predictor and byte order are undone on full rows.

use std::io::{Read, Write};

use crate::tiff_read::StoredType;

/// TIFF Compression tag values decoded here.
pub(crate) const LZW: u16 = 5;
pub(crate) const LZMA: u16 = 34925;
pub(crate) const ZSTD: u16 = 50000;

/// Whether chunks of this compression are decoded here rather than by the `tiff` crate.
pub(crate) fn decodes(compression: u16) -> bool {
    matches!(compression, LZW | LZMA | ZSTD)
}

/// How samples are stored in one chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkFormat {
    pub stored: StoredType,
    /// Samples interleaved in the chunk (1 for planar files).
    pub samples: usize,
    pub big_endian: bool,
    pub predictor: u16,
}

/// Decodes the first `data_h` rows of a chunk compressed with `compression` (one of
/// [`decodes`]) whose encoded rows are `full_w` pixels wide and `full_h` high (the tile's
/// size; the image width and the strip's rows for strips), keeping `data_w` pixels of each,
/// as native-endian samples with rows packed. Rows below `data_h` (bottom padding) are not
/// kept.
pub(crate) fn decode_chunk(
    compression: u16,
    compressed: &[u8],
    (full_w, full_h): (usize, usize),
    (data_w, data_h): (usize, usize),
    f: &ChunkFormat,
) -> Result<Vec<u8>, String> {
    let too_big = || {
        format!(
            "{full_w}×{data_h} pixels of {} {} sample(s) are more bytes than fit in memory",
            f.samples,
            f.stored.gdal_name()
        )
    };
    let px = f
        .samples
        .checked_mul(f.stored.bytes())
        .ok_or_else(too_big)?;
    let full_row = full_w.checked_mul(px).ok_or_else(too_big)?;
    let needed = full_row.checked_mul(data_h).ok_or_else(too_big)?;
    let encoded = full_row
        .checked_mul(full_h.max(data_h))
        .ok_or_else(too_big)?;
    if data_w > full_w {
        return Err(format!(
            "{data_w} columns of data in a chunk {full_w} pixels wide"
        ));
    }
    let mut raw = vec![0u8; needed];
    let (produced, name) = match compression {
        LZW => (unpack_lzw(compressed, &mut raw), "LZW"),
        ZSTD => (unpack_zstd(compressed, &mut raw)?, "ZSTD"),
        LZMA => (unpack_lzma(compressed, &mut raw, encoded)?, "LZMA"),
        other => return Err(format!("compression {other} is not decoded here")),
    };
    if produced < needed {
        return Err(format!(
            "{name} data ends after {produced} of the {needed} bytes its rows need"
        ));
    }
    // data_w ≤ full_w: no larger than `needed`.
    let mut out = Vec::with_capacity(data_w * px * data_h);
    for row in raw.chunks_exact_mut(full_row).take(data_h) {
        let row = undo_predictor(row, f)?;
        out.extend_from_slice(&row[..data_w * px]);
    }
    Ok(out)
}

/// Unpacks until `out` is full, the end code, or the input runs out; returns bytes written.
fn unpack_lzw(compressed: &[u8], out: &mut [u8]) -> usize {
    let mut dec = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
    let (mut inp, mut written) = (0, 0);
    while written < out.len() {
        let r = dec.decode_bytes(&compressed[inp..], &mut out[written..]);
        inp += r.consumed_in;
        written += r.consumed_out;
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            // Done, no progress, or a bad code after the data we need: keep what we have,
            // the caller checks the length.
            _ => break,
        }
    }
    written
}

/// Fills `out` from a ZSTD frame (libtiff writes one per chunk); returns bytes written.
/// The decoder reserves the window the frame declares, which libtiff leaves at the
/// level's default (4 MiB at GDAL's level 9, 128 MiB at level 22); `ruzstd` refuses more
/// than those 128 MiB, so a crafted frame header cannot make it allocate more.
fn unpack_zstd(compressed: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let mut dec = ruzstd::decoding::StreamingDecoder::new(compressed)
        .map_err(|e| format!("ZSTD frame: {e}"))?;
    let mut written = 0;
    while written < out.len() {
        match dec.read(&mut out[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if written == 0 => return Err(format!("ZSTD data: {e}")),
            // Damage after what we could read: the caller checks the length.
            Err(_) => break,
        }
    }
    Ok(written)
}

/// Fills `out` from an xz stream (libtiff's LZMA codec: a delta filter of the sample size,
/// then LZMA2); returns bytes written. The xz container is read here, its LZMA2 data
/// decoded by `lzma-rs`'s raw decoder and the delta filter undone after. `lzma-rs` keeps
/// an LZMA2 stream's whole output in memory, so the chunk sizes the stream declares are
/// added up first and a stream that would unpack to more than the whole chunk (`encoded`
/// bytes, `out` being its first rows) is refused before decoding.
fn unpack_lzma(compressed: &[u8], out: &mut [u8], encoded: usize) -> Result<usize, String> {
    let blocks = xz_blocks(compressed)?;
    let declared: u64 = blocks.iter().map(|b| b.unpacked).sum();
    if declared > encoded as u64 {
        return Err(format!(
            "LZMA stream declares {declared} bytes, the chunk holds {encoded}"
        ));
    }
    let mut written = 0;
    for b in blocks {
        let mut sink = Sink {
            out: &mut out[written..],
            written: 0,
        };
        let mut input = &compressed[b.lzma2];
        let result =
            lzma_rs::decompress::raw::Lzma2Decoder::new().decompress(&mut input, &mut sink);
        let n = sink.written;
        if let Some(dist) = b.delta {
            undo_delta(&mut out[written..written + n], dist);
        }
        written += n;
        if let Err(e) = result {
            if written == out.len() {
                break;
            }
            return Err(format!("LZMA data: {e}"));
        }
    }
    Ok(written)
}

/// xz's delta filter: each byte was stored as its difference to the byte `dist` before it.
fn undo_delta(data: &mut [u8], dist: usize) {
    for i in dist..data.len() {
        data[i] = data[i].wrapping_add(data[i - dist]);
    }
}

/// A writer into a fixed buffer that refuses bytes past its end.
struct Sink<'a> {
    out: &'a mut [u8],
    written: usize,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.out.len() - self.written;
        if room == 0 && !buf.is_empty() {
            return Err(std::io::Error::other("more data than the chunk holds"));
        }
        let n = buf.len().min(room);
        self.out[self.written..self.written + n].copy_from_slice(&buf[..n]);
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One block of an xz stream: where its LZMA2 data lies, the delta distance of its filter
/// chain, and the bytes its LZMA2 chunks declare.
struct XzBlock {
    lzma2: std::ops::Range<usize>,
    delta: Option<usize>,
    unpacked: u64,
}

/// The blocks of an xz stream (xz file format 1.0.4, §2–3), walking block headers and
/// LZMA2 chunk headers without decoding. Filter chains other than LZMA2 with an optional
/// delta filter before it (what libtiff writes) are refused.
fn xz_blocks(x: &[u8]) -> Result<Vec<XzBlock>, String> {
    const MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0];
    if x.len() < 12 || x[..6] != MAGIC {
        return Err("LZMA chunk is not an xz stream (no xz magic)".into());
    }
    // Check size by type: 0 none, then 4·2^((t−1)/3) bytes (CRC32 4, CRC64 8, SHA-256 32).
    let check = match x[7] & 0x0F {
        0 => 0usize,
        t => 4usize << ((usize::from(t) - 1) / 3),
    };
    let byte = |i: usize| {
        x.get(i)
            .copied()
            .ok_or_else(|| "LZMA data ends inside a header".to_string())
    };
    let mut blocks = Vec::new();
    let mut pos = 12;
    // Blocks until the index (a 0x00 where a block header would start).
    while byte(pos)? != 0 {
        let block_start = pos;
        let header_len = (usize::from(byte(pos)?) + 1) * 4;
        let header = x
            .get(pos..pos + header_len)
            .ok_or("LZMA data ends inside a block header")?;
        let delta = filter_chain(header)?;
        let (lzma2, unpacked) = lzma2_extent(x, pos + header_len)?;
        pos = lzma2.end;
        // Block padding to a multiple of 4, then the check.
        pos += (4 - (pos - block_start) % 4) % 4 + check;
        blocks.push(XzBlock {
            lzma2,
            delta,
            unpacked,
        });
    }
    Ok(blocks)
}

/// The delta distance of a block header's filter chain (`None`: LZMA2 alone).
fn filter_chain(header: &[u8]) -> Result<Option<usize>, String> {
    let flags = header[1];
    let filters = usize::from(flags & 0x03) + 1;
    let mut p = 2;
    // Compressed and uncompressed sizes, when present (not needed: the chunks say).
    for bit in [0x40, 0x80] {
        if flags & bit != 0 {
            vli(header, &mut p)?;
        }
    }
    let mut delta = None;
    for k in 0..filters {
        let id = vli(header, &mut p)?;
        let props = vli(header, &mut p)?;
        let at = p;
        p = p.saturating_add(props as usize);
        match (id, props, k + 1 == filters) {
            (0x21, 1, true) => {}
            (0x03, 1, false) => {
                delta = Some(usize::from(*header.get(at).ok_or("xz block header too short")?) + 1)
            }
            _ => {
                return Err(format!(
                    "xz filter {id:#x} with {props} property bytes (reads LZMA2 after an \
                     optional delta filter, as libtiff writes)"
                ));
            }
        }
    }
    Ok(delta)
}

/// An xz variable-length integer at `*p` (7 bits a byte, low first, at most 9 bytes).
fn vli(header: &[u8], p: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for k in 0..9 {
        let b = *header.get(*p).ok_or("xz block header too short")?;
        *p += 1;
        v |= u64::from(b & 0x7F) << (7 * k);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("xz block header: number longer than 9 bytes".into())
}

/// From `start`, the LZMA2 data up to and including its end marker, and the unpacked bytes
/// its chunks declare: control 0x00 ends the data; 0x01/0x02 is a stored chunk of (2-byte
/// size + 1) bytes; 0x80–0xFF an LZMA chunk of ((control & 0x1F) << 16 | 2 bytes) + 1
/// unpacked bytes and (2 bytes + 1) packed ones, with a properties byte from 0xC0.
fn lzma2_extent(x: &[u8], start: usize) -> Result<(std::ops::Range<usize>, u64), String> {
    let byte = |i: usize| {
        x.get(i)
            .copied()
            .ok_or_else(|| "LZMA data ends inside a chunk header".to_string())
    };
    let word = |i: usize| -> Result<usize, String> {
        Ok(usize::from(byte(i)?) << 8 | usize::from(byte(i + 1)?))
    };
    let (mut pos, mut total) = (start, 0u64);
    loop {
        let control = byte(pos)?;
        pos += 1;
        match control {
            0x00 => break,
            0x01 | 0x02 => {
                let size = word(pos)? + 1;
                total += size as u64;
                pos += 2 + size;
            }
            0x80..=0xFF => {
                let unpacked = (usize::from(control & 0x1F) << 16 | word(pos)?) + 1;
                let packed = word(pos + 2)? + 1;
                total += unpacked as u64;
                pos += 4 + usize::from(control >= 0xC0) + packed;
            }
            other => return Err(format!("LZMA2 chunk control byte {other:#04x} is invalid")),
        }
    }
    if pos > x.len() {
        return Err("LZMA data ends inside a chunk".into());
    }
    Ok((start..pos, total))
}

/// Byte order to native, then the predictor undone, on one full encoded row.
fn undo_predictor<'a>(
    row: &'a mut [u8],
    f: &ChunkFormat,
) -> Result<std::borrow::Cow<'a, [u8]>, String> {
    let size = f.stored.bytes();
    match f.predictor {
        1 => {
            fix_byte_order(row, size, f.big_endian);
            Ok(std::borrow::Cow::Borrowed(row))
        }
        2 => {
            if matches!(f.stored, StoredType::CF32 | StoredType::CI16) {
                return Err("horizontal predictor on complex samples".into());
            }
            fix_byte_order(row, size, f.big_endian);
            undo_horizontal(row, size, f.samples);
            Ok(std::borrow::Cow::Borrowed(row))
        }
        3 => {
            if !matches!(f.stored, StoredType::F32 | StoredType::F64) {
                return Err(format!(
                    "floating-point predictor on {} samples",
                    f.stored.gdal_name()
                ));
            }
            Ok(std::borrow::Cow::Owned(undo_float(row, size, f.samples)))
        }
        p => Err(format!("Predictor {p} (knows 1, 2, 3)")),
    }
}

/// Swaps each `size`-byte word when the file's order is not ours (a complex sample is
/// one word, as the `tiff` crate treats it; the reader puts its halves back).
fn fix_byte_order(row: &mut [u8], size: usize, file_big_endian: bool) {
    if size > 1 && file_big_endian != cfg!(target_endian = "big") {
        for w in row.chunks_exact_mut(size) {
            w.reverse();
        }
    }
}

/// Predictor 2: each sample was stored as the difference to the same component of the
/// pixel to its left, in wrapping integer arithmetic of the sample width.
fn undo_horizontal(row: &mut [u8], size: usize, samples: usize) {
    fn run<const N: usize>(
        row: &mut [u8],
        samples: usize,
        add: impl Fn([u8; N], [u8; N]) -> [u8; N],
    ) {
        let stride = samples * N;
        for i in stride..row.len() / N * N {
            if i % N != 0 {
                continue;
            }
            let mut a = [0u8; N];
            let mut b = [0u8; N];
            a.copy_from_slice(&row[i - stride..i - stride + N]);
            b.copy_from_slice(&row[i..i + N]);
            row[i..i + N].copy_from_slice(&add(a, b));
        }
    }
    match size {
        1 => run::<1>(row, samples, |a, b| [a[0].wrapping_add(b[0])]),
        2 => run::<2>(row, samples, |a, b| {
            u16::from_ne_bytes(a)
                .wrapping_add(u16::from_ne_bytes(b))
                .to_ne_bytes()
        }),
        4 => run::<4>(row, samples, |a, b| {
            u32::from_ne_bytes(a)
                .wrapping_add(u32::from_ne_bytes(b))
                .to_ne_bytes()
        }),
        _ => run::<8>(row, samples, |a, b| {
            u64::from_ne_bytes(a)
                .wrapping_add(u64::from_ne_bytes(b))
                .to_ne_bytes()
        }),
    }
}

/// Predictor 3 (Adobe TN3): bytes were split into planes, most significant first, and
/// differenced byte-wise with a stride of `samples`; the result is native-endian.
fn undo_float(row: &mut [u8], size: usize, samples: usize) -> Vec<u8> {
    for i in samples..row.len() {
        row[i] = row[i].wrapping_add(row[i - samples]);
    }
    let n = row.len() / size;
    let mut out = vec![0u8; n * size];
    for i in 0..n {
        let word = &mut out[i * size..(i + 1) * size];
        for (plane, byte) in word.iter_mut().enumerate() {
            *byte = row[plane * n + i];
        }
        // The planes give big-endian words.
        if cfg!(target_endian = "little") {
            word.reverse();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{predict_float_f32_le, predict_horizontal_u8};

    fn lzw(data: &[u8]) -> Vec<u8> {
        weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(data)
            .unwrap()
    }

    /// A 16×4 tile of bytes with 10 columns and 3 rows of data, high-entropy.
    fn random_tile() -> (Vec<u8>, Vec<u8>) {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut tile = vec![0u8; 16 * 4];
        for r in 0..4 {
            for c in 0..10 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                tile[r * 16 + c] = x as u8;
            }
        }
        let kept = (0..3)
            .flat_map(|r| tile[r * 16..r * 16 + 10].to_vec())
            .collect();
        (tile, kept)
    }

    const BYTES: ChunkFormat = ChunkFormat {
        stored: StoredType::U8,
        samples: 1,
        big_endian: false,
        predictor: 1,
    };

    /// Chunks made by the encoder crates (an encoder independent of our decoding path).
    #[test]
    fn zstd_and_lzma_chunks_from_the_encoders() {
        let (tile, kept) = random_tile();
        let z = ruzstd::encoding::compress_to_vec(
            &tile[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(
            decode_chunk(ZSTD, &z, (16, 4), (10, 3), &BYTES).unwrap(),
            kept
        );
        let err = decode_chunk(ZSTD, &z[..z.len() / 2], (16, 4), (10, 3), &BYTES).unwrap_err();
        assert!(err.contains("ZSTD"), "{err}");
        let mut x = Vec::new();
        lzma_rs::xz_compress(&mut &tile[..], &mut x).unwrap();
        assert_eq!(
            decode_chunk(LZMA, &x, (16, 4), (10, 3), &BYTES).unwrap(),
            kept
        );
        let err = decode_chunk(LZMA, &x[..x.len() - 30], (16, 4), (10, 3), &BYTES).unwrap_err();
        assert!(err.contains("LZMA"), "{err}");
        assert!(
            decode_chunk(LZMA, b"not xz at all", (16, 4), (10, 3), &BYTES)
                .unwrap_err()
                .contains("no xz magic")
        );
    }

    /// A stream declaring more bytes than its chunk holds is refused before decoding (the
    /// LZMA2 decoder would hold all of them in memory).
    #[test]
    fn lzma_stream_larger_than_its_chunk_is_refused() {
        let mut x = Vec::new();
        lzma_rs::xz_compress(&mut &[7u8; 4096][..], &mut x).unwrap();
        let err = decode_chunk(LZMA, &x, (16, 4), (16, 4), &BYTES).unwrap_err();
        assert!(
            err.contains("declares 4096 bytes, the chunk holds 64"),
            "{err}"
        );
    }

    #[test]
    fn delta_filter_and_filter_chains() {
        let mut d = [1u8, 2, 1, 1, 255, 3];
        undo_delta(&mut d, 2);
        assert_eq!(d, [1, 2, 2, 3, 1, 6]);
        // Block header: size byte, flags (2 filters), delta (id 3, 1 property byte: distance
        // 4), LZMA2 (id 0x21, dictionary byte), padding.
        let header = [2u8, 0x01, 0x03, 0x01, 0x03, 0x21, 0x01, 0x16, 0, 0, 0, 0];
        assert_eq!(filter_chain(&header).unwrap(), Some(4));
        // x86 BCJ (id 4) before LZMA2 is not what libtiff writes.
        let header = [2u8, 0x01, 0x04, 0x00, 0x21, 0x01, 0x16, 0, 0, 0, 0, 0];
        let err = filter_chain(&header).unwrap_err();
        assert!(err.contains("filter 0x4"), "{err}");
        // LZMA2 not last.
        let header = [1u8, 0x01, 0x21, 0x01, 0x16, 0x03, 0x01, 0x03];
        assert!(filter_chain(&header).is_err());
    }

    #[test]
    fn padded_tile_with_random_bytes() {
        // 16×4 tile of Byte, 10 columns of data, high-entropy with zero padding: the case
        // the `tiff` crate fails on.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut tile = vec![0u8; 16 * 4];
        for r in 0..4 {
            for c in 0..10 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                tile[r * 16 + c] = x as u8;
            }
        }
        let f = ChunkFormat {
            stored: StoredType::U8,
            samples: 1,
            big_endian: false,
            predictor: 1,
        };
        let out = decode_chunk(LZW, &lzw(&tile), (16, 4), (10, 3), &f).unwrap();
        let want: Vec<u8> = (0..3)
            .flat_map(|r| tile[r * 16..r * 16 + 10].to_vec())
            .collect();
        assert_eq!(out, want);
        let err = decode_chunk(LZW, &lzw(&tile[..20]), (16, 4), (10, 3), &f).unwrap_err();
        assert!(err.contains("20 of the 48"), "{err}");
    }

    #[test]
    fn sizes_that_overflow_are_an_error_not_a_wrapped_buffer() {
        // 2^31 × 2^31 pixels of 4 Float32 samples: 2^66 bytes, which wraps to 0 in u64.
        let f = ChunkFormat {
            stored: StoredType::F32,
            samples: 4,
            big_endian: false,
            predictor: 1,
        };
        let side = 1usize << 31;
        let err = decode_chunk(LZW, &lzw(&[0; 64]), (side, side), (side, side), &f).unwrap_err();
        assert!(
            err.contains("2147483648×2147483648") && err.contains("4 Float32"),
            "{err}"
        );
        let err = decode_chunk(LZW, &lzw(&[0; 64]), (4, 1), (5, 1), &f).unwrap_err();
        assert!(err.contains("5 columns"), "{err}");
    }

    #[test]
    fn predictors_undo_our_encoders() {
        let mut row: Vec<u8> = (0..24).map(|i| (i * 37 % 256) as u8).collect();
        let orig = row.clone();
        predict_horizontal_u8(&mut row, 3);
        let f = ChunkFormat {
            stored: StoredType::U8,
            samples: 3,
            big_endian: false,
            predictor: 2,
        };
        assert_eq!(
            decode_chunk(LZW, &lzw(&row), (8, 1), (8, 1), &f).unwrap(),
            orig
        );

        let vals = [1.5f32, -2.25, 1e-30, f32::MAX, 0.0, 7.0];
        let le: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = predict_float_f32_le(&le, 2);
        let f = ChunkFormat {
            stored: StoredType::F32,
            samples: 2,
            big_endian: false,
            predictor: 3,
        };
        let out = decode_chunk(LZW, &lzw(&enc), (3, 1), (3, 1), &f).unwrap();
        let back: Vec<f32> = out
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(back, vals);
    }

    #[test]
    fn big_endian_int16_with_horizontal_predictor() {
        // Values 1000, 1003, 995 as BE differences: 1000, +3, −8.
        let diffs: [i16; 3] = [1000, 3, -8];
        let be: Vec<u8> = diffs.iter().flat_map(|v| v.to_be_bytes()).collect();
        let f = ChunkFormat {
            stored: StoredType::I16,
            samples: 1,
            big_endian: true,
            predictor: 2,
        };
        let out = decode_chunk(LZW, &lzw(&be), (3, 1), (3, 1), &f).unwrap();
        let back: Vec<i16> = out
            .chunks_exact(2)
            .map(|b| i16::from_ne_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(back, [1000, 1003, 995]);
    }
}

//! Our own decoding of LZW chunks. The `tiff` crate 0.11 fails on LZW tiles whose right
//! edge is padded when the data is high-entropy ("no lzw end code found": its padding
//! accounting, image-rs/image-tiff#395), which GDAL-written tiled scenes hit. Here a chunk
//! is unpacked whole with `weezl` (stopping, like libtiff, once the expected bytes are out)
//! and the predictor and byte order are undone on full rows.

use crate::tiff_read::StoredType;

/// How samples are stored in one chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkFormat {
    pub stored: StoredType,
    /// Samples interleaved in the chunk (1 for planar files).
    pub samples: usize,
    pub big_endian: bool,
    pub predictor: u16,
}

/// Decodes the first `data_h` rows of an LZW chunk whose encoded rows are `full_w` pixels
/// wide (the tile width; the image width for strips), keeping `data_w` pixels of each, as
/// native-endian samples with rows packed. Rows below `data_h` (bottom padding) are not
/// decoded.
pub(crate) fn decode_lzw_chunk(
    compressed: &[u8],
    full_w: usize,
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
    if data_w > full_w {
        return Err(format!(
            "{data_w} columns of data in a chunk {full_w} pixels wide"
        ));
    }
    let mut raw = vec![0u8; needed];
    let produced = unpack(compressed, &mut raw);
    if produced < needed {
        return Err(format!(
            "LZW data ends after {produced} of the {needed} bytes its rows need"
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
fn unpack(compressed: &[u8], out: &mut [u8]) -> usize {
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
        let out = decode_lzw_chunk(&lzw(&tile), 16, (10, 3), &f).unwrap();
        let want: Vec<u8> = (0..3)
            .flat_map(|r| tile[r * 16..r * 16 + 10].to_vec())
            .collect();
        assert_eq!(out, want);
        let err = decode_lzw_chunk(&lzw(&tile[..20]), 16, (10, 3), &f).unwrap_err();
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
        let err = decode_lzw_chunk(&lzw(&[0; 64]), side, (side, side), &f).unwrap_err();
        assert!(
            err.contains("2147483648×2147483648") && err.contains("4 Float32"),
            "{err}"
        );
        let err = decode_lzw_chunk(&lzw(&[0; 64]), 4, (5, 1), &f).unwrap_err();
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
        assert_eq!(decode_lzw_chunk(&lzw(&row), 8, (8, 1), &f).unwrap(), orig);

        let vals = [1.5f32, -2.25, 1e-30, f32::MAX, 0.0, 7.0];
        let le: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = predict_float_f32_le(&le, 2);
        let f = ChunkFormat {
            stored: StoredType::F32,
            samples: 2,
            big_endian: false,
            predictor: 3,
        };
        let out = decode_lzw_chunk(&lzw(&enc), 3, (3, 1), &f).unwrap();
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
        let out = decode_lzw_chunk(&lzw(&be), 3, (3, 1), &f).unwrap();
        let back: Vec<i16> = out
            .chunks_exact(2)
            .map(|b| i16::from_ne_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(back, [1000, 1003, 995]);
    }
}

//! Chunk encoders for the TIFF writer. Decoding is the `tiff` crate's job; these are
//! written against the TIFF 6.0 spec (PackBits, LZW) and zlib (Deflate) so that the
//! round-trip tests pit two independent implementations against each other.

use std::io::Write;

/// TIFF compression schemes this crate writes (and reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Lzw,
    Deflate,
    PackBits,
}

impl Compression {
    /// The TIFF `Compression` tag value.
    pub fn tag_value(self) -> u16 {
        match self {
            Compression::None => 1,
            Compression::Lzw => 5,
            Compression::Deflate => 8,
            Compression::PackBits => 32773,
        }
    }

    /// Name as gdalinfo prints it in `COMPRESSION=`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "NONE",
            Compression::Lzw => "LZW",
            Compression::Deflate => "DEFLATE",
            Compression::PackBits => "PACKBITS",
        }
    }

    pub fn from_tag(v: u16) -> Option<Self> {
        match v {
            1 => Some(Compression::None),
            5 => Some(Compression::Lzw),
            8 | 32946 => Some(Compression::Deflate),
            32773 => Some(Compression::PackBits),
            _ => None,
        }
    }
}

pub(crate) fn compress(data: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => data.to_vec(),
        Compression::Deflate => deflate(data),
        Compression::Lzw => lzw(data),
        Compression::PackBits => packbits(data),
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("in-memory zlib write");
    enc.finish().expect("in-memory zlib finish")
}

fn lzw(data: &[u8]) -> Vec<u8> {
    // TIFF LZW: MSB-first codes, 8-bit alphabet, the "early change" code-size switch.
    weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
        .encode(data)
        .expect("LZW encoding of an in-memory buffer")
}

/// PackBits (TIFF 6.0 §9): header n in 0..=127 → n+1 literal bytes; n in −127..=−1 → the
/// next byte repeated 1−n times. Runs of 3+ are worth a run header.
pub(crate) fn packbits(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 128 + 1);
    let mut i = 0;
    while i < data.len() {
        let run = run_length(&data[i..], 128);
        if run >= 3 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(data[i]);
            i += run;
            continue;
        }
        // Literal stretch: up to 128 bytes, stopping before the next run of 3+.
        let start = i;
        while i < data.len() && i - start < 128 && run_length(&data[i..], 3) < 3 {
            i += 1;
        }
        if i == start {
            // A run of exactly 1–2 bytes directly at a run boundary: take it literally.
            i += run;
        }
        out.push((i - start - 1) as u8);
        out.extend_from_slice(&data[start..i]);
    }
    out
}

fn run_length(data: &[u8], cap: usize) -> usize {
    let first = data[0];
    data.iter().take(cap).take_while(|&&b| b == first).count()
}

/// Horizontal differencing (Predictor 2) on one row of 8-bit samples.
pub(crate) fn predict_horizontal_u8(row: &mut [u8], samples: usize) {
    for i in (samples..row.len()).rev() {
        row[i] = row[i].wrapping_sub(row[i - samples]);
    }
}

/// Floating-point predictor (Predictor 3, Adobe TN3) on one row of 32-bit floats given as
/// little-endian bytes: bytes are split into planes, most significant first, then byte-wise
/// differenced with a stride of `samples`.
pub(crate) fn predict_float_f32_le(row_le: &[u8], samples: usize) -> Vec<u8> {
    let n = row_le.len() / 4;
    let mut planes = vec![0u8; n * 4];
    for (i, le) in row_le.chunks_exact(4).enumerate() {
        for plane in 0..4 {
            planes[plane * n + i] = le[3 - plane];
        }
    }
    for i in (samples..planes.len()).rev() {
        planes[i] = planes[i].wrapping_sub(planes[i - samples]);
    }
    planes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpackbits(mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((&h, rest)) = data.split_first() {
            let n = h as i8;
            if n >= 0 {
                let k = n as usize + 1;
                out.extend_from_slice(&rest[..k]);
                data = &rest[k..];
            } else if n != -128 {
                out.extend(std::iter::repeat_n(rest[0], (1 - n as isize) as usize));
                data = &rest[1..];
            } else {
                data = rest;
            }
        }
        out
    }

    #[test]
    fn packbits_apple_example() {
        // The example of Apple Technical Note TN1023 / TIFF 6.0 §9 (decoded form).
        let raw = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        let packed = packbits(&raw);
        assert_eq!(unpackbits(&packed), raw);
        // Runs become 2-byte records: the whole thing is shorter than the input.
        assert!(packed.len() < raw.len());
        assert_eq!(&packed[..2], &[0xFE, 0xAA]);
    }

    proptest::proptest! {
        #[test]
        fn packbits_round_trip(data in proptest::collection::vec(0u8..4, 0..600)) {
            proptest::prop_assert_eq!(unpackbits(&packbits(&data)), data);
        }
    }

    #[test]
    fn horizontal_predictor_by_hand() {
        let mut row = [10, 20, 30, 15, 25, 35];
        predict_horizontal_u8(&mut row, 3);
        assert_eq!(row, [10, 20, 30, 5, 5, 5]);
    }

    #[test]
    fn float_predictor_by_hand() {
        // 1.0 = 3F 80 00 00, 2.0 = 40 00 00 00: planes [3F 40][80 00][00 00][00 00],
        // then differences along the concatenation.
        let le: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let out = predict_float_f32_le(&le, 1);
        assert_eq!(out, vec![0x3F, 0x01, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00]);
    }
}

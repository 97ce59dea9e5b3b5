//! The mutators: each takes a byte buffer and changes it in one way a damaged or hostile
//! file would differ from a good one. All draws come from the caller's generator, so a
//! mutation is a pure function of (input, generator state).
//!
//! Binary mutators work on any buffer; text mutators look for structure (numbers, lines,
//! XML/JSON brackets) and decline (return `false`) where there is none, as does the TIFF
//! mutator on a buffer that is not a TIFF.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutation {
    /// Flip 1–4 single bits.
    BitFlip,
    /// Set 1–4 bytes to 0, 0xFF, 0x7F or 0x80.
    BoundaryByte,
    /// Overwrite a 2/4/8-byte field (mostly aligned), little or big endian, with a huge or
    /// boundary integer (0, 1, 2^15, u16/u32/u64 max, 2^31, 2^32, 2^62, 2^63 …) or the old
    /// value plus or minus a little.
    Field,
    /// Cut the buffer at a random point.
    Truncate,
    /// Copy a range and insert it (once or repeated) somewhere.
    Duplicate,
    /// Remove a range.
    Delete,
    /// Insert a few random or repeated bytes.
    Insert,
    /// The head of this input joined to the tail of another corpus input.
    Splice,
    /// TIFF-aware: change the type, count, value/offset or tag of an IFD entry, an element
    /// of an offset array (strip/tile offsets and byte counts), the entry count or the next
    /// IFD offset (classic TIFF and BigTIFF, either byte order).
    TiffEntry,
    /// Text: replace a number by a huge, negative, tiny, NaN or infinite one.
    Number,
    /// Text: nest XML elements or JSON arrays/objects deeply.
    Nesting,
    /// Text: delete, duplicate (up to thousands of times), swap or cut lines.
    Lines,
}

impl Mutation {
    /// Mutators that apply to any buffer.
    pub const BINARY: [Mutation; 9] = [
        Mutation::BitFlip,
        Mutation::BoundaryByte,
        Mutation::Field,
        Mutation::Truncate,
        Mutation::Duplicate,
        Mutation::Delete,
        Mutation::Insert,
        Mutation::Splice,
        Mutation::TiffEntry,
    ];
    /// Mutators for text buffers (labels, `.par` files, JSON headers).
    pub const TEXT: [Mutation; 3] = [Mutation::Number, Mutation::Nesting, Mutation::Lines];

    pub fn name(self) -> &'static str {
        match self {
            Mutation::BitFlip => "bit-flip",
            Mutation::BoundaryByte => "boundary-byte",
            Mutation::Field => "field",
            Mutation::Truncate => "truncate",
            Mutation::Duplicate => "duplicate",
            Mutation::Delete => "delete",
            Mutation::Insert => "insert",
            Mutation::Splice => "splice",
            Mutation::TiffEntry => "tiff-entry",
            Mutation::Number => "number",
            Mutation::Nesting => "nesting",
            Mutation::Lines => "lines",
        }
    }
}

/// Integers that break size arithmetic: zero, one, sign and width boundaries, huge counts.
pub const INTERESTING: [u64; 20] = [
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x1_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
    0x1_0000_0000,
    0x4000_0000_0000_0000,
    0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Replacements for a number in text: extremes that are still valid JSON numbers, values
/// no JSON/float parser takes (NaN, inf, out of range, hex), and other JSON types.
pub const NUMBERS: [&str; 36] = [
    "0",
    "-0",
    "-1",
    "0.0",
    "1e20",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "4.9e-324",
    "1e-320",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1e309",
    "18446744073709551616",
    "-9223372036854775809",
    "99999999999999999999999999999999999999",
    "0x7fffffff",
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "-Infinity",
    "null",
    "true",
    "\"7\"",
    "[]",
    "{}",
];

/// Nesting depths: shallow, around serde_json's limit of 128, and far past any stack.
const SHALLOW: [usize; 5] = [2, 8, 32, 64, 100];
const DEEP: [usize; 6] = [127, 128, 129, 1_000, 10_000, 200_000];

/// A position, half the time within the first 256 bytes (where headers are).
fn pos(rng: &mut ChaCha8Rng, len: usize) -> usize {
    debug_assert!(len > 0);
    if rng.random_bool(0.5) {
        rng.random_range(0..len.min(256))
    } else {
        rng.random_range(0..len)
    }
}

/// A length in 1..=max, small more often than large.
fn small_len(rng: &mut ChaCha8Rng, max: usize) -> usize {
    debug_assert!(max > 0);
    let cap = match rng.random_range(0..4) {
        0 => 8,
        1 => 64,
        2 => 1024,
        _ => max,
    };
    rng.random_range(1..=cap.min(max))
}

/// Applies `m` to `data`. `other` is another corpus input (for [`Mutation::Splice`]);
/// growth stops at `max_len`. Returns whether `data` was changed; a mutator that does not
/// apply (no numbers in the text, not a TIFF, would pass `max_len`…) leaves `data` as it
/// was and returns `false`.
pub fn apply(
    m: Mutation,
    rng: &mut ChaCha8Rng,
    data: &mut Vec<u8>,
    other: Option<&[u8]>,
    max_len: usize,
) -> bool {
    let before_len = data.len();
    let changed = match m {
        Mutation::BitFlip => bit_flip(rng, data),
        Mutation::BoundaryByte => boundary_byte(rng, data),
        Mutation::Field => field(rng, data),
        Mutation::Truncate => truncate(rng, data),
        Mutation::Duplicate => duplicate(rng, data, max_len),
        Mutation::Delete => delete(rng, data),
        Mutation::Insert => insert(rng, data, max_len),
        Mutation::Splice => other.is_some_and(|o| splice(rng, data, o, max_len)),
        Mutation::TiffEntry => tiff_entry(rng, data),
        Mutation::Number => number(rng, data, max_len),
        Mutation::Nesting => nesting(rng, data, max_len),
        Mutation::Lines => lines(rng, data, max_len),
    };
    debug_assert!(changed || data.len() == before_len);
    changed
}

fn bit_flip(rng: &mut ChaCha8Rng, data: &mut [u8]) -> bool {
    if data.is_empty() {
        return false;
    }
    let n = rng.random_range(1..=4);
    let mut done: Vec<(usize, u8)> = Vec::with_capacity(n);
    for _ in 0..n {
        let at = (pos(rng, data.len()), rng.random_range(0..8u8));
        // Flipping the same bit twice would undo it.
        if !done.contains(&at) {
            data[at.0] ^= 1 << at.1;
            done.push(at);
        }
    }
    true
}

fn boundary_byte(rng: &mut ChaCha8Rng, data: &mut [u8]) -> bool {
    if data.is_empty() {
        return false;
    }
    for _ in 0..rng.random_range(1..=4) {
        let at = pos(rng, data.len());
        let choices: Vec<u8> = [0u8, 0xFF, 0x7F, 0x80]
            .into_iter()
            .filter(|v| *v != data[at])
            .collect();
        data[at] = choices[rng.random_range(0..choices.len())];
    }
    true
}

/// Writes the low `width` bytes of `v` at `at`.
fn put(data: &mut [u8], at: usize, width: usize, v: u64, big_endian: bool) {
    let bytes = if big_endian {
        v.to_be_bytes()[8 - width..].to_vec()
    } else {
        v.to_le_bytes()[..width].to_vec()
    };
    data[at..at + width].copy_from_slice(&bytes);
}

fn get(data: &[u8], at: usize, width: usize, big_endian: bool) -> u64 {
    let mut v = 0u64;
    for k in 0..width {
        let b = if big_endian {
            data[at + k]
        } else {
            data[at + width - 1 - k]
        };
        v = (v << 8) | u64::from(b);
    }
    v
}

/// An interesting value for a `width`-byte field holding `old`.
fn interesting(rng: &mut ChaCha8Rng, old: u64, width: usize) -> u64 {
    let mask = if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    let v = match rng.random_range(0..10) {
        // Old value ± a little: off-by-one sizes and offsets.
        0 | 1 => {
            let d = rng.random_range(1..=16u64);
            if rng.random_bool(0.5) {
                old.wrapping_add(d)
            } else {
                old.wrapping_sub(d)
            }
        }
        // The field's own maximum and half of it (signed boundary).
        2 => mask,
        3 => mask / 2 + 1,
        _ => INTERESTING[rng.random_range(0..INTERESTING.len())],
    };
    v & mask
}

fn field(rng: &mut ChaCha8Rng, data: &mut [u8]) -> bool {
    for _ in 0..8 {
        let width = [2usize, 4, 8][rng.random_range(0..3)];
        if data.len() < width {
            continue;
        }
        let slots = data.len() - width + 1;
        let mut at = pos(rng, slots);
        if rng.random_bool(0.75) {
            at -= at % width;
        }
        let be = rng.random_bool(0.5);
        let old = get(data, at, width, be);
        let v = interesting(rng, old, width);
        if v != old {
            put(data, at, width, v, be);
            return true;
        }
    }
    false
}

fn truncate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) -> bool {
    if data.is_empty() {
        return false;
    }
    let n = data.len();
    let keep = match rng.random_range(0..3) {
        0 => rng.random_range(0..n.min(64)),
        1 => n - rng.random_range(1..=n.min(64)),
        _ => rng.random_range(0..n),
    };
    data.truncate(keep);
    true
}

fn duplicate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
    if data.is_empty() {
        return false;
    }
    let a = pos(rng, data.len());
    let n = small_len(rng, data.len() - a);
    let times = if rng.random_bool(0.2) {
        rng.random_range(2..=64)
    } else {
        1
    };
    if data.len() + n * times > max_len {
        return false;
    }
    let chunk = data[a..a + n].to_vec();
    let at = rng.random_range(0..=data.len());
    let tail = data.split_off(at);
    for _ in 0..times {
        data.extend_from_slice(&chunk);
    }
    data.extend_from_slice(&tail);
    true
}

fn delete(rng: &mut ChaCha8Rng, data: &mut Vec<u8>) -> bool {
    if data.is_empty() {
        return false;
    }
    let a = pos(rng, data.len());
    let n = small_len(rng, data.len() - a);
    data.drain(a..a + n);
    true
}

fn insert(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
    let n = rng.random_range(1..=16usize);
    if data.len() + n > max_len {
        return false;
    }
    let bytes: Vec<u8> = if rng.random_bool(0.5) {
        (0..n).map(|_| rng.random()).collect()
    } else {
        let b =
            [0u8, 0xFF, 0x7F, 0x80, b'0', b'9', b'<', b'{', b'"', b'\n'][rng.random_range(0..10)];
        vec![b; n]
    };
    let at = if data.is_empty() {
        0
    } else {
        pos(rng, data.len() + 1)
    };
    data.splice(at..at, bytes);
    true
}

fn splice(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, other: &[u8], max_len: usize) -> bool {
    for _ in 0..8 {
        let i = rng.random_range(0..=data.len());
        let j = rng.random_range(0..=other.len());
        if i + (other.len() - j) > max_len {
            continue;
        }
        if data[i..] != other[j..] {
            data.truncate(i);
            data.extend_from_slice(&other[j..]);
            return true;
        }
    }
    false
}

/// Known TIFF tags (baseline, tiles, sample format, GeoTIFF, GDAL).
const TIFF_TAGS: [u16; 24] = [
    254, 256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 320, 322, 323, 324, 325, 338, 339,
    33550, 33922, 34264, 34735, 42113,
];

/// Byte size of one value of a TIFF field type.
fn tiff_type_size(t: u64) -> Option<usize> {
    match t {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 | 16 | 17 | 18 => Some(8),
        _ => None,
    }
}

fn tiff_entry(rng: &mut ChaCha8Rng, data: &mut [u8]) -> bool {
    if data.len() < 8 {
        return false;
    }
    let (be, big) = match &data[..4] {
        [b'I', b'I', 42, 0] => (false, false),
        [b'M', b'M', 0, 42] => (true, false),
        [b'I', b'I', 43, 0] => (false, true),
        [b'M', b'M', 0, 43] => (true, true),
        _ => return false,
    };
    let (ifd_at, count_w, entry_len, word) = if big {
        if data.len() < 16 {
            return false;
        }
        (get(data, 8, 8, be), 8usize, 20usize, 8usize)
    } else {
        (get(data, 4, 4, be), 2usize, 12usize, 4usize)
    };
    let Ok(ifd) = usize::try_from(ifd_at) else {
        return false;
    };
    if ifd.checked_add(count_w).is_none_or(|end| end > data.len()) {
        return false;
    }
    let entries = get(data, ifd, count_w, be) as usize;
    let first = ifd + count_w;
    let whole = entries.min(data.len().saturating_sub(first) / entry_len);
    let choice = rng.random_range(0..10);
    if whole == 0 || choice == 0 {
        // The entry count, or the next-IFD offset after the entries.
        let (at, w) = if rng.random_bool(0.5) || whole == 0 {
            (ifd, count_w)
        } else {
            (first + entries.min(whole) * entry_len, word)
        };
        if at + w > data.len() {
            return false;
        }
        let old = get(data, at, w, be);
        let v = interesting(rng, old, w);
        put(data, at, w, v, be);
        return v != old;
    }
    let e = first + rng.random_range(0..whole) * entry_len;
    let (tag_at, type_at, count_at, value_at) = (e, e + 2, e + 4, e + 4 + word);
    let old_type = get(data, type_at, 2, be);
    let count = get(data, count_at, word, be);
    let (at, w, v) = match choice {
        1 => {
            let mut t = TIFF_TAGS[rng.random_range(0..TIFF_TAGS.len())] as u64;
            if t == get(data, tag_at, 2, be) {
                t = rng.random_range(0..=u16::MAX as u64);
            }
            (tag_at, 2, t)
        }
        2 => {
            let t = if rng.random_bool(0.7) {
                rng.random_range(0..=19u64)
            } else {
                interesting(rng, old_type, 2)
            };
            (type_at, 2, t)
        }
        3 | 4 => (count_at, word, interesting(rng, count, word)),
        5 | 6 => {
            // An element of an out-of-line array (StripOffsets, TileByteCounts, GeoKeys…).
            let size = tiff_type_size(old_type).unwrap_or(1);
            let total = (count as u128) * (size as u128);
            if total > word as u128 && count > 0 {
                let base = get(data, value_at, word, be) as u128;
                let k = rng.random_range(0..count.min(1 << 20)) as u128;
                let at = base + k * size as u128;
                if at + (size as u128) <= data.len() as u128 {
                    let at = at as usize;
                    let old = get(data, at, size, be);
                    (at, size, interesting(rng, old, size))
                } else {
                    (value_at, word, interesting(rng, base as u64, word))
                }
            } else {
                let old = get(data, value_at, word, be);
                (value_at, word, interesting(rng, old, word))
            }
        }
        _ => {
            let old = get(data, value_at, word, be);
            // Inline SHORT values sit in the first two bytes of the value field.
            let w = if old_type == 3 && count <= (word as u64 / 2) {
                2
            } else {
                word
            };
            let old = if w == 2 {
                get(data, value_at, 2, be)
            } else {
                old
            };
            (value_at, w, interesting(rng, old, w))
        }
    };
    let old = get(data, at, w, be);
    if v == old {
        return false;
    }
    put(data, at, w, v, be);
    true
}

/// Byte ranges of the numbers in `text`: `[-+]?digits[.digits][e[-+]digits]`, also `.5`.
pub fn number_tokens(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let starts = text[i].is_ascii_digit()
            || (matches!(text[i], b'-' | b'+' | b'.')
                && text.get(i + 1).is_some_and(u8::is_ascii_digit));
        // Not the middle of a word ("x86", "B1"): numbers start after a non-alphanumeric.
        let word_before = i > 0 && (text[i - 1].is_ascii_alphanumeric() || text[i - 1] == b'_');
        if !starts || word_before {
            i += 1;
            continue;
        }
        let a = i;
        i += 1;
        while i < text.len() {
            let c = text[i];
            let exp_sign = matches!(c, b'-' | b'+') && matches!(text[i - 1], b'e' | b'E');
            if c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E' || exp_sign {
                i += 1;
            } else {
                break;
            }
        }
        out.push((a, i));
    }
    out
}

fn number(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
    let tokens = number_tokens(data);
    if tokens.is_empty() {
        return false;
    }
    let (a, b) = tokens[rng.random_range(0..tokens.len())];
    let old = data[a..b].to_vec();
    let new: Vec<u8> = match rng.random_range(0..6) {
        // Scaled up by many orders of magnitude, or negated.
        0 => [&old[..], b"0000000000000"].concat(),
        1 if old[0] != b'-' => [b"-", &old[..]].concat(),
        _ => {
            let mut s = NUMBERS[rng.random_range(0..NUMBERS.len())].as_bytes();
            if s == &old[..] {
                s = b"-1e400";
            }
            s.to_vec()
        }
    };
    if new == old || data.len() - old.len() + new.len() > max_len {
        return false;
    }
    data.splice(a..b, new);
    true
}

fn nesting(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
    let is_xml = data.contains(&b'<');
    let is_json = data.contains(&b'{') || data.contains(&b'[');
    if !is_xml && !is_json {
        return false;
    }
    let depth = if rng.random_bool(0.5) {
        SHALLOW[rng.random_range(0..SHALLOW.len())]
    } else {
        DEEP[rng.random_range(0..DEEP.len())]
    };
    if is_xml && (!is_json || rng.random_bool(0.5)) {
        // After the end of some tag: <a><a>…</a></a>.
        let ends: Vec<usize> = (0..data.len()).filter(|&i| data[i] == b'>').collect();
        if ends.is_empty() {
            return false;
        }
        let at = ends[rng.random_range(0..ends.len())] + 1;
        let name: &[u8] = [&b"a"[..], b"object", b"bndbox", b"size"][rng.random_range(0..4)];
        let open = [b"<", name, b">"].concat();
        let close = [b"</", name, b">"].concat();
        let closed = rng.random_bool(0.8);
        let grow = depth * (open.len() + if closed { close.len() } else { 0 });
        if data.len() + grow > max_len {
            return false;
        }
        let mut ins = open.repeat(depth);
        if closed {
            ins.extend(close.repeat(depth));
        }
        data.splice(at..at, ins);
    } else {
        // A number (or, without one, a spot after `:`/`[`/`,`) becomes [[[…n…]]] / {"a":{"a":…}}.
        let tokens = number_tokens(data);
        let (a, b) = if !tokens.is_empty() {
            tokens[rng.random_range(0..tokens.len())]
        } else {
            let spots: Vec<usize> = (0..data.len())
                .filter(|&i| matches!(data[i], b':' | b'[' | b','))
                .collect();
            if spots.is_empty() {
                return false;
            }
            let s = spots[rng.random_range(0..spots.len())] + 1;
            (s, s)
        };
        let (open, close): (&[u8], &[u8]) = if rng.random_bool(0.5) {
            (b"[", b"]")
        } else {
            (b"{\"a\":", b"}")
        };
        let closed = rng.random_bool(0.8);
        let grow = depth * (open.len() + if closed { close.len() } else { 0 });
        if data.len() + grow > max_len {
            return false;
        }
        let inner = if a == b {
            b"0".to_vec()
        } else {
            data[a..b].to_vec()
        };
        let mut ins = open.repeat(depth);
        ins.extend(inner);
        if closed {
            ins.extend(close.repeat(depth));
        }
        data.splice(a..b, ins);
    }
    true
}

/// Byte ranges of the lines, each with its newline.
fn line_ranges(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut a = 0;
    for (i, &c) in data.iter().enumerate() {
        if c == b'\n' {
            out.push((a, i + 1));
            a = i + 1;
        }
    }
    if a < data.len() {
        out.push((a, data.len()));
    }
    out
}

fn lines(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
    let ranges = line_ranges(data);
    if ranges.is_empty() {
        return false;
    }
    let (a, b) = ranges[rng.random_range(0..ranges.len())];
    match rng.random_range(0..5) {
        0 => {
            data.drain(a..b);
        }
        1 => {
            // Many copies: huge object / box / key counts.
            let times = [1usize, 10, 1_000, 100_000][rng.random_range(0..4)];
            let mut line = data[a..b].to_vec();
            if line.last() != Some(&b'\n') {
                line.insert(0, b'\n');
            }
            if data.len() + line.len() * times > max_len {
                return false;
            }
            let ins = line.repeat(times);
            data.splice(b..b, ins);
        }
        2 => {
            if ranges.len() < 2 {
                return false;
            }
            let (c, d) = ranges[rng.random_range(0..ranges.len())];
            if (c, d) == (a, b) || data[a..b] == data[c..d] {
                return false;
            }
            let (first, second) = if a < c {
                ((a, b), (c, d))
            } else {
                ((c, d), (a, b))
            };
            let x = data[first.0..first.1].to_vec();
            let y = data[second.0..second.1].to_vec();
            let mut out = data[..first.0].to_vec();
            out.extend(&y);
            out.extend(&data[first.1..second.0]);
            out.extend(&x);
            out.extend(&data[second.1..]);
            *data = out;
        }
        3 => {
            // Cut the line short (a half-written key or value).
            let content_end = if data[b - 1] == b'\n' { b - 1 } else { b };
            if content_end <= a {
                return false;
            }
            let cut = rng.random_range(a..content_end);
            data.drain(cut..content_end);
        }
        _ => {
            // Swap a separator for another: `key: value` ↔ `key value`, `x y` ↔ `x,y`.
            let seps: Vec<usize> = (a..b)
                .filter(|&i| matches!(data[i], b':' | b' ' | b'\t' | b',' | b'='))
                .collect();
            if seps.is_empty() {
                return false;
            }
            let i = seps[rng.random_range(0..seps.len())];
            let choices: Vec<u8> = [b':', b' ', b'\t', b',', b'=', b'\0']
                .into_iter()
                .filter(|c| *c != data[i])
                .collect();
            data[i] = choices[rng.random_range(0..choices.len())];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// A little-endian classic TIFF with one IFD of 3 entries and an offset array.
    fn tiny_tiff() -> Vec<u8> {
        let mut t = b"II\x2a\x00".to_vec();
        t.extend(8u32.to_le_bytes());
        t.extend(3u16.to_le_bytes());
        for (tag, typ, count, value) in
            [(256u16, 3u16, 1u32, 4u32), (257, 3, 1, 4), (273, 4, 2, 50)]
        {
            t.extend(tag.to_le_bytes());
            t.extend(typ.to_le_bytes());
            t.extend(count.to_le_bytes());
            t.extend(value.to_le_bytes());
        }
        t.extend(0u32.to_le_bytes());
        t.extend(60u32.to_le_bytes());
        t.extend(64u32.to_le_bytes());
        t.resize(80, 7);
        t
    }

    const TEXT: &str = "<annotation>\n\t<size><width>416</width><height>416</height></size>\n\
                        \t<object><bndbox><xmin>10</xmin><ymin>-2.5e3</ymin></bndbox></object>\n\
                        </annotation>\n{\"a\": [1, 2.5]}\n";

    #[test]
    fn every_mutator_changes_its_input() {
        let other = b"completely different bytes, 12345".to_vec();
        for m in Mutation::BINARY.into_iter().chain(Mutation::TEXT) {
            let base = if m == Mutation::TiffEntry {
                tiny_tiff()
            } else {
                TEXT.as_bytes().to_vec()
            };
            let mut applied = 0;
            for s in 0..200 {
                let mut d = base.clone();
                if apply(m, &mut rng(s), &mut d, Some(&other), 1 << 24) {
                    assert_ne!(
                        d,
                        base,
                        "{} reported a change it did not make (seed {s})",
                        m.name()
                    );
                    applied += 1;
                } else {
                    assert_eq!(d, base, "{} declined but changed the input", m.name());
                }
            }
            assert!(
                applied >= 100,
                "{} applied only {applied} of 200 times",
                m.name()
            );
        }
    }

    #[test]
    fn truncation_and_deletion_shorten() {
        let base = tiny_tiff();
        for s in 0..100 {
            let mut d = base.clone();
            assert!(apply(
                Mutation::Truncate,
                &mut rng(s),
                &mut d,
                None,
                1 << 20
            ));
            assert!(d.len() < base.len());
            let mut d = base.clone();
            assert!(apply(Mutation::Delete, &mut rng(s), &mut d, None, 1 << 20));
            assert!(d.len() < base.len());
        }
    }

    #[test]
    fn growth_stops_at_max_len() {
        let base = TEXT.as_bytes().to_vec();
        let max = base.len() + 100;
        for s in 0..300 {
            for m in [
                Mutation::Duplicate,
                Mutation::Insert,
                Mutation::Nesting,
                Mutation::Lines,
                Mutation::Number,
            ] {
                let mut d = base.clone();
                apply(m, &mut rng(s), &mut d, None, max);
                assert!(d.len() <= max, "{} grew to {}", m.name(), d.len());
            }
        }
    }

    #[test]
    fn same_seed_same_mutation() {
        for m in Mutation::BINARY.into_iter().chain(Mutation::TEXT) {
            let base = if m == Mutation::TiffEntry {
                tiny_tiff()
            } else {
                TEXT.as_bytes().to_vec()
            };
            let (mut a, mut b) = (base.clone(), base.clone());
            apply(m, &mut rng(9), &mut a, Some(b"xyz"), 1 << 20);
            apply(m, &mut rng(9), &mut b, Some(b"xyz"), 1 << 20);
            assert_eq!(a, b, "{}", m.name());
        }
    }

    #[test]
    fn text_mutators_decline_without_structure() {
        let mut d = b"no digits here".to_vec();
        assert!(!apply(Mutation::Number, &mut rng(1), &mut d, None, 1 << 20));
        assert!(!apply(
            Mutation::Nesting,
            &mut rng(1),
            &mut d,
            None,
            1 << 20
        ));
        assert!(!apply(
            Mutation::TiffEntry,
            &mut rng(1),
            &mut d,
            None,
            1 << 20
        ));
        let mut e = Vec::new();
        for m in Mutation::BINARY {
            if m != Mutation::Insert {
                assert!(
                    !apply(m, &mut rng(1), &mut e, Some(b""), 1 << 20),
                    "{}",
                    m.name()
                );
            }
        }
    }

    #[test]
    fn numbers_are_found_whole() {
        let t = b"width: 416\nx86 -2.5e-3 .5 b1 [1,2]";
        let toks: Vec<&[u8]> = number_tokens(t)
            .into_iter()
            .map(|(a, b)| &t[a..b])
            .collect();
        assert_eq!(toks, [&b"416"[..], b"-2.5e-3", b".5", b"1", b"2"]);
    }

    #[test]
    fn number_replacement_puts_an_extreme_value() {
        let base = b"width: 416\n".to_vec();
        let mut seen = std::collections::BTreeSet::new();
        for s in 0..200 {
            let mut d = base.clone();
            assert!(apply(Mutation::Number, &mut rng(s), &mut d, None, 1 << 20));
            assert!(d.starts_with(b"width: ") && d.ends_with(b"\n"));
            seen.insert(String::from_utf8(d).unwrap_or_default());
        }
        assert!(
            seen.contains("width: NaN\n") && seen.contains("width: -416\n"),
            "{seen:?}"
        );
    }

    #[test]
    fn tiff_entry_changes_the_ifd_region() {
        let base = tiny_tiff();
        for s in 0..200 {
            let mut d = base.clone();
            if apply(Mutation::TiffEntry, &mut rng(s), &mut d, None, 1 << 20) {
                let first = (0..d.len()).find(|&i| d[i] != base[i]).unwrap_or(0);
                assert!((8..68).contains(&first), "changed byte {first}");
            }
        }
    }
}

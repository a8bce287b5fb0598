//! How do these pixels become a `data:` URL an `<img>` shows?
//!
//! A minimal PNG encoder for the tiny previews of [`super::placeholder`]: 8-bit RGB or RGBA, no
//! filter, the image data in stored (uncompressed) deflate blocks, with its CRC32 and Adler-32
//! checks, and the base64 that wraps it. A 16 × 16 RGB preview is about 0.85 KB of PNG, 1.1 KB
//! of URL: compression would save little and cost code. A preview's pixels are written straight
//! into the file ([`encode_with`]); nothing here allocates more than the output.

/// The PNG signature every file starts with.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// The largest stored deflate block.
const MAX_STORED: usize = 65_535;

/// The CRC32 (IEEE, reflected) table, built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

thread_local! {
    /// The tables of the slicing-by-4 CRC32: `[0]` is [`CRC_TABLE`], `[k]` advances a byte
    /// through `k` more zero bytes. Built at the first preview (4 KB of memory, none in the
    /// `.wasm`): a byte-at-a-time CRC was a third of a preview's cost in Firefox.
    static CRC_TABLES: [[u32; 256]; 4] = {
        let mut tables = [CRC_TABLE; 4];
        for k in 1..4 {
            let previous = tables[k - 1];
            for (entry, p) in tables[k].iter_mut().zip(previous) {
                *entry = (p >> 8) ^ CRC_TABLE[(p & 0xFF) as usize];
            }
        }
        tables
    };
}

/// The CRC32 of `bytes`, as PNG chunks carry it: four bytes a step.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC_TABLES.with(|t| {
        let mut c = 0xFFFF_FFFFu32;
        let mut words = bytes.chunks_exact(4);
        for w in &mut words {
            c ^= u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            c = t[3][(c & 0xFF) as usize]
                ^ t[2][(c >> 8 & 0xFF) as usize]
                ^ t[1][(c >> 16 & 0xFF) as usize]
                ^ t[0][(c >> 24) as usize];
        }
        for &b in words.remainder() {
            c = t[0][((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
        }
        c ^ 0xFFFF_FFFF
    })
}

/// The Adler-32 checksum of `bytes`, as a zlib stream ends with it.
pub fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before `b` could overflow a u32.
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// `bytes` as a zlib stream of stored deflate blocks (no compression).
pub fn zlib_stored(bytes: &[u8]) -> Vec<u8> {
    let blocks = bytes.len().div_ceil(MAX_STORED).max(1);
    let mut out = Vec::with_capacity(2 + bytes.len() + 5 * blocks + 4);
    out.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = bytes.chunks(MAX_STORED).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = chunk.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(bytes).to_be_bytes());
    out
}

/// Appends one PNG chunk: its length, `kind`, `data` and the CRC of kind and data.
pub fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The IEND chunk, CRC included: the same in every file.
const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// A PNG file of `width` × `height` pixels of `channels` bytes (3: RGB, 4: RGBA; 8 bits each,
/// not premultiplied), whose image data `fill` appends: each row a filter byte (0, none) then
/// its pixels. The data is written in place, inside the file's one stored deflate block, and
/// checked (Adler-32, CRC) there: no other buffer. `None` when the sizes are out of range, the
/// image data would not fit one stored block (over 64 KiB: not a preview), or `fill` fails or
/// appends the wrong number of bytes.
pub fn encode_with(
    width: usize,
    height: usize,
    channels: usize,
    fill: impl FnOnce(&mut Vec<u8>) -> Option<()>,
) -> Option<Vec<u8>> {
    if width == 0 || height == 0 || width > 1 << 16 || height > 1 << 16 {
        return None;
    }
    let color_type = match channels {
        3 => 2,
        4 => 6,
        _ => return None,
    };
    let raw_len = height.checked_mul(width.checked_mul(channels)?.checked_add(1)?)?;
    if raw_len > MAX_STORED {
        return None;
    }
    let idat_len = 2 + 5 + raw_len + 4;
    let mut out = Vec::with_capacity(8 + 25 + 12 + idat_len + IEND.len());
    out.extend_from_slice(&SIGNATURE);
    let mut ihdr = [0u8; 13];
    ihdr[..4].copy_from_slice(&(width as u32).to_be_bytes());
    ihdr[4..8].copy_from_slice(&(height as u32).to_be_bytes());
    // 8 bits, RGB or RGBA, deflate, no filter, no interlace.
    ihdr[8..].copy_from_slice(&[8, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    out.extend_from_slice(&(idat_len as u32).to_be_bytes());
    let idat = out.len();
    out.extend_from_slice(b"IDAT");
    // zlib header, then one final stored block.
    let len = raw_len as u16;
    out.extend_from_slice(&[0x78, 0x01, 1]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    let raw = out.len();
    fill(&mut out)?;
    if out.len() != raw + raw_len {
        return None;
    }
    let adler = adler32(&out[raw..]);
    out.extend_from_slice(&adler.to_be_bytes());
    let crc = crc32(&out[idat..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&IEND);
    Some(out)
}

/// A PNG file of the `width` × `height` RGBA pixels `rgba` (row by row, not premultiplied).
/// `None` when the sizes do not match or an image side is 0. Larger images than a preview (over
/// 64 KiB of image data) are written in several stored blocks.
pub fn encode_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<Vec<u8>> {
    if width == 0 || height == 0 || width > 1 << 16 || height > 1 << 16 {
        return None;
    }
    if rgba.len() != width.checked_mul(height)?.checked_mul(4)? {
        return None;
    }
    let rows = |out: &mut Vec<u8>| {
        for row in rgba.chunks_exact(width * 4) {
            out.push(0); // filter: none
            out.extend_from_slice(row);
        }
    };
    if height * (1 + width * 4) <= MAX_STORED {
        return encode_with(width, height, 4, |out| {
            rows(out);
            Some(())
        });
    }
    let mut raw = Vec::with_capacity(height * (1 + width * 4));
    rows(&mut raw);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let idat = zlib_stored(&raw);
    let mut out = Vec::with_capacity(8 + 25 + idat.len() + 12 + IEND.len());
    out.extend_from_slice(&SIGNATURE);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    out.extend_from_slice(&IEND);
    Some(out)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in standard base64, padded.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    base64_encode_into(bytes, &mut out);
    // Only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `bytes` in standard base64, padded, to `out`: three bytes become four characters,
/// written a few hundred at a time from a buffer on the stack (no zero-fill of `out` first).
pub fn base64_encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    let sextet = |n: u32, shift: u32| ALPHABET[(n >> shift & 63) as usize];
    let mut buffer = [0u8; 256];
    let mut groups = bytes.chunks_exact(3);
    loop {
        let mut filled = 0;
        // The buffer leads the zip: when it is full, no group is taken and lost.
        for (c, g) in buffer.chunks_exact_mut(4).zip(&mut groups) {
            let n = (g[0] as u32) << 16 | (g[1] as u32) << 8 | g[2] as u32;
            c[0] = sextet(n, 18);
            c[1] = sextet(n, 12);
            c[2] = sextet(n, 6);
            c[3] = sextet(n, 0);
            filled += 4;
        }
        if filled == 0 {
            break;
        }
        out.extend_from_slice(&buffer[..filled]);
    }
    let rest = groups.remainder();
    if !rest.is_empty() {
        // The last one or two bytes, then the padding.
        let n = (rest[0] as u32) << 16 | (rest.get(1).copied().unwrap_or(0) as u32) << 8;
        let third = if rest.len() == 2 { sextet(n, 6) } else { b'=' };
        out.extend_from_slice(&[sextet(n, 18), sextet(n, 12), third, b'=']);
    }
}

fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    } as u32)
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional). `None` for any other
/// character, misplaced padding or a dangling last character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let body = match bytes.iter().position(|&c| c == b'=') {
        Some(at) => {
            let pad = &bytes[at..];
            if pad.len() > 2 || pad.iter().any(|&c| c != b'=') || bytes.len() % 4 != 0 {
                return None;
            }
            &bytes[..at]
        }
        None => bytes,
    };
    if body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for group in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= sextet(c)? << (18 - 6 * i);
        }
        let produced = group.len() - 1;
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[]), 1);
    }

    #[test]
    fn the_crc_of_any_length_matches_a_byte_at_a_time() {
        let bytes: Vec<u8> = (0..600u32).map(|i| (i * 7 + i / 5) as u8).collect();
        for len in [0, 1, 3, 4, 5, 8, 257, 600] {
            let mut c = 0xFFFF_FFFFu32;
            for &b in &bytes[..len] {
                c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
            }
            assert_eq!(crc32(&bytes[..len]), c ^ 0xFFFF_FFFF, "{len} bytes");
        }
    }

    #[test]
    fn base64_round_trips_and_matches_known_values() {
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_encode(b"M"), "TQ==");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode("TWE").unwrap(), b"Ma");
        assert_eq!(base64_decode("TQ").unwrap(), b"M");
        assert!(base64_decode("T").is_none());
        assert!(base64_decode("TW=E").is_none());
        assert!(base64_decode("TWE*").is_none());
    }

    #[test]
    fn base64_of_every_length_round_trips() {
        // Past the encoder's stack buffer (64 groups) several times, and every remainder.
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 37 + i / 7) as u8).collect();
        for len in 0..=bytes.len() {
            let text = base64_encode(&bytes[..len]);
            assert_eq!(text.len(), len.div_ceil(3) * 4, "{len}");
            assert_eq!(base64_decode(&text).unwrap(), &bytes[..len], "{len}");
        }
    }

    #[test]
    fn png_has_its_chunks_in_order() {
        let png = encode_rgba(2, 1, &[255, 0, 0, 255, 0, 0, 255, 128]).unwrap();
        assert_eq!(&png[..8], &SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        assert!(encode_rgba(0, 1, &[]).is_none());
        assert!(encode_rgba(2, 2, &[0; 4]).is_none());
    }
}

//! How many pixels does this image declare?
//!
//! A 57-byte PNG can declare 100 000 × 100 000 pixels: the browser would try to decode 40 GB.
//! Before bytes are kept, the cache reads the width and height from the image header — PNG
//! `IHDR`, GIF's logical screen, JPEG's `SOFn`, WebP's `VP8 `/`VP8L`/`VP8X` chunk, AVIF's `ispe`
//! property — and refuses what is over `maxImagePixels`. Pure Rust, reads at most the header,
//! never panics, whatever the bytes.

use crate::error::{Error, Result};

/// Width and height in pixels, as the header declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Dimensions {
    /// Width × height.
    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// Refuses an image whose header declares more than `max_pixels` pixels, or (for the types
/// that have one) no readable size at all: [`Error::TooManyPixels`]. SVG has no pixel size and
/// passes.
pub fn check_pixels(mime: &str, bytes: &[u8], max_pixels: u64) -> Result<()> {
    if mime == "image/svg+xml" {
        return Ok(());
    }
    match declared_dimensions(mime, bytes) {
        Some(d) if d.pixels() <= max_pixels && d.pixels() > 0 => Ok(()),
        Some(d) => Err(Error::TooManyPixels {
            width: d.width,
            height: d.height,
            limit: max_pixels,
        }),
        None => Err(Error::NotAnImage {
            content_type: format!("{mime} (no readable size in its header)"),
        }),
    }
}

/// The dimensions the header of an image of type `mime` declares; `None` when the header is
/// missing, truncated or malformed (or for SVG, which has no pixel size).
pub fn declared_dimensions(mime: &str, bytes: &[u8]) -> Option<Dimensions> {
    match mime {
        "image/png" => png(bytes),
        "image/gif" => gif(bytes),
        "image/jpeg" => jpeg(bytes),
        "image/webp" => webp(bytes),
        "image/avif" => avif(bytes),
        _ => None,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn dims(width: u32, height: u32) -> Option<Dimensions> {
    Some(Dimensions { width, height })
}

/// The signature, then the `IHDR` chunk: length 13, width and height big-endian.
fn png(b: &[u8]) -> Option<Dimensions> {
    if !b.starts_with(b"\x89PNG\r\n\x1a\n") || b.get(12..16)? != b"IHDR" {
        return None;
    }
    dims(be32(b, 16)?, be32(b, 20)?)
}

/// `GIF8?a`, then the logical screen width and height, little-endian.
fn gif(b: &[u8]) -> Option<Dimensions> {
    if !b.starts_with(b"GIF8") {
        return None;
    }
    dims(le16(b, 6)?, le16(b, 8)?)
}

/// Walks the markers up to the first start-of-frame (`SOF0`–`SOF15` but `DHT`, `JPG`, `DAC`).
fn jpeg(b: &[u8]) -> Option<Dimensions> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return dims(be16(b, at + 7)?, be16(b, at + 5)?);
            }
            _ => {
                let length = be16(b, at + 2)? as usize;
                if length < 2 {
                    return None;
                }
                at = at.checked_add(2 + length)?;
            }
        }
    }
}

/// `RIFF....WEBP`, then the first chunk: lossy `VP8 ` (14-bit sizes after the start code),
/// lossless `VP8L` (14-bit sizes minus one, bit-packed) or extended `VP8X` (24-bit canvas size
/// minus one).
fn webp(b: &[u8]) -> Option<Dimensions> {
    if !b.starts_with(b"RIFF") || b.get(8..12)? != b"WEBP" {
        return None;
    }
    let chunk = b.get(12..16)?;
    let data = 20;
    match chunk {
        b"VP8 " => {
            if b.get(data + 3..data + 6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            dims(le16(b, data + 6)? & 0x3FFF, le16(b, data + 8)? & 0x3FFF)
        }
        b"VP8L" => {
            if *b.get(data)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(data + 1..data + 5)?.try_into().ok()?);
            dims((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        b"VP8X" => dims(le24(b, data + 4)? + 1, le24(b, data + 7)? + 1),
        _ => None,
    }
}

/// The ISO-BMFF boxes `meta` → `iprp` → `ipco` → `ispe` (image spatial extents). The largest
/// `ispe` counts: a grid image declares its tiles and its whole canvas.
fn avif(b: &[u8]) -> Option<Dimensions> {
    let meta = find_box(b, b"meta")?;
    // `meta` is a full box: 4 bytes of version and flags before its children.
    let iprp = find_box(meta.get(4..)?, b"iprp")?;
    let ipco = find_box(iprp, b"ipco")?;
    let mut largest: Option<Dimensions> = None;
    let mut rest = ipco;
    while let Some((kind, body, next)) = next_box(rest) {
        if kind == b"ispe" {
            let found = Dimensions {
                width: be32(body, 4)?,
                height: be32(body, 8)?,
            };
            if largest.is_none_or(|l| found.pixels() > l.pixels()) {
                largest = Some(found);
            }
        }
        rest = next;
    }
    largest
}

/// The body of the first box of `kind` among the boxes in `b`.
fn find_box<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let mut rest = b;
    while let Some((k, body, next)) = next_box(rest) {
        if k == kind {
            return Some(body);
        }
        rest = next;
    }
    None
}

/// The first box of `b`: its type, its body and what follows it.
fn next_box(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let size = be32(b, 0)? as u64;
    let kind = b.get(4..8)?;
    let (header, size) = match size {
        0 => (8, b.len() as u64),
        1 => (16, u64::from(be32(b, 8)?) << 32 | u64::from(be32(b, 12)?)),
        n => (8, n),
    };
    let size = usize::try_from(size).ok()?;
    if size < header || size > b.len() {
        return None;
    }
    Some((kind, &b[header..size], &b[size..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        b.extend(width.to_be_bytes());
        b.extend(height.to_be_bytes());
        b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn png_header_declares_its_size() {
        let d = declared_dimensions("image/png", &png_of(100_000, 100_000)).unwrap();
        assert_eq!((d.width, d.height), (100_000, 100_000));
        assert_eq!(d.pixels(), 10_000_000_000);
        assert_eq!(declared_dimensions("image/png", &png_of(1, 1)[..20]), None);
    }

    #[test]
    fn gif_header_declares_its_size() {
        let b = b"GIF89a\x20\x03\x58\x02\x00\x00\x00";
        let d = declared_dimensions("image/gif", b).unwrap();
        assert_eq!((d.width, d.height), (800, 600));
    }

    #[test]
    fn jpeg_start_of_frame_is_found_past_other_segments() {
        let mut b = vec![0xFF, 0xD8];
        b.extend([0xFF, 0xE0, 0x00, 0x06, b'J', b'F', b'I', b'F']); // APP0
        b.extend([0xFF, 0xFF]); // a fill byte
        b.extend([0xFF, 0xC2, 0x00, 0x11, 0x08, 0x4E, 0x20, 0x75, 0x30, 0x03]); // SOF2
        let d = declared_dimensions("image/jpeg", &b).unwrap();
        assert_eq!((d.width, d.height), (30_000, 20_000));
        assert_eq!(declared_dimensions("image/jpeg", &b[..9]), None);
    }

    #[test]
    fn webp_chunks_declare_their_size() {
        let riff = |chunk: &[u8], data: &[u8]| {
            let mut b = b"RIFF\0\0\0\0WEBP".to_vec();
            b.extend(chunk);
            b.extend((data.len() as u32).to_le_bytes());
            b.extend(data);
            b
        };
        let lossy = riff(
            b"VP8 ",
            &[0, 0, 0, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01],
        );
        let d = declared_dimensions("image/webp", &lossy).unwrap();
        assert_eq!((d.width, d.height), (640, 480));
        let bits: u32 = 639 | (479 << 14);
        let mut lossless = vec![0x2F];
        lossless.extend(bits.to_le_bytes());
        let d = declared_dimensions("image/webp", &riff(b"VP8L", &lossless)).unwrap();
        assert_eq!((d.width, d.height), (640, 480));
        let extended = [0, 0, 0, 0, 0x1F, 0x4E, 0, 0x1F, 0x4E, 0];
        let d = declared_dimensions("image/webp", &riff(b"VP8X", &extended)).unwrap();
        assert_eq!((d.width, d.height), (20_000, 20_000));
    }

    #[test]
    fn avif_ispe_declares_its_size() {
        let boxed = |kind: &[u8], body: &[u8]| {
            let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
            b.extend(kind);
            b.extend(body);
            b
        };
        let mut ispe = vec![0, 0, 0, 0];
        ispe.extend(20_000u32.to_be_bytes());
        ispe.extend(10_000u32.to_be_bytes());
        let ipco = boxed(b"ipco", &boxed(b"ispe", &ispe));
        let iprp = boxed(b"iprp", &ipco);
        let mut meta_body = vec![0, 0, 0, 0];
        meta_body.extend(boxed(b"hdlr", &[0; 20]));
        meta_body.extend(iprp);
        let mut file = boxed(b"ftyp", b"avif\0\0\0\0avifmif1");
        file.extend(boxed(b"meta", &meta_body));
        let d = declared_dimensions("image/avif", &file).unwrap();
        assert_eq!((d.width, d.height), (20_000, 10_000));
    }

    #[test]
    fn pixel_bombs_are_refused() {
        let max = 4096 * 4096;
        assert!(check_pixels("image/png", &png_of(128, 128), max).is_ok());
        assert!(matches!(
            check_pixels("image/png", &png_of(20_000, 20_000), max),
            Err(Error::TooManyPixels { width: 20_000, .. })
        ));
        assert!(check_pixels("image/png", &png_of(0, 10), max).is_err());
        assert!(check_pixels("image/png", b"\x89PNG\r\n\x1a\n", max).is_err());
        assert!(check_pixels("image/svg+xml", b"<svg/>", max).is_ok());
    }

    #[test]
    fn garbage_declares_nothing() {
        for mime in [
            "image/png",
            "image/gif",
            "image/jpeg",
            "image/webp",
            "image/avif",
        ] {
            assert_eq!(declared_dimensions(mime, b""), None);
            assert_eq!(declared_dimensions(mime, &[0xFF; 64]), None);
        }
        assert_eq!(declared_dimensions("image/svg+xml", b"<svg/>"), None);
    }
}

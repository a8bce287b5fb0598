//! What image type do these bytes really hold?
//!
//! A server's `Content-Type` is a claim, not a fact: object storage serves whatever the uploader
//! said, and a misconfigured proxy serves its HTML error page with the image's headers. Before
//! bytes become an object URL the cache looks at their magic numbers ([`sniff_image_type`]) and
//! accepts them only when the claim, the bytes and the allowed types all agree
//! ([`accept_image`]). Pure Rust: no browser types, runs natively.

use crate::error::{Error, Result};
use crate::policy::svg::svg_hazard;

/// `\x89PNG\r\n\x1a\n`.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// Start of every JPEG: SOI marker then the first marker's `0xFF`.
const JPEG_SIGNATURE: &[u8] = b"\xFF\xD8\xFF";
/// The UTF-8 byte order mark, which may open an SVG file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The image type the bytes hold, judged by their first bytes alone: `image/png`, `image/jpeg`,
/// `image/gif` (GIF87a/GIF89a), `image/webp` (`RIFF....WEBP`), `image/avif` (an ISO-BMFF `ftyp`
/// box naming the `avif` or `avis` brand) or `image/svg+xml` (XML text whose root element is
/// `<svg>`, after an optional BOM, XML declaration, comments, processing instructions and
/// doctype).
///
/// `None` for anything else (HTML, JSON, plain text, other XML, unknown binaries, empty input).
/// Never panics, whatever the bytes.
pub fn sniff_image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(PNG_SIGNATURE) {
        Some("image/png")
    } else if bytes.starts_with(JPEG_SIGNATURE) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if is_avif(bytes) {
        Some("image/avif")
    } else if is_svg(bytes) {
        Some("image/svg+xml")
    } else {
        None
    }
}

/// Checks a downloaded image before it is kept: `declared` is the response's `Content-Type`
/// (parameters such as `; charset=` are ignored, case is ignored, and `image/jpg` counts as
/// `image/jpeg`). It must be present, be one of `allowed`, and agree with what the bytes are
/// ([`sniff_image_type`]). Returns the sniffed type, which is the one the cache stores and
/// types the `Blob` with.
///
/// Every refusal is [`Error::NotAnImage`], whose `content_type` says what was claimed and, when
/// that is the problem, what the bytes looked like. Empty bytes are refused. Never panics.
pub fn accept_image(
    declared: Option<&str>,
    bytes: &[u8],
    allowed: &[String],
) -> Result<&'static str> {
    let refuse = |content_type: String| Err(Error::NotAnImage { content_type });
    let declared = match declared.map(normalize_content_type) {
        Some(d) if !d.is_empty() => d,
        _ => return refuse("(no Content-Type)".into()),
    };
    if !allowed.iter().any(|t| t.eq_ignore_ascii_case(&declared)) {
        return refuse(declared);
    }
    if bytes.is_empty() {
        return refuse(format!("{declared} (empty body)"));
    }
    match sniff_image_type(bytes) {
        Some("image/svg+xml") if declared == "image/svg+xml" => match svg_hazard(bytes) {
            None => Ok("image/svg+xml"),
            Some(why) => refuse(format!("image/svg+xml ({why})")),
        },
        Some(sniffed) if sniffed == declared => Ok(sniffed),
        Some(sniffed) => refuse(format!("{declared} (the bytes are {sniffed})")),
        None => refuse(format!("{declared} (the bytes are not a known image)")),
    }
}

/// `Image/JPG; charset=x` → `image/jpeg`: the media type without parameters, lowercased, with
/// the common `image/jpg` alias resolved.
fn normalize_content_type(value: &str) -> String {
    let essence = value.split(';').next().unwrap_or("").trim();
    let lower = essence.to_ascii_lowercase();
    if lower == "image/jpg" {
        "image/jpeg".to_string()
    } else {
        lower
    }
}

/// An ISO-BMFF file whose leading `ftyp` box names `avif` (still image) or `avis` (sequence) as
/// major or compatible brand.
fn is_avif(bytes: &[u8]) -> bool {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let declared_size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    // A box is at least its header, major brand and minor version; size 0 ("to end of file") and
    // 1 (64-bit size) are not used for `ftyp`.
    if declared_size < 16 {
        return false;
    }
    let end = declared_size.min(bytes.len());
    let is_avif_brand = |brand: &[u8]| brand == b"avif" || brand == b"avis";
    if is_avif_brand(&bytes[8..12]) {
        return true;
    }
    // Compatible brands follow the 4-byte minor version.
    bytes[16..end].chunks_exact(4).any(is_avif_brand)
}

/// XML text whose root element is `svg` (in any namespace prefix).
fn is_svg(bytes: &[u8]) -> bool {
    let mut rest = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    loop {
        rest = trim_xml_space(rest);
        if let Some(after) = rest.strip_prefix(b"<?") {
            // XML declaration or processing instruction.
            match find(after, b"?>") {
                Some(i) => rest = &after[i + 2..],
                None => return false,
            }
        } else if let Some(after) = rest.strip_prefix(b"<!--") {
            match find(after, b"-->") {
                Some(i) => rest = &after[i + 3..],
                None => return false,
            }
        } else if starts_with_ignore_case(rest, b"<!DOCTYPE") {
            match doctype_end(rest) {
                Some(i) => rest = &rest[i + 1..],
                None => return false,
            }
        } else if let Some(after) = rest.strip_prefix(b"<") {
            let name_len = after
                .iter()
                .position(|&b| is_xml_space(b) || b == b'>' || b == b'/')
                .unwrap_or(after.len());
            if name_len == after.len() {
                // The tag never ends: not a document.
                return false;
            }
            let name = &after[..name_len];
            let local = match name.iter().rposition(|&b| b == b':') {
                Some(i) => &name[i + 1..],
                None => name,
            };
            return local == b"svg";
        } else {
            return false;
        }
    }
}

/// The index of the `>` that closes the doctype starting at `text[0]`, skipping an internal
/// subset in `[...]` and quoted strings.
fn doctype_end(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in text.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'>' if depth == 0 => return Some(i),
                _ => {}
            },
        }
    }
    None
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_xml_space(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&b| !is_xml_space(b))
        .unwrap_or(text.len());
    &text[start..]
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A complete 1×1 transparent PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60,
        0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0xE9, 0xFA, 0xDC, 0xD8, 0x00, 0x00, 0x00, 0x00,
        0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00";
    const WEBP: &[u8] = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00";
    const AVIF: &[u8] =
        b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B\x00\x00\x00\x00meta";
    const SVG: &[u8] = br#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;

    fn allowed(types: &[&str]) -> Vec<String> {
        types.iter().map(|t| t.to_string()).collect()
    }

    fn defaults() -> Vec<String> {
        allowed(crate::config::DEFAULT_ALLOWED_TYPES)
    }

    fn refused_as(result: Result<&'static str>) -> String {
        match result {
            Err(Error::NotAnImage { content_type }) => content_type,
            other => panic!("expected NotAnImage, got {other:?}"),
        }
    }

    #[test]
    fn raster_formats_are_recognised_by_magic_bytes() {
        assert_eq!(sniff_image_type(PNG), Some("image/png"));
        assert_eq!(sniff_image_type(JPEG), Some("image/jpeg"));
        assert_eq!(sniff_image_type(b"GIF87a\x01\x00"), Some("image/gif"));
        assert_eq!(sniff_image_type(b"GIF89a\x01\x00"), Some("image/gif"));
        assert_eq!(sniff_image_type(WEBP), Some("image/webp"));
        assert_eq!(sniff_image_type(AVIF), Some("image/avif"));
    }

    #[test]
    fn avif_is_recognised_by_compatible_brand_and_sequences() {
        let mif1_major = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif";
        assert_eq!(sniff_image_type(mif1_major), Some("image/avif"));
        let sequence = b"\x00\x00\x00\x10ftypavis\x00\x00\x00\x00";
        assert_eq!(sniff_image_type(sequence), Some("image/avif"));
        let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic";
        assert_eq!(sniff_image_type(heic), None);
        // A brand outside the box's declared size does not count.
        let outside = b"\x00\x00\x00\x10ftypmif1\x00\x00\x00\x00avif";
        assert_eq!(sniff_image_type(outside), None);
        let bad_size = b"\x00\x00\x00\x01ftypavif\x00\x00\x00\x00";
        assert_eq!(sniff_image_type(bad_size), None);
    }

    #[test]
    fn svg_documents_are_recognised_through_their_prolog() {
        assert_eq!(sniff_image_type(SVG), Some("image/svg+xml"));
        let full = b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <!-- Generator: Illustrator -->\n\
            <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"x.dtd\" [\n<!ENTITY ns \"a>b\">\n]>\n\
            <svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\"></svg:svg>";
        assert_eq!(sniff_image_type(full), Some("image/svg+xml"));
        assert_eq!(sniff_image_type(b"  \n<svg>"), Some("image/svg+xml"));
    }

    #[test]
    fn html_and_other_text_are_not_images() {
        let cases: &[&[u8]] = &[
            b"",
            b"<!DOCTYPE html><html><body><svg></svg></body></html>",
            b"<html><svg/></html>",
            b"<?xml version=\"1.0\"?><feed/>",
            b"<svgx/>",
            b"<svg",
            b"<!-- never closed <svg/>",
            b"{\"success\":true}",
            b"plain text",
            b"RIFF\x00\x00\x00\x00WAVEfmt ",
            b"\x89PNG",
            b"GIF8",
            b"\xFF\xD8",
        ];
        for bytes in cases {
            assert_eq!(
                sniff_image_type(bytes),
                None,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn matching_declared_and_sniffed_type_is_accepted() {
        assert_eq!(
            accept_image(Some("image/png"), PNG, &defaults()),
            Ok("image/png")
        );
        assert_eq!(
            accept_image(Some("IMAGE/PNG; charset=binary"), PNG, &defaults()),
            Ok("image/png")
        );
        assert_eq!(
            accept_image(Some("image/jpg"), JPEG, &defaults()),
            Ok("image/jpeg")
        );
        assert_eq!(
            accept_image(Some("image/webp"), WEBP, &defaults()),
            Ok("image/webp")
        );
    }

    #[test]
    fn missing_or_empty_content_type_is_refused() {
        assert_eq!(
            refused_as(accept_image(None, PNG, &defaults())),
            "(no Content-Type)"
        );
        assert_eq!(
            refused_as(accept_image(Some("  ; x=y"), PNG, &defaults())),
            "(no Content-Type)"
        );
    }

    #[test]
    fn types_outside_the_allowed_list_are_refused() {
        assert_eq!(
            refused_as(accept_image(
                Some("text/html; charset=utf-8"),
                PNG,
                &defaults()
            )),
            "text/html"
        );
        assert_eq!(
            refused_as(accept_image(Some("image/svg+xml"), SVG, &defaults())),
            "image/svg+xml"
        );
        let with_svg = allowed(&["image/png", "image/svg+xml"]);
        assert_eq!(
            accept_image(Some("image/svg+xml"), SVG, &with_svg),
            Ok("image/svg+xml")
        );
    }

    #[test]
    fn disagreement_between_claim_and_bytes_is_refused() {
        let html = b"<!DOCTYPE html><title>502 Bad Gateway</title>";
        assert!(
            refused_as(accept_image(Some("image/png"), html, &defaults()))
                .contains("not a known image")
        );
        assert!(
            refused_as(accept_image(Some("image/jpeg"), PNG, &defaults())).contains("image/png")
        );
        // SVG bytes under a raster type are refused even when SVG is allowed.
        let with_svg = allowed(&["image/png", "image/svg+xml"]);
        assert!(accept_image(Some("image/png"), SVG, &with_svg).is_err());
    }

    #[test]
    fn empty_body_is_refused() {
        assert!(refused_as(accept_image(Some("image/png"), b"", &defaults())).contains("empty"));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn allowed() -> Vec<String> {
        let mut types: Vec<String> = crate::config::DEFAULT_ALLOWED_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect();
        types.push("image/svg+xml".into());
        types
    }

    /// Byte strings that start like one of the recognised formats, so the parsers past the
    /// first check are exercised too.
    fn image_like() -> impl Strategy<Value = Vec<u8>> {
        let prefixes: Vec<&'static [u8]> = vec![
            b"\x89PNG\r\n\x1a\n",
            b"\xFF\xD8\xFF",
            b"GIF89a",
            b"RIFF\x00\x00\x00\x00WEBP",
            b"\x00\x00\x00\x20ftyp",
            b"\x00\x00\x00\x00ftypavif",
            b"\xEF\xBB\xBF<?xml",
            b"<!DOCTYPE svg [",
            b"<!--",
            b"<svg",
            b"<",
        ];
        (
            proptest::sample::select(prefixes),
            proptest::collection::vec(any::<u8>(), 0..256),
        )
            .prop_map(|(prefix, tail)| [prefix, &tail].concat())
    }

    proptest! {
        #[test]
        fn sniffing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = sniff_image_type(&bytes);
        }

        #[test]
        fn sniffing_image_like_bytes_never_panics(bytes in image_like()) {
            let _ = sniff_image_type(&bytes);
        }

        #[test]
        fn accepting_never_panics_and_only_returns_allowed_sniffed_types(
            bytes in prop_oneof![image_like(), proptest::collection::vec(any::<u8>(), 0..256)],
            declared in proptest::option::of("(image/[a-z+]{1,8}|[ -~]{0,24})"),
        ) {
            let allowed = allowed();
            if let Ok(mime) = accept_image(declared.as_deref(), &bytes, &allowed) {
                prop_assert_eq!(Some(mime), sniff_image_type(&bytes));
                prop_assert!(allowed.iter().any(|t| t == mime));
            }
        }
    }
}

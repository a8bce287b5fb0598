//! Fuzzing the readers of image headers and the SVG check: whatever bytes object storage
//! serves, they never panic, and a header that declares a size is read back exactly.
//!
//! Each property runs thousands of cases natively (`cargo test --test header_fuzz`).

#![cfg(not(target_arch = "wasm32"))]

use avatar_cache::policy::dimensions::declared_dimensions;
use avatar_cache::policy::svg::svg_hazard;
use proptest::prelude::*;

const TYPES: [&str; 5] = [
    "image/png",
    "image/gif",
    "image/jpeg",
    "image/webp",
    "image/avif",
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 3_000,
        ..ProptestConfig::default()
    }
}

/// Bytes that start like a real header of each type, so the readers get past the signature.
fn header_like() -> impl Strategy<Value = Vec<u8>> {
    let prefixes: Vec<Vec<u8>> = vec![
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec(),
        b"GIF89a".to_vec(),
        vec![0xFF, 0xD8, 0xFF],
        b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
        b"RIFF\0\0\0\0WEBPVP8L".to_vec(),
        b"RIFF\0\0\0\0WEBPVP8X".to_vec(),
        b"\0\0\0\x14ftypavif\0\0\0\0avif".to_vec(),
    ];
    (
        prop::sample::select(prefixes),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(mut prefix, tail)| {
            prefix.extend(tail);
            prefix
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn header_readers_never_panic(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        header_like(),
    ]) {
        for mime in TYPES {
            let _ = declared_dimensions(mime, &bytes);
        }
    }

    #[test]
    fn png_and_gif_sizes_are_read_back(width in 1u32..=u32::MAX, height in 1u32..=u32::MAX, w16 in 1u16.., h16 in 1u16..) {
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend(width.to_be_bytes());
        png.extend(height.to_be_bytes());
        let d = declared_dimensions("image/png", &png).unwrap();
        prop_assert_eq!((d.width, d.height), (width, height));
        let mut gif = b"GIF89a".to_vec();
        gif.extend(w16.to_le_bytes());
        gif.extend(h16.to_le_bytes());
        let d = declared_dimensions("image/gif", &gif).unwrap();
        prop_assert_eq!((d.width, d.height), (u32::from(w16), u32::from(h16)));
    }

    #[test]
    fn svg_check_never_panics(text in any::<String>(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = svg_hazard(text.as_bytes());
        let _ = svg_hazard(&bytes);
    }

    #[test]
    fn a_script_anywhere_is_refused(before in "[a-z <>=\"/]{0,40}", after in "[a-z <>=\"/]{0,40}") {
        let svg = format!("<svg>{before}<script>x()</script>{after}</svg>");
        prop_assert!(svg_hazard(svg.as_bytes()).is_some());
    }
}

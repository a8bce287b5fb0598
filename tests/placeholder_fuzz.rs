//! Fuzzing the ThumbHash previews: any image hashes to a hash that renders, the rendered URL is a
//! well-formed PNG (chunk CRCs, zlib stored blocks, Adler-32) of at most 16 px on the long side,
//! and whatever text or bytes storage or a backend hands over as a hash never panics: a malformed
//! one is simply no preview.
//!
//! Each property runs thousands of cases natively (`cargo test --test placeholder_fuzz`).

#![cfg(not(target_arch = "wasm32"))]

use avatar_cache::policy::placeholder::{
    decode_hash, hash_rgba, is_valid, render_data_url, DATA_URL_PREFIX, PREVIEW_SIDE,
};
use avatar_cache::policy::png::{adler32, base64_decode, base64_encode, crc32};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A decoded PNG: its size and RGBA pixels (an RGB file's with alpha 255), after checking every
/// chunk's CRC and the zlib stream.
fn read_png(url: &str) -> (usize, usize, Vec<u8>) {
    let png = base64_decode(url.strip_prefix(DATA_URL_PREFIX).expect("a PNG data URL")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let mut at = 8;
    let (mut width, mut height, mut channels, mut idat) = (0, 0, 0, Vec::new());
    let mut kinds = Vec::new();
    while at < png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&png[at + 4..at + 8 + len]), "CRC of {kind:?}");
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(&data[8..], &[8, data[9], 0, 0, 0]);
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        at += 12 + len;
    }
    assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
    // zlib: header, stored blocks, Adler-32 of the raw bytes.
    assert_eq!(
        (idat[0] as u16 * 256 + idat[1] as u16) % 31,
        0,
        "zlib header check"
    );
    let mut raw = Vec::new();
    let mut i = 2;
    loop {
        let last = idat[i] & 1 == 1;
        assert_eq!(idat[i] >> 1, 0, "a stored block");
        let len = u16::from_le_bytes([idat[i + 1], idat[i + 2]]);
        let nlen = u16::from_le_bytes([idat[i + 3], idat[i + 4]]);
        assert_eq!(len, !nlen);
        raw.extend_from_slice(&idat[i + 5..i + 5 + len as usize]);
        i += 5 + len as usize;
        if last {
            break;
        }
    }
    assert_eq!(
        u32::from_be_bytes(idat[i..i + 4].try_into().unwrap()),
        adler32(&raw)
    );
    assert_eq!(i + 4, idat.len());
    assert_eq!(raw.len(), height * (1 + channels * width));
    let pixels = raw
        .chunks_exact(1 + channels * width)
        .flat_map(|row| {
            assert_eq!(row[0], 0, "filter none");
            row[1..]
                .chunks_exact(channels)
                .flat_map(|p| [p[0], p[1], p[2], p.get(3).copied().unwrap_or(255)])
                .collect::<Vec<u8>>()
        })
        .collect();
    (width, height, pixels)
}

fn image() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    sized_image(100)
}

fn sized_image(side: usize) -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    (1usize..=side, 1usize..=side).prop_flat_map(|(w, h)| {
        (
            Just(w),
            Just(h),
            prop::collection::vec(any::<u8>(), w * h * 4),
        )
    })
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn any_image_hashes_to_a_preview_that_is_a_valid_small_png((w, h, rgba) in image()) {
        let hash = hash_rgba(w, h, &rgba).expect("a hash");
        prop_assert!(hash.len() <= 48);
        prop_assert!(is_valid(&hash));
        let url = render_data_url(&hash).expect("a preview");
        prop_assert!(url.len() <= 2_200, "{} chars", url.len());
        let (pw, ph, pixels) = read_png(&url);
        prop_assert!(pw.max(ph) <= PREVIEW_SIDE && pw >= 1 && ph >= 1);
        prop_assert_eq!(pixels.len(), pw * ph * 4);
        // The preview's long side follows the image's.
        if w >= 2 * h { prop_assert!(pw > ph); }
        if h >= 2 * w { prop_assert!(ph > pw); }
    }

    #[test]
    fn a_plain_colour_previews_as_that_colour(r: u8, g: u8, b: u8, w in 1usize..=100, h in 1usize..=100) {
        // ThumbHash keeps colour as luminance plus two 6-bit chroma terms, boosted 1.25x on
        // decoding: a plain colour comes back as a plain colour close to it, not exactly it.
        let rgba = [r, g, b, 255].repeat(w * h);
        let url = render_data_url(&hash_rgba(w, h, &rgba).unwrap()).unwrap();
        let (_, _, pixels) = read_png(&url);
        let n = (pixels.len() / 4) as u32;
        let mean: Vec<u8> = (0..4)
            .map(|c| (pixels.chunks_exact(4).map(|p| p[c] as u32).sum::<u32>() / n) as u8)
            .collect();
        for (got, want) in mean[..3].iter().zip([r, g, b]) {
            prop_assert!(got.abs_diff(want) <= 48, "{mean:?} vs {:?}", (r, g, b));
        }
        prop_assert_eq!(mean[3], 255);
    }
}

proptest! {
    #![proptest_config(config(3_000))]

    #[test]
    fn any_text_as_a_hash_never_panics(text in ".{0,80}") {
        let _ = render_data_url(&text);
        let _ = decode_hash(&text);
    }

    #[test]
    fn any_bytes_as_a_hash_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..60)) {
        let text = base64_encode(&bytes);
        if let Some(url) = render_data_url(&text) {
            prop_assert!(is_valid(&text));
            let (w, h, _) = read_png(&url);
            prop_assert!(w.max(h) <= PREVIEW_SIDE);
        }
    }

    #[test]
    fn a_hash_cut_short_or_lengthened_is_no_preview(
        (w, h, rgba) in sized_image(24),
        cut in 1usize..10,
        extra in prop::collection::vec(any::<u8>(), 1..10),
    ) {
        let hash = base64_decode(&hash_rgba(w, h, &rgba).unwrap()).unwrap();
        let short = &hash[..hash.len().saturating_sub(cut)];
        prop_assert!(render_data_url(&base64_encode(short)).is_none());
        let long = [hash.clone(), extra].concat();
        prop_assert!(render_data_url(&base64_encode(&long)).is_none());
    }

    #[test]
    fn a_flipped_byte_in_a_hash_never_panics((w, h, rgba) in sized_image(24), at: usize, flip in 1u8..=255) {
        let mut hash = base64_decode(&hash_rgba(w, h, &rgba).unwrap()).unwrap();
        let at = at % hash.len();
        hash[at] ^= flip;
        let _ = render_data_url(&base64_encode(&hash));
    }
}

#[test]
fn malformed_hashes_are_no_preview() {
    for bad in [
        "",
        "not base64!",
        "AAAA",
        "=",
        "YJqGPQw7sFlslqhFafSE", // too short for its header
        &"A".repeat(200),
    ] {
        assert!(render_data_url(bad).is_none(), "{bad}");
        assert!(!is_valid(bad), "{bad}");
    }
    // A header whose short side has 0 coefficients: zero-size aspect.
    let mut zero = base64_decode(&hash_rgba(100, 10, &[9; 100 * 10 * 4]).unwrap()).unwrap();
    zero[3] &= !7;
    assert!(render_data_url(&base64_encode(&zero)).is_none());
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn a_stored_record_keeps_its_hash_only_when_well_formed(hash in prop_oneof![
        ".{0,60}",
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| base64_encode(&b)),
    ]) {
        use avatar_cache::record::PictureRecord;
        let json = serde_json::json!({
            "userId": "u1", "imageId": "i1", "remoteUrl": "https://s3.example/i1",
            "urlExpiresAt": 1.0e12, "fetchedAt": 1.0e12, "version": 1, "thumbhash": hash,
        })
        .to_string();
        let record = PictureRecord::decode(&json, "u1", 1, 1.0e12).expect("the record stays");
        prop_assert_eq!(record.thumbhash.is_some(), is_valid(&hash));
        prop_assert_eq!(record.image_id.as_deref(), Some("i1"));
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// The preview renderer does the crate's arithmetic (cosines per row and column instead of
    /// per pixel): at the crate's own size it gives the crate's pixels.
    #[test]
    fn the_renderer_matches_thumb_hash_to_rgba((w, h, rgba) in sized_image(40)) {
        use avatar_cache::policy::placeholder::render_rgba_like_thumbhash;
        let hash = hash_rgba(w, h, &rgba).unwrap();
        let ours = render_rgba_like_thumbhash(&hash).unwrap();
        let theirs = thumbhash::thumb_hash_to_rgba(&base64_decode(&hash).unwrap()).unwrap();
        prop_assert_eq!((ours.0, ours.1), (theirs.0, theirs.1));
        for (a, b) in ours.2.iter().zip(&theirs.2) {
            prop_assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
        }
    }
}

//! ThumbHash previews in the browser: real images decoded at small size through
//! `createImageBitmap` (or `ImageDecoder`, from the bytes a download offered) and an
//! `OffscreenCanvas`, `placeholder(userId)` right after a reload, a
//! `thumbhash` in the backend's answer, and the bad cases (an image that does not decode, a
//! browser without `OffscreenCanvas`): no preview, nothing else changes, never an exception.
//!
//! Also prints what hashing and rendering cost here (figures, not assertions).
#![cfg(target_arch = "wasm32")]

mod common;

use avatar_cache::layers::body::Body;
use avatar_cache::layers::thumbnail::decode_small;
use avatar_cache::policy::placeholder::{hash_rgba, render_data_url, DATA_URL_PREFIX};
use avatar_cache::policy::png::encode_rgba;
use common::*;
use js_sys::{Array, Promise, Reflect, Uint8Array};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Headers, Response, ResponseInit};

wasm_bindgen_test_configure!(run_in_browser);

/// A `width` × `height` PNG of a colour gradient (made by the crate's own encoder).
fn gradient_png(width: usize, height: usize) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            rgba.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 160, 255]);
        }
    }
    encode_rgba(width, height, &rgba).unwrap()
}

/// A `side` × `side` PNG of one colour.
fn solid_png(side: usize, rgb: [u8; 3]) -> Vec<u8> {
    let rgba: Vec<u8> = (0..side * side)
        .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
        .collect();
    encode_rgba(side, side, &rgba).unwrap()
}

/// The colour in the middle of a decoded small image.
fn middle(small: &avatar_cache::layers::SmallImage) -> [u8; 3] {
    let at = ((small.height / 2) * small.width + small.width / 2) * 4;
    [small.rgba[at], small.rgba[at + 1], small.rgba[at + 2]]
}

/// Whether this engine has WebCodecs' `ImageDecoder` (Chromium and Firefox do, WebKitGTK not).
fn has_image_decoder() -> bool {
    Reflect::has(&js_sys::global(), &"ImageDecoder".into()).unwrap_or(false)
        && !Reflect::get(&js_sys::global(), &"ImageDecoder".into())
            .unwrap()
            .is_undefined()
}

const RED: [u8; 3] = [230, 20, 20];
const BLUE: [u8; 3] = [20, 20, 230];

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 8)
}

fn log(line: String) {
    web_sys::console::log_1(&line.into());
}

/// Hides `globalThis[name]` while `body` runs, then puts it back.
async fn without_global<F: std::future::Future<Output = ()>>(name: &str, body: F) {
    let global = js_sys::global();
    let saved = Reflect::get(&global, &name.into()).unwrap();
    Reflect::delete_property(global.unchecked_ref::<js_sys::Object>(), &name.into()).unwrap();
    // Some engines keep interface objects non-configurable: shadow it instead.
    if !Reflect::get(&global, &name.into()).unwrap().is_undefined() {
        Reflect::set(&global, &name.into(), &JsValue::UNDEFINED).unwrap();
    }
    assert!(Reflect::get(&global, &name.into()).unwrap().is_undefined());
    body.await;
    Reflect::set(&global, &name.into(), &saved).unwrap();
}

#[wasm_bindgen_test]
async fn a_real_image_decodes_small_keeping_its_aspect_and_hashes() {
    let small = decode_small(&in_blob(&gradient_png(128, 64)))
        .await
        .expect("decoded");
    assert_eq!((small.width, small.height), (32, 16));
    assert_eq!(small.rgba.len(), 32 * 16 * 4);
    // The gradient survives: red grows left to right.
    let red = |x: usize| small.rgba[(8 * 32 + x) * 4];
    assert!(red(0) < 40 && red(31) > 215, "{} … {}", red(0), red(31));
    let hash = hash_rgba(small.width, small.height, &small.rgba).unwrap();
    assert!(render_data_url(&hash).unwrap().starts_with(DATA_URL_PREFIX));
}

/// A 128 px PNG's bytes in hand, as a download or an upload holds them.
fn in_hand(png: &[u8]) -> Body {
    Body::bytes(Uint8Array::from(png), "image/png")
}

/// The same behind a Blob, as a row written by an earlier version holds them.
fn in_blob(png: &[u8]) -> Body {
    Body::Blob(blob(png, "image/png"))
}

/// Bytes in hand decode (with `ImageDecoder`, else `createImageBitmap` of a Blob made of them),
/// and so do Blobs.
#[wasm_bindgen_test]
async fn bytes_in_hand_and_blobs_both_decode_small() {
    let red = decode_small(&in_hand(&solid_png(48, RED)))
        .await
        .expect("decoded");
    assert_eq!((red.width, red.height), (32, 32));
    assert!(near(middle(&red), RED), "{:?}", middle(&red));
    let blue = decode_small(&in_blob(&solid_png(48, BLUE)))
        .await
        .expect("decoded");
    assert!(near(middle(&blue), BLUE), "{:?}", middle(&blue));
    without_global("ImageDecoder", async {
        let red = decode_small(&in_hand(&solid_png(8, RED)))
            .await
            .expect("decoded");
        assert!(near(middle(&red), RED), "{:?}", middle(&red));
    })
    .await;
}

/// A download's preview comes from the bytes the download had in hand: with
/// `createImageBitmap` hidden, an engine with `ImageDecoder` still hashes it.
#[wasm_bindgen_test]
async fn a_download_s_preview_decodes_the_downloaded_bytes() {
    if !has_image_decoder() {
        return; // WebKitGTK: previews come from createImageBitmap (the tests above)
    }
    without_global("createImageBitmap", async {
        let ns = namespace();
        let backend = FakeBackend::new();
        backend.set_user("dora", Some("d1"));
        let cache = open(config(&ns, &backend, json!({}))).await;
        assert_eq!(cache.get("dora").await.source, "network");
        let mut placeholder = JsValue::UNDEFINED;
        for _ in 0..100 {
            placeholder = cache.call("placeholder", &["dora".into()]).unwrap();
            if !placeholder.is_undefined() {
                break;
            }
            sleep(10).await;
        }
        let url = placeholder
            .as_string()
            .expect("a preview from the downloaded bytes");
        assert!(url.starts_with(DATA_URL_PREFIX));
        cache.call("close", &[]).unwrap();
    })
    .await;
}

#[wasm_bindgen_test]
async fn an_image_that_does_not_decode_is_no_preview() {
    let mut broken = gradient_png(16, 16);
    let len = broken.len();
    broken[40..len - 20].fill(0x55);
    for bytes in [broken, b"\x89PNG\r\n\x1a\nnot really".to_vec(), vec![]] {
        assert!(decode_small(&in_blob(&bytes)).await.is_none());
        assert!(decode_small(&in_hand(&bytes)).await.is_none());
    }
}

#[wasm_bindgen_test]
async fn the_data_url_shows_in_an_img() {
    let hash = hash_rgba(2, 1, &[255, 0, 0, 255, 0, 0, 255, 255]).unwrap();
    let url = render_data_url(&hash).unwrap();
    let image_class: js_sys::Function = Reflect::get(&js_sys::global(), &"Image".into())
        .unwrap()
        .unchecked_into();
    let img = Reflect::construct(&image_class, &Array::new()).unwrap();
    Reflect::set(&img, &"src".into(), &url.into()).unwrap();
    let decode: js_sys::Function = Reflect::get(&img, &"decode".into())
        .unwrap()
        .unchecked_into();
    let promise: Promise = decode.call0(&img).unwrap().unchecked_into();
    JsFuture::from(promise)
        .await
        .expect("the browser decodes it");
    let size = |name: &str| Reflect::get(&img, &name.into()).unwrap().as_f64().unwrap();
    assert_eq!(size("naturalWidth"), 16.0);
    assert!(
        (4.0..=12.0).contains(&size("naturalHeight")),
        "{}",
        size("naturalHeight")
    );
}

#[wasm_bindgen_test]
async fn after_a_reload_a_user_seen_before_has_a_placeholder_at_once() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.set_user("ann", Some("a1"));
    let first = open(config(&ns, &backend, json!({}))).await;
    assert_eq!(first.get("ann").await.source, "network");
    wait_until("the hash lands", 5_000, || {
        first
            .call("placeholder", &["ann".into()])
            .unwrap()
            .as_string()
            .is_some_and(|u| u.starts_with(DATA_URL_PREFIX))
    })
    .await;
    let picture = first.get("ann").await;
    assert!(string(&picture.js, "placeholder").starts_with(DATA_URL_PREFIX));
    first.call("close", &[]).unwrap();

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    assert!(reloaded.peek("ann").is_undefined());
    let preview = reloaded.call("placeholder", &["ann".into()]).unwrap();
    assert!(preview.as_string().unwrap().starts_with(DATA_URL_PREFIX));
    assert!(reloaded
        .call("placeholder", &["nobody".into()])
        .unwrap()
        .is_undefined());
    reloaded.call("close", &[]).unwrap();
}

#[wasm_bindgen_test]
async fn a_picture_renders_its_placeholder_when_first_read_and_keeps_it() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.set_user("ivy", Some("i1"));
    let first = open(config(&ns, &backend, json!({}))).await;
    first.get("ivy").await;
    wait_until("the hash lands", 5_000, || {
        first
            .call("placeholder", &["ivy".into()])
            .unwrap()
            .is_string()
    })
    .await;
    let expected = first.call("placeholder", &["ivy".into()]).unwrap();
    first.call("close", &[]).unwrap();

    // After a reload, from IndexedDB: nothing rendered yet, and the app sees a plain property.
    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let picture = reloaded.get("ivy").await;
    assert_eq!(picture.source, "indexeddb");
    let keys = js_sys::Object::keys(picture.js.unchecked_ref::<js_sys::Object>());
    assert!(keys.includes(&"placeholder".into(), 0), "enumerable");
    let once = field(&picture.js, "placeholder");
    assert_eq!(once, expected);
    let descriptor = js_sys::Object::get_own_property_descriptor(
        picture.js.unchecked_ref::<js_sys::Object>(),
        &"placeholder".into(),
    );
    assert!(
        field(&descriptor, "get").is_undefined(),
        "kept as a value after the first read"
    );
    assert_eq!(field(&picture.js, "placeholder"), once);
    let json = js_sys::JSON::stringify(&picture.js).unwrap();
    assert!(String::from(json).contains("\"placeholder\":\"data:image/png;base64,"));
    // The app may replace it, as with any plain object.
    js_sys::Reflect::set(&picture.js, &"placeholder".into(), &"mine".into()).unwrap();
    assert_eq!(string(&picture.js, "placeholder"), "mine");
    // Also before it was ever read: the value written is kept, nothing is rendered for it.
    let again = reloaded.get("ivy").await;
    assert!(js_sys::Reflect::set(&again.js, &"placeholder".into(), &"early".into()).unwrap());
    assert_eq!(string(&again.js, "placeholder"), "early");
    let keys = js_sys::Object::keys(again.js.unchecked_ref::<js_sys::Object>());
    assert!(keys.includes(&"placeholder".into(), 0), "still enumerable");
    reloaded.call("close", &[]).unwrap();
}

#[wasm_bindgen_test]
async fn a_computed_preview_is_an_event_and_a_performance_entry() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.set_user("eva", Some("e1"));
    let config = config(&ns, &backend, json!({}));
    let events = record_events(&config);
    let cache = open(config).await;
    let performance = web_sys::window().unwrap().performance().unwrap();
    let entries_before = performance
        .get_entries_by_name_with_entry_type("avatar-cache preview", "measure")
        .length();
    assert_eq!(cache.get("eva").await.source, "network");
    let preview_of = |event: &JsValue| {
        Reflect::get(event, &"type".into())
            .unwrap()
            .as_string()
            .as_deref()
            == Some("preview")
    };
    wait_until("the preview event", 5_000, || {
        events.borrow().iter().any(preview_of)
    })
    .await;
    let event = events
        .borrow()
        .iter()
        .find(|e| preview_of(e))
        .unwrap()
        .clone();
    assert_eq!(string(&event, "userId"), "eva");
    assert_eq!(string(&event, "imageId"), "e1");
    let ms = Reflect::get(&event, &"ms".into())
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((0.0..5_000.0).contains(&ms), "{ms}");
    assert!(cache
        .call("placeholder", &["eva".into()])
        .unwrap()
        .as_string()
        .is_some_and(|u| u.starts_with(DATA_URL_PREFIX)));
    // Written in the task after the preview, with its times.
    sleep(5).await;
    assert_eq!(
        performance
            .get_entries_by_name_with_entry_type("avatar-cache preview", "measure")
            .length(),
        entries_before + 1
    );
    // A picture answered from memory computes nothing more.
    cache.get("eva").await;
    sleep(30).await;
    assert_eq!(events.borrow().iter().filter(|e| preview_of(e)).count(), 1);
    cache.call("close", &[]).unwrap();
}

#[wasm_bindgen_test]
async fn without_offscreen_canvas_there_is_no_preview_and_nothing_else_changes() {
    without_global("OffscreenCanvas", async {
        assert!(decode_small(&in_blob(&gradient_png(8, 8))).await.is_none());
        assert!(decode_small(&in_hand(&gradient_png(8, 8))).await.is_none());
        let ns = namespace();
        let backend = FakeBackend::new();
        backend.set_user("bob", Some("b1"));
        let cache = open(config(&ns, &backend, json!({}))).await;
        assert_eq!(cache.get("bob").await.source, "network");
        sleep(50).await;
        assert!(cache
            .call("placeholder", &["bob".into()])
            .unwrap()
            .is_undefined());
        let again = cache.get("bob").await;
        assert_eq!(again.source, "memory");
        assert!(field(&again.js, "placeholder").is_undefined());
        assert_eq!(
            field(&cache.call("stats", &[]).unwrap(), "recentErrors")
                .unchecked_into::<Array>()
                .length(),
            0
        );
        cache.call("close", &[]).unwrap();
    })
    .await;
    without_global("createImageBitmap", async {
        assert!(decode_small(&in_blob(&gradient_png(8, 8))).await.is_none());
    })
    .await;
}

/// A `fetch` whose user answers carry `thumbhash` and whose images are a real 64×64 PNG.
fn fetch_with_thumbhash(thumbhash: &'static str) -> JsValue {
    let png = gradient_png(64, 64);
    Closure::<dyn FnMut(JsValue, JsValue) -> Promise>::new(move |input: JsValue, _init: JsValue| {
        let url = input.as_string().unwrap_or_default();
        let init = ResponseInit::new();
        let headers = Headers::new().unwrap();
        let response = if url.contains("/user/") {
            headers.set("content-type", "application/json").unwrap();
            init.set_headers(&headers);
            let body = json!({
                "success": true, "image_id": "img-t", "user_id": "tess",
                "url": format!("{BUCKET}/img-t?X-Amz-Signature=1"), "thumbhash": thumbhash,
            });
            Response::new_with_opt_str_and_init(Some(&body.to_string()), &init)
        } else {
            headers.set("content-type", "image/png").unwrap();
            init.set_headers(&headers);
            // A copy the engine owns: a view of wasm memory may be read after it changed.
            let bytes = js_sys::Uint8Array::from(&png[..]);
            Response::new_with_opt_buffer_source_and_init(Some(&bytes), &init)
        };
        Promise::resolve(&JsValue::from(response.unwrap()))
    })
    .into_js_value()
}

#[wasm_bindgen_test]
async fn a_thumbhash_in_the_answer_is_used_and_a_malformed_one_ignored() {
    let given = hash_rgba(4, 4, &[10, 200, 30, 255].repeat(16)).unwrap();
    let given: &'static str = Box::leak(given.into_boxed_str());
    for (hash, expect_given) in [(given, true), ("garbage!", false), ("AAAAAAAA", false)] {
        let ns = namespace();
        let config =
            js_sys::JSON::parse(&json!({ "apiBase": API_BASE, "namespace": ns }).to_string())
                .unwrap();
        Reflect::set(&config, &"fetch".into(), &fetch_with_thumbhash(hash)).unwrap();
        let cache = open(config).await;
        let picture = cache.get("tess").await;
        assert_eq!(picture.source, "network");
        assert!(picture.url.starts_with("data:image/png;base64,"));
        if expect_given {
            assert_eq!(
                field(&picture.js, "placeholder").as_string(),
                render_data_url(given)
            );
        } else {
            // Ignored, then computed from the bytes.
            wait_until("the computed hash", 5_000, || {
                cache
                    .call("placeholder", &["tess".into()])
                    .unwrap()
                    .is_string()
            })
            .await;
            assert_ne!(
                cache
                    .call("placeholder", &["tess".into()])
                    .unwrap()
                    .as_string(),
                render_data_url(given)
            );
        }
        cache.call("close", &[]).unwrap();
    }
}

#[wasm_bindgen_test]
async fn figures_hashing_a_download_and_rendering_a_preview() {
    let performance = web_sys::window().unwrap().performance().unwrap();
    let png = in_blob(&gradient_png(128, 128));
    // Warm up, then time decode-at-small-size + hash of a 128×128 image stored as a Blob.
    decode_small(&png).await.unwrap();
    let runs = 40;
    let mut times = Vec::new();
    let mut hash = String::new();
    for _ in 0..runs {
        let start = performance.now();
        let small = decode_small(&png).await.unwrap();
        hash = hash_rgba(small.width, small.height, &small.rgba).unwrap();
        times.push(performance.now() - start);
    }
    times.sort_by(f64::total_cmp);
    // The same for a download, whose bytes are in hand (the usual case).
    let bytes = in_hand(&gradient_png(128, 128));
    let mut offered = Vec::new();
    for _ in 0..runs {
        let start = performance.now();
        let small = decode_small(&bytes).await.unwrap();
        hash_rgba(small.width, small.height, &small.rgba).unwrap();
        offered.push(performance.now() - start);
    }
    offered.sort_by(f64::total_cmp);
    let hash_only = {
        let small = decode_small(&png).await.unwrap();
        let start = performance.now();
        for _ in 0..200 {
            hash_rgba(small.width, small.height, &small.rgba).unwrap();
        }
        (performance.now() - start) / 200.0
    };
    let renders = 2_000;
    let start = performance.now();
    let mut len = 0;
    for _ in 0..renders {
        len = render_data_url(&hash).unwrap().len();
    }
    let render_us = (performance.now() - start) * 1000.0 / renders as f64;
    let ua = web_sys::window().unwrap().navigator().user_agent().unwrap();
    log(format!(
        "FIGURES {ua}: hash per 128x128 download p50 {:.2} ms p95 {:.2} ms from its offered bytes, {:.2} / {:.2} ms from the Blob (of which hash_rgba {:.3} ms); render placeholder from stored hash {render_us:.1} us; data URL {len} chars; hash {} chars",
        offered[runs / 2],
        offered[runs * 95 / 100],
        times[runs / 2],
        times[runs * 95 / 100],
        hash_only,
        hash.len(),
    ));
    let _ = Uint8Array::new_with_length(0);
}

/// The `meta` row IndexedDB keeps for `image` in namespace `ns` (`undefined` when absent), read
/// through a connection of the test's own; with `drop_hash`, the row is rewritten without its
/// `thumbhash`, and the `images` row without its copy of the metadata, as code from before
/// previews wrote them.
async fn meta_row(ns: &str, image: &str, drop_hash: bool) -> JsValue {
    let read = js_sys::Function::new_with_args(
        "db, key, drop",
        "return new Promise((resolve, reject) => {
            const open = indexedDB.open(db);
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
                const d = open.result;
                const tx = d.transaction(['meta', 'images'], 'readwrite');
                const store = tx.objectStore('meta');
                const get = store.get(key);
                let row;
                get.onsuccess = () => {
                    row = get.result;
                    if (drop && row) { delete row.thumbhash; store.put(row, key); }
                };
                if (drop) {
                    const images = tx.objectStore('images');
                    const body = images.get(key);
                    body.onsuccess = () => {
                        if (body.result) { delete body.result.meta; images.put(body.result, key); }
                    };
                }
                tx.oncomplete = () => { d.close(); resolve(row); };
                tx.onerror = () => { d.close(); reject(tx.error); };
            };
        })",
    );
    let key = avatar_cache::key::Keys::new(ns, 1).image_key(image);
    let promise = read
        .call3(
            &JsValue::NULL,
            &format!("{ns}:avatar-cache").into(),
            &key.into(),
            &drop_hash.into(),
        )
        .unwrap();
    JsFuture::from(promise.unchecked_into::<Promise>())
        .await
        .unwrap()
}

/// The hash in the localStorage record of `user` (namespace `ns`), if any; with `drop_hash`, the
/// record is rewritten without it.
fn record_hash(ns: &str, user: &str, drop_hash: bool) -> Option<String> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let key = format!("{ns}:local:{user}:v1");
    let record = js_sys::JSON::parse(&storage.get_item(&key).unwrap()?).unwrap();
    let hash = field(&record, "thumbhash").as_string();
    if drop_hash {
        Reflect::delete_property(
            record.unchecked_ref::<js_sys::Object>(),
            &"thumbhash".into(),
        )
        .unwrap();
        let text = js_sys::JSON::stringify(&record).unwrap();
        storage.set_item(&key, &String::from(text)).unwrap();
    }
    hash
}

/// Waits until the `meta` row of `image` has a hash, and returns it.
async fn row_hash(ns: &str, image: &str) -> String {
    for _ in 0..100 {
        let row = meta_row(ns, image, false).await;
        if let Some(hash) = (!row.is_undefined())
            .then(|| field(&row, "thumbhash").as_string())
            .flatten()
        {
            return hash;
        }
        sleep(50).await;
    }
    panic!("the row of {image} never got its hash");
}

/// A first visit: `user`'s picture (image `image`) downloaded by a get, and its preview hash
/// landed in the image's row. Returns the cache, still open, and that hash.
async fn first_visit(ns: &str, backend: &FakeBackend, user: &str, image: &str) -> (Cache, String) {
    backend.set_user(user, Some(image));
    let first = open(config(ns, backend, json!({}))).await;
    assert_eq!(first.get(user).await.source, "network");
    let hash = row_hash(ns, image).await;
    (first, hash)
}

#[wasm_bindgen_test]
async fn the_hash_is_kept_in_the_image_row_so_a_record_lost_from_local_storage_has_a_preview() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let (first, hash) = first_visit(&ns, &backend, "ann", "a1").await;
    assert_eq!(record_hash(&ns, "ann", false), Some(hash));
    let preview = first.call("placeholder", &["ann".into()]).unwrap();
    first.call("close", &[]).unwrap();

    // The record is gone (evicted, cleared by another script): only the image's row is left.
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .remove_item(&format!("{ns}:local:ann:v1"))
        .unwrap();
    let downloads = backend.calls(Endpoint::Download);
    let reloaded = open(config(&ns, &backend, json!({}))).await;
    assert!(reloaded
        .call("placeholder", &["ann".into()])
        .unwrap()
        .is_undefined());
    let picture = reloaded.get("ann").await;
    assert_eq!(
        backend.calls(Endpoint::Download),
        downloads,
        "bytes from IndexedDB"
    );
    assert_eq!(
        field(&picture.js, "placeholder"),
        preview,
        "on the first answer"
    );
    assert_eq!(
        reloaded.call("placeholder", &["ann".into()]).unwrap(),
        preview
    );
    reloaded.call("close", &[]).unwrap();
}

#[wasm_bindgen_test]
async fn a_record_without_a_hash_takes_the_row_s_once_the_store_has_loaded() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let (first, _) = first_visit(&ns, &backend, "bea", "b1").await;
    let preview = first.call("placeholder", &["bea".into()]).unwrap();
    first.call("close", &[]).unwrap();
    assert!(record_hash(&ns, "bea", true).is_some());
    assert!(record_hash(&ns, "bea", false).is_none());

    // `open` does not read the image rows; the store's index of them (with their hashes) loads
    // shortly after (FIRST_USAGE_AFTER_MS), before any get.
    let reloaded = open(config(&ns, &backend, json!({}))).await;
    wait_until("the row's hash", 3_000, || {
        reloaded.call("placeholder", &["bea".into()]).unwrap() == preview
    })
    .await;
    reloaded.get("bea").await;
    assert!(
        record_hash(&ns, "bea", false).is_some(),
        "written back into the record"
    );
    reloaded.call("close", &[]).unwrap();
}

#[wasm_bindgen_test]
async fn a_row_written_before_previews_reads_as_before_and_gets_a_hash() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let (first, hash) = first_visit(&ns, &backend, "cal", "c1").await;
    first.call("close", &[]).unwrap();
    // As code from before previews left them: neither the record nor the row has a hash.
    record_hash(&ns, "cal", true);
    meta_row(&ns, "c1", true).await;

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    assert!(reloaded
        .call("placeholder", &["cal".into()])
        .unwrap()
        .is_undefined());
    let calls = backend.total_calls();
    assert_eq!(reloaded.get("cal").await.source, "indexeddb");
    assert_eq!(
        backend.total_calls(),
        calls,
        "the old row answers as before"
    );
    // The image, now in memory, is hashed again; row and record get the hash back.
    assert_eq!(row_hash(&ns, "c1").await, hash);
    wait_until("the record gets its hash back", 5_000, || {
        record_hash(&ns, "cal", false).as_deref() == Some(hash.as_str())
    })
    .await;
    assert_eq!(
        field(&reloaded.call("stats", &[]).unwrap(), "recentErrors")
            .unchecked_into::<Array>()
            .length(),
        0
    );
    reloaded.call("close", &[]).unwrap();
}

#![cfg(target_arch = "wasm32")]
//! Hostile answers and hostile storage, through the public `AvatarCache` class: URLs of other
//! schemes than http(s) in API answers or stored records never reach the app, are not retried
//! and open no breaker. Every test uses its own namespace.

mod common;

use common::*;
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_batch_naming_javascript_urls_is_a_bad_answer_not_an_outage() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let users: Vec<String> = (0..5).map(|i| format!("js{i}")).collect();
    let answer: serde_json::Map<String, serde_json::Value> = users
        .iter()
        .map(|u| {
            (
                u.clone(),
                json!({ "image_id": format!("img-{u}"), "url": "javascript:alert(document.domain)" }),
            )
        })
        .collect();
    backend.fault(Endpoint::Batch, Fault::Json(json!({ "users": answer })));
    // A single user goes to the user endpoint, which says the same.
    backend.fault(
        Endpoint::User,
        Fault::Json(json!({ "success": true, "image_id": "img-x", "url": "javascript:alert(1)" })),
    );
    let cache = open(config(&ns, &backend, json!({ "batchEndpoint": BATCH_URL }))).await;
    let report = cache.prefetch(&users).await;
    assert_eq!(number(&report, "defaulted"), 5.0);
    for user in &users {
        let picture = cache.get(user).await;
        assert_eq!(picture.url, DEFAULT_URL, "never the javascript: URL");
        assert!(storage()
            .get_item(&local_key(&ns, user, 1))
            .unwrap()
            .is_none());
    }
    assert_eq!(backend.calls(Endpoint::Download), 0, "nothing fetched");
    assert_eq!(string(&cache.stats(), "breaker"), "closed");
    // Everyone else still gets their picture.
    backend.heal(Endpoint::Batch);
    backend.heal(Endpoint::User);
    assert_eq!(cache.get("someone-else").await.source, "network");
}

#[wasm_bindgen_test]
async fn a_stored_record_with_a_javascript_url_is_a_corrupt_entry() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let key = local_key(&ns, "u1", 1);
    let now = now_ms();
    let record = json!({
        "userId": "u1", "imageId": "img-u1", "remoteUrl": "javascript:alert(1)",
        "urlExpiresAt": now + 3_600_000.0, "fetchedAt": now, "version": 1, "opaque": true,
    });
    storage().set_item(&key, &record.to_string()).unwrap();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let picture = cache.get("u1").await;
    assert!(!picture.url.starts_with("javascript:"), "{}", picture.url);
    assert_eq!(picture.source, "network");
    let stored = storage().get_item(&key).unwrap().unwrap_or_default();
    assert!(
        !stored.contains("javascript:"),
        "the corrupt entry was replaced: {stored}"
    );
}

/// A PNG whose header declares `width` × `height` (the rest is junk: never decoded).
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend(b"\x00\x00\x00\x00IEND\xaeB`\x82");
    bytes
}

#[wasm_bindgen_test]
async fn a_pixel_bomb_is_refused_and_not_stored() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(
        Endpoint::Download,
        Fault::Body {
            content_type: Some("image/png"),
            body: png_declaring(100_000, 100_000),
        },
    );
    let cache = open(config(&ns, &backend, json!({}))).await;
    let picture = cache.get("u1").await;
    assert_eq!(picture.source, "default");
    assert_eq!(backend.calls(Endpoint::Download), 1, "refused, not retried");
    assert_eq!(string(&cache.stats(), "breaker"), "closed");
    assert!(cache.has_error("network", "TOO_MANY_PIXELS"));
    assert!(storage()
        .get_item(&local_key(&ns, "u1", 1))
        .unwrap()
        .is_none());
    let upload = blob(&png_declaring(20_000, 20_000), "image/png");
    let refused = cache
        .set_picture("u1", Some("img-bomb"), Some(&upload))
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("INVALID_ARGUMENT"));
    let small = cache
        .set_picture(
            "u1",
            Some("img-u1"),
            Some(&blob(&png("img-u1"), "image/png")),
        )
        .await;
    assert!(small.is_ok(), "a 1 x 1 picture is fine");
}

#[wasm_bindgen_test]
async fn an_svg_that_can_run_script_is_refused_even_when_svg_is_allowed() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(
        Endpoint::Download,
        Fault::Body {
            content_type: Some("image/svg+xml"),
            body: br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>"#
                .to_vec(),
        },
    );
    let allowed = json!({ "allowedTypes": ["image/png", "image/svg+xml"] });
    let cache = open(config(&ns, &backend, allowed)).await;
    let picture = cache.get("u1").await;
    assert_eq!(picture.source, "default");
    assert!(cache.has_error("network", "NOT_AN_IMAGE"));
    backend.fault(
        Endpoint::Download,
        Fault::Body {
            content_type: Some("image/svg+xml"),
            body: br##"<svg xmlns="http://www.w3.org/2000/svg"><circle r="4" fill="#0a0"/></svg>"##
                .to_vec(),
        },
    );
    assert_eq!(
        cache.get("u2").await.source,
        "network",
        "an inert SVG is kept"
    );
}

#[wasm_bindgen_test]
async fn presigned_urls_can_be_kept_out_of_local_storage() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(
        &ns,
        &backend,
        json!({ "local": { "storeUrls": false } }),
    ))
    .await;
    assert_eq!(cache.get("u1").await.source, "network");
    let stored = storage()
        .get_item(&local_key(&ns, "u1", 1))
        .unwrap()
        .expect("the record is kept");
    assert!(!stored.contains("X-Amz"), "no signature at rest: {stored}");
    let reloaded = open(config(
        &ns,
        &backend,
        json!({ "local": { "storeUrls": false } }),
    ))
    .await;
    let calls = backend.total_calls();
    assert_eq!(reloaded.get("u1").await.source, "indexeddb");
    assert_eq!(backend.total_calls(), calls, "no request after the reload");
}

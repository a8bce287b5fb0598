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

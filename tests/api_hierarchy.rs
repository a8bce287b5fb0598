#![cfg(target_arch = "wasm32")]
//! The cache hierarchy through the public `AvatarCache` class, against real localStorage and
//! IndexedDB and a fake backend behind an injected `fetch`: where each answer comes from, how
//! many requests it cost, and what every layer holds afterwards. Every test uses its own
//! namespace (hence its own keys and database).

mod common;

use common::*;
use futures::future::join_all;
use js_sys::{Object, Promise};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Waits until the cache reports `n` images in IndexedDB (its writes run in the background).
async fn wait_for_idb_entries(cache: &Cache, n: f64) {
    wait_until(&format!("{n} IndexedDB entries"), 3_000, || {
        cache.idb_entries() == Some(n)
    })
    .await;
}

#[wasm_bindgen_test]
async fn images_over_the_data_url_limit_are_object_urls_owned_by_the_cache() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let size = png("img-u1").len() as u64;
    let cache = open(config(
        &ns,
        &backend,
        json!({ "dataUrlMaxBytes": size - 1 }),
    ))
    .await;
    let first = cache.get("u1").await;
    assert!(first.url.starts_with("blob:"), "{}", first.url);
    assert_eq!(fetch_bytes(&first.url).await.unwrap(), png("img-u1"));
    // After a reload, read back from IndexedDB: the same.
    wait_for_idb_entries(&cache, 1.0).await;
    cache.close();
    let reloaded = open(config(
        &ns,
        &backend,
        json!({ "dataUrlMaxBytes": size - 1 }),
    ))
    .await;
    let again = reloaded.get("u1").await;
    assert_eq!(again.source, "indexeddb");
    assert!(again.url.starts_with("blob:"), "{}", again.url);
    assert_eq!(fetch_bytes(&again.url).await.unwrap(), png("img-u1"));
    // With the limit at the image's size, a data: URL of the same bytes.
    reloaded.close();
    let inline = open(config(&ns, &backend, json!({ "dataUrlMaxBytes": size }))).await;
    let inlined = inline.get("u1").await;
    assert!(
        inlined.url.starts_with("data:image/png;base64,"),
        "{}",
        inlined.url
    );
    assert_eq!(fetch_bytes(&inlined.url).await.unwrap(), png("img-u1"));
    assert_eq!(backend.calls(Endpoint::Download), 1);
}

#[wasm_bindgen_test]
async fn first_get_comes_from_the_network_then_from_memory_without_requests() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;

    let first = cache.get("u1").await;
    assert_eq!(first.source, "network");
    assert_eq!(first.user_id, "u1");
    assert_eq!(first.image_id.as_deref(), Some("img-u1"));
    assert!(!first.stale);
    assert!(
        first.url.starts_with("data:image/png;base64,"),
        "a small image is a data: URL: {}",
        first.url
    );
    assert_eq!(fetch_bytes(&first.url).await.unwrap(), png("img-u1"));
    assert_eq!(backend.calls(Endpoint::User), 1);
    assert_eq!(backend.calls(Endpoint::Download), 1);

    let second = cache.get("u1").await;
    assert_eq!(second.source, "memory");
    assert_eq!(second.url, first.url);
    assert!(!second.stale);
    assert_eq!(backend.total_calls(), 2, "no request for the second get");
}

#[wasm_bindgen_test]
async fn a_reopened_cache_answers_from_indexeddb_without_requests() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let first = open(config(&ns, &backend, json!({}))).await;
    let before = first.get("u1").await;
    wait_for_idb_entries(&first, 1.0).await;
    first.close();
    let requests = backend.total_calls();

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let after = reloaded.get("u1").await;
    assert_eq!(after.source, "indexeddb");
    assert_eq!(after.image_id.as_deref(), Some("img-u1"));
    assert!(!after.stale);
    assert_eq!(
        after.url, before.url,
        "the same bytes, the same data: URL (an object URL of the closed instance is revoked)"
    );
    assert_eq!(fetch_bytes(&after.url).await.unwrap(), png("img-u1"));
    assert_eq!(
        backend.total_calls(),
        requests,
        "no request after the reload"
    );
}

#[wasm_bindgen_test]
async fn peek_is_synchronous_memory_only_and_stable_for_an_unchanged_picture() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    assert!(cache.peek("u1").is_undefined(), "nothing in memory yet");

    let got = cache.get("u1").await;
    let peeked = cache.peek("u1");
    assert!(!peeked.is_instance_of::<Promise>(), "peek is synchronous");
    let picture = Pic::from_js(peeked.clone());
    assert_eq!(picture.url, got.url);
    assert_eq!(picture.source, "memory");
    assert!(
        Object::is(&peeked, &cache.peek("u1")),
        "the same object while the picture is unchanged"
    );

    cache
        .set_picture(
            "u1",
            Some("img-new"),
            Some(&blob(&png("img-new"), "image/png")),
        )
        .await
        .unwrap();
    let changed = cache.peek("u1");
    assert!(
        !Object::is(&peeked, &changed),
        "a new object once it changed"
    );
    assert_eq!(Pic::from_js(changed).image_id.as_deref(), Some("img-new"));
    wait_for_idb_entries(&cache, 2.0).await;
    cache.close();

    // Storage holds the picture, but peek never reads storage.
    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let requests = backend.total_calls();
    assert!(reloaded.peek("u1").is_undefined());
    assert_eq!(backend.total_calls(), requests);
    reloaded.get("u1").await;
    assert!(!reloaded.peek("u1").is_undefined());
}

#[wasm_bindgen_test]
async fn fifty_concurrent_gets_share_one_api_call_and_one_download() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.delay(Endpoint::User, 30);
    let cache = open(config(&ns, &backend, json!({}))).await;

    let gets: Vec<_> = (0..50).map(|_| cache.get_promise("u1")).collect();
    let pictures: Vec<Pic> = join_all(gets)
        .await
        .into_iter()
        .map(|r| Pic::from_js(r.expect("get never rejects")))
        .collect();

    assert_eq!(backend.calls(Endpoint::User), 1);
    assert_eq!(backend.calls(Endpoint::Download), 1);
    assert!(pictures.iter().all(|p| p.url == pictures[0].url));
    assert!(pictures
        .iter()
        .all(|p| p.image_id.as_deref() == Some("img-u1")));
}

#[wasm_bindgen_test]
async fn users_sharing_an_image_asked_for_at_once_get_one_download_and_a_url_that_loads() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.delay(Endpoint::Download, 30);
    let team: Vec<String> = (0..6).map(|i| format!("t{i}")).collect();
    for user in &team {
        backend.set_user(user, Some("img-team"));
    }
    let cache = open(config(&ns, &backend, json!({}))).await;
    let gets: Vec<_> = team.iter().map(|user| cache.get_promise(user)).collect();
    let pictures: Vec<Pic> = join_all(gets)
        .await
        .into_iter()
        .map(|r| Pic::from_js(r.expect("get never rejects")))
        .collect();
    assert_eq!(
        backend.calls(Endpoint::Download),
        1,
        "one image, one download"
    );
    for picture in &pictures {
        assert_eq!(picture.source, "network");
        assert_eq!(picture.url, pictures[0].url, "one image, one URL");
    }
    // The URL every user was handed still loads (none was revoked by a second copy).
    assert_eq!(
        fetch_bytes(&pictures[5].url).await.unwrap(),
        png("img-team")
    );
}

#[wasm_bindgen_test]
async fn a_reloaded_prefetch_of_a_hundred_users_reads_them_all_from_indexeddb_without_requests() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let users: Vec<String> = (0..100).map(|i| format!("f{i}")).collect();
    let settings = json!({ "batchEndpoint": BATCH_URL });
    let cache = open(config(&ns, &backend, settings.clone())).await;

    let report = cache.prefetch(&users).await;
    assert_eq!(number(&report, "requested"), 100.0);
    assert_eq!(number(&report, "network"), 100.0);
    assert_eq!(number(&report, "defaulted"), 0.0);
    assert_eq!(number(&report, "downloads"), 100.0);
    assert_eq!(backend.calls(Endpoint::Download), 100);
    let peeked = Pic::from_js(cache.peek("f42"));
    assert_eq!(peeked.image_id.as_deref(), Some("img-f42"));
    wait_for_idb_entries(&cache, 100.0).await;
    cache.close();

    let requests = backend.total_calls();
    let reloaded = open(config(&ns, &backend, settings)).await;
    let report = reloaded.prefetch(&users).await;
    assert_eq!(number(&report, "requested"), 100.0);
    assert_eq!(number(&report, "indexeddb"), 100.0);
    assert_eq!(number(&report, "network"), 0.0);
    assert_eq!(number(&report, "apiCalls"), 0.0);
    assert_eq!(number(&report, "downloads"), 0.0);
    assert_eq!(
        backend.total_calls(),
        requests,
        "no request after the reload"
    );
    let picture = reloaded.get("f7").await;
    assert_eq!(fetch_bytes(&picture.url).await.unwrap(), png("img-f7"));
}

#[wasm_bindgen_test]
async fn an_image_held_in_memory_is_not_downloaded_again_after_invalidate() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;

    cache.invalidate("u1").await;
    let again = cache.get("u1").await;
    assert_eq!(again.image_id.as_deref(), Some("img-u1"));
    assert_eq!(backend.calls(Endpoint::User), 2, "the record was forgotten");
    assert_eq!(backend.calls(Endpoint::Download), 1, "the bytes were not");
    assert_eq!(fetch_bytes(&again.url).await.unwrap(), png("img-u1"));
}

#[wasm_bindgen_test]
async fn an_image_stored_in_indexeddb_is_not_downloaded_again_after_invalidate() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let first = open(config(&ns, &backend, json!({}))).await;
    first.get("u1").await;
    wait_for_idb_entries(&first, 1.0).await;
    first.invalidate("u1").await;
    first.close();

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let again = reloaded.get("u1").await;
    assert_eq!(again.image_id.as_deref(), Some("img-u1"));
    assert!(again.url.starts_with("data:image/png;base64,"));
    assert_eq!(backend.calls(Endpoint::User), 2);
    assert_eq!(backend.calls(Endpoint::Download), 1);
    assert_eq!(fetch_bytes(&again.url).await.unwrap(), png("img-u1"));
}

#[wasm_bindgen_test]
async fn a_stale_picture_is_answered_at_once_and_subscribers_hear_the_revalidated_change() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let short = json!({ "memory": { "ttlMs": 50 }, "local": { "ttlMs": 50 } });
    let cache = open(config(&ns, &backend, short)).await;
    let heard = cache.subscribe();
    let old = cache.get("u1").await;

    backend.set_user("u1", Some("img-u1-v2"));
    backend.delay(Endpoint::User, 300);
    sleep(100).await;
    let started = now_ms();
    let stale = cache.get("u1").await;
    let waited = now_ms() - started;
    assert!(stale.stale, "past its TTL: {stale:?}");
    assert_eq!(stale.url, old.url);
    assert_eq!(stale.image_id.as_deref(), Some("img-u1"));
    assert!(
        waited < 250.0,
        "answered without waiting for the backend ({waited} ms)"
    );

    wait_until("the subscriber to hear u1", 3_000, || heard.heard("u1")).await;
    let fresh = cache.get("u1").await;
    assert_eq!(fresh.image_id.as_deref(), Some("img-u1-v2"));
    assert_ne!(fresh.url, old.url);
    assert_eq!(fetch_bytes(&fresh.url).await.unwrap(), png("img-u1-v2"));
    assert_eq!(backend.calls(Endpoint::Download), 2);
}

#[wasm_bindgen_test]
async fn stale_image_bytes_are_revalidated_with_their_etag_and_not_downloaded_again() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let short =
        json!({ "memory": { "ttlMs": 50 }, "local": { "ttlMs": 50 }, "idb": { "ttlMs": 50 } });
    let cache = open(config(&ns, &backend, short)).await;
    let first = cache.get("u1").await;
    let served = backend.bytes_served();

    sleep(100).await;
    let stale = cache.get("u1").await;
    assert!(stale.stale);
    assert_eq!(stale.url, first.url);
    wait_until("the conditional download", 3_000, || {
        backend.calls(Endpoint::Download) == 2
    })
    .await;
    let conditional = backend
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Download)
        .nth(1)
        .unwrap();
    assert_eq!(
        conditional.if_none_match.as_deref(),
        Some("\"etag-img-u1\"")
    );
    assert_eq!(backend.bytes_served(), served, "304: no bytes sent again");
    sleep(20).await;
    let after = cache.get("u1").await;
    assert_eq!(after.image_id.as_deref(), Some("img-u1"));
    assert_eq!(fetch_bytes(&after.url).await.unwrap(), png("img-u1"));
}

#[wasm_bindgen_test]
async fn a_version_bump_hides_every_older_entry() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let v1 = open(config(&ns, &backend, json!({ "version": 1 }))).await;
    v1.get("u1").await;
    wait_for_idb_entries(&v1, 1.0).await;
    v1.close();
    assert_eq!(
        keys_with_prefix(&format!("{ns}:")),
        vec![local_key(&ns, "u1", 1)]
    );

    let v2 = open(config(&ns, &backend, json!({ "version": 2 }))).await;
    let picture = v2.get("u1").await;
    assert_eq!(picture.source, "network");
    assert_eq!(backend.calls(Endpoint::User), 2);
    assert_eq!(backend.calls(Endpoint::Download), 2);
    assert_eq!(
        keys_with_prefix(&format!("{ns}:")),
        vec![local_key(&ns, "u1", 2)],
        "the version-1 key is gone"
    );
    wait_for_idb_entries(&v2, 1.0).await;
}

#[wasm_bindgen_test]
async fn an_image_without_cors_is_kept_as_a_record_and_its_remote_url_handed_out() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::Download, Fault::NoCors);
    let cache = open(config(&ns, &backend, json!({}))).await;

    let picture = cache.get("u1").await;
    assert_eq!(picture.source, "network");
    assert_eq!(picture.image_id.as_deref(), Some("img-u1"));
    assert!(
        picture.url.starts_with(&format!("{BUCKET}/img-u1.png?")),
        "the presigned URL: {}",
        picture.url
    );
    let modes: Vec<Option<String>> = backend
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Download)
        .map(|r| r.mode)
        .collect();
    assert_eq!(
        modes,
        vec![Some("cors".to_string()), Some("no-cors".to_string())]
    );
    assert_eq!(backend.bytes_served(), 0);

    let again = cache.get("u1").await;
    assert_eq!(again.source, "memory");
    assert_eq!(again.url, picture.url);
    cache.close();
    let requests = backend.total_calls();

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let stored = reloaded.get("u1").await;
    assert_eq!(
        stored.url, picture.url,
        "the record alone answers after a reload"
    );
    assert_eq!(stored.source, "local");
    assert_eq!(backend.total_calls(), requests);
    wait_for_idb_entries(&reloaded, 0.0).await; // no bytes were stored
}

#[wasm_bindgen_test]
async fn set_picture_updates_every_layer_and_tells_subscribers_and_other_instances() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let other_tab = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    other_tab.get("u1").await;
    let here = cache.subscribe();
    let there = other_tab.subscribe();
    let downloads = backend.calls(Endpoint::Download);

    backend.set_user("u1", Some("img-upload"));
    let uploaded = png("img-upload");
    cache
        .set_picture(
            "u1",
            Some("img-upload"),
            Some(&blob(&uploaded, "image/png")),
        )
        .await
        .expect("setPicture resolves");
    assert!(here.heard("u1"), "subscribers are told before it resolves");
    let now = cache.get("u1").await;
    assert_eq!(now.source, "memory");
    assert_eq!(now.image_id.as_deref(), Some("img-upload"));
    assert_eq!(fetch_bytes(&now.url).await.unwrap(), uploaded);

    wait_until("the other instance to hear u1", 3_000, || there.heard("u1")).await;
    let seen_there = other_tab.get("u1").await;
    assert_eq!(seen_there.image_id.as_deref(), Some("img-upload"));
    assert_eq!(fetch_bytes(&seen_there.url).await.unwrap(), uploaded);

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let from_storage = reloaded.get("u1").await;
    assert_eq!(from_storage.source, "indexeddb");
    assert_eq!(from_storage.image_id.as_deref(), Some("img-upload"));
    assert_eq!(fetch_bytes(&from_storage.url).await.unwrap(), uploaded);
    assert_eq!(
        backend.calls(Endpoint::Download),
        downloads,
        "nobody downloads what was just uploaded"
    );
}

#[wasm_bindgen_test]
async fn set_picture_without_an_image_shows_the_default_picture() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    let heard = cache.subscribe();

    cache.set_picture("u1", None, None).await.unwrap();
    assert!(heard.heard("u1"));
    let picture = cache.get("u1").await;
    assert_eq!(picture.image_id, None);
    assert_eq!(picture.url, DEFAULT_URL);
}

#[wasm_bindgen_test]
async fn set_picture_with_the_image_id_left_out_is_refused_and_keeps_the_picture() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let before = cache.get("u1").await;
    assert!(before.image_id.is_some());

    // `setPicture(id)`, or an upload answer's misspelt field: `undefined` is not "no picture".
    for left_out in [vec!["u1".into()], vec!["u1".into(), JsValue::UNDEFINED]] {
        let refused = cache.call_async("setPicture", &left_out).await.unwrap_err();
        assert_eq!(error_code(&refused).as_deref(), Some("INVALID_ARGUMENT"));
    }
    let refused = cache
        .call_async("setPicture", &["u1".into(), JsValue::from_f64(7.0)])
        .await
        .unwrap_err();
    assert_eq!(error_code(&refused).as_deref(), Some("INVALID_ARGUMENT"));
    let after = cache.get("u1").await;
    assert_eq!(after.image_id, before.image_id);
    assert_ne!(after.url, DEFAULT_URL);
}

#[wasm_bindgen_test]
async fn invalidate_forgets_the_record_everywhere_and_notifies() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    cache.get("u2").await;
    let heard = cache.subscribe();
    assert!(storage()
        .get_item(&local_key(&ns, "u1", 1))
        .unwrap()
        .is_some());

    cache.invalidate("u1").await;
    assert_eq!(heard.users(), vec!["u1".to_string()]);
    assert!(cache.peek("u1").is_undefined());
    assert!(storage()
        .get_item(&local_key(&ns, "u1", 1))
        .unwrap()
        .is_none());
    assert!(!cache.peek("u2").is_undefined(), "other users are kept");
    assert!(storage()
        .get_item(&local_key(&ns, "u2", 1))
        .unwrap()
        .is_some());

    let requests = backend.calls(Endpoint::User);
    let again = cache.get("u1").await;
    assert_eq!(again.source, "network");
    assert_eq!(backend.calls(Endpoint::User), requests + 1);
}

#[wasm_bindgen_test]
async fn clear_removes_only_the_caches_own_keys_and_stored_images() {
    let ns = namespace();
    let foreign = [
        ("app:session".to_string(), "keep-me".to_string()),
        (
            format!("{ns}x:local:u1:v1"),
            "another namespace".to_string(),
        ),
        (
            format!("other_{ns}:local:u1:v1"),
            "another cache".to_string(),
        ),
        (ns.clone(), "the bare namespace".to_string()),
    ];
    for (key, value) in &foreign {
        storage().set_item(key, value).unwrap();
    }
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    cache.get("u2").await;
    wait_for_idb_entries(&cache, 2.0).await;
    assert_eq!(keys_with_prefix(&format!("{ns}:")).len(), 2);
    let heard = cache.subscribe();

    cache.clear().await;
    assert!(heard.heard("{all}"), "subscribers hear {{ all: true }}");
    assert!(keys_with_prefix(&format!("{ns}:")).is_empty());
    for (key, value) in &foreign {
        assert_eq!(
            storage().get_item(key).unwrap().as_ref(),
            Some(value),
            "{key}"
        );
        storage().remove_item(key).unwrap();
    }
    assert!(cache.peek("u1").is_undefined());
    assert_eq!(number(&cache.stats(), "objectUrls"), 0.0);
    assert_eq!(cache.idb_entries(), Some(0.0));
    cache.close();

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    wait_for_idb_entries(&reloaded, 0.0).await; // the database holds nothing
    let downloads = backend.calls(Endpoint::Download);
    let picture = reloaded.get("u1").await;
    assert_eq!(picture.source, "network");
    assert_eq!(backend.calls(Endpoint::Download), downloads + 1);
}

#[wasm_bindgen_test]
async fn object_urls_are_bounded_revoked_on_eviction_and_never_handed_out_after() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(
        &ns,
        &backend,
        json!({ "memory": { "maxEntries": 3 }, "dataUrlMaxBytes": 0 }),
    ))
    .await;
    let users = ["o1", "o2", "o3", "o4", "o5"];
    let mut urls = Vec::new();
    for user in users {
        urls.push(cache.get(user).await.url);
    }
    assert!(number(&cache.stats(), "objectUrls") <= 3.0);
    for url in &urls[..2] {
        assert!(fetch_bytes(url).await.is_err(), "{url} was revoked");
    }
    for (url, user) in urls[2..].iter().zip(&users[2..]) {
        assert_eq!(fetch_bytes(url).await.unwrap(), png(&format!("img-{user}")));
    }

    for user in users {
        let peeked = cache.peek(user);
        if !peeked.is_undefined() {
            let url = Pic::from_js(peeked).url;
            assert!(!urls[..2].contains(&url), "peek handed out a revoked URL");
        }
    }
    let back = cache.get("o1").await;
    assert_ne!(back.url, urls[0], "a revoked URL is never handed out again");
    assert_eq!(fetch_bytes(&back.url).await.unwrap(), png("img-o1"));
    assert!(number(&cache.stats(), "objectUrls") <= 3.0);
}

#[wasm_bindgen_test]
async fn outputs_have_their_declared_fields_and_types() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.set_user("nobody", None);
    let cache = open(config(&ns, &backend, json!({ "batchEndpoint": BATCH_URL }))).await;

    let picture = cache.get("u1").await;
    assert_eq!(picture.user_id, "u1");
    assert!(picture.load_ms >= 0.0);
    let default = cache.get("nobody").await;
    assert!(
        field(&default.js, "imageId").is_null(),
        "no picture: imageId is null"
    );
    assert_eq!(default.url, DEFAULT_URL);

    let report = cache.prefetch(&["u1".to_string(), "p2".to_string()]).await;
    for name in [
        "requested",
        "memory",
        "local",
        "indexeddb",
        "network",
        "defaulted",
        "apiCalls",
        "downloads",
    ] {
        number(&report, name);
    }
    assert_eq!(number(&report, "requested"), 2.0);
    assert_eq!(number(&report, "memory"), 1.0);
    // The store's size is read shortly after open (not during the first gets).
    wait_until("stats().idb", 3_000, || cache.idb_entries().is_some()).await;

    for stats in [cache.stats(), cache.diagnose()] {
        for layer in ["memory", "local", "indexeddb", "network"] {
            for name in ["hits", "misses", "stale", "p50Ms", "p95Ms"] {
                number(&stats, &format!("layers.{layer}.{name}"));
            }
        }
        number(&stats, "layers.network.errors");
        for name in [
            "hitRate",
            "gets",
            "apiCalls",
            "downloads",
            "bytesDownloaded",
        ] {
            number(&stats, name);
        }
        for name in ["localBytes", "objectUrls", "inFlight"] {
            number(&stats, name);
        }
        for name in ["bytes", "entries", "maxBytes", "maxEntries"] {
            number(&stats, &format!("idb.{name}"));
        }
        let breaker = string(&stats, "breaker");
        assert!(["closed", "open", "half-open"].contains(&breaker.as_str()));
        assert!(js_sys::Array::is_array(&field(&stats, "recentErrors")));
        let rate = number(&stats, "hitRate");
        assert!((0.0..=1.0).contains(&rate), "hitRate {rate}");
        assert!(number(&stats, "localBytes") > 0.0);
        assert_eq!(number(&stats, "layers.memory.hits"), 1.0, "prefetch of u1");
    }
    let storage_estimate = field(&cache.stats(), "storage");
    if !storage_estimate.is_undefined() {
        number(&storage_estimate, "usage");
        number(&storage_estimate, "quota");
        assert!(field(&storage_estimate, "persisted").as_bool().is_some());
    }
}

#[wasm_bindgen_test]
async fn stats_count_gets_hits_api_calls_and_downloaded_bytes() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    cache.get("u1").await;
    cache.get("u1").await;
    cache.get("u2").await;

    let stats = cache.stats();
    assert_eq!(number(&stats, "gets"), 4.0);
    assert_eq!(
        number(&stats, "hitRate"),
        0.5,
        "2 of 4 gets without the network"
    );
    assert_eq!(number(&stats, "layers.memory.hits"), 2.0);
    assert_eq!(
        number(&stats, "apiCalls"),
        backend.calls(Endpoint::User) as f64
    );
    assert_eq!(number(&stats, "downloads"), 2.0);
    assert_eq!(
        number(&stats, "bytesDownloaded"),
        backend.bytes_served() as f64
    );
    assert_eq!(number(&stats, "objectUrls"), 2.0);
    assert_eq!(number(&stats, "inFlight"), 0.0);
    assert_eq!(number(&stats, "layers.network.errors"), 0.0);
}

#[wasm_bindgen_test]
async fn on_event_hears_loads_with_their_source() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let settings = config(&ns, &backend, json!({}));
    let events = record_events(&settings);
    let cache = open(settings).await;
    cache.get("u1").await;
    cache.get("u1").await;

    let loads: Vec<(String, String)> = events
        .borrow()
        .iter()
        .filter(|e| string(e, "type") == "load")
        .map(|e| (string(e, "userId"), string(e, "source")))
        .collect();
    assert_eq!(
        loads,
        vec![
            ("u1".to_string(), "network".to_string()),
            ("u1".to_string(), "memory".to_string())
        ]
    );
    let first = events
        .borrow()
        .iter()
        .find(|e| string(e, "type") == "load")
        .cloned()
        .unwrap();
    assert_eq!(number(&first, "bytes"), png("img-u1").len() as f64);
    assert!(number(&first, "ms") >= 0.0);
    assert_eq!(field(&first, "stale").as_bool(), Some(false));
}

#[wasm_bindgen_test]
async fn close_revokes_every_object_url_and_later_gets_answer_the_default() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({ "dataUrlMaxBytes": 0 }))).await;
    let url = cache.get("u1").await.url;
    let heard = cache.subscribe();

    cache.close();
    assert!(
        fetch_bytes(&url).await.is_err(),
        "the object URL was revoked"
    );
    assert!(cache.peek("u1").is_undefined());
    let requests = backend.total_calls();
    let after = cache.get("u1").await;
    assert_eq!(after.source, "default");
    assert_eq!(after.url, DEFAULT_URL);
    assert_eq!(backend.total_calls(), requests);
    assert_eq!(number(&cache.stats(), "objectUrls"), 0.0);
    assert!(heard.users().is_empty());
}

#[wasm_bindgen_test]
async fn clear_reaches_every_open_instance() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let other_tab = open(config(&ns, &backend, json!({ "dataUrlMaxBytes": 0 }))).await;
    cache.get("u1").await;
    let there = other_tab.get("u1").await;
    let heard = other_tab.subscribe();

    cache.clear().await;
    wait_until("the other instance to hear the clear", 3_000, || {
        heard.heard("{all}")
    })
    .await;
    assert!(other_tab.peek("u1").is_undefined());
    assert!(
        fetch_bytes(&there.url).await.is_err(),
        "the other instance revoked its object URL"
    );
    let downloads = backend.calls(Endpoint::Download);
    let again = other_tab.get("u1").await;
    assert_eq!(again.source, "network");
    assert_eq!(backend.calls(Endpoint::Download), downloads + 1);
}

#[wasm_bindgen_test]
async fn a_get_naming_a_stored_image_answers_from_indexeddb_at_once_and_revalidates() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let first = open(config(&ns, &backend, json!({}))).await;
    first.get("u1").await;
    wait_for_idb_entries(&first, 1.0).await;
    first.invalidate("u1").await;
    first.close();
    let user_calls = backend.calls(Endpoint::User);

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    backend.delay(Endpoint::User, 200);
    let picture = reloaded.get_image("u1", "img-u1").await;
    assert_eq!(picture.source, "indexeddb");
    assert_eq!(picture.image_id.as_deref(), Some("img-u1"));
    assert_eq!(fetch_bytes(&picture.url).await.unwrap(), png("img-u1"));
    assert_eq!(backend.calls(Endpoint::Download), 1);
    // The record is confirmed in the background; then memory holds the same picture.
    wait_until("the background confirmation", 3_000, || {
        !reloaded.peek("u1").is_undefined()
    })
    .await;
    assert_eq!(backend.calls(Endpoint::User), user_calls + 1);
    assert_eq!(Pic::from_js(reloaded.peek("u1")).url, picture.url);
    assert_eq!(reloaded.get("u1").await.url, picture.url);
    assert_eq!(backend.calls(Endpoint::Download), 1);
}

#[wasm_bindgen_test]
async fn a_get_naming_a_newer_image_than_the_stored_record_fetches_that_image() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;

    backend.set_user("u1", Some("img-u1-v2"));
    let picture = cache.get_image("u1", "img-u1-v2").await;
    assert_eq!(picture.image_id.as_deref(), Some("img-u1-v2"));
    assert_eq!(picture.source, "network");
    assert_eq!(fetch_bytes(&picture.url).await.unwrap(), png("img-u1-v2"));
    assert_eq!(backend.calls(Endpoint::Image), 1);
    assert_eq!(backend.calls(Endpoint::Download), 2);
    let later = cache.get("u1").await;
    assert_eq!(later.image_id.as_deref(), Some("img-u1-v2"));
}

#[wasm_bindgen_test]
async fn a_presigned_url_handed_out_is_refreshed_before_it_expires() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::Download, Fault::NoCors);
    // Signed for 4 s (X-Amz-Date has whole seconds: 3-4 s left); refresh is due a quarter in.
    backend.set_url_lifetime(4);
    let cache = open(config(&ns, &backend, json!({}))).await;
    let heard = cache.subscribe();
    let first = cache.get("u1").await;
    assert!(first.url.contains("X-Amz-Expires=4&"), "{}", first.url);
    assert_eq!(cache.get("u1").await.url, first.url);
    assert_eq!(backend.calls(Endpoint::User), 1, "not due yet");

    sleep(1_100).await;
    let due = cache.get("u1").await;
    assert_eq!(due.url, first.url, "still valid: answered at once");
    wait_until("subscribers to hear the new URL", 3_000, || {
        heard.heard("u1")
    })
    .await;
    assert_eq!(backend.calls(Endpoint::User), 2);
    let refreshed = cache.get("u1").await;
    assert_ne!(refreshed.url, first.url, "a newly signed URL");
    assert!(refreshed.url.starts_with(&format!("{BUCKET}/img-u1.png?")));
    assert_eq!(Pic::from_js(cache.peek("u1")).url, refreshed.url);
}

#[wasm_bindgen_test]
async fn a_short_lived_url_is_not_refreshed_while_its_bytes_are_held() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.set_url_lifetime(4);
    let cache = open(config(&ns, &backend, json!({}))).await;
    let first = cache.get("u1").await;
    sleep(1_100).await;
    for _ in 0..3 {
        assert_eq!(cache.get("u1").await.url, first.url);
        assert!(!cache.peek("u1").is_undefined());
    }
    sleep(50).await;
    assert_eq!(
        backend.calls(Endpoint::User),
        1,
        "the bytes do not need the URL"
    );
}

#[wasm_bindgen_test]
async fn prefetch_of_a_stale_list_answers_from_storage_and_revalidates_in_one_batch_call() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let users: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let cache = open(config(&ns, &backend, json!({ "batchEndpoint": BATCH_URL }))).await;
    cache.prefetch(&users).await;
    wait_for_idb_entries(&cache, 10.0).await;
    cache.close();
    let (batch_calls, user_calls) = (
        backend.calls(Endpoint::Batch),
        backend.calls(Endpoint::User),
    );

    // Reloaded with short TTLs, the whole list is stale.
    sleep(100).await;
    let short = json!({
        "batchEndpoint": BATCH_URL,
        "memory": { "ttlMs": 50 },
        "local": { "ttlMs": 50 },
    });
    let reloaded = open(config(&ns, &backend, short)).await;
    let report = reloaded.prefetch(&users).await;
    assert_eq!(number(&report, "requested"), 10.0);
    assert_eq!(number(&report, "network"), 0.0);
    assert_eq!(number(&report, "defaulted"), 0.0);
    assert_eq!(backend.calls(Endpoint::Download), 10, "no download");
    wait_until("the revalidation", 3_000, || {
        backend.calls(Endpoint::Batch) == batch_calls + 1
    })
    .await;
    sleep(100).await;
    assert_eq!(
        backend.calls(Endpoint::Batch),
        batch_calls + 1,
        "one batch call for the whole list"
    );
    assert_eq!(backend.calls(Endpoint::User), user_calls);
}

#[wasm_bindgen_test]
async fn clear_right_after_a_get_leaves_no_image_behind() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    cache.clear().await;
    // Give a write that was still on its way every chance to land.
    sleep(500).await;
    cache.close();

    let reloaded = open(config(&ns, &backend, json!({}))).await;
    let picture = reloaded.get("u1").await;
    assert_eq!(picture.source, "network");
    assert_eq!(
        backend.calls(Endpoint::Download),
        2,
        "the image was downloaded again: clear left nothing behind"
    );
}

#[wasm_bindgen_test]
async fn prefetch_of_a_hundred_users_costs_one_batch_call() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let users: Vec<String> = (0..100).map(|i| format!("b{i}")).collect();
    let cache = open(config(&ns, &backend, json!({ "batchEndpoint": BATCH_URL }))).await;
    let report = cache.prefetch(&users).await;
    assert_eq!(number(&report, "network"), 100.0);
    assert_eq!(number(&report, "apiCalls"), 1.0);
    assert_eq!(backend.calls(Endpoint::Batch), 1);
    assert_eq!(backend.calls(Endpoint::User), 0);
    assert_eq!(backend.calls(Endpoint::Download), 100);
}

#[wasm_bindgen_test]
async fn components_mounting_together_share_one_batch_call() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({ "batchEndpoint": BATCH_URL }))).await;
    let users: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let pictures = join_all(users.iter().map(|u| cache.get(u))).await;
    assert!(pictures.iter().all(|p| p.source == "network"));
    assert_eq!(backend.calls(Endpoint::Batch), 1);
    assert_eq!(backend.calls(Endpoint::User), 0);
}

#[wasm_bindgen_test]
async fn an_upload_made_while_offline_is_shown_from_the_bytes_it_came_with() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    assert_eq!(cache.get("u1").await.source, "network");
    backend.fault(Endpoint::Image, Fault::Reject);
    backend.fault(Endpoint::User, Fault::Reject);
    let upload = blob(&png("img-upload"), "image/png");
    cache
        .set_picture("u1", Some("img-upload"), Some(&upload))
        .await
        .unwrap();
    let picture = cache.get("u1").await;
    assert_eq!(picture.image_id.as_deref(), Some("img-upload"));
    assert_ne!(picture.source, "default");
    assert_eq!(fetch_bytes(&picture.url).await.unwrap(), png("img-upload"));
}

#[wasm_bindgen_test]
async fn a_picture_shown_from_memory_stays_stored_while_newer_ones_come_and_go() {
    let ns = namespace();
    let backend = FakeBackend::new();
    // About 9 kB an image against a 200 kB budget: some 21 fit.
    backend.set_image_padding(9_000);
    let settings = json!({ "idb": { "maxBytes": 200_000 } });
    let cache = open(config(&ns, &backend, settings.clone())).await;
    cache.get("u1").await;
    for i in 2..=100 {
        cache.get(&format!("u{i}")).await;
        if i % 10 == 0 {
            assert_eq!(cache.get("u1").await.source, "memory");
        }
    }
    wait_until("the writes to settle", 5_000, || {
        cache.idb_entries().is_some_and(|n| n <= 22.0)
    })
    .await;
    sleep(300).await;
    cache.close();
    let reloaded = open(config(&ns, &backend, settings)).await;
    let calls = backend.total_calls();
    let again = reloaded.get("u1").await;
    assert_eq!(again.source, "indexeddb", "u1 was used all along");
    assert_eq!(backend.total_calls(), calls, "no request");
}

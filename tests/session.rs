#![cfg(target_arch = "wasm32")]
//! Session boundaries and refused locks, through the public `AvatarCache` class: a logout
//! (`clear()`) or `close()` while loads are under way leaves nothing of them behind, and a Web
//! Locks API that refuses never makes a get hang. Every test uses its own namespace.

mod common;

use avatar_cache::layers::idb::records::{records_database_name, IdbRecordStore};
use avatar_cache::layers::RecordStore;
use avatar_cache::record::PictureRecord;
use common::*;
use js_sys::{Function, Object, Reflect};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// `navigator.locks`, whose `request` a test may replace.
fn lock_manager() -> JsValue {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    Reflect::get(&navigator, &"locks".into()).unwrap()
}

/// Replaces `navigator.locks.request` with `body` (a JS function body) until the returned guard
/// is dropped.
struct LocksReplaced {
    manager: JsValue,
}

impl LocksReplaced {
    fn request(body: &str) -> Option<LocksReplaced> {
        let manager = lock_manager();
        if !manager.is_object() {
            return None;
        }
        let request = Function::new_no_args(body);
        Reflect::set(&manager, &"request".into(), &request).unwrap();
        Some(LocksReplaced { manager })
    }
}

impl Drop for LocksReplaced {
    fn drop(&mut self) {
        // The own property shadowed the prototype's method; removing it restores the real one.
        let _ = Reflect::delete_property(self.manager.unchecked_ref::<Object>(), &"request".into());
    }
}

#[wasm_bindgen_test]
async fn a_load_started_before_clear_leaves_nothing_behind() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.set_user("u", Some("img-old"));
    backend.delay(Endpoint::Download, 1_500);
    let cache = open(config(&ns, &backend, json!({}))).await;
    let first = cache.get_promise("u");
    sleep(300).await;
    cache.clear().await;
    backend.delay(Endpoint::Download, 0);
    backend.set_user("u", Some("img-new"));
    let second = cache.get("u").await;
    let first = Pic::from_js(first.await.unwrap());
    sleep(200).await;

    assert_eq!(first.source, "default", "the old load hands out nothing");
    assert_eq!(second.image_id.as_deref(), Some("img-new"));
    assert_eq!(
        backend.calls(Endpoint::User),
        2,
        "the get after clear asked again"
    );
    let stored = storage()
        .get_item(&local_key(&ns, "u", 1))
        .unwrap()
        .unwrap_or_default();
    assert!(
        stored.contains("img-new") && !stored.contains("img-old"),
        "{stored}"
    );
    let peeked = Pic::from_js(cache.peek("u"));
    assert_eq!(peeked.image_id.as_deref(), Some("img-new"));
    wait_until("IndexedDB to hold the new image only", 3_000, || {
        cache.idb_entries() == Some(1.0)
    })
    .await;
    assert_eq!(number(&cache.stats(), "objectUrls"), 1.0);
    assert_eq!(number(&cache.stats(), "inFlight"), 0.0);
}

#[wasm_bindgen_test]
async fn a_get_settles_when_web_locks_reject_the_request() {
    let Some(_replaced) = LocksReplaced::request(
        "return Promise.reject(new DOMException('The request was denied.', 'SecurityError'));",
    ) else {
        return; // No Web Locks in this engine: the next test covers it.
    };
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({ "requestTimeoutMs": 2_000 }))).await;
    let started = now_ms();
    let gets = ["u1", "u1", "u2"].map(|u| cache.get_promise(u));
    for get in gets {
        let picture = Pic::from_js(get.await.unwrap());
        assert_eq!(picture.source, "network");
    }
    assert!(now_ms() - started < 2_000.0, "within requestTimeoutMs");
    assert_eq!(number(&cache.stats(), "inFlight"), 0.0);
}

#[wasm_bindgen_test]
async fn a_get_settles_without_web_locks() {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let descriptor = Object::new();
    Reflect::set(&descriptor, &"value".into(), &JsValue::UNDEFINED).unwrap();
    Reflect::set(&descriptor, &"configurable".into(), &JsValue::TRUE).unwrap();
    let hidden = Reflect::define_property(
        navigator.unchecked_ref::<Object>(),
        &"locks".into(),
        &descriptor.unchecked_into(),
    )
    .unwrap_or(false);
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let picture = cache.get("u1").await;
    if hidden {
        let _ = Reflect::delete_property(navigator.unchecked_ref::<Object>(), &"locks".into());
    }
    assert_eq!(picture.source, "network");
    assert_eq!(number(&cache.stats(), "inFlight"), 0.0);
}

#[wasm_bindgen_test]
async fn a_load_started_before_close_hands_out_nothing() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.delay(Endpoint::Download, 800);
    let cache = open(config(&ns, &backend, json!({}))).await;
    let first = cache.get_promise("u1");
    sleep(200).await;
    cache.close();
    let first = Pic::from_js(first.await.unwrap());
    assert_eq!(first.source, "default");
    assert!(cache.peek("u1").is_undefined());
    assert_eq!(number(&cache.stats(), "objectUrls"), 0.0);
}

/// Makes `indexedDB.open` throw until the returned guard is dropped.
struct IndexedDbRefused {
    factory: Object,
}

impl IndexedDbRefused {
    fn now() -> IndexedDbRefused {
        let factory: Object = Reflect::get(&js_sys::global(), &"indexedDB".into())
            .unwrap()
            .unchecked_into();
        let refuse = Function::new_no_args(
            "throw new DOMException('The operation is insecure.', 'SecurityError');",
        );
        Reflect::set(&factory, &"open".into(), &refuse).unwrap();
        IndexedDbRefused { factory }
    }
}

impl Drop for IndexedDbRefused {
    fn drop(&mut self) {
        let _ = Reflect::delete_property(&self.factory, &"open".into());
    }
}

#[wasm_bindgen_test]
async fn clear_removes_stored_images_even_when_indexeddb_failed_to_open_at_start() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let first = open(config(&ns, &backend, json!({}))).await;
    first.get("u1").await;
    first.get("u2").await;
    wait_until("both images stored", 3_000, || {
        first.idb_entries() == Some(2.0)
    })
    .await;
    first.close();

    let refused = IndexedDbRefused::now();
    let session = open(config(&ns, &backend, json!({}))).await;
    drop(refused);
    assert!(
        field(&session.stats(), "idb").is_null(),
        "IndexedDB did not open"
    );
    session.clear().await;
    session.close();

    let next = open(config(&ns, &backend, json!({}))).await;
    wait_until("the store to be measured", 3_000, || {
        next.idb_entries().is_some()
    })
    .await;
    assert_eq!(
        next.idb_entries(),
        Some(0.0),
        "the logout removed the old images"
    );
}

/// The records database of a service worker of namespace `ns` that is not running, holding a
/// record for each of `users` (written as a worker writes them, then closed): its config.
async fn stopped_worker_with_records(ns: &str, users: &[&str]) -> avatar_cache::Config {
    let config = avatar_cache::Config {
        namespace: ns.to_string(),
        ..avatar_cache::Config::default()
    };
    let records = worker_records(&config).await;
    let now = js_sys::Date::now();
    for user in users {
        records
            .put(&PictureRecord {
                user_id: user.to_string(),
                image_id: Some(format!("img-{user}")),
                remote_url: format!("https://s3.example/img-{user}?X-Amz-Signature=abc"),
                url_expires_at: now + 3_600_000.0,
                fetched_at: now,
                etag: None,
                version: 1,
                opaque: false,
                thumbhash: None,
            })
            .unwrap();
    }
    wait_until("the worker's records written", 3_000, || {
        records.len() == users.len()
    })
    .await;
    drop(records);
    sleep(50).await;
    config
}

/// The records a service worker of `config` would start with.
async fn worker_records(config: &avatar_cache::Config) -> IdbRecordStore {
    let clock = avatar_cache::ManualClock::new(js_sys::Date::now());
    IdbRecordStore::open(config, std::rc::Rc::new(clock))
        .await
        .unwrap()
}

/// A logout reaches the records a service worker keeps in IndexedDB even when the worker is
/// stopped (it reads them back when it starts, and would answer the session before from them).
#[wasm_bindgen_test]
async fn clear_empties_the_records_of_a_service_worker_that_is_not_running() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker_config = stopped_worker_with_records(&ns, &["u1"]).await;
    assert_eq!(
        worker_records(&worker_config).await.len(),
        1,
        "the stopped worker would start with the record"
    );

    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.clear().await;
    let restarted = worker_records(&worker_config).await;
    assert!(
        restarted.is_empty(),
        "the logout reached the worker's records"
    );
    drop(restarted);
    cache.close();

    // A page whose origin never had a worker creates no records database.
    let other = namespace();
    let cache = open(config(&other, &backend, json!({}))).await;
    cache.clear().await;
    let names = database_names().await;
    if let Some(names) = names {
        let name = records_database_name(&avatar_cache::Config {
            namespace: other.clone(),
            ..avatar_cache::Config::default()
        });
        assert!(!names.contains(&name), "{name} was created by a clear()");
    }
    cache.close();
}

/// `invalidate(userId)` reaches the record a stopped service worker keeps for that user (it
/// would start with it and answer `/avatar/{userId}` from it), and only that one.
#[wasm_bindgen_test]
async fn invalidate_removes_the_users_record_from_a_service_worker_that_is_not_running() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker_config = stopped_worker_with_records(&ns, &["u1", "u2"]).await;

    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.invalidate("u1").await;
    let restarted = worker_records(&worker_config).await;
    assert!(
        restarted.get("u1").unwrap().is_none(),
        "u1 reached the worker"
    );
    assert!(restarted.get("u2").unwrap().is_some(), "u2 is kept");
    drop(restarted);
    cache.close();
}

/// The names of the origin's IndexedDB databases, where `indexedDB.databases()` exists.
async fn database_names() -> Option<Vec<String>> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into()).ok()?;
    let databases: Function = Reflect::get(&factory, &"databases".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let promise: js_sys::Promise = databases.call0(&factory).ok()?.dyn_into().ok()?;
    let list = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    Some(
        js_sys::Array::from(&list)
            .iter()
            .filter_map(|info| Reflect::get(&info, &"name".into()).ok()?.as_string())
            .collect(),
    )
}

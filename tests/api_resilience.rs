#![cfg(target_arch = "wasm32")]
//! What the public `AvatarCache` class does when things go wrong: bad config and programmer
//! errors reject; every network fault falls back (stale picture, else the default) without
//! storing anything and is counted; the circuit breaker rests a failing backend; junk in
//! localStorage is a miss and is removed; a cache without localStorage or IndexedDB (disabled,
//! or IndexedDB blocked by another connection) still works; uploads that are not pictures are
//! refused. Every test uses its own namespace.

mod common;

use avatar_cache::layers::idb::SCHEMA_VERSION;
use avatar_cache::Config;
use common::*;
use futures::future::join_all;
use js_sys::{Array, Function, Object, Reflect};
use serde_json::json;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const HTML: &[u8] = b"<!doctype html><html><body>502 Bad Gateway</body></html>";
const SVG: &[u8] = br#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>alert(1)</script></svg>"#;

/// Asserts `open(config)` rejects with an `AvatarCacheError` whose `code` is CONFIG_INVALID
/// and whose `field` is `field`.
async fn assert_config_rejected(config: JsValue, field: &str) {
    let shown = js_sys::JSON::stringify(&config)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{config:?}"));
    let error = match try_open(config).await {
        Ok(_) => panic!("open({shown}) resolved"),
        Err(e) => e,
    };
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "an Error: {error:?}"
    );
    assert_eq!(
        error_code(&error).as_deref(),
        Some("CONFIG_INVALID"),
        "{shown}"
    );
    assert_eq!(string(&error, "field"), field, "{shown}");
    assert_eq!(string(&error, "name"), "AvatarCacheError");
    assert!(
        string(&error, "message").contains(field),
        "the message names the field: {}",
        string(&error, "message")
    );
}

#[wasm_bindgen_test]
async fn bad_config_rejects_naming_the_field() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cases = [
        (json!({ "memory": { "ttlMs": -1 } }), "memory.ttlMs"),
        (
            json!({ "memory": { "maxEntries": 1.5 } }),
            "memory.maxEntries",
        ),
        (json!({ "idb": { "maxBytes": "big" } }), "idb.maxBytes"),
        (json!({ "retry": { "attempts": 0 } }), "retry.attempts"),
        (
            json!({ "breaker": { "cooldownMs": 0 } }),
            "breaker.cooldownMs",
        ),
        (json!({ "requestTimeoutMs": "soon" }), "requestTimeoutMs"),
        (json!({ "namespace": "a:b" }), "namespace"),
        (json!({ "userPath": "/user" }), "userPath"),
        (json!({ "credentials": "sometimes" }), "credentials"),
        (json!({ "allowedTypes": ["text/html"] }), "allowedTypes"),
        (json!({ "version": -2 }), "version"),
        (json!({ "ttl": 5 }), "ttl"),
    ];
    for (extra, field) in cases {
        assert_config_rejected(config(&ns, &backend, extra), field).await;
    }
    for not_an_object in [
        JsValue::from_str("profile_pic"),
        JsValue::from(42),
        Array::new().into(),
    ] {
        assert_config_rejected(not_an_object, "config").await;
    }
    for name in ["fetch", "onEvent"] {
        let bad = config(&ns, &backend, json!({}));
        Reflect::set(&bad, &name.into(), &"not a function".into()).unwrap();
        assert_config_rejected(bad, name).await;
    }
}

#[wasm_bindgen_test]
async fn no_config_at_all_opens_with_the_defaults() {
    let cache = open(JsValue::UNDEFINED).await;
    assert_eq!(string(&cache.stats(), "breaker"), "closed");
    cache.close();
}

#[wasm_bindgen_test]
async fn an_empty_user_id_is_a_programmer_error_and_rejects() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let empty = JsValue::from_str("");
    let calls: [(&str, Vec<JsValue>); 4] = [
        ("get", vec![empty.clone()]),
        ("invalidate", vec![empty.clone()]),
        ("setPicture", vec![empty.clone(), "img-1".into()]),
        ("prefetch", vec![Array::of1(&empty).into()]),
    ];
    for (method, args) in calls {
        let error = cache
            .call_async(method, &args)
            .await
            .expect_err(&format!("{method}(\"\") rejects"));
        assert_eq!(
            error_code(&error).as_deref(),
            Some("INVALID_ARGUMENT"),
            "{method}"
        );
    }
    let not_a_list = cache.call_async("prefetch", &["u1".into()]).await;
    assert_eq!(
        error_code(&not_a_list.unwrap_err()).as_deref(),
        Some("INVALID_ARGUMENT")
    );
    assert_eq!(backend.total_calls(), 0);
}

/// A network fault, where it strikes, and the error code `stats().recentErrors` names.
struct Case {
    name: &'static str,
    endpoint: Endpoint,
    fault: Fault,
    code: &'static str,
}

fn network_faults() -> Vec<Case> {
    let case = |name, endpoint, fault, code| Case {
        name,
        endpoint,
        fault,
        code,
    };
    let body = |content_type, body: &[u8]| Fault::Body {
        content_type,
        body: body.to_vec(),
    };
    vec![
        case("404", Endpoint::User, Fault::Status(404), "NETWORK"),
        case("500", Endpoint::User, Fault::Status(500), "NETWORK"),
        case(
            "malformed JSON",
            Endpoint::User,
            body(Some("application/json"), b"{\"success\": tr"),
            "BAD_RESPONSE",
        ),
        case(
            "success:false",
            Endpoint::User,
            Fault::Json(
                json!({ "success": false, "image_id": "img-u1", "url": "https://s3.test/x" }),
            ),
            "BAD_RESPONSE",
        ),
        case(
            "missing url",
            Endpoint::User,
            Fault::Json(json!({ "success": true, "image_id": "img-u1", "user_id": "u1" })),
            "BAD_RESPONSE",
        ),
        case(
            "HTML served as image/png",
            Endpoint::Download,
            body(Some("image/png"), HTML),
            "NOT_AN_IMAGE",
        ),
        case(
            "text/html",
            Endpoint::Download,
            body(Some("text/html"), HTML),
            "NOT_AN_IMAGE",
        ),
        case(
            "SVG",
            Endpoint::Download,
            body(Some("image/svg+xml"), SVG),
            "NOT_AN_IMAGE",
        ),
        case(
            "missing Content-Type",
            Endpoint::Download,
            body(None, &png("img-u1")),
            "NOT_AN_IMAGE",
        ),
        case(
            "body over maxImageBytes",
            Endpoint::Download,
            body(Some("image/png"), &png_padded("img-u1", 4_000)),
            "TOO_LARGE",
        ),
        case("offline API", Endpoint::User, Fault::Reject, "NETWORK"),
        case(
            "offline storage",
            Endpoint::Download,
            Fault::Reject,
            "NETWORK",
        ),
        case("API never answers", Endpoint::User, Fault::Hang, "TIMEOUT"),
        case(
            "storage never answers",
            Endpoint::Download,
            Fault::Hang,
            "TIMEOUT",
        ),
    ]
}

/// Settings every fault case runs under: a small image cap (the oversized body is 4 KB) and a
/// short request timeout (for the fetch that never answers).
fn fault_settings() -> serde_json::Value {
    json!({ "maxImageBytes": 1_000, "requestTimeoutMs": 150 })
}

#[wasm_bindgen_test]
async fn every_network_fault_gives_the_default_picture_stores_nothing_and_is_counted() {
    for case in network_faults() {
        let ns = namespace();
        let backend = FakeBackend::new();
        backend.fault(case.endpoint, case.fault.clone());
        let cache = open(config(&ns, &backend, fault_settings())).await;

        let started = now_ms();
        let picture = cache.get("u1").await;
        let took = now_ms() - started;
        let name = case.name;
        assert_eq!(picture.source, "default", "{name}");
        assert_eq!(picture.url, DEFAULT_URL, "{name}");
        assert_eq!(picture.image_id, None, "{name}");
        assert!(!picture.stale, "{name}");
        assert!(took < 3_000.0, "{name}: answered in {took} ms");
        assert!(
            cache.has_error("network", case.code),
            "{name}: {:?} names {}",
            cache.recent_errors(),
            case.code
        );
        assert!(
            number(&cache.stats(), "layers.network.errors") >= 1.0,
            "{name}"
        );
        assert!(
            keys_with_prefix(&format!("{ns}:")).is_empty(),
            "{name}: nothing in localStorage"
        );
        assert!(cache.peek("u1").is_undefined(), "{name}: nothing in memory");

        backend.heal(case.endpoint);
        let user_calls = backend.calls(Endpoint::User);
        let healed = cache.get("u1").await;
        assert_eq!(healed.source, "network", "{name}: asks again once healed");
        assert_eq!(backend.calls(Endpoint::User), user_calls + 1, "{name}");
        assert_eq!(
            fetch_bytes(&healed.url).await.unwrap(),
            png("img-u1"),
            "{name}"
        );
        cache.close();
    }
}

#[wasm_bindgen_test]
async fn every_network_fault_gives_the_stored_picture_marked_stale() {
    for case in network_faults() {
        let ns = namespace();
        let backend = FakeBackend::new();
        let mut settings = fault_settings();
        settings["staleWhileRevalidate"] = json!(false);
        settings["memory"] = json!({ "ttlMs": 50 });
        settings["local"] = json!({ "ttlMs": 50 });
        let cache = open(config(&ns, &backend, settings)).await;
        let before = cache.get("u1").await;

        // The picture changed meanwhile, so the new image must be downloaded: download faults
        // strike too.
        backend.set_user("u1", Some("img-u1-new"));
        backend.fault(case.endpoint, case.fault.clone());
        sleep(80).await;
        let picture = cache.get("u1").await;
        let name = case.name;
        assert!(picture.stale, "{name}: {picture:?}");
        assert_eq!(picture.url, before.url, "{name}");
        assert_eq!(picture.image_id.as_deref(), Some("img-u1"), "{name}");
        assert_eq!(
            fetch_bytes(&picture.url).await.unwrap(),
            png("img-u1"),
            "{name}"
        );
        assert!(cache.has_error("network", case.code), "{name}");
        let stored = storage()
            .get_item(&local_key(&ns, "u1", 1))
            .unwrap()
            .unwrap();
        assert!(
            !stored.contains("img-u1-new"),
            "{name}: the failed answer was not stored"
        );
        cache.close();
    }
}

#[wasm_bindgen_test]
async fn server_errors_are_retried_until_the_attempts_run_out_and_404_is_not() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::User, Fault::Status(500));
    let cache = open(config(&ns, &backend, json!({ "retry": { "attempts": 3 } }))).await;
    assert_eq!(cache.get("u1").await.source, "default");
    assert_eq!(backend.calls(Endpoint::User), 3, "500 is retried");

    backend.fault(Endpoint::User, Fault::Status(404));
    assert_eq!(cache.get("u2").await.source, "default");
    assert_eq!(
        backend.calls(Endpoint::User),
        4,
        "404 is an answer, not retried"
    );

    backend.heal(Endpoint::User);
    assert_eq!(
        cache.get("u1").await.source,
        "network",
        "no failure is remembered"
    );
    assert_eq!(backend.calls(Endpoint::User), 5);
}

#[wasm_bindgen_test]
async fn a_fetch_that_never_answers_is_given_up_after_the_request_timeout() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::User, Fault::Hang);
    let settings = json!({ "requestTimeoutMs": 100, "retry": { "attempts": 1 } });
    let cache = open(config(&ns, &backend, settings)).await;
    let started = now_ms();
    let picture = cache.get("u1").await;
    let took = now_ms() - started;
    assert_eq!(picture.source, "default");
    assert!((90.0..1_000.0).contains(&took), "gave up after {took} ms");
    assert!(cache.has_error("network", "TIMEOUT"));
    assert_eq!(number(&cache.stats(), "inFlight"), 0.0);
}

#[wasm_bindgen_test]
async fn the_breaker_opens_after_failures_rests_then_lets_one_probe_through() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::User, Fault::Reject);
    let settings = json!({
        "breaker": { "failures": 2, "cooldownMs": 200 },
        "retry": { "attempts": 1 },
    });
    let cache = open(config(&ns, &backend, settings)).await;
    assert_eq!(string(&cache.stats(), "breaker"), "closed");

    assert_eq!(cache.get("a").await.source, "default");
    assert_eq!(cache.get("b").await.source, "default");
    assert_eq!(backend.total_calls(), 2);
    assert_eq!(string(&cache.stats(), "breaker"), "open");

    let resting = cache.get("c").await;
    assert_eq!(resting.source, "default");
    assert_eq!(backend.total_calls(), 2, "no call while open");
    assert!(cache.has_error("network", "CIRCUIT_OPEN"));

    sleep(250).await;
    assert_eq!(string(&cache.stats(), "breaker"), "half-open");
    // The probe fails slowly: everything asked meanwhile is refused without a call.
    backend.delay(Endpoint::User, 100);
    let gets: Vec<_> = ["d", "e", "f"]
        .iter()
        .map(|u| cache.get_promise(u))
        .collect();
    for answer in join_all(gets).await {
        assert_eq!(
            Pic::from_js(answer.expect("get never rejects")).source,
            "default"
        );
    }
    assert_eq!(backend.total_calls(), 3, "exactly one probe");
    assert_eq!(
        string(&cache.stats(), "breaker"),
        "open",
        "the probe failed"
    );

    sleep(250).await;
    backend.heal(Endpoint::User);
    backend.delay(Endpoint::User, 0);
    let recovered = cache.get("g").await;
    assert_eq!(recovered.source, "network");
    assert_eq!(recovered.image_id.as_deref(), Some("img-g"));
    assert_eq!(string(&cache.stats(), "breaker"), "closed");
}

#[wasm_bindgen_test]
async fn junk_under_the_caches_own_keys_is_a_miss_and_is_removed() {
    let ns = namespace();
    let valid = |user: &str, fetched_at: f64, version: u32| {
        json!({
            "userId": user, "imageId": format!("img-{user}"),
            "remoteUrl": format!("{BUCKET}/img-{user}.png"),
            "urlExpiresAt": fetched_at + 3_600_000.0, "fetchedAt": fetched_at, "version": version,
        })
        .to_string()
    };
    let now = now_ms();
    let junk = [
        ("j1", "not json".to_string()),
        ("j2", r#"{"foo":1}"#.to_string()),
        ("j3", "[1,2,3]".to_string()),
        ("j4", valid("j4", now, 2)),
        ("j5", valid("j5", 9e15, 1)),
        ("j6", valid("j6", -5.0, 1)),
        ("j7", valid("someone-else", now, 1)),
    ];
    for (user, value) in &junk {
        storage().set_item(&local_key(&ns, user, 1), value).unwrap();
    }
    // Keys of this namespace under an older version are swept when the cache opens; a newer
    // release's are left to its tabs (a rollout runs both at once).
    let (older, newer) = (local_key(&ns, "old", 0), local_key(&ns, "new", 7));
    storage().set_item(&older, &valid("old", now, 0)).unwrap();
    storage().set_item(&newer, &valid("new", now, 7)).unwrap();
    let foreign = format!("{ns}x:local:j1:v1");
    storage().set_item(&foreign, "not ours").unwrap();

    let backend = FakeBackend::new();
    backend.fault(Endpoint::User, Fault::Status(404));
    let cache = open(config(&ns, &backend, json!({}))).await;
    assert!(
        storage().get_item(&older).unwrap().is_none(),
        "{older} swept"
    );
    assert!(
        storage().get_item(&newer).unwrap().is_some(),
        "{newer} kept"
    );
    storage().remove_item(&newer).unwrap();
    for (i, (user, _)) in junk.iter().enumerate() {
        let picture = cache.get(user).await;
        assert_eq!(picture.source, "default", "{user}: junk is a miss");
        assert_eq!(
            backend.calls(Endpoint::User),
            i + 1,
            "{user}: the backend was asked"
        );
        assert!(
            storage()
                .get_item(&local_key(&ns, user, 1))
                .unwrap()
                .is_none(),
            "{user}: the junk was removed"
        );
    }
    assert!(cache.has_error("local", "CORRUPT_ENTRY"));
    assert_eq!(
        storage().get_item(&foreign).unwrap().as_deref(),
        Some("not ours")
    );
    storage().remove_item(&foreign).unwrap();

    backend.heal(Endpoint::User);
    let picture = cache.get("j1").await;
    assert_eq!(picture.source, "network");
    let stored = storage()
        .get_item(&local_key(&ns, "j1", 1))
        .unwrap()
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(record["userId"], "j1");
    assert_eq!(record["imageId"], "img-j1");
}

#[wasm_bindgen_test]
async fn a_cache_without_local_storage_works_and_writes_no_key() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let settings = json!({ "local": { "enabled": false } });
    let cache = open(config(&ns, &backend, settings.clone())).await;
    let first = cache.get("u1").await;
    assert_eq!(first.source, "network");
    assert_eq!(cache.get("u1").await.source, "memory");
    assert!(keys_with_prefix(&format!("{ns}:")).is_empty());
    assert_eq!(number(&cache.stats(), "localBytes"), 0.0);
    wait_until("the image in IndexedDB", 3_000, || {
        cache.idb_entries() == Some(1.0)
    })
    .await;
    cache.close();

    // No record survives the reload, but the bytes do: one API call, no download.
    let reloaded = open(config(&ns, &backend, settings)).await;
    let again = reloaded.get("u1").await;
    assert_eq!(again.image_id.as_deref(), Some("img-u1"));
    assert_eq!(backend.calls(Endpoint::User), 2);
    assert_eq!(backend.calls(Endpoint::Download), 1);
    assert_eq!(fetch_bytes(&again.url).await.unwrap(), png("img-u1"));
}

#[wasm_bindgen_test]
async fn a_cache_without_indexeddb_works_and_stores_no_image() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let settings = json!({ "idb": { "enabled": false } });
    let cache = open(config(&ns, &backend, settings.clone())).await;
    let first = cache.get("u1").await;
    assert_eq!(first.source, "network");
    assert_eq!(fetch_bytes(&first.url).await.unwrap(), png("img-u1"));
    assert_eq!(cache.get("u1").await.source, "memory");
    assert!(field(&cache.stats(), "idb").is_null());
    cache.close();

    // The record survives the reload, the bytes do not: no API call, one more download.
    let reloaded = open(config(&ns, &backend, settings)).await;
    let again = reloaded.get("u1").await;
    assert_eq!(again.source, "network");
    assert_eq!(backend.calls(Endpoint::User), 1);
    assert_eq!(backend.calls(Endpoint::Download), 2);
    assert_eq!(fetch_bytes(&again.url).await.unwrap(), png("img-u1"));
}

#[wasm_bindgen_test]
async fn a_browser_without_indexeddb_works_from_the_other_layers() {
    // As in some private modes and sandboxed frames: `indexedDB` is simply not there.
    let global = js_sys::global();
    let descriptor = Object::get_own_property_descriptor(&global, &"indexedDB".into());
    let hide = Function::new_with_args(
        "g",
        "Object.defineProperty(g, 'indexedDB', { value: undefined, configurable: true });",
    );
    hide.call1(&JsValue::UNDEFINED, &global).unwrap();
    let ns = namespace();
    let backend = FakeBackend::new();
    let opened = try_open(config(&ns, &backend, json!({}))).await;
    let restore = Function::new_with_args("g, d", "if (d === undefined) { delete g.indexedDB; } else { Object.defineProperty(g, 'indexedDB', d); }");
    let cache = match opened {
        Ok(cache) => cache,
        Err(e) => {
            restore
                .call2(&JsValue::UNDEFINED, &global, &descriptor)
                .unwrap();
            panic!("open rejected without IndexedDB: {e:?}");
        }
    };
    let first = cache.get("u1").await;
    let second = cache.get("u1").await;
    let stats = cache.stats();
    restore
        .call2(&JsValue::UNDEFINED, &global, &descriptor)
        .unwrap();
    assert_eq!(
        (first.source.as_str(), second.source.as_str()),
        ("network", "memory")
    );
    assert_eq!(fetch_bytes(&first.url).await.unwrap(), png("img-u1"));
    assert!(field(&stats, "idb").is_null());
    assert!(cache.has_error("indexeddb", "STORAGE_UNAVAILABLE"));
}

/// Opens `name` at `version` with a raw IndexedDB connection that ignores `versionchange`, so
/// it blocks every upgrade until it is closed. Resolves with the connection (or rejects).
async fn hold_database(name: &str, version: u32) -> Result<JsValue, JsValue> {
    let open = Function::new_with_args(
        "name, version",
        "return new Promise((resolve, reject) => {
           const request = indexedDB.open(name, version);
           request.onsuccess = () => resolve(request.result);
           request.onerror = () => reject(request.error);
         });",
    );
    let promise = open.call2(&JsValue::NULL, &name.into(), &version.into())?;
    JsFuture::from(promise.unchecked_into::<js_sys::Promise>()).await
}

fn close_database(db: &JsValue) {
    let close: Function = Reflect::get(db, &"close".into()).unwrap().unchecked_into();
    close.call0(db).unwrap();
}

fn database_name(namespace: &str) -> String {
    Config {
        namespace: namespace.to_string(),
        ..Config::default()
    }
    .database_name()
}

#[wasm_bindgen_test]
async fn an_upgrade_blocked_by_another_connection_gives_up_in_time_and_works_without_indexeddb() {
    let ns = namespace();
    let held = hold_database(&database_name(&ns), SCHEMA_VERSION - 1)
        .await
        .unwrap();
    let backend = FakeBackend::new();
    let settings = json!({ "idb": { "openTimeoutMs": 300 } });
    let started = now_ms();
    let cache = open(config(&ns, &backend, settings)).await;
    let took = now_ms() - started;
    assert!(took < 2_000.0, "open resolved after {took} ms");

    let first = cache.get("u1").await;
    assert_eq!(first.source, "network");
    assert_eq!(fetch_bytes(&first.url).await.unwrap(), png("img-u1"));
    assert_eq!(cache.get("u1").await.source, "memory");
    assert!(field(&cache.stats(), "idb").is_null());
    assert!(cache.has_error("indexeddb", "STORAGE_UNAVAILABLE"));
    cache.close();
    close_database(&held);
}

#[wasm_bindgen_test]
async fn a_database_of_a_newer_schema_is_left_alone_and_the_cache_works_without_it() {
    let ns = namespace();
    let held = hold_database(&database_name(&ns), SCHEMA_VERSION + 1)
        .await
        .unwrap();
    let backend = FakeBackend::new();
    let settings = json!({ "idb": { "openTimeoutMs": 300 } });
    let started = now_ms();
    let cache = open(config(&ns, &backend, settings)).await;
    assert!(now_ms() - started < 2_000.0);
    let first = cache.get("u1").await;
    assert_eq!(first.source, "network");
    assert!(field(&cache.stats(), "idb").is_null());
    assert_eq!(
        Reflect::get(&held, &"version".into()).unwrap().as_f64(),
        Some((SCHEMA_VERSION + 1) as f64)
    );
    cache.close();
    close_database(&held);
}

#[wasm_bindgen_test]
async fn set_picture_refuses_a_blob_that_is_not_an_allowed_picture() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let before = cache.get("u1").await;
    let heard = cache.subscribe();
    let requests = backend.total_calls();

    let refused = [
        ("text/html", blob(HTML, "text/html")),
        ("svg", blob(SVG, "image/svg+xml")),
        ("HTML typed image/png", blob(HTML, "image/png")),
        ("empty", blob(&[], "image/png")),
        ("untyped text", blob(b"hello", "")),
    ];
    for (name, body) in refused {
        let error = cache
            .set_picture("u1", Some("img-evil"), Some(&body))
            .await
            .expect_err(name);
        assert_eq!(
            error_code(&error).as_deref(),
            Some("INVALID_ARGUMENT"),
            "{name}"
        );
    }
    assert!(heard.users().is_empty(), "nothing changed, nobody told");
    assert_eq!(backend.total_calls(), requests);
    let after = cache.get("u1").await;
    assert_eq!(after.url, before.url);
    assert_eq!(after.image_id.as_deref(), Some("img-u1"));
    assert!(Object::is(&cache.peek("u1"), &cache.peek("u1")));
}

/// Fills localStorage with foreign keys until it is full; returns their names.
fn fill_local_storage(prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut size = 1 << 20;
    while size >= 16 {
        let key = format!("{prefix}{}", keys.len());
        if storage().set_item(&key, &"x".repeat(size)).is_ok() {
            keys.push(key);
        } else {
            size /= 2;
        }
    }
    keys
}

#[wasm_bindgen_test]
async fn a_full_local_storage_evicts_only_the_caches_own_keys_and_never_breaks_get() {
    let ns = namespace();
    let empty_ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let empty = open(config(&empty_ns, &backend, json!({}))).await;
    cache.get("old").await;
    let filler = fill_local_storage(&format!("filler-{ns}-"));

    // Observe first, clean up, then assert: a failure must not leave the origin's storage full.
    let new = cache.get("new").await;
    let old_key_after_new = storage().get_item(&local_key(&ns, "old", 1)).unwrap();
    let new_key_after_new = storage().get_item(&local_key(&ns, "new", 1)).unwrap();
    let nothing_to_evict = empty.get("u1").await;
    let empty_keys = keys_with_prefix(&format!("{empty_ns}:"));
    let skipped_is_counted = empty.has_error("local", "QUOTA_EXCEEDED");
    let from_memory = empty.get("u1").await;
    let filler_intact = filler
        .iter()
        .all(|k| storage().get_item(k).unwrap().is_some());
    for key in &filler {
        storage().remove_item(key).unwrap();
    }

    assert_eq!(new.source, "network");
    assert!(
        old_key_after_new.is_none(),
        "the cache's oldest key made room"
    );
    assert!(
        new_key_after_new.is_some(),
        "then the new record was written"
    );
    assert!(filler_intact, "foreign keys are never evicted");
    assert_eq!(
        nothing_to_evict.source, "network",
        "a skipped write does not fail get"
    );
    assert!(
        empty_keys.is_empty(),
        "nothing of its own to evict: the write is skipped"
    );
    assert!(
        skipped_is_counted,
        "and counted: {:?}",
        empty.recent_errors()
    );
    assert_eq!(from_memory.source, "memory");
}

#[wasm_bindgen_test]
async fn hostile_user_ids_each_keep_their_own_entry() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let users = [
        "u:1",
        "u%3A1",
        "u:local:1:v1",
        "../u/1?x#y",
        "ü ñ",
        "u1:v1",
        "u1",
    ];
    for (i, user) in users.iter().enumerate() {
        backend.set_user(user, Some(&format!("img-{i}")));
    }
    let cache = open(config(&ns, &backend, json!({}))).await;
    for (i, user) in users.iter().enumerate() {
        let picture = cache.get(user).await;
        assert_eq!(picture.user_id, *user);
        assert_eq!(picture.image_id, Some(format!("img-{i}")), "{user}");
    }
    wait_until("every image stored", 3_000, || {
        cache.idb_entries() == Some(users.len() as f64)
    })
    .await;
    cache.invalidate("u:1").await;
    cache.close();

    let requests = backend.total_calls();
    let reloaded = open(config(&ns, &backend, json!({}))).await;
    for (i, user) in users.iter().enumerate().skip(1) {
        let picture = reloaded.get(user).await;
        assert_eq!(picture.source, "indexeddb", "{user}");
        assert_eq!(picture.image_id, Some(format!("img-{i}")), "{user}");
        assert_eq!(
            fetch_bytes(&picture.url).await.unwrap(),
            png(&format!("img-{i}"))
        );
    }
    assert_eq!(backend.total_calls(), requests, "only u:1 was forgotten");
    assert_eq!(reloaded.get("u:1").await.source, "network");
}

#[wasm_bindgen_test]
async fn a_database_deleted_under_the_cache_does_not_break_it() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    wait_until("the image stored", 3_000, || {
        cache.idb_entries() == Some(1.0)
    })
    .await;

    let delete = Function::new_with_args(
        "name",
        "return new Promise((resolve, reject) => {
           const request = indexedDB.deleteDatabase(name);
           request.onsuccess = () => resolve('deleted');
           request.onerror = () => reject(request.error);
           request.onblocked = () => resolve('blocked');
         });",
    );
    let promise = delete
        .call1(&JsValue::NULL, &database_name(&ns).into())
        .unwrap();
    let outcome = JsFuture::from(promise.unchecked_into::<js_sys::Promise>())
        .await
        .unwrap();
    assert_eq!(
        outcome.as_string().as_deref(),
        Some("deleted"),
        "the cache let go of its connection"
    );

    for user in ["u2", "u3"] {
        let picture = cache.get(user).await;
        assert_eq!(picture.source, "network", "{user}");
        assert_eq!(
            fetch_bytes(&picture.url).await.unwrap(),
            png(&format!("img-{user}"))
        );
    }
    assert_eq!(cache.get("u1").await.source, "memory");
}

#[wasm_bindgen_test]
async fn prefetch_while_the_api_fails_resolves_with_everyone_defaulted() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::Batch, Fault::Status(500));
    backend.fault(Endpoint::User, Fault::Status(500));
    let settings = json!({ "batchEndpoint": BATCH_URL, "retry": { "attempts": 1 } });
    let cache = open(config(&ns, &backend, settings)).await;
    let users: Vec<String> = (0..5).map(|i| format!("b{i}")).collect();

    let report = cache.prefetch(&users).await;
    assert_eq!(number(&report, "requested"), 5.0);
    assert_eq!(number(&report, "defaulted"), 5.0);
    assert_eq!(backend.calls(Endpoint::Download), 0);
    assert!(
        keys_with_prefix(&format!("{ns}:")).is_empty(),
        "nothing stored"
    );
    assert!(cache.has_error("network", "NETWORK"));

    backend.heal(Endpoint::Batch);
    backend.heal(Endpoint::User);
    let report = cache.prefetch(&users).await;
    assert_eq!(number(&report, "network"), 5.0);
    assert_eq!(number(&report, "defaulted"), 0.0);
}

//! What the cache says about itself: `stats()`, `diagnose()`, `__AVATAR_CACHE__`, the
//! `performance` timeline, `onEvent` and `debug` logging, checked against known workloads.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use js_sys::{Array, Function, Reflect};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn layer(stats: &JsValue, name: &str) -> JsValue {
    field(&field(stats, "layers"), name)
}

/// Replaces `console.<method>` until the guard drops, keeping every call's arguments.
struct ConsoleSpy {
    method: &'static str,
    original: JsValue,
    calls: Rc<RefCell<Vec<String>>>,
}

impl ConsoleSpy {
    fn new(method: &'static str) -> ConsoleSpy {
        let console = Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        let original = Reflect::get(&console, &method.into()).unwrap();
        let calls = Rc::new(RefCell::new(Vec::new()));
        let sink = calls.clone();
        let spy = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |a: JsValue, b: JsValue| {
            let text = |v: &JsValue| {
                v.as_string().unwrap_or_else(|| {
                    js_sys::JSON::stringify(v)
                        .ok()
                        .and_then(|s| s.as_string())
                        .unwrap_or_default()
                })
            };
            let line = format!("{} {}", text(&a), text(&b));
            if let Ok(mut calls) = sink.try_borrow_mut() {
                calls.push(line);
            }
        })
        .into_js_value();
        Reflect::set(&console, &method.into(), &spy).unwrap();
        ConsoleSpy {
            method,
            original,
            calls,
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl Drop for ConsoleSpy {
    fn drop(&mut self) {
        let console = Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        Reflect::set(&console, &self.method.into(), &self.original).unwrap();
    }
}

#[wasm_bindgen_test]
async fn stats_count_a_known_workload_exactly() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let before = cache.stats();
    assert_eq!(number(&before, "hitRate"), 0.0, "no get yet: no hit rate");

    // 3 users from the network, then 7 more gets of them from memory: 10 gets, 7 hits.
    for user in ["a", "b", "c"] {
        assert_eq!(cache.get(user).await.source, "network");
    }
    for user in ["a", "b", "c", "a", "b", "c", "a"] {
        assert_eq!(cache.get(user).await.source, "memory");
    }
    let stats = cache.stats();
    assert_eq!(number(&stats, "gets"), 10.0);
    assert_eq!(number(&layer(&stats, "memory"), "hits"), 7.0);
    assert_eq!(number(&layer(&stats, "memory"), "misses"), 3.0);
    assert_eq!(number(&layer(&stats, "local"), "misses"), 3.0);
    assert_eq!(number(&layer(&stats, "network"), "hits"), 3.0);
    assert_eq!(number(&layer(&stats, "network"), "errors"), 0.0);
    assert!((number(&stats, "hitRate") - 0.7).abs() < 1e-9);
    assert_eq!(
        number(&stats, "apiCalls"),
        backend.calls(Endpoint::User) as f64
    );
    assert_eq!(number(&stats, "downloads"), 3.0);
    assert_eq!(
        number(&stats, "bytesDownloaded"),
        backend.bytes_served() as f64
    );
    assert_eq!(number(&stats, "objectUrls"), 3.0);
    assert_eq!(number(&stats, "inFlight"), 0.0);
    assert!(number(&stats, "localBytes") > 0.0);
    assert_eq!(string(&stats, "breaker"), "closed");
    let network = layer(&stats, "network");
    assert!(number(&network, "p95Ms") >= number(&network, "p50Ms"));
    assert!(number(&network, "p50Ms") > 0.0);

    // `stats().idb` is there once the store's usage has been read (its writes, or shortly
    // after open, read it).
    wait_until("3 stored images", 3_000, || {
        cache.idb_entries() == Some(3.0)
    })
    .await;
    let idb = field(&cache.stats(), "idb");
    assert_eq!(number(&idb, "maxBytes"), 50.0 * 1024.0 * 1024.0);
    assert_eq!(number(&idb, "maxEntries"), 2000.0);
    assert_eq!(
        number(&field(&cache.stats(), "idb"), "bytes"),
        backend.bytes_served() as f64
    );
}

#[wasm_bindgen_test]
async fn in_flight_requests_are_counted_while_they_wait() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.delay(Endpoint::User, 200);
    let cache = open(config(&ns, &backend, json!({}))).await;
    let pending = cache.get_promise("slow");
    sleep(50).await;
    assert_eq!(number(&cache.stats(), "inFlight"), 1.0);
    pending.await.unwrap();
    assert_eq!(number(&cache.stats(), "inFlight"), 0.0);
}

#[wasm_bindgen_test]
async fn the_storage_estimate_appears_once_measured() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u").await;
    cache.stats();
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let storage = Reflect::get(&navigator, &"storage".into()).unwrap();
    let has_estimate = storage.is_object()
        && Reflect::get(&storage, &"estimate".into()).is_ok_and(|f| f.is_function());
    if !has_estimate {
        // This engine has no StorageManager: the field stays absent rather than made up.
        sleep(100).await;
        assert!(field(&cache.stats(), "storage").is_undefined());
        return;
    }
    wait_until("a storage estimate", 3_000, || {
        !field(&cache.stats(), "storage").is_undefined()
    })
    .await;
    let storage = field(&cache.stats(), "storage");
    assert!(number(&storage, "quota") > 0.0);
    assert!(number(&storage, "usage") >= 0.0);
    assert!(field(&storage, "persisted").as_bool().is_some());
}

#[wasm_bindgen_test]
async fn diagnose_prints_tables_and_returns_the_stats() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    cache.get("u2").await;
    let tables = ConsoleSpy::new("table");
    let logs = ConsoleSpy::new("log");
    let stats = cache.diagnose();
    assert_eq!(number(&stats, "gets"), 2.0);
    assert!(tables.calls().len() >= 2, "layers and entries tables");
    let entries = tables.calls().join("\n");
    assert!(
        entries.contains("\"u1\"") && entries.contains("\"u2\""),
        "{entries}"
    );
    assert!(logs.calls().iter().any(|l| l.contains("hit rate")));
}

#[wasm_bindgen_test]
async fn the_live_instance_is_reachable_from_the_console() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    cache.get("u1").await;
    let handle = Reflect::get(&js_sys::global(), &"__AVATAR_CACHE__".into()).unwrap();
    assert!(handle.is_object());
    let stats_fn: Function = Reflect::get(&handle, &"stats".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let stats = stats_fn.call1(&handle, &ns.clone().into()).unwrap();
    assert_eq!(number(&stats, "gets"), number(&cache.stats(), "gets"));
    assert!(string(&handle, "version").starts_with("0."));
    // One entry per namespace: another cache does not replace this one.
    let other_ns = namespace();
    let other = open(config(&other_ns, &backend, json!({}))).await;
    let caches = field(&handle, "caches");
    assert!(field(&caches, &ns).is_object() && field(&caches, &other_ns).is_object());
    other.close();
    assert!(
        field(&caches, &other_ns).is_undefined(),
        "close unregisters"
    );
    // devtools: false registers nothing.
    let hidden_ns = namespace();
    let _hidden = open(config(&hidden_ns, &backend, json!({ "devtools": false }))).await;
    assert!(field(&caches, &hidden_ns).is_undefined());
}

#[wasm_bindgen_test]
async fn each_get_leaves_a_measure_named_for_its_layer() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let cache = open(config(&ns, &backend, json!({}))).await;
    let user = format!("perf-{}", namespace());
    cache.get(&user).await;
    cache.get(&user).await;
    // The entries are written in the task after the answer, with their times.
    sleep(5).await;
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let by_name: Function = Reflect::get(&performance, &"getEntriesByName".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let for_user = |name: &str| -> usize {
        let entries: Array = by_name
            .call1(&performance, &name.into())
            .unwrap()
            .dyn_into()
            .unwrap();
        entries
            .iter()
            .filter(|e| string(&field(e, "detail"), "userId") == user)
            .count()
    };
    assert_eq!(for_user("avatar-cache get \u{2190} network"), 1);
    assert_eq!(for_user("avatar-cache get \u{2190} memory"), 1);
}

#[wasm_bindgen_test]
async fn on_event_reports_loads_with_layer_time_and_bytes() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let settings = config(&ns, &backend, json!({}));
    let events = record_events(&settings);
    let cache = open(settings).await;
    cache.get("u1").await;
    cache.get("u1").await;
    let loads: Vec<JsValue> = events
        .borrow()
        .iter()
        .filter(|e| string(e, "type") == "load")
        .cloned()
        .collect();
    assert_eq!(loads.len(), 2);
    assert_eq!(string(&loads[0], "source"), "network");
    assert_eq!(number(&loads[0], "bytes"), backend.bytes_served() as f64);
    assert!(number(&loads[0], "ms") > 0.0);
    assert_eq!(string(&loads[1], "source"), "memory");
    assert_eq!(number(&loads[1], "bytes"), 0.0);
}

#[wasm_bindgen_test]
async fn debug_logs_each_decision_and_nothing_is_logged_by_default() {
    let backend = FakeBackend::new();
    let quiet = open(config(&namespace(), &backend, json!({}))).await;
    {
        let spy = ConsoleSpy::new("debug");
        quiet.get("u1").await;
        quiet.get("u1").await;
        assert!(spy.calls().is_empty(), "{:?}", spy.calls());
    }
    let chatty = open(config(&namespace(), &backend, json!({ "debug": true }))).await;
    let spy = ConsoleSpy::new("debug");
    chatty.get("u2").await;
    chatty.get("u2").await;
    let lines = spy.calls();
    assert!(
        lines.iter().all(|l| l.starts_with("[avatar-cache]")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\"source\":\"network\"")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("\"source\":\"memory\"")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("stored in IndexedDB")) || lines.len() >= 2);
}

#[wasm_bindgen_test]
async fn the_breaker_state_and_error_reasons_show_in_stats() {
    let ns = namespace();
    let backend = FakeBackend::new();
    backend.fault(Endpoint::User, Fault::Status(503));
    let cache = open(config(
        &ns,
        &backend,
        json!({ "retry": { "attempts": 1 }, "breaker": { "failures": 2, "cooldownMs": 60000 } }),
    ))
    .await;
    assert_eq!(cache.get("x").await.source, "default");
    assert_eq!(cache.get("y").await.source, "default");
    let stats = cache.stats();
    assert_eq!(string(&stats, "breaker"), "open");
    assert!(number(&layer(&stats, "network"), "errors") >= 2.0);
    assert!(cache.has_error("network", "NETWORK"));
}

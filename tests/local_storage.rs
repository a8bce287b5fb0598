#![cfg(target_arch = "wasm32")]
//! The localStorage layer in a real browser: round trips, the key shape, untrusted values,
//! hostile ids, `clear` and a full storage quota. Every test uses its own namespace.

mod common;

use std::rc::Rc;

use avatar_cache::key::Keys;
use avatar_cache::layers::local::LocalRecordStore;
use avatar_cache::layers::RecordStore;
use avatar_cache::record::PictureRecord;
use avatar_cache::vocabulary::Layer;
use avatar_cache::{Config, Error, ManualClock};
use common::{namespace, stored_record};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const NOW: f64 = 1_800_000_000_000.0;

fn config(ns: &str, version: u32) -> Config {
    Config {
        namespace: ns.to_string(),
        version,
        ..Config::default()
    }
}

fn open(ns: &str) -> LocalRecordStore {
    LocalRecordStore::new(&config(ns, 1), Rc::new(ManualClock::new(NOW))).unwrap()
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

fn key(ns: &str, user: &str) -> String {
    Keys::new(ns, 1).record_key(user)
}

fn is_corrupt(result: avatar_cache::Result<Option<PictureRecord>>) -> bool {
    matches!(
        result,
        Err(Error::CorruptEntry {
            layer: Layer::Local,
            ..
        })
    )
}

#[wasm_bindgen_test]
fn round_trip_returns_the_stored_record() {
    let ns = namespace();
    let store = open(&ns);
    let r = stored_record("42", NOW);
    assert_eq!(store.get("42").unwrap(), None);
    store.put(&r).unwrap();
    assert_eq!(store.get("42").unwrap(), Some(r.clone()));
    let newer = PictureRecord {
        image_id: Some("img-new".into()),
        ..stored_record("42", NOW + 1.0)
    };
    store.put(&newer).unwrap();
    assert_eq!(store.get("42").unwrap(), Some(newer));
}

#[wasm_bindgen_test]
fn keys_have_the_documented_shape() {
    let ns = namespace();
    let store = open(&ns);
    let r = stored_record("u:1/x", NOW);
    store.put(&r).unwrap();
    let expected_key = format!("{ns}:local:u%3A1%2Fx:v1");
    assert_eq!(store.key_of("u:1/x"), expected_key);
    assert_eq!(
        storage().get_item(&expected_key).unwrap(),
        Some(r.to_json())
    );
}

#[wasm_bindgen_test]
fn junk_and_tampered_values_are_misses_and_removed() {
    let ns = namespace();
    let store = open(&ns);
    let k = key(&ns, "u");
    let good = stored_record("u", NOW).to_json();
    let cases = [
        "not json".to_string(),
        "".to_string(),
        "{}".to_string(),
        "null".to_string(),
        "[1,2]".to_string(),
        "\"a string\"".to_string(),
        good.replace("\"version\":1", "\"version\":2"),
        good.replace("\"fetchedAt\":1800000000000", "\"fetchedAt\":9e15"),
        good.replace("\"fetchedAt\":1800000000000", "\"fetchedAt\":-1"),
        good.replace("\"userId\"", "\"script\":\"alert(1)\",\"userId\""),
    ];
    for value in cases {
        storage().set_item(&k, &value).unwrap();
        assert!(is_corrupt(store.get("u")), "{value} was not a miss");
        assert_eq!(storage().get_item(&k).unwrap(), None, "{value} was kept");
        assert_eq!(store.get("u").unwrap(), None);
    }
}

#[wasm_bindgen_test]
fn another_users_record_under_this_key_is_a_miss() {
    let ns = namespace();
    let store = open(&ns);
    let k = key(&ns, "alice");
    storage()
        .set_item(&k, &stored_record("mallory", NOW).to_json())
        .unwrap();
    assert!(is_corrupt(store.get("alice")));
    assert_eq!(storage().get_item(&k).unwrap(), None);
}

#[wasm_bindgen_test]
fn older_version_keys_are_removed_when_the_store_opens() {
    let ns = namespace();
    let s = storage();
    let v0 = Keys::new(&ns, 0).record_key("u");
    let v7 = Keys::new(&ns, 7).record_key("w");
    let foreign = format!("{ns}x:local:u:v0");
    let mut old = stored_record("u", NOW);
    old.version = 0;
    s.set_item(&v0, &old.to_json()).unwrap();
    s.set_item(&v7, "whatever").unwrap();
    s.set_item(&foreign, "not ours").unwrap();
    // An earlier release's notes for its service worker: user ids, gone with its records.
    let old_notes = Keys::new(&ns, 0).handover_key();
    s.set_item(&old_notes, r#"["u"]"#).unwrap();

    // A newer release's notes: its tabs' (a rollout runs both releases at once).
    let newer_notes = Keys::new(&ns, 7).handover_key();
    s.set_item(&newer_notes, r#"["w"]"#).unwrap();

    let store = open(&ns);
    assert_eq!(store.swept_old_versions(), 2);
    assert_eq!(s.get_item(&old_notes).unwrap(), None);
    assert_eq!(s.get_item(&v0).unwrap(), None);
    assert_eq!(
        s.get_item(&v7).unwrap().as_deref(),
        Some("whatever"),
        "a newer version's record is left to its tabs"
    );
    assert!(s.get_item(&newer_notes).unwrap().is_some());
    s.remove_item(&v7).unwrap();
    s.remove_item(&newer_notes).unwrap();
    assert_eq!(store.get("u").unwrap(), None);
    assert_eq!(s.get_item(&foreign).unwrap().as_deref(), Some("not ours"));
    s.remove_item(&foreign).unwrap();
}

#[wasm_bindgen_test]
fn hostile_ids_never_collide() {
    let ns = namespace();
    let store = open(&ns);
    let long = "x".repeat(10_000);
    let ids = [
        ":",
        "a:b",
        "a",
        "b",
        "a:local:b:v1",
        "a%3Ab",
        "/",
        "../..",
        "ü",
        "日本語",
        "🙂",
        "v1",
        long.as_str(),
    ];
    for (i, id) in ids.iter().enumerate() {
        store.put(&stored_record(id, NOW + i as f64)).unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        let got = store.get(id).unwrap().expect(id);
        assert_eq!(got.user_id, *id);
        assert_eq!(got.fetched_at, NOW + i as f64);
    }
    assert_eq!(store.records().len(), ids.len());
    store.clear().unwrap();
}

#[wasm_bindgen_test]
fn clear_removes_only_own_keys() {
    let ns = namespace();
    let s = storage();
    let store = open(&ns);
    store.put(&stored_record("a", NOW)).unwrap();
    store.put(&stored_record("b", NOW)).unwrap();
    let foreign = [
        format!("{ns}x:local:a:v1"),
        format!("x{ns}:local:a:v1"),
        format!("{ns}:sync:a"),
        ns.clone(),
        "app-settings".to_string(),
    ];
    for k in &foreign {
        s.set_item(k, "app data").unwrap();
    }
    // Written by this namespace under another version after the store opened.
    s.set_item(&Keys::new(&ns, 9).record_key("c"), "old")
        .unwrap();
    // And notes of that version's tabs: no user id survives a logout.
    let old_notes = Keys::new(&ns, 9).handover_key();
    s.set_item(&old_notes, r#"["c"]"#).unwrap();

    store.clear().unwrap();
    assert_eq!(s.get_item(&old_notes).unwrap(), None);

    assert_eq!(store.get("a").unwrap(), None);
    assert_eq!(store.bytes_used(), 0);
    let keys = Keys::new(&ns, 1);
    for i in 0..s.length().unwrap() {
        let k = s.key(i).unwrap().unwrap();
        assert!(!keys.is_own(&k), "{k} survived clear");
    }
    for k in &foreign {
        assert_eq!(s.get_item(k).unwrap().as_deref(), Some("app data"), "{k}");
        s.remove_item(k).unwrap();
    }
}

#[wasm_bindgen_test]
fn remove_bytes_used_and_records_see_only_this_namespace() {
    let ns = namespace();
    let store = open(&ns);
    let a = stored_record("a", NOW);
    let b = stored_record("b", NOW);
    store.put(&a).unwrap();
    store.put(&b).unwrap();
    let expected = |r: &PictureRecord| {
        let k = key(&ns, &r.user_id);
        (k.encode_utf16().count() + r.to_json().encode_utf16().count()) as u64 * 2
    };
    assert_eq!(store.bytes_used(), expected(&a) + expected(&b));
    let mut users: Vec<String> = store.records().into_iter().map(|r| r.user_id).collect();
    users.sort();
    assert_eq!(users, ["a", "b"]);

    store.remove("a").unwrap();
    assert_eq!(store.get("a").unwrap(), None);
    assert_eq!(store.get("b").unwrap(), Some(b.clone()));
    assert_eq!(store.bytes_used(), expected(&b));
    store.clear().unwrap();
}

#[wasm_bindgen_test]
fn records_of_another_version_are_refused_on_put() {
    let store = open(&namespace());
    let mut r = stored_record("u", NOW);
    r.version = 2;
    assert!(matches!(store.put(&r), Err(Error::InvalidArgument { .. })));
    assert!(matches!(store.get(""), Err(Error::InvalidArgument { .. })));
}

/// Foreign filler keys that fill localStorage to the last few bytes; removed when dropped, even
/// if the test fails.
struct Filler {
    keys: Vec<(String, usize)>,
}

impl Filler {
    fn fill(prefix: &str) -> Filler {
        let s = storage();
        let mut keys = Vec::new();
        let mut chunk = 1_000_000usize;
        loop {
            let key = format!("{prefix}-{}", keys.len());
            match s.set_item(&key, &"x".repeat(chunk)) {
                Ok(()) => keys.push((key, chunk)),
                Err(e) => {
                    let name = js_sys::Reflect::get(&e, &JsValue::from_str("name"))
                        .unwrap()
                        .as_string()
                        .unwrap_or_default();
                    assert!(
                        name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED",
                        "filling threw {name}"
                    );
                    if chunk == 1 {
                        break;
                    }
                    chunk /= 10;
                }
            }
            assert!(keys.len() < 1_000, "localStorage never filled up");
        }
        Filler { keys }
    }

    fn assert_untouched(&self) {
        let s = storage();
        for (key, len) in &self.keys {
            let value = s.get_item(key).unwrap();
            assert_eq!(value.map(|v| v.len()), Some(*len), "{key} was touched");
        }
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        let s = storage();
        for (key, _) in &self.keys {
            let _ = s.remove_item(key);
        }
    }
}

fn big_record(user: &str, fetched_at: f64) -> PictureRecord {
    PictureRecord {
        remote_url: format!(
            "https://s3.example/{user}?X-Amz-Signature={}",
            "s".repeat(3_000)
        ),
        ..stored_record(user, fetched_at)
    }
}

#[wasm_bindgen_test]
fn full_storage_evicts_own_oldest_keys_and_never_foreign_ones() {
    let ns = namespace();
    let store = open(&ns);
    for (i, user) in ["r0", "r1", "r2", "r3"].iter().enumerate() {
        store
            .put(&big_record(user, NOW - 1_000.0 * (4 - i) as f64))
            .unwrap();
    }
    let filler = Filler::fill(&format!("filler-{ns}"));

    // Full: the put makes room among the cache's own keys, oldest first, and succeeds.
    let newest = big_record("new", NOW);
    store.put(&newest).unwrap();
    assert_eq!(store.get("new").unwrap(), Some(newest));
    assert_eq!(store.get("r0").unwrap(), None);
    assert_eq!(store.get("r1").unwrap(), None);
    assert!(store.get("r2").unwrap().is_some());
    assert!(store.get("r3").unwrap().is_some());
    filler.assert_untouched();

    // Full again with no key of its own left: a quota error, never an exception, and the
    // app's keys are still untouched.
    store.clear().unwrap();
    let more = Filler::fill(&format!("more-{ns}"));
    let result = store.put(&big_record("late", NOW));
    assert_eq!(
        result,
        Err(Error::QuotaExceeded {
            layer: Layer::Local
        })
    );
    assert_eq!(store.get("late").unwrap(), None);
    filler.assert_untouched();
    more.assert_untouched();
}

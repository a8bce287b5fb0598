//! Which browser engine runs the suite, and that its storage works at all: one round trip
//! through localStorage (gloo-storage) and IndexedDB (rexie). The user agent is printed once so
//! the test output shows Chromium, Firefox and WebKit each ran.
#![cfg(target_arch = "wasm32")]

use gloo_storage::{LocalStorage, Storage};
use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn prints_the_engine_user_agent() {
    let ua = web_sys::window().unwrap().navigator().user_agent().unwrap();
    console_log!("ENGINE USER AGENT: {ua}");
    assert!(!ua.is_empty());
}

#[wasm_bindgen_test]
fn local_storage_round_trips_through_gloo_storage() {
    let key = format!("engine-test:{}", js_sys::Math::random());
    LocalStorage::set(&key, vec![1u8, 2, 3]).unwrap();
    let back: Vec<u8> = LocalStorage::get(&key).unwrap();
    assert_eq!(back, vec![1, 2, 3]);
    LocalStorage::delete(&key);
    assert!(LocalStorage::get::<Vec<u8>>(&key).is_err());
}

#[wasm_bindgen_test]
async fn indexeddb_round_trips_through_rexie() {
    let name = format!("engine-test-{}", js_sys::Math::random());
    let db = Rexie::builder(&name)
        .version(1)
        .add_object_store(ObjectStore::new("kv"))
        .build()
        .await
        .unwrap();
    let tx = db.transaction(&["kv"], TransactionMode::ReadWrite).unwrap();
    let store = tx.store("kv").unwrap();
    store
        .put(&JsValue::from_str("picture"), Some(&JsValue::from_str("k")))
        .await
        .unwrap();
    tx.done().await.unwrap();

    let tx = db.transaction(&["kv"], TransactionMode::ReadOnly).unwrap();
    let value = tx
        .store("kv")
        .unwrap()
        .get(JsValue::from_str("k"))
        .await
        .unwrap();
    assert_eq!(
        value.and_then(|v| v.as_string()).as_deref(),
        Some("picture")
    );
    tx.done().await.unwrap();
    db.close();
    Rexie::delete(&name).await.unwrap();
}

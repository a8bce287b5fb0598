#![cfg(target_arch = "wasm32")]
//! The IndexedDB layer in a real browser: round trips, LRU eviction inside the put transaction,
//! untrusted rows, schema migration, blocked opens, lost connections, the bytes fallback and
//! `clear`. Every test uses its own namespace, hence its own database.

mod common;

use std::rc::Rc;

use avatar_cache::key::Keys;
use avatar_cache::layers::body::Body;
use avatar_cache::layers::idb::{IdbImageStore, IMAGES_STORE, META_STORE, SCHEMA_VERSION};
use avatar_cache::layers::{ImageStore, StoreUsage};
use avatar_cache::record::{ImageMeta, StoredImage};
use avatar_cache::vocabulary::Layer;
use avatar_cache::{Config, Error, ManualClock};
use common::{namespace, stored_record};
use futures::future::{select, Either};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    Blob, BlobPropertyBag, IdbDatabase, IdbFactory, IdbRequest, IdbTransaction, IdbTransactionMode,
};

wasm_bindgen_test_configure!(run_in_browser);

const NOW: f64 = 1_800_000_000_000.0;

/// A 1×1 transparent PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

fn config(ns: &str) -> Config {
    let mut c = Config {
        namespace: ns.to_string(),
        ..Config::default()
    };
    c.idb.open_timeout_ms = 2_000;
    c
}

fn clock() -> Rc<ManualClock> {
    Rc::new(ManualClock::new(NOW))
}

async fn open(c: &Config) -> IdbImageStore {
    IdbImageStore::open(c, clock()).await.unwrap()
}

fn key(ns: &str, id: &str) -> String {
    Keys::new(ns, 1).image_key(id)
}

/// The PNG followed by `extra` bytes, so that sizes differ.
fn png_bytes(extra: usize) -> Vec<u8> {
    let mut bytes = PNG.to_vec();
    bytes.extend((0..extra).map(|i| i as u8));
    bytes
}

fn blob(bytes: &[u8], mime: &str) -> Blob {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let parts = Array::of1(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).unwrap()
}

fn meta(id: &str, bytes: usize, last_access: f64) -> ImageMeta {
    ImageMeta {
        image_id: id.to_string(),
        mime: "image/png".into(),
        bytes: bytes as u64,
        etag: Some("\"etag-1\"".into()),
        stored_at: NOW - 10.0,
        last_access,
        version: 1,
        thumbhash: None,
    }
}

fn image(id: &str, extra: usize, last_access: f64) -> StoredImage<Body> {
    let bytes = png_bytes(extra);
    StoredImage {
        meta: meta(id, bytes.len(), last_access),
        body: Body::Blob(blob(&bytes, "image/png")),
    }
}

/// The bytes of a body, in whichever form it is held.
async fn read_body(body: &Body) -> Vec<u8> {
    match body {
        Body::Bytes { bytes, .. } => bytes.to_vec(),
        Body::Blob(blob) => {
            let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
            Uint8Array::new(&buffer).to_vec()
        }
    }
}

/// The MIME type of a body.
fn body_type(body: &Body) -> String {
    match body {
        Body::Bytes { mime, .. } => mime.clone(),
        Body::Blob(blob) => blob.type_(),
    }
}

async fn ids_present(store: &IdbImageStore, ids: &[&str]) -> Vec<bool> {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    store
        .get_many(&ids)
        .await
        .unwrap()
        .iter()
        .map(Option::is_some)
        .collect()
}

// ---- raw IndexedDB, as another tab or an older release would use it -------------------------

fn factory() -> IdbFactory {
    web_sys::window().unwrap().indexed_db().unwrap().unwrap()
}

fn sleep(ms: i32) -> JsFuture {
    JsFuture::from(Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    }))
}

fn request_promise(request: &IdbRequest) -> JsFuture {
    JsFuture::from(Promise::new(&mut |resolve, reject| {
        let r = request.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or_default());
        });
        let r = request.clone();
        let err = Closure::once_into_js(move || {
            let error = r.error().ok().flatten().map(JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &error.unwrap_or_default());
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(err.unchecked_ref()));
    }))
}

async fn tx_done(tx: &IdbTransaction) {
    JsFuture::from(Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(resolve.unchecked_ref()));
        tx.set_onabort(Some(reject.unchecked_ref()));
    }))
    .await
    .unwrap();
}

/// Opens `name` without any `versionchange` handler: like a tab that never lets go.
async fn raw_open(
    name: &str,
    version: Option<u32>,
    upgrade: impl FnOnce(&IdbDatabase) + 'static,
) -> IdbDatabase {
    let request = match version {
        Some(v) => factory().open_with_u32(name, v),
        None => factory().open(name),
    }
    .unwrap();
    let r = request.clone();
    let on_upgrade = Closure::once_into_js(move || {
        upgrade(&r.result().unwrap().unchecked_into());
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    request_promise(&request).await.unwrap().unchecked_into()
}

/// Opens the current database, runs `f` in one readwrite transaction over `stores`, closes.
async fn raw_write(name: &str, stores: &[&str], f: impl FnOnce(&IdbTransaction)) {
    let db = raw_open(name, None, |_| {}).await;
    let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
    let tx = db
        .transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite)
        .unwrap();
    f(&tx);
    tx_done(&tx).await;
    db.close();
}

async fn raw_get(name: &str, store: &str, key: &str) -> JsValue {
    let db = raw_open(name, None, |_| {}).await;
    let tx = db.transaction_with_str(store).unwrap();
    let request = tx
        .object_store(store)
        .unwrap()
        .get(&JsValue::from_str(key))
        .unwrap();
    let value = request_promise(&request).await.unwrap();
    db.close();
    value
}

/// Puts `value` under `key` in `store`, as another tab or an older release would.
async fn raw_put(name: &str, store: &str, key: &str, value: &JsValue) {
    let (store, key, value) = (store.to_string(), key.to_string(), value.clone());
    raw_write(name, &[&store.clone()], move |tx| {
        tx.object_store(&store)
            .unwrap()
            .put_with_key(&value, &key.as_str().into())
            .unwrap();
    })
    .await;
}

/// Deletes `key` from `store`.
async fn raw_remove(name: &str, store: &str, key: &str) {
    let (store, key) = (store.to_string(), key.to_string());
    raw_write(name, &[&store.clone()], move |tx| {
        tx.object_store(&store)
            .unwrap()
            .delete(&key.as_str().into())
            .unwrap();
    })
    .await;
}

/// The keys of the image rows in `store` (the metadata store's writer row is not one).
async fn raw_keys(name: &str, store: &str) -> Vec<String> {
    let db = raw_open(name, None, |_| {}).await;
    let tx = db.transaction_with_str(store).unwrap();
    let request = tx.object_store(store).unwrap().get_all_keys().unwrap();
    let keys: Array = request_promise(&request).await.unwrap().unchecked_into();
    db.close();
    keys.iter()
        .filter_map(|k| k.as_string())
        .filter(|k| k != "~writer")
        .collect()
}

/// Deletes a database; `false` if that did not finish within `ms` (someone kept it open).
async fn raw_delete(name: &str, ms: i32) -> bool {
    let request = factory().delete_database(name).unwrap();
    matches!(
        select(request_promise(&request), sleep(ms)).await,
        Either::Left((Ok(_), _))
    )
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

/// An image row in the fallback form, which every engine can store.
fn bytes_row(bytes: &[u8], mime: &str) -> JsValue {
    object(&[
        ("bytes", Uint8Array::from(bytes).buffer().into()),
        ("mime", mime.into()),
    ])
}

fn meta_value(m: &ImageMeta) -> JsValue {
    avatar_cache::layers::idb::meta_value(m)
}

// ---- tests ------------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn round_trip_of_a_real_image_blob() {
    let c = config(&namespace());
    let store = open(&c).await;
    assert!(store.is_available());
    let img = image("avatar-1", 0, NOW);
    assert_eq!(store.put(img.clone()).await.unwrap(), Vec::<String>::new());

    let got = store.get("avatar-1").await.unwrap().unwrap();
    assert_eq!(got.meta, img.meta);
    assert_eq!(body_type(&got.body), "image/png");
    assert_eq!(read_body(&got.body).await, PNG);
    assert_eq!(
        store.usage().await.unwrap(),
        StoreUsage {
            bytes: PNG.len() as u64,
            entries: 1
        }
    );
    // A Blob where the engine stores Blobs; bytes where it refuses them (WebKit's ephemeral
    // sessions, like Safari's private browsing), chosen by the store itself.
    let row = raw_get(
        &c.database_name(),
        IMAGES_STORE,
        &key(&c.namespace, "avatar-1"),
    )
    .await;
    let stored_blob = Reflect::get(&row, &"blob".into()).unwrap();
    let stored_bytes = Reflect::get(&row, &"bytes".into()).unwrap();
    if store.stores_bytes() {
        assert!(stored_bytes.is_instance_of::<js_sys::ArrayBuffer>());
    } else {
        assert!(stored_blob.is_instance_of::<Blob>());
    }

    store.remove("avatar-1").await.unwrap();
    assert!(store.get("avatar-1").await.unwrap().is_none());
    assert_eq!(store.usage().await.unwrap(), StoreUsage::default());
}

#[wasm_bindgen_test]
async fn get_many_answers_in_order_with_misses() {
    let store = open(&config(&namespace())).await;
    store.put(image("a", 1, NOW)).await.unwrap();
    store.put(image("c", 3, NOW)).await.unwrap();
    let ids: Vec<String> = ["c", "b", "a", "zz"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = store.get_many(&ids).await.unwrap();
    let got: Vec<Option<String>> = got
        .into_iter()
        .map(|i| i.map(|i| i.meta.image_id))
        .collect();
    assert_eq!(got, [Some("c".into()), None, Some("a".into()), None]);
    assert!(store.get_many(&[]).await.unwrap().is_empty());
}

/// The ids `{prefix}00`, `{prefix}01`, …: stored in key order.
fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:02}")).collect()
}

/// What `get_many(ids)` answers, as (id, bytes) per id asked.
async fn answers(store: &IdbImageStore, ids: &[String]) -> Vec<Option<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for found in store.get_many(ids).await.unwrap() {
        out.push(match found {
            Some(image) => Some((image.meta.image_id, read_body(&image.body).await)),
            None => None,
        });
    }
    out
}

/// Stores `n` numbered images (`{prefix}00`, …; the `i`-th holds `png_bytes(i)`): their ids.
async fn store_numbered(store: &IdbImageStore, prefix: &str, n: usize) -> Vec<String> {
    let ids = numbered(prefix, n);
    for (i, id) in ids.iter().enumerate() {
        store.put(image(id, i, NOW)).await.unwrap();
    }
    ids
}

/// Checks that `get_many(asked)` answers each stored id with its bytes and nothing else.
async fn assert_answers(store: &IdbImageStore, asked: &[String], stored: &[String]) {
    let got = answers(store, asked).await;
    for (id, answer) in asked.iter().zip(&got) {
        match stored.iter().position(|s| s == id) {
            Some(i) => assert_eq!(answer, &Some((id.clone(), png_bytes(i))), "{id}"),
            None => assert_eq!(answer, &None, "{id}"),
        }
    }
}

#[wasm_bindgen_test]
async fn a_batch_that_is_most_of_its_range_is_answered_from_one_range_read() {
    // 30 stored rows; 24 asked for (with a repeat and two ids that are not stored), so the
    // rows not asked for are few enough for one range read (policy::range_read).
    let c = config(&namespace());
    let store = open(&c).await;
    let stored = store_numbered(&store, "r", 30).await;
    // A corrupt row inside the range that nobody asks for stays as it is.
    let name = c.database_name();
    let not_asked = key(&c.namespace, "r10x");
    raw_put(
        &name,
        IMAGES_STORE,
        &not_asked,
        &JsValue::from_str("not a row"),
    )
    .await;
    let mut ids: Vec<String> = stored.iter().skip(3).take(22).rev().cloned().collect();
    ids.push("r07".into());
    ids.push("r07z".into());
    ids.push("zz".into());
    assert_answers(&store, &ids, &stored).await;
    assert!(raw_keys(&name, IMAGES_STORE).await.contains(&not_asked));
}

#[wasm_bindgen_test]
async fn a_range_read_finds_escaped_ids_under_a_unicode_namespace() {
    // The bounds are taken in Rust's order; IndexedDB compares UTF-16 code units. Escaped ids
    // (astral and BMP characters, `:` and `/`) under a namespace outside ASCII still fall inside.
    let c = config(&format!("{}-\u{2603}\u{1D11E}\u{FFFD}", namespace()));
    let store = open(&c).await;
    let ids: Vec<String> = [
        "\u{1D11E}",
        "\u{FFFD}",
        "a:b",
        "a/b",
        "\u{E000}",
        "z",
        "\u{10FFFF}x",
    ]
    .iter()
    .flat_map(|s| [format!("{s}1"), format!("1{s}")])
    .collect();
    for (i, id) in ids.iter().enumerate() {
        store.put(image(id, i, NOW)).await.unwrap();
    }
    assert_answers(&store, &ids, &ids).await;
}

#[wasm_bindgen_test]
async fn a_corrupt_row_asked_for_in_a_range_read_is_a_miss_and_is_deleted() {
    let c = config(&namespace());
    let store = open(&c).await;
    let ids = store_numbered(&store, "c", 12).await;
    let name = c.database_name();
    let bad = key(&c.namespace, "c05");
    raw_put(&name, IMAGES_STORE, &bad, &JsValue::from_str("not a row")).await;
    let got = answers(&store, &ids).await;
    assert_eq!(got.iter().filter(|a| a.is_some()).count(), 11);
    assert_eq!(got[5], None);
    assert!(!raw_keys(&name, IMAGES_STORE).await.contains(&bad));
    assert!(!raw_keys(&name, META_STORE).await.contains(&bad));
}

#[wasm_bindgen_test]
async fn a_sparse_batch_reads_each_stored_row_it_asks_for() {
    // 10 of 20 stored rows asked for, every other one: a range read would fetch 10 rows not
    // asked for, so each stored row asked for is read alone; an id between them that is not
    // stored is not read at all.
    let c = config(&namespace());
    let store = open(&c).await;
    let stored = store_numbered(&store, "s", 20).await;
    let mut ids: Vec<String> = stored.iter().step_by(2).cloned().collect();
    ids.push("s05x".into());
    assert_answers(&store, &ids, &stored).await;
}

#[wasm_bindgen_test]
async fn a_batch_spread_over_a_large_range_reads_a_bounded_number_of_keys() {
    // 60 stored rows, 8 asked for across all of them: the key read stops at its limit, and
    // the 8 are read point by point.
    let c = config(&namespace());
    let store = open(&c).await;
    let stored = store_numbered(&store, "w", 60).await;
    let ids: Vec<String> = stored.iter().step_by(8).cloned().collect();
    assert_eq!(ids.len(), 8);
    assert_answers(&store, &ids, &stored).await;
}

#[wasm_bindgen_test]
async fn puts_evict_least_recently_used_by_entry_count() {
    let mut c = config(&namespace());
    c.idb.max_entries = 3;
    let store = open(&c).await;
    let name = c.database_name();
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        assert!(store
            .put(image(id, i, NOW + i as f64))
            .await
            .unwrap()
            .is_empty());
    }
    assert_eq!(store.put(image("d", 3, NOW + 3.0)).await.unwrap(), ["a"]);
    // The write and the eviction committed together: the database never holds four images.
    assert_eq!(raw_keys(&name, IMAGES_STORE).await.len(), 3);
    assert_eq!(raw_keys(&name, META_STORE).await.len(), 3);
    assert_eq!(store.put(image("e", 4, NOW + 4.0)).await.unwrap(), ["b"]);
    assert_eq!(
        ids_present(&store, &["a", "b", "c", "d", "e"]).await,
        [false, false, true, true, true]
    );
    assert_eq!(store.usage().await.unwrap().entries, 3);
    assert_eq!(raw_keys(&name, META_STORE).await.len(), 3);
}

#[wasm_bindgen_test]
async fn puts_evict_least_recently_used_by_bytes() {
    let mut c = config(&namespace());
    let size = png_bytes(100).len() as u64;
    c.idb.max_bytes = 3 * size;
    let store = open(&c).await;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        assert!(store
            .put(image(id, 100, NOW + i as f64))
            .await
            .unwrap()
            .is_empty());
    }
    // One and a half images more than fits: the two oldest go.
    let big = png_bytes(100 + size as usize / 2).len() as u64;
    assert_eq!(
        store
            .put(image("d", 100 + size as usize / 2, NOW + 3.0))
            .await
            .unwrap(),
        ["a", "b"]
    );
    assert_eq!(
        ids_present(&store, &["a", "b", "c", "d"]).await,
        [false, false, true, true]
    );
    let usage = store.usage().await.unwrap();
    assert_eq!(usage.bytes, size + big);
    assert!(usage.bytes <= c.idb.max_bytes);
    // Larger than the whole budget: refused, nothing evicted.
    let too_big = image("huge", 3 * size as usize, NOW + 4.0);
    assert!(matches!(
        store.put(too_big).await,
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(ids_present(&store, &["c", "d"]).await, [true, true]);
}

#[wasm_bindgen_test]
async fn touch_changes_eviction_order() {
    let mut c = config(&namespace());
    c.idb.max_entries = 3;
    let store = open(&c).await;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        store.put(image(id, i, NOW + i as f64)).await.unwrap();
    }
    store
        .touch(&[
            ("a".to_string(), NOW + 10.0),
            ("nope".to_string(), NOW + 10.0),
        ])
        .await
        .unwrap();
    assert_eq!(store.put(image("d", 3, NOW + 11.0)).await.unwrap(), ["b"]);
    let a = store.get("a").await.unwrap().unwrap();
    assert_eq!(a.meta.last_access, NOW + 10.0);
    // The order survives a reopen: it was written to the database, not only to memory.
    drop(store);
    let store = open(&c).await;
    assert_eq!(store.put(image("e", 4, NOW + 12.0)).await.unwrap(), ["c"]);
}

#[wasm_bindgen_test]
async fn corrupt_meta_rows_are_misses_and_removed() {
    let c = config(&namespace());
    let store = open(&c).await;
    let name = c.database_name();
    let good = meta("x", PNG.len(), NOW);
    let cases: Vec<(&str, JsValue)> = vec![
        (
            "wrong-version",
            meta_value(&ImageMeta {
                version: 7,
                ..good.clone()
            }),
        ),
        (
            "html",
            meta_value(&ImageMeta {
                mime: "text/html".into(),
                ..good.clone()
            }),
        ),
        (
            "svg",
            meta_value(&ImageMeta {
                mime: "image/svg+xml".into(),
                ..good.clone()
            }),
        ),
        (
            "empty",
            meta_value(&ImageMeta {
                bytes: 0,
                ..good.clone()
            }),
        ),
        (
            "lying-size",
            meta_value(&ImageMeta {
                bytes: 5,
                ..good.clone()
            }),
        ),
        (
            "future",
            meta_value(&ImageMeta {
                stored_at: 9e15,
                ..good.clone()
            }),
        ),
        (
            "missing-fields",
            object(&[("imageId", "missing-fields".into())]),
        ),
        (
            "not-an-object",
            JsValue::from_str("<script>alert(1)</script>"),
        ),
        (
            "another-image",
            meta_value(&ImageMeta {
                image_id: "victim".into(),
                ..good.clone()
            }),
        ),
    ];
    let seeded: Vec<(String, JsValue)> = cases
        .into_iter()
        .map(|(id, value)| {
            // Fix the id inside well-formed rows, so that only the named defect remains.
            if let Some(mut m) = avatar_cache::layers::idb::meta_of(&value) {
                if m.image_id == "x" {
                    m.image_id = id.to_string();
                    return (id.to_string(), meta_value(&m));
                }
            }
            (id.to_string(), value)
        })
        .collect();
    let rows = seeded.clone();
    let ns = c.namespace.clone();
    raw_write(&name, &[IMAGES_STORE, META_STORE], move |tx| {
        let images = tx.object_store(IMAGES_STORE).unwrap();
        let metas = tx.object_store(META_STORE).unwrap();
        for (id, value) in &rows {
            let k = JsValue::from_str(&key(&ns, id));
            images
                .put_with_key(&bytes_row(PNG, "image/png"), &k)
                .unwrap();
            metas.put_with_key(value, &k).unwrap();
        }
    })
    .await;

    for (id, _) in &seeded {
        let result = store.get(id).await;
        assert!(
            matches!(
                result,
                Err(Error::CorruptEntry {
                    layer: Layer::IndexedDb,
                    ..
                })
            ),
            "{id}: {result:?}"
        );
    }
    assert!(raw_keys(&name, IMAGES_STORE).await.is_empty());
    assert!(raw_keys(&name, META_STORE).await.is_empty());
    for (id, _) in &seeded {
        assert!(store.get(id).await.unwrap().is_none());
    }
}

#[wasm_bindgen_test]
async fn corrupt_rows_are_misses_in_get_many_too() {
    let c = config(&namespace());
    let store = open(&c).await;
    store.put(image("ok", 0, NOW)).await.unwrap();
    let name = c.database_name();
    let k = key(&c.namespace, "bad");
    raw_write(&name, &[IMAGES_STORE, META_STORE], move |tx| {
        let k = JsValue::from_str(&k);
        tx.object_store(IMAGES_STORE)
            .unwrap()
            .put_with_key(&JsValue::from_str("not an image row"), &k)
            .unwrap();
        tx.object_store(META_STORE)
            .unwrap()
            .put_with_key(&meta_value(&meta("bad", PNG.len(), NOW)), &k)
            .unwrap();
    })
    .await;
    assert_eq!(ids_present(&store, &["bad", "ok"]).await, [false, true]);
    assert_eq!(raw_keys(&name, META_STORE).await, [key(&c.namespace, "ok")]);
}

#[wasm_bindgen_test]
async fn old_version_and_corrupt_rows_are_cleaned_when_the_mirror_loads() {
    let ns = namespace();
    let v1 = config(&ns);
    let store = open(&v1).await;
    store.put(image("a", 0, NOW)).await.unwrap();
    store.put(image("b", 1, NOW)).await.unwrap();
    drop(store);
    let name = v1.database_name();
    // A current-version row whose metadata is an HTML page, and an image without metadata.
    let v2_keys = Keys::new(&ns, 2);
    let html = v2_keys.image_key("html");
    let orphan = v2_keys.image_key("orphan");
    let (h, o) = (html.clone(), orphan.clone());
    raw_write(&name, &[IMAGES_STORE, META_STORE], move |tx| {
        let images = tx.object_store(IMAGES_STORE).unwrap();
        let row = bytes_row(PNG, "text/html");
        images.put_with_key(&row, &h.as_str().into()).unwrap();
        images.put_with_key(&row, &o.as_str().into()).unwrap();
        let m = ImageMeta {
            mime: "text/html".into(),
            version: 2,
            ..meta("html", PNG.len(), NOW)
        };
        tx.object_store(META_STORE)
            .unwrap()
            .put_with_key(&meta_value(&m), &h.as_str().into())
            .unwrap();
    })
    .await;

    let mut v2 = v1.clone();
    v2.version = 2;
    let store = open(&v2).await;
    // Open does not read the rows; the first operation that plans on them does (a page's
    // cache asks for the usage shortly after open).
    assert_eq!(store.usage().await.unwrap(), StoreUsage::default());
    assert!(raw_keys(&name, IMAGES_STORE).await.is_empty());
    assert!(raw_keys(&name, META_STORE).await.is_empty());
    assert!(store.get("a").await.unwrap().is_none());
    store.put(image("a", 0, NOW)).await.unwrap();
    assert_eq!(
        raw_keys(&name, IMAGES_STORE).await,
        [v2_keys.image_key("a")]
    );
}

/// Writes one schema-1 row (metadata beside the Blob); `false` if the engine refuses Blobs.
async fn seed_schema_1_row(db: &IdbDatabase, k: &str, m: &ImageMeta, bytes: &[u8]) -> bool {
    let tx = db
        .transaction_with_str_and_mode(IMAGES_STORE, IdbTransactionMode::Readwrite)
        .unwrap();
    let row = meta_value(m);
    Reflect::set(&row, &"blob".into(), &blob(bytes, &m.mime)).unwrap();
    tx.object_store(IMAGES_STORE)
        .unwrap()
        .put_with_key(&row, &k.into())
        .unwrap();
    JsFuture::from(Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(resolve.unchecked_ref()));
        tx.set_onabort(Some(reject.unchecked_ref()));
    }))
    .await
    .is_ok()
}

#[wasm_bindgen_test]
async fn a_schema_1_database_is_migrated_on_open() {
    let c = config(&namespace());
    let name = c.database_name();
    // Schema 1: a single `images` store, metadata beside the blob.
    let db = raw_open(&name, Some(1), |db| {
        db.create_object_store(IMAGES_STORE).unwrap();
    })
    .await;
    let bytes = png_bytes(7);
    let kept = meta("kept", bytes.len(), NOW);
    let has_blob = seed_schema_1_row(&db, &key(&c.namespace, "kept"), &kept, &bytes).await;
    db.close();
    let junk = key(&c.namespace, "junk");
    raw_write(&name, &[IMAGES_STORE], move |tx| {
        tx.object_store(IMAGES_STORE)
            .unwrap()
            .put_with_key(&"junk".into(), &junk.as_str().into())
            .unwrap();
    })
    .await;

    let store = open(&c).await;
    if has_blob {
        let got = store.get("kept").await.unwrap().unwrap();
        assert_eq!(got.meta, kept);
        assert_eq!(read_body(&got.body).await, bytes);
        assert_eq!(
            raw_keys(&name, IMAGES_STORE).await,
            [key(&c.namespace, "kept")]
        );
        assert_eq!(
            raw_keys(&name, META_STORE).await,
            [key(&c.namespace, "kept")]
        );
    } else {
        // This engine cannot hold a schema-1 row (a Blob): only the junk row was there.
        assert!(raw_keys(&name, IMAGES_STORE).await.is_empty());
    }
    assert!(store.get("junk").await.unwrap().is_none());
    store.put(image("new", 0, NOW)).await.unwrap();
    assert!(store.get("new").await.unwrap().is_some());
    let expected = if has_blob { 2 } else { 1 };
    assert_eq!(store.usage().await.unwrap().entries, expected);
    drop(store);
    let db = raw_open(&name, None, |_| {}).await;
    assert_eq!(db.version() as u32, SCHEMA_VERSION);
    db.close();
}

#[wasm_bindgen_test]
async fn a_blocked_open_gives_up_within_the_timeout() {
    let mut c = config(&namespace());
    c.idb.open_timeout_ms = 300;
    let name = c.database_name();
    // Another tab holds the database open at an older version and ignores `versionchange`.
    let other_tab = raw_open(&name, Some(1), |db| {
        db.create_object_store(IMAGES_STORE).unwrap();
    })
    .await;

    let started = js_sys::Date::now();
    let result = IdbImageStore::open(&c, clock()).await;
    let waited = js_sys::Date::now() - started;
    assert!(
        matches!(
            result,
            Err(Error::StorageUnavailable {
                layer: Layer::IndexedDb,
                ..
            })
        ),
        "{result:?}"
    );
    assert!((250.0..1_500.0).contains(&waited), "waited {waited} ms");

    // Once the other tab lets go, the abandoned open must not keep a connection of its own:
    // deleting the database is not blocked.
    other_tab.close();
    assert!(
        raw_delete(&name, 2_000).await,
        "an abandoned connection blocks"
    );
    let store = open(&c).await;
    store.put(image("a", 0, NOW)).await.unwrap();
    assert!(store.get("a").await.unwrap().is_some());
}

#[wasm_bindgen_test]
async fn a_lost_connection_is_reopened_on_next_use() {
    let c = config(&namespace());
    let store = open(&c).await;
    store.put(image("a", 0, NOW)).await.unwrap();
    // Another tab deletes the database: the store lets go at once, so the delete completes.
    assert!(
        raw_delete(&c.database_name(), 2_000).await,
        "the store blocked the delete"
    );

    assert!(store.get("a").await.unwrap().is_none());
    assert!(store.is_available());
    assert_eq!(store.usage().await.unwrap(), StoreUsage::default());
    store.put(image("b", 0, NOW)).await.unwrap();
    assert!(store.get("b").await.unwrap().is_some());
    assert_eq!(store.usage().await.unwrap().entries, 1);
}

#[wasm_bindgen_test]
async fn a_failed_reopen_makes_the_store_unavailable() {
    let c = config(&namespace());
    let store = open(&c).await;
    store.put(image("a", 0, NOW)).await.unwrap();
    // Another tab replaces the database with a newer schema than this code knows.
    let name = c.database_name();
    let newer = raw_open(&name, Some(SCHEMA_VERSION + 1), |_| {}).await;
    newer.close();

    let result = store.get("a").await;
    assert!(
        matches!(
            result,
            Err(Error::StorageUnavailable {
                layer: Layer::IndexedDb,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(!store.is_available());
    assert!(matches!(
        store.put(image("b", 0, NOW)).await,
        Err(Error::StorageUnavailable { .. })
    ));
}

#[wasm_bindgen_test]
async fn the_bytes_fallback_round_trips() {
    let c = config(&namespace());
    let store = IdbImageStore::open_storing_bytes(&c, clock())
        .await
        .unwrap();
    assert!(store.stores_bytes());
    let bytes = png_bytes(33);
    let img = StoredImage {
        meta: meta("b", bytes.len(), NOW),
        body: Body::Blob(blob(&bytes, "image/png")),
    };
    store.put(img.clone()).await.unwrap();
    let got = store.get("b").await.unwrap().unwrap();
    assert_eq!(got.meta, img.meta);
    assert_eq!(body_type(&got.body), "image/png");
    assert_eq!(read_body(&got.body).await, bytes);
    let row = raw_get(&c.database_name(), IMAGES_STORE, &key(&c.namespace, "b")).await;
    assert!(Reflect::get(&row, &"blob".into()).unwrap().is_undefined());
    assert_eq!(
        Reflect::get(&row, &"mime".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("image/png")
    );
    // A Blob store reads what the bytes store wrote.
    drop(store);
    let store = open(&c).await;
    assert_eq!(
        read_body(&store.get("b").await.unwrap().unwrap().body).await,
        bytes
    );
}

#[wasm_bindgen_test]
async fn rows_stored_as_bytes_read_back_through_a_range_read() {
    // The engines that refuse Blobs store `{ bytes, mime }`: a batch read in one range read
    // rebuilds each Blob as a point read does.
    let c = config(&namespace());
    let store = IdbImageStore::open_storing_bytes(&c, clock())
        .await
        .unwrap();
    let ids = store_numbered(&store, "y", 12).await;
    drop(store);
    let store = open(&c).await;
    assert_answers(&store, &ids, &ids).await;
}

/// Two tabs share the byte and entry budget: the images one tab showed count as used when the
/// other evicts, and another tab's `clear()` is seen before the next eviction.
#[wasm_bindgen_test]
async fn a_use_in_another_tab_counts_when_this_tab_evicts() {
    let mut c = config(&namespace());
    c.idb.max_entries = 3;
    let writer = open(&c).await;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        writer
            .put(image(id, i, NOW - 100.0 + i as f64))
            .await
            .unwrap();
    }
    let reader = open(&c).await;
    assert!(reader.get("a").await.unwrap().is_some());
    reader.touch(&[("a".to_string(), NOW)]).await.unwrap();
    let evicted = writer.put(image("d", 3, NOW)).await.unwrap();
    assert_eq!(
        evicted,
        ["b"],
        "the least recently used in either tab goes, not a"
    );
    reader.clear().await.unwrap();
    assert_eq!(
        writer.put(image("e", 4, NOW)).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        writer.usage().await.unwrap().entries,
        1,
        "the other tab's clear was seen"
    );
}

/// During a rollout a tab of the old release stays open beside tabs of the new one: its
/// writes (which reload the mirror after another tab wrote) remove rows of older versions only.
#[wasm_bindgen_test]
async fn a_tab_of_an_older_version_keeps_the_newer_versions_rows() {
    let ns = namespace();
    let v1 = config(&ns);
    let mut v2 = v1.clone();
    v2.version = 2;
    let old_tab = open(&v1).await;
    old_tab.put(image("a", 0, NOW)).await.unwrap();
    let new_tab = open(&v2).await;
    new_tab.put(image("b", 1, NOW)).await.unwrap();
    // The old tab writes once more, after the new one wrote.
    old_tab.put(image("c", 2, NOW)).await.unwrap();
    assert!(
        new_tab.get("b").await.unwrap().is_some(),
        "the newer version's row is kept"
    );
    assert_eq!(
        old_tab.usage().await.unwrap().entries,
        1,
        "c (the new tab removed a, of an older version): b is not counted"
    );
    // The new tab's next write reloads its mirror too, and removes the old version's rows.
    new_tab.put(image("e", 4, NOW)).await.unwrap();
    assert_eq!(new_tab.usage().await.unwrap().entries, 2, "b and e");
    assert!(old_tab.get("c").await.unwrap().is_none());
    assert!(new_tab.get("b").await.unwrap().is_some());
}

#[wasm_bindgen_test]
async fn clear_empties_only_its_own_database() {
    let mine = config(&namespace());
    let theirs = config(&namespace());
    let a = open(&mine).await;
    let b = open(&theirs).await;
    a.put(image("x", 0, NOW)).await.unwrap();
    b.put(image("x", 0, NOW)).await.unwrap();
    let foreign = format!("app-db-{}", namespace());
    let db = raw_open(&foreign, Some(1), |db| {
        db.create_object_store("things").unwrap();
    })
    .await;
    db.close();
    raw_write(&foreign, &["things"], |tx| {
        tx.object_store("things")
            .unwrap()
            .put_with_key(&"kept".into(), &"k".into())
            .unwrap();
    })
    .await;

    a.clear().await.unwrap();

    assert!(a.get("x").await.unwrap().is_none());
    assert_eq!(a.usage().await.unwrap(), StoreUsage::default());
    assert!(raw_keys(&mine.database_name(), IMAGES_STORE)
        .await
        .is_empty());
    assert!(b.get("x").await.unwrap().is_some());
    assert_eq!(
        raw_get(&foreign, "things", "k")
            .await
            .as_string()
            .as_deref(),
        Some("kept")
    );
    assert!(raw_delete(&foreign, 2_000).await);
}

#[wasm_bindgen_test]
async fn unsafe_or_unusable_images_are_refused() {
    let store = open(&config(&namespace())).await;
    let html = StoredImage {
        meta: ImageMeta {
            mime: "text/html".into(),
            ..meta("h", 5, NOW)
        },
        body: Body::Blob(blob(b"<b>x</b>", "text/html")),
    };
    assert!(matches!(
        store.put(html).await,
        Err(Error::NotAnImage { .. })
    ));
    let empty = StoredImage {
        meta: meta("e", 0, NOW),
        body: Body::Blob(blob(&[], "image/png")),
    };
    assert!(matches!(
        store.put(empty).await,
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        store.get("").await,
        Err(Error::InvalidArgument { .. })
    ));
    store.close();
    assert!(!store.is_available());
    assert_eq!(store.get("h").await, Err(Error::Closed));
}

#[wasm_bindgen_test]
async fn a_full_origin_frees_the_oldest_rows_first_and_retries_once() {
    let c = config(&namespace());
    let store = open(&c).await;
    let name = c.database_name();
    let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (i, id) in ids.iter().enumerate() {
        store.put(image(id, i, NOW + i as f64)).await.unwrap();
    }

    // One refusal: the oldest rows (a quarter, and twice the new image's bytes) are deleted in a
    // transaction of their own, then the write is made again and lands.
    store.refuse_writes_for_quota(1);
    let evicted = store.put(image("new", 9, NOW + 10.0)).await.unwrap();
    // Nine entries counting the new one: a quarter is three.
    assert_eq!(evicted, ["a", "b", "c"]);
    assert_eq!(
        ids_present(&store, &["a", "b", "c", "d", "new"]).await,
        [false, false, false, true, true]
    );
    assert_eq!(raw_keys(&name, META_STORE).await.len(), 6);

    // Still full after the retry: the write is refused; the rows freed for it stay freed (room
    // for the next write): a quarter of seven is two, but "d" and "e" weigh less than twice
    // "late", so "f" goes too. The store's count agrees with its rows.
    store.refuse_writes_for_quota(2);
    let refused = store.put(image("late", 11, NOW + 11.0)).await;
    assert_eq!(
        refused,
        Err(Error::QuotaExceeded {
            layer: Layer::IndexedDb
        })
    );
    assert_eq!(raw_keys(&name, META_STORE).await.len(), 3);
    assert_eq!(
        ids_present(&store, &["d", "e", "f", "g", "new", "late"]).await,
        [false, false, false, true, true, false]
    );
    assert_eq!(store.usage().await.unwrap().entries, 3);
}

#[wasm_bindgen_test]
async fn the_byte_budget_holds_across_tabs_writing_to_one_database() {
    let ns = namespace();
    let mut c = config(&ns);
    c.idb.max_bytes = 10_000;
    // Two tabs: two stores on one database, each with its own view of what it holds.
    let (a, b) = (open(&c).await, open(&c).await);
    let size = png_bytes(900).len() as u64;
    for i in 0..30 {
        let store = if i % 2 == 0 { &a } else { &b };
        store
            .put(image(&format!("img{i}"), 900, NOW + f64::from(i)))
            .await
            .unwrap();
    }
    // What the database holds, read raw (opening another store would trim it to the budget).
    let stored = raw_keys(&c.database_name(), IMAGES_STORE).await.len() as u64;
    assert!(
        stored * size <= c.idb.max_bytes + size,
        "{stored} images of {size} bytes stored for a budget of {}",
        c.idb.max_bytes
    );
    assert!(stored >= 9, "the most recent images stay: {stored}");
    let reloaded = open(&c).await;
    let newest = ids_present(&reloaded, &["img29", "img28"]).await;
    assert_eq!(newest, vec![true, true]);
}

/// A real preview hash (the crate's own hasher, a plain colour).
fn a_hash(shade: u8) -> String {
    avatar_cache::policy::placeholder::hash_rgba(8, 8, &[shade, 90, 200, 255].repeat(64)).unwrap()
}

#[wasm_bindgen_test]
async fn preview_hashes_go_into_their_rows_together_and_never_make_a_row() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    store.put(image("a", 1, NOW)).await.unwrap();
    store.put(image("b", 2, NOW)).await.unwrap();
    let (ha, hb) = (a_hash(10), a_hash(200));
    // Known at once; written together a moment later (the first call resolves then).
    let first = store.set_thumbhash("a", &ha);
    let second = store.set_thumbhash("b", &hb);
    let third = store.set_thumbhash("nowhere", &ha);
    assert_eq!(store.thumbhash("a").as_deref(), Some(ha.as_str()));
    let (first, second, third) = futures::join!(first, second, third);
    first.unwrap();
    second.unwrap();
    third.unwrap();
    let name = c.database_name();
    let hash_of = |row: JsValue| Reflect::get(&row, &"thumbhash".into()).unwrap().as_string();
    assert_eq!(
        hash_of(raw_get(&name, META_STORE, &key(&ns, "a")).await),
        Some(ha.clone())
    );
    assert_eq!(
        hash_of(raw_get(&name, META_STORE, &key(&ns, "b")).await),
        Some(hb.clone())
    );
    assert!(raw_get(&name, META_STORE, &key(&ns, "nowhere"))
        .await
        .is_undefined());
    // A row keeps its first hash; the image reads back as before, hash included.
    store.set_thumbhash("a", &hb).await.unwrap();
    let read = store.get("a").await.unwrap().unwrap();
    assert_eq!(read.meta.thumbhash.as_deref(), Some(ha.as_str()));
    store.close();
    // After a reload the store knows the hashes without reading the images, once its LRU
    // mirror has loaded (open does not wait for it; the first write or usage read loads it).
    let again = open(&c).await;
    again.usage().await.unwrap();
    assert_eq!(again.thumbhash("b").as_deref(), Some(hb.as_str()));
    assert!(again.thumbhash("nowhere").is_none());
}

#[wasm_bindgen_test]
async fn a_malformed_hash_in_a_row_costs_the_preview_not_the_image() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    store.put(image("m", 1, NOW)).await.unwrap();
    store.close();
    let name = c.database_name();
    let k = key(&ns, "m");
    let row = raw_get(&name, META_STORE, &k).await;
    Reflect::set(&row, &"thumbhash".into(), &"not a hash!".into()).unwrap();
    raw_write(&name, &[META_STORE], move |tx| {
        tx.object_store(META_STORE)
            .unwrap()
            .put_with_key(&row, &k.as_str().into())
            .unwrap();
    })
    .await;
    let again = open(&c).await;
    assert!(again.thumbhash("m").is_none());
    let read = again.get("m").await.unwrap().expect("the image is kept");
    assert!(read.meta.thumbhash.is_none());
}

fn hashed_image(id: &str, extra: usize, shade: u8) -> StoredImage<Body> {
    let mut image = image(id, extra, NOW);
    image.meta.thumbhash = Some(a_hash(shade));
    image
}

#[wasm_bindgen_test]
async fn a_row_carries_its_metadata_so_a_get_reads_the_images_store_alone() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    store.put(hashed_image("solo", 3, 40)).await.unwrap();
    store.close();
    let name = c.database_name();
    let k = key(&ns, "solo");
    let row = raw_get(&name, IMAGES_STORE, &k).await;
    let copy = Reflect::get(&row, &"meta".into()).unwrap();
    let copied = avatar_cache::layers::idb::meta_of(&copy).expect("a copy of the metadata");
    assert_eq!(copied.image_id, "solo");
    assert_eq!(copied.thumbhash, Some(a_hash(40)));
    // Without its `meta` row the image still reads: the get never opened that store.
    raw_remove(&name, META_STORE, &k).await;
    let again = open(&c).await;
    let read = again
        .get("solo")
        .await
        .unwrap()
        .expect("read from the row alone");
    assert_eq!(read_body(&read.body).await, png_bytes(3));
    assert_eq!(read.meta.thumbhash, Some(a_hash(40)));
    assert_eq!(read.meta.etag.as_deref(), Some("\"etag-1\""));
}

#[wasm_bindgen_test]
async fn a_row_written_by_earlier_code_reads_with_its_meta_row_and_gets_the_copy_when_touched() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    store.put(hashed_image("old", 2, 90)).await.unwrap();
    // As earlier code wrote it: `{ blob }` alone (the metadata only in the `meta` row).
    let name = c.database_name();
    let k = key(&ns, "old");
    let row = raw_get(&name, IMAGES_STORE, &k).await;
    Reflect::delete_property(row.unchecked_ref::<Object>(), &"meta".into()).unwrap();
    raw_put(&name, IMAGES_STORE, &k, &row).await;
    let read = store
        .get("old")
        .await
        .unwrap()
        .expect("read with its meta row");
    assert_eq!(read.meta.thumbhash, Some(a_hash(90)));
    assert!(
        Reflect::get(&raw_get(&name, IMAGES_STORE, &k).await, &"meta".into())
            .unwrap()
            .is_undefined()
    );
    // The image's next touch writes the copy; the bytes stay as they were.
    store
        .touch(&[("old".to_string(), NOW + 5.0)])
        .await
        .unwrap();
    let upgraded = raw_get(&name, IMAGES_STORE, &k).await;
    let copy =
        avatar_cache::layers::idb::meta_of(&Reflect::get(&upgraded, &"meta".into()).unwrap())
            .expect("the copy");
    assert_eq!(copy.thumbhash, Some(a_hash(90)));
    let again = store.get("old").await.unwrap().unwrap();
    assert_eq!(read_body(&again.body).await, png_bytes(2));
}

/// A row of earlier code read (its copy pending for the next touch), then removed or cleared:
/// the touch writes nothing back, so nothing of it is served again (after a logout, say).
#[wasm_bindgen_test]
async fn a_pending_row_copy_never_brings_back_a_row_that_left_the_store() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    let name = c.database_name();
    for id in ["gone", "cleared"] {
        store.put(hashed_image(id, 2, 90)).await.unwrap();
        let k = key(&ns, id);
        let row = raw_get(&name, IMAGES_STORE, &k).await;
        Reflect::delete_property(row.unchecked_ref::<Object>(), &"meta".into()).unwrap();
        raw_put(&name, IMAGES_STORE, &k, &row).await;
        assert!(
            store.get(id).await.unwrap().is_some(),
            "read with its meta row"
        );
    }
    store.remove("gone").await.unwrap();
    store
        .touch(&[("gone".to_string(), NOW + 5.0)])
        .await
        .unwrap();
    assert!(raw_get(&name, IMAGES_STORE, &key(&ns, "gone"))
        .await
        .is_undefined());
    assert!(store.get("gone").await.unwrap().is_none());
    // Cleared by another tab.
    open(&c).await.clear().await.unwrap();
    store
        .touch(&[("cleared".to_string(), NOW + 6.0)])
        .await
        .unwrap();
    assert!(raw_get(&name, IMAGES_STORE, &key(&ns, "cleared"))
        .await
        .is_undefined());
    assert!(store.get("cleared").await.unwrap().is_none());
}

#[wasm_bindgen_test]
async fn a_copy_that_does_not_check_is_ignored_for_the_meta_row() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    store.put(hashed_image("twin", 1, 150)).await.unwrap();
    let name = c.database_name();
    let k = key(&ns, "twin");
    let row = raw_get(&name, IMAGES_STORE, &k).await;
    for bad in [
        meta_value(&ImageMeta {
            image_id: "someone-else".into(),
            thumbhash: Some(a_hash(1)),
            ..meta("twin", png_bytes(1).len(), NOW)
        }),
        meta_value(&ImageMeta {
            mime: "text/html".into(),
            thumbhash: Some(a_hash(1)),
            ..meta("twin", png_bytes(1).len(), NOW)
        }),
        JsValue::from_str("<img src=x onerror=alert(1)>"),
    ] {
        Reflect::set(&row, &"meta".into(), &bad).unwrap();
        raw_put(&name, IMAGES_STORE, &k, &row).await;
        let read = store
            .get("twin")
            .await
            .unwrap()
            .expect("read with its meta row");
        assert_eq!(read.meta.image_id, "twin");
        assert_eq!(read.meta.mime, "image/png");
        assert_eq!(read.meta.thumbhash, Some(a_hash(150)));
    }
}

#[wasm_bindgen_test]
async fn a_hash_that_comes_after_the_write_reaches_the_copy_in_the_row() {
    let ns = namespace();
    let c = config(&ns);
    let store = open(&c).await;
    store.put(image("late", 4, NOW)).await.unwrap();
    store.set_thumbhash("late", &a_hash(7)).await.unwrap();
    store.close();
    let name = c.database_name();
    let k = key(&ns, "late");
    let row = raw_get(&name, IMAGES_STORE, &k).await;
    let copy =
        avatar_cache::layers::idb::meta_of(&Reflect::get(&row, &"meta".into()).unwrap()).unwrap();
    assert_eq!(copy.thumbhash, Some(a_hash(7)));
    // The row alone answers with it.
    raw_remove(&name, META_STORE, &k).await;
    let read = open(&c).await.get("late").await.unwrap().unwrap();
    assert_eq!(read.meta.thumbhash, Some(a_hash(7)));
    assert_eq!(read_body(&read.body).await, png_bytes(4));
}

/// A service worker's records (it has no localStorage) are bounded: past twice the image
/// entries the oldest tenth go, in the database too; a newer release's rows are left alone.
#[wasm_bindgen_test]
async fn a_workers_record_store_keeps_twice_the_image_entries_newest_first() {
    use avatar_cache::layers::idb::records::{
        records_database_name, IdbRecordStore, RECORDS_STORE,
    };
    use avatar_cache::layers::RecordStore;

    let mut c = config(&namespace());
    c.idb.max_entries = 5;
    let store = IdbRecordStore::open(&c, clock()).await.unwrap();
    for i in 0..11 {
        store
            .put(&stored_record(
                &format!("u{i:02}"),
                NOW - 1_000.0 + i as f64,
            ))
            .unwrap();
    }
    assert_eq!(store.len(), 9, "past 10, the oldest tenth and one more go");
    for (user, kept) in [("u00", false), ("u01", false), ("u02", true), ("u10", true)] {
        assert_eq!(store.get(user).unwrap().is_some(), kept, "{user}");
    }
    // A newer release's row, written beside them.
    let name = records_database_name(&c);
    let newer = Keys::new(&c.namespace, 2).record_key("n");
    raw_put(&name, RECORDS_STORE, &newer, &JsValue::from_str("{}")).await;
    drop(store);
    let reopened = IdbRecordStore::open(&c, clock()).await.unwrap();
    assert_eq!(reopened.len(), 9);
    assert!(reopened.get("u01").unwrap().is_none());
    drop(reopened);
    common::sleep(50).await;
    assert!(raw_get(&name, RECORDS_STORE, &newer).await.is_string());
}

//! The Service Worker layer, run inside a real service worker (`run_in_service_worker`): the
//! `AvatarWorker` that `avatar-cache/sw`'s `serveAvatars` drives, called the way `sw.js` calls
//! it, against the fake backend of `common` (an injected `fetch`).
//!
//! Engines: Chromium runs this suite (chromedriver). Firefox (geckodriver) and WebKitGTK
//! (WebKitWebDriver) are tried by the README's commands; see the README's Tests section for
//! what each engine's runner allows.
#![cfg(target_arch = "wasm32")]

mod common;

use avatar_cache::js::{AvatarCache, AvatarWorker};
use avatar_cache::layers::runtime::sleep;
use common::*;
use js_sys::{Object, Reflect, Uint8Array};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::Response;

wasm_bindgen_test_configure!(run_in_service_worker);

async fn open_worker(config: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(AvatarWorker::open(Some(config.unchecked_into()))).await
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) -> JsValue {
    let f: js_sys::Function = Reflect::get(target, &name.into()).unwrap().unchecked_into();
    f.apply(target, &args.iter().collect::<js_sys::Array>())
        .unwrap()
}

/// A request as a fetch event carries it (script cannot make a `Request` whose destination is
/// `image`, so this is a plain object with the fields the worker reads).
fn request(url: &str, destination: &str) -> JsValue {
    let r = Object::new();
    Reflect::set(&r, &"method".into(), &"GET".into()).unwrap();
    Reflect::set(&r, &"url".into(), &url.into()).unwrap();
    Reflect::set(&r, &"destination".into(), &destination.into()).unwrap();
    r.into()
}

/// A request in `mode` (`no-cors` for a plain `<img>`, `cors` for `fetch()` from script or an
/// `<img crossorigin>`).
fn request_in_mode(url: &str, destination: &str, mode: &str) -> JsValue {
    let r = request(url, destination);
    Reflect::set(&r, &"mode".into(), &mode.into()).unwrap();
    r
}

struct Answer {
    status: u16,
    source: String,
    content_type: String,
    cache_control: String,
    bytes: Vec<u8>,
}

/// A worker on a fresh namespace whose storage origin is `https://s3.test`.
async fn storage_worker(backend: &FakeBackend) -> JsValue {
    open_worker(config(
        &namespace(),
        backend,
        json!({ "storageOrigins": ["https://s3.test"] }),
    ))
    .await
    .unwrap()
}

async fn respond(worker: &JsValue, url: &str, destination: &str) -> Answer {
    answer(worker, request(url, destination)).await
}

/// The worker's answer to `request`.
async fn answer(worker: &JsValue, request: JsValue) -> Answer {
    let promise: js_sys::Promise = call(worker, "respond", &[request]).unchecked_into();
    let response: Response = JsFuture::from(promise).await.unwrap().unchecked_into();
    let header = |name: &str| response.headers().get(name).unwrap().unwrap_or_default();
    let (status, source, content_type, cache_control) = (
        response.status(),
        header("x-avatar-cache"),
        header("content-type"),
        header("cache-control"),
    );
    let buffer = JsFuture::from(response.array_buffer().unwrap())
        .await
        .unwrap();
    Answer {
        status,
        source,
        content_type,
        cache_control,
        bytes: Uint8Array::new(&buffer).to_vec(),
    }
}

fn own_origin() -> String {
    let location = Reflect::get(&js_sys::global(), &"location".into()).unwrap();
    Reflect::get(&location, &"origin".into())
        .unwrap()
        .as_string()
        .unwrap()
}

fn signed(image: &str, signature: &str) -> String {
    format!("{BUCKET}/{image}.png?X-Amz-Date=20240101T000000Z&X-Amz-Expires=1&X-Amz-Signature={signature}")
}

#[wasm_bindgen_test]
async fn runs_in_a_service_worker_global_scope() {
    let name = Reflect::get(&js_sys::global(), &"constructor".into())
        .and_then(|c| Reflect::get(&c, &"name".into()))
        .unwrap();
    assert_eq!(
        name.as_string().as_deref(),
        Some("ServiceWorkerGlobalScope")
    );
    assert!(Reflect::get(&js_sys::global(), &"localStorage".into())
        .unwrap()
        .is_undefined());
}

#[wasm_bindgen_test]
async fn a_bad_field_is_rejected_by_name() {
    let backend = FakeBackend::new();
    for (extra, field) in [
        (
            json!({ "storageOrigins": "https://s3.test" }),
            "storageOrigins",
        ),
        (
            json!({ "storageOrigins": ["https://s3.test/avatars"] }),
            "storageOrigins",
        ),
        (json!({ "avatarPath": "avatar" }), "avatarPath"),
        (json!({ "idb": { "maxBytes": -1 } }), "idb.maxBytes"),
        (json!({ "storageOrigin": [] }), "storageOrigin"),
    ] {
        let error = open_worker(config(&namespace(), &backend, extra.clone()))
            .await
            .expect_err(&extra.to_string());
        let got = Reflect::get(&error, &"field".into()).unwrap().as_string();
        assert_eq!(got.as_deref(), Some(field), "{extra}");
    }
}

#[wasm_bindgen_test]
async fn a_stored_storage_image_answers_without_network_whatever_the_signature() {
    let backend = FakeBackend::new();
    let ns = namespace();
    let storage_config = || {
        config(
            &ns,
            &backend,
            json!({ "storageOrigins": ["https://s3.test"] }),
        )
    };
    let worker = open_worker(storage_config()).await.unwrap();
    let first = respond(&worker, &signed("img-a", "one"), "image").await;
    assert_eq!(
        (first.status, first.source.as_str()),
        (200, "storage-network")
    );
    assert_eq!(first.content_type, "image/png");
    assert_eq!(first.bytes, png("img-a"));
    assert_eq!(backend.calls(Endpoint::Download), 1);

    // Signed again (and long expired), with storage down: the bytes kept answer, from memory
    // while the worker runs, from IndexedDB once it restarted.
    backend.fault(Endpoint::Download, Fault::Reject);
    let again = respond(&worker, &signed("img-a", "two"), "image").await;
    assert_eq!(
        (again.status, again.source.as_str()),
        (200, "storage-memory")
    );
    assert_eq!(again.bytes, png("img-a"));
    // What `serveAvatars` hands to the fetch event's waitUntil: the row has landed once it
    // resolves, so a worker started now reads it.
    let settled: js_sys::Promise = call(&worker, "writesSettled", &[]).unchecked_into();
    JsFuture::from(settled).await.unwrap();
    let restarted = open_worker(storage_config()).await.unwrap();
    let stored = respond(&restarted, &signed("img-a", "three"), "image").await;
    assert_eq!(
        (stored.status, stored.source.as_str()),
        (200, "storage-indexeddb")
    );
    assert_eq!(stored.bytes, png("img-a"));
    assert_eq!(backend.calls(Endpoint::Download), 1);
}

#[wasm_bindgen_test]
async fn an_unknown_image_that_cannot_be_fetched_answers_the_default_picture() {
    let backend = FakeBackend::new();
    let worker = storage_worker(&backend).await;
    backend.fault(Endpoint::Download, Fault::Reject);
    let answer = respond(&worker, &signed("img-never", "x"), "image").await;
    assert_eq!((answer.status, answer.source.as_str()), (200, "default"));
    assert!(
        answer.content_type.starts_with("image/"),
        "{}",
        answer.content_type
    );
    assert!(!answer.bytes.is_empty());

    // Not an image at all (HTML from a misconfigured bucket): never handed to the <img>.
    backend.fault(
        Endpoint::Download,
        Fault::Body {
            content_type: Some("text/html"),
            body: b"<script>alert(1)</script>".to_vec(),
        },
    );
    let html = respond(&worker, &signed("img-html", "x"), "image").await;
    assert_eq!(html.source, "default");
}

#[wasm_bindgen_test]
async fn avatar_path_answers_the_users_picture_through_the_hierarchy() {
    let backend = FakeBackend::new();
    let worker = open_worker(config(&namespace(), &backend, json!({})))
        .await
        .unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    assert!(call(
        &worker,
        "handles",
        &["GET".into(), url.as_str().into(), "image".into()]
    )
    .is_truthy());
    let first = respond(&worker, &url, "image").await;
    assert_eq!((first.status, first.source.as_str()), (200, "network"));
    assert_eq!(first.bytes, png("img-u1"));
    assert!(
        first.cache_control.contains("max-age"),
        "{}",
        first.cache_control
    );
    let second = respond(&worker, &url, "image").await;
    assert_eq!(second.source, "memory");
    assert_eq!(backend.calls(Endpoint::User), 1);
    assert_eq!(backend.calls(Endpoint::Download), 1);

    // Offline: a user never seen gets the default picture, not an error page.
    backend.fault(Endpoint::User, Fault::Reject);
    let unseen = respond(&worker, &format!("{}/avatar/u2", own_origin()), "image").await;
    assert_eq!((unseen.status, unseen.source.as_str()), (200, "default"));
}

#[wasm_bindgen_test]
async fn on_event_hears_the_workers_loads() {
    let backend = FakeBackend::new();
    let settings = config(&namespace(), &backend, json!({}));
    let events = record_events(&settings);
    let worker = open_worker(settings).await.unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    respond(&worker, &url, "image").await;
    respond(&worker, &url, "image").await;
    let sources: Vec<String> = events
        .borrow()
        .iter()
        .filter(|e| {
            Reflect::get(e, &"type".into())
                .unwrap()
                .as_string()
                .as_deref()
                == Some("load")
        })
        .map(|e| {
            Reflect::get(e, &"source".into())
                .unwrap()
                .as_string()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(sources, ["network", "memory"]);
}

#[wasm_bindgen_test]
async fn without_stored_urls_the_default_picture_on_a_storage_origin_is_never_a_users_image() {
    // Records kept without their URL name the default picture's URL instead: that URL, on a
    // storage origin, must not be answered from the image of whichever user was kept last.
    let backend = FakeBackend::new();
    let default_url = format!("{BUCKET}/default.png");
    let worker = open_worker(config(
        &namespace(),
        &backend,
        json!({
            "storageOrigins": ["https://s3.test"],
            "defaultImageUrl": default_url,
            "local": { "storeUrls": false },
        }),
    ))
    .await
    .unwrap();
    let user = respond(&worker, &format!("{}/avatar/u1", own_origin()), "image").await;
    assert_eq!(user.bytes, png("img-u1"));
    let fallback = respond(&worker, &default_url, "image").await;
    assert_ne!(fallback.bytes, png("img-u1"), "{}", fallback.source);
}

#[wasm_bindgen_test]
async fn records_survive_a_worker_restart_in_indexeddb() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    respond(&worker, &url, "image").await;
    call(&worker, "close", &[]);
    sleep(50.0).await; // the write-behind of the image
    let restarted = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    backend.fault(Endpoint::User, Fault::Reject);
    backend.fault(Endpoint::Download, Fault::Reject);
    let answer = respond(&restarted, &url, "image").await;
    // No API call below: the record came from the worker's IndexedDB records, the bytes
    // from the shared image store.
    assert_eq!(answer.source, "indexeddb");
    assert_eq!(answer.bytes, png("img-u1"));
    assert_eq!(backend.calls(Endpoint::User), 1);
}

#[wasm_bindgen_test]
async fn a_logout_posted_while_a_worker_starts_is_not_missed() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    respond(&worker, &url, "image").await;
    call(&worker, "close", &[]);
    sleep(50.0).await; // the write-behind of the image

    // The worker starts again (the browser woke it) and a page logs out while its stores open:
    // the page's broadcast comes before the worker's cross-tab link exists.
    let opening = JsFuture::from(AvatarWorker::open(Some(
        config(&ns, &backend, json!({})).unchecked_into(),
    )));
    let page = web_sys::BroadcastChannel::new(&format!("avatar-cache:{ns}")).unwrap();
    let clear = json!({ "namespace": ns, "version": 1, "userId": null });
    page.post_message(&js_sys::JSON::parse(&clear.to_string()).unwrap())
        .unwrap();
    let restarted = opening.await.unwrap();
    // A message is delivered to the channels that existed when it was posted, as a task of its
    // own: it may come after the stores opened. Its turn has passed after this wait.
    sleep(50.0).await;
    backend.fault(Endpoint::User, Fault::Reject);
    let answer = respond(&restarted, &url, "image").await;
    // The records it read at its start belong to the session that ended: the API is asked
    // (and, failing, the default picture answers), not the record from before the logout.
    assert_eq!(answer.source, "default");
    assert!(backend.calls(Endpoint::User) > 1, "the API was asked again");
}

/// Runs `body` (the text of an async JS function of `name`) against the database `name`:
/// raw IndexedDB, as another release or another context would use it.
async fn raw_idb(name: &str, body: &str) -> JsValue {
    let f =
        js_sys::Function::new_with_args("name", &format!("return (async () => {{ {body} }})();"));
    let promise: js_sys::Promise = f
        .call1(&JsValue::NULL, &name.into())
        .unwrap()
        .unchecked_into();
    JsFuture::from(promise).await.unwrap()
}

const RAW_OPEN: &str = "const open = (v) => new Promise((ok, fail) => { \
    const r = v ? indexedDB.open(name, v) : indexedDB.open(name); \
    r.onupgradeneeded = () => { if (!r.result.objectStoreNames.contains('records')) r.result.createObjectStore('records'); }; \
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });";

#[wasm_bindgen_test]
async fn the_records_database_keeps_current_records_and_drops_other_rows() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let records = format!("{ns}:avatar-cache:records");
    // A record of this version (written by the worker), then rows it must not trust: another
    // version's record, a value that is not a string, a key of another namespace.
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    respond(&worker, &url, "image").await;
    call(&worker, "close", &[]);
    sleep(50.0).await;
    let current = format!("{ns}:local:u1:v1");
    raw_idb(
        &records,
        &format!(
            "{RAW_OPEN} const db = await open(); const tx = db.transaction('records', 'readwrite'); \
             const s = tx.objectStore('records'); \
             s.put('{{}}', '{ns}:local:u2:v0'); \
             s.put({{ not: 'a string' }}, '{ns}:local:u3:v1'); \
             s.put('{{}}', 'other:thing'); \
             await new Promise((ok) => (tx.oncomplete = ok)); db.close();"
        ),
    )
    .await;

    let restarted = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    backend.fault(Endpoint::User, Fault::Reject);
    backend.fault(Endpoint::Download, Fault::Reject);
    let answer = respond(&restarted, &url, "image").await;
    assert_eq!(answer.source, "indexeddb");
    assert_eq!(backend.calls(Endpoint::User), 1);
    // The rows it could not use were deleted when it opened.
    let mut keys = Vec::new();
    for _ in 0..50 {
        let found = raw_idb(
            &records,
            &format!(
                "{RAW_OPEN} const db = await open(); const r = db.transaction('records').objectStore('records').getAllKeys(); \
                 const keys = await new Promise((ok) => (r.onsuccess = () => ok(r.result))); db.close(); return keys;"
            ),
        )
        .await;
        keys = js_sys::Array::from(&found)
            .iter()
            .filter_map(|k| k.as_string())
            .collect::<Vec<_>>();
        if keys.len() == 1 {
            break;
        }
        sleep(20.0).await;
    }
    assert_eq!(keys, vec![current]);
}

#[wasm_bindgen_test]
async fn a_records_database_that_cannot_open_leaves_the_worker_answering() {
    let ns = namespace();
    let backend = FakeBackend::new();
    // The records database at a later version than this code opens: the open fails
    // (`VersionError`), the worker works without stored records.
    let records = format!("{ns}:avatar-cache:records");
    raw_idb(&records, &format!("{RAW_OPEN} (await open(7)).close();")).await;
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    let first = respond(&worker, &url, "image").await;
    assert_eq!((first.status, first.source.as_str()), (200, "network"));
    assert_eq!(first.bytes, png("img-u1"));
    let again = respond(&worker, &url, "image").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.bytes, png("img-u1"));
}

#[wasm_bindgen_test]
async fn an_upload_in_a_tab_reaches_the_worker_before_its_next_answer() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let url = format!("{}/avatar/u1", own_origin());
    assert_eq!(respond(&worker, &url, "image").await.bytes, png("img-u1"));

    // A page's cache of the same namespace (here in the same scope: BroadcastChannel delivers
    // between objects of one context too) uploads a new picture.
    let page = JsFuture::from(AvatarCache::open(Some(
        config(&ns, &backend, json!({})).unchecked_into(),
    )))
    .await
    .unwrap();
    let upload = blob(&png("img-new"), "image/png");
    let done: js_sys::Promise = call(
        &page,
        "setPicture",
        &["u1".into(), "img-new".into(), upload.into()],
    )
    .unchecked_into();
    JsFuture::from(done).await.unwrap();
    backend.fault(Endpoint::Download, Fault::Reject);
    let mut latest = Vec::new();
    for _ in 0..100 {
        latest = respond(&worker, &url, "image").await.bytes;
        if latest == png("img-new") {
            break;
        }
        sleep(20.0).await;
    }
    assert_eq!(
        latest,
        png("img-new"),
        "the worker serves the uploaded picture"
    );

    // clear() in the tab: the worker forgets the user too.
    let cleared: js_sys::Promise = call(&page, "clear", &[]).unchecked_into();
    JsFuture::from(cleared).await.unwrap();
    backend.fault(Endpoint::User, Fault::Reject);
    let mut source = String::new();
    for _ in 0..100 {
        source = respond(&worker, &url, "image").await.source;
        if source == "default" {
            break;
        }
        sleep(20.0).await;
    }
    assert_eq!(source, "default");
}

#[wasm_bindgen_test]
async fn a_page_of_plain_imgs_asks_the_api_in_one_batch_call() {
    let backend = FakeBackend::new();
    let worker = open_worker(config(
        &namespace(),
        &backend,
        json!({ "batchEndpoint": BATCH_URL }),
    ))
    .await
    .unwrap();
    // Fifty fetch events, arriving over a few milliseconds as a page's <img>s are parsed.
    let answers = futures::future::join_all((0..50).map(|i| {
        let worker = worker.clone();
        async move {
            sleep(f64::from(i % 8)).await;
            let url = format!("{}/avatar/p{i}", own_origin());
            (i, respond(&worker, &url, "image").await)
        }
    }))
    .await;
    for (i, answer) in &answers {
        assert_eq!((answer.status, answer.source.as_str()), (200, "network"));
        assert_eq!(answer.bytes, png(&format!("img-p{i}")));
    }
    assert_eq!(backend.calls(Endpoint::User), 0, "no single-user call");
    assert_eq!(
        backend.calls(Endpoint::Batch),
        1,
        "{:?}",
        backend.requests()
    );
    assert_eq!(backend.calls(Endpoint::Download), 50);
}

#[wasm_bindgen_test]
async fn a_url_near_expiry_is_refreshed_while_the_worker_runs() {
    let backend = FakeBackend::new();
    // A bucket without CORS: the record's presigned URL is the picture the worker hands out.
    backend.fault(Endpoint::Download, Fault::NoCors);
    backend.set_url_lifetime(4);
    let worker = open_worker(config(
        &namespace(),
        &backend,
        json!({ "refreshMarginMs": 2000 }),
    ))
    .await
    .unwrap();
    respond(&worker, &format!("{}/avatar/u1", own_origin()), "image").await;
    assert_eq!(backend.calls(Endpoint::User), 1);
    // No request comes; two seconds before the URL expires, the worker signs it again.
    let mut calls = 1;
    for _ in 0..60 {
        sleep(100.0).await;
        calls = backend.calls(Endpoint::User);
        if calls > 1 {
            break;
        }
    }
    assert_eq!(calls, 2, "refreshed once, in the background");
    call(&worker, "close", &[]);
}

#[wasm_bindgen_test]
async fn a_picture_on_a_bucket_without_cors_is_opaque_for_an_img_the_default_for_script_a_redirect_for_a_tab(
) {
    let backend = FakeBackend::new();
    // The bucket answers `no-cors` requests only: the picture's bytes cannot be read.
    backend.fault(Endpoint::Download, Fault::NoCors);
    let worker = open_worker(config(&namespace(), &backend, json!({})))
        .await
        .unwrap();
    let avatar = format!("{}/avatar/u1", own_origin());
    let no_cors = |requests: Vec<Request>| {
        requests
            .iter()
            .filter(|r| r.endpoint == Endpoint::Download && r.mode.as_deref() == Some("no-cors"))
            .count()
    };

    // A plain <img>: the bucket's own opaque answer, which the <img> can show.
    let img = answer(&worker, request_in_mode(&avatar, "image", "no-cors")).await;
    assert_eq!(img.status, 0, "the opaque answer");
    let asked = no_cors(backend.requests());
    assert!(asked >= 1, "{:?}", backend.requests());

    // fetch() from script, or an <img crossorigin>: an opaque answer would be a network error
    // there, so the default picture, and no request for the opaque one.
    for destination in ["", "image"] {
        let read = answer(&worker, request_in_mode(&avatar, destination, "cors")).await;
        assert_eq!((read.status, read.source.as_str()), (200, "default"));
        assert!(
            read.content_type.starts_with("image/"),
            "{}",
            read.content_type
        );
    }
    assert_eq!(no_cors(backend.requests()), asked);

    // Opened in a tab ("Open image in new tab"): a redirect to the picture itself.
    let tab = answer(&worker, request_in_mode(&avatar, "document", "navigate")).await;
    assert_eq!(tab.status, 302);
    assert_eq!(no_cors(backend.requests()), asked);
}

#[wasm_bindgen_test]
async fn a_storage_img_of_a_known_users_image_reuses_its_copy() {
    let backend = FakeBackend::new();
    let worker = storage_worker(&backend).await;
    let avatar = respond(&worker, &format!("{}/avatar/u1", own_origin()), "image").await;
    assert_eq!(avatar.bytes, png("img-u1"));
    assert_eq!(backend.calls(Endpoint::Download), 1);
    // The same image as a server-rendered <img> with another signature: no second copy, the
    // one /avatar/ left in memory answers.
    backend.fault(Endpoint::Download, Fault::Reject);
    let img = respond(&worker, &signed("img-u1", "other"), "image").await;
    assert_eq!((img.status, img.source.as_str()), (200, "storage-memory"));
    assert_eq!(img.bytes, png("img-u1"));
    assert_eq!(backend.calls(Endpoint::Download), 1);
}

#[wasm_bindgen_test]
async fn a_storage_img_whose_download_ends_after_a_logout_gets_the_default_and_is_not_kept() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker = open_worker(config(
        &ns,
        &backend,
        json!({ "storageOrigins": ["https://s3.test"] }),
    ))
    .await
    .unwrap();
    backend.delay(Endpoint::Download, 300);
    // A page of the origin logs out while the download runs.
    let page = web_sys::BroadcastChannel::new(&format!("avatar-cache:{ns}")).unwrap();
    let logout = async {
        sleep(100.0).await;
        let clear = json!({ "namespace": ns, "version": 1, "userId": null });
        page.post_message(&js_sys::JSON::parse(&clear.to_string()).unwrap())
            .unwrap();
    };
    let url = signed("img-late", "one");
    let (answer, ()) = futures::join!(respond(&worker, &url, "image"), logout);
    assert_eq!((answer.status, answer.source.as_str()), (200, "default"));
    assert_eq!(backend.calls(Endpoint::Download), 1);
    // Nothing was kept: with storage down, the same image is the default picture again.
    backend.delay(Endpoint::Download, 0);
    backend.fault(Endpoint::Download, Fault::Reject);
    sleep(50.0).await;
    let again = respond(&worker, &signed("img-late", "two"), "image").await;
    assert_eq!(again.source, "default");
    // And a closed worker downloads nothing.
    backend.heal(Endpoint::Download);
    call(&worker, "close", &[]);
    let before = backend.calls(Endpoint::Download);
    let closed = respond(&worker, &signed("img-late", "three"), "image").await;
    assert_eq!(closed.source, "default");
    assert_eq!(backend.calls(Endpoint::Download), before);
}

#[wasm_bindgen_test]
async fn the_worker_and_its_pages_hand_each_other_the_records_they_fetched() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let (channel, heard) = listen(&ns);
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let mut hello = false;
    for _ in 0..100 {
        hello = heard_hello(&heard);
        if hello {
            break;
        }
        sleep(10.0).await;
    }
    assert!(
        hello,
        "a worker that starts says hello, so that pages tell it what they hold"
    );
    assert_eq!(
        hellos_in(&heard),
        [None],
        "a worker that holds nothing asks for all"
    );
    let avatar = |user: &str| format!("{}/avatar/{user}", own_origin());
    respond(&worker, &avatar("u1"), "image").await;
    let mut learned = Vec::new();
    for _ in 0..100 {
        learned = learned_in(&heard);
        if !learned.is_empty() {
            break;
        }
        sleep(10.0).await;
    }
    assert_eq!(
        learned,
        [("worker".to_string(), "u1".to_string())],
        "the pages are told of the record the worker fetched"
    );

    // A page fetched u2: the worker answers it without asking the API (only the bytes are
    // downloaded, from the record's URL). What another worker fetched is not its business.
    channel
        .post_message(&learned_message(&ns, "u2", "img-u2", "page"))
        .unwrap();
    channel
        .post_message(&learned_message(&ns, "u3", "img-u3", "worker"))
        .unwrap();
    sleep(100.0).await;
    let answer = respond(&worker, &avatar("u2"), "image").await;
    assert_eq!((answer.status, answer.bytes), (200, png("img-u2")));
    assert_eq!(backend.calls(Endpoint::User), 1, "u2: no API call");
    respond(&worker, &avatar("u3"), "image").await;
    assert_eq!(backend.calls(Endpoint::User), 2, "u3: asked for");
}

#[wasm_bindgen_test]
async fn a_restarted_worker_asks_only_for_records_newer_than_its_own() {
    let ns = namespace();
    let backend = FakeBackend::new();
    let worker = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    let before = now_ms();
    respond(&worker, &format!("{}/avatar/u1", own_origin()), "image").await;
    let after = now_ms();
    sleep(50.0).await; // its record's write to IndexedDB
    call(&worker, "close", &[]);
    // The browser stopped the worker; a fetch starts it again, with its records in IndexedDB.
    let (_channel, heard) = listen(&ns);
    let restarted = open_worker(config(&ns, &backend, json!({}))).await.unwrap();
    for _ in 0..200 {
        if !hellos_in(&heard).is_empty() {
            break;
        }
        sleep(10.0).await;
    }
    let since = hellos_in(&heard)[0].expect("a worker that holds records says since when");
    assert!(
        (before..=after).contains(&since),
        "since is u1's fetchedAt: {before} <= {since} <= {after}"
    );
    call(&restarted, "close", &[]);
}

//! Shared by the browser suites that drive the public `AvatarCache` class: a fake backend that
//! speaks the contract of DESIGN.md §4 through an injected `fetch`, real PNG bytes, a handle on
//! the exported class that calls its methods the way JavaScript does, and small helpers for
//! namespaces, sleeping and localStorage.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use avatar_cache::js::AvatarCache;
use avatar_cache::policy::png::chunk;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array, JSON};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, Headers, Response, ResponseInit};

/// Base of the fake backend's API.
pub const API_BASE: &str = "https://api.test/images";
/// The fake batch endpoint (POST `{ user_ids }`).
pub const BATCH_URL: &str = "https://api.test/batch/users";
/// The fake object storage the presigned image URLs point at.
pub const BUCKET: &str = "https://s3.test/avatars";
/// The default picture the cache hands out for `API_BASE` (`{apiBase}/default_pfp.png`).
pub const DEFAULT_URL: &str = "https://api.test/images/default_pfp.png";

// ----- records -------------------------------------------------------------------------------

/// A valid picture record of `user` (image `img-<user>` on a fake bucket), fetched at
/// `fetched_at` and signed for an hour from then.
pub fn stored_record(user: &str, fetched_at: f64) -> avatar_cache::record::PictureRecord {
    avatar_cache::record::PictureRecord {
        user_id: user.to_string(),
        image_id: Some(format!("img-{user}")),
        remote_url: format!("https://s3.example/img-{user}?X-Amz-Signature=abc"),
        url_expires_at: fetched_at + 3_600_000.0,
        fetched_at,
        etag: None,
        version: 1,
        opaque: false,
        thumbhash: None,
    }
}

// ----- namespaces, time ----------------------------------------------------------------------

thread_local! {
    static COUNTER: Cell<u32> = const { Cell::new(0) };
}

/// A namespace no other test (and no earlier run) uses: a counter and the time.
///
/// The first call also logs every error no code caught (a trap in a spawned task, a rejected
/// promise nobody awaits) with its stack, so a failure that follows one can be traced to it.
pub fn namespace() -> String {
    report_stray_errors();
    let n = COUNTER.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    format!("api{n}t{}", js_sys::Date::now() as u64)
}

/// Logs, once per page or worker, every uncaught error and unhandled rejection with its stack.
fn report_stray_errors() {
    let _ = js_sys::eval(
        "if (!globalThis.__reportingStrayErrors) {
           globalThis.__reportingStrayErrors = true;
           globalThis.addEventListener('error', e =>
             console.error('stray error:', String(e.message), e.error && e.error.stack));
           globalThis.addEventListener('unhandledrejection', e =>
             console.error('stray rejection:', String(e.reason), e.reason && e.reason.stack));
         }",
    );
}

/// Resolves after `ms` milliseconds of real time.
pub async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Milliseconds since some fixed point, for measuring how long something took.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Polls `condition` every 10 ms until it holds; panics with `what` after `timeout_ms`.
pub async fn wait_until(what: &str, timeout_ms: u32, mut condition: impl FnMut() -> bool) {
    let deadline = now_ms() + timeout_ms as f64;
    while !condition() {
        assert!(
            now_ms() < deadline,
            "timed out after {timeout_ms} ms waiting for {what}"
        );
        sleep(10).await;
    }
}

// ----- the channel between tabs and the service worker ---------------------------------------

/// Every message on the namespace's channel (`avatar-cache:<namespace>`), as another tab or the
/// service worker would receive them. Keep the channel alive while listening.
pub fn listen(namespace: &str) -> (web_sys::BroadcastChannel, Rc<RefCell<Vec<JsValue>>>) {
    let channel = web_sys::BroadcastChannel::new(&format!("avatar-cache:{namespace}")).unwrap();
    let heard = Rc::new(RefCell::new(Vec::new()));
    let sink = heard.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            sink.borrow_mut().push(event.data())
        });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    (channel, heard)
}

/// The record a page (`by` = `"page"`) or the service worker (`"worker"`) fetched for `user`,
/// whose image `image` is on the fake bucket, as it hands it over on the channel.
pub fn learned_message(namespace: &str, user: &str, image: &str, by: &str) -> JsValue {
    let now = now_ms();
    let record = json!({
        "userId": user, "imageId": image,
        "remoteUrl": format!("{BUCKET}/{image}.png?X-Amz-Signature=learned"),
        "urlExpiresAt": now + 3_600_000.0, "fetchedAt": now, "version": 1,
    });
    let message = json!({
        "namespace": namespace, "learned": 1, "by": by,
        "users": [user], "records": [record.to_string()],
    });
    JSON::parse(&message.to_string()).unwrap()
}

/// A service worker's hello on the channel (it started: pages answer with their records).
pub fn hello_message(namespace: &str) -> JsValue {
    JSON::parse(&json!({ "namespace": namespace, "hello": 1 }).to_string()).unwrap()
}

/// A hello from a service worker that holds records fetched up to `since`.
pub fn hello_since(namespace: &str, since: f64) -> JsValue {
    JSON::parse(&json!({ "namespace": namespace, "hello": 1, "since": since }).to_string()).unwrap()
}

/// The `since` of each hello among `heard`, in order (`None`: the hello carried none).
pub fn hellos_in(heard: &RefCell<Vec<JsValue>>) -> Vec<Option<f64>> {
    heard
        .borrow()
        .iter()
        .filter(|m| Reflect::get(m, &"hello".into()).is_ok_and(|v| v.as_f64() == Some(1.0)))
        .map(|m| {
            Reflect::get(m, &"since".into())
                .ok()
                .and_then(|v| v.as_f64())
        })
        .collect()
}

/// How many `learned` messages `heard` holds.
pub fn learned_messages(heard: &RefCell<Vec<JsValue>>) -> usize {
    heard
        .borrow()
        .iter()
        .filter(|m| Reflect::get(m, &"learned".into()).is_ok_and(|v| v.as_f64().is_some()))
        .count()
}

/// What `learned` messages among `heard` handed over, as `(by, userId)`, in order.
pub fn learned_in(heard: &RefCell<Vec<JsValue>>) -> Vec<(String, String)> {
    let get = |m: &JsValue, name: &str| Reflect::get(m, &name.into()).unwrap_or(JsValue::UNDEFINED);
    heard
        .borrow()
        .iter()
        .filter(|m| get(m, "learned").as_f64().is_some())
        .flat_map(|m| {
            let by = get(m, "by").as_string().unwrap_or_default();
            Array::from(&get(m, "users"))
                .iter()
                .map(move |u| (by.clone(), u.as_string().unwrap_or_default()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `heard` holds a service worker's hello.
pub fn heard_hello(heard: &RefCell<Vec<JsValue>>) -> bool {
    heard
        .borrow()
        .iter()
        .any(|m| Reflect::get(m, &"hello".into()).is_ok_and(|v| v.as_f64() == Some(1.0)))
}

// ----- PNG bytes -----------------------------------------------------------------------------

/// A valid 1×1 PNG that carries `image_id` in a `tEXt` chunk, so every image id has distinct
/// bytes (and a correct CRC everywhere).
pub fn png(image_id: &str) -> Vec<u8> {
    png_padded(image_id, 0)
}

/// Like [`png`], with `padding` more bytes of text: a valid PNG of any size.
pub fn png_padded(image_id: &str, padding: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    // 1×1, 8-bit RGBA.
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    let mut text = b"Comment\0".to_vec();
    text.extend_from_slice(image_id.as_bytes());
    text.extend(std::iter::repeat_n(b'.', padding));
    chunk(&mut out, b"tEXt", &text);
    // zlib of one transparent pixel (filter byte 0, then RGBA 0,0,0,0).
    chunk(
        &mut out,
        b"IDAT",
        &[
            0x78, 0xDA, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01,
        ],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A `Blob` of `bytes` typed `mime`.
pub fn blob(bytes: &[u8], mime: &str) -> Blob {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let parts = Array::of1(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).unwrap()
}

// ----- the fake backend ----------------------------------------------------------------------

/// Which part of the backend a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET {API_BASE}/user/{userId}`.
    User,
    /// `GET {API_BASE}/{imageId}`.
    Image,
    /// `POST {BATCH_URL}`.
    Batch,
    /// `GET {BUCKET}/{imageId}.png?X-Amz-…` (image bytes).
    Download,
    /// Anything else (answered 404).
    Other,
}

/// How an endpoint misbehaves, instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// An HTTP error status with a small JSON body.
    Status(u16),
    /// 200 with `body` and, when given, that `Content-Type`.
    Body {
        /// The `Content-Type` header, if any.
        content_type: Option<&'static str>,
        /// The body bytes.
        body: Vec<u8>,
    },
    /// 200 with this JSON.
    Json(Value),
    /// `fetch` rejects with a `TypeError`, as it does offline.
    Reject,
    /// `fetch` never settles (and ignores the abort signal).
    Hang,
    /// Object storage without CORS: a `cors` request rejects with a `TypeError`, a `no-cors`
    /// request gets an opaque response.
    NoCors,
}

/// What the fake backend was asked, one line per request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Where it went.
    pub endpoint: Endpoint,
    /// The full URL.
    pub url: String,
    /// The request mode (`cors`, `no-cors`), when set.
    pub mode: Option<String>,
    /// The `If-None-Match` header, when sent.
    pub if_none_match: Option<String>,
}

#[derive(Default)]
struct State {
    /// user → image (`None`: the user has no picture). Users not listed have `img-<userId>`.
    users: HashMap<String, Option<String>>,
    faults: HashMap<Endpoint, Fault>,
    delays: HashMap<Endpoint, u32>,
    requests: Vec<Request>,
    bytes_served: u64,
    signatures: u32,
    /// `X-Amz-Expires` of the presigned URLs (seconds; 0 means the default hour).
    url_lifetime_s: u32,
    /// Bytes of text added to every image served (0: the smallest PNG).
    image_padding: usize,
}

/// A backend living inside an injected `fetch`: the user, image and batch endpoints of
/// DESIGN.md §4, presigned image URLs (`X-Amz-Date` = now, `X-Amz-Expires=3600`, a new
/// signature each time), image bytes with an `ETag` (and 304 to a matching `If-None-Match`),
/// faults and delays per endpoint, and counters of what it was asked.
///
/// Every answer is a real `Response`, except the opaque one of [`Fault::NoCors`], which script
/// cannot make: that is a real `Response` whose `type` reads `"opaque"` and `status` reads 0.
#[derive(Clone)]
pub struct FakeBackend {
    state: Rc<RefCell<State>>,
    fetch: Function,
}

impl Default for FakeBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeBackend {
    /// A healthy backend where every user `u` has the image `img-u`.
    pub fn new() -> Self {
        let state = Rc::new(RefCell::new(State::default()));
        let for_fetch = state.clone();
        let fetch = Closure::<dyn FnMut(JsValue, JsValue) -> Promise>::new(
            move |input: JsValue, init: JsValue| handle(&for_fetch, &input, &init),
        )
        .into_js_value()
        .unchecked_into::<Function>();
        FakeBackend { state, fetch }
    }

    /// The `fetch` to put in the config.
    pub fn fetch(&self) -> &Function {
        &self.fetch
    }

    /// From now on `user` has `image` (`None`: no picture).
    pub fn set_user(&self, user: &str, image: Option<&str>) {
        self.state
            .borrow_mut()
            .users
            .insert(user.to_string(), image.map(str::to_string));
    }

    /// From now on every image served carries `padding` more bytes (a valid, larger PNG).
    pub fn set_image_padding(&self, padding: usize) {
        self.state.borrow_mut().image_padding = padding;
    }

    /// From now on presigned URLs are valid for `seconds` (`X-Amz-Expires`).
    pub fn set_url_lifetime(&self, seconds: u32) {
        self.state.borrow_mut().url_lifetime_s = seconds;
    }

    /// From now on `endpoint` answers with `fault`.
    pub fn fault(&self, endpoint: Endpoint, fault: Fault) {
        self.state.borrow_mut().faults.insert(endpoint, fault);
    }

    /// `endpoint` answers normally again.
    pub fn heal(&self, endpoint: Endpoint) {
        self.state.borrow_mut().faults.remove(&endpoint);
    }

    /// From now on `endpoint` answers (or fails) after `ms` milliseconds; 0 removes the delay.
    pub fn delay(&self, endpoint: Endpoint, ms: u32) {
        let mut state = self.state.borrow_mut();
        if ms == 0 {
            state.delays.remove(&endpoint);
        } else {
            state.delays.insert(endpoint, ms);
        }
    }

    /// Requests made to `endpoint` so far.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.state
            .borrow()
            .requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    /// Requests made in all.
    pub fn total_calls(&self) -> usize {
        self.state.borrow().requests.len()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.borrow().requests.clone()
    }

    /// Image body bytes sent by object storage.
    pub fn bytes_served(&self) -> u64 {
        self.state.borrow().bytes_served
    }
}

fn handle(state: &Rc<RefCell<State>>, input: &JsValue, init: &JsValue) -> Promise {
    let url = input
        .as_string()
        .or_else(|| input.dyn_ref::<web_sys::Request>().map(|r| r.url()))
        .unwrap_or_default();
    let get = |name: &str| Reflect::get(init, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let method = get("method").as_string().unwrap_or_else(|| "GET".into());
    let mode = get("mode").as_string();
    let if_none_match = get("headers")
        .dyn_into::<Headers>()
        .ok()
        .and_then(|h| h.get("if-none-match").ok().flatten());
    let body = get("body").as_string();
    let endpoint = classify(&url, &method);
    let (fault, delay) = {
        let mut s = state.borrow_mut();
        s.requests.push(Request {
            endpoint,
            url: url.clone(),
            mode: mode.clone(),
            if_none_match: if_none_match.clone(),
        });
        (
            s.faults.get(&endpoint).cloned(),
            s.delays.get(&endpoint).copied(),
        )
    };
    let state = state.clone();
    let answer = move || -> Promise {
        match fault {
            Some(fault) => answer_fault(&state, endpoint, fault, mode.as_deref()),
            None => Promise::resolve(&JsValue::from(answer_normally(
                &state,
                endpoint,
                &url,
                body.as_deref(),
                if_none_match.as_deref(),
            ))),
        }
    };
    match delay {
        None => answer(),
        Some(ms) => {
            let later = Function::new_with_args(
                "ms, answer",
                "return new Promise((resolve) => setTimeout(resolve, ms)).then(() => answer());",
            );
            let answer = Closure::once_into_js(move || -> JsValue { answer().into() });
            later
                .call2(&JsValue::NULL, &ms.into(), &answer)
                .unwrap()
                .unchecked_into()
        }
    }
}

fn classify(url: &str, method: &str) -> Endpoint {
    if url == BATCH_URL && method == "POST" {
        Endpoint::Batch
    } else if let Some(rest) = url.strip_prefix(&format!("{API_BASE}/user/")) {
        if rest.is_empty() {
            Endpoint::Other
        } else {
            Endpoint::User
        }
    } else if url.starts_with(&format!("{API_BASE}/")) {
        Endpoint::Image
    } else if url.starts_with(&format!("{BUCKET}/")) {
        Endpoint::Download
    } else {
        Endpoint::Other
    }
}

fn decode(segment: &str) -> String {
    js_sys::decode_uri_component(segment)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| segment.to_string())
}

/// The last path segment of `url` after `prefix`, without query string.
fn id_after(url: &str, prefix: &str) -> String {
    let rest = url.strip_prefix(prefix).unwrap_or("");
    let path = rest.split(['?', '#']).next().unwrap_or("");
    decode(path)
}

/// `X-Amz-Date` for now: `YYYYMMDDTHHMMSSZ`.
fn amz_date() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        d.get_utc_full_year(),
        d.get_utc_month() + 1,
        d.get_utc_date(),
        d.get_utc_hours(),
        d.get_utc_minutes(),
        d.get_utc_seconds()
    )
}

/// A presigned URL for `image_id`, signed now (for an hour unless set otherwise).
fn presign(state: &RefCell<State>, image_id: &str) -> String {
    let (n, lifetime) = {
        let mut s = state.borrow_mut();
        s.signatures += 1;
        let lifetime = if s.url_lifetime_s == 0 {
            3_600
        } else {
            s.url_lifetime_s
        };
        (s.signatures, lifetime)
    };
    format!(
        "{BUCKET}/{}.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={}&X-Amz-Expires={lifetime}&X-Amz-Signature=sig{n}",
        String::from(js_sys::encode_uri_component(image_id)),
        amz_date()
    )
}

fn image_of(state: &RefCell<State>, user: &str) -> Option<String> {
    state
        .borrow()
        .users
        .get(user)
        .cloned()
        .unwrap_or_else(|| Some(format!("img-{user}")))
}

fn user_answer(state: &RefCell<State>, user: &str) -> Value {
    match image_of(state, user) {
        Some(image) => json!({
            "success": true, "user_id": user, "image_id": image, "url": presign(state, &image),
        }),
        None => json!({ "success": true, "user_id": user, "image_id": null, "url": DEFAULT_URL }),
    }
}

fn etag_of(image_id: &str) -> String {
    format!("\"etag-{image_id}\"")
}

fn answer_normally(
    state: &RefCell<State>,
    endpoint: Endpoint,
    url: &str,
    body: Option<&str>,
    if_none_match: Option<&str>,
) -> Response {
    match endpoint {
        Endpoint::User => {
            let user = id_after(url, &format!("{API_BASE}/user/"));
            json_response(200, &user_answer(state, &user))
        }
        Endpoint::Image => {
            let image = id_after(url, &format!("{API_BASE}/"));
            json_response(
                200,
                &json!({ "success": true, "image_id": image, "url": presign(state, &image) }),
            )
        }
        Endpoint::Batch => {
            let ids: Vec<String> = body
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|v| serde_json::from_value(v["user_ids"].clone()).ok())
                .unwrap_or_default();
            let users: serde_json::Map<String, Value> = ids
                .iter()
                .map(|u| {
                    let answer = user_answer(state, u);
                    let entry = json!({ "image_id": answer["image_id"], "url": answer["url"] });
                    (u.clone(), entry)
                })
                .collect();
            json_response(200, &json!({ "users": users }))
        }
        Endpoint::Download => {
            let file = id_after(url, &format!("{BUCKET}/"));
            let image = file.strip_suffix(".png").unwrap_or(&file).to_string();
            let etag = etag_of(&image);
            if if_none_match == Some(etag.as_str()) {
                return response(304, &[("ETag", &etag)], None);
            }
            let padding = state.borrow().image_padding;
            let bytes = png_padded(&image, padding);
            state.borrow_mut().bytes_served += bytes.len() as u64;
            response(
                200,
                &[("Content-Type", "image/png"), ("ETag", &etag)],
                Some(&bytes),
            )
        }
        Endpoint::Other => json_response(404, &json!({ "success": false })),
    }
}

fn answer_fault(
    state: &RefCell<State>,
    endpoint: Endpoint,
    fault: Fault,
    mode: Option<&str>,
) -> Promise {
    let reject = || Promise::reject(&js_sys::TypeError::new("Failed to fetch").into());
    let resolve = |r: Response| Promise::resolve(&JsValue::from(r));
    match fault {
        Fault::Status(status) => resolve(json_response(
            status,
            &json!({ "success": false, "error": "fault" }),
        )),
        Fault::Body { content_type, body } => {
            if endpoint == Endpoint::Download {
                state.borrow_mut().bytes_served += body.len() as u64;
            }
            let headers: Vec<(&str, &str)> = content_type
                .map(|t| vec![("Content-Type", t)])
                .unwrap_or_default();
            resolve(response(200, &headers, Some(&body)))
        }
        Fault::Json(value) => resolve(json_response(200, &value)),
        Fault::Reject => reject(),
        Fault::Hang => Promise::new(&mut |_, _| {}),
        Fault::NoCors => {
            if mode == Some("no-cors") {
                resolve(opaque_response())
            } else {
                reject()
            }
        }
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
    let h = Headers::new().unwrap();
    for (name, value) in headers {
        h.set(name, value).unwrap();
    }
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&h);
    match body {
        Some(bytes) => {
            Response::new_with_opt_js_u8_array_and_init(Some(&Uint8Array::from(bytes)), &init)
        }
        None => Response::new_with_opt_str_and_init(None, &init),
    }
    .unwrap()
}

fn json_response(status: u16, value: &Value) -> Response {
    response(
        status,
        &[("Content-Type", "application/json")],
        Some(value.to_string().as_bytes()),
    )
}

/// What a `no-cors` request to another origin resolves with. Script cannot construct an opaque
/// response, so this is a real `Response` whose `type`, `status` and `ok` read as one's do.
fn opaque_response() -> Response {
    let r = response(200, &[], None);
    for (name, value) in [
        ("type", JsValue::from_str("opaque")),
        ("status", JsValue::from(0)),
        ("ok", JsValue::FALSE),
    ] {
        let descriptor = Object::new();
        Reflect::set(&descriptor, &"value".into(), &value).unwrap();
        Object::define_property(r.as_ref(), &name.into(), &descriptor);
    }
    r
}

// ----- config --------------------------------------------------------------------------------

/// `extra` merged into `base`, objects field by field.
fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

/// A config for `namespace` talking to `backend`: the fake API base, fast retries (3 attempts,
/// 1–5 ms apart), with `extra` merged in.
pub fn config(namespace: &str, backend: &FakeBackend, extra: Value) -> JsValue {
    let mut value = json!({
        "apiBase": API_BASE,
        "namespace": namespace,
        "retry": { "attempts": 3, "baseDelayMs": 1, "maxDelayMs": 5 },
    });
    merge(&mut value, extra);
    let object = JSON::parse(&value.to_string()).unwrap();
    Reflect::set(&object, &"fetch".into(), backend.fetch()).unwrap();
    object
}

/// Puts an `onEvent` listener in `config` that keeps every event it is given.
pub fn record_events(config: &JsValue) -> Rc<RefCell<Vec<JsValue>>> {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    let listener = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        sink.borrow_mut().push(event);
    })
    .into_js_value();
    Reflect::set(config, &"onEvent".into(), &listener).unwrap();
    events
}

// ----- the exported class, driven as JavaScript drives it ------------------------------------

/// `AvatarCache.open(config)` through the exported class: its resolved value or its rejection.
pub async fn try_open(config: JsValue) -> Result<Cache, JsValue> {
    let config = (!config.is_undefined()).then(|| config.unchecked_into());
    let js = JsFuture::from(AvatarCache::open(config)).await?;
    Ok(Cache { js })
}

/// Opens a cache; panics if `open` rejects.
pub async fn open(config: JsValue) -> Cache {
    try_open(config).await.expect("AvatarCache.open rejected")
}

/// A picture as `get`/`peek` answer it, read field by field (each must have its declared type).
#[derive(Debug, Clone)]
pub struct Pic {
    /// The object itself (for identity checks).
    pub js: JsValue,
    /// `userId`.
    pub user_id: String,
    /// `imageId` (`null` → `None`).
    pub image_id: Option<String>,
    /// `url`.
    pub url: String,
    /// `source`.
    pub source: String,
    /// `stale`.
    pub stale: bool,
    /// `loadMs`.
    pub load_ms: f64,
}

impl Pic {
    /// Reads a `Picture`; panics if a field is missing or of the wrong type.
    pub fn from_js(js: JsValue) -> Pic {
        assert!(js.is_object(), "a Picture is an object, got {js:?}");
        let image_id = field(&js, "imageId");
        assert!(
            image_id.is_null() || image_id.is_string(),
            "imageId is a string or null, got {image_id:?}"
        );
        let source = string(&js, "source");
        assert!(
            ["memory", "local", "indexeddb", "network", "default"].contains(&source.as_str()),
            "unknown source {source}"
        );
        Pic {
            user_id: string(&js, "userId"),
            image_id: image_id.as_string(),
            url: string(&js, "url"),
            source,
            stale: field(&js, "stale").as_bool().expect("stale is a boolean"),
            load_ms: number(&js, "loadMs"),
            js,
        }
    }
}

/// An `AvatarCache` instance as JavaScript holds it: every call goes through its JS methods.
pub struct Cache {
    /// The instance.
    pub js: JsValue,
}

impl Cache {
    /// Calls method `name` with `args`; a synchronous throw is returned as `Err`.
    pub fn call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let method: Function = Reflect::get(&self.js, &name.into())?
            .dyn_into()
            .unwrap_or_else(|_| panic!("AvatarCache has no method {name}"));
        method.apply(&self.js, &args.iter().collect::<Array>())
    }

    /// Calls a method that returns a promise and waits for it.
    pub async fn call_async(&self, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let promise = self.call(name, args)?;
        assert!(
            promise.is_instance_of::<Promise>(),
            "{name} returns a Promise"
        );
        JsFuture::from(promise.unchecked_into::<Promise>()).await
    }

    /// `get(userId)` as a pending promise (for concurrent gets).
    pub fn get_promise(&self, user: &str) -> JsFuture {
        let promise = self.call("get", &[user.into()]).expect("get threw");
        JsFuture::from(promise.unchecked_into::<Promise>())
    }

    /// `get(userId)`; panics if it rejects (it never should).
    pub async fn get(&self, user: &str) -> Pic {
        let value = self
            .call_async("get", &[user.into()])
            .await
            .unwrap_or_else(|e| panic!("get({user}) rejected: {e:?}"));
        Pic::from_js(value)
    }

    /// `get(userId, imageId)`; panics if it rejects.
    pub async fn get_image(&self, user: &str, image: &str) -> Pic {
        let value = self
            .call_async("get", &[user.into(), image.into()])
            .await
            .unwrap_or_else(|e| panic!("get({user}, {image}) rejected: {e:?}"));
        Pic::from_js(value)
    }

    /// `peek(userId)`: the raw value (`undefined` or a Picture).
    pub fn peek(&self, user: &str) -> JsValue {
        self.call("peek", &[user.into()]).expect("peek threw")
    }

    /// `prefetch(userIds)`; panics if it rejects.
    pub async fn prefetch(&self, users: &[String]) -> JsValue {
        let ids: Array = users.iter().map(|u| JsValue::from_str(u)).collect();
        self.call_async("prefetch", &[ids.into()])
            .await
            .unwrap_or_else(|e| panic!("prefetch rejected: {e:?}"))
    }

    /// `setPicture(userId, imageId, image)`.
    pub async fn set_picture(
        &self,
        user: &str,
        image: Option<&str>,
        body: Option<&Blob>,
    ) -> Result<JsValue, JsValue> {
        let image = image.map_or(JsValue::NULL, JsValue::from_str);
        let body = body.map_or(JsValue::UNDEFINED, |b| b.into());
        self.call_async("setPicture", &[user.into(), image, body])
            .await
    }

    /// `invalidate(userId)`; panics if it rejects.
    pub async fn invalidate(&self, user: &str) {
        self.call_async("invalidate", &[user.into()])
            .await
            .unwrap_or_else(|e| panic!("invalidate({user}) rejected: {e:?}"));
    }

    /// `clear()`; panics if it rejects.
    pub async fn clear(&self) {
        self.call_async("clear", &[])
            .await
            .unwrap_or_else(|e| panic!("clear rejected: {e:?}"));
    }

    /// `subscribe(listener)` with a listener that writes down every user id it hears.
    pub fn subscribe(&self) -> Heard {
        let heard = Rc::new(RefCell::new(Vec::new()));
        let sink = heard.clone();
        // Each change is recorded as its user id, or "{all}" for `{ all: true }`.
        let listener = Closure::<dyn FnMut(JsValue)>::new(move |change: JsValue| {
            let user = Reflect::get(&change, &"userId".into()).unwrap();
            let all = Reflect::get(&change, &"all".into()).unwrap();
            let heard = match (user.as_string(), all.as_bool()) {
                (Some(user), None) => user,
                (None, Some(true)) => "{all}".to_string(),
                _ => panic!("a change is {{ userId }} or {{ all: true }}: {change:?}"),
            };
            sink.borrow_mut().push(heard);
        })
        .into_js_value();
        let unsubscribe = self
            .call("subscribe", &[listener])
            .expect("subscribe threw")
            .dyn_into::<Function>()
            .expect("subscribe returns a function");
        Heard { heard, unsubscribe }
    }

    /// `stats()`.
    pub fn stats(&self) -> JsValue {
        self.call("stats", &[]).expect("stats threw")
    }

    /// `diagnose()`.
    pub fn diagnose(&self) -> JsValue {
        self.call("diagnose", &[]).expect("diagnose threw")
    }

    /// `close()`.
    pub fn close(&self) {
        self.call("close", &[]).expect("close threw");
    }

    /// `stats().recentErrors` as `(layer, reason)` pairs.
    pub fn recent_errors(&self) -> Vec<(String, String)> {
        let errors: Array = field(&self.stats(), "recentErrors")
            .dyn_into()
            .expect("recentErrors is an array");
        errors
            .iter()
            .map(|e| (string(&e, "layer"), string(&e, "reason")))
            .collect()
    }

    /// Whether `stats().recentErrors` holds an error of `layer` whose reason starts with `code`.
    pub fn has_error(&self, layer: &str, code: &str) -> bool {
        self.recent_errors()
            .iter()
            .any(|(l, r)| l == layer && r.starts_with(code))
    }

    /// `stats().idb.entries`, or `None` when `stats().idb` is null.
    pub fn idb_entries(&self) -> Option<f64> {
        let idb = field(&self.stats(), "idb");
        (!idb.is_null()).then(|| number(&idb, "entries"))
    }
}

/// What a subscriber heard.
pub struct Heard {
    heard: Rc<RefCell<Vec<String>>>,
    unsubscribe: Function,
}

impl Heard {
    /// The user ids heard so far, in order.
    pub fn users(&self) -> Vec<String> {
        self.heard.borrow().clone()
    }

    /// Whether `user` was heard.
    pub fn heard(&self, user: &str) -> bool {
        self.heard.borrow().iter().any(|u| u == user)
    }

    /// Calls the function `subscribe` returned.
    pub fn unsubscribe(&self) {
        self.unsubscribe.call0(&JsValue::UNDEFINED).unwrap();
    }
}

// ----- reading JS values ---------------------------------------------------------------------

/// `value[path]`, where `path` may be dotted (`"layers.memory.hits"`).
pub fn field(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |v, name| {
        Reflect::get(&v, &name.into()).unwrap_or(JsValue::UNDEFINED)
    })
}

/// `value[path]` as a number; panics if it is not one.
pub fn number(value: &JsValue, path: &str) -> f64 {
    let v = field(value, path);
    v.as_f64()
        .unwrap_or_else(|| panic!("{path} is a number, got {v:?}"))
}

/// `value[path]` as a string; panics if it is not one.
pub fn string(value: &JsValue, path: &str) -> String {
    let v = field(value, path);
    v.as_string()
        .unwrap_or_else(|| panic!("{path} is a string, got {v:?}"))
}

/// The `code` property of a rejection.
pub fn error_code(error: &JsValue) -> Option<String> {
    field(error, "code").as_string()
}

// ----- localStorage, object URLs -------------------------------------------------------------

/// `window.localStorage`.
pub fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Every localStorage key that starts with `prefix`.
pub fn keys_with_prefix(prefix: &str) -> Vec<String> {
    let s = storage();
    (0..s.length().unwrap())
        .filter_map(|i| s.key(i).unwrap())
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// The localStorage key of `user`'s record (ids of letters, digits and `-` need no escaping).
pub fn local_key(namespace: &str, user: &str, version: u32) -> String {
    format!("{namespace}:local:{user}:v{version}")
}

/// The bytes behind a URL, read with the page's `fetch`: `Err` when the fetch rejects (for a
/// `blob:` URL, once it was revoked).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, JsValue> {
    let window = web_sys::window().unwrap();
    let response: Response = JsFuture::from(window.fetch_with_str(url))
        .await?
        .dyn_into()?;
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

//! The network layer against a fake network: an injected `fetch` that answers with real
//! `Response` objects and records what it was asked.

#![cfg(target_arch = "wasm32")]

use std::fmt::Debug;
use std::rc::Rc;

use avatar_cache::config::Config;
use avatar_cache::layers::body::Body;
use avatar_cache::layers::network::{is_opaque_response, FetchBackend};
use avatar_cache::layers::object_url::BrowserObjectUrls;
use avatar_cache::layers::{Backend, Download, ObjectUrls, RemotePicture};
use avatar_cache::{Error, Result};
use js_sys::{Function, Object, Reflect, Uint8Array};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::Response;

wasm_bindgen_test_configure!(run_in_browser);

/// A complete 1×1 transparent PNG (68 bytes).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0xE9, 0xFA, 0xDC, 0xD8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44,
    0xAE, 0x42, 0x60, 0x82,
];

const SVG: &str =
    r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#;

const IMAGE_URL: &str =
    "https://s3.example/bucket/img1.png?X-Amz-Expires=3600&X-Amz-Signature=secret";

/// A fake `fetch`: every call is recorded in `calls` (input, method, mode, credentials, headers
/// as a plain object, body, signal), then answered by `handler(input, init, n, data)`, where
/// `data` is a shared object holding `png` (the PNG bytes) and whatever the handler leaves there.
struct FakeFetch {
    function: Function,
    data: Object,
}

impl FakeFetch {
    fn new(handler: &str) -> Self {
        let data = Object::new();
        Reflect::set(&data, &"png".into(), &Uint8Array::from(PNG)).unwrap();
        let factory = Function::new_with_args(
            "handlerSource, data",
            "const handler = new Function('input', 'init', 'n', 'data', handlerSource);
             const fetch = function (input, init) {
               init = init || {};
               const headers = {};
               new Headers(init.headers || {}).forEach((value, name) => { headers[name] = value; });
               fetch.calls.push({
                 input: String(input), method: init.method || 'GET', mode: init.mode,
                 credentials: init.credentials, headers, body: init.body, signal: init.signal,
               });
               return handler(input, init, fetch.calls.length, data);
             };
             fetch.calls = [];
             return fetch;",
        );
        let function = factory
            .call2(&JsValue::NULL, &handler.into(), &data)
            .unwrap()
            .dyn_into::<Function>()
            .unwrap();
        FakeFetch { function, data }
    }

    /// A fake answering every call with `status`, `body` (a JS expression) and `headers` (a JS
    /// object literal).
    fn answering(status: u16, body: &str, headers: &str) -> Self {
        Self::new(&format!(
            "return new Response({body}, {{ status: {status}, headers: {headers} }});"
        ))
    }

    /// A fake answering every call with `value` as a JSON body.
    fn json(value: Value) -> Self {
        Self::json_text(&value.to_string())
    }

    /// A fake answering every call with `text` as a JSON body.
    fn json_text(text: &str) -> Self {
        Self::answering(
            200,
            &js_string(text),
            "{ 'Content-Type': 'application/json' }",
        )
    }

    fn backend(&self, config: Value) -> FetchBackend {
        FetchBackend::new(make_config(config), Some(self.function.clone()))
    }

    fn calls(&self) -> u32 {
        let calls = Reflect::get(&self.function, &"calls".into()).unwrap();
        calls.unchecked_into::<js_sys::Array>().length()
    }

    /// Field `name` of call `index` (0-based).
    fn call(&self, index: u32, name: &str) -> JsValue {
        let calls = Reflect::get(&self.function, &"calls".into()).unwrap();
        let call = calls.unchecked_into::<js_sys::Array>().get(index);
        Reflect::get(&call, &name.into()).unwrap()
    }

    fn call_str(&self, index: u32, name: &str) -> Option<String> {
        self.call(index, name).as_string()
    }

    /// Request header `name` (lowercase) of call `index`.
    fn header(&self, index: u32, name: &str) -> Option<String> {
        Reflect::get(&self.call(index, "headers"), &name.into())
            .unwrap()
            .as_string()
    }

    fn data(&self, name: &str) -> JsValue {
        Reflect::get(&self.data, &name.into()).unwrap()
    }
}

/// `text` as a JS string literal.
fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn make_config(config: Value) -> Rc<Config> {
    Rc::new(Config::from_json(config).unwrap())
}

fn api_config() -> Value {
    json!({
        "apiBase": "/api",
        "headers": { "X-Auth": "token-1" },
        "credentials": "include",
        "batchEndpoint": "/api/batch",
    })
}

fn expect_err<T: Debug>(result: Result<T>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e,
    }
}

fn expect_image(result: Result<Download<Body>>) -> (Body, String, u64, Option<String>) {
    match result {
        Ok(Download::Image {
            body,
            mime,
            bytes,
            etag,
        }) => (body, mime, bytes, etag),
        other => panic!("expected an image, got {other:?}"),
    }
}

fn assert_not_an_image<T: Debug>(result: Result<T>) {
    match expect_err(result) {
        Error::NotAnImage { .. } => {}
        other => panic!("expected NotAnImage, got {other:?}"),
    }
}

/// The bytes of a body, read through a `Response` whichever form it has.
async fn blob_bytes(body: &Body) -> Vec<u8> {
    let response = Response::new_with_opt_blob(Some(&body.to_blob().unwrap())).unwrap();
    let buffer = JsFuture::from(response.array_buffer().unwrap())
        .await
        .unwrap();
    Uint8Array::new(&buffer).to_vec()
}

/// A handler whose body is a stream of forty 256-byte chunks (10 KiB, far over the 1000-byte cap
/// of the tests that use it); `data.pulls` counts the chunks asked for.
fn oversized_stream_handler(headers: &str) -> String {
    format!(
        "data.pulls = 0;
         const stream = new ReadableStream({{
           pull(controller) {{
             data.pulls += 1;
             controller.enqueue(new Uint8Array(256));
             if (data.pulls === 40) controller.close();
           }}
         }});
         data.response = new Response(stream, {{ status: 200, headers: {headers} }});
         return data.response;"
    )
}

// ----- API calls --------------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn fetch_user_sends_config_headers_and_reads_the_answer() {
    let fake = FakeFetch::json(json!({
        "success": true, "image_id": "img1", "url": IMAGE_URL, "user_id": "a b/c",
    }));
    let backend = fake.backend(api_config());
    let picture = backend.fetch_user("a b/c").await.unwrap();
    assert_eq!(
        picture,
        RemotePicture {
            user_id: Some("a b/c".into()),
            image_id: Some("img1".into()),
            url: IMAGE_URL.into(),
            thumbhash: None,
        }
    );
    assert_eq!(fake.calls(), 1);
    assert_eq!(fake.call_str(0, "input").unwrap(), "/api/user/a%20b%2Fc");
    assert_eq!(fake.call_str(0, "method").unwrap(), "GET");
    assert_eq!(fake.call_str(0, "credentials").unwrap(), "include");
    assert_eq!(fake.header(0, "accept").unwrap(), "application/json");
    assert_eq!(fake.header(0, "x-auth").unwrap(), "token-1");
    assert!(
        fake.call(0, "signal").is_object(),
        "a request carries an abort signal"
    );
}

#[wasm_bindgen_test]
async fn user_without_picture_has_no_image_id() {
    let fake = FakeFetch::json(json!({
        "success": true, "image_id": null, "url": "/api/default_pfp.png", "user_id": 7,
    }));
    let picture = fake.backend(api_config()).fetch_user("7").await.unwrap();
    assert_eq!(picture.image_id, None);
    assert_eq!(picture.url, "/api/default_pfp.png");
}

#[wasm_bindgen_test]
async fn fetch_image_info_reads_the_image_endpoint() {
    let fake = FakeFetch::json(json!({ "success": true, "image_id": "img 1", "url": IMAGE_URL }));
    let picture = fake
        .backend(api_config())
        .fetch_image_info("img 1")
        .await
        .unwrap();
    assert_eq!(picture.image_id.as_deref(), Some("img 1"));
    assert_eq!(picture.user_id, None);
    assert_eq!(picture.url, IMAGE_URL);
    assert_eq!(fake.call_str(0, "input").unwrap(), "/api/img%201");
}

#[wasm_bindgen_test]
async fn batch_posts_the_ids_and_skips_unknown_and_malformed_entries() {
    let fake = FakeFetch::json(json!({
        "users": {
            "u1": { "image_id": "i1", "url": "https://s3.example/i1" },
            "u2": { "image_id": "i2", "url": 5 },
            "u3": null,
            "u4": { "image_id": 44, "url": "https://s3.example/i4" },
            "u6": { "image_id": "i6", "url": "" },
            "not-asked": { "image_id": "x", "url": "https://s3.example/x" },
        }
    }));
    let backend = fake.backend(api_config());
    let ids: Vec<String> = ["u1", "u2", "u3", "u4", "u5", "u6"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let pictures = backend.fetch_batch(&ids).await.unwrap();
    assert_eq!(
        pictures,
        vec![
            RemotePicture {
                user_id: Some("u1".into()),
                image_id: Some("i1".into()),
                url: "https://s3.example/i1".into(),
                thumbhash: None,
            },
            RemotePicture {
                user_id: Some("u4".into()),
                image_id: Some("44".into()),
                url: "https://s3.example/i4".into(),
                thumbhash: None,
            },
        ]
    );
    assert_eq!(fake.calls(), 1);
    assert_eq!(fake.call_str(0, "input").unwrap(), "/api/batch");
    assert_eq!(fake.call_str(0, "method").unwrap(), "POST");
    assert_eq!(fake.header(0, "content-type").unwrap(), "application/json");
    assert_eq!(fake.header(0, "x-auth").unwrap(), "token-1");
    let body: Value = serde_json::from_str(&fake.call_str(0, "body").unwrap()).unwrap();
    assert_eq!(
        body,
        json!({ "user_ids": ["u1", "u2", "u3", "u4", "u5", "u6"] })
    );
}

#[wasm_bindgen_test]
async fn batch_answer_without_users_is_a_bad_response() {
    for answer in [
        json!({ "success": false }),
        json!({ "users": [] }),
        json!([]),
    ] {
        let fake = FakeFetch::json(answer.clone());
        let error = expect_err(
            fake.backend(api_config())
                .fetch_batch(&["u1".to_string()])
                .await,
        );
        assert!(
            matches!(error, Error::BadResponse { .. }),
            "{answer}: {error:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn batch_without_endpoint_is_refused_without_a_request() {
    let fake = FakeFetch::json(json!({ "users": {} }));
    let error = expect_err(
        fake.backend(json!({}))
            .fetch_batch(&["u1".to_string()])
            .await,
    );
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert_eq!(fake.calls(), 0);
}

#[wasm_bindgen_test]
async fn http_error_statuses_are_network_errors_naming_the_path() {
    for status in [404u16, 500, 503] {
        let fake = FakeFetch::answering(status, "'nope'", "{}");
        let error = expect_err(fake.backend(api_config()).fetch_user("1").await);
        assert_eq!(
            error,
            Error::Network {
                status,
                request: "/api/user/1".into()
            }
        );
    }
}

#[wasm_bindgen_test]
async fn malformed_answers_are_bad_responses() {
    let cases = [
        "not json".to_string(),
        "".to_string(),
        "[1, 2]".to_string(),
        "null".to_string(),
        json!({ "success": false, "image_id": "i", "url": "https://x/i" }).to_string(),
        json!({ "success": "yes", "image_id": "i", "url": "https://x/i" }).to_string(),
        json!({ "success": true, "image_id": "i" }).to_string(),
        json!({ "success": true, "image_id": "i", "url": "" }).to_string(),
        json!({ "success": true, "image_id": "i", "url": 42 }).to_string(),
        json!({ "success": true, "image_id": { "id": 1 }, "url": "https://x/i" }).to_string(),
        json!({ "success": true, "image_id": 1.5, "url": "https://x/i" }).to_string(),
        json!({ "success": true, "image_id": "i", "url": "https://x/i", "user_id": "other" })
            .to_string(),
        format!(
            "{{\"success\":true,\"url\":\"https://x/i\",\"pad\":\"{}\"}}",
            "x".repeat(70 * 1024)
        ),
    ];
    for text in cases {
        let fake = FakeFetch::json_text(&text);
        let error = expect_err(fake.backend(api_config()).fetch_user("1").await);
        assert!(
            matches!(error, Error::BadResponse { .. }),
            "{}: {error:?}",
            &text[..text.len().min(80)]
        );
    }
}

#[wasm_bindgen_test]
async fn answer_over_the_size_cap_is_refused_by_content_length() {
    let fake = FakeFetch::answering(
        200,
        "'{}'",
        "{ 'Content-Type': 'application/json', 'Content-Length': '1000000' }",
    );
    let error = expect_err(fake.backend(api_config()).fetch_user("1").await);
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
}

#[wasm_bindgen_test]
async fn fetch_failures_become_errors_not_exceptions() {
    let rejected = FakeFetch::new("return Promise.reject(new TypeError('Failed to fetch'));");
    let error = expect_err(rejected.backend(api_config()).fetch_user("1").await);
    assert_eq!(
        error,
        Error::Network {
            status: 0,
            request: "/api/user/1".into()
        }
    );

    let thrown = FakeFetch::new("throw new RangeError('boom');");
    let error = expect_err(thrown.backend(api_config()).fetch_user("1").await);
    assert_eq!(
        error,
        Error::Js {
            name: "RangeError".into(),
            message: "boom".into()
        }
    );

    // Thrown values that are not errors keep their text, as `String(value)` writes it (read by
    // JS: release builds have no `Debug` formatting to fall back on).
    for (throws, text) in [
        ("42", "42"),
        ("null", "null"),
        ("undefined", "undefined"),
        ("false", "false"),
        ("Symbol('odd')", "Symbol(odd)"),
    ] {
        let odd = FakeFetch::new(&format!("throw {throws};"));
        let error = expect_err(odd.backend(api_config()).fetch_user("1").await);
        assert_eq!(
            error,
            Error::Js {
                name: "Error".into(),
                message: text.into()
            },
            "throw {throws}"
        );
    }

    let dom = FakeFetch::new("return Promise.reject(new DOMException('denied', 'SecurityError'));");
    let error = expect_err(dom.backend(api_config()).fetch_user("1").await);
    assert!(
        matches!(&error, Error::Js { name, .. } if name == "SecurityError"),
        "{error:?}"
    );

    let not_a_response = FakeFetch::new("return { status: 200 };");
    let error = expect_err(not_a_response.backend(api_config()).fetch_user("1").await);
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
}

#[wasm_bindgen_test]
async fn request_that_never_answers_times_out_and_is_aborted() {
    let fake = FakeFetch::new(
        "return new Promise((resolve, reject) => {
           init.signal.addEventListener('abort', () => {
             data.aborted = true;
             reject(new DOMException('The operation was aborted.', 'AbortError'));
           });
         });",
    );
    let mut config = api_config();
    config["requestTimeoutMs"] = json!(50);
    let started = js_sys::Date::now();
    let error = expect_err(fake.backend(config).fetch_user("1").await);
    assert_eq!(error, Error::Timeout { after_ms: 50 });
    assert!(js_sys::Date::now() - started < 5_000.0);
    assert_eq!(fake.data("aborted"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn request_ignoring_its_abort_signal_still_times_out() {
    let fake = FakeFetch::new("return new Promise(() => {});");
    let error = expect_err(
        fake.backend(json!({ "requestTimeoutMs": 50 }))
            .download(IMAGE_URL, None)
            .await,
    );
    assert_eq!(error, Error::Timeout { after_ms: 50 });
}

#[wasm_bindgen_test]
async fn body_that_stalls_times_out() {
    let fake = FakeFetch::answering(
        200,
        "new ReadableStream({ start() {} })",
        "{ 'Content-Type': 'image/png' }",
    );
    let error = expect_err(
        fake.backend(json!({ "requestTimeoutMs": 50 }))
            .download(IMAGE_URL, None)
            .await,
    );
    assert_eq!(error, Error::Timeout { after_ms: 50 });
}

// ----- image downloads --------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn png_download_is_bytes_in_hand_typed_by_the_sniffed_type() {
    let fake = FakeFetch::answering(
        200,
        "data.png",
        "{ 'Content-Type': 'image/png', 'ETag': '\"v1\"', 'Content-Length': '68' }",
    );
    let backend = fake.backend(api_config());
    let (blob, mime, bytes, etag) = expect_image(backend.download(IMAGE_URL, None).await);
    assert_eq!(mime, "image/png");
    assert_eq!(bytes, PNG.len() as u64);
    assert_eq!(etag.as_deref(), Some("\"v1\""));
    let Body::Bytes { bytes: held, mime } = &blob else {
        panic!("a download's bytes stay in hand: no Blob is made of them");
    };
    assert_eq!(mime, "image/png");
    assert_eq!(held.to_vec(), PNG);
    assert_eq!(blob.size(), PNG.len() as u64);
    assert_eq!(blob.to_blob().unwrap().type_(), "image/png");
    assert_eq!(blob_bytes(&blob).await, PNG);

    assert_eq!(fake.calls(), 1);
    assert_eq!(fake.call_str(0, "input").unwrap(), IMAGE_URL);
    assert_eq!(fake.call_str(0, "mode").unwrap(), "cors");
    assert_eq!(fake.call_str(0, "credentials").unwrap(), "omit");
    assert_eq!(
        fake.header(0, "x-auth"),
        None,
        "no API headers to object storage"
    );
    assert_eq!(fake.header(0, "if-none-match"), None);
}

#[wasm_bindgen_test]
async fn not_modified_answer_to_a_conditional_download() {
    let fake = FakeFetch::answering(304, "null", "{}");
    let result = fake
        .backend(json!({}))
        .download(IMAGE_URL, Some("\"v1\""))
        .await;
    assert_eq!(result, Ok(Download::NotModified));
    assert_eq!(fake.header(0, "if-none-match").as_deref(), Some("\"v1\""));
}

#[wasm_bindgen_test]
async fn image_http_errors_name_the_url_without_its_signature() {
    let fake = FakeFetch::answering(403, "'<Error>AccessDenied</Error>'", "{}");
    let error = expect_err(fake.backend(json!({})).download(IMAGE_URL, None).await);
    assert_eq!(
        error,
        Error::Network {
            status: 403,
            request: "https://s3.example/bucket/img1.png".into()
        }
    );
    assert!(!error.to_string().contains("secret"));
}

#[wasm_bindgen_test]
async fn html_served_as_png_is_not_an_image() {
    let fake = FakeFetch::answering(
        200,
        "'<!DOCTYPE html><title>502 Bad Gateway</title>'",
        "{ 'Content-Type': 'image/png' }",
    );
    assert_not_an_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
}

#[wasm_bindgen_test]
async fn text_html_is_not_an_image() {
    let fake = FakeFetch::answering(200, "data.png", "{ 'Content-Type': 'text/html' }");
    assert_not_an_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
}

#[wasm_bindgen_test]
async fn missing_content_type_is_not_an_image() {
    // A Uint8Array body gets no Content-Type of its own.
    let fake = FakeFetch::answering(200, "data.png", "{}");
    assert_not_an_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
}

#[wasm_bindgen_test]
async fn png_bytes_declared_as_jpeg_are_refused() {
    let fake = FakeFetch::answering(200, "data.png", "{ 'Content-Type': 'image/jpeg' }");
    assert_not_an_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
}

#[wasm_bindgen_test]
async fn svg_is_refused_by_default_and_accepted_when_allowed() {
    let body = js_string(SVG);
    let headers = "{ 'Content-Type': 'image/svg+xml; charset=utf-8' }";
    let fake = FakeFetch::answering(200, &body, headers);
    assert_not_an_image(fake.backend(json!({})).download(IMAGE_URL, None).await);

    let fake = FakeFetch::answering(200, &body, headers);
    let backend = fake.backend(json!({ "allowedTypes": ["image/png", "image/svg+xml"] }));
    let (blob, mime, bytes, _) = expect_image(backend.download(IMAGE_URL, None).await);
    assert_eq!(mime, "image/svg+xml");
    assert_eq!(blob.to_blob().unwrap().type_(), "image/svg+xml");
    assert_eq!(bytes, SVG.len() as u64);
}

#[wasm_bindgen_test]
async fn image_over_the_cap_by_content_length_is_refused_unread() {
    let fake = FakeFetch::new(&oversized_stream_handler(
        "{ 'Content-Type': 'image/png', 'Content-Length': '5000' }",
    ));
    let error = expect_err(
        fake.backend(json!({ "maxImageBytes": 1000 }))
            .download(IMAGE_URL, None)
            .await,
    );
    assert_eq!(error, Error::TooLarge { limit: 1000 });
    let response: Response = fake.data("response").unchecked_into();
    assert!(!response.body_used(), "the body was not read");
}

#[wasm_bindgen_test]
async fn image_over_the_cap_while_streaming_is_refused_whatever_content_length_says() {
    for headers in [
        "{ 'Content-Type': 'image/png' }",
        "{ 'Content-Type': 'image/png', 'Content-Length': '100' }",
    ] {
        let fake = FakeFetch::new(&oversized_stream_handler(headers));
        let error = expect_err(
            fake.backend(json!({ "maxImageBytes": 1000 }))
                .download(IMAGE_URL, None)
                .await,
        );
        assert_eq!(error, Error::TooLarge { limit: 1000 }, "{headers}");
        // 1000 bytes are four 256-byte chunks; reading stops at the fifth (plus the stream's
        // own read-ahead).
        let pulls = fake.data("pulls").as_f64().unwrap();
        assert!(pulls <= 8.0, "{headers}: {pulls} chunks pulled");
    }
}

#[wasm_bindgen_test]
async fn bytes_made_in_another_realm_are_read() {
    // A `fetch` handed over from an iframe answers with that realm's Uint8Arrays.
    let fake = FakeFetch::new(
        "const frame = document.createElement('iframe');
         document.body.append(frame);
         const Foreign = frame.contentWindow.Uint8Array;
         const chunk = new Foreign(data.png.length);
         chunk.set(data.png);
         frame.remove();
         const stream = new ReadableStream({ start(c) { c.enqueue(chunk); c.close(); } });
         return new Response(stream, { status: 200, headers: { 'Content-Type': 'image/png' } });",
    );
    let (body, mime, bytes, _) =
        expect_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
    assert_eq!(mime, "image/png");
    assert_eq!(bytes, PNG.len() as u64);
    assert_eq!(blob_bytes(&body).await, PNG);
}

#[wasm_bindgen_test]
async fn a_stream_of_text_is_a_bad_response() {
    let fake = FakeFetch::new(
        "const stream = new ReadableStream({ start(c) { c.enqueue('not bytes'); c.close(); } });
         return new Response(stream, { status: 200, headers: { 'Content-Type': 'image/png' } });",
    );
    let error = expect_err(fake.backend(json!({})).download(IMAGE_URL, None).await);
    assert!(matches!(error, Error::BadResponse { .. }), "{error:?}");
}

#[wasm_bindgen_test]
async fn body_that_breaks_midway_is_an_error() {
    let fake = FakeFetch::new(
        "let sent = false;
         const stream = new ReadableStream({
           pull(controller) {
             if (sent) { controller.error(new TypeError('connection reset')); return; }
             sent = true;
             controller.enqueue(data.png.slice(0, 30));
           }
         });
         return new Response(stream, { status: 200, headers: { 'Content-Type': 'image/png' } });",
    );
    let error = expect_err(fake.backend(json!({})).download(IMAGE_URL, None).await);
    assert!(
        matches!(error, Error::Network { status: 0, .. }),
        "{error:?}"
    );
}

#[wasm_bindgen_test]
async fn body_shorter_than_its_content_length_is_an_error() {
    let fake = FakeFetch::answering(
        200,
        "data.png.slice(0, 30)",
        "{ 'Content-Type': 'image/png', 'Content-Length': '68' }",
    );
    let error = expect_err(fake.backend(json!({})).download(IMAGE_URL, None).await);
    assert!(
        matches!(error, Error::Network { status: 0, .. }),
        "{error:?}"
    );
}

#[wasm_bindgen_test]
async fn cors_failure_falls_back_to_an_opaque_no_cors_request() {
    // A real opaque Response cannot be made by script: the stand-in is a Response whose `type`
    // and `status` read as an opaque one's do.
    let fake = FakeFetch::new(
        "if (init.mode === 'cors') return Promise.reject(new TypeError('Failed to fetch'));
         const response = new Response(null, { status: 200 });
         Object.defineProperty(response, 'type', { value: 'opaque' });
         Object.defineProperty(response, 'status', { value: 0 });
         return response;",
    );
    let result = fake
        .backend(json!({}))
        .download(IMAGE_URL, Some("\"v1\""))
        .await;
    assert_eq!(result, Ok(Download::Opaque));
    assert_eq!(fake.calls(), 2);
    assert_eq!(fake.call_str(0, "mode").unwrap(), "cors");
    assert_eq!(fake.call_str(1, "mode").unwrap(), "no-cors");
    assert_eq!(fake.call_str(1, "credentials").unwrap(), "omit");
    assert_eq!(fake.header(1, "if-none-match"), None);
}

#[wasm_bindgen_test]
async fn network_down_for_both_modes_is_a_network_error() {
    let fake = FakeFetch::new("return Promise.reject(new TypeError('Failed to fetch'));");
    let error = expect_err(fake.backend(json!({})).download(IMAGE_URL, None).await);
    assert_eq!(
        error,
        Error::Network {
            status: 0,
            request: "https://s3.example/bucket/img1.png".into()
        }
    );
    assert_eq!(fake.calls(), 2);
}

#[wasm_bindgen_test]
fn opaque_detection_reads_the_response_type() {
    let ordinary = Response::new().unwrap();
    assert!(!is_opaque_response(&ordinary));
    assert!(!is_opaque_response(&JsValue::UNDEFINED));
    assert!(!is_opaque_response(&JsValue::from_str("opaque")));
    let stand_in = Object::new();
    Reflect::set(&stand_in, &"type".into(), &"opaque".into()).unwrap();
    assert!(is_opaque_response(&stand_in));
}

// ----- object URLs ------------------------------------------------------------------------------

/// `fetch(url)` of an object URL: `Ok("type:size")`, or `Err` when the URL is revoked.
async fn read_object_url(url: &str) -> std::result::Result<String, JsValue> {
    let read = Function::new_with_args(
        "url",
        "return fetch(url).then(r => r.blob()).then(b => b.type + ':' + b.size);",
    );
    let promise: js_sys::Promise = read.call1(&JsValue::NULL, &url.into())?.unchecked_into();
    Ok(JsFuture::from(promise).await?.as_string().unwrap())
}

#[wasm_bindgen_test]
async fn object_urls_are_counted_and_revoked() {
    let fake = FakeFetch::answering(200, "data.png", "{ 'Content-Type': 'image/png' }");
    let (blob, ..) = expect_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
    // Above the `data:` URL limit (67 bytes here, the image has 68): object URLs.
    let urls = BrowserObjectUrls::new(PNG.len() as u64 - 1);
    assert_eq!(urls.live(), 0);

    let first = urls.create(&blob).unwrap();
    let second = urls.create(&blob).unwrap();
    assert!(first.starts_with("blob:"));
    assert_ne!(first, second);
    assert_eq!(urls.live(), 2);
    assert_eq!(read_object_url(&first).await.unwrap(), "image/png:68");

    urls.revoke(&first);
    assert_eq!(urls.live(), 1);
    assert!(
        read_object_url(&first).await.is_err(),
        "a revoked URL no longer works"
    );
    urls.revoke(&first);
    urls.revoke("blob:https://elsewhere/not-ours");
    assert_eq!(urls.live(), 1);

    urls.revoke_all();
    assert_eq!(urls.live(), 0);
    assert!(read_object_url(&second).await.is_err());
}

#[wasm_bindgen_test]
async fn small_images_in_hand_are_data_urls_held_by_a_handle_and_never_copied() {
    let fake = FakeFetch::answering(200, "data.png", "{ 'Content-Type': 'image/png' }");
    let (body, ..) = expect_image(fake.backend(json!({})).download(IMAGE_URL, None).await);
    let urls = BrowserObjectUrls::new(PNG.len() as u64);
    let handle = urls.create(&body).unwrap();
    assert!(handle.len() < 40, "the cache holds a handle: {handle}");
    let url = BrowserObjectUrls::shown(&handle);
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url}"
    );
    assert_eq!(urls.live(), 0, "no object URL was made");
    assert_eq!(read_object_url(&url).await.unwrap(), "image/png:68");
    urls.revoke(&handle);
    assert_eq!(
        BrowserObjectUrls::shown(&handle),
        handle,
        "forgotten once revoked"
    );
    assert_eq!(
        read_object_url(&url).await.unwrap(),
        "image/png:68",
        "a data: URL handed out still shows"
    );
    // A Blob-backed body (a row stored as a Blob) is an object URL whatever its size.
    let blob = Body::Blob(body.to_blob().unwrap());
    assert!(urls.create(&blob).unwrap().starts_with("blob:"));
    assert_eq!(urls.live(), 1);
    urls.revoke_all();
}

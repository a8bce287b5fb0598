//! The network layer over `fetch`: the backend API (DESIGN.md §4) and image bytes from object
//! storage.
//!
//! [`FetchBackend`] implements [`Backend<Blob>`]. Every request is bounded in time
//! (`requestTimeoutMs`, enforced with an `AbortController` and a timer, so a `fetch` that ignores
//! its signal cannot hang the cache either) and in size (API answers: [`MAX_JSON_BYTES`]; images:
//! `maxImageBytes`, counted while the body streams in, whatever `Content-Length` claims). Image
//! bytes become a `Blob` only after [`accept_image`] has checked that the server's
//! `Content-Type`, the bytes and `allowedTypes` agree; the `Blob` is typed with the sniffed type.
//!
//! Nothing here throws or panics: every JS exception and every unexpected answer becomes an
//! [`Error`]. Error messages name the request by its URL without query string or fragment, so
//! presigned-URL signatures never reach logs or stats.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;

use futures::future::{self, Either, FutureExt};
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Blob, BlobPropertyBag, Headers, ReadableStreamDefaultReader,
    RequestCredentials, RequestInit, RequestMode, Response,
};

use crate::config::{Config, Credentials};
use crate::error::{Error, Result};
use crate::layers::{Backend, Download, LocalFuture, RemotePicture};
use crate::policy::sniff::accept_image;
use crate::record::{MAX_ID_LEN, MAX_URL_LEN};

/// The largest answer read from the user or image endpoint, in bytes.
pub const MAX_JSON_BYTES: u64 = 64 * 1024;

/// The largest answer read from the batch endpoint, in bytes. A batch answer may be
/// [`MAX_JSON_BYTES`] per requested user (presigned URLs are long), up to this cap.
pub const MAX_BATCH_JSON_BYTES: u64 = 8 << 20;

/// The longest request description kept in an error (the URL without its query string).
const MAX_REQUEST_DESCRIPTION: usize = 256;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> std::result::Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue) -> std::result::Result<(), JsValue>;
}

/// The backend API and object storage, over `fetch`.
///
/// API calls send the configured headers and credentials and expect JSON; image downloads go
/// to object storage in `cors` mode without them. Never throws and never panics: every failure
/// is an [`Error`] (`Network`, `Timeout`, `BadResponse`, `NotAnImage`, `TooLarge`, or `Js` with
/// the exception's name).
pub struct FetchBackend {
    config: Rc<Config>,
    fetch: Option<Function>,
}

impl FetchBackend {
    /// A backend for `config`. `fetch` is the function to call as `fetch(input, init)` (for
    /// authentication wrappers and tests); without it, the global `fetch` of the window or
    /// worker is used. If there is none, every request fails with a `TypeError` [`Error::Js`].
    pub fn new(config: Rc<Config>, fetch: Option<Function>) -> Self {
        let fetch = fetch.or_else(|| {
            Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
        });
        FetchBackend { config, fetch }
    }

    /// Calls the fetch function and waits for what its promise settles with.
    async fn call_fetch(
        &self,
        url: &str,
        init: &RequestInit,
    ) -> std::result::Result<JsValue, JsValue> {
        let Some(fetch) = &self.fetch else {
            return Err(js_sys::TypeError::new("fetch is not available in this context").into());
        };
        let init: &JsValue = init;
        let returned = fetch.call2(&js_sys::global(), &JsValue::from_str(url), init)?;
        JsFuture::from(Promise::resolve(&returned)).await
    }

    /// Runs `work` under the request timeout: when the timer wins, the request is aborted and
    /// the answer is [`Error::Timeout`], whether or not `fetch` honours the abort signal.
    async fn with_deadline<T>(
        &self,
        controller: Option<&AbortController>,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let after_ms = self.config.request_timeout_ms;
        let work = pin!(work);
        let Some((_timer, fired)) = Timer::start(after_ms) else {
            return work.await;
        };
        match future::select(work, fired).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                if let Some(controller) = controller {
                    controller.abort();
                }
                Err(Error::Timeout { after_ms })
            }
        }
    }

    /// A JSON call to the backend API: `GET url`, or `POST url` with a JSON `body`.
    async fn api(&self, url: &str, body: Option<String>, limit: u64) -> Result<Value> {
        let request = describe(url);
        let controller = AbortController::new().ok();
        let _abort = AbortOnDrop(controller.clone());
        let init = RequestInit::new();
        init.set_method(if body.is_some() { "POST" } else { "GET" });
        init.set_credentials(match self.config.credentials {
            Credentials::Omit => RequestCredentials::Omit,
            Credentials::SameOrigin => RequestCredentials::SameOrigin,
            Credentials::Include => RequestCredentials::Include,
        });
        let headers = Headers::new().map_err(|e| js_error(&e))?;
        set_header(&headers, "Accept", "application/json")?;
        for (name, value) in &self.config.headers {
            headers.set(name, value).map_err(|e| {
                Error::config(
                    "headers",
                    format!("`{name}` cannot be sent: {}", js_error(&e)),
                )
            })?;
        }
        if let Some(body) = &body {
            set_header(&headers, "Content-Type", "application/json")?;
            init.set_body(&JsValue::from_str(body));
        }
        init.set_headers(&headers);
        if let Some(controller) = &controller {
            init.set_signal(Some(&controller.signal()));
        }
        self.with_deadline(controller.as_ref(), async {
            let value = self
                .call_fetch(url, &init)
                .await
                .map_err(|e| fetch_failure(&e, &request))?;
            let response = as_response(value)?;
            let status = response.status();
            if status >= 400 {
                return Err(Error::Network { status, request });
            }
            if !(200..300).contains(&status) {
                return Err(bad(format!("unexpected HTTP status {status}")));
            }
            let bytes = read_body(&response, limit, &request)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge => bad(format!("answer is larger than {limit} bytes")),
                    BodyError::Failed(e) => e,
                })?;
            serde_json::from_slice::<Value>(&bytes).map_err(|e| bad(format!("not JSON: {e}")))
        })
        .await
    }

    /// The `RequestInit` of an image download.
    fn download_init(
        &self,
        mode: RequestMode,
        etag: Option<&str>,
        controller: Option<&AbortController>,
    ) -> Result<RequestInit> {
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_mode(mode);
        init.set_credentials(RequestCredentials::Omit);
        if let Some(etag) = etag {
            let headers = Headers::new().map_err(|e| js_error(&e))?;
            // A stored ETag the browser refuses as a header value only costs the conditional.
            if headers.set("If-None-Match", etag).is_ok() {
                init.set_headers(&headers);
            }
        }
        if let Some(controller) = controller {
            init.set_signal(Some(&controller.signal()));
        }
        Ok(init)
    }

    /// One image download (the deadline is the caller's): `cors` first, `no-cors` after a
    /// `TypeError`, then status, size and type checks.
    async fn fetch_image(
        &self,
        url: &str,
        etag: Option<&str>,
        controller: Option<&AbortController>,
    ) -> Result<Download<Blob>> {
        let request = describe(url);
        let init = self.download_init(RequestMode::Cors, etag, controller)?;
        let value = match self.call_fetch(url, &init).await {
            Ok(value) => value,
            // A CORS refusal looks like any network failure: a TypeError. Ask again without CORS;
            // an opaque answer means the URL works in an <img> but its bytes cannot be read.
            Err(e) if error_name(&e).as_deref() == Some("TypeError") => {
                let init = self.download_init(RequestMode::NoCors, None, controller)?;
                self.call_fetch(url, &init)
                    .await
                    .map_err(|e| fetch_failure(&e, &request))?
            }
            Err(e) => return Err(fetch_failure(&e, &request)),
        };
        if is_opaque_response(&value) {
            return Ok(Download::Opaque);
        }
        let response = as_response(value)?;
        let status = response.status();
        if status == 304 {
            return match etag {
                Some(_) => Ok(Download::NotModified),
                None => Err(bad("304 Not Modified to an unconditional request")),
            };
        }
        if status >= 400 {
            return Err(Error::Network { status, request });
        }
        if !(200..300).contains(&status) || status == 206 {
            return Err(bad(format!("unexpected HTTP status {status} for an image")));
        }
        let limit = self.config.max_image_bytes;
        let bytes = read_body(&response, limit, &request)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => Error::TooLarge { limit },
                BodyError::Failed(e) => e,
            })?;
        let declared = header(&response, "content-type");
        let mime = accept_image(declared.as_deref(), &bytes, &self.config.allowed_types)?;
        let body = make_blob(&bytes, mime)?;
        let etag = header(&response, "etag").filter(|e| is_plausible_etag(e));
        Ok(Download::Image {
            body,
            mime: mime.to_string(),
            bytes: bytes.len() as u64,
            etag,
        })
    }
}

impl Backend<Blob> for FetchBackend {
    fn fetch_user<'a>(&'a self, user_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        async move {
            let value = self
                .api(&self.config.user_url(user_id), None, MAX_JSON_BYTES)
                .await?;
            let answer = parse_answer(&value).map_err(bad)?;
            if answer.user_id.as_deref().is_some_and(|u| u != user_id) {
                return Err(bad("the answer is for another user"));
            }
            Ok(RemotePicture {
                user_id: Some(user_id.to_string()),
                image_id: answer.image_id,
                url: answer.url,
                thumbhash: parse_thumbhash(&value),
            })
        }
        .boxed_local()
    }

    fn fetch_image_info<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        async move {
            let value = self
                .api(&self.config.image_url(image_id), None, MAX_JSON_BYTES)
                .await?;
            let answer = parse_answer(&value).map_err(bad)?;
            if answer.image_id.as_deref().is_some_and(|i| i != image_id) {
                return Err(bad("the answer is for another image"));
            }
            Ok(RemotePicture {
                user_id: answer.user_id,
                image_id: Some(image_id.to_string()),
                url: answer.url,
                thumbhash: parse_thumbhash(&value),
            })
        }
        .boxed_local()
    }

    fn fetch_batch<'a>(
        &'a self,
        user_ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<RemotePicture>>> {
        async move {
            let Some(endpoint) = &self.config.batch_endpoint else {
                return Err(Error::InvalidArgument {
                    name: "batchEndpoint",
                    reason: "no batch endpoint is configured".into(),
                });
            };
            if user_ids.is_empty() {
                return Ok(Vec::new());
            }
            let body = serde_json::json!({ "user_ids": user_ids }).to_string();
            let limit = MAX_JSON_BYTES
                .saturating_mul(user_ids.len() as u64)
                .min(MAX_BATCH_JSON_BYTES);
            let value = self.api(endpoint, Some(body), limit).await?;
            parse_batch(&value, user_ids).map_err(bad)
        }
        .boxed_local()
    }

    fn download<'a>(
        &'a self,
        url: &'a str,
        etag: Option<&'a str>,
    ) -> LocalFuture<'a, Result<Download<Blob>>> {
        async move {
            let controller = AbortController::new().ok();
            // Aborting when done (or dropped) cancels a body that was not read to the end.
            let _abort = AbortOnDrop(controller.clone());
            self.with_deadline(
                controller.as_ref(),
                self.fetch_image(url, etag, controller.as_ref()),
            )
            .await
        }
        .boxed_local()
    }
}

/// Whether what `fetch` resolved with is an opaque response (`response.type === "opaque"`): a
/// `no-cors` answer from another origin, usable as an `<img>` source but with unreadable bytes
/// and status 0. Reads the `type` property, so it also recognises a stand-in object in tests
/// (a real opaque `Response` cannot be constructed by script). Never throws.
pub fn is_opaque_response(value: &JsValue) -> bool {
    value.is_object()
        && Reflect::get(value, &JsValue::from_str("type"))
            .ok()
            .and_then(|t| t.as_string())
            .is_some_and(|t| t == "opaque")
}

/// The parts of an API answer the cache uses.
struct Answer {
    user_id: Option<String>,
    image_id: Option<String>,
    url: String,
}

/// Reads `{ success?, image_id?, url, user_id? }`: `success`, when present, must be `true`;
/// `url` must be a non-empty string; ids may be strings, integers or null.
fn parse_answer(value: &Value) -> std::result::Result<Answer, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    match object.get("success") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Err("success is false".into()),
        Some(_) => return Err("success is not a boolean".into()),
    }
    let url = match object.get("url") {
        Some(Value::String(url)) => url.trim(),
        None | Some(Value::Null) => return Err("the answer has no url".into()),
        Some(_) => return Err("url is not a string".into()),
    };
    if url.is_empty() {
        return Err("url is empty".into());
    }
    if url.len() > MAX_URL_LEN || url.chars().any(char::is_control) {
        return Err("url is too long or has control characters".into());
    }
    Ok(Answer {
        user_id: parse_id(object, "user_id")?,
        image_id: parse_id(object, "image_id")?,
        url: url.to_string(),
    })
}

/// An id field: absent or null is `None`; a non-empty string or an integer is the id.
fn parse_id(
    object: &Map<String, Value>,
    field: &str,
) -> std::result::Result<Option<String>, String> {
    let id = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err(format!("{field} is not a string")),
    };
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("{field} is empty or too long"));
    }
    Ok(Some(id))
}

/// The optional `thumbhash` of an answer (DESIGN.md §4): a well-formed base64 ThumbHash, else
/// `None` (a malformed one costs the preview, never the answer).
fn parse_thumbhash(value: &Value) -> Option<String> {
    value
        .get("thumbhash")
        .and_then(Value::as_str)
        .filter(|h| crate::policy::placeholder::is_valid(h))
        .map(str::to_string)
}

/// Reads `{ users: { [id]: { image_id, url } } }`, in the order of `requested`. Ids that were
/// not asked for are ignored; entries that are missing, null or malformed are left out.
fn parse_batch(
    value: &Value,
    requested: &[String],
) -> std::result::Result<Vec<RemotePicture>, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    if object.get("success") == Some(&Value::Bool(false)) {
        return Err("success is false".into());
    }
    let users = match object.get("users") {
        Some(Value::Object(users)) => users,
        Some(_) => return Err("users is not an object".into()),
        None => return Err("the answer has no users".into()),
    };
    let mut seen = std::collections::HashSet::new();
    let mut pictures = Vec::new();
    for user_id in requested {
        if !seen.insert(user_id.as_str()) {
            continue;
        }
        let Some(entry) = users.get(user_id) else {
            continue;
        };
        let Ok(answer) = parse_answer(entry) else {
            continue;
        };
        if answer.user_id.as_deref().is_some_and(|u| u != user_id) {
            continue;
        }
        pictures.push(RemotePicture {
            user_id: Some(user_id.clone()),
            image_id: answer.image_id,
            url: answer.url,
            thumbhash: parse_thumbhash(entry),
        });
    }
    Ok(pictures)
}

/// Why a body was not read to the end.
enum BodyError {
    /// It is (or claims to be) larger than the limit.
    TooLarge,
    /// The stream failed or ended early.
    Failed(Error),
}

/// Reads a response body through its stream reader, giving up as soon as more than `limit`
/// bytes arrived (a declared `Content-Length` over the limit stops it before reading). A body
/// shorter than its declared `Content-Length` is an error.
async fn read_body(
    response: &Response,
    limit: u64,
    request: &str,
) -> std::result::Result<Vec<u8>, BodyError> {
    let declared = header(response, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let cut_short = || {
        BodyError::Failed(Error::Network {
            status: 0,
            request: format!("{request} (body cut short)"),
        })
    };
    let Some(stream) = response.body() else {
        return match declared {
            Some(n) if n > 0 => Err(cut_short()),
            _ => Ok(Vec::new()),
        };
    };
    let reader =
        ReadableStreamDefaultReader::new(&stream).map_err(|e| BodyError::Failed(js_error(&e)))?;
    let capacity = declared.unwrap_or(0).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    loop {
        let Ok(step) = JsFuture::from(reader.read()).await else {
            return Err(cut_short());
        };
        let done = Reflect::get(&step, &JsValue::from_str("done"))
            .map(|d| d.is_truthy())
            .map_err(|e| BodyError::Failed(js_error(&e)))?;
        if done {
            break;
        }
        let chunk = Reflect::get(&step, &JsValue::from_str("value"))
            .ok()
            .and_then(|v| v.dyn_into::<Uint8Array>().ok())
            .ok_or_else(|| {
                BodyError::Failed(bad("the body stream gave something other than bytes"))
            })?;
        let length = chunk.length() as usize;
        if (bytes.len() + length) as u64 > limit {
            // Stop the download; the returned promise is handled so it cannot go unobserved.
            drop(JsFuture::from(reader.cancel()));
            return Err(BodyError::TooLarge);
        }
        let start = bytes.len();
        bytes.resize(start + length, 0);
        chunk.copy_to(&mut bytes[start..]);
    }
    // A compressed body's length is not comparable with the decoded bytes.
    let encoded = header(response, "content-encoding")
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    if !encoded && declared.is_some_and(|n| (bytes.len() as u64) < n) {
        return Err(cut_short());
    }
    Ok(bytes)
}

/// A `Blob` of `bytes` typed `mime`.
fn make_blob(bytes: &[u8], mime: &str) -> Result<Blob> {
    let array = Uint8Array::from(bytes);
    let parts = Array::new();
    parts.push(&array);
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| js_error(&e))
}

/// A response header, if present and readable.
fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

fn set_header(headers: &Headers, name: &str, value: &str) -> Result<()> {
    headers.set(name, value).map_err(|e| js_error(&e))
}

/// An ETag worth keeping: non-empty, bounded, printable.
fn is_plausible_etag(etag: &str) -> bool {
    !etag.is_empty() && etag.len() <= MAX_ID_LEN && !etag.chars().any(char::is_control)
}

/// What `fetch` resolved with, as a `Response`.
fn as_response(value: JsValue) -> Result<Response> {
    value
        .dyn_into::<Response>()
        .map_err(|_| bad("fetch did not resolve to a Response"))
}

/// A `fetch` rejection: a `TypeError` is the browser's word for "no answer" (offline, DNS,
/// CORS); anything else keeps its name.
fn fetch_failure(error: &JsValue, request: &str) -> Error {
    match error_name(error).as_deref() {
        Some("TypeError") => Error::Network {
            status: 0,
            request: request.to_string(),
        },
        _ => js_error(error),
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::BadResponse {
        reason: reason.into(),
    }
}

/// The `name` of a thrown value, when it is an object that has one.
fn error_name(value: &JsValue) -> Option<String> {
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
}

/// A thrown JS value as [`Error::Js`], keeping the `DOMException` or error name.
pub(crate) fn js_error(value: &JsValue) -> Error {
    if value.is_object() {
        let message = Reflect::get(value, &JsValue::from_str("message"))
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_default();
        Error::Js {
            name: error_name(value).unwrap_or_else(|| "Error".into()),
            message,
        }
    } else {
        Error::Js {
            name: "Error".into(),
            message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
        }
    }
}

/// The URL without query string, fragment or credentials, shortened: safe to log.
fn describe(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let mut text = url[..end].to_string();
    if let Some(scheme_end) = text.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = text[authority_start..]
            .find('/')
            .map_or(text.len(), |i| authority_start + i);
        if let Some(at) = text[authority_start..authority_end].rfind('@') {
            text.replace_range(authority_start..=authority_start + at, "");
        }
    }
    if text.len() > MAX_REQUEST_DESCRIPTION {
        let mut cut = MAX_REQUEST_DESCRIPTION;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Aborts the request's controller when the request is over or abandoned.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = &self.0 {
            controller.abort();
        }
    }
}

/// A `setTimeout` whose promise resolves when it fires. Dropping it clears the timer and
/// settles the promise, so nothing waiting on it stays alive.
struct Timer {
    id: JsValue,
    resolve: Function,
}

impl Timer {
    /// A timer for `ms` milliseconds and the future that completes when it fires; `None` when
    /// the scope has no `setTimeout`.
    fn start(ms: u32) -> Option<(Timer, JsFuture)> {
        let mut resolve_slot = None;
        let promise = Promise::new(&mut |resolve, _reject| resolve_slot = Some(resolve));
        let resolve = resolve_slot?;
        // Browsers treat delays above 2^31-1 ms as 0.
        let delay = i32::try_from(ms).unwrap_or(i32::MAX);
        let id = set_timeout(&resolve, delay).ok()?;
        Some((Timer { id, resolve }, JsFuture::from(promise)))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let _ = clear_timeout(&self.id);
        let _ = self.resolve.call0(&JsValue::UNDEFINED);
    }
}

//! The network layer over `fetch`: the backend API (DESIGN.md §4) and image bytes from object
//! storage.
//!
//! [`FetchBackend`] implements [`Backend<Blob>`]. Every request is bounded in time
//! (`requestTimeoutMs`, enforced with an `AbortController` and a timer, so a `fetch` that ignores
//! its signal cannot hang the cache either) and in size (API answers: [`MAX_JSON_BYTES`]; images:
//! `maxImageBytes`, counted while the body streams in, whatever `Content-Length` claims). Image
//! bytes become a `Blob` only after [`accept_image`] has checked that the server's
//! `Content-Type`, the bytes and `allowedTypes` agree and the header declares no more than
//! `maxImagePixels`; the `Blob` is typed with the sniffed type.
//!
//! Nothing here throws or panics: every JS exception and every unexpected answer becomes an
//! [`Error`]. Error messages name the request by its URL without query string or fragment, so
//! presigned-URL signatures never reach logs or stats.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;

use futures::future::{self, Either, FutureExt};
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Blob, BlobPropertyBag, Headers, ReadableStreamDefaultReader,
    RequestCredentials, RequestInit, RequestMode, Response,
};

use crate::config::{Config, Credentials};
use crate::error::{Error, Result};
use crate::layers::runtime::sleep;
use crate::layers::thumbnail;
use crate::layers::{Backend, Download, LocalFuture, RemotePicture};
use crate::policy::contract;
use crate::policy::dimensions::check_pixels;
use crate::policy::presign::without_query;
use crate::policy::sniff::accept_image;
use crate::record::MAX_ID_LEN;

/// The largest answer read from the user or image endpoint, in bytes.
pub const MAX_JSON_BYTES: u64 = 64 * 1024;

/// The largest answer read from the batch endpoint, in bytes. A batch answer may be
/// [`MAX_JSON_BYTES`] per requested user (presigned URLs are long), up to this cap.
pub const MAX_BATCH_JSON_BYTES: u64 = 8 << 20;

/// The longest request description kept in an error (the URL without its query string).
const MAX_REQUEST_DESCRIPTION: usize = 256;

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
        let fired = sleep(after_ms as f64);
        if !fired.is_timed() {
            // No timer in this scope: the request goes unbounded rather than failing at once.
            return work.await;
        }
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

    /// A call to the backend API: `GET url`, or `POST url` with a JSON `body`. Returns the
    /// answer's bytes (at most `limit`), for [`contract`] to read.
    async fn api(&self, url: &str, body: Option<String>, limit: u64) -> Result<Vec<u8>> {
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
        let headers = Headers::new().map_err(|e| Error::from_js(&e))?;
        set_header(&headers, "Accept", "application/json")?;
        for (name, value) in &self.config.headers {
            headers.set(name, value).map_err(|e| {
                Error::config(
                    "headers",
                    format!("`{name}` cannot be sent: {}", Error::from_js(&e)),
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
            read_body(&response, limit, &request)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge => bad(format!("answer is larger than {limit} bytes")),
                    BodyError::Failed(e) => e,
                })
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
            let headers = Headers::new().map_err(|e| Error::from_js(&e))?;
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
            Err(e) if Error::from_js(&e).js_name() == Some("TypeError") => {
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
        check_pixels(mime, &bytes, self.config.max_image_pixels)?;
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

impl FetchBackend {
    /// A `GET` of one user's or image's description at `url`, read by `answer` (the user and
    /// image endpoints differ only in these two): one function for both, so its code is in the
    /// `.wasm` once.
    async fn describe_one(
        &self,
        url: String,
        id: &str,
        answer: fn(&[u8], &str) -> Result<RemotePicture>,
    ) -> Result<RemotePicture> {
        let body = self.api(&url, None, MAX_JSON_BYTES).await?;
        answer(&body, id)
    }
}

impl Backend<Blob> for FetchBackend {
    fn fetch_user<'a>(&'a self, user_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        let url = self.config.user_url(user_id);
        self.describe_one(url, user_id, contract::user_answer)
            .boxed_local()
    }

    fn fetch_image_info<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        let url = self.config.image_url(image_id);
        self.describe_one(url, image_id, contract::image_answer)
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
            let limit = MAX_JSON_BYTES
                .saturating_mul(user_ids.len() as u64)
                .min(MAX_BATCH_JSON_BYTES);
            let answer = self
                .api(endpoint, Some(contract::batch_request(user_ids)), limit)
                .await?;
            contract::batch_answer(&answer, user_ids)
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
    let reader = ReadableStreamDefaultReader::new(&stream)
        .map_err(|e| BodyError::Failed(Error::from_js(&e)))?;
    let capacity = declared.unwrap_or(0).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    loop {
        let Ok(step) = JsFuture::from(reader.read()).await else {
            return Err(cut_short());
        };
        let done = Reflect::get(&step, &JsValue::from_str("done"))
            .map(|d| d.is_truthy())
            .map_err(|e| BodyError::Failed(Error::from_js(&e)))?;
        if done {
            break;
        }
        let chunk = Reflect::get(&step, &JsValue::from_str("value"))
            .ok()
            .and_then(bytes_of_chunk)
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

/// A `Blob` of `bytes` typed `mime`; the bytes are offered to the preview's decoder, which
/// then need not read the Blob back ([`thumbnail::offer_bytes`]).
fn make_blob(bytes: &[u8], mime: &str) -> Result<Blob> {
    let array = Uint8Array::from(bytes);
    let parts = Array::new();
    parts.push(&array);
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| Error::from_js(&e))?;
    thumbnail::offer_bytes(&blob, &array);
    Ok(blob)
}

/// A response header, if present and readable.
fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

fn set_header(headers: &Headers, name: &str, value: &str) -> Result<()> {
    headers.set(name, value).map_err(|e| Error::from_js(&e))
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
    match Error::from_js(error) {
        Error::Js { name, .. } if name == "TypeError" => Error::Network {
            status: 0,
            request: request.to_string(),
        },
        other => other,
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::BadResponse {
        reason: reason.into(),
    }
}

/// The URL without query string, fragment or credentials, shortened: safe to log.
fn describe(url: &str) -> String {
    let mut text = without_query(url).to_string();
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
/// A stream chunk as bytes: a `Uint8Array`, also one made in another realm (a `fetch` handed
/// over from an iframe or an extension's world answers with its own realm's arrays, which fail
/// an `instanceof` check here), copied into this realm's array.
fn bytes_of_chunk(chunk: JsValue) -> Option<Uint8Array> {
    if chunk.is_instance_of::<Uint8Array>() {
        return Some(chunk.unchecked_into());
    }
    js_sys::ArrayBuffer::is_view(&chunk).then(|| Uint8Array::new(&chunk))
}

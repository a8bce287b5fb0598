//! The network layer over `fetch`: the backend API (DESIGN.md §4) and image bytes from object
//! storage.
//!
//! [`FetchBackend`] implements [`Backend<Body>`]. Every request is bounded in time
//! (`requestTimeoutMs`, enforced with an `AbortController` and a timer, so a `fetch` that ignores
//! its signal cannot hang the cache either) and in size (API answers: [`MAX_JSON_BYTES`]; images:
//! `maxImageBytes`, counted while the body streams in, whatever `Content-Length` claims). Image
//! bytes become a [`Body`] only after [`accept_image`] has checked that the server's
//! `Content-Type`, the bytes and `allowedTypes` agree and the header declares no more than
//! `maxImagePixels`; the body is typed with the sniffed type (no Blob is made of it).
//!
//! The requests themselves (the `fetch` call, its deadline and abort, the `cors` → `no-cors`
//! retry, the body read against its limit) are a few lines of JS below, as in the IndexedDB
//! layer's driver: a promise chain in JS is a fraction of the code of Rust futures over each
//! step. What is accepted (statuses, types, pixels, the backend contract) is decided here.
//!
//! Nothing here throws or panics: every JS exception and every unexpected answer becomes an
//! [`Error`]. Error messages name the request by its URL without query string or fragment, so
//! presigned-URL signatures never reach logs or stats.

use std::rc::Rc;

use futures::future::FutureExt;
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::config::{Config, Credentials};
use crate::error::{Error, Result};
use crate::js_object::{field, number_field, string_field};
use crate::layers::body::Body;
use crate::layers::{Backend, Download, LocalFuture, RemotePicture};
use crate::policy::contract;
use crate::policy::dimensions::check_pixels;
use crate::policy::presign::without_query;
use crate::policy::sniff::accept_image;
use crate::record::MAX_ID_LEN;

// The requests themselves, in JS: one promise per request, settled with `{ status, bytes, type,
// etag }` (`bytes` only for a 2xx answer the caller reads; `{ opaque: true }` for an opaque
// answer), or failed with `{ fail, error?, name? }` that `FetchBackend::settle` maps to an
// `Error`. Each request is bounded in time (`ms`: the timer aborts it and fails it, whether or not
// `fetch` honours the abort signal; without a timer in the scope it goes unbounded) and in size
// (`limit`, counted while the body streams in, whatever `Content-Length` claims; a body shorter
// than its declared length fails). The controller is aborted when the request is over, which
// cancels a body not read to the end.
#[wasm_bindgen(inline_js = r#"
export function netApi(fetch, url, body, credentials, headers, limit, ms) {
  return netBounded(ms, async (signal) => {
    const sent = new Headers({ Accept: "application/json" });
    for (const [name, value] of headers) {
      try { sent.set(name, value); } catch (error) { throw { fail: "header", name, error }; }
    }
    if (body !== undefined) sent.set("Content-Type", "application/json");
    const init = { method: body === undefined ? "GET" : "POST", credentials, headers: sent, signal };
    if (body !== undefined) init.body = body;
    const response = netResponse(await netCall(fetch, url, init));
    const status = response.status;
    return { status, bytes: status >= 200 && status < 300 ? await netBody(response, limit) : undefined };
  });
}

export function netImage(fetch, url, etag, limit, ms) {
  return netBounded(ms, async (signal) => {
    const init = { method: "GET", mode: "cors", credentials: "omit", signal };
    if (etag !== undefined) {
      // A stored ETag the browser refuses as a header value only costs the conditional.
      try { init.headers = new Headers({ "If-None-Match": etag }); } catch {}
    }
    let answer;
    try {
      answer = await netCall(fetch, url, init);
    } catch (e) {
      // A CORS refusal looks like any network failure: a TypeError. Ask again without CORS; an
      // opaque answer means the URL works in an <img> but its bytes cannot be read.
      if (e.fail !== "fetch" || e.error?.name !== "TypeError") throw e;
      answer = await netCall(fetch, url, { method: "GET", mode: "no-cors", credentials: "omit", signal });
    }
    if (answer !== null && typeof answer === "object" && answer.type === "opaque") return { opaque: true };
    const response = netResponse(answer);
    const status = response.status;
    const read = status >= 200 && status < 300 && status !== 206;
    return {
      status,
      bytes: read ? await netBody(response, limit) : undefined,
      type: response.headers.get("content-type") ?? undefined,
      etag: response.headers.get("etag") ?? undefined,
    };
  });
}

export async function netBounded(ms, work) {
  const controller = typeof AbortController === "function" ? new AbortController() : undefined;
  const request = work(controller?.signal);
  let timer;
  const deadline = new Promise((_, reject) => {
    if (typeof setTimeout === "function") timer = setTimeout(() => reject({ fail: "timeout" }), ms);
  });
  try {
    return await Promise.race([request, deadline]);
  } finally {
    clearTimeout(timer);
    request.catch(() => {});
    controller?.abort();
  }
}

export async function netCall(fetch, url, init) {
  try {
    if (typeof fetch !== "function") throw new TypeError("fetch is not available in this context");
    // Called without a receiver: a global's own `fetch` then uses its own global (WebIDL), which
    // `globalThis` is not everywhere (Firefox runs a module imported from a WebDriver script
    // with another `globalThis`, and refuses `fetch` on it).
    return await fetch(url, init);
  } catch (error) {
    throw { fail: "fetch", error };
  }
}

export function netResponse(value) {
  if (value instanceof Response) return value;
  throw { fail: "notResponse" };
}

export async function netBody(response, limit) {
  const text = response.headers.get("content-length");
  const declared = text !== null && /^\+?\d+$/.test(text.trim()) ? Number(text.trim()) : null;
  if (declared !== null && declared > limit) throw { fail: "tooLarge" };
  const stream = response.body;
  if (!stream) {
    if (declared > 0) throw { fail: "cutShort" };
    return new Uint8Array(0);
  }
  let reader;
  try { reader = stream.getReader(); } catch (error) { throw { fail: "js", error }; }
  const chunks = [];
  let size = 0;
  for (;;) {
    let step;
    try { step = await reader.read(); } catch { throw { fail: "cutShort" }; }
    if (step.done) break;
    let chunk = step.value;
    // A Uint8Array made in another realm (a fetch handed over from an iframe or an extension's
    // world) fails instanceof: copied into this realm's.
    if (!(chunk instanceof Uint8Array)) {
      if (!ArrayBuffer.isView(chunk)) throw { fail: "notBytes" };
      chunk = new Uint8Array(chunk);
    }
    if (size + chunk.length > limit) {
      reader.cancel().catch(() => {});
      throw { fail: "tooLarge" };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  // A compressed body's length is not comparable with the decoded bytes.
  const encoding = response.headers.get("content-encoding");
  const encoded = encoding !== null && encoding.trim().toLowerCase() !== "identity";
  if (!encoded && declared !== null && size < declared) throw { fail: "cutShort" };
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) (bytes.set(chunk, at), (at += chunk.length));
  return bytes;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = netApi)]
    fn net_api(
        fetch: &JsValue,
        url: &str,
        body: Option<&str>,
        credentials: &str,
        headers: &Array,
        limit: f64,
        ms: u32,
    ) -> Promise;
    #[wasm_bindgen(js_name = netImage)]
    fn net_image(fetch: &JsValue, url: &str, etag: Option<&str>, limit: f64, ms: u32) -> Promise;
}

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

    /// The fetch function, `undefined` when there is none (the driver then fails the request
    /// with a `TypeError`).
    fn fetch_fn(&self) -> JsValue {
        self.fetch.clone().map_or(JsValue::UNDEFINED, JsValue::from)
    }

    /// Waits for a driver call; its failures become this layer's errors, `too_large` for a
    /// body over its limit.
    async fn settle(&self, call: Promise, request: &str, too_large: Error) -> Result<JsValue> {
        let failure = match JsFuture::from(call).await {
            Ok(answer) => return Ok(answer),
            Err(failure) => failure,
        };
        let error = field(&failure, "error");
        Err(match string_field(&failure, "fail").as_deref() {
            Some("timeout") => Error::Timeout {
                after_ms: self.config.request_timeout_ms,
            },
            Some("fetch") => fetch_failure(&error, request),
            Some("tooLarge") => too_large,
            Some("cutShort") => Error::Network {
                status: 0,
                request: format!("{request} (body cut short)"),
            },
            Some("notBytes") => bad("the body stream gave something other than bytes"),
            Some("notResponse") => bad("fetch did not resolve to a Response"),
            Some("header") => Error::config(
                "headers",
                format!(
                    "`{}` cannot be sent: {}",
                    string_field(&failure, "name").unwrap_or_default(),
                    Error::from_js(&error)
                ),
            ),
            Some(_) => Error::from_js(&error),
            None => Error::from_js(&failure),
        })
    }

    /// A call to the backend API: `GET url`, or `POST url` with a JSON `body`. Returns the
    /// answer's bytes (at most `limit`), for [`contract`] to read.
    async fn api(&self, url: &str, body: Option<String>, limit: u64) -> Result<Vec<u8>> {
        let request = describe(url);
        let credentials = match self.config.credentials {
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
        };
        let headers: Array = self
            .config
            .headers
            .iter()
            .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
            .collect();
        let call = net_api(
            &self.fetch_fn(),
            url,
            body.as_deref(),
            credentials,
            &headers,
            limit as f64,
            self.config.request_timeout_ms,
        );
        let too_large = bad(format!("answer is larger than {limit} bytes"));
        let answer = self.settle(call, &request, too_large).await?;
        let status = number_field(&answer, "status").unwrap_or(0.0) as u16;
        if status >= 400 {
            return Err(Error::Network { status, request });
        }
        if !(200..300).contains(&status) {
            return Err(bad(format!("unexpected HTTP status {status}")));
        }
        Ok(Uint8Array::new(&field(&answer, "bytes")).to_vec())
    }

    /// One image download: `cors` first, `no-cors` after a `TypeError`, then status, size and
    /// type checks.
    async fn fetch_image(&self, url: &str, etag: Option<&str>) -> Result<Download<Body>> {
        let request = describe(url);
        let limit = self.config.max_image_bytes;
        let call = net_image(
            &self.fetch_fn(),
            url,
            etag,
            limit as f64,
            self.config.request_timeout_ms,
        );
        let answer = self
            .settle(call, &request, Error::TooLarge { limit })
            .await?;
        if field(&answer, "opaque").is_truthy() {
            return Ok(Download::Opaque);
        }
        let status = number_field(&answer, "status").unwrap_or(0.0) as u16;
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
        let array = Uint8Array::new(&field(&answer, "bytes"));
        let bytes = array.to_vec();
        let declared = string_field(&answer, "type");
        let mime = accept_image(declared.as_deref(), &bytes, &self.config.allowed_types)?;
        check_pixels(mime, &bytes, self.config.max_image_pixels)?;
        let body = Body::bytes(array, mime);
        let etag = string_field(&answer, "etag").filter(|e| is_plausible_etag(e));
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

impl Backend<Body> for FetchBackend {
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
    ) -> LocalFuture<'a, Result<Download<Body>>> {
        self.fetch_image(url, etag).boxed_local()
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

/// An ETag worth keeping: non-empty, bounded, printable.
fn is_plausible_etag(etag: &str) -> bool {
    !etag.is_empty() && etag.len() <= MAX_ID_LEN && !etag.chars().any(char::is_control)
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

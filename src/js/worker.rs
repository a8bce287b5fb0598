//! `AvatarWorker`: the cache inside a service worker, behind the package's `./sw` entry.
//!
//! `sw/sw.js` (`serveAvatars(config)`) loads the module, opens an `AvatarWorker` and hands it the
//! fetch events it routes; everything that decides and stores is here and in [`crate::sw`]. The
//! worker runs the same [`Hierarchy`] as a page over the same IndexedDB image database, with
//! records in IndexedDB ([`IdbRecordStore`]; a worker has no localStorage) and image bodies held
//! by name ([`HeldBodies`]; a worker has no `URL.createObjectURL`). It listens to the pages'
//! BroadcastChannel, so an upload, `invalidate` or `clear()` in a tab is applied before its next
//! answer.

use std::rc::Rc;

use futures::FutureExt;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, RequestMode, Response, ResponseInit};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Error;
use crate::hierarchy::{Hierarchy, ImageAtUrl, Layers};
use crate::layers::body::Body;
use crate::layers::held_bodies::HeldBodies;
use crate::layers::idb::records::IdbRecordStore;
use crate::layers::locks::WebLocks;
use crate::layers::runtime::{sleep, BrowserRuntime};
use crate::layers::{Backend, ImageStore, Locks, RecordStore};
use crate::sw::{
    refresh_sweep_ms, Route, WorkerOptions, ANSWER_CACHE_CONTROL, WORKER_BATCH_WINDOW_MS,
};
use crate::sync::{CrossTab, EarlyChannel, Role};
use crate::vocabulary::Layer;

use super::convert::{event_to_js, js_error, read_config};
use super::AvatarCacheConfig;
use super::{network, open_images};

/// The header that says which layer answered (`memory`, `local`, `indexeddb`, `network`,
/// `default`, `storage-memory`, `storage-indexeddb`, `storage-network`): for devtools and tests.
pub const SOURCE_HEADER: &str = "X-Avatar-Cache";

struct Worker {
    hierarchy: Hierarchy<Body>,
    records: Option<Rc<IdbRecordStore>>,
    bodies: Rc<HeldBodies>,
    /// The config's `fetch`, when given: the worker's own `no-cors` requests use it too.
    fetch: Option<Function>,
    config: Rc<Config>,
    options: WorkerOptions,
    _cross_tab: Option<CrossTab>,
}

/// The avatar cache inside a service worker. Made by `serveAvatars` (`avatar-cache/sw`); not
/// meant to be used directly.
#[wasm_bindgen]
pub struct AvatarWorker {
    inner: Rc<Worker>,
}

#[wasm_bindgen]
impl AvatarWorker {
    /// Validates `config` (as `AvatarCache.open`, plus `storageOrigins` and `avatarPath`) and
    /// opens the stores. Rejects with an `AvatarCacheError` whose `field` names a bad field.
    #[wasm_bindgen(unchecked_return_type = "Promise<AvatarWorker>")]
    pub fn open(config: Option<AvatarCacheConfig>) -> Promise {
        let value: JsValue = config.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        let parsed = read_worker_config(value);
        // Listening starts now, before the stores open: a page's logout or change posted while
        // they do is applied to what they read, not missed.
        let early = match &parsed {
            Ok((config, ..)) if config.cross_tab => EarlyChannel::open(&config.namespace),
            _ => None,
        };
        super::promise(async move {
            let (config, options, fetch, on_event) = parsed.map_err(|e| js_error(&e))?;
            Ok(AvatarWorker::build(config, options, fetch, on_event, early)
                .await
                .into())
        })
    }

    async fn build(
        config: Config,
        options: WorkerOptions,
        fetch: Option<Function>,
        on_event: Option<Function>,
        early: Option<EarlyChannel>,
    ) -> Self {
        let config = Rc::new(config);
        let clock: Rc<dyn Clock> = Rc::new(SystemClock);
        let runtime = Rc::new(BrowserRuntime);
        let mut open_errors = Vec::new();
        // The two databases open in parallel.
        let mut image_errors = Vec::new();
        let (records, images) = futures::join!(
            IdbRecordStore::open(&config, clock.clone()),
            open_images(&config, clock.clone(), &mut image_errors)
        );
        let records = match records {
            Ok(store) => Some(Rc::new(store)),
            Err(e) => {
                open_errors.push((Layer::Local, e));
                None
            }
        };
        open_errors.append(&mut image_errors);
        let backend = network(&config, fetch.clone(), runtime.clone(), clock.clone());
        let bodies = Rc::new(HeldBodies::default());
        let hierarchy = Hierarchy::new(
            config.clone(),
            Layers {
                local: records.clone().map(|r| r as Rc<dyn RecordStore>),
                images: images.clone().map(|i| i as Rc<dyn ImageStore<Body>>),
                backend: backend.clone() as Rc<dyn Backend<Body>>,
                urls: bodies.clone(),
                locks: WebLocks::new().map(|l| Rc::new(l) as Rc<dyn Locks>),
                runtime,
                clock: clock.clone(),
            },
        );
        hierarchy.set_batch_window(WORKER_BATCH_WINDOW_MS);
        for (layer, e) in open_errors {
            web_sys::console::warn_1(&format!("[avatar-cache/sw] {e}").into());
            hierarchy.note_error(layer, &e);
        }
        // The worker's loads, evictions and errors, as a page's: `onEvent`, the debug log.
        let debug = config.debug;
        if debug || on_event.is_some() {
            hierarchy.set_event_hook(Some(Rc::new(move |event| {
                let js = event_to_js(event);
                if debug {
                    web_sys::console::debug_2(&"[avatar-cache/sw]".into(), &js);
                }
                if let Some(f) = &on_event {
                    let _ = f.call1(&JsValue::UNDEFINED, &js);
                }
            })));
        }
        let cross_tab = if config.cross_tab {
            CrossTab::start(&config, hierarchy.clone(), Role::Worker, early)
        } else {
            None
        };
        // While the worker runs, presigned URLs near expiry are refreshed before a request
        // needs them (the timer keeps no worker alive; a stopped worker refreshes on use).
        let sweeper = hierarchy.clone();
        let period = refresh_sweep_ms(config.refresh_margin_ms);
        wasm_bindgen_futures::spawn_local(async move {
            while !sweeper.is_closed() {
                sleep(period).await;
                sweeper.refresh_expiring();
            }
        });
        AvatarWorker {
            inner: Rc::new(Worker {
                hierarchy,
                records,
                bodies,
                fetch,
                config,
                options,
                _cross_tab: cross_tab,
            }),
        }
    }

    /// The name of the Cache API cache that holds the default picture for this namespace and
    /// version (`avatar-cache:<ns>:v<version>`).
    #[wasm_bindgen(getter, js_name = cacheName)]
    pub fn cache_name(&self) -> String {
        cache_name(&self.inner.config.namespace, self.inner.config.version)
    }

    /// The default picture's URL (`defaultImageUrl`), stored at install for offline answers.
    #[wasm_bindgen(getter, js_name = defaultImageUrl)]
    pub fn default_image_url(&self) -> String {
        self.inner.config.default_image_url.clone()
    }

    /// Whether the worker answers this request (`method`, absolute `url`, `destination`).
    pub fn handles(&self, method: &str, url: &str, destination: &str) -> bool {
        self.route(method, url, destination) != Route::Pass
    }

    /// The answer to a request the worker handles: the picture's bytes with `Cache-Control`,
    /// else the default picture. Never rejects for storage or network trouble; a request it does
    /// not handle goes to the network unchanged.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn respond(&self, request: Request) -> Promise {
        let inner = self.inner.clone();
        let destination = Reflect::get(&request, &"destination".into())
            .ok()
            .and_then(|d| d.as_string())
            .unwrap_or_default();
        let unreadable = Unreadable::for_mode(
            Reflect::get(&request, &"mode".into())
                .ok()
                .and_then(|m| m.as_string())
                .as_deref(),
        );
        let route = self.route(&request.method(), &request.url(), &destination);
        super::promise(async move {
            let response = match route {
                Route::Avatar { user_id } => inner.avatar(&user_id, unreadable).await,
                Route::Storage { key } => inner.storage(&key, &request.url(), unreadable).await,
                Route::Pass => return JsFuture::from(global_fetch(&request.into())?).await,
            };
            Ok(response.into())
        })
    }

    /// On `activate`: deletes the Cache API caches of this namespace's other versions (records
    /// and images of other versions were removed when the stores opened).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn activate(&self) -> Promise {
        let prefix = format!("avatar-cache:{}:v", self.inner.config.namespace);
        let keep = self.cache_name();
        super::promise(async move {
            let Some(caches) = caches() else {
                return Ok(JsValue::UNDEFINED);
            };
            let names = call0(&caches, "keys")?;
            let names: js_sys::Array = JsFuture::from(Promise::resolve(&names)).await?.into();
            for name in names.iter().filter_map(|n| n.as_string()) {
                if name.starts_with(&prefix) && name != keep {
                    let _ = call1(&caches, "delete", &name.into());
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Resolves once the image rows written behind the answers so far have landed in IndexedDB,
    /// and the uses of stored images they made are written (batched: up to 2 s after them):
    /// `serveAvatars` passes it to each fetch event's `waitUntil`, so the browser does not stop
    /// the worker with a download's row, or the LRU order its answers changed, still unwritten.
    #[wasm_bindgen(js_name = writesSettled, unchecked_return_type = "Promise<void>")]
    pub fn writes_settled(&self) -> Promise {
        let hierarchy = self.inner.hierarchy.clone();
        super::promise(async move {
            hierarchy.writes_settled().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Stops listening to the pages and answers every later request with the default picture.
    pub fn close(&self) {
        self.inner.hierarchy.close();
    }

    fn route(&self, method: &str, url: &str, destination: &str) -> Route {
        let own = location_origin();
        self.inner.options.route(method, url, destination, &own)
    }
}

impl Worker {
    async fn avatar(&self, user_id: &str, unreadable: Unreadable) -> Response {
        let picture = match self.hierarchy.get(user_id, None).await {
            Ok(picture) => picture,
            Err(_) => return self.default_response().await,
        };
        if let Some(body) = self.bodies.body(&picture.url) {
            return image_response(&body, picture.source.as_str());
        }
        if picture.url == self.config.default_image_url {
            return self.default_response().await;
        }
        // A picture whose bytes cannot be read (no CORS on the bucket): the <img> may still
        // show the opaque answer.
        self.unreadable(&picture.url, unreadable).await
    }

    /// An image on a storage origin, `key` its URL without the signature. One copy per image:
    /// when a record names the image behind that URL, its row (under the image id, shared with
    /// the pages and `/avatar/{id}`) answers and takes a download; otherwise the row is `key`'s.
    /// After a logout (`clear()` in any tab, or `close()`), the default picture.
    async fn storage(&self, key: &str, url: &str, unreadable: Unreadable) -> Response {
        let image_id = self
            .records
            .as_ref()
            .and_then(|r| r.image_for_url(key))
            .unwrap_or_else(|| key.to_string());
        let ids = [image_id.as_str(), key];
        let ids = if image_id == key { &ids[..1] } else { &ids[..] };
        match self.hierarchy.image_by_url(ids, url).await {
            ImageAtUrl::Memory(body) => image_response(&body, "storage-memory"),
            ImageAtUrl::Stored(body) => image_response(&body, "storage-indexeddb"),
            ImageAtUrl::Downloaded(body) => image_response(&body, "storage-network"),
            ImageAtUrl::Opaque => self.unreadable(url, unreadable).await,
            ImageAtUrl::Nothing => self.default_response().await,
        }
    }

    /// The answer for a picture at `url` whose bytes the worker cannot read, as the request
    /// allows (see [`Unreadable`]); the default picture when nothing else will do.
    async fn unreadable(&self, url: &str, unreadable: Unreadable) -> Response {
        let answer = match unreadable {
            Unreadable::Opaque => {
                let timeout = f64::from(self.config.request_timeout_ms);
                let fetched = opaque_fetch(self.fetch.as_ref(), url).boxed_local();
                match futures::future::select(fetched, sleep(timeout)).await {
                    futures::future::Either::Left((response, _)) => response,
                    futures::future::Either::Right(_) => None,
                }
            }
            Unreadable::Redirect => Response::redirect_with_status(url, 302).ok(),
            Unreadable::Default => None,
        };
        match answer {
            Some(response) => response,
            None => self.default_response().await,
        }
    }

    /// The default picture: from the Cache API (stored at install), else the network, else a
    /// built-in transparent pixel. Never an error page.
    async fn default_response(&self) -> Response {
        let url = &self.config.default_image_url;
        if let Some(caches) = caches() {
            if let Ok(hit) = call1(&caches, "match", &url.into()) {
                if let Ok(found) = JsFuture::from(Promise::resolve(&hit)).await {
                    if let Ok(response) = found.dyn_into::<Response>() {
                        return with_source(response, "default");
                    }
                }
            }
        }
        if let Ok(promise) = global_fetch(&url.into()) {
            if let Ok(value) = JsFuture::from(promise).await {
                if let Ok(response) = value.dyn_into::<Response>() {
                    if response.ok() {
                        return with_source(response, "default");
                    }
                }
            }
        }
        let pixel = Body::bytes(js_sys::Uint8Array::from(TRANSPARENT_GIF), "image/gif");
        image_response(&pixel, "default")
    }
}

/// A 1×1 transparent GIF: the answer of last resort.
const TRANSPARENT_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The Cache API cache name for a namespace and version.
pub fn cache_name(namespace: &str, version: u32) -> String {
    format!("avatar-cache:{namespace}:v{version}")
}

/// What `AvatarWorker.open` reads from its config: the config, the worker's own options, the
/// injected `fetch` and `onEvent`.
type WorkerConfig = (Config, WorkerOptions, Option<Function>, Option<Function>);

fn read_worker_config(value: JsValue) -> Result<WorkerConfig, Error> {
    let config = (!value.is_undefined() && !value.is_null()).then(|| value.unchecked_into());
    let (config, fetch, on_event) = read_config(config)?;
    let options = WorkerOptions::from_config(&config);
    Ok((config, options, fetch, on_event))
}

fn image_response(body: &Body, source: &str) -> Response {
    let headers = Headers::new().expect("Headers");
    let mime = match body {
        Body::Bytes { mime, .. } => mime.clone(),
        Body::Blob(blob) => blob.type_(),
    };
    let _ = headers.set("Content-Type", &mime);
    let _ = headers.set("Cache-Control", ANSWER_CACHE_CONTROL);
    let _ = headers.set(SOURCE_HEADER, source);
    let init = ResponseInit::new();
    init.set_status(200);
    init.set_headers(&headers);
    let made = match body {
        Body::Bytes { bytes, .. } => {
            Response::new_with_opt_buffer_source_and_init(Some(bytes), &init)
        }
        Body::Blob(blob) => Response::new_with_opt_blob_and_init(Some(blob), &init),
    };
    made.expect("a Response from an image's bytes")
}

/// `response` with the source header (a copy: fetched and cached responses are immutable).
fn with_source(response: Response, source: &str) -> Response {
    let headers = Headers::new_with_headers(&response.headers()).expect("Headers");
    let _ = headers.set(SOURCE_HEADER, source);
    let init = ResponseInit::new();
    init.set_status(response.status());
    init.set_headers(&headers);
    match response.body() {
        Some(body) => {
            Response::new_with_opt_readable_stream_and_init(Some(&body), &init).unwrap_or(response)
        }
        None => response,
    }
}

/// How a request may be answered when the worker cannot read the picture's bytes (a bucket
/// without CORS), by its `mode`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unreadable {
    /// `no-cors` (a plain `<img>`): the bucket's own opaque answer, which it can show.
    Opaque,
    /// `navigate` (`/avatar/42` opened in a tab): a redirect to the picture.
    Redirect,
    /// `cors` or `same-origin` (`fetch()` from script, `<img crossorigin>`): an opaque answer
    /// would be a network error there, so the default picture.
    Default,
}

impl Unreadable {
    fn for_mode(mode: Option<&str>) -> Self {
        match mode {
            None | Some("no-cors") => Unreadable::Opaque,
            Some("navigate") => Unreadable::Redirect,
            Some(_) => Unreadable::Default,
        }
    }
}

/// `url` fetched `no-cors` through `fetch` (the config's, else the global one).
async fn opaque_fetch(fetch: Option<&Function>, url: &str) -> Option<Response> {
    let init = RequestInit::new();
    init.set_mode(RequestMode::NoCors);
    let fetch = match fetch {
        Some(fetch) => fetch.clone(),
        None => global_fetch_function().ok()?,
    };
    let promise: Promise = fetch
        .call2(&js_sys::global(), &url.into(), &init)
        .ok()?
        .dyn_into()
        .ok()?;
    let value = JsFuture::from(promise).await.ok()?;
    value.dyn_into::<Response>().ok()
}

/// The global scope's `fetch`.
fn global_fetch_function() -> Result<Function, JsValue> {
    Reflect::get(&js_sys::global(), &"fetch".into())?.dyn_into()
}

fn global_fetch(input: &JsValue) -> Result<Promise, JsValue> {
    global_fetch_function()?
        .call1(&js_sys::global(), input)?
        .dyn_into()
}

fn caches() -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &"caches".into())
        .ok()
        .filter(|c| c.is_object())
}

fn call0(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &name.into())?.dyn_into()?;
    f.call0(target)
}

fn call1(target: &JsValue, name: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &name.into())?.dyn_into()?;
    f.call1(target, arg)
}

/// The global scope's origin (`self.location.origin`).
fn location_origin() -> String {
    Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| Reflect::get(&l, &"origin".into()))
        .ok()
        .and_then(|o| o.as_string())
        .unwrap_or_default()
}

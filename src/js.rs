//! The `#[wasm_bindgen]` surface: the `AvatarCache` class and its TypeScript types.
//!
//! This is the only file that converts between Rust and JS values. Everything below it speaks
//! Rust types; everything above it is the contract of DESIGN.md §3.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::Blob;

use crate::clock::{Clock, SystemClock, SystemRandom};
use crate::config::Config;
use crate::error::Error;
use crate::hierarchy::{CacheEvent, Hierarchy, Layers, Picture, PrefetchReport};
use crate::layers::idb::IdbImageStore;
use crate::layers::local::LocalRecordStore;
use crate::layers::locks::WebLocks;
use crate::layers::network::FetchBackend;
use crate::layers::object_url::BrowserObjectUrls;
use crate::layers::resilient::ResilientBackend;
use crate::layers::runtime::BrowserRuntime;
use crate::layers::{Backend, ImageStore, Locks, RecordStore};
use crate::policy::presign::origin_of;
use crate::policy::sniff::accept_image;
use crate::stats::LayerCounters;
use crate::sync::CrossTab;
use crate::vocabulary::Layer;

/// `AvatarCacheConfig`, kept beside the reader it must match (see `crate::config`).
#[wasm_bindgen(typescript_custom_section)]
const CONFIG_TYPES: &str = crate::config::CONFIG_TS;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Which layer answered. */
export type PictureSource = "memory" | "local" | "indexeddb" | "network" | "default";

/** A picture as get and peek answer it. */
export interface Picture {
  userId: string;
  imageId: string | null;
  /** An object URL owned by the cache, or the remote or default URL. */
  url: string;
  source: PictureSource;
  /** Past its freshness; a revalidation is under way. */
  stale: boolean;
  loadMs: number;
}

/** What prefetch did, summed over the users asked for. */
export interface PrefetchReport {
  requested: number;
  memory: number;
  local: number;
  indexeddb: number;
  network: number;
  /** Ended with the default picture. */
  defaulted: number;
  apiCalls: number;
  downloads: number;
}

export interface LayerStats { hits: number; misses: number; stale: number; p50Ms: number; p95Ms: number }

export interface CacheStats {
  layers: {
    memory: LayerStats;
    local: LayerStats;
    indexeddb: LayerStats;
    network: LayerStats & { errors: number };
  };
  /** Gets answered without the network / all gets. */
  hitRate: number;
  gets: number;
  apiCalls: number;
  downloads: number;
  bytesDownloaded: number;
  idb: { bytes: number; entries: number; maxBytes: number; maxEntries: number } | null;
  localBytes: number;
  objectUrls: number;
  inFlight: number;
  breaker: "closed" | "open" | "half-open";
  recentErrors: { at: number; layer: string; reason: string }[];
  storage?: { usage: number; quota: number; persisted: boolean };
}

/** Reported to onEvent. */
export type CacheEvent =
  | { type: "load"; userId: string; source: PictureSource; ms: number; bytes: number; stale: boolean }
  | { type: "evict"; layer: string; id: string }
  | { type: "error"; layer: string; reason: string }
  | { type: "refresh"; userId: string; changed: boolean }
  | { type: "debug"; message: string };

/** What subscribers hear: one user's picture changed, or everything was cleared. */
export type Change = { userId: string } | { all: true };
"#;

#[wasm_bindgen]
extern "C" {
    /// `AvatarCacheConfig` on the TypeScript side.
    #[wasm_bindgen(typescript_type = "AvatarCacheConfig")]
    pub type AvatarCacheConfig;
}

/// The JS error for `e`: an `Error` named `AvatarCacheError` with `code` (and `field` for bad
/// config) properties.
fn js_error(e: &Error) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name("AvatarCacheError");
    let _ = Reflect::set(&error, &"code".into(), &e.code().into());
    if let Error::ConfigInvalid { field, .. } = e {
        let _ = Reflect::set(&error, &"field".into(), &field.into());
    }
    error.into()
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value.serialize(&serializer).unwrap_or(JsValue::UNDEFINED)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PictureOut<'a> {
    user_id: &'a str,
    image_id: Option<&'a str>,
    url: &'a str,
    source: &'static str,
    stale: bool,
    load_ms: f64,
}

fn picture_to_js(p: &Picture) -> JsValue {
    to_js(&PictureOut {
        user_id: &p.user_id,
        image_id: p.image_id.as_deref(),
        url: &p.url,
        source: p.source.as_str(),
        stale: p.stale,
        load_ms: p.load_ms,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportOut {
    requested: usize,
    memory: usize,
    local: usize,
    indexeddb: usize,
    network: usize,
    defaulted: usize,
    api_calls: u64,
    downloads: u64,
}

impl From<PrefetchReport> for ReportOut {
    fn from(r: PrefetchReport) -> Self {
        ReportOut {
            requested: r.requested,
            memory: r.memory,
            local: r.local,
            indexeddb: r.indexeddb,
            network: r.network,
            defaulted: r.defaulted,
            api_calls: r.api_calls,
            downloads: r.downloads,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LayerOut {
    hits: u64,
    misses: u64,
    stale: u64,
    p50_ms: f64,
    p95_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<u64>,
}

fn layer_out(c: &LayerCounters, with_errors: bool) -> LayerOut {
    LayerOut {
        hits: c.hits,
        misses: c.misses,
        stale: c.stale,
        p50_ms: c.percentile(0.5),
        p95_ms: c.percentile(0.95),
        errors: with_errors.then_some(c.errors),
    }
}

#[derive(Serialize)]
struct LayersOut {
    memory: LayerOut,
    local: LayerOut,
    indexeddb: LayerOut,
    network: LayerOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdbOut {
    bytes: u64,
    entries: u64,
    max_bytes: u64,
    max_entries: usize,
}

#[derive(Serialize)]
struct ErrorOut {
    at: f64,
    layer: &'static str,
    reason: String,
}

#[derive(Serialize, Clone, Copy)]
struct StorageOut {
    usage: f64,
    quota: f64,
    persisted: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsOut {
    layers: LayersOut,
    hit_rate: f64,
    gets: u64,
    api_calls: u64,
    downloads: u64,
    bytes_downloaded: u64,
    idb: Option<IdbOut>,
    local_bytes: u64,
    object_urls: usize,
    in_flight: usize,
    breaker: &'static str,
    recent_errors: Vec<ErrorOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageOut>,
}

fn event_to_js(event: &CacheEvent) -> JsValue {
    let obj = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&obj, &k.into(), &v);
    };
    match event {
        CacheEvent::Load {
            user_id,
            source,
            ms,
            bytes,
            stale,
        } => {
            set("type", "load".into());
            set("userId", user_id.into());
            set("source", source.as_str().into());
            set("ms", (*ms).into());
            set("bytes", (*bytes as f64).into());
            set("stale", (*stale).into());
        }
        CacheEvent::Evict { layer, id } => {
            set("type", "evict".into());
            set("layer", layer.as_str().into());
            set("id", id.into());
        }
        CacheEvent::Error { layer, reason } => {
            set("type", "error".into());
            set("layer", layer.as_str().into());
            set("reason", reason.into());
        }
        CacheEvent::Refresh { user_id, changed } => {
            set("type", "refresh".into());
            set("userId", user_id.into());
            set("changed", (*changed).into());
        }
        CacheEvent::Decision(message) => {
            set("type", "debug".into());
            set("message", message.into());
        }
    }
    obj.into()
}

/// Splits the JS config object into the plain part (validated by [`Config::from_json`]) and its
/// functions (`fetch`, `onEvent`).
fn read_config(
    value: Option<AvatarCacheConfig>,
) -> Result<(Config, Option<Function>, Option<Function>), Error> {
    let value: JsValue = value.map(Into::into).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok((Config::from_json(serde_json::Value::Null)?, None, None));
    }
    if !value.is_object() || Array::is_array(&value) {
        return Err(Error::config("config", "must be an object"));
    }
    let take_fn = |name: &str| -> Result<Option<Function>, Error> {
        let f = Reflect::get(&value, &name.into()).unwrap_or(JsValue::UNDEFINED);
        if f.is_undefined() || f.is_null() {
            return Ok(None);
        }
        f.dyn_into::<Function>()
            .map(Some)
            .map_err(|_| Error::config(name, "must be a function"))
    };
    let fetch = take_fn("fetch")?;
    let on_event = take_fn("onEvent")?;
    let plain = Object::assign(&Object::new(), value.unchecked_ref());
    let _ = Reflect::delete_property(&plain, &"fetch".into());
    let _ = Reflect::delete_property(&plain, &"onEvent".into());
    let json: serde_json::Value = serde_wasm_bindgen::from_value(plain.into())
        .map_err(|e| Error::config("config", e.to_string()))?;
    Ok((Config::from_json(json)?, fetch, on_event))
}

/// The cached JS object `peek` last returned for a user, kept so an unchanged picture is the
/// same object (React's `useSyncExternalStore` compares snapshots by identity).
struct PeekSnapshot {
    url: String,
    stale: bool,
    value: JsValue,
}

struct Shared {
    hierarchy: Hierarchy<Blob>,
    backend: Rc<ResilientBackend<FetchBackend, Blob>>,
    config: Rc<Config>,
    peeks: RefCell<HashMap<String, PeekSnapshot>>,
    storage: RefCell<Option<StorageOut>>,
    cross_tab: RefCell<Option<CrossTab>>,
}

/// The avatar cache: memory → localStorage → IndexedDB → network behind one `get`.
///
/// ```js
/// const cache = await AvatarCache.open({ apiBase: "/images" });
/// img.src = (cache.peek(id) ?? (await cache.get(id))).url;
/// ```
#[wasm_bindgen]
pub struct AvatarCache {
    shared: Rc<Shared>,
}

#[wasm_bindgen]
impl AvatarCache {
    /// Opens the cache: validates `config` (rejecting with an `AvatarCacheError` whose `field`
    /// names the bad field), opens localStorage and IndexedDB (an IndexedDB that does not open
    /// within `idb.openTimeoutMs` is left out, never waited on forever) and starts listening to
    /// other tabs.
    #[wasm_bindgen(unchecked_return_type = "Promise<AvatarCache>")]
    pub fn open(config: Option<AvatarCacheConfig>) -> Promise {
        let parsed = read_config(config);
        future_to_promise(async move {
            let (config, fetch, on_event) = parsed.map_err(|e| js_error(&e))?;
            let cache = AvatarCache::build(config, fetch, on_event).await;
            Ok(cache.into())
        })
    }

    async fn build(
        config: Config,
        fetch: Option<Function>,
        on_event: Option<Function>,
    ) -> AvatarCache {
        let config = Rc::new(config);
        let clock: Rc<dyn Clock> = Rc::new(SystemClock);
        let runtime = Rc::new(BrowserRuntime);
        let mut open_errors = Vec::new();
        let local: Option<Rc<dyn RecordStore>> = if config.local.enabled {
            match LocalRecordStore::new(&config, clock.clone()) {
                Ok(store) => Some(Rc::new(store)),
                Err(e) => {
                    open_errors.push((Layer::Local, e));
                    None
                }
            }
        } else {
            None
        };
        let images: Option<Rc<dyn ImageStore<Blob>>> = if config.idb.enabled {
            match IdbImageStore::open(&config, clock.clone()).await {
                Ok(store) => Some(Rc::new(store)),
                Err(e) => {
                    open_errors.push((Layer::IndexedDb, e));
                    None
                }
            }
        } else {
            None
        };
        let api_origin = origin_of(&config.api_base).to_string();
        let backend = Rc::new(ResilientBackend::new(
            FetchBackend::new(config.clone(), fetch),
            &config.retry,
            &config.breaker,
            runtime.clone(),
            clock.clone(),
            Rc::new(SystemRandom),
            api_origin,
        ));
        let layers = Layers {
            local,
            images,
            backend: backend.clone() as Rc<dyn Backend<Blob>>,
            urls: Rc::new(BrowserObjectUrls::default()),
            locks: WebLocks::new().map(|l| Rc::new(l) as Rc<dyn Locks>),
            runtime,
            clock,
        };
        let hierarchy = Hierarchy::new(config.clone(), layers);
        let debug = config.debug;
        let timeline = Timeline::new();
        hierarchy.set_event_hook(Some(Rc::new(move |event: &CacheEvent| {
            if let (
                CacheEvent::Load {
                    user_id,
                    source,
                    ms,
                    stale,
                    ..
                },
                Some(timeline),
            ) = (event, &timeline)
            {
                timeline.measure_get(user_id, source.as_str(), *ms, *stale);
            }
            if !debug && on_event.is_none() {
                return;
            }
            let js = event_to_js(event);
            if debug {
                web_sys::console::debug_2(&"[avatar-cache]".into(), &js);
            }
            if let Some(f) = &on_event {
                let _ = f.call1(&JsValue::UNDEFINED, &js);
            }
        })));
        let shared = Rc::new(Shared {
            hierarchy: hierarchy.clone(),
            backend,
            config: config.clone(),
            peeks: RefCell::new(HashMap::new()),
            storage: RefCell::new(None),
            cross_tab: RefCell::new(None),
        });
        for (layer, e) in open_errors {
            hierarchy.note_error(layer, &e);
        }
        if config.cross_tab {
            *shared.cross_tab.borrow_mut() = CrossTab::start(&config, hierarchy.clone());
        }
        let cache = AvatarCache { shared };
        cache.expose_globally();
        cache
    }

    /// The picture of `userId` if memory holds it: synchronous, for a component's first frame.
    /// Never touches storage or the network. Returns the same object while the picture is
    /// unchanged.
    #[wasm_bindgen(unchecked_return_type = "Picture | undefined")]
    pub fn peek(&self, #[wasm_bindgen(js_name = userId)] user_id: &str) -> JsValue {
        let Some(picture) = self.shared.hierarchy.peek(user_id) else {
            self.shared.peeks.borrow_mut().remove(user_id);
            return JsValue::UNDEFINED;
        };
        let mut peeks = self.shared.peeks.borrow_mut();
        if let Some(snap) = peeks.get(user_id) {
            if snap.url == picture.url && snap.stale == picture.stale {
                return snap.value.clone();
            }
        }
        if peeks.len() > 4 * self.shared.config.memory.max_entries {
            peeks.clear();
        }
        let value = picture_to_js(&picture);
        peeks.insert(
            user_id.to_string(),
            PeekSnapshot {
                url: picture.url,
                stale: picture.stale,
                value: value.clone(),
            },
        );
        value
    }

    /// The picture of `userId` (optionally the image the app knows it has), from the highest
    /// layer that holds it. Never rejects for storage or network trouble: it falls back to a
    /// stale picture, then to the default picture. Rejects only for an empty id.
    #[wasm_bindgen(unchecked_return_type = "Promise<Picture>")]
    pub fn get(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = imageId)] image_id: Option<String>,
    ) -> Promise {
        let hierarchy = self.shared.hierarchy.clone();
        future_to_promise(async move {
            let picture = hierarchy
                .get(&user_id, image_id.as_deref())
                .await
                .map_err(|e| js_error(&e))?;
            Ok(picture_to_js(&picture))
        })
    }

    /// Loads many users at once (lists, hover, idle time): stored pictures are read in one
    /// IndexedDB transaction, unknown users go through the batch endpoint when configured,
    /// missing images download with bounded concurrency. Never rejects for network trouble.
    #[wasm_bindgen(unchecked_return_type = "Promise<PrefetchReport>")]
    pub fn prefetch(
        &self,
        #[wasm_bindgen(js_name = userIds, unchecked_param_type = "string[]")] user_ids: JsValue,
    ) -> Promise {
        let hierarchy = self.shared.hierarchy.clone();
        future_to_promise(async move {
            let ids: Vec<String> = serde_wasm_bindgen::from_value(user_ids).map_err(|_| {
                js_error(&Error::InvalidArgument {
                    name: "userIds",
                    reason: "must be an array of strings".into(),
                })
            })?;
            let report = hierarchy.prefetch(&ids).await.map_err(|e| js_error(&e))?;
            Ok(to_js(&ReportOut::from(report)))
        })
    }

    /// Replaces the picture of `userId` after an upload (`imageId` null: no picture). Pass the
    /// uploaded `image` so no tab downloads it again. Every layer is updated before the promise
    /// resolves; subscribers and other tabs are then told. Rejects only for bad arguments (an
    /// empty id, an image that is not an allowed picture type or too large).
    #[wasm_bindgen(js_name = setPicture, unchecked_return_type = "Promise<void>")]
    pub fn set_picture(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = imageId)] image_id: Option<String>,
        image: Option<Blob>,
    ) -> Promise {
        let hierarchy = self.shared.hierarchy.clone();
        let config = self.shared.config.clone();
        future_to_promise(async move {
            let body = match image {
                None => None,
                Some(blob) => Some(
                    checked_upload(&blob, &config)
                        .await
                        .map_err(|e| js_error(&e))?,
                ),
            };
            hierarchy
                .set_picture(&user_id, image_id.as_deref(), body)
                .await
                .map_err(|e| js_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Forgets `userId` in every layer of every tab; the next get asks the backend (and reuses
    /// stored bytes if the image did not change).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn invalidate(&self, #[wasm_bindgen(js_name = userId)] user_id: String) -> Promise {
        let result = self.shared.hierarchy.invalidate(&user_id);
        future_to_promise(
            async move { result.map(|_| JsValue::UNDEFINED).map_err(|e| js_error(&e)) },
        )
    }

    /// Empties every layer in every tab: memory, the cache's own localStorage keys and its
    /// IndexedDB database. For logout. Never rejects.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn clear(&self) -> Promise {
        let hierarchy = self.shared.hierarchy.clone();
        self.shared.peeks.borrow_mut().clear();
        future_to_promise(async move {
            hierarchy.clear().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Calls `listener(change)` whenever a picture changes in this tab or another:
    /// `{ userId }` for one user, `{ all: true }` after `clear()` (no user id can mean "all").
    /// Returns the function that unsubscribes. Shaped for React's `useSyncExternalStore`.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(change: Change) => void")] listener: Function,
    ) -> JsValue {
        let shared = Rc::downgrade(&self.shared);
        let id = self
            .shared
            .hierarchy
            .subscribe(Rc::new(move |user: Option<&str>| {
                let change = Object::new();
                if let Some(shared) = shared.upgrade() {
                    match user {
                        None => shared.peeks.borrow_mut().clear(),
                        Some(user) => {
                            shared.peeks.borrow_mut().remove(user);
                        }
                    }
                }
                let _ = match user {
                    None => Reflect::set(&change, &"all".into(), &JsValue::TRUE),
                    Some(user) => Reflect::set(&change, &"userId".into(), &user.into()),
                };
                let _ = listener.call1(&JsValue::UNDEFINED, &change);
            }));
        let hierarchy = self.shared.hierarchy.clone();
        Closure::<dyn FnMut()>::new(move || hierarchy.unsubscribe(id)).into_js_value()
    }

    /// Counters and figures: per-layer hits, misses, stale answers and p50/p95 load times, hit
    /// rate, IndexedDB and localStorage usage, live object URLs, requests in flight, breaker
    /// state, recent errors and (once measured) the origin's storage estimate.
    #[wasm_bindgen(unchecked_return_type = "CacheStats")]
    pub fn stats(&self) -> JsValue {
        self.refresh_storage_estimate();
        to_js(&self.stats_out())
    }

    /// Prints the stats and the entries as `console.table`s and returns the stats. Also reachable
    /// as `__AVATAR_CACHE__.diagnose()` from the devtools console.
    #[wasm_bindgen(unchecked_return_type = "CacheStats")]
    pub fn diagnose(&self) -> JsValue {
        diagnose(&self.shared)
    }

    /// Stops the cache: revokes every object URL, stops listening to other tabs. Later gets
    /// answer the default picture.
    pub fn close(&self) {
        if let Some(sync) = self.shared.cross_tab.borrow_mut().take() {
            sync.stop();
        }
        self.shared.peeks.borrow_mut().clear();
        self.shared.hierarchy.close();
    }

    fn stats_out(&self) -> StatsOut {
        stats_out(&self.shared)
    }

    fn refresh_storage_estimate(&self) {
        let shared = Rc::downgrade(&self.shared);
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(estimate) = storage_estimate().await {
                if let Some(shared) = shared.upgrade() {
                    *shared.storage.borrow_mut() = Some(estimate);
                }
            }
        });
    }

    /// Makes this instance reachable as `globalThis.__AVATAR_CACHE__` (`stats()`, `diagnose()`).
    fn expose_globally(&self) {
        let handle = Object::new();
        let for_stats = Rc::downgrade(&self.shared);
        let stats = Closure::<dyn Fn() -> JsValue>::new(move || {
            for_stats
                .upgrade()
                .map_or(JsValue::UNDEFINED, |s| to_js(&stats_out(&s)))
        });
        let for_diagnose = Rc::downgrade(&self.shared);
        let diagnose_fn = Closure::<dyn Fn() -> JsValue>::new(move || {
            for_diagnose
                .upgrade()
                .map_or(JsValue::UNDEFINED, |s| diagnose(&s))
        });
        let _ = Reflect::set(&handle, &"stats".into(), &stats.into_js_value());
        let _ = Reflect::set(&handle, &"diagnose".into(), &diagnose_fn.into_js_value());
        let _ = Reflect::set(
            &handle,
            &"version".into(),
            &env!("CARGO_PKG_VERSION").into(),
        );
        let _ = Reflect::set(&js_sys::global(), &"__AVATAR_CACHE__".into(), &handle);
    }
}

fn stats_out(shared: &Shared) -> StatsOut {
    let h = &shared.hierarchy;
    let s = h.stats();
    let config = &shared.config;
    StatsOut {
        layers: LayersOut {
            memory: layer_out(&s.memory, false),
            local: layer_out(&s.local, false),
            indexeddb: layer_out(&s.indexeddb, false),
            network: layer_out(&s.network, true),
        },
        hit_rate: s.hit_rate(),
        gets: s.gets(),
        api_calls: s.api_calls,
        downloads: s.downloads,
        bytes_downloaded: s.bytes_downloaded,
        idb: h.idb_usage().map(|u| IdbOut {
            bytes: u.bytes,
            entries: u.entries,
            max_bytes: config.idb.max_bytes,
            max_entries: config.idb.max_entries,
        }),
        local_bytes: h.local_bytes(),
        object_urls: h.object_urls().0,
        in_flight: h.in_flight(),
        breaker: shared.backend.breaker_state().as_str(),
        recent_errors: s
            .recent_errors()
            .map(|e| ErrorOut {
                at: e.at,
                layer: e.layer.as_str(),
                reason: e.reason.clone(),
            })
            .collect(),
        storage: *shared.storage.borrow(),
    }
}

fn diagnose(shared: &Shared) -> JsValue {
    let stats = stats_out(shared);
    let js = to_js(&stats);
    let console_table = |label: &str, data: &JsValue| {
        web_sys::console::log_1(&JsValue::from_str(label));
        web_sys::console::table_1(data);
    };
    web_sys::console::log_1(&JsValue::from_str(&format!(
        "avatar-cache {}: hit rate {:.1} %, {} gets, {} API calls, {} downloads, breaker {}",
        env!("CARGO_PKG_VERSION"),
        stats.hit_rate * 100.0,
        stats.gets,
        stats.api_calls,
        stats.downloads,
        stats.breaker
    )));
    console_table(
        "layers",
        &Reflect::get(&js, &"layers".into()).unwrap_or(JsValue::UNDEFINED),
    );
    let now = js_sys::Date::now();
    let rows = Array::new();
    let local: HashMap<String, f64> = shared
        .hierarchy
        .local_records()
        .into_iter()
        .map(|r| (r.user_id, r.fetched_at))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for (record, fresh_until, has_image) in shared.hierarchy.memory_entries() {
        seen.insert(record.user_id.clone());
        let mut layers = vec!["memory"];
        if local.contains_key(&record.user_id) {
            layers.push("local");
        }
        let row = EntryRow {
            user: record.user_id.clone(),
            image: record
                .image_id
                .clone()
                .unwrap_or_else(|| "(default)".into()),
            layers: layers.join(" + "),
            age_s: ((now - record.fetched_at) / 1000.0).round(),
            fresh_for_s: ((fresh_until - now) / 1000.0).round(),
            url_expires_in_s: ((record.url_expires_at - now) / 1000.0).round(),
            image_in_memory: has_image,
        };
        rows.push(&to_js(&row));
    }
    for (user, fetched_at) in &local {
        if seen.contains(user) {
            continue;
        }
        let row = EntryRow {
            user: user.clone(),
            image: String::new(),
            layers: "local".into(),
            age_s: ((now - fetched_at) / 1000.0).round(),
            fresh_for_s: ((fetched_at + shared.config.local.ttl_ms - now) / 1000.0).round(),
            url_expires_in_s: f64::NAN,
            image_in_memory: false,
        };
        rows.push(&to_js(&row));
    }
    console_table("entries", &rows);
    let errors = Reflect::get(&js, &"recentErrors".into()).unwrap_or(JsValue::UNDEFINED);
    if Array::from(&errors).length() > 0 {
        console_table("recent errors", &errors);
    }
    js
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryRow {
    user: String,
    image: String,
    layers: String,
    age_s: f64,
    fresh_for_s: f64,
    url_expires_in_s: f64,
    image_in_memory: bool,
}

/// `performance.measure` entries for each get, named by the layer that answered
/// (`avatar-cache get ← indexeddb`) with the user in `detail`, so they read well in the devtools
/// Performance panel. The entries are cleared every [`Timeline::KEEP`] gets so a long session
/// does not grow the timeline without bound.
struct Timeline {
    performance: web_sys::Performance,
    /// `performance.measure`, looked up once.
    measure: Function,
    /// The entry name for each of [`Timeline::SOURCES`], made once.
    names: Vec<(&'static str, JsValue)>,
    count: std::cell::Cell<u32>,
}

impl Timeline {
    const KEEP: u32 = 2_000;
    const SOURCES: [&'static str; 5] = ["memory", "local", "indexeddb", "network", "default"];

    fn new() -> Option<Timeline> {
        let performance = Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
        let performance: web_sys::Performance = performance.dyn_into().ok()?;
        let measure = Reflect::get(&performance, &"measure".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let names = Self::SOURCES
            .iter()
            .map(|source| {
                (
                    *source,
                    JsValue::from_str(&format!("avatar-cache get \u{2190} {source}")),
                )
            })
            .collect();
        Some(Timeline {
            performance,
            measure,
            names,
            count: std::cell::Cell::new(0),
        })
    }

    fn measure_get(&self, user_id: &str, source: &str, ms: f64, stale: bool) {
        let count = self.count.get() + 1;
        if count > Self::KEEP {
            for (_, name) in &self.names {
                if let Some(name) = name.as_string() {
                    self.performance.clear_measures_with_measure_name(&name);
                }
            }
            self.count.set(1);
        } else {
            self.count.set(count);
        }
        let Some((_, name)) = self.names.iter().find(|(s, _)| *s == source) else {
            return;
        };
        let end = self.performance.now();
        let options = Object::new();
        let detail = Object::new();
        let _ = Reflect::set(&detail, &"userId".into(), &user_id.into());
        let _ = Reflect::set(&detail, &"stale".into(), &stale.into());
        let _ = Reflect::set(&options, &"start".into(), &(end - ms).into());
        let _ = Reflect::set(&options, &"end".into(), &end.into());
        let _ = Reflect::set(&options, &"detail".into(), &detail);
        let _ = self.measure.call2(&self.performance, name, &options);
    }
}

/// Reads an uploaded Blob, checks it is an allowed picture within the size cap (sniffing the
/// bytes, not trusting `blob.type`), and retypes it with the sniffed type.
async fn checked_upload(blob: &Blob, config: &Config) -> Result<(Blob, String, u64), Error> {
    let size = blob.size() as u64;
    if size == 0 || size > config.max_image_bytes {
        return Err(Error::InvalidArgument {
            name: "image",
            reason: format!(
                "size {size} is outside 1..={} bytes",
                config.max_image_bytes
            ),
        });
    }
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| Error::InvalidArgument {
            name: "image",
            reason: format!("{e:?}"),
        })?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    let declared = blob.type_();
    let declared = (!declared.is_empty()).then_some(declared.as_str());
    let mime = accept_image(declared, &bytes, &config.allowed_types).map_err(|e| {
        Error::InvalidArgument {
            name: "image",
            reason: e.to_string(),
        }
    })?;
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let parts = Array::of1(&buffer);
    let typed =
        Blob::new_with_buffer_source_sequence_and_options(&parts, &options).map_err(|e| {
            Error::InvalidArgument {
                name: "image",
                reason: format!("{e:?}"),
            }
        })?;
    Ok((typed, mime.to_string(), size))
}

async fn storage_estimate() -> Option<StorageOut> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into())
        .ok()
        .filter(|s| !s.is_undefined())?;
    let storage: web_sys::StorageManager = storage.dyn_into().ok()?;
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let usage = Reflect::get(&estimate, &"usage".into())
        .ok()?
        .as_f64()
        .unwrap_or(0.0);
    let quota = Reflect::get(&estimate, &"quota".into())
        .ok()?
        .as_f64()
        .unwrap_or(0.0);
    let persisted = match storage.persisted() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    };
    Some(StorageOut {
        usage,
        quota,
        persisted,
    })
}

/// The crate version, for the demo page and diagnostics.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

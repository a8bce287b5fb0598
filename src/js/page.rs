//! `AvatarCache`: the cache of a page, the package's main export.

use crate::collections::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Blob;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::Error;
use crate::hierarchy::{CacheEvent, Hierarchy, Layers};
use crate::layers::body::Body;
use crate::layers::idb::records::{clear_worker_records, forget_worker_record};
use crate::layers::idb::IdbImageStore;
use crate::layers::local::LocalRecordStore;
use crate::layers::locks::WebLocks;
use crate::layers::network::FetchBackend;
use crate::layers::object_url::BrowserObjectUrls;
use crate::layers::resilient::ResilientBackend;
use crate::layers::runtime::BrowserRuntime;
use crate::layers::thumbnail::BrowserThumbnails;
use crate::layers::{Backend, ImageStore, Locks, RecordStore};
use crate::sync::{CrossTab, Role};
use crate::vocabulary::Layer;

use super::convert::{
    checked_upload, event_to_js, js_error, picture_to_js, read_config, report_to_js, stats_to_js,
    StorageOut,
};
use super::devtools::{diagnose, storage_estimate};
use super::timeline::Timeline;
use super::{network, open_images, promise, AvatarCacheConfig};

/// The cached JS object `peek` last returned for a user, kept so an unchanged picture is the
/// same object (React's `useSyncExternalStore` compares snapshots by identity).
struct PeekSnapshot {
    url: String,
    stale: bool,
    thumbhash: Option<String>,
    value: JsValue,
}

pub(super) struct Shared {
    pub(super) hierarchy: Hierarchy<Body>,
    pub(super) backend: Rc<ResilientBackend<FetchBackend, Body>>,
    pub(super) config: Rc<Config>,
    peeks: RefCell<HashMap<String, PeekSnapshot>>,
    pub(super) storage: RefCell<Option<StorageOut>>,
    pub(super) cross_tab: RefCell<Option<CrossTab>>,
    /// IndexedDB was wanted but did not open: `clear()` tries again, so that a logout still
    /// removes the images an earlier session stored.
    pub(super) idb_missed: bool,
    /// This cache's entry in `__AVATAR_CACHE__.caches`, while registered.
    pub(super) devtools_entry: RefCell<Option<JsValue>>,
    /// Renders a ThumbHash into its preview's `data:` URL: what a `Picture`'s `placeholder`
    /// calls the first time it is read.
    render_preview: Closure<dyn Fn(String) -> JsValue>,
}

/// The avatar cache: memory → localStorage → IndexedDB → network behind one `get`.
///
/// ```js
/// const cache = await AvatarCache.open({ apiBase: "/images" });
/// img.src = (cache.peek(id) ?? (await cache.get(id))).url;
/// ```
#[wasm_bindgen]
pub struct AvatarCache {
    pub(super) shared: Rc<Shared>,
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
        promise(async move {
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
        let images = open_images(&config, clock.clone(), &mut open_errors)
            .await
            .map(|i| i as Rc<dyn ImageStore<Body>>);
        let idb_open = images.is_some();
        let backend = network(&config, fetch, runtime.clone(), clock.clone());
        let layers = Layers {
            local,
            images,
            backend: backend.clone() as Rc<dyn Backend<Body>>,
            urls: Rc::new(BrowserObjectUrls::new(config.data_url_max_bytes)),
            locks: WebLocks::new().map(|l| Rc::new(l) as Rc<dyn Locks>),
            runtime,
            clock,
        };
        let hierarchy = Hierarchy::new(config.clone(), layers);
        hierarchy.set_thumbnails(Some(Rc::new(BrowserThumbnails)));
        let debug = config.debug;
        let timeline = Timeline::new();
        hierarchy.set_event_hook(Some(Rc::new(move |event: &CacheEvent| {
            match (event, &timeline) {
                (
                    CacheEvent::Load {
                        user_id,
                        source,
                        ms,
                        stale,
                        ..
                    },
                    Some(timeline),
                ) => timeline.measure_get(user_id, source.as_str(), *ms, *stale),
                (CacheEvent::Preview { user_id, ms, .. }, Some(timeline)) => {
                    timeline.measure_preview(user_id, *ms)
                }
                _ => {}
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
            peeks: RefCell::new(HashMap::default()),
            storage: RefCell::new(None),
            cross_tab: RefCell::new(None),
            devtools_entry: RefCell::new(None),
            idb_missed: config.idb.enabled && !idb_open,
            render_preview: {
                let hierarchy = hierarchy.clone();
                Closure::new(move |hash: String| {
                    hierarchy
                        .render_preview(&hash)
                        .map_or(JsValue::UNDEFINED, |url| JsValue::from_str(&url))
                })
            },
        });
        for (layer, e) in open_errors {
            hierarchy.note_error(layer, &e);
        }
        if config.cross_tab {
            *shared.cross_tab.borrow_mut() =
                CrossTab::start(&config, hierarchy.clone(), Role::Page, None);
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
            if snap.url == picture.url
                && snap.stale == picture.stale
                && snap.thumbhash == picture.thumbhash
            {
                return snap.value.clone();
            }
        }
        if peeks.len() > 4 * self.shared.config.memory.max_entries {
            peeks.clear();
        }
        let value = picture_to_js(&picture, self.shared.render_preview.as_ref());
        peeks.insert(
            user_id.to_string(),
            PeekSnapshot {
                thumbhash: picture.thumbhash,
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
        // A picture in memory (the usual case once a page has run a while) answers without
        // the future machinery: an already resolved promise.
        match self
            .shared
            .hierarchy
            .get_at_once(&user_id, image_id.as_deref())
        {
            Ok(Some(picture)) => {
                return Promise::resolve(&picture_to_js(
                    &picture,
                    self.shared.render_preview.as_ref(),
                ))
            }
            Err(e) => return Promise::reject(&js_error(&e)),
            Ok(None) => {}
        }
        let shared = self.shared.clone();
        promise(async move {
            let picture = shared
                .hierarchy
                .get(&user_id, image_id.as_deref())
                .await
                .map_err(|e| js_error(&e))?;
            Ok(picture_to_js(&picture, shared.render_preview.as_ref()))
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
        promise(async move {
            let ids = crate::js_object::string_array(&user_ids).ok_or_else(|| {
                js_error(&Error::InvalidArgument {
                    name: "userIds",
                    reason: "must be an array of strings".into(),
                })
            })?;
            let report = hierarchy.prefetch(&ids).await.map_err(|e| js_error(&e))?;
            Ok(report_to_js(&report))
        })
    }

    /// Replaces the picture of `userId` after an upload (`imageId` null: no picture). Pass the
    /// uploaded `image` so no tab downloads it again. Every layer is updated before the promise
    /// resolves; subscribers and other tabs are then told. Rejects only for bad arguments (an
    /// empty id, an `imageId` left out or not a string, an image that is not an allowed
    /// picture type or too large).
    #[wasm_bindgen(js_name = setPicture, unchecked_return_type = "Promise<void>")]
    pub fn set_picture(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = imageId, unchecked_param_type = "string | null")]
        image_id: JsValue,
        image: Option<Blob>,
    ) -> Promise {
        let hierarchy = self.shared.hierarchy.clone();
        let config = self.shared.config.clone();
        promise(async move {
            // `null` removes the picture; a missing `imageId` (a misspelt field of an upload's
            // answer) must not.
            let image_id = match image_id.as_string() {
                Some(id) => Some(id),
                None if image_id.is_null() => None,
                None => {
                    return Err(js_error(&Error::InvalidArgument {
                        name: "imageId",
                        reason: "must be a string, or null for no picture".into(),
                    }))
                }
            };
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

    /// Forgets `userId` in every layer of every tab and of the service worker, running or not;
    /// the next get asks the backend (and reuses stored bytes if the image did not change).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn invalidate(&self, #[wasm_bindgen(js_name = userId)] user_id: String) -> Promise {
        let result = self.shared.hierarchy.invalidate(&user_id);
        let hierarchy = self.shared.hierarchy.clone();
        let config = self.shared.config.clone();
        promise(async move {
            result.map_err(|e| js_error(&e))?;
            // The service worker's own copy, for a worker that is stopped now (a running one
            // heard the change).
            if let Err(e) = forget_worker_record(&config, &user_id).await {
                hierarchy.note_error(Layer::IndexedDb, &e);
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Empties every layer in every tab: memory, the cache's own localStorage keys, its
    /// IndexedDB database (opened once more for it if it failed to open at start, so a logout
    /// still removes what an earlier session stored) and the records of its service worker,
    /// running or not. For logout. Never rejects.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn clear(&self) -> Promise {
        let hierarchy = self.shared.hierarchy.clone();
        let retry_idb = self.shared.idb_missed.then(|| self.shared.config.clone());
        self.shared.peeks.borrow_mut().clear();
        let config = self.shared.config.clone();
        promise(async move {
            hierarchy.clear().await;
            if let Err(e) = clear_worker_records(&config).await {
                hierarchy.note_error(Layer::IndexedDb, &e);
            }
            if let Some(config) = retry_idb {
                let reopened = IdbImageStore::open(&config, Rc::new(SystemClock)).await;
                match reopened {
                    Ok(store) => {
                        if let Err(e) = store.clear().await {
                            hierarchy.note_error(Layer::IndexedDb, &e);
                        }
                    }
                    Err(e) => hierarchy.note_error(Layer::IndexedDb, &e),
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A `data:` URL of a tiny blurred preview of `userId`'s picture (ThumbHash, about 1.2 KB),
    /// synchronous: from the record in memory, else from the records localStorage held (a record
    /// without a hash takes the one its image's IndexedDB row holds), so right after a reload
    /// every user seen before has one. `undefined` when no preview is known.
    /// Never touches IndexedDB or the network; never throws.
    #[wasm_bindgen(unchecked_return_type = "string | undefined")]
    pub fn placeholder(&self, #[wasm_bindgen(js_name = userId)] user_id: &str) -> JsValue {
        self.shared
            .hierarchy
            .placeholder(user_id)
            .map_or(JsValue::UNDEFINED, JsValue::from)
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
        stats_to_js(&self.shared)
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
        self.hide_globally();
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
}

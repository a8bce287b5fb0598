//! Lookup, promotion, write-through, stale-while-revalidate and de-duplication.
//!
//! [`Hierarchy`] is the cache's brain and knows no browser type: it talks to its layers through
//! the traits of [`crate::layers`], so the same code runs in the browser (localStorage,
//! IndexedDB, `fetch`) and natively over in-memory layers under a manual clock.
//!
//! A `get` walks memory → localStorage → IndexedDB → network. A hit below memory is promoted
//! upward; a network result is written to every layer, the IndexedDB write in the background.
//! Storage and network failures never reach the caller: they are counted in [`Stats`] and the
//! answer falls back to a stale picture, then to the default picture.
//!
//! This file holds the types and the public operations; the steps live beside it: `lookup`
//! (memory, localStorage, IndexedDB), `network` (the backend and downloads), `batching` (user
//! requests coalesced into batch calls), `background` (revalidation, URL refresh, batched
//! touches), `writes`, `answers` (results, stats, events, subscribers) and `slots` (bounded
//! network concurrency).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::join_all;
use futures::future::{FutureExt, LocalBoxFuture, Shared};

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::{validate_id, Keys};
use crate::layers::memory::{MemoryImage, MemoryLayer};
use crate::layers::{
    Backend, Download, ImageStore, Locks, ObjectUrls, RecordStore, RemotePicture, Runtime,
    StoreUsage,
};
use crate::policy::presign;
use crate::policy::ttl::is_fresh;
use crate::record::{ImageMeta, PictureRecord, StoredImage};
use crate::stats::Stats;
pub use crate::vocabulary::{CacheEvent, Change, Layer, Picture, PrefetchReport, Source};

mod answers;
mod background;
mod batching;
mod lookup;
mod network;
mod slots;
#[cfg(test)]
mod tests;
mod writes;

use slots::Slots;

/// How long hits are collected before their last-access times are written to IndexedDB in one
/// transaction.
pub const TOUCH_FLUSH_MS: Millis = 2_000.0;

/// How long user requests wait for company before going out as one batch call (only with a
/// batch endpoint). A `setTimeout(0)`: the components of one render pass share a call.
pub const BATCH_WINDOW_MS: Millis = 0.0;

/// The longest a batch waits for loads still acquiring their cross-tab lock.
pub const BATCH_MAX_WAIT_MS: Millis = 50.0;

/// The layers a [`Hierarchy`] is built from. `local` and `images` are optional: a cache works
/// without them (private mode, IndexedDB blocked).
pub struct Layers<I> {
    /// localStorage: user → record.
    pub local: Option<Rc<dyn RecordStore>>,
    /// IndexedDB: image → bytes.
    pub images: Option<Rc<dyn ImageStore<I>>>,
    /// The backend and object storage (with retry and breaker around it).
    pub backend: Rc<dyn Backend<I>>,
    /// Object URL factory.
    pub urls: Rc<dyn ObjectUrls<I>>,
    /// Locks shared by every tab of the origin (Web Locks), so tabs do not fetch the same
    /// picture twice. `None`: each tab fetches on its own, which stays correct.
    pub locks: Option<Rc<dyn Locks>>,
    /// Background tasks and timers.
    pub runtime: Rc<dyn Runtime>,
    /// Time.
    pub clock: Rc<dyn Clock>,
}

type SharedLoad = Shared<LocalBoxFuture<'static, Picture>>;
/// A subscriber: told the user whose picture changed, or `None` when everything was cleared.
type Listener = Rc<dyn Fn(Option<&str>)>;

/// Told of loads, evictions, errors, refreshes and (with `debug`) decisions.
pub type EventHook = Rc<dyn Fn(&CacheEvent)>;

/// Told of changes made in this tab, to forward them to other tabs.
pub type ChangeHook = Rc<dyn Fn(&Change)>;

struct Inner<I> {
    config: Rc<Config>,
    layers: Layers<I>,
    memory: RefCell<MemoryLayer<I>>,
    keys: Keys,
    in_flight: RefCell<HashMap<String, SharedLoad>>,
    writes: RefCell<HashMap<String, Shared<LocalBoxFuture<'static, ()>>>>,
    queue: RefCell<Vec<(String, oneshot::Sender<Result<RemotePicture>>)>>,
    heading: Cell<usize>,
    slots: Rc<Slots>,
    refreshing: RefCell<HashSet<String>>,
    stats: RefCell<Stats>,
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_listener: Cell<u64>,
    touches: RefCell<HashMap<String, Millis>>,
    touch_flush_scheduled: Cell<bool>,
    idb_usage: Cell<Option<StoreUsage>>,
    on_event: RefCell<Option<EventHook>>,
    on_change: RefCell<Option<ChangeHook>>,
    closed: Cell<bool>,
}

/// An image found in a layer, ready to hand out.
struct FoundImage {
    url: String,
    source: Source,
    stale: bool,
    etag: Option<String>,
}

/// The cache hierarchy over its layers. Cloning gives another handle to the same cache.
pub struct Hierarchy<I> {
    inner: Rc<Inner<I>>,
}

impl<I> Clone for Hierarchy<I> {
    fn clone(&self) -> Self {
        Hierarchy {
            inner: self.inner.clone(),
        }
    }
}

fn key_of(user_id: &str, hint: Option<&str>) -> String {
    match hint {
        None => user_id.to_string(),
        Some(h) => format!("{}\u{0}{h}", user_id),
    }
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// A hierarchy over `layers` with a validated `config`.
    pub fn new(config: Rc<Config>, layers: Layers<I>) -> Self {
        let memory = MemoryLayer::new(&config);
        let hierarchy = Hierarchy {
            inner: Rc::new(Inner {
                keys: Keys::new(&config.namespace, config.version),
                slots: Slots::new(config.batch.concurrency),
                config,
                layers,
                memory: RefCell::new(memory),
                in_flight: RefCell::new(HashMap::new()),
                writes: RefCell::new(HashMap::new()),
                queue: RefCell::new(Vec::new()),
                heading: Cell::new(0),
                refreshing: RefCell::new(HashSet::new()),
                stats: RefCell::new(Stats::default()),
                listeners: RefCell::new(Vec::new()),
                next_listener: Cell::new(1),
                touches: RefCell::new(HashMap::new()),
                touch_flush_scheduled: Cell::new(false),
                idb_usage: Cell::new(None),
                on_event: RefCell::new(None),
                on_change: RefCell::new(None),
                closed: Cell::new(false),
            }),
        };
        hierarchy.refresh_usage();
        hierarchy
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn now(&self) -> Millis {
        self.inner.layers.clock.now_ms()
    }

    fn tick(&self) -> Millis {
        self.inner.layers.clock.monotonic_ms()
    }

    // ----- public operations ------------------------------------------------------------------

    /// The picture of `user_id` if memory holds a fresh one: synchronous, for a component's
    /// first frame. Never touches storage or the network; never counts as a get.
    pub fn peek(&self, user_id: &str) -> Option<Picture> {
        let now = self.now();
        let mut memory = self.inner.memory.borrow_mut();
        let entry = memory.record(user_id, now)?.clone();
        let url = self.memory_url(&mut memory, &entry.record, now)?;
        drop(memory);
        if entry.record.opaque {
            // The app shows this URL itself: keep it signed even if nobody calls get.
            self.maybe_refresh_url(&entry.record, now);
        }
        Some(Picture {
            user_id: user_id.to_string(),
            image_id: entry.record.image_id.clone(),
            url,
            source: Source::MEMORY,
            stale: now >= entry.fresh_until,
            load_ms: 0.0,
        })
    }

    /// The picture of `user_id`, from the highest layer that has it. `image_hint` is the image
    /// id the app already knows, if any: a stored record naming another image is outdated.
    ///
    /// Never fails for storage or network trouble (the answer falls back to a stale picture,
    /// then to the default picture); fails only for an empty id.
    pub async fn get(&self, user_id: &str, image_hint: Option<&str>) -> Result<Picture> {
        validate_id("userId", user_id)?;
        if let Some(hint) = image_hint {
            validate_id("imageId", hint)?;
        }
        let start = self.tick();
        if self.inner.closed.get() {
            return Ok(self.default_picture(user_id, start));
        }
        if let Some(picture) = self.memory_answer(user_id, image_hint, start) {
            return Ok(picture);
        }
        Ok(self.shared_load(user_id, image_hint, start).await)
    }

    /// Loads many users at once: what is stored is read in one IndexedDB transaction, unknown
    /// users are resolved through the batch endpoint when configured, and missing images are
    /// downloaded with bounded concurrency. Never fails for storage or network trouble.
    pub async fn prefetch(&self, user_ids: &[String]) -> Result<PrefetchReport> {
        for id in user_ids {
            validate_id("userIds", id)?;
        }
        let mut seen = HashSet::new();
        let users: Vec<String> = user_ids
            .iter()
            .filter(|u| seen.insert(u.as_str()))
            .cloned()
            .collect();
        let before = self.counters();
        let mut report = PrefetchReport {
            requested: users.len(),
            ..Default::default()
        };
        if self.inner.closed.get() {
            report.defaulted = users.len();
            return Ok(report);
        }
        let start = self.tick();
        let mut pending = Vec::new();
        let now = self.now();
        for user in users {
            match self.ready_in_memory(&user, now) {
                Some(record) => {
                    let consulted = [Layer::Memory];
                    self.count_answer(&record.user_id, Source::MEMORY, false, start, &consulted, 0);
                    self.maybe_refresh_url(&record, now);
                    report.memory += 1;
                }
                None => pending.push(user),
            }
        }
        let from_idb = self.preload_stored(&pending).await;
        // What the preload made ready is done: counted as IndexedDB answers, with no object URL
        // made until a component asks for the picture.
        let now = self.now();
        let consulted = [Layer::Memory, Layer::Local, Layer::IndexedDb];
        let mut rest = Vec::with_capacity(pending.len());
        for user in pending {
            match self
                .ready_in_memory(&user, now)
                .filter(|_| from_idb.contains(&user))
            {
                Some(record) => {
                    self.count_answer(
                        &record.user_id,
                        Source::INDEXED_DB,
                        false,
                        start,
                        &consulted,
                        0,
                    );
                    report.indexeddb += 1;
                }
                None => rest.push(user),
            }
        }
        // Every other get at once: the users the backend must describe go out together (one
        // batch call per `batch.maxIds` with a batch endpoint), and downloads queue for the
        // network slots (`batch.concurrency`). A component asking for the same user meanwhile
        // joins the same load.
        let gets = rest.iter().map(|user| self.get(user, None));
        let answers: Vec<Picture> = join_all(gets).await.into_iter().flatten().collect();
        for picture in answers {
            match picture.source {
                Source::MEMORY | Source::LOCAL if from_idb.contains(&picture.user_id) => {
                    report.indexeddb += 1
                }
                Source::MEMORY => report.memory += 1,
                Source::LOCAL => report.local += 1,
                Source::INDEXED_DB => report.indexeddb += 1,
                Source::NETWORK => report.network += 1,
                Source::Default => report.defaulted += 1,
            }
        }
        let after = self.counters();
        report.api_calls = after.0 - before.0;
        report.downloads = after.1 - before.1;
        Ok(report)
    }

    /// Replaces the picture of `user_id` after an upload: `image_id` is the new image (or `None`
    /// for no picture) and `image`, when given, its bytes with their MIME type and size, so no
    /// tab downloads what this tab just uploaded. Every layer is updated before this resolves,
    /// then subscribers and other tabs are told. Never fails for storage or network trouble.
    pub async fn set_picture(
        &self,
        user_id: &str,
        image_id: Option<&str>,
        image: Option<(I, String, u64)>,
    ) -> Result<()> {
        validate_id("userId", user_id)?;
        if let Some(id) = image_id {
            validate_id("imageId", id)?;
        }
        if let Some((_, mime, bytes)) = &image {
            if !self.inner.config.allows_type(mime) {
                return Err(Error::InvalidArgument {
                    name: "image",
                    reason: format!("type `{mime}` is not in allowedTypes"),
                });
            }
            if *bytes == 0 || *bytes > self.inner.config.max_image_bytes {
                return Err(Error::InvalidArgument {
                    name: "image",
                    reason: format!("size {bytes} is outside 1..=maxImageBytes"),
                });
            }
        }
        let now = self.now();
        let record = match image_id {
            None => Some(self.record_from_remote(
                user_id,
                RemotePicture {
                    user_id: None,
                    image_id: None,
                    url: self.inner.config.default_image_url.clone(),
                },
                now,
            )),
            Some(id) => {
                let uploaded = image.is_some();
                if let Some((body, mime, bytes)) = image {
                    self.store_image(id, body, mime, bytes, None, now, true)
                        .await;
                }
                self.note_api_call();
                match self.inner.layers.backend.fetch_image_info(id).await {
                    Ok(remote) => Some(self.record_from_remote(
                        user_id,
                        RemotePicture {
                            image_id: Some(id.to_string()),
                            ..remote
                        },
                        now,
                    )),
                    Err(e) => {
                        self.record_error(Layer::Network, &e);
                        // Offline right after an upload: the bytes are here, so show them. The
                        // record carries no usable URL (expired at once) and is stale from the
                        // start, so the next get revalidates it with the backend.
                        uploaded.then(|| PictureRecord {
                            user_id: user_id.to_string(),
                            image_id: Some(id.to_string()),
                            remote_url: self.inner.config.image_url(id),
                            url_expires_at: now,
                            fetched_at: now - self.inner.config.local.ttl_ms,
                            etag: None,
                            version: self.inner.config.version,
                            opaque: false,
                        })
                    }
                }
            }
        };
        let change = match record {
            Some(record) => {
                self.store_record(record.clone());
                Change::Updated(record)
            }
            None => {
                self.forget_record(user_id);
                Change::User(user_id.to_string())
            }
        };
        self.changed(change, true);
        Ok(())
    }

    /// Forgets the record of `user_id` in every layer (its image bytes stay: if the user still
    /// has that image, the next get downloads nothing). Tells subscribers and other tabs.
    pub fn invalidate(&self, user_id: &str) -> Result<()> {
        validate_id("userId", user_id)?;
        self.forget_record(user_id);
        self.changed(Change::User(user_id.to_string()), true);
        Ok(())
    }

    /// Empties every layer (memory, the cache's own localStorage keys, its IndexedDB store) and
    /// tells subscribers and other tabs. For logout.
    pub async fn clear(&self) {
        self.forget_all_in_memory();
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.clear() {
                self.record_error(Layer::Local, &e);
            }
        }
        if let Some(images) = self.inner.layers.images.clone() {
            // A background write still under way would land after the clear.
            self.settle_writes().await;
            if let Err(e) = images.clear().await {
                self.record_error(Layer::IndexedDb, &e);
            }
            self.inner.idb_usage.set(Some(StoreUsage::default()));
        }
        self.changed(Change::All, true);
    }

    /// Applies a change announced by another tab: drops what memory holds so the next get reads
    /// the shared layers again, and tells this tab's subscribers. Sends nothing back.
    pub fn apply_remote_change(&self, change: &Change) {
        match change {
            Change::User(user) => {
                self.inner.memory.borrow_mut().remove_record(user);
            }
            // The record itself travels with the message: localStorage writes reach other
            // tabs with a delay (Chromium), so reading it back there could find the old one.
            Change::Updated(record) => {
                let now = self.now();
                let mut memory = self.inner.memory.borrow_mut();
                if record.version == self.inner.config.version
                    && record.check(Layer::Local, now).is_ok()
                {
                    memory.put_record(record.clone(), now);
                } else {
                    memory.remove_record(&record.user_id);
                }
            }
            Change::All => {
                self.forget_all_in_memory();
                // The other tab cleared the store; what this tab was still writing would land
                // after that clear: remove it once written.
                if !self.inner.writes.borrow().is_empty() {
                    let this = self.clone();
                    self.inner.layers.runtime.spawn(
                        async move {
                            let ids = this.settle_writes().await;
                            if let Some(images) = this.available_images() {
                                for id in ids {
                                    if let Err(e) = images.remove(&id).await {
                                        this.record_error(Layer::IndexedDb, &e);
                                    }
                                }
                            }
                            this.refresh_usage();
                        }
                        .boxed_local(),
                    );
                }
            }
        }
        self.refresh_usage();
        self.changed(change.clone(), false);
    }

    /// Registers `listener`, called with `Some(user)` whenever that user's picture changes and
    /// with `None` when the cache is cleared. Returns the id to unsubscribe with.
    pub fn subscribe(&self, listener: Listener) -> u64 {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id + 1);
        self.inner.listeners.borrow_mut().push((id, listener));
        id
    }

    /// Removes a listener; unknown ids are ignored.
    pub fn unsubscribe(&self, id: u64) {
        self.inner.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// Sets the hook told of loads, evictions, errors and refreshes (`onEvent`, debug logging).
    pub fn set_event_hook(&self, hook: Option<EventHook>) {
        *self.inner.on_event.borrow_mut() = hook;
    }

    /// Sets the hook told of changes made in this tab, to forward them to other tabs.
    pub fn set_change_hook(&self, hook: Option<ChangeHook>) {
        *self.inner.on_change.borrow_mut() = hook;
    }

    /// Stops the cache: revokes every object URL; later gets answer the default picture.
    pub fn close(&self) {
        self.inner.closed.set(true);
        self.forget_all_in_memory();
        self.inner.listeners.borrow_mut().clear();
    }

    /// Whether [`Hierarchy::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// Counts a failure that happened outside a get (for example a store that did not open).
    pub fn note_error(&self, layer: Layer, error: &Error) {
        self.record_error(layer, error);
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.stats.borrow().clone()
    }

    /// Requests in flight (shared loads).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.borrow().len()
    }

    /// Live object URLs and the bytes they pin.
    pub fn object_urls(&self) -> (usize, u64) {
        let memory = self.inner.memory.borrow();
        (memory.url_count(), memory.image_bytes())
    }

    /// What IndexedDB held when last measured (`None` without IndexedDB).
    pub fn idb_usage(&self) -> Option<StoreUsage> {
        self.inner
            .layers
            .images
            .as_ref()
            .filter(|i| i.is_available())?;
        self.inner.idb_usage.get()
    }

    /// Bytes the cache's localStorage keys use (0 without localStorage).
    pub fn local_bytes(&self) -> u64 {
        self.inner
            .layers
            .local
            .as_ref()
            .map_or(0, |l| l.bytes_used())
    }

    /// The records memory holds, with the layers holding each user's picture, for diagnostics:
    /// `(record, fresh_until, image in memory)`.
    pub fn memory_entries(&self) -> Vec<(PictureRecord, Millis, bool)> {
        let memory = self.inner.memory.borrow();
        memory
            .records()
            .map(|m| {
                let has_image = m
                    .record
                    .image_id
                    .as_deref()
                    .is_some_and(|id| memory.image_untouched(id).is_some());
                (m.record.clone(), m.fresh_until, has_image)
            })
            .collect()
    }

    /// The records localStorage holds, for diagnostics.
    pub fn local_records(&self) -> Vec<PictureRecord> {
        self.inner
            .layers
            .local
            .as_ref()
            .map_or_else(Vec::new, |l| l.records())
    }

    /// Writes the batched last-access times to IndexedDB now (normally done a moment after the
    /// hits, in one transaction).
    pub async fn flush_touches(&self) {
        let accesses: Vec<(String, Millis)> = self.inner.touches.borrow_mut().drain().collect();
        self.inner.touch_flush_scheduled.set(false);
        if accesses.is_empty() {
            return;
        }
        if let Some(images) = self.inner.layers.images.clone() {
            if let Err(e) = images.touch(&accesses).await {
                self.record_error(Layer::IndexedDb, &e);
            }
        }
    }
}

/// Why the stored layers could not answer, and what the network load needs from them.
struct StoredMiss {
    consulted: Vec<Layer>,
    fallback: Option<(PictureRecord, String, Source)>,
    /// A fresh record whose bytes are missing: download them, no API call.
    known: Option<PictureRecord>,
}

/// The outcome of a download, once the bytes are live.
enum Fetched {
    Image {
        url: String,
        bytes: u64,
        etag: Option<String>,
    },
    Opaque,
}

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

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::join_all;
use futures::future::{FutureExt, LocalBoxFuture, Shared};

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::{validate_id, KeyLayer, Keys};
use crate::layers::memory::{MemoryImage, MemoryLayer};
use crate::layers::{
    Backend, Download, ImageStore, Locks, ObjectUrls, RecordStore, RemotePicture, Runtime,
    StoreUsage,
};
use crate::policy::presign;
use crate::policy::ttl::is_fresh;
use crate::record::{ImageMeta, PictureRecord, StoredImage};
use crate::stats::{StatLayer, Stats};

/// How long hits are collected before their last-access times are written to IndexedDB in one
/// transaction.
pub const TOUCH_FLUSH_MS: Millis = 2_000.0;

/// How long user requests wait for company before going out as one batch call (only with a
/// batch endpoint). A `setTimeout(0)`: the components of one render pass share a call.
pub const BATCH_WINDOW_MS: Millis = 0.0;

/// The longest a batch waits for loads still acquiring their cross-tab lock.
pub const BATCH_MAX_WAIT_MS: Millis = 50.0;

/// Which layer answered a `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The in-memory map.
    Memory,
    /// localStorage (the record), with the image already in memory.
    Local,
    /// IndexedDB (the image bytes).
    IndexedDb,
    /// The backend or object storage.
    Network,
    /// Nothing better was available: the default picture.
    Default,
}

impl Source {
    /// The name used in the JS API (`"memory"`, `"local"`, `"indexeddb"`, `"network"`, `"default"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Memory => "memory",
            Source::Local => "local",
            Source::IndexedDb => "indexeddb",
            Source::Network => "network",
            Source::Default => "default",
        }
    }
}

/// A picture as `get` answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// The user.
    pub user_id: String,
    /// The image, or `None` for the default picture.
    pub image_id: Option<String>,
    /// An object URL owned by the cache, or the remote or default URL.
    pub url: String,
    /// Which layer answered.
    pub source: Source,
    /// Whether the answer is past its freshness (a revalidation is under way).
    pub stale: bool,
    /// How long the answer took, in milliseconds.
    pub load_ms: f64,
}

/// What `prefetch` did, user by user, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Distinct users asked for.
    pub requested: usize,
    /// Answered from memory.
    pub memory: usize,
    /// Answered from localStorage (image already in memory).
    pub local: usize,
    /// Answered from IndexedDB.
    pub indexeddb: usize,
    /// Needed the network.
    pub network: usize,
    /// Ended with the default picture (unknown user, or network trouble and nothing stored).
    pub defaulted: usize,
    /// Backend API calls made during the prefetch.
    pub api_calls: u64,
    /// Image downloads made during the prefetch.
    pub downloads: u64,
}

/// What changed, for subscribers in this tab and messages to other tabs.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// One user's picture was forgotten (invalidated, or could not be confirmed).
    User(String),
    /// One user's picture was replaced by this record (after an upload).
    Updated(PictureRecord),
    /// Everything was cleared.
    All,
}

/// Something worth reporting to analytics (`onEvent`) or the debug log.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent {
    /// A `get` was answered.
    Load {
        /// The user.
        user_id: String,
        /// The layer that answered.
        source: Source,
        /// How long it took.
        ms: f64,
        /// Image bytes downloaded for it (0 unless from the network).
        bytes: u64,
        /// Whether the answer was stale.
        stale: bool,
    },
    /// An entry was evicted from a layer.
    Evict {
        /// The layer.
        layer: StatLayer,
        /// The user or image id.
        id: String,
    },
    /// A layer failed; the answer fell back.
    Error {
        /// The layer.
        layer: StatLayer,
        /// The error code and message.
        reason: String,
    },
    /// A background revalidation or URL refresh finished.
    Refresh {
        /// The user.
        user_id: String,
        /// Whether the picture changed.
        changed: bool,
    },
    /// A decision, for `debug: true` logging only.
    Decision(String),
}

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
type Listener = Rc<dyn Fn(&str)>;

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
            source: Source::Memory,
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
                    let consulted = [StatLayer::Memory];
                    self.answer(
                        &record,
                        String::new(),
                        Source::Memory,
                        false,
                        start,
                        &consulted,
                        0,
                    );
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
        let consulted = [StatLayer::Memory, StatLayer::Local, StatLayer::IndexedDb];
        let mut rest = Vec::with_capacity(pending.len());
        for user in pending {
            match self
                .ready_in_memory(&user, now)
                .filter(|_| from_idb.contains(&user))
            {
                Some(record) => {
                    self.answer(
                        &record,
                        String::new(),
                        Source::IndexedDb,
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
                Source::Memory | Source::Local if from_idb.contains(&picture.user_id) => {
                    report.indexeddb += 1
                }
                Source::Memory => report.memory += 1,
                Source::Local => report.local += 1,
                Source::IndexedDb => report.indexeddb += 1,
                Source::Network => report.network += 1,
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
                        self.record_error(StatLayer::Network, &e);
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
                self.record_error(StatLayer::Local, &e);
            }
        }
        if let Some(images) = self.inner.layers.images.clone() {
            // A background write still under way would land after the clear.
            self.settle_writes().await;
            if let Err(e) = images.clear().await {
                self.record_error(StatLayer::IndexedDb, &e);
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
                if record.version == self.inner.config.version && record.check("sync", now).is_ok()
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
                                        this.record_error(StatLayer::IndexedDb, &e);
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

    /// Registers `listener`, called with a user id whenever that user's picture changes (and
    /// with every user held when the cache is cleared). Returns the id to unsubscribe with.
    pub fn subscribe(&self, listener: Rc<dyn Fn(&str)>) -> u64 {
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
    pub fn note_error(&self, layer: StatLayer, error: &Error) {
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
                self.record_error(StatLayer::IndexedDb, &e);
            }
        }
    }

    // ----- lookup -----------------------------------------------------------------------------

    /// The URL memory can hand out for `record`, if it holds one.
    fn memory_url(
        &self,
        memory: &mut MemoryLayer<I>,
        record: &PictureRecord,
        now: Millis,
    ) -> Option<String> {
        match &record.image_id {
            None => Some(self.inner.config.default_image_url.clone()),
            Some(_) if record.opaque => (!presign::is_expired(record.url_expires_at, now))
                .then(|| record.remote_url.clone()),
            Some(id) => {
                let urls = &self.inner.layers.urls;
                memory.image_url(id, now, |body| urls.create(body))
            }
        }
    }

    /// The object URL of an image memory holds (made now if it was never asked for), with the
    /// image's download time and ETag.
    fn live_image(&self, image_id: &str, now: Millis) -> Option<(String, Millis, Option<String>)> {
        let urls = &self.inner.layers.urls;
        let mut memory = self.inner.memory.borrow_mut();
        let url = memory.image_url(image_id, now, |body| urls.create(body))?;
        let image = memory.image_untouched(image_id)?;
        Some((url, image.stored_at, image.etag.clone()))
    }

    /// The record of `user_id` if memory holds it fresh with its picture (bytes, or a usable
    /// URL): what a get would answer from memory, without making an object URL.
    fn ready_in_memory(&self, user_id: &str, now: Millis) -> Option<PictureRecord> {
        let mut memory = self.inner.memory.borrow_mut();
        let entry = memory
            .record(user_id, now)
            .filter(|e| now < e.fresh_until)?;
        let record = entry.record.clone();
        let ready = match &record.image_id {
            None => true,
            Some(_) if record.opaque => !presign::is_expired(record.url_expires_at, now),
            Some(id) => memory.image(id, now).is_some(),
        };
        ready.then_some(record)
    }

    /// A fresh answer from memory alone, counted as a memory hit.
    fn memory_answer(&self, user_id: &str, hint: Option<&str>, start: Millis) -> Option<Picture> {
        let now = self.now();
        let (record, url) = {
            let mut memory = self.inner.memory.borrow_mut();
            let entry = memory.record(user_id, now)?.clone();
            if now >= entry.fresh_until
                || hint.is_some_and(|h| entry.record.image_id.as_deref() != Some(h))
            {
                return None;
            }
            let url = self.memory_url(&mut memory, &entry.record, now)?;
            (entry.record, url)
        };
        self.maybe_refresh_url(&record, now);
        Some(self.answer(
            &record,
            url,
            Source::Memory,
            false,
            start,
            &[StatLayer::Memory],
            0,
        ))
    }

    /// One load per user (and hint) at a time: concurrent gets share it.
    async fn shared_load(&self, user_id: &str, hint: Option<&str>, start: Millis) -> Picture {
        let key = key_of(user_id, hint);
        let existing = self.inner.in_flight.borrow().get(&key).cloned();
        if let Some(shared) = existing {
            return shared.await;
        }
        let this = self.clone();
        let (user, hint_owned, key_owned) =
            (user_id.to_string(), hint.map(str::to_string), key.clone());
        let load: LocalBoxFuture<'static, Picture> = async move {
            let picture = this.load(&user, hint_owned.as_deref(), start).await;
            this.inner.in_flight.borrow_mut().remove(&key_owned);
            picture
        }
        .boxed_local();
        let shared = load.shared();
        self.inner
            .in_flight
            .borrow_mut()
            .insert(key, shared.clone());
        shared.await
    }

    /// The walk below memory: a stored record and stored bytes if possible, else the network.
    async fn load(&self, user_id: &str, hint: Option<&str>, start: Millis) -> Picture {
        let miss = match self.load_stored(user_id, hint, start).await {
            Ok(picture) => return picture,
            Err(miss) => miss,
        };
        match self.inner.layers.locks.clone() {
            None => self.load_from_network(user_id, hint, start, miss).await,
            Some(locks) => self.load_under_lock(locks, user_id, hint, start).await,
        }
    }

    /// The network load of `user_id` while holding a lock shared by every tab: a tab that
    /// waited for it finds what the holder fetched in localStorage and IndexedDB and asks the
    /// network for nothing. The holder answers as soon as it can but keeps the lock until the
    /// image bytes are in IndexedDB.
    async fn load_under_lock(
        &self,
        locks: Rc<dyn Locks>,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
    ) -> Picture {
        let (answer_tx, answer_rx) = oneshot::channel();
        let this = self.clone();
        let (user, hint_owned) = (user_id.to_string(), hint.map(str::to_string));
        // Until this load knows whether it needs the backend, a batch about to go out waits
        // for it (locks are granted one event-loop turn at a time).
        self.inner.heading.set(self.inner.heading.get() + 1);
        let task = async move {
            let hint = hint_owned.as_deref();
            let stored = this.load_stored(&user, hint, start).await;
            this.inner
                .heading
                .set(this.inner.heading.get().saturating_sub(1));
            let picture = match stored {
                Ok(picture) => picture,
                Err(miss) => this.load_from_network(&user, hint, start, miss).await,
            };
            let image_id = picture.image_id.clone();
            let _ = answer_tx.send(picture);
            if let Some(id) = image_id {
                this.written(&id).await;
            }
        };
        let name = format!(
            "avatar-cache:{}",
            self.inner.keys.key(KeyLayer::Local, user_id)
        );
        self.inner
            .layers
            .runtime
            .spawn(locks.exclusive(name, task.boxed_local()));
        match answer_rx.await {
            Ok(picture) => picture,
            Err(_) => self.fallback_default(user_id, start, &[StatLayer::Memory]),
        }
    }

    /// Memory's stale copy, localStorage and IndexedDB: an answer, or what the network load
    /// needs to know (the layers consulted, a stale picture to fall back on).
    async fn load_stored(
        &self,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
    ) -> std::result::Result<Picture, StoredMiss> {
        let now = self.now();
        let mut consulted = vec![StatLayer::Memory];
        let (stored, record_source, fresh) = self.stored_record(user_id, now, &mut consulted);
        let stored = stored.filter(|r| hint.is_none_or(|h| r.image_id.as_deref() == Some(h)));

        let mut fallback = None;
        let mut known = None;
        if let Some(record) = stored {
            if let Some(found) = self.find_image(&record, now, &mut consulted).await {
                let stale = !fresh || found.stale;
                let source = record_source.max(found.source);
                if !stale || self.inner.config.stale_while_revalidate {
                    if record_source != Source::Memory || !fresh {
                        self.promote(&record, now);
                    }
                    if stale {
                        self.debug(|| {
                            format!("{user_id}: stale from {}, revalidating", source.as_str())
                        });
                        self.spawn_revalidate(user_id);
                    } else {
                        self.maybe_refresh_url(&record, now);
                    }
                    return Ok(self.answer(&record, found.url, source, stale, start, &consulted, 0));
                }
                fallback = Some((record.clone(), found.url, source));
            } else if fresh && !record.opaque && !presign::is_expired(record.url_expires_at, now) {
                // The record is good but its bytes are not stored (evicted, or another tab is
                // still writing them): the network step downloads them with the URL we have,
                // no API call needed.
                known = Some(record);
            }
        } else if let Some(hint) = hint {
            // The app knows the image id: if its bytes are stored, no request is needed now.
            let probe = PictureRecord {
                user_id: user_id.to_string(),
                image_id: Some(hint.to_string()),
                remote_url: String::new(),
                url_expires_at: 0.0,
                fetched_at: now,
                etag: None,
                version: self.inner.config.version,
                opaque: false,
            };
            if let Some(found) = self.find_image(&probe, now, &mut consulted).await {
                self.spawn_revalidate(user_id);
                return Ok(self.answer(
                    &probe,
                    found.url,
                    found.source,
                    found.stale,
                    start,
                    &consulted,
                    0,
                ));
            }
        }
        Err(StoredMiss {
            consulted,
            fallback,
            known,
        })
    }

    /// The record of `user_id` in memory or localStorage, fresh or not: `(record, where, fresh)`.
    fn stored_record(
        &self,
        user_id: &str,
        now: Millis,
        consulted: &mut Vec<StatLayer>,
    ) -> (Option<PictureRecord>, Source, bool) {
        let in_memory = self.inner.memory.borrow_mut().record(user_id, now).cloned();
        if let Some(entry) = &in_memory {
            if now < entry.fresh_until {
                return (Some(entry.record.clone()), Source::Memory, true);
            }
        }
        // Memory's copy is stale (or absent): localStorage may hold a fresher one, written by
        // another tab or kept longer by its own TTL.
        let stale_memory = (in_memory.map(|e| e.record), Source::Memory, false);
        let Some(local) = &self.inner.layers.local else {
            return stale_memory;
        };
        consulted.push(StatLayer::Local);
        match local.get(user_id) {
            Ok(Some(record))
                if is_fresh(record.fetched_at, now, self.inner.config.local.ttl_ms) =>
            {
                (Some(record), Source::Local, true)
            }
            Ok(Some(record)) if stale_memory.0.is_none() => (Some(record), Source::Local, false),
            Ok(_) => stale_memory,
            Err(e) => {
                self.record_error(StatLayer::Local, &e);
                stale_memory
            }
        }
    }

    /// The image `record` names, from memory or IndexedDB (made into an object URL and
    /// promoted to memory).
    async fn find_image(
        &self,
        record: &PictureRecord,
        now: Millis,
        consulted: &mut Vec<StatLayer>,
    ) -> Option<FoundImage> {
        let Some(image_id) = record.image_id.as_deref() else {
            return Some(FoundImage {
                url: self.inner.config.default_image_url.clone(),
                source: Source::Memory,
                stale: false,
                etag: None,
            });
        };
        if record.opaque {
            return (!presign::is_expired(record.url_expires_at, now)).then(|| FoundImage {
                url: record.remote_url.clone(),
                source: Source::Memory,
                stale: false,
                etag: None,
            });
        }
        if let Some((url, stored_at, etag)) = self.live_image(image_id, now) {
            let stale = !is_fresh(stored_at, now, self.inner.config.idb.ttl_ms);
            return Some(FoundImage {
                url,
                source: Source::Memory,
                stale,
                etag,
            });
        }
        let images = self.available_images()?;
        consulted.push(StatLayer::IndexedDb);
        match images.get(image_id).await {
            Ok(Some(stored)) => {
                if !self.adopt_stored(stored, now) {
                    return None;
                }
                let (url, stored_at, etag) = self.live_image(image_id, now)?;
                let stale = !is_fresh(stored_at, now, self.inner.config.idb.ttl_ms);
                Some(FoundImage {
                    url,
                    source: Source::IndexedDb,
                    stale,
                    etag,
                })
            }
            Ok(None) => None,
            Err(e) => {
                self.record_error(StatLayer::IndexedDb, &e);
                None
            }
        }
    }

    /// Puts an image read from IndexedDB into memory (its object URL is made when first asked
    /// for); `false` if memory could not keep it (larger than the whole memory budget).
    fn adopt_stored(&self, stored: StoredImage<I>, now: Millis) -> bool {
        let meta = stored.meta;
        let image = MemoryImage {
            url: None,
            body: stored.body,
            bytes: meta.bytes,
            stored_at: meta.stored_at,
            etag: meta.etag,
        };
        let dropped = self
            .inner
            .memory
            .borrow_mut()
            .put_image(&meta.image_id, image, now);
        self.revoke(dropped);
        self.note_access(&meta.image_id, now);
        self.inner
            .memory
            .borrow()
            .image_untouched(&meta.image_id)
            .is_some()
    }

    /// Reads, in one IndexedDB transaction, the stored images of users whose records are known,
    /// so the gets that follow find them in memory. Returns the users whose image came from
    /// IndexedDB.
    async fn preload_stored(&self, users: &[String]) -> HashSet<String> {
        let now = self.now();
        let mut wanted: Vec<(String, String)> = Vec::new();
        for user in users {
            let mut consulted = Vec::new();
            if let (Some(record), source, fresh) = self.stored_record(user, now, &mut consulted) {
                if source == Source::Local && fresh {
                    // Read once: the get that follows finds it in memory.
                    self.promote(&record, now);
                }
                if let (Some(id), false) = (record.image_id.clone(), record.opaque) {
                    if self.inner.memory.borrow().image_untouched(&id).is_none() {
                        wanted.push((user.clone(), id));
                    }
                }
            }
        }
        let mut adopted = HashSet::new();
        if let Some(images) = self.available_images().filter(|_| !wanted.is_empty()) {
            let mut ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
            ids.sort();
            ids.dedup();
            match images.get_many(&ids).await {
                Ok(found) => {
                    for stored in found.into_iter().flatten() {
                        let id = stored.meta.image_id.clone();
                        if self.adopt_stored(stored, now) {
                            adopted.insert(id);
                        }
                    }
                }
                Err(e) => self.record_error(StatLayer::IndexedDb, &e),
            }
        }
        wanted
            .into_iter()
            .filter(|(_, id)| adopted.contains(id))
            .map(|(user, _)| user)
            .collect()
    }

    // ----- network ----------------------------------------------------------------------------

    /// Asks the backend, then completes the picture (stored bytes or a download). Falls back to
    /// `fallback` (a stale picture) or the default picture on any failure.
    async fn load_from_network(
        &self,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
        miss: StoredMiss,
    ) -> Picture {
        let StoredMiss {
            mut consulted,
            fallback,
            known,
        } = miss;
        let now = self.now();
        if !consulted.contains(&StatLayer::Network) {
            consulted.push(StatLayer::Network);
        }
        if let Some(record) = known {
            if let Some((url, bytes, etag)) = self.download_image(&record, None, now).await {
                let record = PictureRecord {
                    etag: etag.or(record.etag.clone()),
                    ..record
                };
                self.store_record(record.clone());
                return self.network_answer(&record, url, start, &consulted, bytes);
            }
        }
        let remote = match hint {
            Some(h) => {
                self.note_api_call();
                let answer = self.inner.layers.backend.fetch_image_info(h).await;
                answer.map(|r| RemotePicture {
                    image_id: Some(h.to_string()),
                    ..r
                })
            }
            None => self.fetch_user(user_id).await,
        };
        let outcome = match remote {
            Ok(remote) if remote.user_id.as_deref().is_some_and(|u| u != user_id) => {
                Err(Error::BadResponse {
                    reason: "answer names another user".into(),
                })
            }
            Ok(remote) => {
                let record = self.record_from_remote(user_id, remote, now);
                self.complete(record, now).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok((record, url, bytes)) => self.network_answer(&record, url, start, &consulted, bytes),
            Err(e) => {
                self.record_error(StatLayer::Network, &e);
                match fallback {
                    Some((record, url, source)) => {
                        self.answer(&record, url, source, true, start, &consulted, 0)
                    }
                    None => self.fallback_default(user_id, start, &consulted),
                }
            }
        }
    }

    /// Completes a record fresh from the backend: finds its bytes in memory or IndexedDB (no
    /// download) or downloads them, then writes the record to every layer. Returns the record
    /// as stored, the URL to hand out and the bytes downloaded.
    async fn complete(
        &self,
        record: PictureRecord,
        now: Millis,
    ) -> Result<(PictureRecord, String, u64)> {
        let Some(_) = record.image_id.as_deref() else {
            let url = self.inner.config.default_image_url.clone();
            self.store_record(record.clone());
            return Ok((record, url, 0));
        };
        let mut consulted = Vec::new();
        if let Some(found) = self
            .find_image(
                &PictureRecord {
                    opaque: false,
                    ..record.clone()
                },
                now,
                &mut consulted,
            )
            .await
        {
            if !found.stale {
                self.store_record(record.clone());
                return Ok((record, found.url, 0));
            }
            // Stored bytes past their freshness: ask object storage whether they changed.
            if let Some((url, bytes, etag)) = self
                .download_image(&record, found.etag.as_deref(), now)
                .await
            {
                let record = PictureRecord { etag, ..record };
                self.store_record(record.clone());
                return Ok((record, url, bytes));
            }
            self.store_record(record.clone());
            return Ok((record, found.url, 0));
        }
        match self.fetch_bytes(&record, None, now).await? {
            Fetched::Image { url, bytes, etag } => {
                let record = PictureRecord { etag, ..record };
                self.store_record(record.clone());
                Ok((record, url, bytes))
            }
            Fetched::Opaque => {
                let record = PictureRecord {
                    opaque: true,
                    ..record
                };
                let url = record.remote_url.clone();
                self.store_record(record.clone());
                Ok((record, url, 0))
            }
        }
    }

    /// Downloads the bytes of `record` (conditionally on `etag`), stores them in memory and, in
    /// the background, in IndexedDB. `None` on failure (counted).
    async fn download_image(
        &self,
        record: &PictureRecord,
        etag: Option<&str>,
        now: Millis,
    ) -> Option<(String, u64, Option<String>)> {
        match self.fetch_bytes(record, etag, now).await {
            Ok(Fetched::Image { url, bytes, etag }) => Some((url, bytes, etag)),
            Ok(Fetched::Opaque) => None,
            Err(e) => {
                self.record_error(StatLayer::Network, &e);
                None
            }
        }
    }

    async fn fetch_bytes(
        &self,
        record: &PictureRecord,
        etag: Option<&str>,
        now: Millis,
    ) -> Result<Fetched> {
        let image_id = record.image_id.clone().ok_or_else(|| Error::BadResponse {
            reason: "no image to download".into(),
        })?;
        let slot = self.inner.slots.acquire().await;
        self.inner.stats.borrow_mut().downloads += 1;
        let download = self
            .inner
            .layers
            .backend
            .download(&record.remote_url, etag)
            .await;
        drop(slot);
        match download? {
            Download::Image {
                body,
                mime,
                bytes,
                etag,
            } => {
                self.inner.stats.borrow_mut().bytes_downloaded += bytes;
                self.store_image(&image_id, body, mime, bytes, etag.clone(), now, false)
                    .await;
                let (url, _, _) =
                    self.live_image(&image_id, now)
                        .ok_or_else(|| Error::BadResponse {
                            reason: "image could not be made into a URL".into(),
                        })?;
                Ok(Fetched::Image { url, bytes, etag })
            }
            Download::NotModified => {
                let images = self.available_images().ok_or(Error::BadResponse {
                    reason: "304 without stored bytes".into(),
                })?;
                let stored = images.get(&image_id).await?.ok_or(Error::BadResponse {
                    reason: "304 without stored bytes".into(),
                })?;
                // The stored bytes are current: they count as fresh from now on.
                let meta = ImageMeta {
                    stored_at: now,
                    last_access: now,
                    ..stored.meta.clone()
                };
                let held = self.inner.memory.borrow_mut().renew_image(&image_id, now);
                if !held {
                    let copy = StoredImage {
                        meta: meta.clone(),
                        body: stored.body.clone(),
                    };
                    self.adopt_stored(copy, now);
                }
                let (url, _, _) = self.live_image(&image_id, now).ok_or(Error::Closed)?;
                self.spawn_idb_put(StoredImage {
                    meta: meta.clone(),
                    body: stored.body,
                });
                Ok(Fetched::Image {
                    url,
                    bytes: 0,
                    etag: meta.etag,
                })
            }
            Download::Opaque => Ok(Fetched::Opaque),
        }
    }

    /// Puts `body` in memory and stores it in IndexedDB (awaited when `wait`, else in the
    /// background). `false` if memory could not keep it (larger than its whole budget).
    #[allow(clippy::too_many_arguments)]
    async fn store_image(
        &self,
        image_id: &str,
        body: I,
        mime: String,
        bytes: u64,
        etag: Option<String>,
        now: Millis,
        wait: bool,
    ) -> bool {
        let image = MemoryImage {
            url: None,
            body: body.clone(),
            bytes,
            stored_at: now,
            etag: etag.clone(),
        };
        let dropped = self
            .inner
            .memory
            .borrow_mut()
            .put_image(image_id, image, now);
        self.revoke(dropped);
        let kept = self
            .inner
            .memory
            .borrow()
            .image_untouched(image_id)
            .is_some();
        let meta = ImageMeta {
            image_id: image_id.to_string(),
            mime,
            bytes,
            etag,
            stored_at: now,
            last_access: now,
            version: self.inner.config.version,
        };
        let stored = StoredImage { meta, body };
        if wait {
            self.idb_put(stored).await;
        } else {
            self.spawn_idb_put(stored);
        }
        kept
    }

    fn spawn_idb_put(&self, image: StoredImage<I>) {
        if self.available_images().is_none() {
            return;
        }
        let this = self.clone();
        let id = image.meta.image_id.clone();
        let write = async move { this.idb_put(image).await }
            .boxed_local()
            .shared();
        self.inner
            .writes
            .borrow_mut()
            .insert(id.clone(), write.clone());
        let this = self.clone();
        self.inner.layers.runtime.spawn(
            async move {
                write.await;
                this.inner.writes.borrow_mut().remove(&id);
            }
            .boxed_local(),
        );
    }

    /// Waits for every IndexedDB write under way; returns the image ids they wrote.
    async fn settle_writes(&self) -> Vec<String> {
        let pending: Vec<(String, Shared<LocalBoxFuture<'static, ()>>)> = self
            .inner
            .writes
            .borrow()
            .iter()
            .map(|(id, write)| (id.clone(), write.clone()))
            .collect();
        let mut ids = Vec::with_capacity(pending.len());
        for (id, write) in pending {
            write.await;
            ids.push(id);
        }
        ids
    }

    /// Resolves once no IndexedDB write of `image_id` is pending.
    async fn written(&self, image_id: &str) {
        let pending = self.inner.writes.borrow().get(image_id).cloned();
        if let Some(write) = pending {
            write.await;
        }
    }

    async fn idb_put(&self, image: StoredImage<I>) {
        let Some(images) = self.available_images() else {
            return;
        };
        let id = image.meta.image_id.clone();
        match images.put(image).await {
            Ok(evicted) => {
                for evicted_id in evicted {
                    self.inner.stats.borrow_mut().evictions += 1;
                    self.emit(|| CacheEvent::Evict {
                        layer: StatLayer::IndexedDb,
                        id: evicted_id,
                    });
                }
                self.debug(|| format!("{id}: stored in IndexedDB"));
            }
            Err(e) => self.record_error(StatLayer::IndexedDb, &e),
        }
        self.refresh_usage();
    }

    /// Asks the backend about one user. With a batch endpoint, requests made within
    /// [`BATCH_WINDOW_MS`] of each other (a list of components mounting, revalidations of a
    /// page of stale pictures) go out together as one batch call.
    async fn fetch_user(&self, user_id: &str) -> Result<RemotePicture> {
        if self.inner.config.batch_endpoint.is_none() {
            let _slot = self.inner.slots.acquire().await;
            self.note_api_call();
            return self.inner.layers.backend.fetch_user(user_id).await;
        }
        let (answer, wait) = oneshot::channel();
        let first = {
            let mut queue = self.inner.queue.borrow_mut();
            queue.push((user_id.to_string(), answer));
            queue.len() == 1
        };
        if first {
            let this = self.clone();
            let window = self.inner.layers.runtime.sleep(BATCH_WINDOW_MS);
            self.inner.layers.runtime.spawn(
                async move {
                    window.await;
                    // Loads still waiting for their cross-tab lock are about to ask too.
                    let deadline = this.now() + BATCH_MAX_WAIT_MS;
                    while this.inner.heading.get() > 0 && this.now() < deadline {
                        this.inner.layers.runtime.sleep(1.0).await;
                    }
                    this.flush_user_queue().await;
                }
                .boxed_local(),
            );
        }
        wait.await.unwrap_or(Err(Error::Closed))
    }

    /// Sends the queued user requests: one plain user call for a single user, else batch calls
    /// of up to `batch.maxIds` users. Users the backend leaves out of its answer are unknown.
    async fn flush_user_queue(&self) {
        let queued: Vec<(String, oneshot::Sender<Result<RemotePicture>>)> =
            self.inner.queue.borrow_mut().drain(..).collect();
        let mut waiting: HashMap<String, Vec<oneshot::Sender<Result<RemotePicture>>>> =
            HashMap::new();
        let mut order = Vec::new();
        for (user, answer) in queued {
            let senders = waiting.entry(user.clone()).or_default();
            if senders.is_empty() {
                order.push(user);
            }
            senders.push(answer);
        }
        let answer_all = |user: &str,
                          waiting: &mut HashMap<String, Vec<_>>,
                          result: Result<RemotePicture>| {
            for sender in waiting.remove(user).unwrap_or_default() {
                let _: std::result::Result<(), _> = oneshot::Sender::send(sender, result.clone());
            }
        };
        let _slot = self.inner.slots.acquire().await;
        if let [user] = order.as_slice() {
            self.note_api_call();
            let result = self.inner.layers.backend.fetch_user(user).await;
            return answer_all(user, &mut waiting, result);
        }
        self.debug(|| format!("{} user requests sent as one batch", order.len()));
        for chunk in order.chunks(self.inner.config.batch.max_ids) {
            self.note_api_call();
            match self.inner.layers.backend.fetch_batch(chunk).await {
                Ok(remotes) => {
                    for remote in remotes {
                        if let Some(user) = remote.user_id.clone() {
                            answer_all(&user, &mut waiting, Ok(remote));
                        }
                    }
                    for user in chunk {
                        let unknown = Error::Network {
                            status: 404,
                            request: "batch".into(),
                        };
                        answer_all(user, &mut waiting, Err(unknown));
                    }
                }
                Err(e) => chunk
                    .iter()
                    .for_each(|user| answer_all(user, &mut waiting, Err(e.clone()))),
            }
        }
    }

    // ----- background work --------------------------------------------------------------------

    /// Refreshes a record whose presigned URL is about to expire, if the URL is what the app is
    /// shown (an opaque image) or what a later download would need (bytes not stored).
    fn maybe_refresh_url(&self, record: &PictureRecord, now: Millis) {
        // Never earlier than a quarter into the URL's life: a 20 s URL is not refreshed on
        // every use because the margin is 10 minutes.
        let lifetime = (record.url_expires_at - record.fetched_at).max(0.0);
        let margin = self.inner.config.refresh_margin_ms.min(lifetime * 0.75);
        if record.image_id.is_none() || !presign::needs_refresh(record.url_expires_at, now, margin)
        {
            return;
        }
        let bytes_in_memory = record
            .image_id
            .as_deref()
            .is_some_and(|id| self.inner.memory.borrow().image_untouched(id).is_some());
        if record.opaque || !bytes_in_memory {
            self.debug(|| format!("{}: presigned URL expires soon, refreshing", record.user_id));
            self.spawn_revalidate(&record.user_id);
        }
    }

    /// Asks the backend about `user_id` in the background (once at a time per user) and tells
    /// subscribers if the picture changed.
    fn spawn_revalidate(&self, user_id: &str) {
        if !self
            .inner
            .refreshing
            .borrow_mut()
            .insert(user_id.to_string())
        {
            return;
        }
        self.inner.stats.borrow_mut().refreshes += 1;
        let this = self.clone();
        let user = user_id.to_string();
        self.inner.layers.runtime.spawn(
            async move {
                this.revalidate(&user).await;
                this.inner.refreshing.borrow_mut().remove(&user);
            }
            .boxed_local(),
        );
    }

    async fn revalidate(&self, user_id: &str) {
        let now = self.now();
        let mut ignored = Vec::new();
        let before = self.stored_record(user_id, now, &mut ignored).0;
        let remote = match self.fetch_user(user_id).await {
            Ok(remote) if remote.user_id.as_deref().is_none_or(|u| u == user_id) => remote,
            Ok(_) => {
                return self.record_error(
                    StatLayer::Network,
                    &Error::BadResponse {
                        reason: "answer names another user".into(),
                    },
                )
            }
            Err(e) => return self.record_error(StatLayer::Network, &e),
        };
        let record = self.record_from_remote(user_id, remote, now);
        match self.complete(record, now).await {
            Ok((after, _, _)) => {
                // Without CORS the app shows the presigned URL itself: a newly signed one is a
                // change it must hear about before the old one expires.
                let changed = before.as_ref().is_none_or(|b| {
                    b.image_id != after.image_id
                        || b.opaque != after.opaque
                        || (after.opaque && b.remote_url != after.remote_url)
                });
                self.emit(|| CacheEvent::Refresh {
                    user_id: user_id.to_string(),
                    changed,
                });
                if changed {
                    self.debug(|| format!("{user_id}: picture changed on revalidation"));
                    self.notify(&Change::User(user_id.to_string()));
                }
            }
            Err(e) => self.record_error(StatLayer::Network, &e),
        }
    }

    /// Queues a last-access update for IndexedDB; one transaction writes them all shortly after.
    fn note_access(&self, image_id: &str, now: Millis) {
        if self.available_images().is_none() {
            return;
        }
        self.inner
            .touches
            .borrow_mut()
            .insert(image_id.to_string(), now);
        if self.inner.touch_flush_scheduled.replace(true) {
            return;
        }
        let this = self.clone();
        let sleep = self.inner.layers.runtime.sleep(TOUCH_FLUSH_MS);
        self.inner.layers.runtime.spawn(
            async move {
                sleep.await;
                this.flush_touches().await;
            }
            .boxed_local(),
        );
    }

    fn refresh_usage(&self) {
        let Some(images) = self.available_images() else {
            return;
        };
        let this = self.clone();
        self.inner.layers.runtime.spawn(
            async move {
                if let Ok(usage) = images.usage().await {
                    this.inner.idb_usage.set(Some(usage));
                }
            }
            .boxed_local(),
        );
    }

    // ----- writing ----------------------------------------------------------------------------

    fn record_from_remote(
        &self,
        user_id: &str,
        remote: RemotePicture,
        now: Millis,
    ) -> PictureRecord {
        PictureRecord {
            user_id: user_id.to_string(),
            url_expires_at: presign::url_expires_at(
                &remote.url,
                now,
                self.inner.config.url_lifetime_ms,
            ),
            image_id: remote.image_id,
            remote_url: remote.url,
            fetched_at: now,
            etag: None,
            version: self.inner.config.version,
            opaque: false,
        }
    }

    /// Writes a record to memory and localStorage.
    fn store_record(&self, record: PictureRecord) {
        let now = self.now();
        self.write_local(&record);
        self.inner.memory.borrow_mut().put_record(record, now);
    }

    /// Puts a record read from a lower layer into memory.
    fn promote(&self, record: &PictureRecord, now: Millis) {
        self.inner
            .memory
            .borrow_mut()
            .put_record(record.clone(), now);
    }

    fn write_local(&self, record: &PictureRecord) {
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.put(record) {
                self.record_error(StatLayer::Local, &e);
            }
        }
    }

    fn forget_record(&self, user_id: &str) {
        self.inner.memory.borrow_mut().remove_record(user_id);
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.remove(user_id) {
                self.record_error(StatLayer::Local, &e);
            }
        }
    }

    fn forget_all_in_memory(&self) {
        let urls = self.inner.memory.borrow_mut().clear();
        self.revoke(urls);
    }

    fn revoke(&self, urls: Vec<String>) {
        for url in urls {
            self.inner.stats.borrow_mut().evictions += 1;
            self.inner.layers.urls.revoke(&url);
            self.emit(|| CacheEvent::Evict {
                layer: StatLayer::Memory,
                id: url,
            });
        }
    }

    // ----- answers, events, stats -------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        record: &PictureRecord,
        url: String,
        source: Source,
        stale: bool,
        start: Millis,
        consulted: &[StatLayer],
        bytes: u64,
    ) -> Picture {
        let load_ms = (self.tick() - start).max(0.0);
        self.inner
            .stats
            .borrow_mut()
            .record_get(source, load_ms, stale, consulted);
        self.emit(|| CacheEvent::Load {
            user_id: record.user_id.clone(),
            source,
            ms: load_ms,
            bytes,
            stale,
        });
        Picture {
            user_id: record.user_id.clone(),
            image_id: record.image_id.clone(),
            url,
            source,
            stale,
            load_ms,
        }
    }

    fn network_answer(
        &self,
        record: &PictureRecord,
        url: String,
        start: Millis,
        consulted: &[StatLayer],
        bytes: u64,
    ) -> Picture {
        self.answer(record, url, Source::Network, false, start, consulted, bytes)
    }

    fn fallback_default(&self, user_id: &str, start: Millis, consulted: &[StatLayer]) -> Picture {
        let load_ms = (self.tick() - start).max(0.0);
        self.inner
            .stats
            .borrow_mut()
            .record_get(Source::Default, load_ms, false, consulted);
        self.emit(|| CacheEvent::Load {
            user_id: user_id.to_string(),
            source: Source::Default,
            ms: load_ms,
            bytes: 0,
            stale: false,
        });
        self.default_picture(user_id, start)
    }

    fn default_picture(&self, user_id: &str, start: Millis) -> Picture {
        Picture {
            user_id: user_id.to_string(),
            image_id: None,
            url: self.inner.config.default_image_url.clone(),
            source: Source::Default,
            stale: false,
            load_ms: (self.tick() - start).max(0.0),
        }
    }

    fn available_images(&self) -> Option<Rc<dyn ImageStore<I>>> {
        self.inner
            .layers
            .images
            .clone()
            .filter(|i| i.is_available())
    }

    fn note_api_call(&self) {
        self.inner.stats.borrow_mut().api_calls += 1;
    }

    fn counters(&self) -> (u64, u64) {
        let stats = self.inner.stats.borrow();
        (stats.api_calls, stats.downloads)
    }

    fn record_error(&self, layer: StatLayer, error: &Error) {
        let reason = format!("{}: {error}", error.code());
        let now = self.now();
        self.inner
            .stats
            .borrow_mut()
            .record_error(layer, reason.clone(), now);
        self.emit(|| CacheEvent::Error { layer, reason });
    }

    fn emit(&self, event: impl FnOnce() -> CacheEvent) {
        let hook = self.inner.on_event.borrow().clone();
        if let Some(hook) = hook {
            hook(&event());
        }
    }

    fn debug(&self, message: impl FnOnce() -> String) {
        if self.inner.config.debug {
            self.emit(|| CacheEvent::Decision(message()));
        }
    }

    /// Tells this tab's subscribers, and (when `broadcast`) other tabs, about a change.
    fn changed(&self, change: Change, broadcast: bool) {
        if broadcast {
            let hook = self.inner.on_change.borrow().clone();
            if let Some(hook) = hook {
                hook(&change);
            }
        }
        self.notify(&change);
    }

    fn notify(&self, change: &Change) {
        let listeners: Vec<Listener> = self
            .inner
            .listeners
            .borrow()
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        if listeners.is_empty() {
            return;
        }
        match change {
            Change::User(user) => listeners.iter().for_each(|l| l(user)),
            Change::Updated(record) => listeners.iter().for_each(|l| l(&record.user_id)),
            Change::All => {
                // Everyone who might be showing a picture: memory is empty now, so tell each
                // listener with the wildcard id "*" as well as nothing else is known.
                listeners.iter().for_each(|l| l("*"));
            }
        }
    }
}

/// Why the stored layers could not answer, and what the network load needs from them.
struct StoredMiss {
    consulted: Vec<StatLayer>,
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

mod slots;
#[cfg(test)]
mod tests;

use slots::Slots;

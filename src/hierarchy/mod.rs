//! Lookup, promotion, write-through, stale-while-revalidate and de-duplication.
//!
//! [`Hierarchy`] is the cache's brain and knows no browser type: it talks to its layers through
//! the traits of [`crate::layers`], so the same code runs in the browser (localStorage,
//! IndexedDB, `fetch`) and natively over in-memory layers under a manual clock.
//!
//! It composes small components that each own their state:
//!
//! | component | file | owns |
//! |---|---|---|
//! | [`InFlight`](in_flight) | `in_flight.rs` | the loads (per user) and downloads (per image) under way, shared by concurrent gets |
//! | [`Batcher`](batcher) | `batcher.rs` | user requests waiting to go out as one batch call |
//! | [`WriteBehind`](write_behind) | `write_behind.rs` | IndexedDB writes running behind answers |
//! | [`AccessQueue`](access_queue) | `access_queue.rs` | image uses waiting to move up the IndexedDB LRU |
//! | [`ImageReads`](image_reads) | `image_reads.rs` | image reads of this turn, made in one transaction |
//! | [`Subscribers`](subscribers) | `subscribers.rs` | `subscribe` listeners and the cross-tab hook |
//! | [`Telemetry`](telemetry) | `telemetry.rs` | stats, events, recent errors, the debug log |
//! | [`Slots`](slots) | `slots.rs` | the network requests allowed at once |
//!
//! A `get` flows one way through the steps, each in its file: [`lookup`] (memory, then
//! localStorage and IndexedDB, read once) → [`load`] (the backend, then stored bytes or a
//! download) → [`store`] (write-through to every layer) → the answer, counted by telemetry. A
//! small [`Trace`](trace) carries the start time and the layers asked. Background work
//! (revalidation, URL refresh) is in [`revalidate`]; many users at once in [`prefetch`]; images
//! asked for by their storage URL (a service worker's plain `<img>`s) in [`by_url`].
//!
//! Storage and network failures never reach the caller: they are counted and the answer falls
//! back to a stale picture, then to the default picture.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::FutureExt;

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::Result;
use crate::key::{validate_id, Keys};
use crate::layers::memory::MemoryLayer;
use crate::layers::{Backend, ImageStore, Locks, ObjectUrls, RecordStore, Runtime, StoreUsage};
use crate::record::PictureRecord;
use crate::stats::Stats;
pub use crate::vocabulary::{CacheEvent, Change, Layer, Picture, PrefetchReport, Source};

mod access_queue;
mod answer;
mod batcher;
mod by_url;
mod image_reads;
mod in_flight;
mod load;
mod lookup;
mod prefetch;
mod previews;
mod revalidate;
mod slots;
mod store;
mod subscribers;
mod telemetry;
#[cfg(test)]
mod tests;
mod trace;
mod upload;
mod write_behind;

use access_queue::AccessQueue;
pub use access_queue::TOUCH_FLUSH_MS;
use batcher::Batcher;
pub use batcher::{BATCH_MAX_WAIT_MS, BATCH_WINDOW_MS};
pub use by_url::ImageAtUrl;
use image_reads::ImageReads;
use in_flight::{InFlight, LoadKey};
use previews::Previews;
use revalidate::Revalidations;
use slots::Slots;
use subscribers::Subscribers;
pub use subscribers::{ChangeHook, LearnHook, Listener};
pub use telemetry::EventHook;
use telemetry::Telemetry;
use trace::Trace;
pub use upload::Upload;
use write_behind::WriteBehind;

/// How long after start-up the image store's usage is first read. Reading it loads the
/// store's LRU mirror (the metadata of every stored image): after the first burst of gets (a
/// list mounting), not during it. A write, a touch or a removal before then loads it at once.
pub const FIRST_USAGE_AFTER_MS: Millis = 500.0;

/// How long after a `clear()` (here or announced by another tab) records learned by other
/// contexts are not kept: one sent before the sender saw the clear would bring back what the
/// clear removed (a logout undone). Messages take milliseconds; a load started after the clear
/// and finished within this time is only asked for again.
pub const LEARNED_QUIET_MS: Millis = 1_000.0;

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

struct Inner<I> {
    config: Rc<Config>,
    layers: Layers<I>,
    keys: Keys,
    memory: RefCell<MemoryLayer<I>>,
    in_flight: InFlight<LoadKey, Picture>,
    downloads: InFlight<String, Result<load::Fetched>>,
    batcher: Rc<Batcher<I>>,
    write_behind: WriteBehind,
    access: Option<Rc<AccessQueue<I>>>,
    image_reads: Option<Rc<ImageReads<I>>>,
    revalidations: Revalidations,
    subscribers: Subscribers,
    telemetry: Rc<Telemetry>,
    slots: Rc<Slots>,
    idb_usage: Cell<Option<StoreUsage>>,
    previews: Previews<I>,
    /// Users learned from the backend this turn, noted for the service worker together at the
    /// turn's end (one read and write of the notes, not one per record).
    learned_this_turn: RefCell<Vec<String>>,
    /// Bumped by `clear` and `close` (here or in another tab): work of an older session writes
    /// nothing and hands nothing out.
    session: Cell<u64>,
    /// When the last session ended (monotonic): records other contexts learned are not kept
    /// for a while after.
    cleared_at: Cell<Option<Millis>>,
    closed: Cell<bool>,
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

impl<I: Clone + 'static> Hierarchy<I> {
    /// A hierarchy over `layers` with a validated `config`.
    pub fn new(config: Rc<Config>, layers: Layers<I>) -> Self {
        let telemetry = Rc::new(Telemetry::new(layers.clock.clone(), config.debug));
        let slots = Slots::new(config.batch.concurrency);
        let batcher = Batcher::new(
            config.clone(),
            layers.backend.clone(),
            layers.runtime.clone(),
            layers.clock.clone(),
            slots.clone(),
            telemetry.clone(),
        );
        let access = layers
            .images
            .clone()
            .map(|images| AccessQueue::new(images, layers.runtime.clone(), telemetry.clone()));
        let image_reads = layers
            .images
            .clone()
            .map(|images| ImageReads::new(images, layers.runtime.clone()));
        let hierarchy = Hierarchy {
            inner: Rc::new(Inner {
                keys: Keys::new(&config.namespace, config.version),
                memory: RefCell::new(MemoryLayer::new(&config)),
                in_flight: InFlight::default(),
                downloads: InFlight::default(),
                write_behind: WriteBehind::new(layers.runtime.clone()),
                revalidations: Revalidations::default(),
                subscribers: Subscribers::default(),
                idb_usage: Cell::new(None),
                previews: Previews::default(),
                learned_this_turn: RefCell::default(),
                session: Cell::new(0),
                cleared_at: Cell::new(None),
                closed: Cell::new(false),
                batcher,
                access,
                image_reads,
                telemetry,
                slots,
                config,
                layers,
            }),
        };
        hierarchy.refresh_usage_after(FIRST_USAGE_AFTER_MS);
        hierarchy
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn now(&self) -> Millis {
        self.inner.layers.clock.now_ms()
    }

    fn trace(&self) -> Trace {
        Trace::new(
            self.inner.layers.clock.monotonic_ms(),
            self.inner.session.get(),
        )
    }

    /// Whether the work of `trace` belongs to the current session: not ended by `clear()` or
    /// `close()` since it started.
    fn is_current(&self, trace: &Trace) -> bool {
        trace.session == self.inner.session.get() && !self.inner.closed.get()
    }

    // ----- public operations ------------------------------------------------------------------

    /// The picture of `user_id` if memory holds one (fresh or not): synchronous, for a
    /// component's first frame. Never touches storage or the network; never counts as a get.
    pub fn peek(&self, user_id: &str) -> Option<Picture> {
        let now = self.now();
        let (record, url, fresh_until) = {
            let mut memory = self.inner.memory.borrow_mut();
            let entry = memory.record(user_id, now)?;
            let (record, fresh_until) = (entry.record.clone(), entry.fresh_until);
            let url = self.memory_url(&mut memory, &record, now)?;
            (record, url, fresh_until)
        };
        if record.opaque {
            // The app shows this URL itself: keep it signed even if nobody calls get.
            self.maybe_refresh_url(&record, now);
        }
        let thumbhash = self.preview_hash(&record);
        Some(Picture {
            user_id: user_id.to_string(),
            thumbhash,
            image_id: record.image_id,
            url,
            source: Source::MEMORY,
            stale: now >= fresh_until,
            load_ms: 0.0,
            downloaded: false,
        })
    }

    /// The picture of `user_id`, from the highest layer that has it. `image_hint` is the image
    /// id the app already knows, if any: a stored record naming another image is outdated.
    ///
    /// Never fails for storage or network trouble (the answer falls back to a stale picture,
    /// then to the default picture); fails only for an empty id.
    pub async fn get(&self, user_id: &str, image_hint: Option<&str>) -> Result<Picture> {
        match self.get_at_once(user_id, image_hint) {
            Ok(Some(picture)) => Ok(picture),
            Ok(None) => Ok(self.shared_load(user_id, image_hint, self.trace()).await),
            Err(e) => Err(e),
        }
    }

    /// What [`Hierarchy::get`] answers without waiting, if it can: an argument error, the
    /// default picture of a closed cache, or the picture in memory (counted and touched as a
    /// get). `Ok(None)`: the answer needs a load (call `get`).
    pub fn get_at_once(&self, user_id: &str, image_hint: Option<&str>) -> Result<Option<Picture>> {
        validate_id("userId", user_id)?;
        if let Some(hint) = image_hint {
            validate_id("imageId", hint)?;
        }
        let trace = self.trace();
        if self.inner.closed.get() {
            return Ok(Some(self.default_picture(user_id, &trace)));
        }
        Ok(self.memory_answer(user_id, image_hint, &trace))
    }

    /// One load per user (and hint) at a time: concurrent gets share it.
    async fn shared_load(&self, user_id: &str, hint: Option<&str>, trace: Trace) -> Picture {
        let key = LoadKey {
            user_id: user_id.to_string(),
            image_hint: hint.map(str::to_string),
        };
        if let Some(load) = self.inner.in_flight.joined(&key) {
            return load.outcome().await;
        }
        let id = self.inner.in_flight.next_id();
        let this = self.clone();
        let owned = key.clone();
        let load = async move {
            let picture = this
                .load(&owned.user_id, owned.image_hint.as_deref(), trace)
                .await;
            this.inner.in_flight.finished(&owned, id);
            picture
        };
        self.inner.in_flight.start(key, id, load).outcome().await
    }

    /// Forgets the record of `user_id` in every layer (its image bytes stay: if the user still
    /// has that image, the next get downloads nothing). Tells subscribers and other tabs.
    pub fn invalidate(&self, user_id: &str) -> Result<()> {
        validate_id("userId", user_id)?;
        self.forget_record(user_id);
        self.changed(Change::User(user_id.to_string()));
        Ok(())
    }

    /// Empties every layer (memory, the cache's own localStorage keys, its IndexedDB store) and
    /// tells subscribers and other tabs. For logout.
    pub async fn clear(&self) {
        self.end_session();
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.clear() {
                self.inner.telemetry.error(Layer::Local, &e);
            }
        }
        if let Some(images) = self.inner.layers.images.clone() {
            // A background write still under way would land after the clear.
            self.inner.write_behind.settle().await;
            if let Err(e) = images.clear().await {
                self.inner.telemetry.error(Layer::IndexedDb, &e);
            }
            self.inner.idb_usage.set(Some(StoreUsage::default()));
        }
        self.changed(Change::All);
    }

    /// Applies a change announced by another tab: drops what memory holds so the next get reads
    /// the shared layers again, and tells this tab's subscribers. Sends nothing back.
    pub fn apply_remote_change(&self, change: &Change) {
        // A record store of this context's own (the service worker's) hears of the change here;
        // localStorage already holds what the other tab wrote.
        let private = self.inner.layers.local.as_ref().filter(|l| !l.is_shared());
        match change {
            Change::User(user) => {
                self.inner.memory.borrow_mut().remove_record(user);
                if let Some(records) = private {
                    let _ = records.remove(user);
                }
            }
            // The record itself travels with the message: localStorage writes reach other
            // tabs with a delay (Chromium), so reading it back there could find the old one.
            Change::Updated(record) => {
                let now = self.now();
                let usable = record.version == self.inner.config.version
                    && record.check(Layer::Local, now).is_ok();
                {
                    let mut memory = self.inner.memory.borrow_mut();
                    if usable {
                        memory.put_record(record.clone(), now);
                    } else {
                        memory.remove_record(&record.user_id);
                    }
                }
                if let Some(records) = private {
                    match usable {
                        // Without its URL where the config says so, as every record written.
                        true => self.write_local(record),
                        false => {
                            let _ = records.remove(&record.user_id);
                        }
                    }
                }
            }
            Change::All => {
                self.end_session();
                if let Some(records) = private {
                    let _ = records.clear();
                }
                // Notes written here before this tab heard of the clear would name users of the
                // session that ended.
                if let Some(local) = &self.inner.layers.local {
                    local.forget_noted();
                }
                // The other tab cleared the store; what this tab was still writing would land
                // after that clear: remove it once written.
                if !self.inner.write_behind.is_empty() {
                    let this = self.clone();
                    self.inner.layers.runtime.spawn(
                        async move {
                            let ids = this.inner.write_behind.settle().await;
                            if let Some(images) = this.available_images() {
                                for id in ids {
                                    if let Err(e) = images.remove(&id).await {
                                        this.inner.telemetry.error(Layer::IndexedDb, &e);
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
        self.inner.subscribers.notify(change);
    }

    /// Registers `listener`, called with `Some(user)` whenever that user's picture changes and
    /// with `None` when the cache is cleared. Returns the id to unsubscribe with.
    pub fn subscribe(&self, listener: Listener) -> u64 {
        self.inner.subscribers.add(listener)
    }

    /// Removes a listener; unknown ids are ignored.
    pub fn unsubscribe(&self, id: u64) {
        self.inner.subscribers.remove(id);
    }

    /// Sets the hook told of loads, evictions, errors and refreshes (`onEvent`, debug logging).
    pub fn set_event_hook(&self, hook: Option<EventHook>) {
        self.inner.telemetry.set_hook(hook);
    }

    /// Sets how long user requests wait for company before going out as one batch call
    /// (default [`BATCH_WINDOW_MS`], one turn of the event loop).
    pub fn set_batch_window(&self, ms: Millis) {
        self.inner.batcher.set_window(ms);
    }

    /// Sets the hook told of changes made in this tab, to forward them to other tabs.
    pub fn set_change_hook(&self, hook: Option<ChangeHook>) {
        self.inner.subscribers.set_broadcast(hook);
    }

    /// Sets the hook told of every record this cache writes (fetched from the backend, or
    /// uploaded), to hand it to a context that keeps records in a store of its own: a page and
    /// its service worker each know what the other fetched, so neither asks the backend again.
    pub fn set_learn_hook(&self, hook: Option<LearnHook>) {
        self.inner.subscribers.set_learned(hook);
    }

    /// Keeps a record another context fetched (a page's service worker, or a page it serves):
    /// written to this cache's record store and memory unless it is invalid, no newer than the
    /// one held, or arrives within [`LEARNED_QUIET_MS`] of a `clear()`. Tells no subscriber and
    /// forwards nothing. Whether it was kept.
    pub fn apply_learned(&self, record: PictureRecord) -> bool {
        self.keep_learned(record)
    }

    /// Stops the cache: revokes every object URL; later gets answer the default picture.
    pub fn close(&self) {
        self.inner.closed.set(true);
        // What this turn learned is noted now: the notes are for a worker that may start after
        // this page is gone.
        self.flush_learned();
        self.end_session();
        self.inner.subscribers.remove_all();
    }

    /// Whether [`Hierarchy::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    /// Counts a failure that happened outside a get (for example a store that did not open).
    pub fn note_error(&self, layer: Layer, error: &crate::error::Error) {
        self.inner.telemetry.error(layer, error);
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.telemetry.stats()
    }

    /// Requests in flight (shared loads).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.len()
    }

    /// Live object URLs and the bytes they pin.
    pub fn object_urls(&self) -> (usize, u64) {
        let memory = self.inner.memory.borrow();
        (memory.url_count(), memory.image_bytes())
    }

    /// What IndexedDB held when last measured (`None` without IndexedDB).
    pub fn idb_usage(&self) -> Option<StoreUsage> {
        self.available_images()?;
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

    /// The records memory holds, for diagnostics: `(record, fresh_until, image in memory)`.
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

    /// `(user, JSON)` of the records a service worker that started holding records fetched up
    /// to `since` (0: none) should be handed: every record when it holds none, or when more were
    /// learned than the record store notes; else the records of the users learned from the
    /// backend since a worker last started (noted by every tab, across reloads, whatever their
    /// age: a stopped worker missed them). Taking them starts the notes afresh.
    pub fn texts_to_hand_over(&self, since: Millis) -> Vec<(String, String)> {
        let Some(local) = &self.inner.layers.local else {
            return Vec::new();
        };
        match local.take_noted() {
            Some(users) if since > 0.0 => users
                .iter()
                .filter_map(|user| local.get(user).ok().flatten())
                .map(|record| (record.user_id.clone(), record.to_json()))
                .collect(),
            _ => local.texts(),
        }
    }

    /// Resolves once the IndexedDB writes running behind answers have landed, the uses of
    /// stored images noted so far included (written in their batch, up to [`TOUCH_FLUSH_MS`]
    /// after them). A service worker keeps itself alive until then (`event.waitUntil`).
    pub async fn writes_settled(&self) {
        self.inner.write_behind.settle().await;
        if let Some(access) = &self.inner.access {
            access.flushed().await;
        }
    }

    /// Writes the batched last-access times to IndexedDB now (normally done a moment after the
    /// uses, in one transaction).
    pub async fn flush_touches(&self) {
        if let Some(access) = &self.inner.access {
            access.flush().await;
        }
    }

    // ----- shared helpers ---------------------------------------------------------------------

    /// IndexedDB, if it is working.
    fn available_images(&self) -> Option<Rc<dyn ImageStore<I>>> {
        self.inner
            .layers
            .images
            .clone()
            .filter(|i| i.is_available())
    }

    /// Tells this tab's subscribers and other tabs about a change made here.
    fn changed(&self, change: Change) {
        self.inner.subscribers.broadcast(&change);
        self.inner.subscribers.notify(&change);
    }

    /// Measures IndexedDB's usage in the background (for stats).
    fn refresh_usage(&self) {
        self.refresh_usage_after(0.0);
    }

    /// Reads the image store's usage in the background, after `delay_ms`.
    fn refresh_usage_after(&self, delay_ms: f64) {
        let Some(images) = self.available_images() else {
            return;
        };
        let this = self.clone();
        let delay = (delay_ms > 0.0).then(|| self.inner.layers.runtime.sleep(delay_ms));
        self.inner.layers.runtime.spawn(
            async move {
                if let Some(delay) = delay {
                    delay.await;
                }
                if let Ok(usage) = images.usage().await {
                    this.inner.idb_usage.set(Some(usage));
                }
            }
            .boxed_local(),
        );
    }
}

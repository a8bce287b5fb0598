//! In-memory layers: the hierarchy's traits over plain Rust maps, for native tests and the
//! trace simulation. They keep the same contracts as the browser adapters (versioned keys,
//! untrusted decoding, LRU eviction in the write, quota handling) and count what they are asked,
//! so a test asserts what the "server" saw.
//!
//! A test double: compiled only for tests (`cfg(test)` or the `testing` feature).
//!
//! - this file: the localStorage and IndexedDB stand-ins;
//! - `backend.rs`: a scripted backend and object storage ([`ScriptedBackend`]);
//! - `runtime.rs`: object URLs, locks and a manual-clock executor ([`TestRuntime`]).
//! - `thumbnails.rs`: image decoding for previews ([`InMemoryThumbnails`]).

mod backend;
mod runtime;
mod thumbnails;

pub use backend::{fake_png, BackendCounters, ImageMode, ScriptedBackend};
pub use runtime::{FakeObjectUrls, InMemoryLocks, TestRuntime};
pub use thumbnails::InMemoryThumbnails;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use futures::future::FutureExt;

use super::{handover_notes, ImageStore, LocalFuture, RecordStore, StoreUsage};
use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::Keys;
use crate::policy::lru::{Budget, LruIndex};
use crate::record::{PictureRecord, StoredImage};
use crate::vocabulary::Layer;

/// Image bytes as the native layers carry them.
pub type Bytes = Rc<Vec<u8>>;

/// A localStorage stand-in: a string map with an optional quota, shared with other "tabs" by
/// cloning.
#[derive(Clone)]
pub struct InMemoryRecordStore {
    map: Rc<RefCell<BTreeMap<String, String>>>,
    keys: Keys,
    clock: Rc<dyn Clock>,
    quota_bytes: Rc<Cell<Option<u64>>>,
    shared: bool,
}

impl InMemoryRecordStore {
    /// An empty store for `config`'s namespace and version, shared by the tabs that see it
    /// (localStorage).
    pub fn new(config: &Config, clock: Rc<dyn Clock>) -> Self {
        InMemoryRecordStore {
            map: Rc::default(),
            keys: Keys::new(&config.namespace, config.version),
            clock,
            quota_bytes: Rc::default(),
            shared: true,
        }
    }

    /// An empty store of one context's own (the service worker's records in IndexedDB):
    /// changes heard from other contexts must be applied to it.
    pub fn private(config: &Config, clock: Rc<dyn Clock>) -> Self {
        InMemoryRecordStore {
            shared: false,
            ..Self::new(config, clock)
        }
    }

    /// The same underlying map seen through another namespace or version (another tab, or the
    /// app after a version bump).
    pub fn view(&self, config: &Config) -> Self {
        InMemoryRecordStore {
            keys: Keys::new(&config.namespace, config.version),
            ..self.clone()
        }
    }

    /// Limits the total size of the map, as browsers do (about 5 MB).
    pub fn set_quota(&self, bytes: Option<u64>) {
        self.quota_bytes.set(bytes);
    }

    /// Writes a raw key, as another script (or corruption) would.
    pub fn set_raw(&self, key: &str, value: &str) {
        self.map
            .borrow_mut()
            .insert(key.to_string(), value.to_string());
    }

    /// Reads a raw key.
    pub fn raw(&self, key: &str) -> Option<String> {
        self.map.borrow().get(key).cloned()
    }

    /// Every raw key.
    pub fn raw_keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }

    fn total_bytes(map: &BTreeMap<String, String>) -> u64 {
        map.iter()
            .map(|(k, v)| 2 * (k.len() + v.len()) as u64)
            .sum()
    }

    fn fits(&self, key: &str, value: &str) -> bool {
        let Some(quota) = self.quota_bytes.get() else {
            return true;
        };
        let map = self.map.borrow();
        let replaced = map.get(key).map_or(0, |v| 2 * (key.len() + v.len()) as u64);
        Self::total_bytes(&map) - replaced + 2 * (key.len() + value.len()) as u64 <= quota
    }

    /// Removes the older half of this namespace's records (by `fetchedAt`, unreadable ones first).
    fn evict_own_oldest(&self) -> usize {
        let now = self.clock.now_ms();
        let mut own: Vec<(Millis, String)> = {
            let map = self.map.borrow();
            map.iter()
                .filter(|(k, _)| self.keys.is_own(k))
                .map(|(k, v)| {
                    let at = PictureRecord::fetched_at_of(v).map_or(f64::MIN, |at| at.min(now));
                    (at, k.clone())
                })
                .collect()
        };
        own.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = own.len().div_ceil(2);
        let mut map = self.map.borrow_mut();
        for (_, key) in own.into_iter().take(n) {
            map.remove(&key);
        }
        n
    }
}

impl RecordStore for InMemoryRecordStore {
    fn get(&self, user_id: &str) -> Result<Option<PictureRecord>> {
        let key = self.keys.record_key(user_id);
        let Some(text) = self.raw(&key) else {
            return Ok(None);
        };
        match PictureRecord::decode(&text, user_id, self.keys.version(), self.clock.now_ms()) {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                self.map.borrow_mut().remove(&key);
                Err(e)
            }
        }
    }

    fn put(&self, record: &PictureRecord) -> Result<()> {
        let key = self.keys.record_key(&record.user_id);
        let value = record.to_json();
        if !self.fits(&key, &value) && (self.evict_own_oldest() == 0 || !self.fits(&key, &value)) {
            return Err(Error::QuotaExceeded {
                layer: Layer::Local,
            });
        }
        self.map.borrow_mut().insert(key, value);
        Ok(())
    }

    fn remove(&self, user_id: &str) -> Result<()> {
        self.map.borrow_mut().remove(&self.keys.record_key(user_id));
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        let (keys, notes) = (&self.keys, self.keys.handover_key());
        self.map
            .borrow_mut()
            .retain(|k, _| !keys.is_own(k) && (!keys.is_handover_key(k) || *k == notes));
        self.forget_noted();
        Ok(())
    }

    fn note_learned(&self, users: &[String]) {
        let key = self.keys.handover_key();
        if let Some(text) = handover_notes::noting(self.raw(&key).as_deref(), users) {
            self.map.borrow_mut().insert(key, text);
        }
    }

    fn take_noted(&self) -> Option<Vec<String>> {
        let none_yet = handover_notes::NONE_YET.to_string();
        let held = self
            .map
            .borrow_mut()
            .insert(self.keys.handover_key(), none_yet);
        handover_notes::users(held.as_deref())
    }

    fn forget_noted(&self) {
        let key = self.keys.handover_key();
        if let Some(held) = handover_notes::forgotten(self.raw(&key).as_deref()) {
            self.map.borrow_mut().insert(key, held.to_string());
        }
    }

    fn is_shared(&self) -> bool {
        self.shared
    }

    fn bytes_used(&self) -> u64 {
        let map = self.map.borrow();
        map.iter()
            .filter(|(k, _)| self.keys.is_own(k))
            .map(|(k, v)| 2 * (k.len() + v.len()) as u64)
            .sum()
    }

    fn records(&self) -> Vec<PictureRecord> {
        let now = self.clock.now_ms();
        let map = self.map.borrow();
        map.iter()
            .filter_map(|(k, v)| {
                let parsed = self.keys.parse_any_version(k)?;
                (parsed.layer == Layer::Local && parsed.version == self.keys.version())
                    .then(|| PictureRecord::decode(v, &parsed.id, self.keys.version(), now).ok())?
            })
            .collect()
    }
}

/// A runtime to sleep on and how long each put waits.
type Delay = (Rc<dyn super::Runtime>, Millis);

/// An IndexedDB stand-in: images by versioned key, LRU-bounded, evicting in the same "write".
/// Clones share the same store (another tab).
#[derive(Clone)]
pub struct InMemoryImageStore {
    entries: Rc<RefCell<HashMap<String, StoredImage<Bytes>>>>,
    order: Rc<RefCell<LruIndex<String>>>,
    keys: Keys,
    available: Rc<Cell<bool>>,
    failing: Rc<Cell<bool>>,
    /// How long a put waits before its write lands (IndexedDB's steps before the transaction).
    put_delay: Rc<RefCell<Option<Delay>>>,
    /// Transactions opened (reads and writes), to check batching.
    pub transactions: Rc<Cell<u64>>,
}

impl InMemoryImageStore {
    /// An empty store bounded by `config.idb`.
    pub fn new(config: &Config) -> Self {
        let budget = Budget {
            max_entries: config.idb.max_entries,
            max_bytes: config.idb.max_bytes,
        };
        InMemoryImageStore {
            entries: Rc::default(),
            order: Rc::new(RefCell::new(LruIndex::new(budget))),
            keys: Keys::new(&config.namespace, config.version),
            available: Rc::new(Cell::new(true)),
            failing: Rc::default(),
            put_delay: Rc::default(),
            transactions: Rc::default(),
        }
    }

    /// Makes every put land `ms` of (simulated) time on `runtime` after it is asked for, as a
    /// browser's does after opening its connection and reading the writer mark.
    pub fn set_put_delay(&self, runtime: Rc<dyn super::Runtime>, ms: Millis) {
        *self.put_delay.borrow_mut() = Some((runtime, ms));
    }

    /// Makes every operation fail (a lost or broken database) until called with `false`.
    pub fn set_failing(&self, failing: bool) {
        self.failing.set(failing);
    }

    /// Marks the store missing altogether (no IndexedDB in this browser).
    pub fn set_available(&self, available: bool) {
        self.available.set(available);
    }

    /// Removes the hash from an image's row, as older code wrote rows.
    pub fn clear_thumbhash(&self, image_id: &str) {
        if let Some(image) = self
            .entries
            .borrow_mut()
            .get_mut(&self.keys.image_key(image_id))
        {
            image.meta.thumbhash = None;
        }
    }

    /// Whether an image is stored.
    pub fn contains(&self, image_id: &str) -> bool {
        self.entries
            .borrow()
            .contains_key(&self.keys.image_key(image_id))
    }

    /// Writes `image` now, evicting what the LRU budget pushes out (their ids).
    fn write(&self, image: StoredImage<Bytes>) -> Result<Vec<String>> {
        self.begin().map(|_| {
            let mut image = image;
            let key = self.keys.image_key(&image.meta.image_id);
            if image.meta.thumbhash.is_none() {
                // The image's hash outlives a rewrite of its bytes, as in IndexedDB.
                image.meta.thumbhash = self
                    .entries
                    .borrow()
                    .get(&key)
                    .and_then(|e| e.meta.thumbhash.clone());
            }
            let evicted = self.order.borrow_mut().insert(
                key.clone(),
                image.meta.bytes,
                image.meta.last_access,
            );
            let mut entries = self.entries.borrow_mut();
            entries.insert(key, image);
            evicted
                .into_iter()
                .filter_map(|k| entries.remove(&k).map(|e| e.meta.image_id))
                .collect()
        })
    }

    fn begin(&self) -> Result<()> {
        self.transactions.set(self.transactions.get() + 1);
        if self.failing.get() {
            return Err(Error::Js {
                name: "InvalidStateError".into(),
                message: "The database connection is closing.".into(),
            });
        }
        Ok(())
    }

    fn read(&self, image_id: &str) -> Option<StoredImage<Bytes>> {
        self.entries
            .borrow()
            .get(&self.keys.image_key(image_id))
            .cloned()
    }
}

impl ImageStore<Bytes> for InMemoryImageStore {
    fn get(&self, image_id: &str) -> LocalFuture<'_, Result<Option<StoredImage<Bytes>>>> {
        let result = self.begin().map(|_| self.read(image_id));
        async move { result }.boxed_local()
    }

    fn get_many<'a>(
        &'a self,
        ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<Option<StoredImage<Bytes>>>>> {
        let result = self
            .begin()
            .map(|_| ids.iter().map(|id| self.read(id)).collect());
        async move { result }.boxed_local()
    }

    fn put(&self, image: StoredImage<Bytes>) -> LocalFuture<'_, Result<Vec<String>>> {
        let delay = self
            .put_delay
            .borrow()
            .as_ref()
            .map(|(rt, ms)| rt.sleep(*ms));
        if let Some(delay) = delay {
            return async move {
                delay.await;
                self.write(image)
            }
            .boxed_local();
        }
        let result = self.write(image);
        async move { result }.boxed_local()
    }

    fn touch<'a>(&'a self, accesses: &'a [(String, Millis)]) -> LocalFuture<'a, Result<()>> {
        let result = self.begin().map(|_| {
            let mut order = self.order.borrow_mut();
            for (id, at) in accesses {
                order.touch(&self.keys.image_key(id), *at);
            }
        });
        async move { result }.boxed_local()
    }

    fn remove<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<()>> {
        let result = self.begin().map(|_| {
            let key = self.keys.image_key(image_id);
            self.order.borrow_mut().remove(&key);
            self.entries.borrow_mut().remove(&key);
        });
        async move { result }.boxed_local()
    }

    fn clear(&self) -> LocalFuture<'_, Result<()>> {
        let result = self.begin().map(|_| {
            self.order.borrow_mut().clear();
            self.entries.borrow_mut().clear();
        });
        async move { result }.boxed_local()
    }

    fn usage(&self) -> LocalFuture<'_, Result<StoreUsage>> {
        let order = self.order.borrow();
        let usage = StoreUsage {
            bytes: order.bytes(),
            entries: order.len() as u64,
        };
        async move { Ok(usage) }.boxed_local()
    }

    fn thumbhash(&self, image_id: &str) -> Option<String> {
        self.read(image_id)?.meta.thumbhash
    }

    fn set_thumbhash<'a>(
        &'a self,
        image_id: &'a str,
        thumbhash: &'a str,
    ) -> LocalFuture<'a, Result<()>> {
        let result = self.begin().map(|_| {
            let key = self.keys.image_key(image_id);
            if let Some(image) = self.entries.borrow_mut().get_mut(&key) {
                image
                    .meta
                    .thumbhash
                    .get_or_insert_with(|| thumbhash.to_string());
            }
        });
        async move { result }.boxed_local()
    }

    fn is_available(&self) -> bool {
        self.available.get()
    }
}

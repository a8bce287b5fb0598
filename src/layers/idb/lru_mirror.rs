//! The in-memory mirror of what the database holds: an [`LruIndex`] of image id → bytes and last
//! access, so that eviction decisions and [`crate::layers::ImageStore::usage`] never touch
//! IndexedDB.
//!
//! It is rebuilt on open and whenever it may disagree with the database (a write failed, or the
//! connection was reopened): one readonly transaction reads the metadata with two bulk reads
//! (`getAllKeys` and `getAll`, one event each instead of one per row, which is what start-up with
//! thousands of stored images costs) and the keys of `images` (never the bodies). Rows of another
//! version, rows that fail [`crate::record::ImageMeta::check`], metadata without an image and
//! images without metadata are deleted then: the lazy cleanup of a version bump.
//!
//! Beside the index it keeps the ThumbHash of each row that has one (about 30 bytes an image),
//! so that a preview is found by image id without a transaction.

use crate::collections::{HashMap, HashSet};
use std::cell::{Cell, RefCell};

use wasm_bindgen::JsValue;

use super::codec::{RowCodec, WRITER_KEY};
use super::driver::Conn;
use crate::clock::Millis;
use crate::error::Result;
use crate::layers::StoreUsage;
use crate::policy::lru::{Budget, LruIndex};
use crate::record::ImageMeta;

/// The LRU mirror, and whether it must be reloaded before it is trusted again.
pub(super) struct Mirror {
    index: RefCell<LruIndex<String>>,
    /// image → the ThumbHash its row holds (or is about to: see [`Mirror::set_hash`]).
    hashes: RefCell<HashMap<String, String>>,
    stale: Cell<bool>,
}

impl Mirror {
    /// An empty mirror for `budget`, stale until the first [`Mirror::reload`].
    pub fn new(budget: Budget) -> Self {
        Mirror {
            index: RefCell::new(LruIndex::new(budget)),
            hashes: RefCell::default(),
            stale: Cell::new(true),
        }
    }

    /// Bytes and entries held.
    pub fn usage(&self) -> StoreUsage {
        let index = self.index.borrow();
        StoreUsage {
            bytes: index.bytes(),
            entries: index.len() as u64,
        }
    }

    /// The byte budget.
    pub fn max_bytes(&self) -> u64 {
        self.index.borrow().budget().max_bytes
    }

    /// Whether an entry of `bytes` can fit at all.
    pub fn admits(&self, bytes: u64) -> bool {
        self.index.borrow().admits(bytes)
    }

    /// The mirror may disagree with the database: reload it before the next operation.
    pub fn mark_stale(&self) {
        self.stale.set(true);
    }

    /// Whether a reload is due.
    pub fn is_stale(&self) -> bool {
        self.stale.get()
    }

    /// Accounts for an image read from the database: one written by another tab since the
    /// mirror was loaded is added. Returns the ids that pushes out of the budget.
    pub fn note_read(&self, id: &str, meta: &ImageMeta) -> Vec<String> {
        if let Some(hash) = &meta.thumbhash {
            self.set_hash(id, hash);
        }
        let evicted = {
            let mut index = self.index.borrow_mut();
            if index.contains(id) {
                return Vec::new();
            }
            index.insert(id.to_string(), meta.bytes, meta.last_access)
        };
        self.forget_hashes(&evicted);
        evicted
    }

    /// When `id` was last used, if the mirror holds it.
    pub fn last_used(&self, id: &str) -> Option<Millis> {
        self.index.borrow().last_used(id)
    }

    /// Whether `id` is in the mirror.
    pub fn contains(&self, id: &str) -> bool {
        self.index.borrow().contains(id)
    }

    /// The ThumbHash of `id`'s row, if known.
    pub fn hash(&self, id: &str) -> Option<String> {
        self.hashes.borrow().get(id).cloned()
    }

    /// Notes the ThumbHash of `id`, before the write that stores it: a write of the image
    /// planned after this carries it.
    pub fn set_hash(&self, id: &str, hash: &str) {
        self.hashes
            .borrow_mut()
            .entry(id.to_string())
            .or_insert_with(|| hash.to_string());
    }

    /// Forgets the hashes of images no longer stored.
    pub fn forget_hashes(&self, ids: &[String]) {
        let mut hashes = self.hashes.borrow_mut();
        for id in ids {
            hashes.remove(id);
        }
    }

    /// Plans a write: drops `id`'s older copy and returns the victims that make room for
    /// `bytes` (to be deleted in the write's own transaction).
    pub fn plan_put(&self, id: &str, bytes: u64, at: Millis) -> Vec<String> {
        self.index.borrow_mut().insert(id.to_string(), bytes, at)
    }

    /// After `QuotaExceededError` on a write of `id` (`bytes`): the oldest entries that make
    /// room for it ([`LruIndex::plan_quota_room`]: a quarter of them, and twice its bytes),
    /// other than `id` and the victims already chosen; removed from the mirror.
    pub fn evict_for_quota(&self, id: &str, bytes: u64, chosen: &[String]) -> Vec<String> {
        let mut index = self.index.borrow_mut();
        let extra = index.plan_quota_room(bytes, |k| k.as_str() == id || chosen.contains(k));
        for k in &extra {
            index.remove(k);
        }
        extra
    }

    /// Records one use (an answer from memory or storage) at `at`.
    pub fn touch_one(&self, id: &str, at: Millis) {
        self.index.borrow_mut().touch(id, at);
    }

    /// Records reads at the given times.
    pub fn touch(&self, accesses: &[(String, Millis)]) {
        let mut index = self.index.borrow_mut();
        for (id, at) in accesses {
            index.touch(id, *at);
        }
    }

    /// Forgets one image.
    pub fn remove(&self, id: &str) {
        self.index.borrow_mut().remove(id);
        self.hashes.borrow_mut().remove(id);
    }

    /// Forgets every image.
    pub fn clear(&self) {
        self.index.borrow_mut().clear();
        self.hashes.borrow_mut().clear();
    }

    /// Rebuilds the mirror from the database in one readonly transaction, then deletes every
    /// row that is not a valid current-version entry (and what a lowered budget no longer
    /// admits) in one readwrite transaction.
    pub async fn reload(&self, conn: &Conn, codec: &RowCodec, now: Millis) -> Result<()> {
        // Keys and values of `meta` come back in the same key order.
        let [meta_keys, meta_values, image_keys] = conn.scan().await?;

        let images: HashSet<String> = image_keys.iter().filter_map(|k| k.as_string()).collect();
        let mut bad: Vec<JsValue> = image_keys
            .iter()
            .filter(|k| k.as_string().is_none())
            .collect();
        let mut valid: HashSet<String> = HashSet::default();
        let mut entries: Vec<(String, ImageMeta)> = Vec::new();
        for (key, value) in meta_keys.iter().zip(meta_values.iter()) {
            let newer = key.as_string().is_some_and(|k| codec.is_newer_version(&k));
            if newer || key.as_string().as_deref() == Some(WRITER_KEY) {
                continue;
            }
            let checked = key
                .as_string()
                .filter(|k| images.contains(k))
                .and_then(|k| codec.check_row(&k, &value, now).ok().map(|m| (k, m)));
            match checked {
                Some((k, meta)) => {
                    valid.insert(k);
                    entries.push((meta.image_id.clone(), meta));
                }
                None => bad.push(key),
            }
        }
        // Images without (valid) metadata: orphans, old versions, corrupt rows.
        bad.extend(
            images
                .iter()
                .filter(|k| !valid.contains(*k) && !codec.is_newer_version(k))
                .map(|k| JsValue::from_str(k)),
        );
        // Oldest first, so that a budget lowered since the last run keeps the most recent.
        crate::sort::sort_by_f64(&mut entries, |e| e.1.last_access);
        {
            let mut index = self.index.borrow_mut();
            let mut hashes = self.hashes.borrow_mut();
            index.clear();
            hashes.clear();
            for (id, meta) in entries {
                if let Some(hash) = meta.thumbhash {
                    hashes.insert(id.clone(), hash);
                }
                for evicted in index.insert(id, meta.bytes, meta.last_access) {
                    hashes.remove(&evicted);
                    bad.push(codec.js_key(&evicted));
                }
            }
        }
        if !bad.is_empty() {
            conn.delete(&bad).await?;
        }
        self.stale.set(false);
        Ok(())
    }
}

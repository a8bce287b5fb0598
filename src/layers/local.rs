//! The localStorage layer: user id → [`PictureRecord`] as small JSON, under versioned keys
//! (`<ns>:local:<escaped userId>:v<version>`).
//!
//! Nothing read back is trusted: a value that is not this version's record for this user is a
//! miss, and its key is removed. Keys of this namespace written under another version are
//! removed once, when the store is opened ([`LocalRecordStore::new`]): the sweep costs one pass
//! over the keys, and after it no old-version key of this namespace is left to find.
//!
//! The store only ever removes keys of its own namespace ([`Keys::is_own`]; it also writes its
//! notes for the service worker, [`Keys::handover_key`]): the app's keys and other caches' keys
//! are never touched, not even to make room when storage is full.
//!
//! # Why raw `web_sys::Storage` and not `gloo_storage::LocalStorage`
//!
//! gloo-storage is too thin for a layer that must never throw: `LocalStorage::raw()` throws into
//! the app (`expect_throw`) where localStorage is missing or access is denied (opaque origins,
//! sandboxed iframes, workers, storage disabled), its `set` turns an exception that is not an
//! `Error` object into `unreachable!`, its `get` deserialises instead of handing back the text
//! that [`PictureRecord::decode`] must check, and it cannot enumerate keys except by decoding
//! every value of the origin as JSON (`get_all` fails on the app's first non-JSON value). The
//! store therefore holds the `Storage` handle it looked up once, safely, and calls it directly.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::{validate_id, Keys};
use crate::layers::{handover_notes, RecordStore};
use crate::record::PictureRecord;
use crate::vocabulary::Layer;

/// The localStorage layer over `window.localStorage`.
///
/// Never throws and never panics: every browser failure is an [`Error`]. Construct it with
/// [`LocalRecordStore::new`]; it implements [`RecordStore`].
pub struct LocalRecordStore {
    storage: web_sys::Storage,
    keys: Keys,
    clock: Rc<dyn Clock>,
    /// How many old-version keys the opening sweep removed (for diagnostics and tests).
    swept: Cell<usize>,
}

impl std::fmt::Debug for LocalRecordStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRecordStore")
            .field("keys", &self.keys)
            .field("swept", &self.swept.get())
            .finish_non_exhaustive()
    }
}

impl LocalRecordStore {
    /// Opens the layer for `config`'s namespace and version, reading time from `clock`.
    ///
    /// Returns [`Error::StorageUnavailable`] when there is no `window.localStorage` (workers) or
    /// touching it throws (opaque origins, sandboxed iframes, storage disabled by the user).
    /// Removes this namespace's keys written under another version (the lazy cleanup of a
    /// version bump); never touches any other key.
    pub fn new(config: &Config, clock: Rc<dyn Clock>) -> Result<Self> {
        let storage = local_storage()?;
        let store = LocalRecordStore {
            storage,
            keys: Keys::new(&config.namespace, config.version),
            clock,
            swept: Cell::new(0),
        };
        store.swept.set(store.sweep_old_versions());
        Ok(store)
    }

    /// How many old-version keys of this namespace were removed when the store was opened.
    pub fn swept_old_versions(&self) -> usize {
        self.swept.get()
    }

    /// The key `user_id`'s record is stored under.
    pub fn key_of(&self, user_id: &str) -> String {
        self.keys.record_key(user_id)
    }

    /// Every key of the origin's localStorage that belongs to this namespace (any version).
    /// The list is taken before anything is removed, so removing while walking it is safe.
    fn own_keys(&self) -> Vec<String> {
        self.keys_where(|k| self.keys.is_own(k))
    }

    /// The origin's localStorage keys that `wanted`, taken before anything is removed.
    fn keys_where(&self, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let len = self.storage.length().unwrap_or(0);
        (0..len)
            .filter_map(|i| self.storage.key(i).ok().flatten())
            .filter(|k| wanted(k))
            .collect()
    }

    /// Removes the records and the handover notes of this namespace's other versions.
    fn sweep_old_versions(&self) -> usize {
        let old = |k: &str| self.keys.is_old_version(k) || self.keys.is_old_handover_key(k);
        self.keys_where(old)
            .iter()
            .filter(|key| self.storage.remove_item(key).is_ok())
            .count()
    }

    fn read(&self, key: &str) -> Result<Option<String>> {
        self.storage.get_item(key).map_err(js_error)
    }

    /// Frees room for an entry of `needed` bytes by removing this namespace's oldest keys (by
    /// the record's `fetchedAt`; unreadable values go first): half of them, or more when half
    /// does not free `needed` bytes. Returns how many keys were removed.
    fn evict_oldest(&self, needed: u64) -> usize {
        let mut candidates: Vec<(Millis, String, u64)> = self
            .own_keys()
            .into_iter()
            .map(|key| {
                let value = self.read(&key).ok().flatten().unwrap_or_default();
                let fetched_at = PictureRecord::fetched_at_of(&value)
                    .filter(|t| t.is_finite())
                    .unwrap_or(Millis::NEG_INFINITY);
                let size = utf16_bytes(&key) + utf16_bytes(&value);
                (fetched_at, key, size)
            })
            .collect();
        crate::sort::sort_by_f64(&mut candidates, |c| c.0);
        let half = candidates.len().div_ceil(2);
        let mut freed = 0;
        let mut removed = 0;
        for (_, key, size) in candidates {
            if removed >= half && freed >= needed {
                break;
            }
            if self.storage.remove_item(&key).is_ok() {
                freed += size;
                removed += 1;
            }
        }
        removed
    }
}

impl RecordStore for LocalRecordStore {
    fn get(&self, user_id: &str) -> Result<Option<PictureRecord>> {
        validate_id("userId", user_id)?;
        let key = self.key_of(user_id);
        let Some(text) = self.read(&key)? else {
            return Ok(None);
        };
        let now = self.clock.now_ms();
        match PictureRecord::decode(&text, user_id, self.keys.version(), now) {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                // Untrusted and unusable: drop it so it is not decoded again.
                let _ = self.storage.remove_item(&key);
                Err(e)
            }
        }
    }

    fn put(&self, record: &PictureRecord) -> Result<()> {
        validate_id("userId", &record.user_id)?;
        if record.version != self.keys.version() {
            return Err(Error::InvalidArgument {
                name: "record",
                reason: format!(
                    "version {} is not the cache's version {}",
                    record.version,
                    self.keys.version()
                ),
            });
        }
        let key = self.key_of(&record.user_id);
        let value = record.to_json();
        match self.storage.set_item(&key, &value).map_err(js_error) {
            Ok(()) => return Ok(()),
            Err(Error::QuotaExceeded { .. }) => {}
            Err(e) => return Err(e),
        }
        // Full: make room among our own keys only, then try once more.
        let needed = utf16_bytes(&key) + utf16_bytes(&value);
        if self.evict_oldest(needed) == 0 {
            return Err(Error::QuotaExceeded {
                layer: Layer::Local,
            });
        }
        self.storage.set_item(&key, &value).map_err(js_error)
    }

    fn put_if_room(&self, record: &PictureRecord) -> Result<()> {
        validate_id("userId", &record.user_id)?;
        if record.version != self.keys.version() {
            return Err(Error::InvalidArgument {
                name: "record",
                reason: "another version".into(),
            });
        }
        // Quota errors come back as `QuotaExceeded`: nothing is evicted to make room.
        self.storage
            .set_item(&self.key_of(&record.user_id), &record.to_json())
            .map_err(js_error)
    }

    fn remove(&self, user_id: &str) -> Result<()> {
        validate_id("userId", user_id)?;
        self.storage
            .remove_item(&self.key_of(user_id))
            .map_err(js_error)
    }

    fn clear(&self) -> Result<()> {
        let mut first_error = None;
        // Other versions' notes go; this version's say "everything" below (`forget_noted`).
        let notes = self.keys.handover_key();
        let own = |k: &str| self.keys.is_own(k) || (self.keys.is_handover_key(k) && k != notes);
        for key in self.keys_where(own) {
            if let Err(e) = self.storage.remove_item(&key) {
                first_error.get_or_insert(js_error(e));
            }
        }
        self.forget_noted();
        first_error.map_or(Ok(()), Err)
    }

    fn bytes_used(&self) -> u64 {
        self.own_keys()
            .iter()
            .map(|key| {
                let value = self.read(key).ok().flatten().unwrap_or_default();
                utf16_bytes(key) + utf16_bytes(&value)
            })
            .sum()
    }

    fn records(&self) -> Vec<PictureRecord> {
        let now = self.clock.now_ms();
        let version = self.keys.version();
        self.own_keys()
            .into_iter()
            .filter_map(|key| {
                let parsed = self.keys.parse_any_version(&key)?;
                if parsed.layer != Layer::Local || parsed.version != version {
                    return None;
                }
                let text = self.read(&key).ok()??;
                PictureRecord::decode(&text, &parsed.id, version, now).ok()
            })
            .collect()
    }

    /// When the list cannot be written (storage full), the notes say "everything" (one
    /// character); if even that fails, the worker asks the backend for those users once.
    fn note_learned(&self, users: &[String]) {
        let key = self.keys.handover_key();
        let held = self.read(&key).ok().flatten();
        if let Some(text) = handover_notes::noting(held.as_deref(), users) {
            if self.storage.set_item(&key, &text).is_err() {
                let _ = self.storage.set_item(&key, handover_notes::EVERYTHING);
            }
        }
    }

    fn take_noted(&self) -> Option<Vec<String>> {
        let key = self.keys.handover_key();
        let held = self.read(&key).ok().flatten();
        if held.as_deref() != Some(handover_notes::NONE_YET) {
            let _ = self.storage.set_item(&key, handover_notes::NONE_YET);
        }
        handover_notes::users(held.as_deref())
    }

    fn forget_noted(&self) {
        let key = self.keys.handover_key();
        if let Some(held) = handover_notes::forgotten(self.read(&key).ok().flatten().as_deref()) {
            if self.storage.set_item(&key, held).is_err() {
                let _ = self.storage.remove_item(&key);
            }
        }
    }

    /// Read in JS, in one call, without decoding (`localTexts` in the
    /// glue, [`crate::js::local_texts`]).
    fn texts(&self) -> Vec<(String, String)> {
        let (prefix, suffix) = self.keys.record_key_bounds();
        let found = crate::js::local_texts(&prefix, suffix);
        let (users, texts) = (Array::from(&found.get(0)), Array::from(&found.get(1)));
        (0..users.length().min(texts.length()))
            .filter_map(|i| Some((users.get(i).as_string()?, texts.get(i).as_string()?)))
            .collect()
    }
}

/// Looks `localStorage` up without ever throwing: missing (workers) or denied (opaque origins)
/// is [`Error::StorageUnavailable`].
fn local_storage() -> Result<web_sys::Storage> {
    let unavailable = |reason: String| Error::StorageUnavailable {
        layer: Layer::Local,
        reason,
    };
    let window = js_sys::global()
        .dyn_into::<web_sys::Window>()
        .map_err(|_| unavailable("no window (localStorage exists only in a page)".into()))?;
    let storage = window
        .local_storage()
        .map_err(|e| unavailable(js_error(e).to_string()))?
        .ok_or_else(|| unavailable("window.localStorage is null".into()))?;
    // Some browsers hand out an object whose every use throws (storage disabled): probe it.
    storage
        .length()
        .map_err(|e| unavailable(js_error(e).to_string()))?;
    Ok(storage)
}

/// Bytes a string occupies in localStorage as browsers count it: UTF-16 code units × 2.
fn utf16_bytes(s: &str) -> u64 {
    s.encode_utf16().count() as u64 * 2
}

/// A thrown value as an [`Error`] of this layer (quota exceptions become
/// [`Error::QuotaExceeded`]).
fn js_error(value: JsValue) -> Error {
    Error::from_storage_js(Layer::Local, &value)
}

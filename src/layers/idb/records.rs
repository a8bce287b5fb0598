//! Picture records kept in IndexedDB, for contexts without localStorage (a service worker).
//!
//! [`IdbRecordStore`] implements the synchronous [`RecordStore`] the hierarchy reads like
//! localStorage: every record of the namespace is read once when the store opens (records are
//! small JSON strings), reads answer from that copy, and writes go to the copy at once and to
//! IndexedDB in a transaction of their own (requests of one connection run in order, so nothing
//! is awaited). Rows of older versions are deleted when the store opens (a newer release's
//! worker, installing beside this one, owns its own). At most [`max_records`] are kept, the
//! most recently fetched. The database is
//! opened, read and written through the layer's driver (`driver.rs`), with the images'
//! database's time limit on the open.
//!
//! # Schema (database `<config.database_name()>:records`, version 1)
//!
//! | store | key | value |
//! |---|---|---|
//! | [`RECORDS_STORE`] | `<ns>:local:<escaped userId>:v<version>` (the localStorage key) | the record's JSON |
//!
//! The images stay in the pages' database ([`crate::layers::idb`]), so pages and the worker
//! share the bytes; only the records, which pages keep in localStorage, live here.
//! [`IdbRecordStore::image_for_url`] maps a presigned URL (without its signature) back to the
//! image id a record names, so a storage-origin `<img>` reuses that image's row.

use crate::collections::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::driver::Conn;
use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::Result;
use crate::key::Keys;
use crate::layers::RecordStore;
use crate::policy::presign::unsigned_url;
use crate::record::PictureRecord;
use crate::vocabulary::Layer;

/// The object store of the records database.
pub const RECORDS_STORE: &str = "records";

/// The records database of a namespace.
pub fn records_database_name(config: &Config) -> String {
    format!("{}:records", config.database_name())
}

/// Empties the records database of `config`'s namespace, if a service worker made one: a
/// logout in a page reaches a worker that is stopped (it reads the database when it starts;
/// a running one also hears the `clear()` from the page). A page that never had a worker
/// creates no database (`indexedDB.databases()`, where the engine has it).
pub async fn clear_worker_records(config: &Config) -> Result<()> {
    super::driver::drop_records(
        &records_database_name(config),
        config.idb.open_timeout_ms,
        None,
    )
    .await
}

/// Deletes `user_id`'s record from the records database of `config`'s namespace, if a service
/// worker made one: an `invalidate` in a page reaches a worker that is stopped (a running one
/// also hears it from the page, and drops its copy).
pub async fn forget_worker_record(config: &Config, user_id: &str) -> Result<()> {
    let key = Keys::new(&config.namespace, config.version).record_key(user_id);
    super::driver::drop_records(
        &records_database_name(config),
        config.idb.open_timeout_ms,
        Some(&Array::of1(&key.into())),
    )
    .await
}

/// User → record over IndexedDB, read once at open, written through.
pub struct IdbRecordStore {
    conn: Conn,
    keys: Keys,
    version: u32,
    clock: Rc<dyn Clock>,
    /// key → JSON, as in the database.
    rows: RefCell<HashMap<String, String>>,
    /// Unsigned image URL → image id, of the stored records that can be downloaded; built on
    /// first use, kept up to date by `put`, dropped by `remove` and `clear`.
    images_by_url: RefCell<Option<HashMap<String, String>>>,
    /// How many records are kept (see [`max_records`]).
    max_records: usize,
}

/// How many records a worker keeps: twice the images IndexedDB keeps (a record per stored
/// image, and as many again for users without a picture or whose image was evicted). Pages'
/// records are bounded by localStorage's quota; the worker's database would grow for as long
/// as the app is used, and is read whole at each start of the worker.
pub fn max_records(config: &Config) -> usize {
    config.idb.max_entries.saturating_mul(2).max(1)
}

impl IdbRecordStore {
    /// Opens (creating) the records database of `config.namespace`, reads its current-version
    /// rows and deletes the rest. Fails where IndexedDB is missing, refuses to open or does
    /// not open within `config.idb.open_timeout_ms`.
    pub async fn open(config: &Config, clock: Rc<dyn Clock>) -> Result<IdbRecordStore> {
        let name = records_database_name(config);
        let conn = Conn::open_records(&name, config.idb.open_timeout_ms).await?;
        let (found_keys, found_values) = conn.all(RECORDS_STORE).await?;
        let keys = Keys::new(&config.namespace, config.version);
        let mut rows = HashMap::default();
        let stale = Array::new();
        for (key, value) in found_keys.iter().zip(found_values.iter()) {
            let parsed = key
                .as_string()
                .and_then(|k| Some((keys.parse_any_version(&k)?, k)))
                .filter(|(p, _)| p.layer == Layer::Local);
            match (parsed, value.as_string()) {
                (Some((p, k)), Some(v)) if p.version == config.version => {
                    rows.insert(k, v);
                }
                // A newer release's worker, installing beside this one, owns its rows.
                (Some((p, _)), _) if p.version > config.version => {}
                _ => {
                    stale.push(&Array::of1(&key));
                }
            }
        }
        let store = IdbRecordStore {
            conn,
            keys,
            version: config.version,
            clock,
            rows: RefCell::new(rows),
            images_by_url: RefCell::new(None),
            max_records: max_records(config),
        };
        for key in store.over_the_limit() {
            stale.push(&Array::of1(&key.into()));
        }
        if stale.length() > 0 {
            store.write(stale);
        }
        Ok(store)
    }

    /// Past [`max_records`], the oldest tenth of the records by `fetchedAt` (unreadable ones
    /// first), taken out of the copy; returns their keys, to delete.
    fn over_the_limit(&self) -> Vec<String> {
        let mut rows = self.rows.borrow_mut();
        if rows.len() <= self.max_records {
            return Vec::new();
        }
        let keep = self.max_records - self.max_records / 10;
        let mut aged: Vec<(Millis, String)> = rows
            .iter()
            .map(|(k, v)| {
                let at = PictureRecord::fetched_at_of(v).filter(|t| t.is_finite());
                (at.unwrap_or(Millis::NEG_INFINITY), k.clone())
            })
            .collect();
        crate::sort::sort_by_f64(&mut aged, |a| a.0);
        let gone: Vec<String> = aged
            .into_iter()
            .take(rows.len() - keep)
            .map(|(_, k)| k)
            .collect();
        for key in &gone {
            rows.remove(key);
        }
        drop(rows);
        if !gone.is_empty() {
            *self.images_by_url.borrow_mut() = None;
        }
        gone
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        self.rows.borrow().len()
    }

    /// Whether no record is stored.
    pub fn is_empty(&self) -> bool {
        self.rows.borrow().is_empty()
    }

    /// The image id of a stored record whose presigned URL, without its signature
    /// ([`unsigned_url`]), is `unsigned`: the same image as a storage-origin request for it.
    pub fn image_for_url(&self, unsigned: &str) -> Option<String> {
        if self.images_by_url.borrow().is_none() {
            let mut index = HashMap::default();
            for record in self.records() {
                index_record(&mut index, &record);
            }
            *self.images_by_url.borrow_mut() = Some(index);
        }
        self.images_by_url.borrow().as_ref()?.get(unsigned).cloned()
    }

    /// Writes `rows` (see [`Conn::put_rows`]) in a readwrite transaction of its own, issued
    /// now and not awaited (a connection runs its transactions in the order they were made).
    /// A failure is logged, never thrown.
    fn write(&self, rows: Array) {
        let done = self.conn.put_rows(RECORDS_STORE, &rows);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = done.await {
                web_sys::console::warn_2(
                    &"[avatar-cache] record write failed:".into(),
                    &JsValue::from_str(&e.to_string()),
                );
            }
        });
    }
}

impl RecordStore for IdbRecordStore {
    fn get(&self, user_id: &str) -> Result<Option<PictureRecord>> {
        let key = self.keys.record_key(user_id);
        let Some(text) = self.rows.borrow().get(&key).cloned() else {
            return Ok(None);
        };
        match PictureRecord::decode(&text, user_id, self.version, self.clock.now_ms()) {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                self.remove(user_id)?;
                Err(e)
            }
        }
    }

    fn put(&self, record: &PictureRecord) -> Result<()> {
        let key = self.keys.record_key(&record.user_id);
        let text = record.to_json();
        self.rows.borrow_mut().insert(key.clone(), text.clone());
        if let Some(index) = self.images_by_url.borrow_mut().as_mut() {
            index_record(index, record);
        }
        let rows = Array::of1(&Array::of2(&key.into(), &text.into()));
        for old in self.over_the_limit() {
            rows.push(&Array::of1(&old.into()));
        }
        self.write(rows);
        Ok(())
    }

    fn remove(&self, user_id: &str) -> Result<()> {
        let key = self.keys.record_key(user_id);
        self.rows.borrow_mut().remove(&key);
        *self.images_by_url.borrow_mut() = None;
        self.write(Array::of1(&Array::of1(&key.into())));
        Ok(())
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn clear(&self) -> Result<()> {
        self.rows.borrow_mut().clear();
        *self.images_by_url.borrow_mut() = None;
        self.write(Array::of1(&Array::of1(&JsValue::NULL)));
        Ok(())
    }

    fn bytes_used(&self) -> u64 {
        self.rows
            .borrow()
            .iter()
            .map(|(k, v)| 2 * (k.encode_utf16().count() + v.encode_utf16().count()) as u64)
            .sum()
    }

    fn records(&self) -> Vec<PictureRecord> {
        let now = self.clock.now_ms();
        let rows: Vec<(String, String)> = self
            .rows
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rows.into_iter()
            .filter_map(|(key, text)| {
                let user = self.keys.parse_any_version(&key)?.id;
                PictureRecord::decode(&text, &user, self.version, now).ok()
            })
            .collect()
    }
}

/// Adds `record`'s unsigned URL → image id, for a record whose bytes can be stored and that
/// kept its URL: one written without it (`local.storeUrls: false`) names the default picture's
/// URL instead, which must never answer as that user's image.
fn index_record(index: &mut HashMap<String, String>, record: &PictureRecord) {
    let kept_url = record.url_expires_at > record.fetched_at;
    if let (Some(image), false, true) = (&record.image_id, record.opaque, kept_url) {
        index.insert(unsigned_url(&record.remote_url), image.clone());
    }
}

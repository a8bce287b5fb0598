//! The IndexedDB layer: image id → bytes + [`ImageMeta`], LRU by last access within a byte
//! budget and an entry cap.
//!
//! # Schema (database `config.database_name()`, IndexedDB version = [`SCHEMA_VERSION`])
//!
//! | store | key | value |
//! |---|---|---|
//! | [`IMAGES_STORE`] | `<ns>:idb:<escaped imageId>:v<version>` | `{ blob }`, or `{ bytes: ArrayBuffer, mime }` where Blobs cannot be stored |
//! | [`META_STORE`] | the same key | the [`ImageMeta`] fields (`imageId, mime, bytes, etag?, storedAt, lastAccess, version`), index `lastAccess` |
//!
//! Metadata lives apart from the bytes so that LRU scans and touches never load an image. The
//! schema version is the database version: `onupgradeneeded` steps through every migration
//! from the version found (`0` = new database) to [`SCHEMA_VERSION`], so a later schema adds a
//! step and keeps the older ones. Version 1 (one `images` store whose rows carried the metadata
//! beside the blob) is migrated row by row: each readable row gets its `meta` row.
//!
//! # What is kept in memory
//!
//! On open, one readonly pass over `meta` (a cursor) and the keys of `images` (never the blobs)
//! fill an [`LruIndex`] mirror: eviction decisions and [`ImageStore::usage`] never touch
//! IndexedDB. Rows of another version, rows that fail [`ImageMeta::check`], metadata without an
//! image and images without metadata are deleted then (the lazy cleanup of a version bump).
//!
//! # Transactions
//!
//! Every transaction lives in one function that first gathers what it needs (a Blob's bytes for
//! the fallback), then opens the transaction, issues its requests and awaits nothing but them:
//! IndexedDB commits a transaction as soon as no request is pending, so awaiting anything else
//! would write half an operation. A `put` that overflows the budget deletes its LRU victims in
//! the same readwrite transaction as the write.
//!
//! # Engines that refuse Blobs
//!
//! Some engines and contexts cannot store a Blob (`DataCloneError`; WebKit in private or
//! ephemeral sessions aborts with `UnknownError: Error preparing Blob/File data`). The store
//! then reads the Blob's bytes before the transaction and stores `{ bytes, mime }`, for this
//! store and every later one of the page, and rebuilds a Blob of the recorded type on read.
//! The image is always the first request of its transaction: after other requests WebKit can
//! stall such a transaction instead of aborting it. As a last guard every operation runs under a
//! watchdog ([`WATCHDOG_MS`] plus the open timeout): an engine that stops answering makes the
//! store unavailable instead of hanging the caller.
//!
//! # Why raw web-sys and not rexie
//!
//! rexie 0.6 (and the `idb` crate under it) cannot do what this layer must: it never exposes the
//! `IDBDatabase` (no `versionchange`/`close` listeners, so a connection lost to another tab or
//! to "clear site data" goes unnoticed), it gives no `blocked` event and no way to close a
//! connection that finishes opening after the caller gave up waiting (that connection would
//! block every later upgrade and delete), its upgrade is declarative (no data migration between
//! schema versions, and it `expect`s, i.e. panics, inside `onupgradeneeded`), and it reports a
//! transaction aborted by `QuotaExceededError` as a plain "aborted" without the exception's name.
//! The few request/transaction/cursor futures it would have provided are below, each unhooking
//! its listeners when dropped.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::future::{select, Either};
use futures::FutureExt;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, IdbCursorWithValue, IdbDatabase, IdbFactory, IdbObjectStore,
    IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent,
};

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::{validate_id, Keys};
use crate::layers::{ImageStore, LocalFuture, StoreUsage};
use crate::policy::lru::{Budget, LruIndex};
use crate::record::{ImageMeta, StoredImage};
use crate::vocabulary::Layer;

/// The schema (and IndexedDB database) version this code reads and writes.
pub const SCHEMA_VERSION: u32 = 2;
/// The object store holding image bodies.
pub const IMAGES_STORE: &str = "images";
/// The object store holding [`ImageMeta`] rows, under the same keys as [`IMAGES_STORE`].
pub const META_STORE: &str = "meta";
/// The index on `meta.lastAccess`.
pub const LAST_ACCESS_INDEX: &str = "lastAccess";

/// How long one operation may take beyond the open timeout (an operation may have to reopen
/// the connection first) before the engine is considered stuck.
pub const WATCHDOG_MS: u32 = 10_000;

thread_local! {
    /// Set once any store of this page found that the engine refuses to store Blobs (WebKit in
    /// private or ephemeral sessions): later stores go straight to bytes.
    static BLOBS_REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// The IndexedDB layer over one database per namespace.
///
/// Never throws and never panics: every failure is an [`Error`]. A connection closed by another
/// tab (upgrade, delete) or by the browser is reopened once on the next call; if that fails the
/// store reports [`ImageStore::is_available`] = `false` and answers
/// [`Error::StorageUnavailable`] from then on.
pub struct IdbImageStore {
    name: String,
    keys: Keys,
    clock: Rc<dyn Clock>,
    max_image_bytes: u64,
    allowed_types: Vec<String>,
    open_timeout_ms: u32,
    conn: RefCell<Option<Rc<Conn>>>,
    mirror: RefCell<LruIndex<String>>,
    /// The mirror may disagree with the database (a write failed, or the connection was
    /// reopened): it is reloaded before the next operation.
    mirror_stale: Cell<bool>,
    /// Store `{ bytes, mime }` instead of `{ blob }` (forced, or after a `DataCloneError`).
    store_bytes: Cell<bool>,
    /// Why the database is gone for this store's lifetime (reopening failed, or the engine
    /// stopped answering); `None` while it is usable.
    unavailable: RefCell<Option<String>>,
    closed: Cell<bool>,
    /// Writes still to be refused as if the origin's quota were used up (see
    /// [`IdbImageStore::refuse_writes_for_quota`]).
    quota_faults: Cell<u32>,
}

impl std::fmt::Debug for IdbImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdbImageStore")
            .field("name", &self.name)
            .field("entries", &self.mirror.borrow().len())
            .field("bytes", &self.mirror.borrow().bytes())
            .field("store_bytes", &self.store_bytes.get())
            .field("available", &self.is_available())
            .finish_non_exhaustive()
    }
}

impl IdbImageStore {
    /// Opens (creating or migrating) the database `config.database_name()` and loads the LRU
    /// mirror, deleting old-version and corrupt rows.
    ///
    /// Never hangs: when `indexedDB` is missing or refuses to open, or another tab blocks the
    /// upgrade for longer than `config.idb.open_timeout_ms`, this returns an error (the caller
    /// works without IndexedDB). A connection that opens after the wait was given up is closed
    /// at once, so it blocks nobody.
    pub async fn open(config: &Config, clock: Rc<dyn Clock>) -> Result<IdbImageStore> {
        Self::open_with(config, clock, false).await
    }

    /// Like [`IdbImageStore::open`], but stores every image as bytes + MIME type instead of a
    /// Blob: the fallback used automatically when the engine refuses to store Blobs
    /// (`DataCloneError`), forced here so that the path can be tested and chosen up front.
    pub async fn open_storing_bytes(
        config: &Config,
        clock: Rc<dyn Clock>,
    ) -> Result<IdbImageStore> {
        Self::open_with(config, clock, true).await
    }

    async fn open_with(
        config: &Config,
        clock: Rc<dyn Clock>,
        store_bytes: bool,
    ) -> Result<IdbImageStore> {
        let store = IdbImageStore {
            name: config.database_name(),
            keys: Keys::new(&config.namespace, config.version),
            clock,
            max_image_bytes: config.max_image_bytes,
            allowed_types: config.allowed_types.clone(),
            open_timeout_ms: config.idb.open_timeout_ms,
            conn: RefCell::new(None),
            mirror: RefCell::new(LruIndex::new(Budget {
                max_entries: config.idb.max_entries,
                max_bytes: config.idb.max_bytes,
            })),
            mirror_stale: Cell::new(true),
            store_bytes: Cell::new(store_bytes || BLOBS_REFUSED.with(Cell::get)),
            unavailable: RefCell::new(None),
            closed: Cell::new(false),
            quota_faults: Cell::new(0),
        };
        // The bounded wait covers the whole open: the connection and the first load.
        let opening = async {
            let conn = Rc::new(open_connection(&store.name).await?);
            store.load(&conn).await?;
            store.mirror_stale.set(false);
            Ok::<_, Error>(conn)
        };
        let conn = with_timeout(opening, store.open_timeout_ms).await?;
        *store.conn.borrow_mut() = Some(conn);
        Ok(store)
    }

    /// Closes the connection. Every later call answers [`Error::Closed`]; dropping the store
    /// closes it too.
    pub fn close(&self) {
        self.closed.set(true);
        self.conn.borrow_mut().take();
    }

    /// Whether images are stored as bytes + MIME type rather than as Blobs.
    pub fn stores_bytes(&self) -> bool {
        self.store_bytes.get()
    }

    /// Makes the next `writes` writes fail as a full origin makes them fail
    /// (`QuotaExceededError`), without touching the database: browsers offer no portable way to
    /// fill an origin's quota from a test, and the recovery (evict, retry once) must be tested.
    #[doc(hidden)]
    pub fn refuse_writes_for_quota(&self, writes: u32) {
        self.quota_faults.set(writes);
    }

    /// Runs one operation under the watchdog: an engine that neither commits nor aborts a
    /// transaction (WebKit can stall a transaction on a Blob it cannot persist) would otherwise
    /// hang this call and every later one queued behind that transaction. Past the deadline the
    /// store gives up on IndexedDB for good: [`Error::StorageUnavailable`] from then on.
    async fn guarded<T>(&self, operation: impl Future<Output = Result<T>>) -> Result<T> {
        let ms = WATCHDOG_MS.saturating_add(self.open_timeout_ms);
        match select(Box::pin(operation), sleep(ms)).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                let reason =
                    format!("IndexedDB stopped answering (an operation took over {ms} ms)");
                *self.unavailable.borrow_mut() = Some(reason.clone());
                self.conn.borrow_mut().take();
                Err(self.unavailable_error(&reason))
            }
        }
    }

    fn key_of(&self, image_id: &str) -> String {
        self.keys.image_key(image_id)
    }

    fn unavailable_error(&self, reason: &str) -> Error {
        Error::StorageUnavailable {
            layer: Layer::IndexedDb,
            reason: reason.to_string(),
        }
    }

    /// The open connection, reopened once if it was lost, with the mirror reloaded if stale.
    async fn connection(&self) -> Result<Rc<Conn>> {
        if self.closed.get() {
            return Err(Error::Closed);
        }
        let gone = self.unavailable.borrow().clone();
        if let Some(reason) = gone {
            return Err(self.unavailable_error(&reason));
        }
        let current = self.conn.borrow().clone();
        let conn = match current {
            Some(conn) if !conn.lost.get() => conn,
            _ => {
                // Closed under us (another tab upgraded or deleted the database, or the user
                // cleared site data): reopen once.
                self.conn.borrow_mut().take();
                let reopened =
                    with_timeout(open_connection(&self.name), self.open_timeout_ms).await;
                match reopened {
                    Ok(conn) => {
                        let installed = self.conn.borrow().clone();
                        match installed {
                            // Another call reopened meanwhile: use that connection.
                            Some(other) if !other.lost.get() => other,
                            _ => {
                                let conn = Rc::new(conn);
                                *self.conn.borrow_mut() = Some(conn.clone());
                                self.mirror_stale.set(true);
                                conn
                            }
                        }
                    }
                    Err(e) => {
                        let reason = format!("reopening after the connection was lost failed: {e}");
                        *self.unavailable.borrow_mut() = Some(reason.clone());
                        return Err(self.unavailable_error(&reason));
                    }
                }
            }
        };
        if self.mirror_stale.replace(false) {
            if let Err(e) = self.load(&conn).await {
                self.mirror_stale.set(true);
                return Err(e);
            }
        }
        Ok(conn)
    }

    /// Rebuilds the mirror from the database in one readonly transaction (metadata by cursor,
    /// image keys only), then deletes every row that is not a valid current-version entry.
    async fn load(&self, conn: &Conn) -> Result<()> {
        let tx = conn.transaction(IdbTransactionMode::Readonly)?;
        let done = TxFuture::new(&tx);
        // Two bulk reads of the metadata (keys and values come back in the same key order)
        // rather than a cursor: one event each instead of one per row, which is what start-up
        // with thousands of stored images costs.
        let metas = store(&tx, META_STORE)?;
        let meta_keys = RequestFuture::new(metas.get_all_keys().map_err(js_error)?);
        let meta_values = RequestFuture::new(metas.get_all().map_err(js_error)?);
        let image_keys =
            RequestFuture::new(store(&tx, IMAGES_STORE)?.get_all_keys().map_err(js_error)?);
        let meta_keys: Array = meta_keys.await?.unchecked_into();
        let meta_values: Array = meta_values.await?.unchecked_into();
        let image_keys: Array = image_keys.await?.unchecked_into();
        done.await?;
        let meta_rows: Vec<(JsValue, JsValue)> = meta_keys.iter().zip(meta_values.iter()).collect();

        let images: HashSet<String> = image_keys.iter().filter_map(|k| k.as_string()).collect();
        let now = self.clock.now_ms();
        let mut bad: Vec<JsValue> = image_keys
            .iter()
            .filter(|k| k.as_string().is_none())
            .collect();
        let mut valid: HashSet<String> = HashSet::new();
        let mut entries: Vec<(String, ImageMeta)> = Vec::new();
        for (key, value) in meta_rows {
            let checked = key
                .as_string()
                .filter(|k| images.contains(k))
                .and_then(|k| self.check_row(&k, &value, now).ok().map(|m| (k, m)));
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
                .filter(|k| !valid.contains(*k))
                .map(|k| JsValue::from_str(k)),
        );
        // Oldest first, so that a budget lowered since the last run keeps the most recent.
        entries.sort_by(|a, b| a.1.last_access.total_cmp(&b.1.last_access));
        {
            let mut mirror = self.mirror.borrow_mut();
            mirror.clear();
            for (id, meta) in entries {
                for evicted in mirror.insert(id, meta.bytes, meta.last_access) {
                    bad.push(JsValue::from_str(&self.key_of(&evicted)));
                }
            }
        }
        if !bad.is_empty() {
            delete_keys(conn, &bad).await?;
        }
        Ok(())
    }

    /// Decodes and checks one metadata row read under `key`.
    fn check_row(&self, key: &str, value: &JsValue, now: Millis) -> Result<ImageMeta> {
        let parsed = self
            .keys
            .parse_any_version(key)
            .filter(|p| p.layer == Layer::IndexedDb && p.version == self.keys.version())
            .ok_or_else(|| corrupt("key of another version or namespace"))?;
        let meta: ImageMeta = serde_wasm_bindgen::from_value(value.clone())
            .map_err(|e| corrupt(format!("not image metadata: {e}")))?;
        meta.check(
            &parsed.id,
            self.keys.version(),
            now,
            self.max_image_bytes,
            &self.allowed_types,
        )?;
        Ok(meta)
    }

    /// Turns the two rows read for `image_id` into an image (`Ok(None)` when both are absent).
    fn decode(
        &self,
        image_id: &str,
        meta: &JsValue,
        body: &JsValue,
        now: Millis,
    ) -> Result<Option<StoredImage<Blob>>> {
        if meta.is_undefined() && body.is_undefined() {
            return Ok(None);
        }
        if body.is_undefined() {
            return Err(corrupt("metadata without an image"));
        }
        let meta = self.check_row(&self.key_of(image_id), meta, now)?;
        let blob = body_to_blob(body, &meta.mime)?;
        if blob.size() != meta.bytes as f64 {
            return Err(corrupt(format!(
                "image holds {} bytes, metadata says {}",
                blob.size(),
                meta.bytes
            )));
        }
        Ok(Some(StoredImage { meta, body: blob }))
    }

    /// Reads `ids` in one readonly transaction; each answer is a hit, a miss or a corrupt
    /// entry (deleted afterwards in a separate readwrite transaction).
    async fn read_many(&self, ids: &[String]) -> Result<Vec<Result<Option<StoredImage<Blob>>>>> {
        for id in ids {
            validate_id("imageId", id)?;
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.connection().await?;
        let tx = conn.transaction(IdbTransactionMode::Readonly)?;
        let done = TxFuture::new(&tx);
        let metas = store(&tx, META_STORE)?;
        let images = store(&tx, IMAGES_STORE)?;
        let mut requests = Vec::with_capacity(ids.len());
        for id in ids {
            let key = JsValue::from_str(&self.key_of(id));
            let meta = metas.get(&key).map_err(|e| abort(&tx, e))?;
            let body = images.get(&key).map_err(|e| abort(&tx, e))?;
            requests.push((meta, body));
        }
        done.await?;

        let now = self.clock.now_ms();
        let mut out = Vec::with_capacity(ids.len());
        let mut bad = Vec::new();
        for (id, (meta, body)) in ids.iter().zip(requests) {
            let meta = meta.result().unwrap_or(JsValue::UNDEFINED);
            let body = body.result().unwrap_or(JsValue::UNDEFINED);
            let answer = self.decode(id, &meta, &body, now);
            match &answer {
                Ok(Some(image)) => {
                    // Written by another tab since the mirror was loaded: account for it, and
                    // drop what it pushes out of the budget.
                    let mut mirror = self.mirror.borrow_mut();
                    if !mirror.contains(id) {
                        let evicted =
                            mirror.insert(id.clone(), image.meta.bytes, image.meta.last_access);
                        bad.extend(evicted.iter().map(|k| JsValue::from_str(&self.key_of(k))));
                    }
                }
                Ok(None) => {
                    self.mirror.borrow_mut().remove(id);
                }
                Err(_) => {
                    self.mirror.borrow_mut().remove(id);
                    bad.push(JsValue::from_str(&self.key_of(id)));
                }
            }
            out.push(answer);
        }
        if !bad.is_empty() {
            // Best effort: a row that cannot be deleted now is deleted at the next open.
            let _ = delete_keys(&conn, &bad).await;
        }
        Ok(out)
    }

    async fn put_image(&self, image: StoredImage<Blob>) -> Result<Vec<String>> {
        let StoredImage { mut meta, body } = image;
        validate_id("imageId", &meta.image_id)?;
        let id = meta.image_id.clone();
        // The store decides what it writes: the real size and the configured version.
        meta.bytes = body.size() as u64;
        meta.version = self.keys.version();
        if !self.allowed_types.contains(&meta.mime) {
            return Err(Error::NotAnImage {
                content_type: meta.mime.clone(),
            });
        }
        if meta.bytes == 0 {
            return Err(Error::InvalidArgument {
                name: "image",
                reason: "is empty".into(),
            });
        }
        let limit = self
            .max_image_bytes
            .min(self.mirror.borrow().budget().max_bytes);
        if meta.bytes > limit || !self.mirror.borrow().admits(meta.bytes) {
            return Err(Error::TooLarge { limit });
        }
        let now = self.clock.now_ms();
        meta.check(
            &id,
            meta.version,
            now,
            self.max_image_bytes,
            &self.allowed_types,
        )
        .map_err(|e| Error::InvalidArgument {
            name: "image",
            reason: e.to_string(),
        })?;
        let meta_value =
            serde_wasm_bindgen::to_value(&meta).map_err(|e| Error::InvalidArgument {
                name: "image",
                reason: e.to_string(),
            })?;

        let conn = self.connection().await?;
        // Gather everything before the transaction: the bytes, when Blobs are not stored.
        let mut value = if self.store_bytes.get() {
            bytes_value(&body, &meta.mime).await?
        } else {
            blob_value(&body)
        };
        let key = self.key_of(&id);
        // Plan on the mirror: `insert` drops this id's older copy, then evicts exactly the
        // victims `plan_room` chooses for the new weight. They are deleted in the write's own
        // transaction below.
        let mut victims = self
            .mirror
            .borrow_mut()
            .insert(id.clone(), meta.bytes, meta.last_access);
        let mut blob_fallback_tried = false;
        let mut quota_retry_tried = false;
        loop {
            let outcome = if self.quota_faults.get() > 0 {
                self.quota_faults.set(self.quota_faults.get() - 1);
                Err(Error::QuotaExceeded {
                    layer: Layer::IndexedDb,
                })
            } else {
                write(&conn, &self.keys, &key, &value, &meta_value, &victims).await
            };
            let error = match outcome {
                Ok(()) => return Ok(victims),
                Err(e) => e,
            };
            if !blob_fallback_tried && !self.store_bytes.get() && refuses_blob(&error) {
                // This engine or context cannot store Blobs: store bytes from now on.
                blob_fallback_tried = true;
                self.store_bytes.set(true);
                BLOBS_REFUSED.with(|r| r.set(true));
                match bytes_value(&body, &meta.mime).await {
                    Ok(v) => value = v,
                    Err(e) => {
                        self.mirror_stale.set(true);
                        return Err(e);
                    }
                }
                continue;
            }
            if error.is_quota() && !quota_retry_tried {
                quota_retry_tried = true;
                let extra = self.evict_quarter(&id, &victims);
                if !extra.is_empty() {
                    victims.extend(extra);
                    continue;
                }
            }
            // Nothing was written and nothing deleted: resynchronise the mirror before the
            // next operation.
            self.mirror_stale.set(true);
            return Err(if error.is_quota() {
                Error::QuotaExceeded {
                    layer: Layer::IndexedDb,
                }
            } else {
                error
            });
        }
    }

    /// After `QuotaExceededError`: a quarter of the entries (at least one), oldest first, other
    /// than `id` and the victims already chosen; removed from the mirror.
    fn evict_quarter(&self, id: &str, chosen: &[String]) -> Vec<String> {
        let mut mirror = self.mirror.borrow_mut();
        let count = mirror.len().div_ceil(4).max(1);
        let extra: Vec<String> = mirror
            .oldest_first()
            .into_iter()
            .filter(|k| k.as_str() != id && !chosen.contains(k))
            .take(count)
            .collect();
        for k in &extra {
            mirror.remove(k);
        }
        extra
    }

    async fn touch_many(&self, accesses: &[(String, Millis)]) -> Result<()> {
        if accesses.is_empty() {
            return Ok(());
        }
        let conn = self.connection().await?;
        let tx = conn.transaction(IdbTransactionMode::Readwrite)?;
        let done = TxFuture::new(&tx);
        let metas = store(&tx, META_STORE)?;
        let mut reads = Vec::with_capacity(accesses.len());
        for (id, at) in accesses {
            let key = JsValue::from_str(&self.key_of(id));
            let request = metas.get(&key).map_err(|e| abort(&tx, e))?;
            reads.push((key, *at, RequestFuture::new(request)));
        }
        // Only IndexedDB requests are awaited: the transaction stays active throughout.
        for (key, at, read) in reads {
            let Ok(mut meta) = serde_wasm_bindgen::from_value::<ImageMeta>(read.await?) else {
                continue; // absent or corrupt: the next get deals with it
            };
            if at > meta.last_access {
                meta.last_access = at;
                let value = serde_wasm_bindgen::to_value(&meta).map_err(|e| {
                    let _ = tx.abort();
                    Error::InvalidArgument {
                        name: "accesses",
                        reason: e.to_string(),
                    }
                })?;
                metas
                    .put_with_key(&value, &key)
                    .map_err(|e| abort(&tx, e))?;
            }
        }
        done.await?;
        let mut mirror = self.mirror.borrow_mut();
        for (id, at) in accesses {
            mirror.touch(id, *at);
        }
        Ok(())
    }

    async fn remove_image(&self, image_id: &str) -> Result<()> {
        validate_id("imageId", image_id)?;
        let conn = self.connection().await?;
        delete_keys(&conn, &[JsValue::from_str(&self.key_of(image_id))]).await?;
        self.mirror.borrow_mut().remove(&image_id.to_string());
        Ok(())
    }

    /// Empties this cache's two stores (other databases, and other namespaces' databases, are
    /// never touched). Clearing the stores rather than deleting the database cannot be blocked
    /// by another tab's open connection.
    async fn clear_all(&self) -> Result<()> {
        let conn = self.connection().await?;
        let tx = conn.transaction(IdbTransactionMode::Readwrite)?;
        let done = TxFuture::new(&tx);
        store(&tx, IMAGES_STORE)?
            .clear()
            .map_err(|e| abort(&tx, e))?;
        store(&tx, META_STORE)?.clear().map_err(|e| abort(&tx, e))?;
        let result = done.await;
        self.mirror.borrow_mut().clear();
        if result.is_err() {
            self.mirror_stale.set(true);
        }
        result
    }
}

impl ImageStore<Blob> for IdbImageStore {
    fn get(&self, image_id: &str) -> LocalFuture<'_, Result<Option<StoredImage<Blob>>>> {
        let ids = vec![image_id.to_string()];
        async move {
            let mut answers = self.guarded(self.read_many(&ids)).await?;
            answers.pop().unwrap_or(Ok(None))
        }
        .boxed_local()
    }

    fn get_many<'a>(
        &'a self,
        ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<Option<StoredImage<Blob>>>>> {
        async move {
            let answers = self.guarded(self.read_many(ids)).await?;
            Ok(answers.into_iter().map(|a| a.ok().flatten()).collect())
        }
        .boxed_local()
    }

    fn put(&self, image: StoredImage<Blob>) -> LocalFuture<'_, Result<Vec<String>>> {
        self.guarded(self.put_image(image)).boxed_local()
    }

    fn touch<'a>(&'a self, accesses: &'a [(String, Millis)]) -> LocalFuture<'a, Result<()>> {
        self.guarded(self.touch_many(accesses)).boxed_local()
    }

    fn remove<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<()>> {
        self.guarded(self.remove_image(image_id)).boxed_local()
    }

    fn clear(&self) -> LocalFuture<'_, Result<()>> {
        self.guarded(self.clear_all()).boxed_local()
    }

    fn usage(&self) -> LocalFuture<'_, Result<StoreUsage>> {
        async move {
            self.guarded(self.connection()).await?;
            let mirror = self.mirror.borrow();
            Ok(StoreUsage {
                bytes: mirror.bytes(),
                entries: mirror.len() as u64,
            })
        }
        .boxed_local()
    }

    fn is_available(&self) -> bool {
        !self.closed.get() && self.unavailable.borrow().is_none()
    }
}

// ---------------------------------------------------------------------------------------------
// Connection

/// An open connection that notices when it is taken away.
struct Conn {
    db: IdbDatabase,
    /// Set by `versionchange` (we close at once so the other tab is not blocked) and `close`
    /// (the browser closed it: storage cleared, disk error).
    lost: Rc<Cell<bool>>,
    _on_versionchange: Closure<dyn FnMut()>,
    _on_close: Closure<dyn FnMut()>,
}

impl Conn {
    fn new(db: IdbDatabase) -> Self {
        let lost = Rc::new(Cell::new(false));
        let on_versionchange = {
            let (db, lost) = (db.clone(), lost.clone());
            Closure::<dyn FnMut()>::new(move || {
                db.close();
                lost.set(true);
            })
        };
        let on_close = {
            let lost = lost.clone();
            Closure::<dyn FnMut()>::new(move || lost.set(true))
        };
        db.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Conn {
            db,
            lost,
            _on_versionchange: on_versionchange,
            _on_close: on_close,
        }
    }

    /// A transaction over both stores. A connection found closing is marked lost, so the next
    /// call reopens it.
    fn transaction(&self, mode: IdbTransactionMode) -> Result<IdbTransaction> {
        let names = Array::of2(&IMAGES_STORE.into(), &META_STORE.into());
        self.db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(|e| {
                let error = js_error(e);
                if matches!(&error, Error::Js { name, .. } if name == "InvalidStateError") {
                    self.lost.set(true);
                }
                error
            })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.set_onclose(None);
        self.db.close();
    }
}

/// Opens the database at [`SCHEMA_VERSION`], running migrations. Not bounded in time: callers
/// race it with [`with_timeout`].
async fn open_connection(name: &str) -> Result<Conn> {
    let factory = idb_factory()?;
    let request =
        factory
            .open_with_u32(name, SCHEMA_VERSION)
            .map_err(|e| Error::StorageUnavailable {
                layer: Layer::IndexedDb,
                reason: js_error(e).to_string(),
            })?;
    let db = OpenFuture::new(request).await?;
    Ok(Conn::new(db))
}

/// `indexedDB` of the page or worker, without throwing (opaque origins throw on access).
fn idb_factory() -> Result<IdbFactory> {
    let unavailable = |reason: String| Error::StorageUnavailable {
        layer: Layer::IndexedDb,
        reason,
    };
    let value = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map_err(|e| unavailable(js_error(e).to_string()))?;
    if value.is_null() || value.is_undefined() {
        return Err(unavailable(
            "indexedDB is not defined in this context".into(),
        ));
    }
    value
        .dyn_into::<IdbFactory>()
        .map_err(|_| unavailable("indexedDB is not an IDBFactory".into()))
}

/// Races `future` with a `ms` timer; the timer's win is [`Error::StorageUnavailable`].
async fn with_timeout<T>(future: impl Future<Output = Result<T>>, ms: u32) -> Result<T> {
    match select(Box::pin(future), sleep(ms)).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(Error::StorageUnavailable {
            layer: Layer::IndexedDb,
            reason: format!(
                "the database did not open within {ms} ms (another tab may hold an older \
                 version open)"
            ),
        }),
    }
}

/// Resolves after `ms` milliseconds (`setTimeout` of the page or worker); dropping it clears the
/// timer.
fn sleep(ms: u32) -> Sleep {
    let global = js_sys::global();
    let timer = |name: &str| {
        Reflect::get(&global, &JsValue::from_str(name))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    };
    let mut handle = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        handle = timer("setTimeout").and_then(|f| f.call2(&global, &resolve, &ms.into()).ok());
        if handle.is_none() {
            // No timer in this context: give up at once rather than wait forever.
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    Sleep {
        future: JsFuture::from(promise),
        handle,
        clear: timer("clearTimeout"),
    }
}

/// A `setTimeout` as a future.
struct Sleep {
    future: JsFuture,
    handle: Option<JsValue>,
    clear: Option<js_sys::Function>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.future).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(handle), Some(clear)) = (&self.handle, &self.clear) {
            let _ = clear.call1(&js_sys::global(), handle);
        }
    }
}

/// Steps the schema from `old_version` to [`SCHEMA_VERSION`] inside the upgrade transaction.
/// A later schema adds an `if old_version < N` step below the others.
fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, old_version: u32) -> Result<()> {
    if old_version < 2 {
        let had_images = db.object_store_names().contains(IMAGES_STORE);
        if !had_images {
            db.create_object_store(IMAGES_STORE).map_err(js_error)?;
        }
        if db.object_store_names().contains(META_STORE) {
            db.delete_object_store(META_STORE).map_err(js_error)?;
        }
        let meta = db.create_object_store(META_STORE).map_err(js_error)?;
        meta.create_index_with_str(LAST_ACCESS_INDEX, "lastAccess")
            .map_err(js_error)?;
        if had_images {
            migrate_v1_rows(tx)?;
        }
    }
    Ok(())
}

/// Schema 1 kept `{ blob, imageId, mime, bytes, etag?, storedAt, lastAccess, version }` in
/// `images`. Each readable row gets its `meta` row; its `images` row stays as it is (schema 2
/// reads its `blob` field and ignores the rest, and re-writing a Blob inside the upgrade would
/// copy it for nothing). Unreadable rows are deleted. Rows are checked again (version, type,
/// size, times) when the mirror is loaded.
fn migrate_v1_rows(tx: &IdbTransaction) -> Result<()> {
    let images = store(tx, IMAGES_STORE)?;
    let metas = store(tx, META_STORE)?;
    let rows = CursorFuture::new(images.open_cursor().map_err(js_error)?);
    let tx = tx.clone();
    // The upgrade transaction stays open while the cursor runs; the writes below are issued
    // from the cursor's last success event, so they join the same transaction.
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(rows) = rows.await else {
            let _ = tx.abort();
            return;
        };
        for (key, value) in rows {
            let meta = serde_wasm_bindgen::from_value::<ImageMeta>(value.clone())
                .ok()
                .and_then(|m| serde_wasm_bindgen::to_value(&m).ok());
            let blob = Reflect::get(&value, &JsValue::from_str("blob"))
                .ok()
                .and_then(|b| b.dyn_into::<Blob>().ok());
            let written = match (meta, blob) {
                (Some(meta), Some(_)) => metas.put_with_key(&meta, &key),
                _ => images.delete(&key),
            };
            if written.is_err() {
                let _ = tx.abort();
                return;
            }
        }
    });
    Ok(())
}

/// Deletes `keys` from both stores in one readwrite transaction.
async fn delete_keys(conn: &Conn, keys: &[JsValue]) -> Result<()> {
    let tx = conn.transaction(IdbTransactionMode::Readwrite)?;
    let done = TxFuture::new(&tx);
    let images = store(&tx, IMAGES_STORE)?;
    let metas = store(&tx, META_STORE)?;
    for key in keys {
        images.delete(key).map_err(|e| abort(&tx, e))?;
        metas.delete(key).map_err(|e| abort(&tx, e))?;
    }
    done.await
}

/// The one readwrite transaction of a `put`: delete the victims, write the image and its
/// metadata, wait for the commit.
async fn write(
    conn: &Conn,
    keys: &Keys,
    key: &str,
    value: &JsValue,
    meta: &JsValue,
    victims: &[String],
) -> Result<()> {
    let tx = conn.transaction(IdbTransactionMode::Readwrite)?;
    let done = TxFuture::new(&tx);
    let images = store(&tx, IMAGES_STORE)?;
    let metas = store(&tx, META_STORE)?;
    let key = JsValue::from_str(key);
    // The image goes first. A Blob the engine cannot clone throws `DataCloneError` here,
    // synchronously; one it cannot persist aborts the transaction with `UnknownError`, and
    // WebKit reports that promptly only when the Blob is the transaction's first request (after
    // other requests it can stall the commit).
    images
        .put_with_key(value, &key)
        .map_err(|e| abort(&tx, e))?;
    metas.put_with_key(meta, &key).map_err(|e| abort(&tx, e))?;
    for victim in victims {
        let victim = JsValue::from_str(&keys.image_key(victim));
        images.delete(&victim).map_err(|e| abort(&tx, e))?;
        metas.delete(&victim).map_err(|e| abort(&tx, e))?;
    }
    done.await
}

// ---------------------------------------------------------------------------------------------
// Values

fn blob_value(blob: &Blob) -> JsValue {
    let value = Object::new();
    let _ = Reflect::set(&value, &JsValue::from_str("blob"), blob);
    value.into()
}

/// `{ bytes: ArrayBuffer, mime }`, read from the Blob before any transaction is opened.
async fn bytes_value(blob: &Blob, mime: &str) -> Result<JsValue> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(js_error)?;
    let value = Object::new();
    let _ = Reflect::set(&value, &JsValue::from_str("bytes"), &buffer);
    let _ = Reflect::set(&value, &JsValue::from_str("mime"), &JsValue::from_str(mime));
    Ok(value.into())
}

/// The stored body as a Blob of type `mime`, whichever form it was stored in.
fn body_to_blob(body: &JsValue, mime: &str) -> Result<Blob> {
    if !body.is_object() {
        return Err(corrupt("image row is not an object"));
    }
    let field = |name: &str| Reflect::get(body, &JsValue::from_str(name)).unwrap_or_default();
    if let Ok(blob) = field("blob").dyn_into::<Blob>() {
        if blob.type_() == mime {
            return Ok(blob);
        }
        // Same bytes, the type the cache decided on (slicing copies nothing).
        return blob
            .slice_with_f64_and_f64_and_content_type(0.0, blob.size(), mime)
            .map_err(js_error);
    }
    let bytes = field("bytes");
    if bytes.is_instance_of::<js_sys::ArrayBuffer>() || bytes.is_instance_of::<js_sys::Uint8Array>()
    {
        let options = BlobPropertyBag::new();
        options.set_type(mime);
        return Blob::new_with_buffer_source_sequence_and_options(&Array::of1(&bytes), &options)
            .map_err(js_error);
    }
    Err(corrupt("image row holds neither a Blob nor bytes"))
}

/// Whether a write failed because the engine cannot store a Blob: `DataCloneError`, or
/// `UnknownError`, which older WebKit reports for Blobs it cannot persist.
fn refuses_blob(error: &Error) -> bool {
    matches!(error, Error::Js { name, .. } if name == "DataCloneError" || name == "UnknownError")
}

fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    tx.object_store(name).map_err(js_error)
}

fn corrupt(reason: impl Into<String>) -> Error {
    Error::CorruptEntry {
        layer: Layer::IndexedDb,
        reason: reason.into(),
    }
}

/// Aborts `tx` after a request could not even be issued, and reports why.
fn abort(tx: &IdbTransaction, e: JsValue) -> Error {
    let _ = tx.abort();
    js_error(e)
}

/// A thrown value or `DOMException` as an [`Error`], keeping its name; quota errors become
/// [`Error::QuotaExceeded`].
fn js_error(value: JsValue) -> Error {
    let field = |name: &str| {
        Reflect::get(&value, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    let name = field("name").unwrap_or_else(|| "Error".into());
    if name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED" {
        return Error::QuotaExceeded {
            layer: Layer::IndexedDb,
        };
    }
    let message = field("message")
        .or_else(|| value.as_string())
        .unwrap_or_default();
    Error::Js { name, message }
}

// ---------------------------------------------------------------------------------------------
// Futures over IndexedDB events. Each sets its `on…` handlers when created and removes them
// when dropped, so a dropped future never leaves a handler pointing at freed Rust memory.

/// A JS event handler owned by Rust.
type EventHandler = Closure<dyn FnMut(JsValue)>;

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    settled: bool,
}

type SharedSlot<T> = Rc<RefCell<Slot<T>>>;

fn slot<T>() -> SharedSlot<T> {
    Rc::new(RefCell::new(Slot {
        value: None,
        waker: None,
        settled: false,
    }))
}

/// Stores the first outcome and wakes the waiting task; later outcomes are handed back.
fn settle<T>(slot: &SharedSlot<T>, value: T) -> Option<T> {
    let waker = {
        let mut s = slot.borrow_mut();
        if s.settled {
            return Some(value);
        }
        s.settled = true;
        s.value = Some(value);
        s.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
    None
}

fn poll_slot<T>(slot: &SharedSlot<T>, cx: &mut Context<'_>) -> Poll<T> {
    let mut s = slot.borrow_mut();
    match s.value.take() {
        Some(value) => Poll::Ready(value),
        None => {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

fn request_error(request: &IdbRequest) -> Error {
    match request.error() {
        Ok(Some(e)) => js_error(e.into()),
        Ok(None) => Error::Js {
            name: "UnknownError".into(),
            message: "the request failed without an error".into(),
        },
        Err(e) => js_error(e),
    }
}

/// A value settled by the first of two IndexedDB events (success or error, complete or abort).
/// The handlers stay alive as long as the future and are removed when it is dropped.
struct EventFuture<T> {
    slot: SharedSlot<Result<T>>,
    _handlers: [Closure<dyn FnMut()>; 2],
    detach: Box<dyn Fn()>,
}

impl<T: 'static> EventFuture<T> {
    /// Runs `first` and `second` on their events; `attach` installs the two handlers, `detach`
    /// removes them.
    fn on_events(
        mut first: impl FnMut(&SharedSlot<Result<T>>) + 'static,
        mut second: impl FnMut(&SharedSlot<Result<T>>) + 'static,
        attach: impl FnOnce(&js_sys::Function, &js_sys::Function),
        detach: impl Fn() + 'static,
    ) -> Self {
        let slot = slot();
        let first = {
            let slot = slot.clone();
            Closure::<dyn FnMut()>::new(move || first(&slot))
        };
        let second = {
            let slot = slot.clone();
            Closure::<dyn FnMut()>::new(move || second(&slot))
        };
        attach(
            first.as_ref().unchecked_ref(),
            second.as_ref().unchecked_ref(),
        );
        EventFuture {
            slot,
            _handlers: [first, second],
            detach: Box::new(detach),
        }
    }

    /// A request: `on_success` settles (or, for a cursor, keeps going); an error settles with
    /// the request's error.
    fn request(
        request: IdbRequest,
        mut on_success: impl FnMut(&IdbRequest, &SharedSlot<Result<T>>) + 'static,
    ) -> Self {
        let (for_success, for_error, for_detach) =
            (request.clone(), request.clone(), request.clone());
        EventFuture::on_events(
            move |slot| on_success(&for_success, slot),
            move |slot| {
                settle(slot, Err(request_error(&for_error)));
            },
            |success, error| {
                request.set_onsuccess(Some(success));
                request.set_onerror(Some(error));
            },
            move || {
                for_detach.set_onsuccess(None);
                for_detach.set_onerror(None);
            },
        )
    }
}

impl<T> Future for EventFuture<T> {
    type Output = Result<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_slot(&self.slot, cx)
    }
}

impl<T> Drop for EventFuture<T> {
    fn drop(&mut self) {
        (self.detach)();
    }
}

/// The result of one request.
type RequestFuture = EventFuture<JsValue>;

impl RequestFuture {
    fn new(request: IdbRequest) -> Self {
        EventFuture::request(request, |request, slot| {
            settle(slot, request.result().map_err(js_error));
        })
    }
}

/// Every `(key, value)` of a cursor, in key order.
type CursorFuture = EventFuture<Vec<(JsValue, JsValue)>>;

impl CursorFuture {
    fn new(request: IdbRequest) -> Self {
        let rows = Rc::new(RefCell::new(Vec::new()));
        EventFuture::request(request, move |request, slot| {
            let cursor = match request.result() {
                Ok(c) if c.is_null() || c.is_undefined() => {
                    settle(slot, Ok(rows.take()));
                    return;
                }
                Ok(c) => c.unchecked_into::<IdbCursorWithValue>(),
                Err(e) => {
                    settle(slot, Err(js_error(e)));
                    return;
                }
            };
            let row = cursor
                .key()
                .and_then(|k| cursor.value().map(|v| (k, v)))
                .and_then(|row| cursor.continue_().map(|()| row));
            match row {
                Ok(row) => rows.borrow_mut().push(row),
                Err(e) => {
                    settle(slot, Err(js_error(e)));
                }
            }
        })
    }
}

/// Resolves when a transaction commits (`Ok`) or aborts (`Err` with the transaction's error,
/// e.g. `QuotaExceededError` at commit, as [`Error::QuotaExceeded`]).
type TxFuture = EventFuture<()>;

impl TxFuture {
    fn new(tx: &IdbTransaction) -> Self {
        let (for_abort, for_attach, for_detach) = (tx.clone(), tx.clone(), tx.clone());
        EventFuture::on_events(
            |slot| {
                settle(slot, Ok(()));
            },
            move |slot| {
                let error = match for_abort.error() {
                    Some(e) => js_error(e.into()),
                    None => Error::Js {
                        name: "AbortError".into(),
                        message: "the transaction was aborted".into(),
                    },
                };
                settle(slot, Err(error));
            },
            |complete, abort| {
                for_attach.set_oncomplete(Some(complete));
                for_attach.set_onabort(Some(abort));
            },
            move || {
                for_detach.set_oncomplete(None);
                for_detach.set_onabort(None);
            },
        )
    }
}

/// An open request. Unlike the other futures it may be dropped before it settles (the open
/// timed out): its handlers then stay installed, and a connection that opens later is closed at
/// once so that it blocks no other tab's upgrade or delete.
struct OpenFuture {
    request: IdbOpenDbRequest,
    slot: SharedSlot<Result<IdbDatabase>>,
    abandoned: Rc<Cell<bool>>,
    handlers: Option<[EventHandler; 3]>,
}

impl OpenFuture {
    fn new(request: IdbOpenDbRequest) -> Self {
        let slot = slot();
        let abandoned = Rc::new(Cell::new(false));
        let on_upgrade = {
            let (slot, request, abandoned) = (slot.clone(), request.clone(), abandoned.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Some(tx) = request.transaction() else {
                    return;
                };
                if abandoned.get() {
                    // Nobody waits for this connection any more: leave the schema as it was.
                    let _ = tx.abort();
                    return;
                }
                let old_version = event
                    .dyn_into::<IdbVersionChangeEvent>()
                    .map(|e| e.old_version())
                    .unwrap_or(0.0) as u32;
                let upgraded = request
                    .result()
                    .map_err(js_error)
                    .and_then(|db| upgrade(&db.unchecked_into(), &tx, old_version));
                if let Err(e) = upgraded {
                    let _ = tx.abort();
                    settle(&slot, Err(e));
                }
            })
        };
        let on_success = {
            let (slot, request, abandoned) = (slot.clone(), request.clone(), abandoned.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                let Ok(db) = request.result() else {
                    settle(&slot, Err(request_error(&request)));
                    return;
                };
                let db: IdbDatabase = db.unchecked_into();
                if abandoned.get() {
                    db.close();
                } else if let Some(Ok(late)) = settle(&slot, Ok(db)) {
                    late.close();
                }
            })
        };
        let on_error = {
            let (slot, request) = (slot.clone(), request.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                settle(&slot, Err(request_error(&request)));
            })
        };
        request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        request.set_onsuccess(Some(on_success.as_ref().unchecked_ref()));
        request.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        OpenFuture {
            request,
            slot,
            abandoned,
            handlers: Some([on_upgrade, on_success, on_error]),
        }
    }
}

impl Future for OpenFuture {
    type Output = Result<IdbDatabase>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_slot(&self.slot, cx)
    }
}

impl Drop for OpenFuture {
    fn drop(&mut self) {
        let (settled, unclaimed) = {
            let mut s = self.slot.borrow_mut();
            (s.settled, s.value.take())
        };
        if let Some(Ok(db)) = unclaimed {
            // Opened just as the wait was given up.
            db.close();
        }
        if settled {
            self.request.set_onupgradeneeded(None);
            self.request.set_onsuccess(None);
            self.request.set_onerror(None);
        } else if let Some(handlers) = self.handlers.take() {
            // Still pending (blocked): the handlers must outlive this future to close the late
            // connection. Three small closures per abandoned open are leaked on purpose.
            self.abandoned.set(true);
            for handler in handlers {
                handler.forget();
            }
        }
    }
}

//! The IndexedDB layer: image id → bytes + [`ImageMeta`], LRU by last access within a byte
//! budget and an entry cap.
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | [`IdbImageStore`]: the [`ImageStore`] operations, writes, the watchdog, following other tabs' writes |
//! | `reads.rs` | reads of several images in one transaction |
//! | `connection.rs` | the connection of one store: reopened once when lost, then given up on |
//! | `driver.rs` | the IndexedDB calls, in JS: open within a time limit (`versionchange`/`close`/`blocked`, the upgrade), one function per kind of transaction |
//! | `schema.rs` | stores, index, schema versions |
//! | `records.rs` | [`records::IdbRecordStore`]: picture records in a database of their own, for the service worker (no localStorage) |
//! | `lru_mirror.rs` | the in-memory LRU index of what is stored, and how it is rebuilt |
//! | `codec.rs` | row values ⇄ [`StoredImage`], checked on every read |
//!
//! # Transactions
//!
//! Each operation is one call into the driver, which opens one transaction, issues every
//! request in it and settles one promise: at the commit for writes (`idbRun` is idb-keyval's
//! `withStore`), at the last request's success for reads (a readonly transaction has nothing to
//! commit). IndexedDB commits a transaction as soon as no request is pending, so nothing but
//! its own requests may be awaited inside one: what an operation needs (a Blob's bytes for the
//! fallback, the LRU victims) is decided before the call. A `put` that overflows the budget
//! deletes its LRU victims in the same readwrite transaction as the write. A `put` refused by
//! the origin's quota (`QuotaExceededError`) deletes those victims and the oldest of the rest
//! (a quarter of the rows, and twice the new image's bytes: see
//! [`crate::policy::lru::LruIndex::plan_quota_room`]) in a transaction of its own, then is made
//! again once: engines count a put against the quota before the deletes beside it (Chromium
//! refuses a 100 KB put next to the deletes of 800 KB of rows when the origin is full), so only
//! space already freed makes room. The read of stored images (see `reads.rs`) is a readonly
//! transaction of the `images` store alone; the one decision taken inside a transaction, how
//! to read a batch, is asked of Rust from the key read's success event.
//!
//! # Bytes, and engines that refuse Blobs
//!
//! Images whose bytes are in hand (every download and upload) are stored as
//! `{ bytes: ArrayBuffer, mime }` and read back as bytes: no Blob is made on either side (see
//! [`Body`]). A Blob-backed body (a row written as a Blob by an earlier version) is stored as a
//! Blob, except where the engine cannot store one (`DataCloneError`; WebKit in private or
//! ephemeral sessions aborts with `UnknownError: Error preparing Blob/File data`): the store
//! then reads the Blob's bytes before the transaction and stores them, for this store and every
//! later one of the page.
//! The image is always the first request of its transaction: after other requests WebKit can
//! stall such a transaction instead of aborting it. As a last guard every operation runs under a
//! watchdog ([`WATCHDOG_MS`] plus the open timeout): an engine that stops answering makes the
//! store unavailable instead of hanging the caller.
//!
//! # Why its own driver and not rexie
//!
//! The driver was Rust over web-sys, with a future per request, cursor, transaction and open
//! event; the same sequencing in JS is a fraction of the code (the layer went from 71 to 41 KB
//! of the page's `.wasm` code, for about 1.3 KB gzip more glue). rexie 0.6 (and the `idb`
//! crate under it) cannot do what this layer must either: it never exposes the `IDBDatabase`
//! (no `versionchange`/`close` listeners, so a connection lost to another tab or to "clear site
//! data" goes unnoticed), it gives no `blocked` event and no way to close a connection that
//! finishes opening after the caller gave up waiting (that connection would block every later
//! upgrade and delete), its upgrade is declarative (no data migration between schema versions,
//! and it `expect`s, i.e. panics, inside `onupgradeneeded`), and it reports a transaction aborted
//! by `QuotaExceededError` as a plain "aborted" without the exception's name.

mod codec;
mod connection;
mod driver;
mod lru_mirror;
mod reads;
pub mod records;
mod schema;

use std::cell::{Cell, RefCell};
use std::future::Future;

use futures::future::{select, Either};
use futures::FutureExt;
use js_sys::Array;
use wasm_bindgen::JsValue;

use self::codec::{body_value, carry_meta, fill_copy_hash, refuses_blob, RowCodec, WRITER_KEY};
pub use self::codec::{meta_of, meta_value};
use self::connection::Link;
use self::driver::{Conn, Ops};
use self::lru_mirror::Mirror;
pub use self::schema::{IMAGES_STORE, LAST_ACCESS_INDEX, META_STORE, SCHEMA_VERSION};
use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::validate_id;
use crate::layers::body::Body;
use crate::layers::runtime::sleep;
use crate::layers::{ImageStore, LocalFuture, StoreUsage};
use crate::policy::lru::Budget;
use crate::record::{ImageMeta, StoredImage};
use crate::vocabulary::Layer;

use std::rc::Rc;

/// How long one operation may take beyond the open timeout (an operation may have to reopen
/// the connection first) before the engine is considered stuck.
pub const WATCHDOG_MS: u32 = 10_000;

/// How long preview hashes are collected before they are written into their rows, together: a
/// first visit hashes one image per download, and one transaction each would double the
/// transactions of the visit. A hash not written when the page goes is written again the next
/// time its image is read (the record has it).
pub const HASH_FLUSH_MS: u32 = 250;

thread_local! {
    /// Set once any store of this page found that the engine refuses to store Blobs (WebKit in
    /// private or ephemeral sessions): later stores go straight to bytes.
    static BLOBS_REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// A thrown value or `DOMException` as an [`Error`] of this layer: the crate's one conversion
/// ([`Error::from_storage_js`]), so quota errors become [`Error::QuotaExceeded`].
fn idb_error(value: JsValue) -> Error {
    Error::from_storage_js(Layer::IndexedDb, &value)
}

/// The IndexedDB layer over one database per namespace.
///
/// Never throws and never panics: every failure is an [`Error`]. A connection closed by another
/// tab (upgrade, delete) or by the browser is reopened once on the next call; if that fails the
/// store reports [`ImageStore::is_available`] = `false` and answers
/// [`Error::StorageUnavailable`] from then on.
pub struct IdbImageStore {
    link: Link,
    codec: RowCodec,
    clock: Rc<dyn Clock>,
    mirror: Mirror,
    /// Store `{ bytes, mime }` instead of `{ blob }` (forced, or after a `DataCloneError`).
    store_bytes: Cell<bool>,
    /// Writes still to be refused as if the origin's quota were used up (see
    /// [`IdbImageStore::refuse_writes_for_quota`]).
    quota_faults: Cell<u32>,
    /// This store's name in the writer row, and its writes so far.
    writer: (String, Cell<u64>),
    /// The writer row as this store's last write left it: when the row says otherwise, another
    /// tab wrote since, and the mirror is reloaded before a write plans its evictions (each tab
    /// planning on its own view would let two tabs hold twice the byte budget).
    last_mark: RefCell<Option<String>>,
    /// Held while the mirror is (re)loaded.
    mirror_loading: futures::lock::Mutex<()>,
    /// Hashes waiting to be written into their rows (see [`HASH_FLUSH_MS`]), and whether a
    /// write of them is planned.
    hash_writes: RefCell<Vec<(String, String)>>,
    hash_flush: Cell<bool>,
    /// Rows read without a complete copy of their metadata, with the copy now put in (image id
    /// → row): written back with the image's next touch (see `touch_many`), so that later reads
    /// need one store. A write of the image drops its entry.
    row_upgrades: RefCell<crate::collections::HashMap<String, JsValue>>,
}

impl std::fmt::Debug for IdbImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let usage = self.mirror.usage();
        f.debug_struct("IdbImageStore")
            .field("name", &self.link.name())
            .field("entries", &usage.entries)
            .field("bytes", &usage.bytes)
            .field("store_bytes", &self.store_bytes.get())
            .field("available", &self.is_available())
            .finish_non_exhaustive()
    }
}

impl IdbImageStore {
    /// Opens (creating or migrating) the database `config.database_name()`. The LRU mirror is
    /// loaded (deleting old-version and corrupt rows) by the first operation that plans on it:
    /// a write, a touch, a removal or [`ImageStore::usage`]; reads do not wait for it.
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
            link: Link::new(config.database_name(), config.idb.open_timeout_ms),
            codec: RowCodec::new(config),
            clock,
            mirror: Mirror::new(Budget {
                max_entries: config.idb.max_entries,
                max_bytes: config.idb.max_bytes,
            }),
            store_bytes: Cell::new(store_bytes || BLOBS_REFUSED.with(Cell::get)),
            quota_faults: Cell::new(0),
            writer: (
                format!("{:x}", (js_sys::Math::random() * 4_294_967_296.0) as u64),
                Cell::new(0),
            ),
            last_mark: RefCell::new(None),
            mirror_loading: futures::lock::Mutex::new(()),
            hash_writes: RefCell::default(),
            hash_flush: Cell::new(false),
            row_upgrades: RefCell::default(),
        };
        // Only the connection: the mirror (every row's metadata) is loaded by the first
        // operation that needs it, so that `open` does not wait for a large store's rows.
        let conn = store.link.open().await?;
        store.link.install(conn);
        Ok(store)
    }

    /// Closes the connection. Every later call answers [`Error::Closed`]; dropping the store
    /// closes it too.
    pub fn close(&self) {
        self.link.close();
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
    ///
    /// The operation is boxed as a trait object, so its body is compiled once, on its own,
    /// rather than into a copy of this watchdog per operation.
    async fn guarded<'a, T>(&self, operation: impl Future<Output = Result<T>> + 'a) -> Result<T> {
        let operation: LocalFuture<'a, Result<T>> = Box::pin(operation);
        match select(operation, self.stalled().boxed_local()).await {
            Either::Left((result, _)) => result,
            Either::Right((error, _)) => Err(error),
        }
    }

    /// Waits out the watchdog's deadline, then gives up on IndexedDB: the error this and every
    /// later operation answers.
    async fn stalled(&self) -> Error {
        let ms = WATCHDOG_MS.saturating_add(self.link.open_timeout_ms());
        sleep(ms as f64).await;
        self.link.give_up(format!(
            "IndexedDB stopped answering (an operation took over {ms} ms)"
        ))
    }

    /// The open connection, reopened once if it was lost, with the mirror reloaded if stale.
    /// Concurrent callers wait for one reload rather than plan on a half-loaded mirror.
    async fn connection(&self) -> Result<Rc<Conn>> {
        let conn = self.reading_connection().await?;
        if self.mirror.is_stale() {
            // The flag stays up until the reload has finished, so a write arriving meanwhile
            // waits here instead of planning on a mirror the reload is about to replace.
            let _loading = self.mirror_loading.lock().await;
            if self.mirror.is_stale() {
                self.reload_mirror(&conn).await?;
            }
        }
        Ok(conn)
    }

    /// The open connection for reads, which never wait for the mirror: a read accounts for
    /// what it finds itself ([`Mirror::note_read`]).
    async fn reading_connection(&self) -> Result<Rc<Conn>> {
        let (conn, reopened) = self.link.current().await?;
        if reopened {
            self.mirror.mark_stale();
        }
        Ok(conn)
    }

    /// Reloads the mirror if another tab's store wrote since this one last did (the writer row
    /// names someone else), so that evictions are planned on what the database holds.
    async fn follow_other_writers(&self, conn: &Conn) -> Result<()> {
        let rows = conn
            .get(META_STORE, &[JsValue::from_str(WRITER_KEY)])
            .await?;
        let mark = rows.first().and_then(JsValue::as_string);
        // A mark gone since this store's last write is another tab's `clear()`.
        if mark != *self.last_mark.borrow() {
            self.reload_mirror(conn).await?;
            *self.last_mark.borrow_mut() = mark;
        }
        Ok(())
    }

    /// The writer row's next value for this store's next write (a put, or a batch of touches).
    fn next_mark(&self) -> String {
        let (writer, writes) = &self.writer;
        writes.set(writes.get() + 1);
        format!("{writer}:{}", writes.get())
    }

    /// Rebuilds the mirror; it stays stale (reloaded before the next operation) if that fails.
    async fn reload_mirror(&self, conn: &Conn) -> Result<()> {
        let reloaded = self
            .mirror
            .reload(conn, &self.codec, self.clock.now_ms())
            .await;
        if reloaded.is_err() {
            self.mirror.mark_stale();
        }
        reloaded
    }
    /// Checks an image before it is written: the store decides the size (the body's) and the
    /// version (its own), and refuses what it would refuse to read back.
    fn admit(&self, meta: &mut ImageMeta, body: &Body) -> Result<JsValue> {
        validate_id("imageId", &meta.image_id)?;
        meta.bytes = body.size();
        meta.version = self.codec.version();
        if !self.codec.allows(&meta.mime) {
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
        let limit = self.codec.max_image_bytes().min(self.mirror.max_bytes());
        if meta.bytes > limit || !self.mirror.admits(meta.bytes) {
            return Err(Error::TooLarge { limit });
        }
        let refused = |reason: String| Error::InvalidArgument {
            name: "image",
            reason,
        };
        self.codec
            .check(meta, &meta.image_id, self.clock.now_ms())
            .map_err(|e| refused(e.to_string()))?;
        Ok(meta_value(meta))
    }

    async fn put_image(&self, image: StoredImage<Body>) -> Result<Vec<String>> {
        let StoredImage { mut meta, body } = image;
        let mut meta_row = self.admit(&mut meta, &body)?;
        let id = meta.image_id.clone();
        self.row_upgrades.borrow_mut().remove(&id);

        let conn = self.connection().await?;
        // Gather everything before the transaction: a Blob's bytes, when Blobs are not stored.
        // Whether this write sends a Blob: a put that started before another found Blobs
        // refused must fall back too, not fail (puts run concurrently).
        let mut sends_blob = matches!(body, Body::Blob(_)) && !self.store_bytes.get();
        let mut body_row = body_value(&body, &meta.mime, sends_blob).await?;
        let key = self.codec.js_key(&id);
        self.follow_other_writers(&conn).await?;
        let mark = self.next_mark();
        let mark_row = JsValue::from_str(&mark);
        let writer_key = JsValue::from_str(WRITER_KEY);
        // Plan on the mirror: this id's older copy goes, and exactly the victims the LRU
        // chooses for the new weight. They are deleted in the write's own transaction.
        let mut victims = self.mirror.plan_put(&id, meta.bytes, meta.last_access);
        // Victims already deleted in a transaction of their own (after a quota refusal).
        let mut freed: Vec<String> = Vec::new();
        let mut quota_retry_tried = false;
        loop {
            // The image's hash, when it became known after the row was made (hashing runs
            // behind the download) or the row already had one: taken just before the
            // transaction, so a `set_thumbhash` either lands here or finds the row written.
            if meta.thumbhash.is_none() {
                if let Some(hash) = self.mirror.hash(&id) {
                    meta.thumbhash = Some(hash);
                    meta_row = meta_value(&meta);
                }
            }
            let outcome = if self.quota_faults.get() > 0 {
                self.quota_faults.set(self.quota_faults.get() - 1);
                Err(Error::QuotaExceeded {
                    layer: Layer::IndexedDb,
                })
            } else {
                carry_meta(&body_row, &meta_row);
                let ops = Ops::default();
                ops.put(&key, &body_row, &meta_row);
                for victim in &victims {
                    ops.delete(&self.codec.js_key(victim));
                }
                ops.put_meta(&writer_key, &mark_row);
                conn.write(&ops).await
            };
            let error = match outcome {
                Ok(()) => {
                    *self.last_mark.borrow_mut() = Some(mark);
                    if !self.mirror.contains(&id) {
                        // A concurrent put's quota retry chose this image, planned but not yet
                        // written, as a victim: the row is stored, the mirror lost it.
                        self.mirror.mark_stale();
                    }
                    self.mirror.forget_hashes(&victims);
                    if let Some(hash) = &meta.thumbhash {
                        self.mirror.set_hash(&id, hash);
                    }
                    freed.extend(victims);
                    return Ok(freed);
                }
                Err(e) => e,
            };
            if sends_blob && refuses_blob(&error) {
                // This engine or context cannot store Blobs: store bytes from now on.
                sends_blob = false;
                self.store_bytes.set(true);
                BLOBS_REFUSED.with(|r| r.set(true));
                match body_value(&body, &meta.mime, false).await {
                    Ok(v) => body_row = v,
                    Err(e) => {
                        self.mirror.mark_stale();
                        return Err(e);
                    }
                }
                continue;
            }
            if error.is_quota() && !quota_retry_tried {
                quota_retry_tried = true;
                let extra = self.mirror.evict_for_quota(&id, meta.bytes, &victims);
                victims.extend(extra);
                if !victims.is_empty() {
                    // The victims go first, in a transaction of their own: an engine counts a
                    // put against the quota before the deletes beside it (Chromium refuses a put
                    // next to the deletes of rows far larger than it), so only space already
                    // freed makes room.
                    let keys: Vec<JsValue> = victims.iter().map(|v| self.codec.js_key(v)).collect();
                    match conn.delete(&keys).await {
                        Ok(()) => {
                            self.mirror.forget_hashes(&victims);
                            freed.append(&mut victims);
                            continue;
                        }
                        Err(e) => {
                            self.mirror.mark_stale();
                            return Err(e);
                        }
                    }
                }
            }
            // The write did not land (the rows freed for it, if any, stay deleted): resynchronise
            // the mirror before the next operation.
            self.mirror.mark_stale();
            return Err(if error.is_quota() {
                Error::QuotaExceeded {
                    layer: Layer::IndexedDb,
                }
            } else {
                error
            });
        }
    }

    async fn touch_many(&self, accesses: &[(String, Millis)]) -> Result<()> {
        if accesses.is_empty() {
            return Ok(());
        }
        let conn = self.connection().await?;
        // Another tab's writes first (its puts, evictions, a `clear()`), so that the mark this
        // touch leaves does not hide them and no row that left the store is written back.
        self.follow_other_writers(&conn).await?;
        let keyed: Array = accesses
            .iter()
            .map(|(id, at)| Array::of2(&self.codec.js_key(id), &JsValue::from_f64(*at)))
            .collect();
        // Rows read without a complete copy of their metadata get one, put first (an image is
        // always the first request of its transaction: see the module docs), if they are still
        // stored (evicted, removed or cleared since: nothing is written back). Metadata rows
        // absent or not metadata are left for the next get to deal with.
        let upgrades: Array = {
            let mut pending = self.row_upgrades.borrow_mut();
            accesses
                .iter()
                .filter_map(|(id, _)| {
                    let row = pending.remove(id)?;
                    self.mirror.last_used(id)?;
                    // A hash computed since the row was read goes into the copy too.
                    if let Some(hash) = self.mirror.hash(id) {
                        fill_copy_hash(&row, &hash);
                    }
                    Some(Array::of2(&self.codec.js_key(id), &row))
                })
                .collect()
        };
        let mark = self.next_mark();
        let mark_row = Array::of2(&JsValue::from_str(WRITER_KEY), &JsValue::from_str(&mark));
        conn.touch(&upgrades, &keyed, &mark_row).await?;
        self.mirror.touch(accesses);
        *self.last_mark.borrow_mut() = Some(mark);
        Ok(())
    }

    /// Writes `hashes` into the metadata rows of their images and into the copies their
    /// `images` rows carry, in one transaction: each row that is there and has none gets its
    /// hash.
    async fn write_hashes(&self, hashes: &[(String, String)]) -> Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        let conn = self.connection().await?;
        let keyed: Array = hashes
            .iter()
            .map(|(id, hash)| Array::of2(&self.codec.js_key(id), &JsValue::from_str(hash)))
            .collect();
        conn.write_hashes(&keyed).await
    }

    /// Writes the hashes noted within [`HASH_FLUSH_MS`] from now, together.
    async fn flush_hashes_later(&self) -> Result<()> {
        sleep(HASH_FLUSH_MS as f64).await;
        let batch = std::mem::take(&mut *self.hash_writes.borrow_mut());
        self.hash_flush.set(false);
        if !self.link.is_available() {
            return Ok(()); // closed (or given up on) meanwhile: nothing to write into
        }
        self.guarded(self.write_hashes(&batch)).await
    }

    async fn remove_image(&self, image_id: &str) -> Result<()> {
        validate_id("imageId", image_id)?;
        let conn = self.connection().await?;
        conn.delete(&[self.codec.js_key(image_id)]).await?;
        self.mirror.remove(image_id);
        Ok(())
    }

    /// Empties this cache's two stores (other databases, and other namespaces' databases, are
    /// never touched). Clearing the stores rather than deleting the database cannot be blocked
    /// by another tab's open connection.
    async fn clear_all(&self) -> Result<()> {
        self.hash_writes.borrow_mut().clear();
        self.row_upgrades.borrow_mut().clear();
        let conn = self.connection().await?;
        let ops = Ops::default();
        ops.clear();
        let result = conn.write(&ops).await;
        self.mirror.clear();
        if result.is_err() {
            self.mirror.mark_stale();
        }
        result
    }
}

impl ImageStore<Body> for IdbImageStore {
    fn get(&self, image_id: &str) -> LocalFuture<'_, Result<Option<StoredImage<Body>>>> {
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
    ) -> LocalFuture<'a, Result<Vec<Option<StoredImage<Body>>>>> {
        async move {
            let answers = self.guarded(self.read_many(ids)).await?;
            Ok(answers.into_iter().map(|a| a.ok().flatten()).collect())
        }
        .boxed_local()
    }

    fn used(&self, image_id: &str, at: Millis) {
        self.mirror.touch_one(image_id, at);
    }

    fn put(&self, image: StoredImage<Body>) -> LocalFuture<'_, Result<Vec<String>>> {
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
            Ok(self.mirror.usage())
        }
        .boxed_local()
    }

    fn thumbhash(&self, image_id: &str) -> Option<String> {
        self.mirror.hash(image_id)
    }

    fn set_thumbhash<'a>(
        &'a self,
        image_id: &'a str,
        thumbhash: &'a str,
    ) -> LocalFuture<'a, Result<()>> {
        // Noted at once (a write of the image planned from now on carries it); written into the
        // row with the others noted within `HASH_FLUSH_MS`: the first call of a batch resolves
        // when the batch is written, the others at once.
        if let Err(e) = validate_id("imageId", image_id) {
            return Box::pin(async move { Err(e) });
        }
        self.mirror.set_hash(image_id, thumbhash);
        self.hash_writes
            .borrow_mut()
            .push((image_id.to_string(), thumbhash.to_string()));
        if self.hash_flush.replace(true) {
            return Box::pin(async { Ok(()) });
        }
        self.flush_hashes_later().boxed_local()
    }

    fn is_available(&self) -> bool {
        self.link.is_available()
    }
}

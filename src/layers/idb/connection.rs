//! The database connection: opening it within a time limit, noticing when it is taken away
//! (`versionchange` from another tab's upgrade or delete, `close` from "clear site data" or a
//! disk error), reopening it once, and the one transaction helper every operation goes through
//! ([`Conn::with_stores`], after idb-keyval's `withStore(mode, fn)`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use futures::future::{select, Either};
use js_sys::{Array, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    IdbDatabase, IdbFactory, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction,
    IdbTransactionMode,
};

use super::idb_error;
use super::requests::{HandledRequest, OpenFuture, RequestFuture, TxFuture};
use super::schema::{IMAGES_STORE, META_STORE, SCHEMA_VERSION};
use crate::error::{Error, Result};
use crate::layers::runtime::sleep;
use crate::policy::range_read::{self, ReadPlan};
use crate::vocabulary::Layer;

/// An open connection that notices when it is taken away.
pub(super) struct Conn {
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

    /// Runs `work` in one transaction over both stores and waits for the commit: the way this
    /// layer touches the database once it is open, but for the reads of stored images
    /// ([`Conn::read_images`]).
    ///
    /// `work` issues its requests at once (they join the transaction) and may await them, but
    /// nothing else: IndexedDB commits a transaction as soon as no request is pending, so
    /// awaiting anything else would write half an operation. Gather data first (a Blob's
    /// bytes), then call this. When `work` fails the transaction is aborted, so nothing it
    /// issued is written. Results of requests that `work` returns unawaited are ready once this
    /// resolves (`IdbRequest::result`).
    ///
    /// A connection found closing is marked lost, so the next call reopens it.
    pub(super) async fn with_stores<T, F, W>(&self, mode: IdbTransactionMode, work: W) -> Result<T>
    where
        W: FnOnce(Stores) -> F,
        F: Future<Output = Result<T>>,
    {
        let (tx, done, stores) = self.begin(mode)?;
        match work(stores).await {
            Ok(value) => done.await.map(|()| value),
            Err(e) => {
                let _ = tx.abort();
                Err(e)
            }
        }
    }
}

impl Conn {
    /// A transaction over both stores, the future of its commit, and its stores: the part of
    /// [`Conn::with_stores`] that does not depend on the work (in the `.wasm` once, not at each
    /// call site).
    fn begin(&self, mode: IdbTransactionMode) -> Result<(IdbTransaction, TxFuture, Stores)> {
        let tx = self.transaction(&[IMAGES_STORE, META_STORE], mode)?;
        let done = TxFuture::new(&tx);
        let stores = Stores {
            images: tx.object_store(IMAGES_STORE).map_err(idb_error)?,
            metas: tx.object_store(META_STORE).map_err(idb_error)?,
        };
        Ok((tx, done, stores))
    }

    /// A transaction over `stores`; a connection found closing is marked lost.
    fn transaction(&self, stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        self.db
            .transaction_with_str_sequence_and_mode(&names, mode)
            .map_err(|e| {
                let error = idb_error(e);
                if error.js_name() == Some("InvalidStateError") {
                    self.lost.set(true);
                }
                error
            })
    }

    /// Reads the [`IMAGES_STORE`] rows under `keys` in one readonly transaction of that store
    /// alone, and waits for it: what a get after a reload costs when the rows carry their
    /// metadata (see [`super::codec::RowCodec::decode_row`]), as a plain blob store would. A
    /// batch that is most of the rows in its key range is read with one range read, otherwise
    /// each stored row asked for is read alone ([`range_read`]). Answers the rows' values in the
    /// order of `keys`, `undefined` where nothing is stored.
    ///
    /// Answers at the success of the last request, not at the commit: a readonly transaction
    /// has nothing to commit, its requests complete in the order they were issued, and its
    /// `complete` event comes one more round trip later (about 1 ms in Chromium, 1–3 ms in
    /// Firefox, measured on 100 rows).
    pub(super) async fn read_images(&self, keys: &[String]) -> Result<Vec<JsValue>> {
        let tx = self.transaction(&[IMAGES_STORE], IdbTransactionMode::Readonly)?;
        let done = TxFuture::new(&tx);
        let reads = match issue_reads(&tx, keys) {
            Ok(reads) => reads,
            Err(e) => {
                let _ = tx.abort();
                return Err(e);
            }
        };
        let reads = match reads {
            Reads::Planned { issued, key_read } => {
                key_read.await?;
                let planned = issued.take();
                match planned {
                    Some(reads) => reads,
                    // The handler could not issue its reads and aborted the transaction.
                    None => return done.await.map(|()| vec![JsValue::UNDEFINED; keys.len()]),
                }
            }
            reads => reads,
        };
        if let Some(last) = reads.last_request() {
            RequestFuture::new(last).await?;
        }
        Ok(reads.values(keys.len()))
    }

    /// Deletes `keys` from both stores in one readwrite transaction.
    pub(super) async fn delete(&self, keys: &[JsValue]) -> Result<()> {
        self.with_stores(IdbTransactionMode::Readwrite, |s| async move {
            keys.iter().try_for_each(|key| s.delete(key))
        })
        .await
    }
}

/// The requests a batch read issued, answered once the last of them has succeeded.
enum Reads {
    /// Nothing to read.
    Nothing,
    /// One range read: `positions[i]` is the row of the `i`-th key in its result.
    Range {
        request: IdbRequest,
        positions: Vec<Option<usize>>,
    },
    /// One request per key (`None`: not read, not stored).
    Points(Vec<Option<IdbRequest>>),
    /// Issued by the key read's success handler, once it knew which keys are stored.
    Planned {
        issued: Rc<RefCell<Option<Reads>>>,
        key_read: HandledRequest,
    },
}

impl Reads {
    /// The request issued last, once the plan is known: when it has succeeded, so has every
    /// other (requests of a transaction complete in the order they were issued).
    fn last_request(&self) -> Option<IdbRequest> {
        match self {
            Reads::Nothing | Reads::Planned { .. } => None,
            Reads::Range { request, .. } => Some(request.clone()),
            Reads::Points(requests) => requests.iter().rev().flatten().next().cloned(),
        }
    }

    /// The value read for each of `count` keys, `undefined` where none was.
    fn values(self, count: usize) -> Vec<JsValue> {
        let mut values = Vec::with_capacity(count);
        match self {
            Reads::Nothing => {}
            Reads::Range { request, positions } => {
                let rows: Array = request
                    .result()
                    .map_or_else(|_| Array::new(), JsCast::unchecked_into);
                for row in positions {
                    values.push(row.map_or(JsValue::UNDEFINED, |i| rows.get(i as u32)));
                }
            }
            Reads::Points(requests) => {
                for request in requests {
                    values.push(request.and_then(|r| r.result().ok()).unwrap_or_default());
                }
            }
            Reads::Planned { issued, .. } => {
                return issued.take().unwrap_or(Reads::Nothing).values(count);
            }
        }
        values.resize(count, JsValue::UNDEFINED);
        values
    }
}

/// Issues the reads of `keys` on `tx`'s images store: point reads for a small batch; otherwise
/// a read of the keys stored in the batch's range, whose success handler (inside the event, the
/// transaction still active) plans and issues the rest.
fn issue_reads(tx: &IdbTransaction, keys: &[String]) -> Result<Reads> {
    let images = tx.object_store(IMAGES_STORE).map_err(idb_error)?;
    // Keys share their namespace prefix and escape everything else to ASCII, so Rust's order of
    // them is IndexedDB's (UTF-16 code units): the bounds are the batch's first and last keys.
    let (Some(low), Some(high)) = (keys.iter().min(), keys.iter().max()) else {
        return Ok(Reads::Nothing);
    };
    if keys.len() < range_read::RANGE_READ_MIN {
        return point_reads(&images, keys, None);
    }
    let range =
        IdbKeyRange::bound(&JsValue::from_str(low), &JsValue::from_str(high)).map_err(idb_error)?;
    let limit = range_read::keys_limit(keys.len());
    let key_read = images
        .get_all_keys_with_key_and_limit(&range, limit)
        .map_err(idb_error)?;
    let issued = Rc::new(RefCell::new(None));
    let on_keys = {
        let (issued, keys, tx) = (issued.clone(), keys.to_vec(), tx.clone());
        move |stored: JsValue| {
            let stored: Vec<String> = stored
                .unchecked_into::<Array>()
                .iter()
                .map(|k| k.as_string().unwrap_or_default())
                .collect();
            let reads = match range_read::plan(&keys, &stored, limit) {
                ReadPlan::Nothing => Ok(Reads::Nothing),
                ReadPlan::Range { positions } => images
                    .get_all_with_key_and_limit(&range, limit)
                    .map(|request| Reads::Range { request, positions })
                    .map_err(idb_error),
                ReadPlan::Points { read } => point_reads(&images, &keys, Some(&read)),
            };
            match reads {
                Ok(reads) => *issued.borrow_mut() = Some(reads),
                // Nothing would answer: the transaction fails instead, and so does the read.
                Err(_) => {
                    let _ = tx.abort();
                }
            }
        }
    };
    Ok(Reads::Planned {
        issued,
        key_read: HandledRequest::handled(key_read, on_keys),
    })
}

/// One `get` per key (only those flagged in `read`, when given).
fn point_reads(images: &IdbObjectStore, keys: &[String], read: Option<&[bool]>) -> Result<Reads> {
    let mut requests = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let request = match read.is_none_or(|r| r[i]) {
            true => Some(images.get(&JsValue::from_str(key)).map_err(idb_error)?),
            false => None,
        };
        requests.push(request);
    }
    Ok(Reads::Points(requests))
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.set_onclose(None);
        self.db.close();
    }
}

/// The two object stores of one transaction, with the requests the layer issues on them. Every
/// request is issued at once and joins the transaction; errors keep the exception's name.
pub(super) struct Stores {
    /// [`IMAGES_STORE`]: the bodies.
    pub images: IdbObjectStore,
    /// [`META_STORE`]: the metadata rows.
    pub metas: IdbObjectStore,
}

impl Stores {
    /// Reads the metadata stored under `key`.
    pub fn get_meta(&self, key: &JsValue) -> Result<IdbRequest> {
        self.metas.get(key).map_err(idb_error)
    }

    /// Writes a body and its metadata under `key`. The body goes first: a Blob the engine
    /// cannot clone throws `DataCloneError` here, synchronously; one it cannot persist aborts
    /// the transaction with `UnknownError`, and WebKit reports that promptly only when the Blob
    /// is the transaction's first request (after other requests it can stall the commit).
    pub fn put(&self, key: &JsValue, body: &JsValue, meta: &JsValue) -> Result<()> {
        self.images.put_with_key(body, key).map_err(idb_error)?;
        self.metas.put_with_key(meta, key).map_err(idb_error)?;
        Ok(())
    }

    /// Deletes `key` from both stores.
    pub fn delete(&self, key: &JsValue) -> Result<()> {
        self.images.delete(key).map_err(idb_error)?;
        self.metas.delete(key).map_err(idb_error)?;
        Ok(())
    }

    /// Empties both stores.
    pub fn clear(&self) -> Result<()> {
        self.images.clear().map_err(idb_error)?;
        self.metas.clear().map_err(idb_error)?;
        Ok(())
    }
}

/// The connection of one store, reopened once when it is lost.
pub(super) struct Link {
    name: String,
    open_timeout_ms: u32,
    conn: RefCell<Option<Rc<Conn>>>,
    /// Why the database is gone for this store's lifetime (reopening failed, or the engine
    /// stopped answering); `None` while it is usable.
    unavailable: RefCell<Option<String>>,
    closed: Cell<bool>,
}

impl Link {
    /// A link to the database `name`, not open yet.
    pub fn new(name: String, open_timeout_ms: u32) -> Self {
        Link {
            name,
            open_timeout_ms,
            conn: RefCell::new(None),
            unavailable: RefCell::new(None),
            closed: Cell::new(false),
        }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long an open may take.
    pub fn open_timeout_ms(&self) -> u32 {
        self.open_timeout_ms
    }

    /// Opens a connection (the caller bounds the wait with [`with_timeout`]).
    pub async fn open(&self) -> Result<Rc<Conn>> {
        Ok(Rc::new(open_connection(&self.name).await?))
    }

    /// Makes `conn` the connection later calls use.
    pub fn install(&self, conn: Rc<Conn>) {
        *self.conn.borrow_mut() = Some(conn);
    }

    /// The open connection, reopened once if it was lost; `true` when it was reopened (what
    /// was read through the old one may be out of date).
    pub async fn current(&self) -> Result<(Rc<Conn>, bool)> {
        if self.closed.get() {
            return Err(Error::Closed);
        }
        let gone = self.unavailable.borrow().clone();
        if let Some(reason) = gone {
            return Err(unavailable(&reason));
        }
        let current = self.conn.borrow().clone();
        if let Some(conn) = current.filter(|c| !c.lost.get()) {
            return Ok((conn, false));
        }
        // Closed under us (another tab upgraded or deleted the database, or the user cleared
        // site data): reopen once.
        self.conn.borrow_mut().take();
        match with_timeout(open_connection(&self.name), self.open_timeout_ms).await {
            Ok(conn) => {
                let installed = self.conn.borrow().clone();
                match installed {
                    // Another call reopened meanwhile: use that connection.
                    Some(other) if !other.lost.get() => Ok((other, false)),
                    _ => {
                        let conn = Rc::new(conn);
                        self.install(conn.clone());
                        Ok((conn, true))
                    }
                }
            }
            Err(e) => Err(self.give_up(format!(
                "reopening after the connection was lost failed: {e}"
            ))),
        }
    }

    /// Gives up on the database for this store's lifetime: every later call answers
    /// [`Error::StorageUnavailable`] with `reason`, which is returned as that error.
    pub fn give_up(&self, reason: String) -> Error {
        let error = unavailable(&reason);
        *self.unavailable.borrow_mut() = Some(reason);
        self.conn.borrow_mut().take();
        error
    }

    /// Closes the connection; every later call answers [`Error::Closed`].
    pub fn close(&self) {
        self.closed.set(true);
        self.conn.borrow_mut().take();
    }

    /// Whether the database can still be used.
    pub fn is_available(&self) -> bool {
        !self.closed.get() && self.unavailable.borrow().is_none()
    }
}

fn unavailable(reason: &str) -> Error {
    Error::StorageUnavailable {
        layer: Layer::IndexedDb,
        reason: reason.to_string(),
    }
}

/// Opens the database at [`SCHEMA_VERSION`], running migrations. Not bounded in time: callers
/// race it with [`with_timeout`].
async fn open_connection(name: &str) -> Result<Conn> {
    let request = idb_factory()?
        .open_with_u32(name, SCHEMA_VERSION)
        .map_err(|e| unavailable(&idb_error(e).to_string()))?;
    let db = OpenFuture::new(request).await?;
    Ok(Conn::new(db))
}

/// `indexedDB` of the page or worker, without throwing (opaque origins throw on access).
fn idb_factory() -> Result<IdbFactory> {
    let value = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map_err(|e| unavailable(&idb_error(e).to_string()))?;
    if value.is_null() || value.is_undefined() {
        return Err(unavailable("indexedDB is not defined in this context"));
    }
    value
        .dyn_into::<IdbFactory>()
        .map_err(|_| unavailable("indexedDB is not an IDBFactory"))
}

/// Races `future` with a `ms` timer; the timer's win is [`Error::StorageUnavailable`]. Without
/// a timer in the scope the wait is given up at once rather than risked forever.
pub(super) async fn with_timeout<T>(future: impl Future<Output = Result<T>>, ms: u32) -> Result<T> {
    match select(Box::pin(future), sleep(ms as f64)).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(unavailable(&format!(
            "the database did not open within {ms} ms (another tab may hold an older version \
             open)"
        ))),
    }
}

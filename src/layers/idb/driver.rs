//! The IndexedDB calls themselves, written in JS (`DRIVER` below) and called from Rust one
//! transaction at a time: each function opens its transaction, issues every request in it,
//! and settles one promise at the commit (writes) or at the last request's success (reads).
//!
//! The decisions stay in Rust: what to write and delete (the LRU mirror), which rows to trust
//! (the codec), how to read a batch ([`crate::policy::range_read`], asked from inside the key
//! read's success event), when to reopen and when to give up. The JS only sequences requests
//! and events, which it does in a fraction of the code that futures over each event took in the
//! `.wasm` (the layer was about a fifth of the page's module).
//!
//! The service worker's records database (`records.rs`) is opened and written through the same
//! functions (`idbOpen` with its own upgrade, `idbAll`, `idbPutRows`).
//!
//! Errors reach Rust as the thrown value itself (a `DOMException`, read by
//! [`Error::from_storage_js`]), or as `{ gone }` when IndexedDB cannot be used at all (missing,
//! refused, an open that did not finish in time): [`Error::StorageUnavailable`].

use std::future::Future;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::idb_error;
use super::schema::SCHEMA_VERSION;
use crate::error::{Error, Result};
use crate::js_object::field;
use crate::vocabulary::Layer;

#[wasm_bindgen(inline_js = r#"
export function idbOpen(name, version, ms, records) {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer = 0;
    const settle = (ok, value) => {
      if (settled) return false;
      settled = true;
      if (timer) clearTimeout(timer);
      (ok ? resolve : reject)(value);
      return true;
    };
    // Given up when the timer fires: a connection that opens later is closed at once (it would
    // block every later upgrade and delete), an upgrade that starts later is aborted.
    // Without a timer in the scope the wait is given up at once rather than risked forever.
    const late = () => settle(false, { gone: `the database did not open within ${ms} ms (another tab may hold an older version open)` });
    if (typeof setTimeout !== "function") return late();
    timer = setTimeout(late, ms);
    let request;
    try {
      const factory = globalThis.indexedDB;
      if (factory == null) return settle(false, { gone: "indexedDB is not defined in this context" });
      request = factory.open(name, version);
    } catch (e) {
      return settle(false, { gone: e });
    }
    request.onupgradeneeded = (event) => {
      const tx = request.transaction;
      if (settled) return tx.abort();
      try {
        const db = request.result;
        if (!records) idbUpgrade(db, tx, event.oldVersion);
        else if (!db.objectStoreNames.contains("records")) db.createObjectStore("records");
      } catch (e) {
        tx.abort();
        settle(false, e);
      }
    };
    request.onsuccess = () => {
      const db = request.result;
      if (!settle(true, idbConnection(db))) db.close();
    };
    request.onerror = () => settle(false, request.error ?? new DOMException("the request failed without an error", "UnknownError"));
  });
}

export function idbConnection(db) {
  const conn = { db, lost: false };
  // Another tab upgrades or deletes the database: let go at once, so it is not blocked.
  db.onversionchange = () => { db.close(); conn.lost = true; };
  // The browser closed it (site data cleared, disk error).
  db.onclose = () => { conn.lost = true; };
  return conn;
}

export function idbClose(conn) {
  conn.db.onversionchange = conn.db.onclose = null;
  conn.db.close();
}

export function idbUpgrade(db, tx, oldVersion) {
  if (oldVersion < 2) {
    const hadImages = db.objectStoreNames.contains("images");
    if (!hadImages) db.createObjectStore("images");
    if (db.objectStoreNames.contains("meta")) db.deleteObjectStore("meta");
    db.createObjectStore("meta").createIndex("lastAccess", "lastAccess");
    // Schema 1 kept the metadata beside the Blob in `images`: each readable row gets its `meta`
    // row (its `images` row stays: schema 2 reads its `blob`), the others are deleted. The mirror
    // checks every row's values again when it loads.
    if (hadImages) {
      const images = tx.objectStore("images");
      const metas = tx.objectStore("meta");
      const cursor = images.openCursor();
      cursor.onsuccess = () => {
        const row = cursor.result;
        if (!row) return;
        const meta = idbMetaCopy(row.value);
        if (meta && row.value.blob instanceof Blob) metas.put(meta, row.key);
        else images.delete(row.key);
        row.continue();
      };
    }
  }
}

export function idbMetaCopy(v) {
  if (v === null || typeof v !== "object") return null;
  const m = {};
  for (const [name, type] of [["imageId", "string"], ["mime", "string"], ["bytes", "number"], ["storedAt", "number"], ["lastAccess", "number"], ["version", "number"]]) {
    if (typeof v[name] !== type) return null;
    m[name] = v[name];
  }
  if (typeof v.etag === "string") m.etag = v.etag;
  if (typeof v.thumbhash === "string") m.thumbhash = v.thumbhash;
  return m;
}

export function idbTransaction(conn, stores, mode, reject) {
  let tx;
  try {
    tx = conn.db.transaction(stores, mode);
  } catch (e) {
    if (e?.name === "InvalidStateError") conn.lost = true;
    throw e;
  }
  tx.onabort = () => reject(tx.error ?? new DOMException("the transaction was aborted", "AbortError"));
  return tx;
}

export function idbRun(conn, mode, stores, work) {
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = idbTransaction(conn, stores, mode, reject);
      const done = work(tx, resolve);
      if (done) tx.oncomplete = () => resolve(done());
    } catch (e) {
      try { tx?.abort(); } catch {}
      reject(e);
    }
  });
}

export function idbWrite(conn, ops) {
  return idbRun(conn, "readwrite", ["images", "meta"], (tx) => {
    const images = tx.objectStore("images");
    const metas = tx.objectStore("meta");
    for (const [op, key, body, meta] of ops) {
      if (op === 0) images.put(body, key);
      if (op === 0 || op === 1) metas.put(meta, key);
      if (op === 2) (images.delete(key), metas.delete(key));
      if (op === 3) (images.clear(), metas.clear());
    }
    return () => undefined;
  });
}

export function idbAnswer(requests, resolve, values) {
  const last = requests.findLast(Boolean);
  if (last) last.onsuccess = () => resolve(values());
  else resolve(values());
}

export function idbGet(conn, store, keys) {
  return idbRun(conn, "readonly", [store], (tx, resolve) => {
    const rows = tx.objectStore(store);
    const requests = keys.map((k) => rows.get(k));
    idbAnswer(requests, resolve, () => requests.map((r) => r.result));
  });
}

export function idbReadImages(conn, keys, limit, plan) {
  return idbRun(conn, "readonly", ["images"], (tx, resolve) => {
    const images = tx.objectStore("images");
    const points = (read) => {
      const requests = keys.map((k, i) => (!read || read[i] ? images.get(k) : null));
      idbAnswer(requests, resolve, () => requests.map((r) => r?.result));
    };
    if (!limit) return points(null);
    // Keys compare as IndexedDB orders them (UTF-16 code units): the range is from the least
    // to the greatest asked for.
    const low = keys.reduce((a, b) => (b < a ? b : a));
    const high = keys.reduce((a, b) => (b > a ? b : a));
    const range = IDBKeyRange.bound(low, high);
    const stored = images.getAllKeys(range, limit);
    stored.onsuccess = () => {
      try {
        // Inside the event, the transaction still active: the reads join it.
        const chosen = plan(stored.result);
        if (chosen instanceof Int32Array) {
          const rows = images.getAll(range, limit);
          rows.onsuccess = () => resolve(Array.from(chosen, (i) => (i < 0 ? undefined : rows.result[i])));
        } else if (chosen) {
          points(chosen);
        } else {
          resolve(keys.map(() => undefined));
        }
      } catch (e) {
        tx.abort();
      }
    };
  });
}

export function idbScan(conn) {
  return idbRun(conn, "readonly", ["images", "meta"], (tx, resolve) => {
    const metas = tx.objectStore("meta");
    const requests = [metas.getAllKeys(), metas.getAll(), tx.objectStore("images").getAllKeys()];
    idbAnswer(requests, resolve, () => requests.map((r) => r.result));
  });
}

export function idbAll(conn, store) {
  return idbRun(conn, "readonly", [store], (tx, resolve) => {
    const rows = tx.objectStore(store);
    const requests = [rows.getAllKeys(), rows.getAll()];
    idbAnswer(requests, resolve, () => requests.map((r) => r.result));
  });
}

// Deletes the rows `keys` (every row when none are given) of the `records` store of a service worker's
// database if the origin has one (a page's `clear()` or `invalidate`: the worker may be
// stopped). Creates no database where `indexedDB.databases()` can tell there is none.
export async function idbDropRecords(name, ms, keys) {
  if (typeof indexedDB.databases === "function") {
    // Bounded like every other IndexedDB call here: an engine that never answers is skipped.
    let timer = 0;
    const listed = await Promise.race([
      indexedDB.databases(),
      new Promise((resolve) => (timer = setTimeout(() => resolve(null), ms))),
    ]).finally(() => clearTimeout(timer));
    if (listed === null || !listed.some((d) => d.name === name)) return;
  }
  const conn = await idbOpen(name, 1, ms, true);
  try {
    await idbPutRows(conn, "records", keys == null ? [[null]] : keys.map((key) => [key]));
  } finally {
    idbClose(conn);
  }
}

export function idbPutRows(conn, store, rows) {
  return idbRun(conn, "readwrite", [store], (tx) => {
    const s = tx.objectStore(store);
    for (const [key, value] of rows) {
      if (key === null) s.clear();
      else if (value === undefined) s.delete(key);
      else s.put(value, key);
    }
    return () => undefined;
  });
}

export function idbTouch(conn, rows, accesses, mark) {
  return idbRun(conn, "readwrite", ["images", "meta"], (tx) => {
    const images = tx.objectStore("images");
    const metas = tx.objectStore("meta");
    // An image row first: see the module docs of the layer.
    for (const [key, row] of rows) images.put(row, key);
    // The writer row ([key, value]): other tabs reload their LRU order before they evict.
    metas.put(mark[1], mark[0]);
    for (const [key, at] of accesses) {
      const read = metas.get(key);
      read.onsuccess = () => {
        const meta = idbMetaCopy(read.result);
        if (meta && at > meta.lastAccess) metas.put({ ...meta, lastAccess: at }, key);
      };
    }
    return () => undefined;
  });
}

export function idbWriteHashes(conn, hashes) {
  return idbRun(conn, "readwrite", ["images", "meta"], (tx) => {
    const images = tx.objectStore("images");
    const metas = tx.objectStore("meta");
    for (const [key, hash] of hashes) {
      const meta = metas.get(key);
      const body = images.get(key);
      body.onsuccess = () => {
        const m = idbMetaCopy(meta.result);
        if (m && m.thumbhash === undefined) metas.put({ ...m, thumbhash: hash }, key);
        // The copy in the image's row (its Blob or bytes put back as they are).
        const row = body.result;
        const copy = idbMetaCopy(row?.meta);
        if (copy && copy.thumbhash === undefined) images.put({ ...row, meta: { ...copy, thumbhash: hash } }, key);
      };
    }
    return () => undefined;
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = idbOpen)]
    fn idb_open(name: &str, version: u32, ms: u32, records: bool) -> Promise;
    #[wasm_bindgen(js_name = idbAll)]
    fn idb_all(conn: &JsValue, store: &str) -> Promise;
    #[wasm_bindgen(js_name = idbDropRecords)]
    fn idb_drop_records(name: &str, ms: u32, keys: Option<&Array>) -> Promise;
    #[wasm_bindgen(js_name = idbPutRows)]
    fn idb_put_rows(conn: &JsValue, store: &str, rows: &Array) -> Promise;
    #[wasm_bindgen(js_name = idbClose)]
    fn idb_close(conn: &JsValue);
    #[wasm_bindgen(js_name = idbWrite)]
    fn idb_write(conn: &JsValue, ops: &Array) -> Promise;
    #[wasm_bindgen(js_name = idbGet)]
    fn idb_get(conn: &JsValue, store: &str, keys: &Array) -> Promise;
    #[wasm_bindgen(js_name = idbReadImages)]
    fn idb_read_images(conn: &JsValue, keys: &Array, limit: u32, plan: &Function) -> Promise;
    #[wasm_bindgen(js_name = idbScan)]
    fn idb_scan(conn: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = idbTouch)]
    fn idb_touch(conn: &JsValue, rows: &Array, accesses: &Array, mark: &Array) -> Promise;
    #[wasm_bindgen(js_name = idbWriteHashes)]
    fn idb_write_hashes(conn: &JsValue, hashes: &Array) -> Promise;
}

/// What a driver call's rejection means: `{ gone }` is IndexedDB that cannot be used at all,
/// anything else the exception of a request or transaction.
fn rejection(value: JsValue) -> Error {
    let gone = field(&value, "gone");
    if gone.is_undefined() {
        return idb_error(value);
    }
    let reason = gone
        .as_string()
        .unwrap_or_else(|| idb_error(gone).to_string());
    Error::StorageUnavailable {
        layer: Layer::IndexedDb,
        reason,
    }
}

/// Deletes the rows `keys` (all rows when `None`) of the records database `name` of a service
/// worker, if the origin has it (see `idbDropRecords`).
pub(super) async fn drop_records(name: &str, ms: u32, keys: Option<&Array>) -> Result<()> {
    settled(idb_drop_records(name, ms, keys)).await.map(drop)
}

async fn settled(promise: Promise) -> Result<JsValue> {
    JsFuture::from(promise).await.map_err(rejection)
}

/// An open connection. It is marked lost by `versionchange` (it closes at once, so that the
/// other tab is not blocked) and by `close` (the browser closed it); closed when dropped.
pub(super) struct Conn {
    handle: JsValue,
}

impl Conn {
    /// Opens the database `name` at [`SCHEMA_VERSION`], stepping the schema up (see `schema.rs`),
    /// within `ms`: past it the wait is given up ([`Error::StorageUnavailable`]), and a
    /// connection that opens later is closed at once so that it blocks nobody.
    pub async fn open(name: &str, ms: u32) -> Result<Conn> {
        let handle = settled(idb_open(name, SCHEMA_VERSION, ms, false)).await?;
        Ok(Conn { handle })
    }

    /// Opens the records database `name` (version 1: one `records` store, made when missing)
    /// within `ms`, like [`Conn::open`].
    pub async fn open_records(name: &str, ms: u32) -> Result<Conn> {
        let handle = settled(idb_open(name, 1, ms, true)).await?;
        Ok(Conn { handle })
    }

    /// Whether the connection was taken away since it opened.
    pub fn is_lost(&self) -> bool {
        field(&self.handle, "lost").is_truthy()
    }

    /// Runs `ops` in one readwrite transaction over both stores and waits for the commit.
    /// Nothing is written when one fails.
    pub async fn write(&self, ops: &Ops) -> Result<()> {
        settled(idb_write(&self.handle, &ops.0)).await.map(drop)
    }

    /// Deletes `keys` from both stores in one readwrite transaction.
    pub async fn delete(&self, keys: &[JsValue]) -> Result<()> {
        let ops = Ops::default();
        for key in keys {
            ops.delete(key);
        }
        self.write(&ops).await
    }

    /// The values of `store` under `keys`, in their order (`undefined` where none), in one
    /// readonly transaction.
    pub async fn get(&self, store: &str, keys: &[JsValue]) -> Result<Vec<JsValue>> {
        let keys: Array = keys.iter().collect();
        let values = settled(idb_get(&self.handle, store, &keys)).await?;
        Ok(Array::from(&values).to_vec())
    }

    /// The `images` rows under `keys`, in their order (`undefined` where none), in one readonly
    /// transaction of that store alone. With `limit` (the batch's [`range_read::keys_limit`])
    /// the keys stored in the batch's range are read first, at most `limit`, and `plan` decides
    /// how to read the rows: `null` (none is stored), an `Int32Array` of positions in one range
    /// read (`-1`: not stored), or a `Uint8Array` of the keys to read one by one.
    ///
    /// [`range_read::keys_limit`]: crate::policy::range_read::keys_limit
    pub async fn read_images(
        &self,
        keys: &Array,
        limit: u32,
        plan: &Closure<dyn FnMut(Array) -> JsValue>,
    ) -> Result<Vec<JsValue>> {
        let plan: &Function = plan.as_ref().unchecked_ref();
        let rows = settled(idb_read_images(&self.handle, keys, limit, plan)).await?;
        Ok(Array::from(&rows).to_vec())
    }

    /// `[meta keys, meta values, images keys]`, read in one readonly transaction.
    pub async fn scan(&self) -> Result<[Array; 3]> {
        let all = Array::from(&settled(idb_scan(&self.handle)).await?);
        Ok([0, 1, 2].map(|i| Array::from(&all.get(i))))
    }

    /// `[keys, values]` of every row of `store`, read in one readonly transaction.
    pub async fn all(&self, store: &str) -> Result<(Array, Array)> {
        let all = Array::from(&settled(idb_all(&self.handle, store)).await?);
        Ok((Array::from(&all.get(0)), Array::from(&all.get(1))))
    }

    /// Writes `rows` (`[key, value]`: a put; `[key]`: a delete; `[null]`: a clear) into
    /// `store` in one readwrite transaction, in their order. The transaction is made at the
    /// call (so calls commit in the order they were made); the future waits for the commit.
    pub fn put_rows(&self, store: &str, rows: &Array) -> impl Future<Output = Result<()>> {
        let done = idb_put_rows(&self.handle, store, rows);
        async move { settled(done).await.map(drop) }
    }

    /// In one readwrite transaction: puts `rows` (`[key, row]`) into `images`, then moves the
    /// `lastAccess` of each metadata row in `accesses` (`[key, at]`) forward to `at`. Rows that
    /// are absent or not metadata are left as they are.
    pub async fn touch(&self, rows: &Array, accesses: &Array, mark: &Array) -> Result<()> {
        settled(idb_touch(&self.handle, rows, accesses, mark))
            .await
            .map(drop)
    }

    /// In one readwrite transaction: gives each metadata row in `hashes` (`[key, hash]`), and
    /// the copy its `images` row carries, the hash, if it has none.
    pub async fn write_hashes(&self, hashes: &Array) -> Result<()> {
        settled(idb_write_hashes(&self.handle, hashes))
            .await
            .map(drop)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        idb_close(&self.handle);
    }
}

/// The writes of one transaction, in the order they are issued.
#[derive(Default)]
pub(super) struct Ops(Array);

impl Ops {
    /// Writes a body and its metadata under `key`. The body goes first: a Blob the engine
    /// cannot clone throws `DataCloneError` at once; one it cannot persist aborts the
    /// transaction with `UnknownError`, and WebKit reports that promptly only when the Blob is
    /// the transaction's first request (after others it can stall the commit).
    pub fn put(&self, key: &JsValue, body: &JsValue, meta: &JsValue) {
        self.0.push(&Array::of4(&0.into(), key, body, meta));
    }

    /// Writes a metadata row alone.
    pub fn put_meta(&self, key: &JsValue, meta: &JsValue) {
        self.0
            .push(&Array::of4(&1.into(), key, &JsValue::UNDEFINED, meta));
    }

    /// Deletes `key` from both stores.
    pub fn delete(&self, key: &JsValue) {
        self.0.push(&Array::of2(&2.into(), key));
    }

    /// Empties both stores.
    pub fn clear(&self) {
        self.0.push(&Array::of1(&3.into()));
    }
}

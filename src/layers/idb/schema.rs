//! The database schema and its migrations.
//!
//! | store | key | value |
//! |---|---|---|
//! | [`IMAGES_STORE`] | `<ns>:idb:<escaped imageId>:v<version>` | `{ blob, meta }`, or `{ bytes: ArrayBuffer, mime, meta }` where Blobs cannot be stored |
//! | [`META_STORE`] | the same key | the [`crate::record::ImageMeta`] fields (`imageId, mime, bytes, etag?, storedAt, lastAccess, version, thumbhash?`), index `lastAccess` |
//!
//! Metadata lives apart from the bytes so that LRU scans and touches never load an image. The
//! schema version is the database version: `onupgradeneeded` steps through every migration
//! from the version found (`0` = new database) to [`SCHEMA_VERSION`], so a later schema adds a
//! step and keeps the older ones. Version 1 (one `images` store whose rows carried the metadata
//! beside the blob) is migrated row by row: each readable row gets its `meta` row.
//!
//! `meta` in an `images` row is a copy of its `meta` row as written with the body (its
//! `lastAccess` goes stale; the `meta` row keeps the current one), so that a get reads one store.
//! It was added without a new schema version: a row without it (written by earlier code) is
//! read with its `meta` row and gets the copy with its next touch, and earlier code reads only
//! `blob` or `bytes`.
//!
//! `thumbhash` (the image's ThumbHash, base64) was added to `meta` rows without a new schema
//! version: it is optional, a row without one reads as before and gets one when the image is
//! next hashed, and older code reading a row that has one ignores the field.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, IdbDatabase, IdbTransaction};

use super::codec::{meta_of, meta_value};
use super::idb_error;
use super::requests::CursorFuture;
use crate::error::Result;

/// The schema (and IndexedDB database) version this code reads and writes.
pub const SCHEMA_VERSION: u32 = 2;
/// The object store holding image bodies.
pub const IMAGES_STORE: &str = "images";
/// The object store holding [`crate::record::ImageMeta`] rows, under the same keys as [`IMAGES_STORE`].
pub const META_STORE: &str = "meta";
/// The index on `meta.lastAccess`.
pub const LAST_ACCESS_INDEX: &str = "lastAccess";

/// Steps the schema from `old_version` to [`SCHEMA_VERSION`] inside the upgrade transaction.
/// A later schema adds an `if old_version < N` step below the others.
pub(super) fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, old_version: u32) -> Result<()> {
    if old_version < 2 {
        let had_images = db.object_store_names().contains(IMAGES_STORE);
        if !had_images {
            db.create_object_store(IMAGES_STORE).map_err(idb_error)?;
        }
        if db.object_store_names().contains(META_STORE) {
            db.delete_object_store(META_STORE).map_err(idb_error)?;
        }
        let meta = db.create_object_store(META_STORE).map_err(idb_error)?;
        meta.create_index_with_str(LAST_ACCESS_INDEX, "lastAccess")
            .map_err(idb_error)?;
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
    let images = tx.object_store(IMAGES_STORE).map_err(idb_error)?;
    let metas = tx.object_store(META_STORE).map_err(idb_error)?;
    let rows = CursorFuture::new(images.open_cursor().map_err(idb_error)?);
    let tx = tx.clone();
    // The upgrade transaction stays open while the cursor runs; the writes below are issued
    // from the cursor's last success event, so they join the same transaction.
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(rows) = rows.await else {
            let _ = tx.abort();
            return;
        };
        for (key, value) in rows {
            let meta = meta_of(&value).map(|m| meta_value(&m));
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

//! The database schema and its migrations.
//!
//! | store | key | value |
//! |---|---|---|
//! | [`IMAGES_STORE`] | `<ns>:idb:<escaped imageId>:v<version>` | `{ blob, meta }`, or `{ bytes: ArrayBuffer, mime, meta }` where Blobs cannot be stored |
//! | [`META_STORE`] | the same key | the [`crate::record::ImageMeta`] fields (`imageId, mime, bytes, etag?, storedAt, lastAccess, version, thumbhash?`), index `lastAccess` |
//!
//! Metadata lives apart from the bytes so that LRU scans and touches never load an image. The
//! schema version is the database version: `onupgradeneeded` (`idbUpgrade` in `driver.rs`)
//! steps through every migration from the version found (`0` = new database) to
//! [`SCHEMA_VERSION`], so a later schema adds an `if (oldVersion < N)` step and keeps the older
//! ones. Version 1 (one `images` store whose rows carried the metadata
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

/// The schema (and IndexedDB database) version this code reads and writes.
pub const SCHEMA_VERSION: u32 = 2;
/// The object store holding image bodies.
pub const IMAGES_STORE: &str = "images";
/// The object store holding [`crate::record::ImageMeta`] rows, under the same keys as [`IMAGES_STORE`].
pub const META_STORE: &str = "meta";
/// The index on `meta.lastAccess`.
pub const LAST_ACCESS_INDEX: &str = "lastAccess";

//! The layers the hierarchy talks to, as small traits.
//!
//! The hierarchy never names a browser type: it calls these traits. The browser adapters
//! (`local`, `idb`, `network`, `object_url`, `runtime`) implement them over localStorage,
//! IndexedDB and `fetch` with raw web-sys, not rexie or gloo-storage: rexie hides the
//! `IDBDatabase` (no `versionchange`/`close`/`blocked` handling, panics inside an upgrade) and
//! gloo-storage throws where a cache must degrade (see `idb/mod.rs` and `local.rs`). Every
//! JavaScript exception becomes an [`crate::Error`] through one conversion
//! (`Error::from_js`); `in_memory` (a test double, compiled only for tests: `cfg(test)` or
//! the `testing` feature) implements them over plain Rust maps so the hierarchy runs natively
//! under a manual clock for tests and the trace simulation.
//!
//! `I` is the platform's image body: a [`body::Body`] in the browser (bytes in hand, or a
//! Blob), bytes natively. The
//! hierarchy only moves it between layers; it never looks inside.

use futures::future::LocalBoxFuture;

use crate::clock::Millis;
use crate::error::Result;
use crate::record::{PictureRecord, StoredImage};

pub mod handover_notes;
#[cfg(any(test, feature = "testing"))]
pub mod in_memory;
pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod body;
#[cfg(target_arch = "wasm32")]
pub mod held_bodies;
#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod local;
#[cfg(target_arch = "wasm32")]
pub mod locks;
#[cfg(target_arch = "wasm32")]
pub mod network;
#[cfg(target_arch = "wasm32")]
pub mod object_url;
#[cfg(target_arch = "wasm32")]
pub mod runtime;
#[cfg(target_arch = "wasm32")]
pub mod thumbnail;

pub mod resilient;

/// A future that stays on the current thread (everything in the browser does).
pub type LocalFuture<'a, T> = LocalBoxFuture<'a, T>;

/// The localStorage layer: user id → [`PictureRecord`], small JSON, synchronous.
pub trait RecordStore {
    /// The record stored for `user_id`, fresh or not. A corrupt, foreign or old-version entry is
    /// removed and reported as [`crate::Error::CorruptEntry`] (the caller counts it as a miss).
    fn get(&self, user_id: &str) -> Result<Option<PictureRecord>>;
    /// Stores `record`. When storage is full, evicts the cache's own oldest keys and retries
    /// once; never touches keys that are not the cache's.
    fn put(&self, record: &PictureRecord) -> Result<()>;
    /// Stores `record` only if it fits as it is: when storage is full, fails with
    /// [`crate::Error::QuotaExceeded`] and evicts nothing (for optional additions, such as a
    /// preview hash, that must never cost another record its place).
    fn put_if_room(&self, record: &PictureRecord) -> Result<()> {
        self.put(record)
    }
    /// Removes the record of `user_id`.
    fn remove(&self, user_id: &str) -> Result<()>;
    /// Removes every key of this namespace (all versions), and nothing else.
    fn clear(&self) -> Result<()>;
    /// Bytes (UTF-16 code units × 2, as browsers count them) the cache's keys and values use.
    fn bytes_used(&self) -> u64;
    /// Every readable record of the current version (for diagnostics).
    fn records(&self) -> Vec<PictureRecord>;
    /// `(user, stored JSON)` of every current-version record, for handing to another context,
    /// which checks them as untrusted. By default from [`Self::records`]; a store may skip the
    /// checks to read many quickly.
    fn texts(&self) -> Vec<(String, String)> {
        self.records()
            .into_iter()
            .map(|r| (r.user_id.clone(), r.to_json()))
            .collect()
    }
    /// Notes that the records of `users` were learned from the backend, to be handed to the
    /// service worker when it next starts (it may have been stopped and missed them): the
    /// notes outlive the page and are shared by its tabs (see [`handover_notes`]). Best effort:
    /// a note lost (storage full, two tabs writing at once) costs the worker one API call.
    /// The default keeps none (the stores of contexts that never answer a worker).
    fn note_learned(&self, _users: &[String]) {}
    /// Takes the users noted since the last take (a worker's hello), and starts the notes
    /// afresh: from the first take on, learned users are noted. `None` when more were noted
    /// than are kept, or the notes are unreadable (then hand over every record).
    fn take_noted(&self) -> Option<Vec<String>> {
        Some(Vec::new())
    }
    /// Forgets the users noted (a `clear()`, here or in another tab): the notes then name no
    /// user and say "everything" (see [`handover_notes::forgotten`]).
    fn forget_noted(&self) {}
    /// Whether the contexts that announce changes write into this same store (localStorage:
    /// every tab's). A store of one context's own (the service worker's, in IndexedDB) is told
    /// of the changes it hears instead (see `Hierarchy::apply_remote_change`).
    fn is_shared(&self) -> bool {
        true
    }
}

/// What an image store holds, in sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Bytes of image data.
    pub bytes: u64,
    /// Number of images.
    pub entries: u64,
}

/// The IndexedDB layer: image id → bytes + metadata, LRU by last access within a byte budget
/// and an entry cap.
pub trait ImageStore<I> {
    /// Reads one image. Corrupt or old-version entries are removed and reported as
    /// [`crate::Error::CorruptEntry`].
    fn get(&self, image_id: &str) -> LocalFuture<'_, Result<Option<StoredImage<I>>>>;
    /// Reads several images in one readonly transaction; the result is in the order of `ids`.
    /// Corrupt entries come back as `None` (and are removed).
    fn get_many<'a>(
        &'a self,
        ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<Option<StoredImage<I>>>>>;
    /// Notes at once that `image_id` was used at `at`, for the eviction order only: the
    /// batched [`ImageStore::touch`] that writes it comes later, and a write planned meanwhile
    /// must already see the use. The default does nothing.
    fn used(&self, _image_id: &str, _at: Millis) {}
    /// Stores an image; if that overflows the budget, evicts the least recently used images in
    /// the same transaction. Returns the ids evicted.
    fn put(&self, image: StoredImage<I>) -> LocalFuture<'_, Result<Vec<String>>>;
    /// Records that images were read at the given times (batched: one readwrite transaction for
    /// many hits).
    fn touch<'a>(&'a self, accesses: &'a [(String, Millis)]) -> LocalFuture<'a, Result<()>>;
    /// Removes one image.
    fn remove<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<()>>;
    /// Removes every image (in the browser: empties the cache's own database, which, unlike
    /// deleting it, another tab cannot block).
    fn clear(&self) -> LocalFuture<'_, Result<()>>;
    /// Bytes and entries stored.
    fn usage(&self) -> LocalFuture<'_, Result<StoreUsage>>;
    /// The ThumbHash kept in `image_id`'s row, as the store last saw it (synchronous: no
    /// transaction; in the browser, from the rows read when the store opened and what this page
    /// wrote or read since). The default knows none.
    fn thumbhash(&self, _image_id: &str) -> Option<String> {
        None
    }
    /// Writes `thumbhash` into `image_id`'s row if the row is there and has none; a write of
    /// that image still to come carries it too. Never creates a row, never evicts. The default
    /// does nothing.
    fn set_thumbhash<'a>(
        &'a self,
        _image_id: &'a str,
        _thumbhash: &'a str,
    ) -> LocalFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// Whether the store is working (false once it was found missing, blocked or lost for good).
    fn is_available(&self) -> bool;
}

/// A user's or image's picture as the backend describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotePicture {
    /// The user, when the answer names one.
    pub user_id: Option<String>,
    /// The image, or `None` when the user has no picture.
    pub image_id: Option<String>,
    /// The presigned URL of the image (or of the default picture).
    pub url: String,
    /// The image's ThumbHash (base64) when the answer carries one (DESIGN.md §4); checked by
    /// the hierarchy before use.
    pub thumbhash: Option<String>,
}

/// The outcome of downloading image bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Download<I> {
    /// New bytes, checked: an allowed type (sniffed), within the size cap.
    Image {
        /// The bytes, typed by the cache.
        body: I,
        /// The sniffed MIME type.
        mime: String,
        /// The size.
        bytes: u64,
        /// The ETag, if object storage sent one.
        etag: Option<String>,
    },
    /// The server answered 304 to `If-None-Match`: the stored bytes are current.
    NotModified,
    /// The bytes cannot be read (opaque cross-origin response): only the URL can be used.
    Opaque,
}

/// The network layer: the backend API and object storage.
pub trait Backend<I> {
    /// `GET {apiBase}/user/{userId}`.
    fn fetch_user<'a>(&'a self, user_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>>;
    /// `GET {apiBase}/{imageId}`.
    fn fetch_image_info<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>>;
    /// `POST {batchEndpoint}` with `{ user_ids }`. Only called when a batch endpoint is configured.
    /// Users the backend does not know are left out of the answer.
    fn fetch_batch<'a>(
        &'a self,
        user_ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<RemotePicture>>>;
    /// `GET url` of the image bytes, conditional on `etag` when given.
    fn download<'a>(
        &'a self,
        url: &'a str,
        etag: Option<&'a str>,
    ) -> LocalFuture<'a, Result<Download<I>>>;
}

/// Turns image bodies into URLs an `<img>` can show (`URL.createObjectURL` in the browser).
pub trait ObjectUrls<I> {
    /// A new URL for `body`.
    fn create(&self, body: &I) -> Result<String>;
    /// Revokes a URL made by `create`; it must never be handed out again.
    fn revoke(&self, url: &str);
    /// What an image of `bytes` costs memory once its URL is made: its bytes, plus the URL where
    /// the URL carries them (a `data:` URL). Counted against the memory byte budget.
    fn held_bytes(&self, bytes: u64) -> u64 {
        bytes
    }
}

/// Exclusive locks shared by every tab of the origin (the Web Locks API in the browser).
pub trait Locks {
    /// Runs `task` while holding the lock `name`, after every earlier holder (in any tab) has
    /// released it. The returned future resolves when `task` has finished and the lock is free.
    fn exclusive(&self, name: String, task: LocalFuture<'static, ()>) -> LocalFuture<'static, ()>;
}

/// Running work in the background and waiting: the browser's event loop, or a test executor.
pub trait Runtime {
    /// Runs `task` to completion in the background.
    fn spawn(&self, task: LocalFuture<'static, ()>);
    /// Resolves after `ms` milliseconds (a manual clock's runtime resolves at once and advances
    /// the clock instead).
    fn sleep(&self, ms: Millis) -> LocalFuture<'static, ()>;
}

/// An image decoded at small size: `width` × `height` RGBA pixels, row by row, not premultiplied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallImage {
    /// Width in pixels (at most [`THUMBNAIL_SIDE`]).
    pub width: usize,
    /// Height in pixels (at most [`THUMBNAIL_SIDE`]).
    pub height: usize,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

/// The longest side an image is decoded at for its ThumbHash.
pub const THUMBNAIL_SIDE: usize = 32;

/// Decodes image bodies at small size, for their ThumbHash preview (`ImageDecoder` or
/// `createImageBitmap`, and an `OffscreenCanvas`, in the browser).
pub trait Thumbnails<I> {
    /// `body` decoded to at most [`THUMBNAIL_SIDE`] px on its long side, keeping its aspect.
    /// `None` where the platform cannot decode images or this one fails to decode; never throws.
    fn decode(&self, body: I) -> LocalFuture<'static, Option<SmallImage>>;
}

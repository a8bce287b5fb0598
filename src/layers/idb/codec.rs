//! Row values ⇄ [`StoredImage`]: what a `meta` row and an `images` row hold, written and read
//! back without trusting anything read.
//!
//! A body is stored as `{ bytes: ArrayBuffer, mime, meta }` when its bytes are in hand (what a
//! download or an upload gives), else as `{ blob, meta }` (a Blob-backed body, unless the engine
//! refuses Blobs: see the module docs of [`super`]). It is read back in the form it was stored
//! in (see [`Body`]), typed as the metadata records. `meta` is a copy of the `meta` row as written with the body,
//! so that reads need one store.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::idb_error;
use crate::clock::Millis;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::js_object::{field, number_field, string_field, JsObject};
use crate::key::Keys;
use crate::layers::body::Body;
use crate::policy::placeholder::is_valid;
use crate::record::{ImageMeta, StoredImage};
use crate::vocabulary::Layer;

/// How this store names, checks and decodes its rows.
#[derive(Debug)]
pub(super) struct RowCodec {
    keys: Keys,
    max_image_bytes: u64,
    allowed_types: Vec<String>,
}

impl RowCodec {
    pub fn new(config: &Config) -> Self {
        RowCodec {
            keys: Keys::new(&config.namespace, config.version),
            max_image_bytes: config.max_image_bytes,
            allowed_types: config.allowed_types.clone(),
        }
    }

    /// The key `image_id` is stored under.
    pub fn key_of(&self, image_id: &str) -> String {
        self.keys.image_key(image_id)
    }

    /// [`RowCodec::key_of`] as a JS value.
    pub fn js_key(&self, image_id: &str) -> JsValue {
        JsValue::from_str(&self.key_of(image_id))
    }

    /// The version written and accepted.
    pub fn version(&self) -> u32 {
        self.keys.version()
    }

    /// The largest image accepted.
    pub fn max_image_bytes(&self) -> u64 {
        self.max_image_bytes
    }

    /// Whether `mime` may be stored.
    pub fn allows(&self, mime: &str) -> bool {
        self.allowed_types.iter().any(|t| t == mime)
    }

    /// Whether `key` is an image row of this namespace written by a newer version: during a
    /// rollout a tab of the newer release owns it, and this one neither counts nor removes it
    /// (rows of older versions are removed).
    pub fn is_newer_version(&self, key: &str) -> bool {
        self.keys
            .parse_any_version(key)
            .is_some_and(|p| p.layer == Layer::IndexedDb && p.version > self.keys.version())
    }

    /// Checks `meta` as it would be checked when read back under `image_id` at `now`.
    pub fn check(&self, meta: &ImageMeta, image_id: &str, now: Millis) -> Result<()> {
        meta.check(
            image_id,
            self.keys.version(),
            now,
            self.max_image_bytes,
            &self.allowed_types,
        )
    }

    /// Decodes and checks one metadata row read under `key`.
    pub fn check_row(&self, key: &str, value: &JsValue, now: Millis) -> Result<ImageMeta> {
        let parsed = self
            .keys
            .parse_any_version(key)
            .filter(|p| p.layer == Layer::IndexedDb && p.version == self.keys.version())
            .ok_or_else(|| corrupt("key of another version or namespace"))?;
        let mut meta = meta_of(value).ok_or_else(|| corrupt("not image metadata"))?;
        // A malformed preview hash costs the preview, not the image.
        if meta.thumbhash.as_deref().is_some_and(|h| !is_valid(h)) {
            meta.thumbhash = None;
        }
        self.check(&meta, &parsed.id, now)?;
        Ok(meta)
    }

    /// Turns the `images` row read for `image_id` into an image from the copy of its metadata
    /// the row carries: `None` when the `meta` row must be read too (a row written before the
    /// copy, or a copy that does not check). An absent row is `Some(Ok(None))`. The copy's
    /// preview hash is the row's: a hash that comes after the write goes into both (see
    /// `write_hashes`).
    pub fn decode_row(
        &self,
        image_id: &str,
        body: &JsValue,
        now: Millis,
    ) -> Option<Result<Option<StoredImage<Body>>>> {
        if body.is_undefined() {
            return Some(Ok(None));
        }
        let meta = self
            .check_row(&self.key_of(image_id), &field(body, "meta"), now)
            .ok()?;
        Some(with_body(meta, body).map(Some))
    }

    /// Turns the two rows read for `image_id` into an image (`Ok(None)` when both are absent).
    pub fn decode(
        &self,
        image_id: &str,
        meta: &JsValue,
        body: &JsValue,
        now: Millis,
    ) -> Result<Option<StoredImage<Body>>> {
        if meta.is_undefined() && body.is_undefined() {
            return Ok(None);
        }
        if body.is_undefined() {
            return Err(corrupt("metadata without an image"));
        }
        let meta = self.check_row(&self.key_of(image_id), meta, now)?;
        with_body(meta, body).map(Some)
    }
}

/// The image of checked `meta` and its stored `body`, which must hold exactly `meta.bytes`.
fn with_body(meta: ImageMeta, body: &JsValue) -> Result<StoredImage<Body>> {
    let body = body_of(body, &meta.mime)?;
    if body.size() != meta.bytes {
        return Err(corrupt(format!(
            "image holds {} bytes, metadata says {}",
            body.size(),
            meta.bytes
        )));
    }
    Ok(StoredImage { meta, body })
}

/// The metadata row of `meta`: `{ imageId, mime, bytes, etag?, storedAt, lastAccess, version,
/// thumbhash? }`.
pub fn meta_value(meta: &ImageMeta) -> JsValue {
    JsObject::new()
        .set("imageId", meta.image_id.as_str())
        .set("mime", meta.mime.as_str())
        .set("bytes", meta.bytes as f64)
        .set_some("etag", meta.etag.as_deref())
        .set("storedAt", meta.stored_at)
        .set("lastAccess", meta.last_access)
        .set("version", meta.version)
        .set_some("thumbhash", meta.thumbhash.as_deref())
        .into()
}

/// A metadata row read back, if it has every field with the right type (other fields are
/// ignored); its values are checked by `RowCodec::check_row`.
pub fn meta_of(value: &JsValue) -> Option<ImageMeta> {
    let whole = |n: f64| (n.fract() == 0.0 && n >= 0.0).then_some(n);
    let etag = field(value, "etag");
    let thumbhash = field(value, "thumbhash");
    Some(ImageMeta {
        image_id: string_field(value, "imageId")?,
        mime: string_field(value, "mime")?,
        bytes: whole(number_field(value, "bytes")?)? as u64,
        etag: match etag.as_string() {
            Some(etag) => Some(etag),
            None if etag.is_undefined() || etag.is_null() => None,
            None => return None,
        },
        stored_at: number_field(value, "storedAt")?,
        last_access: number_field(value, "lastAccess")?,
        version: whole(number_field(value, "version")?).filter(|v| *v <= f64::from(u32::MAX))?
            as u32,
        // Optional: a row written before previews has none; one of another type is dropped.
        thumbhash: thumbhash.as_string(),
    })
}

/// Puts `meta_row` into `body_row` as its `meta` field: the copy that lets a read use the
/// `images` store alone ([`RowCodec::decode_row`]). Code that reads only the row's `blob` or
/// `bytes` ignores it.
pub(super) fn carry_meta(body_row: &JsValue, meta_row: &JsValue) {
    let _ = Reflect::set(body_row, &JsValue::from_str("meta"), meta_row);
}

/// Gives the copy of the metadata in `body_row` the preview hash `hash`, if it has none.
pub(super) fn fill_copy_hash(body_row: &JsValue, hash: &str) {
    let copy = field(body_row, "meta");
    if copy.is_object() && field(&copy, "thumbhash").is_undefined() {
        let _ = Reflect::set(
            &copy,
            &JsValue::from_str("thumbhash"),
            &JsValue::from_str(hash),
        );
    }
}

/// The row of `body` (typed `mime`): `{ bytes: ArrayBuffer, mime }` for bytes in hand; for a
/// Blob, `{ blob }` when `blobs` (the engine stores them), else its bytes, read before any
/// transaction is opened.
pub(super) async fn body_value(body: &Body, mime: &str, blobs: bool) -> Result<JsValue> {
    let value = Object::new();
    let buffer = match body {
        Body::Bytes { bytes, .. } => bytes.buffer().into(),
        Body::Blob(blob) if blobs => {
            let _ = Reflect::set(&value, &JsValue::from_str("blob"), blob);
            return Ok(value.into());
        }
        Body::Blob(blob) => JsFuture::from(blob.array_buffer())
            .await
            .map_err(idb_error)?,
    };
    let _ = Reflect::set(&value, &JsValue::from_str("bytes"), &buffer);
    let _ = Reflect::set(&value, &JsValue::from_str("mime"), &JsValue::from_str(mime));
    Ok(value.into())
}

/// The stored body, typed `mime`, in the form it was stored in.
fn body_of(body: &JsValue, mime: &str) -> Result<Body> {
    if !body.is_object() {
        return Err(corrupt("image row is not an object"));
    }
    let bytes = field(body, "bytes");
    if bytes.is_instance_of::<js_sys::ArrayBuffer>() || bytes.is_instance_of::<Uint8Array>() {
        return Ok(Body::bytes(Uint8Array::new(&bytes), mime));
    }
    if let Ok(blob) = field(body, "blob").dyn_into::<Blob>() {
        if blob.type_() == mime {
            return Ok(Body::Blob(blob));
        }
        // Same bytes, the type the cache decided on (slicing copies nothing).
        return blob
            .slice_with_f64_and_f64_and_content_type(0.0, blob.size(), mime)
            .map(Body::Blob)
            .map_err(idb_error);
    }
    Err(corrupt("image row holds neither a Blob nor bytes"))
}

/// Whether a write failed because the engine cannot store a Blob: `DataCloneError`, or
/// `UnknownError`, which older WebKit reports for Blobs it cannot persist.
/// The key of the row in the metadata store that names the last writer (a tab's store and its
/// write count). It parses as no image key, so reads and the mirror's cleanup pass over it.
pub(super) const WRITER_KEY: &str = "~writer";

pub(super) fn refuses_blob(error: &Error) -> bool {
    matches!(error.js_name(), Some("DataCloneError" | "UnknownError"))
}

pub(super) fn corrupt(reason: impl Into<String>) -> Error {
    Error::CorruptEntry {
        layer: Layer::IndexedDb,
        reason: reason.into(),
    }
}

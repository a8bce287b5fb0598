//! What the cache stores: picture records (user → image) and image metadata (image → bytes).
//!
//! Both are read back from storage the app does not control, so decoding is defensive: anything
//! that is not exactly what this version wrote is an [`Error::CorruptEntry`], which the layers
//! turn into a miss and a removal.

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::json::{self, ObjectWriter, Value};
use crate::policy::safe_url::is_web_url;
use crate::vocabulary::Layer;

/// The longest id or ETag accepted from storage or the network.
pub const MAX_ID_LEN: usize = 16 * 1024;
/// The longest URL accepted from storage or the network.
pub const MAX_URL_LEN: usize = 16 * 1024;
/// How far in the future a stored timestamp may lie (clock skew between tabs and reloads).
pub const MAX_CLOCK_SKEW_MS: Millis = 24.0 * 3_600_000.0;

pub use crate::vocabulary::PictureRecord;

fn corrupt(layer: Layer, reason: impl Into<String>) -> Error {
    Error::CorruptEntry {
        layer,
        reason: reason.into(),
    }
}

fn check_time(layer: Layer, name: &str, t: Millis, now: Millis) -> Result<()> {
    if !t.is_finite() || t < 0.0 || t > now + MAX_CLOCK_SKEW_MS {
        return Err(corrupt(
            layer,
            format!("{name} {} is not a plausible time", json::number_text(t)),
        ));
    }
    Ok(())
}

impl PictureRecord {
    /// The JSON written to localStorage.
    pub fn to_json(&self) -> String {
        let mut out = ObjectWriter::new()
            .string("userId", &self.user_id)
            .string_or_null("imageId", self.image_id.as_deref())
            .string("remoteUrl", &self.remote_url)
            .number("urlExpiresAt", self.url_expires_at)
            .number("fetchedAt", self.fetched_at);
        if let Some(etag) = &self.etag {
            out = out.string("etag", etag);
        }
        out = out.number("version", f64::from(self.version));
        if self.opaque {
            out = out.boolean("opaque", true);
        }
        if let Some(hash) = &self.thumbhash {
            out = out.string("thumbhash", hash);
        }
        out.finish()
    }

    /// Decodes and checks a record read from storage: it must be this version's, for
    /// `expected_user`, with plausible times and bounded strings.
    pub fn decode(text: &str, expected_user: &str, version: u32, now: Millis) -> Result<Self> {
        if text.len() > MAX_URL_LEN + 2 * MAX_ID_LEN + 1024 {
            return Err(corrupt(Layer::Local, "entry is too large"));
        }
        let value = json::parse(text.as_bytes()).map_err(|e| corrupt(Layer::Local, e.0))?;
        let mut record = Self::from_value(&value).map_err(|e| corrupt(Layer::Local, e))?;
        // A malformed preview hash costs the preview, not the record.
        if record
            .thumbhash
            .as_deref()
            .is_some_and(|h| !crate::policy::placeholder::is_valid(h))
        {
            record.thumbhash = None;
        }
        if record.version != version {
            return Err(corrupt(
                Layer::Local,
                format!("version {} is not {version}", record.version),
            ));
        }
        if record.user_id != expected_user {
            return Err(corrupt(Layer::Local, "record is for another user"));
        }
        record.check(Layer::Local, now)?;
        Ok(record)
    }

    /// The record's fields from a parsed JSON object, exactly as [`PictureRecord::to_json`]
    /// writes them: a missing required field, a field of the wrong type or one it never writes
    /// is refused.
    fn from_value(value: &Value) -> std::result::Result<Self, &'static str> {
        const FIELDS: [&str; 9] = [
            "userId",
            "imageId",
            "remoteUrl",
            "urlExpiresAt",
            "fetchedAt",
            "etag",
            "version",
            "opaque",
            "thumbhash",
        ];
        let map = value.as_object().ok_or("not a record: not an object")?;
        if map.keys().any(|k| !FIELDS.contains(&k)) {
            return Err("not a record: unknown field");
        }
        let string = |name| match map.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err("not a record: a text field is missing"),
        };
        let optional = |name| match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err("not a record: a text field is not text"),
        };
        let number = |name| {
            map.get(name)
                .and_then(Value::as_f64)
                .ok_or("not a record: a number field is missing")
        };
        let version = number("version")?;
        if version.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&version) {
            return Err("not a record: bad version");
        }
        Ok(PictureRecord {
            user_id: string("userId")?,
            image_id: optional("imageId")?,
            remote_url: string("remoteUrl")?,
            url_expires_at: number("urlExpiresAt")?,
            fetched_at: number("fetchedAt")?,
            etag: optional("etag")?,
            version: version as u32,
            opaque: match map.get("opaque") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err("not a record: opaque is not a boolean"),
            },
            thumbhash: optional("thumbhash")?,
        })
    }

    /// The `fetchedAt` of a stored record's text, without checking the rest (eviction order).
    pub fn fetched_at_of(text: &str) -> Option<Millis> {
        let value = json::parse(text.as_bytes()).ok()?;
        value.as_object()?.get("fetchedAt")?.as_f64()
    }

    /// The record as kept when presigned URLs must not rest in storage (`local.storeUrls:
    /// false`): `placeholder` instead of the URL, expired from the start, so a download that
    /// needs the URL signs a new one first.
    pub fn without_url(&self, placeholder: &str) -> PictureRecord {
        PictureRecord {
            remote_url: placeholder.to_string(),
            url_expires_at: self.fetched_at,
            ..self.clone()
        }
    }

    /// Checks the invariants every record keeps, whatever its source.
    pub fn check(&self, layer: Layer, now: Millis) -> Result<()> {
        if self.user_id.is_empty() || self.user_id.len() > MAX_ID_LEN {
            return Err(corrupt(layer, "bad user id"));
        }
        if let Some(id) = &self.image_id {
            if id.is_empty() || id.len() > MAX_ID_LEN {
                return Err(corrupt(layer, "bad image id"));
            }
        }
        if self.remote_url.is_empty() || self.remote_url.len() > MAX_URL_LEN {
            return Err(corrupt(layer, "bad remote url"));
        }
        if !is_web_url(&self.remote_url) {
            return Err(corrupt(layer, "remote url is not http(s)"));
        }
        if self.etag.as_ref().is_some_and(|e| e.len() > MAX_ID_LEN) {
            return Err(corrupt(layer, "bad etag"));
        }
        check_time(layer, "fetchedAt", self.fetched_at, now)?;
        if !self.url_expires_at.is_finite() || self.url_expires_at < 0.0 {
            return Err(corrupt(layer, "bad urlExpiresAt"));
        }
        Ok(())
    }
}

/// What IndexedDB keeps beside an image's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageMeta {
    /// The image.
    pub image_id: String,
    /// The MIME type the cache set (sniffed from the bytes, never taken blindly from a server).
    pub mime: String,
    /// The size of the bytes.
    pub bytes: u64,
    /// The ETag object storage sent, if any.
    pub etag: Option<String>,
    /// When the bytes were downloaded (freshness counts from here).
    pub stored_at: Millis,
    /// When the image was last read (LRU order).
    pub last_access: Millis,
    /// The cache version the entry was written under.
    pub version: u32,
    /// The image's ThumbHash (base64), once known: a record lost from localStorage, or a
    /// context without it (the service worker), still has the preview. Rows written before it
    /// existed have none; a malformed one is dropped when read, the row kept.
    pub thumbhash: Option<String>,
}

impl ImageMeta {
    /// Checks metadata read from IndexedDB: this version, the expected id, an allowed type, a
    /// plausible size and plausible times.
    pub fn check(
        &self,
        expected_id: &str,
        version: u32,
        now: Millis,
        max_bytes: u64,
        allowed_types: &[String],
    ) -> Result<()> {
        if self.version != version {
            return Err(corrupt(
                Layer::IndexedDb,
                format!("version {} is not {version}", self.version),
            ));
        }
        if self.image_id != expected_id {
            return Err(corrupt(Layer::IndexedDb, "entry is for another image"));
        }
        if !allowed_types.contains(&self.mime) {
            return Err(corrupt(
                Layer::IndexedDb,
                format!("type {} is not allowed", self.mime),
            ));
        }
        if self.bytes == 0 || self.bytes > max_bytes {
            return Err(corrupt(
                Layer::IndexedDb,
                format!("size {} is out of range", self.bytes),
            ));
        }
        if self.etag.as_ref().is_some_and(|e| e.len() > MAX_ID_LEN) {
            return Err(corrupt(Layer::IndexedDb, "bad etag"));
        }
        check_time(Layer::IndexedDb, "storedAt", self.stored_at, now)?;
        check_time(Layer::IndexedDb, "lastAccess", self.last_access, now)?;
        Ok(())
    }
}

/// An image as a store holds it: metadata plus the platform's body (a `Blob` in the browser,
/// bytes in native tests).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage<I> {
    /// The metadata.
    pub meta: ImageMeta,
    /// The bytes.
    pub body: I,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000.0;

    fn record() -> PictureRecord {
        PictureRecord {
            user_id: "u1".into(),
            image_id: Some("img1".into()),
            remote_url: "https://s3.example/img1?X-Amz-Signature=abc".into(),
            url_expires_at: NOW + 3_600_000.0,
            fetched_at: NOW,
            etag: None,
            version: 1,
            opaque: false,
            thumbhash: None,
        }
    }

    #[test]
    fn record_round_trips_through_json() {
        let r = record();
        assert_eq!(
            PictureRecord::decode(&r.to_json(), "u1", 1, NOW).unwrap(),
            r
        );
    }

    #[test]
    fn junk_and_foreign_records_are_corrupt() {
        let r = record();
        let cases = [
            "not json".to_string(),
            "{}".to_string(),
            "null".to_string(),
            "[1,2]".to_string(),
            r.to_json().replace("\"version\":1", "\"version\":2"),
            r.to_json().replace("\"u1\"", "\"u2\""),
            r.to_json()
                .replace("\"fetchedAt\":1800000000000", "\"fetchedAt\":-5"),
            r.to_json()
                .replace("\"fetchedAt\":1800000000000", "\"fetchedAt\":9e15"),
            r.to_json()
                .replace("\"remoteUrl\":\"", "\"remoteUrl\":\"\",\"x\":\""),
            r.to_json().replace("\"userId\"", "\"evil\":1,\"userId\""),
        ];
        for text in cases {
            let err = PictureRecord::decode(&text, "u1", 1, NOW).unwrap_err();
            assert_eq!(err.code(), "CORRUPT_ENTRY", "{text}");
        }
    }

    #[test]
    fn image_meta_is_checked_against_expectations() {
        let allowed = vec!["image/png".to_string()];
        let meta = ImageMeta {
            image_id: "i".into(),
            mime: "image/png".into(),
            bytes: 10,
            etag: None,
            stored_at: NOW,
            last_access: NOW,
            version: 1,
            thumbhash: None,
        };
        assert!(meta.check("i", 1, NOW, 100, &allowed).is_ok());
        assert!(meta.check("j", 1, NOW, 100, &allowed).is_err());
        assert!(meta.check("i", 2, NOW, 100, &allowed).is_err());
        assert!(meta.check("i", 1, NOW, 5, &allowed).is_err());
        let html = ImageMeta {
            mime: "text/html".into(),
            ..meta.clone()
        };
        assert!(html.check("i", 1, NOW, 100, &allowed).is_err());
    }
}

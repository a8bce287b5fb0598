//! After an upload: the new picture replaces the old one in every layer of every tab, and the
//! uploaded bytes are stored so no tab downloads what this tab just sent.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::key::validate_id;
use crate::layers::RemotePicture;
use crate::policy::dimensions::check_pixels;
use crate::policy::sniff::accept_image;
use crate::record::{PictureRecord, StoredImage};
use crate::vocabulary::{Change, Layer};

use super::Hierarchy;

/// Image bytes the app uploaded, checked once: non-empty, within `maxImageBytes`, of an allowed
/// type that the bytes agree with, declaring no more than `maxImagePixels`. The only way to hand bytes to `setPicture`.
#[derive(Debug, Clone)]
pub struct Upload<I> {
    body: I,
    mime: &'static str,
    bytes: u64,
}

impl<I> Upload<I> {
    /// The size part of [`Upload::check`], for callers that know the size before reading the
    /// bytes (a Blob): refuses an empty upload or one over `maxImageBytes`.
    pub fn check_size(size: u64, config: &Config) -> Result<()> {
        if size == 0 || size > config.max_image_bytes {
            return Err(Error::InvalidArgument {
                name: "image",
                reason: format!(
                    "size {size} is outside 1..={} bytes",
                    config.max_image_bytes
                ),
            });
        }
        Ok(())
    }

    /// Checks the uploaded `bytes`, declared as `declared` (the Blob's type), and builds the
    /// body to store with `body(mime)` once the type is known. Every refusal is an
    /// [`Error::InvalidArgument`] naming `image`.
    pub fn check(
        declared: Option<&str>,
        bytes: &[u8],
        config: &Config,
        body: impl FnOnce(&'static str) -> Result<I>,
    ) -> Result<Self> {
        let refuse = |reason: String| Error::InvalidArgument {
            name: "image",
            reason,
        };
        let size = bytes.len() as u64;
        Self::check_size(size, config)?;
        let mime = accept_image(declared, bytes, &config.allowed_types)
            .map_err(|e| refuse(e.to_string()))?;
        check_pixels(mime, bytes, config.max_image_pixels).map_err(|e| refuse(e.to_string()))?;
        let body = body(mime).map_err(|e| refuse(e.to_string()))?;
        Ok(Upload {
            body,
            mime,
            bytes: size,
        })
    }
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// Replaces the picture of `user_id` after an upload: `image_id` is the new image (or `None`
    /// for no picture) and `image`, when given, its checked bytes, so no tab downloads what this
    /// tab just uploaded. Every layer is updated before this resolves, then subscribers and
    /// other tabs are told. Never fails for storage or network trouble.
    pub async fn set_picture(
        &self,
        user_id: &str,
        image_id: Option<&str>,
        image: Option<Upload<I>>,
    ) -> Result<()> {
        validate_id("userId", user_id)?;
        if let Some(id) = image_id {
            validate_id("imageId", id)?;
        }
        let now = self.now();
        let trace = self.trace();
        if !self.is_current(&trace) {
            // A closed cache: no write, no API call, nobody told.
            return Ok(());
        }
        let record = match image_id {
            None => Some(self.record_from_remote(
                user_id,
                RemotePicture {
                    user_id: None,
                    image_id: None,
                    url: self.inner.config.default_image_url.clone(),
                    thumbhash: None,
                },
                now,
            )),
            Some(id) => {
                let uploaded = image.is_some();
                if let Some(upload) = image {
                    let meta =
                        self.image_meta(id, upload.mime.to_string(), upload.bytes, None, now);
                    let stored = StoredImage {
                        meta,
                        body: upload.body,
                    };
                    self.store_image(stored, true, &trace).await;
                }
                // The same checks as a get's answer (another user named, a URL that is not
                // http(s)): a bad answer is an error, never a record.
                match self.describe(user_id, Some(id)).await {
                    Ok(remote) => Some(self.record_from_remote(user_id, remote, now)),
                    Err(_) if !self.is_current(&trace) => None,
                    Err(e) => {
                        self.inner.telemetry.error(Layer::Network, &e);
                        // Offline right after an upload: the bytes are here, so show them. The
                        // record carries no usable URL (expired at once) and is stale from the
                        // start, so the next get revalidates it with the backend.
                        uploaded.then(|| PictureRecord {
                            user_id: user_id.to_string(),
                            image_id: Some(id.to_string()),
                            remote_url: self.inner.config.image_url(id),
                            url_expires_at: now,
                            fetched_at: now - self.inner.config.local.ttl_ms,
                            etag: None,
                            version: self.inner.config.version,
                            opaque: false,
                            thumbhash: None,
                        })
                    }
                }
            }
        };
        if !self.is_current(&trace) {
            // A `clear()` or `close()` came while the backend was asked: the upload belongs to
            // the session that ended, so it neither writes a layer nor tells any tab.
            return Ok(());
        }
        let change = match record {
            Some(record) => {
                self.write_record(record.clone(), &trace);
                Change::Updated(record)
            }
            None => {
                self.forget_record(user_id);
                Change::User(user_id.to_string())
            }
        };
        self.changed(change);
        Ok(())
    }
}

//! [`Body`]: an image's bytes as the browser holds them, the `I` of every browser layer.
//!
//! Images the page receives arrive as bytes (a download's, an upload's) and stay bytes: in
//! memory, in IndexedDB rows, and in the `data:` URL of an image of at most
//! `dataUrlMaxBytes`. Making a `Blob` is a synchronous call into the browser process in
//! Chromium, as is `URL.createObjectURL` (together about 0.5–0.6 ms per image on a 2-core
//! machine, against microseconds for the bytes' base64): a list of 100 avatars after a reload
//! paid about 55 ms of its 60 for them. A Blob is made only where one is needed: an object URL
//! for an image above the limit, `createImageBitmap` in an engine without `ImageDecoder`. Rows
//! written as Blobs by earlier versions, and an upload too large for a `data:` URL, stay
//! Blobs.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag};

use crate::error::{Error, Result};

/// An image's bytes: in hand, or behind a Blob. Equal when they are the same JS objects.
#[derive(Debug, Clone)]
pub enum Body {
    /// The bytes themselves (exactly the image: the view covers its whole buffer) and the type
    /// the cache decided on.
    Bytes {
        /// The image.
        bytes: Uint8Array,
        /// Its MIME type.
        mime: String,
    },
    /// A Blob (a row stored as one, an upload kept as the app gave it).
    Blob(Blob),
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.as_js() == other.as_js()
    }
}

impl Body {
    /// `bytes` typed `mime`, copied into a buffer of their own when the view covers only part
    /// of one (a row or a `data:` URL must not carry the rest).
    pub fn bytes(bytes: Uint8Array, mime: &str) -> Body {
        let exact = bytes.byte_offset() == 0 && bytes.byte_length() == bytes.buffer().byte_length();
        Body::Bytes {
            bytes: if exact {
                bytes
            } else {
                bytes.slice(0, bytes.length())
            },
            mime: mime.to_string(),
        }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Body::Bytes { bytes, .. } => u64::from(bytes.length()),
            Body::Blob(blob) => blob.size() as u64,
        }
    }

    /// The image as a Blob: the one held, or a new one of the bytes (a call into the browser
    /// process: only where a Blob is needed).
    pub fn to_blob(&self) -> Result<Blob> {
        match self {
            Body::Blob(blob) => Ok(blob.clone()),
            Body::Bytes { bytes, mime } => {
                let options = BlobPropertyBag::new();
                options.set_type(mime);
                Blob::new_with_u8_array_sequence_and_options(&Array::of1(bytes), &options)
                    .map_err(|e| Error::from_js(&e))
            }
        }
    }

    /// The bytes, when in hand.
    pub fn in_hand(&self) -> Option<&Uint8Array> {
        match self {
            Body::Bytes { bytes, .. } => Some(bytes),
            Body::Blob(_) => None,
        }
    }

    /// The body as a JS value: the `Uint8Array` or the Blob.
    pub fn as_js(&self) -> &JsValue {
        match self {
            Body::Bytes { bytes, .. } => bytes,
            Body::Blob(blob) => blob,
        }
    }
}

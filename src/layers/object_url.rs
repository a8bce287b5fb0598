//! The URLs a page hands out for images: `data:` URLs for small ones, object URLs (made with
//! `URL.createObjectURL`, revoked with `URL.revokeObjectURL`, counted) for the others.
//!
//! In Chromium `URL.createObjectURL` (and the Blob it needs) is a synchronous call into the
//! browser process: about 0.5 ms each on a 2-core machine, nine tenths of the time a plain
//! IndexedDB read of 100 stored avatars takes with their URLs. An image of at most
//! `dataUrlMaxBytes` whose bytes are in hand (see [`Body`]) becomes a `data:` URL instead,
//! made in JS from the bytes (`dataUrl` in the glue) in microseconds, and an `<img>` decodes it
//! without a round trip to the blob registry. The URL (about 12 KB for a 9 KB avatar) stays in
//! JS: the cache holds a short handle to it (`data:,avatar-cache#<n>`), which the glue replaces
//! by the URL in every picture it hands out ([`BrowserObjectUrls::shown`]), so a `get` or a
//! `peek` never copies it. Revoking a handle forgets the URL; the memory layer bounds how many
//! the cache keeps, as it does object URLs.
//!
//! [`BrowserObjectUrls`] remembers every object URL it made until it is revoked, so the cache
//! can say how many are live (`stats().objectUrls`), revoke only its own URLs, and revoke them
//! all at once on `clear` or `close`.

use crate::collections::HashSet;
use std::cell::RefCell;

use web_sys::Url;

use crate::error::{Error, Result};
use crate::layers::body::Body;
use crate::layers::ObjectUrls;

/// `data:<mime>;base64,`: a generous bound of what precedes the base64.
const DATA_URL_HEAD: u64 = 48;

/// Makes `data:` URLs and makes and revokes `blob:` URLs, keeping track of the live ones.
#[derive(Debug, Default)]
pub struct BrowserObjectUrls {
    /// The largest image made into a `data:` URL (0: none).
    data_url_max_bytes: u64,
    /// Object URLs not revoked yet.
    live: RefCell<HashSet<String>>,
    /// Handles of `data:` URLs not revoked yet.
    handles: RefCell<HashSet<String>>,
}

impl BrowserObjectUrls {
    /// A factory with no live URLs that makes `data:` URLs of images of at most
    /// `data_url_max_bytes` whose bytes are in hand.
    pub fn new(data_url_max_bytes: u64) -> Self {
        BrowserObjectUrls {
            data_url_max_bytes,
            ..Self::default()
        }
    }

    /// The URL an app is handed for `url`, one `create` made: the `data:` URL behind a handle
    /// (the handle itself once revoked), else `url`.
    pub fn shown(url: &str) -> String {
        crate::js::shown_url(url)
    }

    /// How many object URLs made here are not revoked yet.
    pub fn live(&self) -> usize {
        self.live.borrow().len()
    }

    /// Revokes every live URL made here (on `clear` or `close`); after this [`Self::live`] is 0.
    pub fn revoke_all(&self) {
        let urls: Vec<String> = self.live.borrow_mut().drain().collect();
        for url in urls {
            let _ = Url::revoke_object_url(&url);
        }
        let handles: Vec<String> = self.handles.borrow_mut().drain().collect();
        for handle in handles {
            crate::js::drop_data_url(&handle);
        }
    }
}

impl ObjectUrls<Body> for BrowserObjectUrls {
    /// A `data:` URL of a small image in hand, else `URL.createObjectURL(body)`; a browser
    /// refusal is an [`crate::Error::Js`], never a throw.
    fn create(&self, body: &Body) -> Result<String> {
        if let Body::Bytes { bytes, mime } = body {
            if u64::from(bytes.length()) <= self.data_url_max_bytes {
                let handle = crate::js::data_url(bytes, mime);
                self.handles.borrow_mut().insert(handle.clone());
                return Ok(handle);
            }
        }
        let url = Url::create_object_url_with_blob(&body.to_blob()?).map_err(Error::from)?;
        self.live.borrow_mut().insert(url.clone());
        Ok(url)
    }

    /// An image handed out as a `data:` URL also holds the URL: its base64, about 4/3 of the
    /// bytes, in the `.wasm`'s memory.
    fn held_bytes(&self, bytes: u64) -> u64 {
        match bytes <= self.data_url_max_bytes {
            true => bytes + bytes.div_ceil(3) * 4 + DATA_URL_HEAD,
            false => bytes,
        }
    }

    /// `URL.revokeObjectURL(url)` for an object URL made here, the `data:` URL forgotten for a
    /// handle made here; any other URL (one this factory did not make or already revoked) is
    /// left alone.
    fn revoke(&self, url: &str) {
        if self.handles.borrow_mut().remove(url) {
            crate::js::drop_data_url(url);
        } else if self.live.borrow_mut().remove(url) {
            let _ = Url::revoke_object_url(url);
        }
    }
}

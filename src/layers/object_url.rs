//! Object URLs for image `Blob`s: `URL.createObjectURL` and `URL.revokeObjectURL`, counted.
//!
//! [`BrowserObjectUrls`] remembers every URL it made until it is revoked, so the cache can say
//! how many are live (`stats().objectUrls`), revoke only its own URLs, and revoke them all at
//! once on `clear` or `close`.

use crate::collections::HashSet;
use std::cell::RefCell;

use web_sys::{Blob, Url};

use crate::error::{Error, Result};
use crate::layers::ObjectUrls;

/// Makes and revokes `blob:` URLs, keeping track of the live ones.
#[derive(Debug, Default)]
pub struct BrowserObjectUrls {
    live: RefCell<HashSet<String>>,
}

impl BrowserObjectUrls {
    /// A factory with no live URLs.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many URLs made here are not revoked yet.
    pub fn live(&self) -> usize {
        self.live.borrow().len()
    }

    /// Revokes every live URL made here (on `clear` or `close`); after this [`Self::live`] is 0.
    pub fn revoke_all(&self) {
        let urls: Vec<String> = self.live.borrow_mut().drain().collect();
        for url in urls {
            let _ = Url::revoke_object_url(&url);
        }
    }
}

impl ObjectUrls<Blob> for BrowserObjectUrls {
    /// `URL.createObjectURL(body)`; a browser refusal is an [`crate::Error::Js`], never a throw.
    fn create(&self, body: &Blob) -> Result<String> {
        let url = Url::create_object_url_with_blob(body).map_err(Error::from)?;
        self.live.borrow_mut().insert(url.clone());
        Ok(url)
    }

    /// `URL.revokeObjectURL(url)` for a URL made here; a URL this factory did not make (or
    /// already revoked) is left alone.
    fn revoke(&self, url: &str) {
        let ours = self.live.borrow_mut().remove(url);
        if ours {
            let _ = Url::revoke_object_url(url);
        }
    }
}

//! Image bodies held by name, for a context without `URL.createObjectURL` (a service worker).
//!
//! [`HeldBodies`] implements [`ObjectUrls`] by handing out opaque names
//! (`avatar-cache-held:<n>`) and keeping the `Blob` behind each until it is revoked. The
//! worker answers a fetch with [`HeldBodies::body`] of the picture's URL; the hierarchy's memory
//! layer bounds and revokes the names exactly as it does object URLs in a page.

use crate::collections::HashMap;
use std::cell::{Cell, RefCell};

use wasm_bindgen::{JsCast, JsValue};
use web_sys::Blob;

use crate::error::Result;
use crate::layers::ObjectUrls;

/// The prefix of the names [`HeldBodies`] hands out.
pub const HELD_PREFIX: &str = "avatar-cache-held:";

/// Blobs by name, live until revoked.
#[derive(Debug, Default)]
pub struct HeldBodies {
    next: Cell<u64>,
    /// Each Blob as a plain JS value: the map type other layers use, so its code is in the
    /// `.wasm` once.
    live: RefCell<HashMap<String, JsValue>>,
}

impl HeldBodies {
    /// The body behind a name made here and not revoked.
    pub fn body(&self, url: &str) -> Option<Blob> {
        let body = self.live.borrow().get(url).cloned()?;
        Some(body.unchecked_into())
    }

    /// How many names are live.
    pub fn live(&self) -> usize {
        self.live.borrow().len()
    }
}

impl ObjectUrls<Blob> for HeldBodies {
    fn create(&self, body: &Blob) -> Result<String> {
        let n = self.next.get() + 1;
        self.next.set(n);
        let url = format!("{HELD_PREFIX}{n}");
        self.live.borrow_mut().insert(url.clone(), body.into());
        Ok(url)
    }

    fn revoke(&self, url: &str) {
        self.live.borrow_mut().remove(url);
    }
}

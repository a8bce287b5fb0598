//! Image bodies held by name, for a context without `URL.createObjectURL` (a service worker).
//!
//! [`HeldBodies`] implements [`ObjectUrls`] by handing out opaque names
//! (`avatar-cache-held:<n>`) and keeping the body behind each until it is revoked. The
//! worker answers a fetch with [`HeldBodies::body`] of the picture's URL; the hierarchy's memory
//! layer bounds and revokes the names exactly as it does object URLs in a page.

use crate::collections::HashMap;
use std::cell::{Cell, RefCell};

use crate::error::Result;
use crate::layers::body::Body;
use crate::layers::ObjectUrls;

/// The prefix of the names [`HeldBodies`] hands out.
pub const HELD_PREFIX: &str = "avatar-cache-held:";

/// Bodies by name, live until revoked.
#[derive(Debug, Default)]
pub struct HeldBodies {
    next: Cell<u64>,
    live: RefCell<HashMap<String, Body>>,
}

impl HeldBodies {
    /// The body behind a name made here and not revoked.
    pub fn body(&self, url: &str) -> Option<Body> {
        self.live.borrow().get(url).cloned()
    }

    /// How many names are live.
    pub fn live(&self) -> usize {
        self.live.borrow().len()
    }
}

impl ObjectUrls<Body> for HeldBodies {
    fn create(&self, body: &Body) -> Result<String> {
        let n = self.next.get() + 1;
        self.next.set(n);
        let url = format!("{HELD_PREFIX}{n}");
        self.live.borrow_mut().insert(url.clone(), body.clone());
        Ok(url)
    }

    fn revoke(&self, url: &str) {
        self.live.borrow_mut().remove(url);
    }
}

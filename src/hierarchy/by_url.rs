//! Images asked for by their storage URL instead of by user: the service worker's answers to
//! plain `<img>`s that point at a storage origin (`storageOrigins`).
//!
//! They go through the same layers and session as the users' pictures: memory, then the image
//! store, then a download shared with any get of the same image (one per image at a time, in
//! a network slot). A download that ends after `clear()` or `close()` (here or in another tab)
//! is neither handed out nor stored, and its row is written behind the answer like any other,
//! so a `clear()` waits for it and one heard from another tab removes it.

use crate::vocabulary::Layer;

use super::load::Fetched;
use super::Hierarchy;

/// What [`Hierarchy::image_by_url`] found.
#[derive(Debug)]
pub enum ImageAtUrl<I> {
    /// Bytes memory holds (`storage-memory`).
    Memory(I),
    /// The image store's row (`storage-indexeddb`), now in memory too.
    Stored(I),
    /// A download, in memory and stored behind the answer (`storage-network`).
    Downloaded(I),
    /// The storage origin answered with bytes this context cannot read (no CORS): the caller may
    /// hand out an opaque answer of its own.
    Opaque,
    /// Nothing to hand out: no copy and no download, or the session ended meanwhile.
    Nothing,
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// The image at `url` on a storage origin, under one of `ids` (the image id a record gives
    /// that URL, then the URL without its signature): memory's copy, else the stored row, else
    /// a download kept under the first of `ids`. Never an error: failures are counted and
    /// answer [`ImageAtUrl::Nothing`].
    pub async fn image_by_url(&self, ids: &[&str], url: &str) -> ImageAtUrl<I> {
        let Some(&first) = ids.first() else {
            return ImageAtUrl::Nothing;
        };
        if self.is_closed() {
            return ImageAtUrl::Nothing;
        }
        let trace = self.trace();
        let now = self.now();
        for &id in ids {
            if let Some(body) = self.held_body(id) {
                self.used(id, now);
                return ImageAtUrl::Memory(body);
            }
        }
        if let Some(images) = self.available_images() {
            for &id in ids {
                // A download of the same image may be writing its row.
                self.inner.write_behind.written(id).await;
            }
            for &id in ids {
                match images.get(id).await {
                    Ok(Some(stored)) if self.is_current(&trace) => {
                        let body = stored.body.clone();
                        self.adopt_stored(stored, now, &trace);
                        return ImageAtUrl::Stored(body);
                    }
                    Ok(_) => {}
                    Err(e) => self.inner.telemetry.error(Layer::IndexedDb, &e),
                }
            }
        }
        match self.fetch_bytes_at(first, url, now, &trace).await {
            // Joined a download, or found the bytes in memory since: the same bytes.
            Ok(Fetched::Image { .. }) if self.is_current(&trace) => {
                // Stored just now, with this use as its last access: no touch.
                match self.held_body(first) {
                    Some(body) => ImageAtUrl::Downloaded(body),
                    None => ImageAtUrl::Nothing,
                }
            }
            Ok(Fetched::Opaque) if self.is_current(&trace) => ImageAtUrl::Opaque,
            Ok(_) => ImageAtUrl::Nothing,
            // A session that ended during the download stored nothing: not a fault.
            Err(_) if !self.is_current(&trace) => ImageAtUrl::Nothing,
            Err(e) => {
                self.inner.telemetry.error(Layer::Network, &e);
                ImageAtUrl::Nothing
            }
        }
    }

    /// The bytes of `image_id` if memory holds them.
    fn held_body(&self, image_id: &str) -> Option<I> {
        self.inner
            .memory
            .borrow()
            .image_untouched(image_id)
            .map(|image| image.body.clone())
    }
}

//! Images asked for by their storage URL instead of by user: the service worker's answers to
//! plain `<img>`s that point at a storage origin (`storageOrigins`).
//!
//! They share the image store, the network slots and the session with the users' pictures: a
//! download that ends after `clear()` or `close()` (here or in another tab) is neither handed
//! out nor stored, and its row is written behind the answer like any other, so a `clear()`
//! waits for it and one heard from another tab removes it.

use crate::layers::Download;
use crate::record::StoredImage;
use crate::vocabulary::Layer;

use super::Hierarchy;

/// What [`Hierarchy::image_by_url`] found.
#[derive(Debug)]
pub enum ImageAtUrl<I> {
    /// The image store's row (`storage-indexeddb`).
    Stored(I),
    /// A download, stored behind the answer (`storage-network`).
    Downloaded(I),
    /// The storage origin answered with bytes this context cannot read (no CORS): the caller may
    /// hand out an opaque answer of its own.
    Opaque,
    /// Nothing to hand out: no row and no download, or the session ended meanwhile.
    Nothing,
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// The image at `url` on a storage origin: the row stored under one of `ids` (the image id
    /// a record gives that URL, then the URL without its signature), else a download stored
    /// under the first of `ids`. Never an error: failures are counted and answer
    /// [`ImageAtUrl::Nothing`].
    pub async fn image_by_url(&self, ids: &[&str], url: &str) -> ImageAtUrl<I> {
        let Some(&first) = ids.first() else {
            return ImageAtUrl::Nothing;
        };
        if self.is_closed() {
            return ImageAtUrl::Nothing;
        }
        let trace = self.trace();
        if let Some(images) = self.available_images() {
            for &id in ids {
                // A download of the same image may be writing its row.
                self.inner.write_behind.written(id).await;
            }
            for &id in ids {
                match images.get(id).await {
                    Ok(Some(stored)) if self.is_current(&trace) => {
                        self.used(id, self.now());
                        return ImageAtUrl::Stored(stored.body);
                    }
                    Ok(_) => {}
                    Err(e) => self.inner.telemetry.error(Layer::IndexedDb, &e),
                }
            }
        }
        if !self.is_current(&trace) {
            return ImageAtUrl::Nothing;
        }
        let download = {
            let _slot = self.inner.slots.acquire().await;
            self.inner.telemetry.download();
            self.inner.layers.backend.download(url, None).await
        };
        if !self.is_current(&trace) {
            // A logout during the download: the bytes belong to the session that ended.
            return ImageAtUrl::Nothing;
        }
        match download {
            Ok(Download::Image {
                body,
                mime,
                bytes,
                etag,
            }) => {
                self.inner.telemetry.downloaded(bytes);
                let meta = self.image_meta(first, mime, bytes, etag, self.now());
                self.write_behind_image(
                    StoredImage {
                        meta,
                        body: body.clone(),
                    },
                    &trace,
                );
                ImageAtUrl::Downloaded(body)
            }
            Ok(Download::Opaque) => ImageAtUrl::Opaque,
            Ok(Download::NotModified) => ImageAtUrl::Nothing,
            Err(e) => {
                self.inner.telemetry.error(Layer::Network, &e);
                ImageAtUrl::Nothing
            }
        }
    }
}

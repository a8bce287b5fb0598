//! Writing records to memory and localStorage, forgetting them, and revoking object URLs.

use super::*;

impl<I: Clone + 'static> Hierarchy<I> {
    pub(super) fn record_from_remote(
        &self,
        user_id: &str,
        remote: RemotePicture,
        now: Millis,
    ) -> PictureRecord {
        PictureRecord {
            user_id: user_id.to_string(),
            url_expires_at: presign::url_expires_at(
                &remote.url,
                now,
                self.inner.config.url_lifetime_ms,
            ),
            image_id: remote.image_id,
            remote_url: remote.url,
            fetched_at: now,
            etag: None,
            version: self.inner.config.version,
            opaque: false,
        }
    }

    /// Writes a record to memory and localStorage.
    pub(super) fn store_record(&self, record: PictureRecord) {
        let now = self.now();
        self.write_local(&record);
        self.inner.memory.borrow_mut().put_record(record, now);
    }

    /// Puts a record read from a lower layer into memory.
    pub(super) fn promote(&self, record: &PictureRecord, now: Millis) {
        self.inner
            .memory
            .borrow_mut()
            .put_record(record.clone(), now);
    }

    pub(super) fn write_local(&self, record: &PictureRecord) {
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.put(record) {
                self.record_error(Layer::Local, &e);
            }
        }
    }

    pub(super) fn forget_record(&self, user_id: &str) {
        self.inner.memory.borrow_mut().remove_record(user_id);
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.remove(user_id) {
                self.record_error(Layer::Local, &e);
            }
        }
    }

    pub(super) fn forget_all_in_memory(&self) {
        let urls = self.inner.memory.borrow_mut().clear();
        self.revoke(urls);
    }

    pub(super) fn revoke(&self, urls: Vec<String>) {
        for url in urls {
            self.inner.stats.borrow_mut().evictions += 1;
            self.inner.layers.urls.revoke(&url);
            self.emit(|| CacheEvent::Evict {
                layer: Layer::Memory,
                id: url,
            });
        }
    }
}

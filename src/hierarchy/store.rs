//! Writing through every layer: records to memory and localStorage, image bytes to memory at
//! once and to IndexedDB behind the answer; forgetting them; revoking object URLs that fall out
//! of memory.

use futures::FutureExt;

use crate::clock::Millis;
use crate::layers::memory::MemoryImage;
use crate::layers::RemotePicture;
use crate::policy::presign;
use crate::record::{ImageMeta, PictureRecord, StoredImage};
use crate::vocabulary::Layer;

use super::previews::ROW_WAITS_FOR_HASH_MS;
use super::trace::Trace;
use super::Hierarchy;
use super::LEARNED_QUIET_MS;

impl<I: Clone + 'static> Hierarchy<I> {
    /// The record of `user_id` for the backend's answer, received at `now`.
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
            thumbhash: remote
                .thumbhash
                .filter(|h| crate::policy::placeholder::is_valid(h)),
        }
    }

    /// The metadata stored with an image received at `now`.
    pub(super) fn image_meta(
        &self,
        image_id: &str,
        mime: String,
        bytes: u64,
        etag: Option<String>,
        now: Millis,
    ) -> ImageMeta {
        ImageMeta {
            image_id: image_id.to_string(),
            mime,
            bytes,
            etag,
            stored_at: now,
            last_access: now,
            version: self.inner.config.version,
            thumbhash: None,
        }
    }

    /// Writes a record the backend described to memory and localStorage, unless the session of
    /// `trace` ended or a newer record of the user is held: a load or revalidation that asked
    /// the backend before a `setPicture` (here, or heard from another tab) and ends after it
    /// must not bring the old picture back.
    pub(super) fn store_record(&self, record: PictureRecord, trace: &Trace) {
        if self.newer_record_held(&record) {
            return;
        }
        self.write_record(record, trace);
    }

    /// Whether memory or the record store holds a record of `record`'s user fetched after it.
    fn newer_record_held(&self, record: &PictureRecord) -> bool {
        let fetched_at = record.fetched_at;
        let in_memory = self
            .inner
            .memory
            .borrow()
            .record_untouched(&record.user_id)
            .map(|m| m.record.fetched_at);
        if in_memory.is_some_and(|at| at > fetched_at) {
            return true;
        }
        let stored = self.inner.layers.local.as_ref().and_then(|local| {
            let held = local.get(&record.user_id).ok().flatten()?;
            Some(held.fetched_at)
        });
        stored.is_some_and(|at| at > fetched_at)
    }

    /// Writes a record to memory and localStorage (unless the session of `trace` ended), whatever
    /// is held: [`store_record`](Self::store_record) without its check, for `setPicture`, whose
    /// record is the app's word on the picture (an offline upload's is dated back so that the
    /// next get revalidates it).
    pub(super) fn write_record(&self, mut record: PictureRecord, trace: &Trace) {
        if !self.is_current(trace) {
            return;
        }
        self.attach_preview(&mut record);
        let now = self.now();
        self.write_local(&record);
        self.inner
            .memory
            .borrow_mut()
            .put_record(record.clone(), now);
        self.inner.subscribers.learned(&record);
        self.note_learned(&record.user_id);
        match (&record.thumbhash, &record.image_id) {
            (Some(hash), Some(image)) if !record.opaque => self.hash_into_row(image, hash, trace),
            _ => self.hash_in_background(&record, trace),
        }
    }

    /// Notes `user_id` for the service worker's next start (see
    /// [`RecordStore::note_learned`](crate::layers::RecordStore::note_learned)), with every
    /// other user learned this turn.
    fn note_learned(&self, user_id: &str) {
        if self.inner.layers.local.is_none() {
            return;
        }
        let first = {
            let mut learned = self.inner.learned_this_turn.borrow_mut();
            learned.push(user_id.to_string());
            learned.len() == 1
        };
        if first {
            let this = self.clone();
            self.inner
                .layers
                .runtime
                .spawn(async move { this.flush_learned() }.boxed_local());
        }
    }

    /// Notes the users learned this turn (see [`Hierarchy::note_learned`]) now.
    pub(super) fn flush_learned(&self) {
        let learned = self.inner.learned_this_turn.take();
        if let (Some(local), false) = (&self.inner.layers.local, learned.is_empty()) {
            local.note_learned(&learned);
        }
    }

    /// Writes a record to the record store (localStorage, or the service worker's IndexedDB
    /// records), without its URL where the config says so. A failure is counted, not returned.
    pub(super) fn write_local(&self, record: &PictureRecord) {
        if let Some(local) = &self.inner.layers.local {
            let written = if self.inner.config.local.store_urls {
                local.put(record)
            } else {
                local.put(&record.without_url(&self.inner.config.default_image_url))
            };
            if let Err(e) = written {
                self.inner.telemetry.error(Layer::Local, &e);
            }
        }
    }

    /// Keeps a record another context wrote (see [`Hierarchy::apply_learned`]): to the record
    /// store and memory, unless it is invalid, no newer than the one held, or arrives within
    /// [`LEARNED_QUIET_MS`] of a `clear()` (it may come from a load that started before it).
    pub(super) fn keep_learned(&self, record: PictureRecord) -> bool {
        let now = self.now();
        let after_clear = self
            .inner
            .cleared_at
            .get()
            .is_some_and(|at| self.inner.layers.clock.monotonic_ms() - at < LEARNED_QUIET_MS);
        if self.inner.closed.get()
            || after_clear
            || record.version != self.inner.config.version
            || record.check(Layer::Local, now).is_err()
        {
            return false;
        }
        let held = self
            .inner
            .layers
            .local
            .as_ref()
            .and_then(|local| local.get(&record.user_id).ok().flatten());
        if held.is_some_and(|held| held.fetched_at >= record.fetched_at) {
            return false;
        }
        self.write_local(&record);
        self.inner.memory.borrow_mut().put_record(record, now);
        true
    }

    /// Puts a record read from a lower layer into memory.
    pub(super) fn promote(&self, record: &PictureRecord, now: Millis, trace: &Trace) {
        if !self.is_current(trace) {
            return;
        }
        self.inner
            .memory
            .borrow_mut()
            .put_record(record.clone(), now);
    }

    /// Puts an image in memory and stores it in IndexedDB: awaited when `wait`, else behind the
    /// answer. `false` if memory could not keep it (larger than its whole budget).
    pub(super) async fn store_image(
        &self,
        image: StoredImage<I>,
        wait: bool,
        trace: &Trace,
    ) -> bool {
        if !self.is_current(trace) {
            return false;
        }
        let now = image.meta.stored_at;
        let held = MemoryImage {
            url: None,
            body: image.body.clone(),
            bytes: self.inner.layers.urls.held_bytes(image.meta.bytes),
            stored_at: image.meta.stored_at,
            etag: image.meta.etag.clone(),
        };
        let id = image.meta.image_id.clone();
        let dropped = self.inner.memory.borrow_mut().put_image(&id, held, now);
        self.revoke(dropped);
        let kept = self.inner.memory.borrow().image_untouched(&id).is_some();
        if wait {
            // Registered with the writes behind answers, so that a `clear()` meanwhile waits
            // for it before emptying the store (else the row could land after the clear).
            if self.available_images().is_some() {
                let this = self.clone();
                let trace = *trace;
                self.inner.write_behind.spawn(
                    id.clone(),
                    async move { this.write_image(image, &trace).await }.boxed_local(),
                );
                self.inner.write_behind.written(&id).await;
            }
        } else {
            self.write_behind_image(image, trace);
        }
        kept
    }

    /// Writes an image to IndexedDB in the background.
    pub(super) fn write_behind_image(&self, image: StoredImage<I>, trace: &Trace) {
        if self.available_images().is_none() || !self.is_current(trace) {
            return;
        }
        let this = self.clone();
        let id = image.meta.image_id.clone();
        let trace = *trace;
        self.inner.previews.row_write_started(&id);
        self.inner.write_behind.spawn(
            id,
            async move { this.write_row(image, &trace).await }.boxed_local(),
        );
    }

    /// The background write of a new image's row: when the image is being hashed, it waits
    /// (at most [`ROW_WAITS_FOR_HASH_MS`]) so that the row is written once, with its hash; a
    /// hash that comes later is written into the row after.
    async fn write_row(&self, mut image: StoredImage<I>, trace: &Trace) {
        let id = image.meta.image_id.clone();
        if image.meta.thumbhash.is_none() {
            if let Some(hashed) = self.inner.previews.hashed(&id) {
                let waited = self.inner.layers.runtime.sleep(ROW_WAITS_FOR_HASH_MS);
                futures::future::select(hashed, waited).await;
            }
            image.meta.thumbhash = self.inner.previews.computed_hash(&id);
        }
        let carried = image.meta.thumbhash.is_some();
        self.write_image(image, trace).await;
        self.inner.previews.row_write_ended(&id);
        if !carried {
            if let Some(hash) = self.inner.previews.computed_hash(&id) {
                self.hash_into_row(&id, &hash, trace);
            }
        }
    }

    /// Writes an image to IndexedDB now; what the write evicted is counted.
    async fn write_image(&self, image: StoredImage<I>, trace: &Trace) {
        let Some(images) = self.available_images() else {
            return;
        };
        if !self.is_current(trace) {
            return;
        }
        let id = image.meta.image_id.clone();
        match images.put(image).await {
            Ok(evicted) => {
                for evicted_id in evicted {
                    self.inner.telemetry.evicted(Layer::IndexedDb, evicted_id);
                }
                self.inner
                    .telemetry
                    .debug(|| format!("{id}: stored in IndexedDB"));
            }
            Err(e) => self.inner.telemetry.error(Layer::IndexedDb, &e),
        }
        self.refresh_usage();
    }

    /// Forgets the record of `user_id` in memory and localStorage.
    pub(super) fn forget_record(&self, user_id: &str) {
        self.inner.previews.forget(user_id);
        self.inner.memory.borrow_mut().remove_record(user_id);
        if let Some(local) = &self.inner.layers.local {
            if let Err(e) = local.remove(user_id) {
                self.inner.telemetry.error(Layer::Local, &e);
            }
        }
    }

    /// Ends the session: memory is emptied (every object URL it held revoked), loads under way
    /// are no longer joined, and their writes are refused.
    pub(super) fn end_session(&self) {
        self.inner.session.set(self.inner.session.get() + 1);
        self.inner
            .cleared_at
            .set(Some(self.inner.layers.clock.monotonic_ms()));
        let urls = self.inner.memory.borrow_mut().clear();
        self.revoke(urls);
        if let Some(access) = &self.inner.access {
            access.forget_all();
        }
        self.inner.in_flight.forget_all();
        self.inner.downloads.forget_all();
        self.inner.batcher.end_session();
        self.inner.previews.forget_all();
        self.inner.learned_this_turn.borrow_mut().clear();
    }

    /// Revokes the URLs of images that fell out of memory (`(image id, url)`): they are never
    /// handed out again. The eviction is reported by image id.
    pub(super) fn revoke(&self, dropped: Vec<(String, String)>) {
        for (image_id, url) in dropped {
            self.inner.layers.urls.revoke(&url);
            self.inner.telemetry.evicted(Layer::Memory, image_id);
        }
    }
}

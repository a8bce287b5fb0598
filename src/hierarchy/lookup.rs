//! The first step of a `get`: memory, then localStorage and IndexedDB, each read once. Ends in
//! a [`Found`] picture to answer, or a [`Miss`] that tells the network step what storage saw.

use crate::clock::Millis;
use crate::layers::memory::{MemoryImage, MemoryLayer};
use crate::policy::presign;
use crate::policy::ttl::is_fresh;
use crate::record::{PictureRecord, StoredImage};
use crate::vocabulary::{Layer, Picture, Source};

use super::trace::Trace;
use super::Hierarchy;

/// A picture the cache can hand out.
pub(super) struct Found {
    /// The record it answers with.
    pub record: PictureRecord,
    /// The URL to show.
    pub url: String,
    /// Where it came from.
    pub source: Source,
    /// Past its freshness (a revalidation is under way).
    pub stale: bool,
}

/// What storage saw when it could not answer: what the network step needs from it.
#[derive(Default)]
pub(super) struct Miss {
    /// A stale picture to fall back on if the network fails.
    pub fallback: Option<Found>,
    /// A fresh record whose bytes are not stored: download them with its URL, no API call.
    pub known: Option<PictureRecord>,
    /// The record storage held (to tell, after waiting for another tab, whether it changed).
    pub seen: Option<PictureRecord>,
    /// The image looked for and not found in memory or IndexedDB.
    pub missing_image: Option<String>,
}

/// The outcome of a lookup in storage.
pub(super) enum Lookup {
    /// An answer (possibly stale, with a revalidation started).
    Found(Found),
    /// Nothing storage can answer with.
    Missing(Box<Miss>),
}

/// An image found in memory or IndexedDB, made into a URL.
pub(super) struct FoundImage {
    pub url: String,
    pub source: Source,
    pub stale: bool,
    pub etag: Option<String>,
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// A fresh answer from memory alone, counted as a memory hit.
    pub(super) fn memory_answer(
        &self,
        user_id: &str,
        hint: Option<&str>,
        trace: &Trace,
    ) -> Option<Picture> {
        let now = self.now();
        let (record, url) = {
            let mut memory = self.inner.memory.borrow_mut();
            let entry = memory.record(user_id, now)?;
            if now >= entry.fresh_until
                || hint.is_some_and(|h| entry.record.image_id.as_deref() != Some(h))
            {
                return None;
            }
            let record = entry.record.clone();
            let url = self.memory_url(&mut memory, &record, now)?;
            (record, url)
        };
        if let Some(id) = record.image_id.as_deref().filter(|_| !record.opaque) {
            self.used(id, now);
        }
        self.maybe_refresh_url(&record, now);
        let found = Found {
            record,
            url,
            source: Source::MEMORY,
            stale: false,
        };
        Some(self.answer(found, trace, 0))
    }

    /// Memory's stale copy, localStorage and IndexedDB: an answer, or what storage saw.
    pub(super) async fn lookup(
        &self,
        user_id: &str,
        hint: Option<&str>,
        trace: &mut Trace,
    ) -> Lookup {
        let now = self.now();
        let (stored, record_source, fresh) = self.stored_record(user_id, now, trace);
        let stored = stored.filter(|r| hint.is_none_or(|h| r.image_id.as_deref() == Some(h)));
        let mut miss = Miss::default();
        if let Some(mut record) = stored {
            miss.seen = Some(record.clone());
            match self.find_image(&record, now, trace).await {
                Some(image) => {
                    self.settle_preview(&mut record, record_source == Source::LOCAL, trace);
                    let stale = !fresh || image.stale;
                    let source = record_source.max(image.source);
                    let found = Found {
                        record,
                        url: image.url,
                        source,
                        stale,
                    };
                    if stale && !self.inner.config.stale_while_revalidate {
                        miss.fallback = Some(found);
                        return Lookup::Missing(Box::new(miss));
                    }
                    if record_source != Source::MEMORY || !fresh {
                        self.promote(&found.record, now, trace);
                    }
                    if stale {
                        self.inner.telemetry.debug(|| {
                            format!("{user_id}: stale from {}, revalidating", source.as_str())
                        });
                        self.spawn_revalidate(user_id);
                    } else {
                        self.maybe_refresh_url(&found.record, now);
                    }
                    return Lookup::Found(found);
                }
                None if !record.opaque => {
                    miss.missing_image = record.image_id.clone();
                    if fresh && !presign::is_expired(record.url_expires_at, now) {
                        // The record is good but its bytes are not stored (evicted, or another
                        // tab is still writing them): the network step downloads them with the
                        // URL we have, no API call needed.
                        miss.known = Some(record);
                    }
                }
                None => {}
            }
        } else if let Some(hint) = hint {
            // The app knows the image id: if its bytes are stored, no request is needed now.
            let probe = PictureRecord {
                user_id: user_id.to_string(),
                image_id: Some(hint.to_string()),
                remote_url: String::new(),
                url_expires_at: 0.0,
                fetched_at: now,
                etag: None,
                version: self.inner.config.version,
                opaque: false,
                thumbhash: None,
            };
            if let Some(image) = self.find_image(&probe, now, trace).await {
                self.spawn_revalidate(user_id);
                return Lookup::Found(Found {
                    record: probe,
                    url: image.url,
                    source: image.source,
                    stale: image.stale,
                });
            }
            miss.missing_image = Some(hint.to_string());
        }
        Lookup::Missing(Box::new(miss))
    }

    /// After waiting for the cross-tab lock, another tab may have loaded the picture: looks
    /// again only if localStorage now holds a fresh record that storage did not show before, or
    /// whose bytes were missing (the other tab may just have stored them).
    pub(super) async fn look_again(
        &self,
        user_id: &str,
        hint: Option<&str>,
        trace: &mut Trace,
        miss: Box<Miss>,
    ) -> Lookup {
        let now = self.now();
        let ttl = self.inner.config.local.ttl_ms;
        let newer = self
            .inner
            .layers
            .local
            .as_ref()
            .and_then(|local| local.get(user_id).ok().flatten())
            .is_some_and(|record| {
                is_fresh(record.fetched_at, now, ttl)
                    && (miss.seen.as_ref() != Some(&record) || miss.missing_image.is_some())
            });
        if newer {
            self.lookup(user_id, hint, trace).await
        } else {
            Lookup::Missing(miss)
        }
    }

    /// The record of `user_id` in memory or localStorage, fresh or not: `(record, where, fresh)`.
    pub(super) fn stored_record(
        &self,
        user_id: &str,
        now: Millis,
        trace: &mut Trace,
    ) -> (Option<PictureRecord>, Source, bool) {
        let in_memory = self.inner.memory.borrow_mut().record(user_id, now).cloned();
        if let Some(entry) = &in_memory {
            if now < entry.fresh_until {
                return (Some(entry.record.clone()), Source::MEMORY, true);
            }
        }
        // Memory's copy is stale (or absent): localStorage may hold a fresher one, written by
        // another tab or kept longer by its own TTL.
        let stale_memory = (in_memory.map(|e| e.record), Source::MEMORY, false);
        let Some(local) = &self.inner.layers.local else {
            return stale_memory;
        };
        trace.asked(Layer::Local);
        match local.get(user_id) {
            Ok(Some(record))
                if is_fresh(record.fetched_at, now, self.inner.config.local.ttl_ms) =>
            {
                (Some(record), Source::LOCAL, true)
            }
            Ok(Some(record)) if stale_memory.0.is_none() => (Some(record), Source::LOCAL, false),
            Ok(_) => stale_memory,
            Err(e) => {
                self.inner.telemetry.error(Layer::Local, &e);
                stale_memory
            }
        }
    }

    /// The image `record` names, from memory or IndexedDB (made into an object URL and
    /// promoted to memory).
    pub(super) async fn find_image(
        &self,
        record: &PictureRecord,
        now: Millis,
        trace: &mut Trace,
    ) -> Option<FoundImage> {
        let Some(image_id) = record.image_id.as_deref() else {
            return Some(FoundImage {
                url: self.inner.config.default_image_url.clone(),
                source: Source::MEMORY,
                stale: false,
                etag: None,
            });
        };
        if record.opaque {
            return (!presign::is_expired(record.url_expires_at, now)).then(|| FoundImage {
                url: record.remote_url.clone(),
                source: Source::MEMORY,
                stale: false,
                etag: None,
            });
        }
        if let Some(image) = self.held_image(image_id, now) {
            return Some(image);
        }
        self.available_images()?;
        let reads = self.inner.image_reads.clone()?;
        trace.asked(Layer::IndexedDb);
        match reads.read(image_id).await {
            Ok(Some(stored)) => {
                if !self.adopt_stored(stored, now, trace) {
                    return None;
                }
                self.live_image(image_id, now, Source::INDEXED_DB)
            }
            Ok(None) => None,
            Err(e) => {
                self.inner.telemetry.error(Layer::IndexedDb, &e);
                None
            }
        }
    }

    /// The image memory holds, made into a URL, as a use of the stored image.
    pub(super) fn held_image(&self, image_id: &str, now: Millis) -> Option<FoundImage> {
        let image = self.live_image(image_id, now, Source::MEMORY)?;
        self.used(image_id, now);
        Some(image)
    }

    /// The URL memory can hand out for `record`, if it holds one.
    pub(super) fn memory_url(
        &self,
        memory: &mut MemoryLayer<I>,
        record: &PictureRecord,
        now: Millis,
    ) -> Option<String> {
        match &record.image_id {
            None => Some(self.inner.config.default_image_url.clone()),
            Some(_) if record.opaque => (!presign::is_expired(record.url_expires_at, now))
                .then(|| record.remote_url.clone()),
            Some(id) => {
                let urls = &self.inner.layers.urls;
                memory.image_url(id, now, |body| urls.create(body))
            }
        }
    }

    /// The object URL of an image memory holds (made now if it was never asked for), with the
    /// freshness its bytes came with.
    pub(super) fn live_image(
        &self,
        image_id: &str,
        now: Millis,
        source: Source,
    ) -> Option<FoundImage> {
        let urls = &self.inner.layers.urls;
        let mut memory = self.inner.memory.borrow_mut();
        let url = memory.image_url(image_id, now, |body| urls.create(body))?;
        let image = memory.image_untouched(image_id)?;
        Some(FoundImage {
            url,
            source,
            stale: !is_fresh(image.stored_at, now, self.inner.config.idb.ttl_ms),
            etag: image.etag.clone(),
        })
    }

    /// The record of `user_id` if memory holds it fresh with its picture (bytes, or a usable
    /// URL): what a get would answer from memory, without making an object URL.
    pub(super) fn ready_in_memory(&self, user_id: &str, now: Millis) -> Option<PictureRecord> {
        let mut memory = self.inner.memory.borrow_mut();
        let entry = memory
            .record(user_id, now)
            .filter(|e| now < e.fresh_until)?;
        let record = entry.record.clone();
        let ready = match &record.image_id {
            None => true,
            Some(_) if record.opaque => !presign::is_expired(record.url_expires_at, now),
            Some(id) => memory.image(id, now).is_some(),
        };
        ready.then_some(record)
    }

    /// Puts an image read from IndexedDB into memory (its object URL is made when first asked
    /// for); `false` if memory could not keep it (larger than the whole memory budget). An image
    /// memory already holds stays as it is: it came in another way during the read, or for
    /// another user in the same burst, and its URL may be handed out already (replacing it
    /// would revoke that URL before the app had shown it).
    pub(super) fn adopt_stored(&self, stored: StoredImage<I>, now: Millis, trace: &Trace) -> bool {
        if !self.is_current(trace) {
            return false;
        }
        let meta = stored.meta;
        if self
            .inner
            .memory
            .borrow()
            .image_untouched(&meta.image_id)
            .is_some()
        {
            self.used(&meta.image_id, now);
            return true;
        }
        let image = MemoryImage {
            url: None,
            body: stored.body,
            bytes: self.inner.layers.urls.held_bytes(meta.bytes),
            stored_at: meta.stored_at,
            etag: meta.etag,
        };
        let dropped = self
            .inner
            .memory
            .borrow_mut()
            .put_image(&meta.image_id, image, now);
        self.revoke(dropped);
        self.used(&meta.image_id, now);
        self.inner
            .memory
            .borrow()
            .image_untouched(&meta.image_id)
            .is_some()
    }

    /// Notes a use of a stored image: it moves up the IndexedDB LRU (batched).
    pub(super) fn used(&self, image_id: &str, now: Millis) {
        if let Some(access) = &self.inner.access {
            access.used(image_id, now);
        }
    }
}

//! Lookup: memory first, then localStorage and IndexedDB, and what a network load needs
//! when they cannot answer. Also the preload of stored images for `prefetch`.

use super::*;

impl<I: Clone + 'static> Hierarchy<I> {
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
    /// image's download time and ETag.
    pub(super) fn live_image(
        &self,
        image_id: &str,
        now: Millis,
    ) -> Option<(String, Millis, Option<String>)> {
        let urls = &self.inner.layers.urls;
        let mut memory = self.inner.memory.borrow_mut();
        let url = memory.image_url(image_id, now, |body| urls.create(body))?;
        let image = memory.image_untouched(image_id)?;
        Some((url, image.stored_at, image.etag.clone()))
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

    /// A fresh answer from memory alone, counted as a memory hit.
    pub(super) fn memory_answer(
        &self,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
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
        self.maybe_refresh_url(&record, now);
        Some(self.answer(
            &record,
            url,
            Source::MEMORY,
            false,
            start,
            &[Layer::Memory],
            0,
        ))
    }

    /// One load per user (and hint) at a time: concurrent gets share it.
    pub(super) async fn shared_load(
        &self,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
    ) -> Picture {
        let key = key_of(user_id, hint);
        let existing = self.inner.in_flight.borrow().get(&key).cloned();
        if let Some(shared) = existing {
            return shared.await;
        }
        let this = self.clone();
        let (user, hint_owned, key_owned) =
            (user_id.to_string(), hint.map(str::to_string), key.clone());
        let load: LocalBoxFuture<'static, Picture> = async move {
            let picture = this.load(&user, hint_owned.as_deref(), start).await;
            this.inner.in_flight.borrow_mut().remove(&key_owned);
            picture
        }
        .boxed_local();
        let shared = load.shared();
        self.inner
            .in_flight
            .borrow_mut()
            .insert(key, shared.clone());
        shared.await
    }

    /// The walk below memory: a stored record and stored bytes if possible, else the network.
    pub(super) async fn load(&self, user_id: &str, hint: Option<&str>, start: Millis) -> Picture {
        let miss = match self.load_stored(user_id, hint, start).await {
            Ok(picture) => return picture,
            Err(miss) => miss,
        };
        match self.inner.layers.locks.clone() {
            None => self.load_from_network(user_id, hint, start, miss).await,
            Some(locks) => self.load_under_lock(locks, user_id, hint, start).await,
        }
    }

    /// The network load of `user_id` while holding a lock shared by every tab: a tab that
    /// waited for it finds what the holder fetched in localStorage and IndexedDB and asks the
    /// network for nothing. The holder answers as soon as it can but keeps the lock until the
    /// image bytes are in IndexedDB.
    pub(super) async fn load_under_lock(
        &self,
        locks: Rc<dyn Locks>,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
    ) -> Picture {
        let (answer_tx, answer_rx) = oneshot::channel();
        let this = self.clone();
        let (user, hint_owned) = (user_id.to_string(), hint.map(str::to_string));
        // Until this load knows whether it needs the backend, a batch about to go out waits
        // for it (locks are granted one event-loop turn at a time).
        self.inner.heading.set(self.inner.heading.get() + 1);
        let task = async move {
            let hint = hint_owned.as_deref();
            let stored = this.load_stored(&user, hint, start).await;
            this.inner
                .heading
                .set(this.inner.heading.get().saturating_sub(1));
            let picture = match stored {
                Ok(picture) => picture,
                Err(miss) => this.load_from_network(&user, hint, start, miss).await,
            };
            let image_id = picture.image_id.clone();
            let _ = answer_tx.send(picture);
            if let Some(id) = image_id {
                this.written(&id).await;
            }
        };
        let name = format!("avatar-cache:{}", self.inner.keys.record_key(user_id));
        self.inner
            .layers
            .runtime
            .spawn(locks.exclusive(name, task.boxed_local()));
        match answer_rx.await {
            Ok(picture) => picture,
            Err(_) => self.fallback_default(user_id, start, &[Layer::Memory]),
        }
    }

    /// Memory's stale copy, localStorage and IndexedDB: an answer, or what the network load
    /// needs to know (the layers consulted, a stale picture to fall back on).
    pub(super) async fn load_stored(
        &self,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
    ) -> std::result::Result<Picture, StoredMiss> {
        let now = self.now();
        let mut consulted = vec![Layer::Memory];
        let (stored, record_source, fresh) = self.stored_record(user_id, now, &mut consulted);
        let stored = stored.filter(|r| hint.is_none_or(|h| r.image_id.as_deref() == Some(h)));

        let mut fallback = None;
        let mut known = None;
        if let Some(record) = stored {
            if let Some(found) = self.find_image(&record, now, &mut consulted).await {
                let stale = !fresh || found.stale;
                let source = record_source.max(found.source);
                if !stale || self.inner.config.stale_while_revalidate {
                    if record_source != Source::MEMORY || !fresh {
                        self.promote(&record, now);
                    }
                    if stale {
                        self.debug(|| {
                            format!("{user_id}: stale from {}, revalidating", source.as_str())
                        });
                        self.spawn_revalidate(user_id);
                    } else {
                        self.maybe_refresh_url(&record, now);
                    }
                    return Ok(self.answer(&record, found.url, source, stale, start, &consulted, 0));
                }
                fallback = Some((record.clone(), found.url, source));
            } else if fresh && !record.opaque && !presign::is_expired(record.url_expires_at, now) {
                // The record is good but its bytes are not stored (evicted, or another tab is
                // still writing them): the network step downloads them with the URL we have,
                // no API call needed.
                known = Some(record);
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
            };
            if let Some(found) = self.find_image(&probe, now, &mut consulted).await {
                self.spawn_revalidate(user_id);
                return Ok(self.answer(
                    &probe,
                    found.url,
                    found.source,
                    found.stale,
                    start,
                    &consulted,
                    0,
                ));
            }
        }
        Err(StoredMiss {
            consulted,
            fallback,
            known,
        })
    }

    /// The record of `user_id` in memory or localStorage, fresh or not: `(record, where, fresh)`.
    pub(super) fn stored_record(
        &self,
        user_id: &str,
        now: Millis,
        consulted: &mut Vec<Layer>,
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
        consulted.push(Layer::Local);
        match local.get(user_id) {
            Ok(Some(record))
                if is_fresh(record.fetched_at, now, self.inner.config.local.ttl_ms) =>
            {
                (Some(record), Source::LOCAL, true)
            }
            Ok(Some(record)) if stale_memory.0.is_none() => (Some(record), Source::LOCAL, false),
            Ok(_) => stale_memory,
            Err(e) => {
                self.record_error(Layer::Local, &e);
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
        consulted: &mut Vec<Layer>,
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
        if let Some((url, stored_at, etag)) = self.live_image(image_id, now) {
            let stale = !is_fresh(stored_at, now, self.inner.config.idb.ttl_ms);
            return Some(FoundImage {
                url,
                source: Source::MEMORY,
                stale,
                etag,
            });
        }
        let images = self.available_images()?;
        consulted.push(Layer::IndexedDb);
        match images.get(image_id).await {
            Ok(Some(stored)) => {
                if !self.adopt_stored(stored, now) {
                    return None;
                }
                let (url, stored_at, etag) = self.live_image(image_id, now)?;
                let stale = !is_fresh(stored_at, now, self.inner.config.idb.ttl_ms);
                Some(FoundImage {
                    url,
                    source: Source::INDEXED_DB,
                    stale,
                    etag,
                })
            }
            Ok(None) => None,
            Err(e) => {
                self.record_error(Layer::IndexedDb, &e);
                None
            }
        }
    }

    /// Puts an image read from IndexedDB into memory (its object URL is made when first asked
    /// for); `false` if memory could not keep it (larger than the whole memory budget).
    pub(super) fn adopt_stored(&self, stored: StoredImage<I>, now: Millis) -> bool {
        let meta = stored.meta;
        let image = MemoryImage {
            url: None,
            body: stored.body,
            bytes: meta.bytes,
            stored_at: meta.stored_at,
            etag: meta.etag,
        };
        let dropped = self
            .inner
            .memory
            .borrow_mut()
            .put_image(&meta.image_id, image, now);
        self.revoke(dropped);
        self.note_access(&meta.image_id, now);
        self.inner
            .memory
            .borrow()
            .image_untouched(&meta.image_id)
            .is_some()
    }

    /// Reads, in one IndexedDB transaction, the stored images of users whose records are known,
    /// so the gets that follow find them in memory. Returns the users whose image came from
    /// IndexedDB.
    pub(super) async fn preload_stored(&self, users: &[String]) -> HashSet<String> {
        let now = self.now();
        let mut wanted: Vec<(String, String)> = Vec::new();
        for user in users {
            let mut consulted = Vec::new();
            if let (Some(record), source, fresh) = self.stored_record(user, now, &mut consulted) {
                if source == Source::LOCAL && fresh {
                    // Read once: the get that follows finds it in memory.
                    self.promote(&record, now);
                }
                if let (Some(id), false) = (record.image_id.clone(), record.opaque) {
                    if self.inner.memory.borrow().image_untouched(&id).is_none() {
                        wanted.push((user.clone(), id));
                    }
                }
            }
        }
        let mut adopted = HashSet::new();
        if let Some(images) = self.available_images().filter(|_| !wanted.is_empty()) {
            let mut ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
            ids.sort();
            ids.dedup();
            match images.get_many(&ids).await {
                Ok(found) => {
                    for stored in found.into_iter().flatten() {
                        let id = stored.meta.image_id.clone();
                        if self.adopt_stored(stored, now) {
                            adopted.insert(id);
                        }
                    }
                }
                Err(e) => self.record_error(Layer::IndexedDb, &e),
            }
        }
        wanted
            .into_iter()
            .filter(|(_, id)| adopted.contains(id))
            .map(|(user, _)| user)
            .collect()
    }
}

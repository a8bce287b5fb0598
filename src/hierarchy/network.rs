//! The network step: one load under the cross-tab lock, the backend's answer completed with
//! stored bytes or a download, and the write-behind of downloaded bytes to IndexedDB.

use super::*;

impl<I: Clone + 'static> Hierarchy<I> {
    /// Asks the backend, then completes the picture (stored bytes or a download). Falls back to
    /// `fallback` (a stale picture) or the default picture on any failure.
    pub(super) async fn load_from_network(
        &self,
        user_id: &str,
        hint: Option<&str>,
        start: Millis,
        miss: StoredMiss,
    ) -> Picture {
        let StoredMiss {
            mut consulted,
            fallback,
            known,
        } = miss;
        let now = self.now();
        if !consulted.contains(&Layer::Network) {
            consulted.push(Layer::Network);
        }
        if let Some(record) = known {
            if let Some((url, bytes, etag)) = self.download_image(&record, None, now).await {
                let record = PictureRecord {
                    etag: etag.or(record.etag.clone()),
                    ..record
                };
                self.store_record(record.clone());
                return self.network_answer(&record, url, start, &consulted, bytes);
            }
        }
        let remote = match hint {
            Some(h) => {
                self.note_api_call();
                let answer = self.inner.layers.backend.fetch_image_info(h).await;
                answer.map(|r| RemotePicture {
                    image_id: Some(h.to_string()),
                    ..r
                })
            }
            None => self.fetch_user(user_id).await,
        };
        let outcome = match remote {
            Ok(remote) if remote.user_id.as_deref().is_some_and(|u| u != user_id) => {
                Err(Error::BadResponse {
                    reason: "answer names another user".into(),
                })
            }
            Ok(remote) => {
                let record = self.record_from_remote(user_id, remote, now);
                self.complete(record, now).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok((record, url, bytes)) => self.network_answer(&record, url, start, &consulted, bytes),
            Err(e) => {
                self.record_error(Layer::Network, &e);
                match fallback {
                    Some((record, url, source)) => {
                        self.answer(&record, url, source, true, start, &consulted, 0)
                    }
                    None => self.fallback_default(user_id, start, &consulted),
                }
            }
        }
    }

    /// Completes a record fresh from the backend: finds its bytes in memory or IndexedDB (no
    /// download) or downloads them, then writes the record to every layer. Returns the record
    /// as stored, the URL to hand out and the bytes downloaded.
    pub(super) async fn complete(
        &self,
        record: PictureRecord,
        now: Millis,
    ) -> Result<(PictureRecord, String, u64)> {
        let Some(_) = record.image_id.as_deref() else {
            let url = self.inner.config.default_image_url.clone();
            self.store_record(record.clone());
            return Ok((record, url, 0));
        };
        let mut consulted = Vec::new();
        if let Some(found) = self
            .find_image(
                &PictureRecord {
                    opaque: false,
                    ..record.clone()
                },
                now,
                &mut consulted,
            )
            .await
        {
            if !found.stale {
                self.store_record(record.clone());
                return Ok((record, found.url, 0));
            }
            // Stored bytes past their freshness: ask object storage whether they changed.
            if let Some((url, bytes, etag)) = self
                .download_image(&record, found.etag.as_deref(), now)
                .await
            {
                let record = PictureRecord { etag, ..record };
                self.store_record(record.clone());
                return Ok((record, url, bytes));
            }
            self.store_record(record.clone());
            return Ok((record, found.url, 0));
        }
        match self.fetch_bytes(&record, None, now).await? {
            Fetched::Image { url, bytes, etag } => {
                let record = PictureRecord { etag, ..record };
                self.store_record(record.clone());
                Ok((record, url, bytes))
            }
            Fetched::Opaque => {
                let record = PictureRecord {
                    opaque: true,
                    ..record
                };
                let url = record.remote_url.clone();
                self.store_record(record.clone());
                Ok((record, url, 0))
            }
        }
    }

    /// Downloads the bytes of `record` (conditionally on `etag`), stores them in memory and, in
    /// the background, in IndexedDB. `None` on failure (counted).
    pub(super) async fn download_image(
        &self,
        record: &PictureRecord,
        etag: Option<&str>,
        now: Millis,
    ) -> Option<(String, u64, Option<String>)> {
        match self.fetch_bytes(record, etag, now).await {
            Ok(Fetched::Image { url, bytes, etag }) => Some((url, bytes, etag)),
            Ok(Fetched::Opaque) => None,
            Err(e) => {
                self.record_error(Layer::Network, &e);
                None
            }
        }
    }

    pub(super) async fn fetch_bytes(
        &self,
        record: &PictureRecord,
        etag: Option<&str>,
        now: Millis,
    ) -> Result<Fetched> {
        let image_id = record.image_id.clone().ok_or_else(|| Error::BadResponse {
            reason: "no image to download".into(),
        })?;
        let slot = self.inner.slots.acquire().await;
        self.inner.stats.borrow_mut().downloads += 1;
        let download = self
            .inner
            .layers
            .backend
            .download(&record.remote_url, etag)
            .await;
        drop(slot);
        match download? {
            Download::Image {
                body,
                mime,
                bytes,
                etag,
            } => {
                self.inner.stats.borrow_mut().bytes_downloaded += bytes;
                self.store_image(&image_id, body, mime, bytes, etag.clone(), now, false)
                    .await;
                let (url, _, _) =
                    self.live_image(&image_id, now)
                        .ok_or_else(|| Error::BadResponse {
                            reason: "image could not be made into a URL".into(),
                        })?;
                Ok(Fetched::Image { url, bytes, etag })
            }
            Download::NotModified => {
                let images = self.available_images().ok_or(Error::BadResponse {
                    reason: "304 without stored bytes".into(),
                })?;
                let stored = images.get(&image_id).await?.ok_or(Error::BadResponse {
                    reason: "304 without stored bytes".into(),
                })?;
                // The stored bytes are current: they count as fresh from now on.
                let meta = ImageMeta {
                    stored_at: now,
                    last_access: now,
                    ..stored.meta.clone()
                };
                let held = self.inner.memory.borrow_mut().renew_image(&image_id, now);
                if !held {
                    let copy = StoredImage {
                        meta: meta.clone(),
                        body: stored.body.clone(),
                    };
                    self.adopt_stored(copy, now);
                }
                let (url, _, _) = self.live_image(&image_id, now).ok_or(Error::Closed)?;
                self.spawn_idb_put(StoredImage {
                    meta: meta.clone(),
                    body: stored.body,
                });
                Ok(Fetched::Image {
                    url,
                    bytes: 0,
                    etag: meta.etag,
                })
            }
            Download::Opaque => Ok(Fetched::Opaque),
        }
    }

    /// Puts `body` in memory and stores it in IndexedDB (awaited when `wait`, else in the
    /// background). `false` if memory could not keep it (larger than its whole budget).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_image(
        &self,
        image_id: &str,
        body: I,
        mime: String,
        bytes: u64,
        etag: Option<String>,
        now: Millis,
        wait: bool,
    ) -> bool {
        let image = MemoryImage {
            url: None,
            body: body.clone(),
            bytes,
            stored_at: now,
            etag: etag.clone(),
        };
        let dropped = self
            .inner
            .memory
            .borrow_mut()
            .put_image(image_id, image, now);
        self.revoke(dropped);
        let kept = self
            .inner
            .memory
            .borrow()
            .image_untouched(image_id)
            .is_some();
        let meta = ImageMeta {
            image_id: image_id.to_string(),
            mime,
            bytes,
            etag,
            stored_at: now,
            last_access: now,
            version: self.inner.config.version,
        };
        let stored = StoredImage { meta, body };
        if wait {
            self.idb_put(stored).await;
        } else {
            self.spawn_idb_put(stored);
        }
        kept
    }

    pub(super) fn spawn_idb_put(&self, image: StoredImage<I>) {
        if self.available_images().is_none() {
            return;
        }
        let this = self.clone();
        let id = image.meta.image_id.clone();
        let write = async move { this.idb_put(image).await }
            .boxed_local()
            .shared();
        self.inner
            .writes
            .borrow_mut()
            .insert(id.clone(), write.clone());
        let this = self.clone();
        self.inner.layers.runtime.spawn(
            async move {
                write.await;
                this.inner.writes.borrow_mut().remove(&id);
            }
            .boxed_local(),
        );
    }

    /// Waits for every IndexedDB write under way; returns the image ids they wrote.
    pub(super) async fn settle_writes(&self) -> Vec<String> {
        let pending: Vec<(String, Shared<LocalBoxFuture<'static, ()>>)> = self
            .inner
            .writes
            .borrow()
            .iter()
            .map(|(id, write)| (id.clone(), write.clone()))
            .collect();
        let mut ids = Vec::with_capacity(pending.len());
        for (id, write) in pending {
            write.await;
            ids.push(id);
        }
        ids
    }

    /// Resolves once no IndexedDB write of `image_id` is pending.
    pub(super) async fn written(&self, image_id: &str) {
        let pending = self.inner.writes.borrow().get(image_id).cloned();
        if let Some(write) = pending {
            write.await;
        }
    }

    pub(super) async fn idb_put(&self, image: StoredImage<I>) {
        let Some(images) = self.available_images() else {
            return;
        };
        let id = image.meta.image_id.clone();
        match images.put(image).await {
            Ok(evicted) => {
                for evicted_id in evicted {
                    self.inner.stats.borrow_mut().evictions += 1;
                    self.emit(|| CacheEvent::Evict {
                        layer: Layer::IndexedDb,
                        id: evicted_id,
                    });
                }
                self.debug(|| format!("{id}: stored in IndexedDB"));
            }
            Err(e) => self.record_error(Layer::IndexedDb, &e),
        }
        self.refresh_usage();
    }
}

//! Background work: revalidation, presigned-URL refresh, batched last-access updates and
//! the IndexedDB usage figure.

use super::*;

impl<I: Clone + 'static> Hierarchy<I> {
    /// Refreshes a record whose presigned URL is about to expire, if the URL is what the app is
    /// shown (an opaque image) or what a later download would need (bytes not stored).
    pub(super) fn maybe_refresh_url(&self, record: &PictureRecord, now: Millis) {
        // Never earlier than a quarter into the URL's life: a 20 s URL is not refreshed on
        // every use because the margin is 10 minutes.
        let lifetime = (record.url_expires_at - record.fetched_at).max(0.0);
        let margin = self.inner.config.refresh_margin_ms.min(lifetime * 0.75);
        if record.image_id.is_none() || !presign::needs_refresh(record.url_expires_at, now, margin)
        {
            return;
        }
        let bytes_in_memory = record
            .image_id
            .as_deref()
            .is_some_and(|id| self.inner.memory.borrow().image_untouched(id).is_some());
        if record.opaque || !bytes_in_memory {
            self.debug(|| format!("{}: presigned URL expires soon, refreshing", record.user_id));
            self.spawn_revalidate(&record.user_id);
        }
    }

    /// Asks the backend about `user_id` in the background (once at a time per user) and tells
    /// subscribers if the picture changed.
    pub(super) fn spawn_revalidate(&self, user_id: &str) {
        if !self
            .inner
            .refreshing
            .borrow_mut()
            .insert(user_id.to_string())
        {
            return;
        }
        self.inner.stats.borrow_mut().refreshes += 1;
        let this = self.clone();
        let user = user_id.to_string();
        self.inner.layers.runtime.spawn(
            async move {
                this.revalidate(&user).await;
                this.inner.refreshing.borrow_mut().remove(&user);
            }
            .boxed_local(),
        );
    }

    pub(super) async fn revalidate(&self, user_id: &str) {
        let now = self.now();
        let mut ignored = Vec::new();
        let before = self.stored_record(user_id, now, &mut ignored).0;
        let remote = match self.fetch_user(user_id).await {
            Ok(remote) if remote.user_id.as_deref().is_none_or(|u| u == user_id) => remote,
            Ok(_) => {
                return self.record_error(
                    Layer::Network,
                    &Error::BadResponse {
                        reason: "answer names another user".into(),
                    },
                )
            }
            Err(e) => return self.record_error(Layer::Network, &e),
        };
        let record = self.record_from_remote(user_id, remote, now);
        match self.complete(record, now).await {
            Ok((after, _, _)) => {
                // Without CORS the app shows the presigned URL itself: a newly signed one is a
                // change it must hear about before the old one expires.
                let changed = before.as_ref().is_none_or(|b| {
                    b.image_id != after.image_id
                        || b.opaque != after.opaque
                        || (after.opaque && b.remote_url != after.remote_url)
                });
                self.emit(|| CacheEvent::Refresh {
                    user_id: user_id.to_string(),
                    changed,
                });
                if changed {
                    self.debug(|| format!("{user_id}: picture changed on revalidation"));
                    self.notify(&Change::User(user_id.to_string()));
                }
            }
            Err(e) => self.record_error(Layer::Network, &e),
        }
    }

    /// Queues a last-access update for IndexedDB; one transaction writes them all shortly after.
    pub(super) fn note_access(&self, image_id: &str, now: Millis) {
        if self.available_images().is_none() {
            return;
        }
        self.inner
            .touches
            .borrow_mut()
            .insert(image_id.to_string(), now);
        if self.inner.touch_flush_scheduled.replace(true) {
            return;
        }
        let this = self.clone();
        let sleep = self.inner.layers.runtime.sleep(TOUCH_FLUSH_MS);
        self.inner.layers.runtime.spawn(
            async move {
                sleep.await;
                this.flush_touches().await;
            }
            .boxed_local(),
        );
    }

    pub(super) fn refresh_usage(&self) {
        let Some(images) = self.available_images() else {
            return;
        };
        let this = self.clone();
        self.inner.layers.runtime.spawn(
            async move {
                if let Ok(usage) = images.usage().await {
                    this.inner.idb_usage.set(Some(usage));
                }
            }
            .boxed_local(),
        );
    }
}

//! Background work that keeps answers true: revalidating a stale record with the backend, and
//! refreshing a presigned URL before it expires. Subscribers hear of a picture that changed.

use crate::collections::HashSet;
use std::cell::RefCell;

use futures::FutureExt;

use crate::clock::Millis;
use crate::policy::presign;
use crate::record::PictureRecord;
use crate::vocabulary::{Change, Layer};

use super::trace::Trace;
use super::Hierarchy;

/// The users being revalidated: one revalidation per user at a time.
#[derive(Default)]
pub(super) struct Revalidations {
    users: RefCell<HashSet<String>>,
}

impl Revalidations {
    /// Claims `user_id`; `false` if a revalidation of it is already under way.
    fn claim(&self, user_id: &str) -> bool {
        self.users.borrow_mut().insert(user_id.to_string())
    }

    fn release(&self, user_id: &str) {
        self.users.borrow_mut().remove(user_id);
    }
}

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
            self.inner
                .telemetry
                .debug(|| format!("{}: presigned URL expires soon, refreshing", record.user_id));
            self.spawn_revalidate(&record.user_id);
        }
    }

    /// Refreshes in the background the presigned URLs about to expire among the records in use:
    /// those memory holds, and the opaque ones of the record store (their URL is the picture).
    /// Each gets `Hierarchy::maybe_refresh_url`'s check, the one a use makes in a page; the
    /// refreshes go out together through the batcher. For a context that runs between uses (a
    /// service worker calls it on a timer); never touches the network for a fresh URL.
    pub fn refresh_expiring(&self) {
        if self.inner.closed.get() {
            return;
        }
        let now = self.now();
        let mut records: Vec<PictureRecord> = self
            .inner
            .memory
            .borrow()
            .records()
            .map(|m| m.record.clone())
            .collect();
        if let Some(local) = &self.inner.layers.local {
            records.extend(local.records().into_iter().filter(|r| r.opaque));
        }
        for record in records {
            self.maybe_refresh_url(&record, now);
        }
    }

    /// Asks the backend about `user_id` in the background (once at a time per user).
    pub(super) fn spawn_revalidate(&self, user_id: &str) {
        if !self.inner.revalidations.claim(user_id) {
            return;
        }
        self.inner.telemetry.refresh_started();
        let this = self.clone();
        let user = user_id.to_string();
        let trace = self.trace();
        self.inner.layers.runtime.spawn(
            async move {
                this.revalidate(&user, &trace).await;
                this.inner.revalidations.release(&user);
            }
            .boxed_local(),
        );
    }

    /// Asks the backend about `user_id`, completes and stores the answer, and tells subscribers
    /// if the picture changed.
    async fn revalidate(&self, user_id: &str, trace: &Trace) {
        if !self.is_current(trace) {
            // Started before a logout: its answer would be thrown away.
            return;
        }
        let now = self.now();
        let before = self.stored_record(user_id, now, &mut trace.clone()).0;
        let remote = match self.describe(user_id, None).await {
            Ok(remote) => remote,
            // A logout while the request waited (its batch or a network slot): not a fault.
            Err(_) if !self.is_current(trace) => return,
            Err(e) => return self.inner.telemetry.error(Layer::Network, &e),
        };
        let record = self.record_from_remote(user_id, remote, now);
        match self.complete(record, now, None, trace).await {
            Ok(done) => {
                let after = &done.record;
                // Without CORS the app shows the presigned URL itself: a newly signed one is a
                // change it must hear about before the old one expires.
                let changed = before.as_ref().is_none_or(|b| {
                    b.image_id != after.image_id
                        || b.opaque != after.opaque
                        || (after.opaque && b.remote_url != after.remote_url)
                });
                self.inner.telemetry.refreshed(user_id, changed);
                if changed && self.is_current(trace) {
                    self.inner
                        .telemetry
                        .debug(|| format!("{user_id}: picture changed on revalidation"));
                    self.inner
                        .subscribers
                        .notify(&Change::User(user_id.to_string()));
                }
            }
            // A session that ended while the revalidation ran refused its writes: not a fault.
            Err(_) if !self.is_current(trace) => {}
            Err(e) => self.inner.telemetry.error(Layer::Network, &e),
        }
    }
}

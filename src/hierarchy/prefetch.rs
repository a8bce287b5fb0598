//! Many users at once (a list about to render, a hover, idle time): what is stored is read in
//! one IndexedDB transaction, the rest goes through the gets' usual path, together.

use crate::collections::HashSet;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::error::Result;
use crate::key::validate_id;
use crate::vocabulary::{Layer, PrefetchReport, Source};

use super::trace::Trace;
use super::Hierarchy;

impl<I: Clone + 'static> Hierarchy<I> {
    /// Loads many users at once: what is stored is read in one IndexedDB transaction, unknown
    /// users are resolved through the batch endpoint when configured, and missing images are
    /// downloaded with bounded concurrency. Never fails for storage or network trouble.
    pub async fn prefetch(&self, user_ids: &[String]) -> Result<PrefetchReport> {
        for id in user_ids {
            validate_id("userIds", id)?;
        }
        let users = crate::sort::dedup_keep_order(user_ids);
        let before = self.inner.telemetry.network_counters();
        let mut report = PrefetchReport {
            requested: users.len(),
            ..Default::default()
        };
        if self.inner.closed.get() {
            report.defaulted = users.len();
            return Ok(report);
        }
        let trace = self.trace();
        let now = self.now();
        let mut pending = Vec::new();
        for user in users {
            match self.ready_in_memory(&user, now) {
                Some(record) => {
                    self.inner
                        .telemetry
                        .answered(&user, Source::MEMORY, false, &trace, 0);
                    self.maybe_refresh_url(&record, now);
                    match record.image_id {
                        None => report.defaulted += 1,
                        Some(_) => report.memory += 1,
                    }
                }
                None => pending.push(user),
            }
        }
        let from_idb = self.preload_stored(&pending, &trace).await;
        // What the preload made ready is done: counted as IndexedDB answers, with no object URL
        // made until a component asks for the picture.
        let now = self.now();
        let mut stored_trace = trace;
        stored_trace.asked(Layer::Local);
        stored_trace.asked(Layer::IndexedDb);
        let mut rest = Vec::with_capacity(pending.len());
        for user in pending {
            let ready = from_idb.contains(&user) && self.ready_in_memory(&user, now).is_some();
            if ready {
                self.inner
                    .telemetry
                    .answered(&user, Source::INDEXED_DB, false, &stored_trace, 0);
                report.indexeddb += 1;
            } else {
                rest.push(user);
            }
        }
        // Every other get at once: the users the backend must describe go out together (one
        // batch call per `batch.maxIds` with a batch endpoint), and downloads queue for the
        // network slots (`batch.concurrency`). A component asking for the same user meanwhile
        // joins the same load. The answers are counted as they come (their order does not
        // matter).
        let mut gets: FuturesUnordered<_> = rest.iter().map(|user| self.get(user, None)).collect();
        while let Some(answer) = gets.next().await {
            let Ok(picture) = answer else {
                continue;
            };
            report.downloads += u64::from(picture.downloaded);
            if picture.image_id.is_none() {
                report.defaulted += 1;
                continue;
            }
            match picture.source {
                Source::MEMORY | Source::LOCAL if from_idb.contains(&picture.user_id) => {
                    report.indexeddb += 1
                }
                Source::MEMORY => report.memory += 1,
                Source::LOCAL => report.local += 1,
                Source::INDEXED_DB => report.indexeddb += 1,
                Source::NETWORK => report.network += 1,
                _ => report.defaulted += 1,
            }
        }
        report.api_calls = self.inner.telemetry.network_counters().0 - before.0;
        Ok(report)
    }

    /// Reads, in one IndexedDB transaction, the stored images of users whose records are known,
    /// so the gets that follow find them in memory. Returns the users whose image came from
    /// IndexedDB.
    async fn preload_stored(&self, users: &[String], trace: &Trace) -> HashSet<String> {
        let now = self.now();
        let mut wanted: Vec<(String, String)> = Vec::new();
        for user in users {
            if let (Some(record), source, fresh) = self.stored_record(user, now, &mut trace.clone())
            {
                if source == Source::LOCAL && fresh {
                    // Read once: the get that follows finds it in memory.
                    self.promote(&record, now, trace);
                }
                if let (Some(id), false) = (record.image_id.clone(), record.opaque) {
                    if self.inner.memory.borrow().image_untouched(&id).is_none() {
                        wanted.push((user.clone(), id));
                    }
                }
            }
        }
        let mut adopted = HashSet::default();
        if let Some(images) = self.available_images().filter(|_| !wanted.is_empty()) {
            let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
            let ids = crate::sort::dedup_keep_order(&ids);
            match images.get_many(&ids).await {
                Ok(found) => {
                    for stored in found.into_iter().flatten() {
                        let id = stored.meta.image_id.clone();
                        if self.adopt_stored(stored, now, trace) {
                            adopted.insert(id);
                        }
                    }
                }
                Err(e) => self.inner.telemetry.error(Layer::IndexedDb, &e),
            }
        }
        wanted
            .into_iter()
            .filter(|(_, id)| adopted.contains(id))
            .map(|(user, _)| user)
            .collect()
    }
}

//! Answers, events and counters: how a finished lookup is reported to the caller, stats,
//! `onEvent`, the debug log and subscribers.

use super::*;

impl<I: Clone + 'static> Hierarchy<I> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn answer(
        &self,
        record: &PictureRecord,
        url: String,
        source: Source,
        stale: bool,
        start: Millis,
        consulted: &[Layer],
        bytes: u64,
    ) -> Picture {
        let load_ms = self.count_answer(&record.user_id, source, stale, start, consulted, bytes);
        Picture {
            user_id: record.user_id.clone(),
            image_id: record.image_id.clone(),
            url,
            source,
            stale,
            load_ms,
        }
    }

    /// Counts a finished lookup in the stats and tells `onEvent`; returns how long it took.
    pub(super) fn count_answer(
        &self,
        user_id: &str,
        source: Source,
        stale: bool,
        start: Millis,
        consulted: &[Layer],
        bytes: u64,
    ) -> Millis {
        let load_ms = (self.tick() - start).max(0.0);
        self.inner
            .stats
            .borrow_mut()
            .record_get(source, load_ms, stale, consulted);
        self.emit(|| CacheEvent::Load {
            user_id: user_id.to_string(),
            source,
            ms: load_ms,
            bytes,
            stale,
        });
        load_ms
    }

    pub(super) fn network_answer(
        &self,
        record: &PictureRecord,
        url: String,
        start: Millis,
        consulted: &[Layer],
        bytes: u64,
    ) -> Picture {
        self.answer(record, url, Source::NETWORK, false, start, consulted, bytes)
    }

    pub(super) fn fallback_default(
        &self,
        user_id: &str,
        start: Millis,
        consulted: &[Layer],
    ) -> Picture {
        self.count_answer(user_id, Source::Default, false, start, consulted, 0);
        self.default_picture(user_id, start)
    }

    pub(super) fn default_picture(&self, user_id: &str, start: Millis) -> Picture {
        Picture {
            user_id: user_id.to_string(),
            image_id: None,
            url: self.inner.config.default_image_url.clone(),
            source: Source::Default,
            stale: false,
            load_ms: (self.tick() - start).max(0.0),
        }
    }

    pub(super) fn available_images(&self) -> Option<Rc<dyn ImageStore<I>>> {
        self.inner
            .layers
            .images
            .clone()
            .filter(|i| i.is_available())
    }

    pub(super) fn note_api_call(&self) {
        self.inner.stats.borrow_mut().api_calls += 1;
    }

    pub(super) fn counters(&self) -> (u64, u64) {
        let stats = self.inner.stats.borrow();
        (stats.api_calls, stats.downloads)
    }

    pub(super) fn record_error(&self, layer: Layer, error: &Error) {
        let reason = format!("{}: {error}", error.code());
        let now = self.now();
        self.inner
            .stats
            .borrow_mut()
            .record_error(layer, reason.clone(), now);
        self.emit(|| CacheEvent::Error { layer, reason });
    }

    pub(super) fn emit(&self, event: impl FnOnce() -> CacheEvent) {
        let hook = self.inner.on_event.borrow().clone();
        if let Some(hook) = hook {
            hook(&event());
        }
    }

    pub(super) fn debug(&self, message: impl FnOnce() -> String) {
        if self.inner.config.debug {
            self.emit(|| CacheEvent::Decision(message()));
        }
    }

    /// Tells this tab's subscribers, and (when `broadcast`) other tabs, about a change.
    pub(super) fn changed(&self, change: Change, broadcast: bool) {
        if broadcast {
            let hook = self.inner.on_change.borrow().clone();
            if let Some(hook) = hook {
                hook(&change);
            }
        }
        self.notify(&change);
    }

    pub(super) fn notify(&self, change: &Change) {
        let listeners: Vec<Listener> = self
            .inner
            .listeners
            .borrow()
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        if listeners.is_empty() {
            return;
        }
        match change {
            Change::User(user) => listeners.iter().for_each(|l| l(Some(user))),
            Change::Updated(record) => listeners.iter().for_each(|l| l(Some(&record.user_id))),
            Change::All => listeners.iter().for_each(|l| l(None)),
        }
    }
}

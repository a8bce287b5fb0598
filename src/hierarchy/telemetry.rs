//! What the cache tells about itself: the counters and latencies of [`Stats`], the events
//! `onEvent` hears, recent errors and the debug log. Every answer and every failure is counted
//! here, in one place.

use std::cell::RefCell;
use std::rc::Rc;

use crate::clock::{Clock, Millis};
use crate::error::Error;
use crate::stats::Stats;
use crate::vocabulary::{CacheEvent, Layer, Source};

use super::trace::Trace;

/// Told of loads, evictions, errors, refreshes and (with `debug`) decisions.
pub type EventHook = Rc<dyn Fn(&CacheEvent)>;

/// The counters and the event hook of one cache.
pub(crate) struct Telemetry {
    stats: RefCell<Stats>,
    hook: RefCell<Option<EventHook>>,
    clock: Rc<dyn Clock>,
    debug: bool,
}

impl Telemetry {
    /// Counters from zero; `debug` turns on [`CacheEvent::Decision`]s.
    pub fn new(clock: Rc<dyn Clock>, debug: bool) -> Self {
        Telemetry {
            stats: RefCell::new(Stats::default()),
            hook: RefCell::new(None),
            clock,
            debug,
        }
    }

    /// Sets the hook told of every event.
    pub fn set_hook(&self, hook: Option<EventHook>) {
        *self.hook.borrow_mut() = hook;
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.stats.borrow().clone()
    }

    /// `(api_calls, downloads)` so far.
    pub fn network_counters(&self) -> (u64, u64) {
        let stats = self.stats.borrow();
        (stats.api_calls, stats.downloads)
    }

    /// Milliseconds since the lookup of `trace` started.
    pub fn elapsed(&self, trace: &Trace) -> Millis {
        (self.clock.monotonic_ms() - trace.start).max(0.0)
    }

    /// Counts a finished lookup (a hit of `source`, a miss of each layer asked before it) and
    /// tells the hook; returns how long it took.
    pub fn answered(
        &self,
        user_id: &str,
        source: Source,
        stale: bool,
        trace: &Trace,
        bytes: u64,
    ) -> Millis {
        let ms = self.elapsed(trace);
        let consulted: Vec<Layer> = trace.consulted().collect();
        self.stats
            .borrow_mut()
            .record_get(source, ms, stale, &consulted);
        self.emit(|| CacheEvent::Load {
            user_id: user_id.to_string(),
            source,
            ms,
            bytes,
            stale,
        });
        ms
    }

    /// Counts a failure of `layer`; the caller falls back.
    pub fn error(&self, layer: Layer, error: &Error) {
        let reason = format!("{}: {error}", error.code());
        let now = self.clock.now_ms();
        self.stats
            .borrow_mut()
            .record_error(layer, reason.clone(), now);
        self.emit(|| CacheEvent::Error { layer, reason });
    }

    /// Counts an entry evicted from `layer`.
    pub fn evicted(&self, layer: Layer, id: String) {
        self.stats.borrow_mut().evictions += 1;
        self.emit(|| CacheEvent::Evict { layer, id });
    }

    /// Counts a call to the backend API.
    pub fn api_call(&self) {
        self.stats.borrow_mut().api_calls += 1;
    }

    /// Counts an image download (made or answered 304).
    pub fn download(&self) {
        self.stats.borrow_mut().downloads += 1;
    }

    /// Counts image bytes downloaded.
    pub fn downloaded(&self, bytes: u64) {
        self.stats.borrow_mut().bytes_downloaded += bytes;
    }

    /// Counts a background revalidation started.
    pub fn refresh_started(&self) {
        self.stats.borrow_mut().refreshes += 1;
    }

    /// Tells the hook that a revalidation of `user_id` finished.
    pub fn refreshed(&self, user_id: &str, changed: bool) {
        self.emit(|| CacheEvent::Refresh {
            user_id: user_id.to_string(),
            changed,
        });
    }

    /// Tells the hook that the preview of `image_id` (`user_id`'s picture) was computed in `ms`.
    pub fn previewed(&self, user_id: &str, image_id: &str, ms: Millis) {
        self.emit(|| CacheEvent::Preview {
            user_id: user_id.to_string(),
            image_id: image_id.to_string(),
            ms,
        });
    }

    /// Monotonic milliseconds now (for timing background work).
    pub fn monotonic_ms(&self) -> Millis {
        self.clock.monotonic_ms()
    }

    /// A decision for the debug log (built only with `debug: true`).
    pub fn debug(&self, message: impl FnOnce() -> String) {
        if self.debug {
            self.emit(|| CacheEvent::Decision(message()));
        }
    }

    fn emit(&self, event: impl FnOnce() -> CacheEvent) {
        let hook = self.hook.borrow().clone();
        if let Some(hook) = hook {
            hook(&event());
        }
    }
}

//! Counters and latency samples per layer, and the figures `stats()` and `diagnose()` report.
//!
//! Every `get` is counted exactly once as a hit of the layer that answered it and as a miss of
//! each layer consulted before; a stale answer also counts as `stale` for its layer. Latency
//! percentiles come from the last [`SAMPLES`] answers of each layer.

use std::collections::VecDeque;

use crate::clock::Millis;
use crate::vocabulary::{Layer, Source};

/// How many latency samples each layer keeps for its percentiles.
pub const SAMPLES: usize = 1024;
/// How many recent errors are kept.
pub const RECENT_ERRORS: usize = 20;

/// One layer's counters.
#[derive(Debug, Clone, Default)]
pub struct LayerCounters {
    /// Gets this layer answered.
    pub hits: u64,
    /// Gets this layer was asked and could not answer.
    pub misses: u64,
    /// Answers past their freshness (served while a revalidation runs).
    pub stale: u64,
    /// Failures of this layer (storage errors, network errors).
    pub errors: u64,
    samples: VecDeque<f64>,
}

impl LayerCounters {
    /// Records one answer that took `ms`.
    fn record_hit(&mut self, ms: f64, stale: bool) {
        self.hits += 1;
        if stale {
            self.stale += 1;
        }
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(ms);
    }

    /// The `q` quantile (0..=1) of the recent latencies, 0 when there are none.
    pub fn percentile(&self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        crate::sort::sort_by_f64(&mut sorted, |x| *x);
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }
}

/// An error worth showing in diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentError {
    /// When it happened (ms since epoch).
    pub at: Millis,
    /// The layer that failed.
    pub layer: Layer,
    /// The error's code and message.
    pub reason: String,
}

/// All counters of one cache instance.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Memory layer.
    pub memory: LayerCounters,
    /// localStorage layer.
    pub local: LayerCounters,
    /// IndexedDB layer.
    pub indexeddb: LayerCounters,
    /// Network layer.
    pub network: LayerCounters,
    /// Gets answered with the default picture because nothing better was available.
    pub defaults: u64,
    /// Backend API calls made (user, image and batch endpoints).
    pub api_calls: u64,
    /// Image downloads made (including 304 answers).
    pub downloads: u64,
    /// Image bytes downloaded.
    pub bytes_downloaded: u64,
    /// Background revalidations and URL refreshes started.
    pub refreshes: u64,
    /// Entries evicted, from any layer.
    pub evictions: u64,
    recent_errors: VecDeque<RecentError>,
}

impl Stats {
    /// The counters of `layer`.
    pub fn layer_mut(&mut self, layer: Layer) -> &mut LayerCounters {
        match layer {
            Layer::Memory => &mut self.memory,
            Layer::Local => &mut self.local,
            Layer::IndexedDb => &mut self.indexeddb,
            Layer::Network => &mut self.network,
        }
    }

    /// Counts a finished get: a hit for the layer that answered, a miss for each layer consulted
    /// before it.
    pub fn record_get(&mut self, source: Source, ms: f64, stale: bool, consulted: &[Layer]) {
        let answered = source.layer();
        for layer in consulted {
            if Some(*layer) != answered {
                self.layer_mut(*layer).misses += 1;
            }
        }
        match answered {
            Some(layer) => self.layer_mut(layer).record_hit(ms, stale),
            None => self.defaults += 1,
        }
    }

    /// Records a failure of `layer`.
    pub fn record_error(&mut self, layer: Layer, reason: String, at: Millis) {
        self.layer_mut(layer).errors += 1;
        if self.recent_errors.len() == RECENT_ERRORS {
            self.recent_errors.pop_front();
        }
        self.recent_errors
            .push_back(RecentError { at, layer, reason });
    }

    /// The recent errors, oldest first.
    pub fn recent_errors(&self) -> impl Iterator<Item = &RecentError> {
        self.recent_errors.iter()
    }

    /// All gets: each was answered by exactly one layer or by the default picture.
    pub fn gets(&self) -> u64 {
        self.memory.hits + self.local.hits + self.indexeddb.hits + self.network.hits + self.defaults
    }

    /// Gets answered without the network, over all gets (0 when there were none).
    pub fn hit_rate(&self) -> f64 {
        let gets = self.gets();
        if gets == 0 {
            return 0.0;
        }
        let cached = self.memory.hits + self.local.hits + self.indexeddb.hits;
        cached as f64 / gets as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_is_one_hit_and_a_miss_per_layer_before_it() {
        let mut s = Stats::default();
        let all = [
            Layer::Memory,
            Layer::Local,
            Layer::IndexedDb,
            Layer::Network,
        ];
        s.record_get(Source::NETWORK, 120.0, false, &all);
        s.record_get(Source::MEMORY, 0.01, false, &[Layer::Memory]);
        s.record_get(Source::INDEXED_DB, 3.0, true, &all[..3]);
        assert_eq!((s.memory.hits, s.memory.misses), (1, 2));
        assert_eq!((s.local.hits, s.local.misses), (0, 2));
        assert_eq!(
            (s.indexeddb.hits, s.indexeddb.misses, s.indexeddb.stale),
            (1, 1, 1)
        );
        assert_eq!((s.network.hits, s.network.misses), (1, 0));
        assert!((s.hit_rate() - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut c = LayerCounters::default();
        assert_eq!(c.percentile(0.95), 0.0);
        for ms in 1..=100 {
            c.record_hit(ms as f64, false);
        }
        assert_eq!(c.percentile(0.5), 50.0);
        assert_eq!(c.percentile(0.95), 95.0);
        assert_eq!(c.percentile(1.0), 100.0);
    }

    #[test]
    fn recent_errors_are_bounded() {
        let mut s = Stats::default();
        for i in 0..50 {
            s.record_error(Layer::Network, format!("e{i}"), i as f64);
        }
        assert_eq!(s.recent_errors().count(), RECENT_ERRORS);
        assert_eq!(s.recent_errors().next().unwrap().reason, "e30");
        assert_eq!(s.network.errors, 50);
    }
}

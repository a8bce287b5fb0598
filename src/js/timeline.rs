//! The devtools Performance panel's view of the cache: one `performance.measure` per get, and
//! one per preview computed. The entries carry the times of the get; they are written in the
//! task after it answered, so that a list of 100 answered together does not wait for 100
//! `performance.measure` calls (about 27 µs each in Chromium) before the app sees its pictures.

use super::glue::measure_get;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// `performance.measure` entries for each get, named by the layer that answered
/// (`avatar-cache get ← indexeddb`) with the user in `detail`, so they read well in the devtools
/// Performance panel. The entries are cleared every [`Timeline::KEEP`] gets so a long session
/// does not grow the timeline without bound.
pub(super) struct Timeline {
    performance: web_sys::Performance,
    /// The entry name for each of [`Timeline::SOURCES`], made once.
    names: Vec<(&'static str, JsValue)>,
    count: std::cell::Cell<u32>,
}

impl Timeline {
    const KEEP: u32 = 2_000;
    const SOURCES: [&'static str; 5] = ["memory", "local", "indexeddb", "network", "default"];

    pub(super) fn new() -> Option<Timeline> {
        let performance = Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
        let performance: web_sys::Performance = performance.dyn_into().ok()?;
        // Engines (or test environments) without `performance.measure`: no timeline.
        Reflect::get(&performance, &"measure".into())
            .ok()?
            .dyn_into::<Function>()
            .ok()?;
        let names = Self::SOURCES
            .iter()
            .map(|source| {
                (
                    *source,
                    JsValue::from_str(&format!("avatar-cache get \u{2190} {source}")),
                )
            })
            .chain([("preview", JsValue::from_str("avatar-cache preview"))])
            .collect();
        Some(Timeline {
            performance,
            names,
            count: std::cell::Cell::new(0),
        })
    }

    /// An `avatar-cache preview` entry: a preview of `user_id`'s picture computed in `ms`.
    pub(super) fn measure_preview(&self, user_id: &str, ms: f64) {
        self.measure_get(user_id, "preview", ms, false);
    }

    pub(super) fn measure_get(&self, user_id: &str, source: &str, ms: f64, stale: bool) {
        let count = self.count.get() + 1;
        if count > Self::KEEP {
            for (_, name) in &self.names {
                if let Some(name) = name.as_string() {
                    self.performance.clear_measures_with_measure_name(&name);
                }
            }
            self.count.set(1);
        } else {
            self.count.set(count);
        }
        let Some((_, name)) = self.names.iter().find(|(s, _)| *s == source) else {
            return;
        };
        measure_get(&self.performance, name, user_id, stale, ms);
    }
}

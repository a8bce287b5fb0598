//! What a developer sees in the devtools: `__AVATAR_CACHE__` in the console, `diagnose()`'s
//! tables, and the origin's storage estimate.

use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::convert::{stats_out, to_js, StorageOut};
use super::{AvatarCache, Shared};

impl AvatarCache {
    /// Makes this instance reachable as `globalThis.__AVATAR_CACHE__` (`stats()`, `diagnose()`).
    pub(super) fn expose_globally(&self) {
        let handle = Object::new();
        let for_stats = Rc::downgrade(&self.shared);
        let stats = Closure::<dyn Fn() -> JsValue>::new(move || {
            for_stats
                .upgrade()
                .map_or(JsValue::UNDEFINED, |s| to_js(&stats_out(&s)))
        });
        let for_diagnose = Rc::downgrade(&self.shared);
        let diagnose_fn = Closure::<dyn Fn() -> JsValue>::new(move || {
            for_diagnose
                .upgrade()
                .map_or(JsValue::UNDEFINED, |s| diagnose(&s))
        });
        let _ = Reflect::set(&handle, &"stats".into(), &stats.into_js_value());
        let _ = Reflect::set(&handle, &"diagnose".into(), &diagnose_fn.into_js_value());
        let _ = Reflect::set(
            &handle,
            &"version".into(),
            &env!("CARGO_PKG_VERSION").into(),
        );
        let _ = Reflect::set(&js_sys::global(), &"__AVATAR_CACHE__".into(), &handle);
    }
}

pub(super) fn diagnose(shared: &Shared) -> JsValue {
    let stats = stats_out(shared);
    let js = to_js(&stats);
    let console_table = |label: &str, data: &JsValue| {
        web_sys::console::log_1(&JsValue::from_str(label));
        web_sys::console::table_1(data);
    };
    web_sys::console::log_1(&JsValue::from_str(&format!(
        "avatar-cache {}: hit rate {:.1} %, {} gets, {} API calls, {} downloads, breaker {}",
        env!("CARGO_PKG_VERSION"),
        stats.hit_rate * 100.0,
        stats.gets,
        stats.api_calls,
        stats.downloads,
        stats.breaker
    )));
    console_table(
        "layers",
        &Reflect::get(&js, &"layers".into()).unwrap_or(JsValue::UNDEFINED),
    );
    let now = js_sys::Date::now();
    let rows = Array::new();
    let local: HashMap<String, f64> = shared
        .hierarchy
        .local_records()
        .into_iter()
        .map(|r| (r.user_id, r.fetched_at))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for (record, fresh_until, has_image) in shared.hierarchy.memory_entries() {
        seen.insert(record.user_id.clone());
        let mut layers = vec!["memory"];
        if local.contains_key(&record.user_id) {
            layers.push("local");
        }
        let row = EntryRow {
            user: record.user_id.clone(),
            image: record
                .image_id
                .clone()
                .unwrap_or_else(|| "(default)".into()),
            layers: layers.join(" + "),
            age_s: ((now - record.fetched_at) / 1000.0).round(),
            fresh_for_s: ((fresh_until - now) / 1000.0).round(),
            url_expires_in_s: ((record.url_expires_at - now) / 1000.0).round(),
            image_in_memory: has_image,
        };
        rows.push(&to_js(&row));
    }
    for (user, fetched_at) in &local {
        if seen.contains(user) {
            continue;
        }
        let row = EntryRow {
            user: user.clone(),
            image: String::new(),
            layers: "local".into(),
            age_s: ((now - fetched_at) / 1000.0).round(),
            fresh_for_s: ((fetched_at + shared.config.local.ttl_ms - now) / 1000.0).round(),
            url_expires_in_s: f64::NAN,
            image_in_memory: false,
        };
        rows.push(&to_js(&row));
    }
    console_table("entries", &rows);
    let errors = Reflect::get(&js, &"recentErrors".into()).unwrap_or(JsValue::UNDEFINED);
    if Array::from(&errors).length() > 0 {
        console_table("recent errors", &errors);
    }
    js
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryRow {
    user: String,
    image: String,
    layers: String,
    age_s: f64,
    fresh_for_s: f64,
    url_expires_in_s: f64,
    image_in_memory: bool,
}

pub(super) async fn storage_estimate() -> Option<StorageOut> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into())
        .ok()
        .filter(|s| !s.is_undefined())?;
    let storage: web_sys::StorageManager = storage.dyn_into().ok()?;
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let usage = Reflect::get(&estimate, &"usage".into())
        .ok()?
        .as_f64()
        .unwrap_or(0.0);
    let quota = Reflect::get(&estimate, &"quota".into())
        .ok()?
        .as_f64()
        .unwrap_or(0.0);
    let persisted = match storage.persisted() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    };
    Some(StorageOut {
        usage,
        quota,
        persisted,
    })
}

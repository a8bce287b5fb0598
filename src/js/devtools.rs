//! What a developer sees in the devtools: `__AVATAR_CACHE__` in the console, `diagnose()`'s
//! tables, and the origin's storage estimate.

use crate::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::convert::{stats_to_js, StorageOut};
use super::glue::devtools_root_js;
use super::page::{AvatarCache, Shared};
use crate::js_object::{number_field, string_field, JsObject};
use crate::json::number_text;

/// `globalThis.__AVATAR_CACHE__` (made on first use); `None` where it cannot be set.
fn devtools_root() -> Option<Object> {
    devtools_root_js(env!("CARGO_PKG_VERSION")).ok()
}

impl AvatarCache {
    /// Registers this instance as `__AVATAR_CACHE__.caches[namespace]` for the devtools
    /// console (unless `devtools: false`); a later cache of the same namespace takes its place.
    pub(super) fn expose_globally(&self) {
        if !self.shared.config.devtools {
            return;
        }
        let Some(root) = devtools_root() else {
            return;
        };
        let Ok(caches) = Reflect::get(&root, &"caches".into()) else {
            return;
        };
        let handle = Object::new();
        let for_stats = Rc::downgrade(&self.shared);
        let stats = Closure::<dyn Fn() -> JsValue>::new(move || {
            for_stats
                .upgrade()
                .map_or(JsValue::UNDEFINED, |s| stats_to_js(&s))
        });
        let for_diagnose = Rc::downgrade(&self.shared);
        let diagnose_fn = Closure::<dyn Fn() -> JsValue>::new(move || {
            for_diagnose
                .upgrade()
                .map_or(JsValue::UNDEFINED, |s| diagnose(&s))
        });
        let _ = Reflect::set(&handle, &"stats".into(), &stats.into_js_value());
        let _ = Reflect::set(&handle, &"diagnose".into(), &diagnose_fn.into_js_value());
        let namespace = JsValue::from_str(&self.shared.config.namespace);
        let _ = Reflect::set(&caches, &namespace, &handle);
        *self.shared.devtools_entry.borrow_mut() = Some(handle.into());
    }

    /// Removes this instance's `__AVATAR_CACHE__` entry (if a newer cache has not taken it).
    pub(super) fn hide_globally(&self) {
        let Some(handle) = self.shared.devtools_entry.borrow_mut().take() else {
            return;
        };
        let Some(root) = devtools_root() else {
            return;
        };
        let Ok(caches) = Reflect::get(&root, &"caches".into()) else {
            return;
        };
        let namespace = JsValue::from_str(&self.shared.config.namespace);
        let current = Reflect::get(&caches, &namespace).unwrap_or(JsValue::UNDEFINED);
        if current == handle {
            let _ = Reflect::delete_property(caches.unchecked_ref::<Object>(), &namespace);
        }
    }
}

pub(super) fn diagnose(shared: &Shared) -> JsValue {
    let js = stats_to_js(shared);
    let count = |name| number_text(number_field(&js, name).unwrap_or(0.0));
    let hit_rate = number_field(&js, "hitRate").unwrap_or(0.0);
    let console_table = |label: &str, data: &JsValue| {
        web_sys::console::log_1(&JsValue::from_str(label));
        web_sys::console::table_1(data);
    };
    web_sys::console::log_1(&JsValue::from_str(&format!(
        "avatar-cache {}: hit rate {} %, {} gets, {} API calls, {} downloads, breaker {}",
        env!("CARGO_PKG_VERSION"),
        number_text((hit_rate * 1000.0).round() / 10.0),
        count("gets"),
        count("apiCalls"),
        count("downloads"),
        string_field(&js, "breaker").unwrap_or_default()
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
    let mut seen = crate::collections::HashSet::default();
    for (record, fresh_until, has_image) in shared.hierarchy.memory_entries() {
        seen.insert(record.user_id.clone());
        let mut layers = vec!["memory"];
        if local.contains_key(&record.user_id) {
            layers.push("local");
        }
        rows.push(&entry_row(EntryRow {
            user: &record.user_id,
            image: record.image_id.as_deref().unwrap_or("(default)"),
            layers: &layers.join(" + "),
            age_s: ((now - record.fetched_at) / 1000.0).round(),
            fresh_for_s: ((fresh_until - now) / 1000.0).round(),
            url_expires_in_s: ((record.url_expires_at - now) / 1000.0).round(),
            image_in_memory: has_image,
        }));
    }
    for (user, fetched_at) in &local {
        if seen.contains(user) {
            continue;
        }
        rows.push(&entry_row(EntryRow {
            user,
            image: "",
            layers: "local",
            age_s: ((now - fetched_at) / 1000.0).round(),
            fresh_for_s: ((fetched_at + shared.config.local.ttl_ms - now) / 1000.0).round(),
            url_expires_in_s: f64::NAN,
            image_in_memory: false,
        }));
    }
    console_table("entries", &rows);
    let errors = Reflect::get(&js, &"recentErrors".into()).unwrap_or(JsValue::UNDEFINED);
    if Array::from(&errors).length() > 0 {
        console_table("recent errors", &errors);
    }
    js
}

/// One row of `diagnose()`'s entries table.
struct EntryRow<'a> {
    user: &'a str,
    image: &'a str,
    layers: &'a str,
    age_s: f64,
    fresh_for_s: f64,
    url_expires_in_s: f64,
    image_in_memory: bool,
}

fn entry_row(row: EntryRow<'_>) -> JsValue {
    JsObject::new()
        .set("user", row.user)
        .set("image", row.image)
        .set("layers", row.layers)
        .set("ageS", row.age_s)
        .set("freshForS", row.fresh_for_s)
        .set("urlExpiresInS", row.url_expires_in_s)
        .set("imageInMemory", row.image_in_memory)
        .into()
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

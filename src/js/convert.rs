//! Rust values to JS values and back: pictures, reports, stats, events, errors, the config
//! object and uploaded Blobs.

// Most conversions are the page's (`AvatarCache`); a worker-only build uses a few of them.
#![cfg_attr(not(feature = "page"), allow(dead_code))]

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::config::Config;
use crate::error::Error;
use crate::hierarchy::{CacheEvent, Picture, PrefetchReport, Upload};
use crate::js_object::{to_json_value, JsObject};
use crate::layers::body::Body;
use crate::stats::LayerCounters;

use super::glue::new_picture;
#[cfg(feature = "page")]
use super::page::Shared;
use super::types::AvatarCacheConfig;

/// The JS error for `e`: an `Error` named `AvatarCacheError` with `code` (and `field` for bad
/// config) properties.
pub(super) fn js_error(e: &Error) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name("AvatarCacheError");
    let _ = Reflect::set(&error, &"code".into(), &e.code().into());
    if let Error::ConfigInvalid { field, .. } = e {
        let _ = Reflect::set(&error, &"field".into(), &field.into());
    }
    error.into()
}

/// `p` as the JS `Picture`; `render` renders its `placeholder` when the app first reads it.
pub(super) fn picture_to_js(p: &Picture, render: &JsValue) -> JsValue {
    new_picture(
        &p.user_id,
        p.image_id.as_deref(),
        &p.url,
        &crate::js_object::name(p.source.as_str()),
        p.stale,
        p.load_ms,
        p.thumbhash.as_deref(),
        render,
    )
}

pub(super) fn report_to_js(r: &PrefetchReport) -> JsValue {
    JsObject::new()
        .set("requested", r.requested as f64)
        .set("memory", r.memory as f64)
        .set("local", r.local as f64)
        .set("indexeddb", r.indexeddb as f64)
        .set("network", r.network as f64)
        .set("defaulted", r.defaulted as f64)
        .set("apiCalls", r.api_calls as f64)
        .set("downloads", r.downloads as f64)
        .into()
}

fn layer_to_js(c: &LayerCounters, with_errors: bool) -> JsValue {
    JsObject::new()
        .set("hits", c.hits as f64)
        .set("misses", c.misses as f64)
        .set("stale", c.stale as f64)
        .set("p50Ms", c.percentile(0.5))
        .set("p95Ms", c.percentile(0.95))
        .set_some("errors", with_errors.then_some(c.errors as f64))
        .into()
}

/// The origin's storage estimate (`navigator.storage`), as `stats().storage` shows it.
#[derive(Debug, Clone, Copy)]
pub(super) struct StorageOut {
    pub(super) usage: f64,
    pub(super) quota: f64,
    pub(super) persisted: bool,
}

impl StorageOut {
    fn to_js(self) -> JsValue {
        JsObject::new()
            .set("usage", self.usage)
            .set("quota", self.quota)
            .set("persisted", self.persisted)
            .into()
    }
}

pub(super) fn event_to_js(event: &CacheEvent) -> JsValue {
    let obj = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&obj, &k.into(), &v);
    };
    match event {
        CacheEvent::Load {
            user_id,
            source,
            ms,
            bytes,
            stale,
        } => {
            set("type", "load".into());
            set("userId", user_id.into());
            set("source", source.as_str().into());
            set("ms", (*ms).into());
            set("bytes", (*bytes as f64).into());
            set("stale", (*stale).into());
        }
        CacheEvent::Evict { layer, id } => {
            set("type", "evict".into());
            set("layer", layer.as_str().into());
            set("id", id.into());
        }
        CacheEvent::Error { layer, reason } => {
            set("type", "error".into());
            set("layer", layer.as_str().into());
            set("reason", reason.into());
        }
        CacheEvent::Refresh { user_id, changed } => {
            set("type", "refresh".into());
            set("userId", user_id.into());
            set("changed", (*changed).into());
        }
        CacheEvent::Preview {
            user_id,
            image_id,
            ms,
        } => {
            set("type", "preview".into());
            set("userId", user_id.into());
            set("imageId", image_id.into());
            set("ms", (*ms).into());
        }
        CacheEvent::Decision(message) => {
            set("type", "debug".into());
            set("message", message.into());
        }
    }
    obj.into()
}

/// Splits the JS config object into the plain part (validated by [`Config::from_json`]) and its
/// functions (`fetch`, `onEvent`).
pub(super) fn read_config(
    value: Option<AvatarCacheConfig>,
) -> Result<(Config, Option<Function>, Option<Function>), Error> {
    let value: JsValue = value.map(Into::into).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok((Config::from_json(crate::json::Value::Null)?, None, None));
    }
    if !value.is_object() || Array::is_array(&value) {
        return Err(Error::config("config", "must be an object"));
    }
    let take_fn = |name: &str| -> Result<Option<Function>, Error> {
        let f = Reflect::get(&value, &name.into()).unwrap_or(JsValue::UNDEFINED);
        if f.is_undefined() || f.is_null() {
            return Ok(None);
        }
        f.dyn_into::<Function>()
            .map(Some)
            .map_err(|_| Error::config(name, "must be a function"))
    };
    let fetch = take_fn("fetch")?;
    let on_event = take_fn("onEvent")?;
    let plain = Object::assign(&Object::new(), value.unchecked_ref());
    let _ = Reflect::delete_property(&plain, &"fetch".into());
    let _ = Reflect::delete_property(&plain, &"onEvent".into());
    let json = to_json_value(&plain).map_err(|reason| Error::config("config", reason))?;
    Ok((Config::from_json(json)?, fetch, on_event))
}

/// `stats()`: the counters per layer and for the cache, the stores' sizes, the breaker and
/// the recent errors, as one plain object.
#[cfg(feature = "page")]
pub(super) fn stats_to_js(shared: &Shared) -> JsValue {
    let h = &shared.hierarchy;
    let s = h.stats();
    let config = &shared.config;
    let layers = JsObject::new()
        .set("memory", layer_to_js(&s.memory, false))
        .set("local", layer_to_js(&s.local, false))
        .set("indexeddb", layer_to_js(&s.indexeddb, false))
        .set("network", layer_to_js(&s.network, true));
    let idb = h.idb_usage().map_or(JsValue::NULL, |u| {
        JsObject::new()
            .set("bytes", u.bytes as f64)
            .set("entries", u.entries as f64)
            .set("maxBytes", config.idb.max_bytes as f64)
            .set("maxEntries", config.idb.max_entries as f64)
            .into()
    });
    let recent_errors: Array = s
        .recent_errors()
        .map(|e| -> JsValue {
            JsObject::new()
                .set("at", e.at)
                .set("layer", e.layer.as_str())
                .set("reason", e.reason.as_str())
                .into()
        })
        .collect();
    JsObject::new()
        .set("layers", layers)
        .set("hitRate", s.hit_rate())
        .set("gets", s.gets() as f64)
        .set("apiCalls", s.api_calls as f64)
        .set("downloads", s.downloads as f64)
        .set("bytesDownloaded", s.bytes_downloaded as f64)
        .set("refreshes", s.refreshes as f64)
        .set("evictions", s.evictions as f64)
        .set("idb", idb)
        .set("localBytes", h.local_bytes() as f64)
        .set("objectUrls", h.object_urls().0 as f64)
        .set("inFlight", h.in_flight() as f64)
        .set("breaker", shared.backend.breaker_state().as_str())
        .set("recentErrors", recent_errors)
        .set_some("storage", shared.storage.borrow().map(StorageOut::to_js))
        .into()
}

/// Reads an uploaded Blob and checks it once ([`Upload::check`]); the cache keeps its bytes,
/// typed with the sniffed MIME type (no second Blob is made).
pub(super) async fn checked_upload(blob: &Blob, config: &Config) -> Result<Upload<Body>, Error> {
    Upload::<Body>::check_size(blob.size() as u64, config)?;
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| Error::InvalidArgument {
            name: "image",
            reason: Error::from_js(&e).to_string(),
        })?;
    let array = Uint8Array::new(&buffer);
    let bytes = array.to_vec();
    let declared = blob.type_();
    let declared = (!declared.is_empty()).then_some(declared.as_str());
    Upload::check(declared, &bytes, config, |mime| {
        Ok(Body::bytes(array, mime))
    })
}

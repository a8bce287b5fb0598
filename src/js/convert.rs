//! Rust values to JS values and back: pictures, reports, stats, events, errors, the config
//! object and uploaded Blobs.

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::config::Config;
use crate::error::Error;
use crate::hierarchy::{CacheEvent, Picture, PrefetchReport, Upload};
use crate::stats::LayerCounters;

use super::types::AvatarCacheConfig;
use super::Shared;

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

pub(super) fn to_js<T: Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value.serialize(&serializer).unwrap_or(JsValue::UNDEFINED)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PictureOut<'a> {
    user_id: &'a str,
    image_id: Option<&'a str>,
    url: &'a str,
    source: &'static str,
    stale: bool,
    load_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    placeholder: Option<&'a str>,
}

pub(super) fn picture_to_js(p: &Picture) -> JsValue {
    to_js(&PictureOut {
        user_id: &p.user_id,
        image_id: p.image_id.as_deref(),
        url: &p.url,
        source: p.source.as_str(),
        stale: p.stale,
        load_ms: p.load_ms,
        placeholder: p.placeholder.as_deref(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReportOut {
    requested: usize,
    memory: usize,
    local: usize,
    indexeddb: usize,
    network: usize,
    defaulted: usize,
    api_calls: u64,
    downloads: u64,
}

impl From<PrefetchReport> for ReportOut {
    fn from(r: PrefetchReport) -> Self {
        ReportOut {
            requested: r.requested,
            memory: r.memory,
            local: r.local,
            indexeddb: r.indexeddb,
            network: r.network,
            defaulted: r.defaulted,
            api_calls: r.api_calls,
            downloads: r.downloads,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LayerOut {
    hits: u64,
    misses: u64,
    stale: u64,
    p50_ms: f64,
    p95_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<u64>,
}

pub(super) fn layer_out(c: &LayerCounters, with_errors: bool) -> LayerOut {
    LayerOut {
        hits: c.hits,
        misses: c.misses,
        stale: c.stale,
        p50_ms: c.percentile(0.5),
        p95_ms: c.percentile(0.95),
        errors: with_errors.then_some(c.errors),
    }
}

#[derive(Serialize)]
pub(super) struct LayersOut {
    memory: LayerOut,
    local: LayerOut,
    indexeddb: LayerOut,
    network: LayerOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdbOut {
    bytes: u64,
    entries: u64,
    max_bytes: u64,
    max_entries: usize,
}

#[derive(Serialize)]
pub(super) struct ErrorOut {
    at: f64,
    layer: &'static str,
    reason: String,
}

#[derive(Serialize, Clone, Copy)]
pub(super) struct StorageOut {
    pub(super) usage: f64,
    pub(super) quota: f64,
    pub(super) persisted: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatsOut {
    pub(super) layers: LayersOut,
    pub(super) hit_rate: f64,
    pub(super) gets: u64,
    pub(super) api_calls: u64,
    pub(super) downloads: u64,
    pub(super) bytes_downloaded: u64,
    pub(super) refreshes: u64,
    pub(super) evictions: u64,
    pub(super) idb: Option<IdbOut>,
    pub(super) local_bytes: u64,
    pub(super) object_urls: usize,
    pub(super) in_flight: usize,
    pub(super) breaker: &'static str,
    pub(super) recent_errors: Vec<ErrorOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) storage: Option<StorageOut>,
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
        return Ok((Config::from_json(serde_json::Value::Null)?, None, None));
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
    let json: serde_json::Value = serde_wasm_bindgen::from_value(plain.into())
        .map_err(|e| Error::config("config", e.to_string()))?;
    Ok((Config::from_json(json)?, fetch, on_event))
}

pub(super) fn stats_out(shared: &Shared) -> StatsOut {
    let h = &shared.hierarchy;
    let s = h.stats();
    let config = &shared.config;
    StatsOut {
        layers: LayersOut {
            memory: layer_out(&s.memory, false),
            local: layer_out(&s.local, false),
            indexeddb: layer_out(&s.indexeddb, false),
            network: layer_out(&s.network, true),
        },
        hit_rate: s.hit_rate(),
        gets: s.gets(),
        api_calls: s.api_calls,
        downloads: s.downloads,
        bytes_downloaded: s.bytes_downloaded,
        refreshes: s.refreshes,
        evictions: s.evictions,
        idb: h.idb_usage().map(|u| IdbOut {
            bytes: u.bytes,
            entries: u.entries,
            max_bytes: config.idb.max_bytes,
            max_entries: config.idb.max_entries,
        }),
        local_bytes: h.local_bytes(),
        object_urls: h.object_urls().0,
        in_flight: h.in_flight(),
        breaker: shared.backend.breaker_state().as_str(),
        recent_errors: s
            .recent_errors()
            .map(|e| ErrorOut {
                at: e.at,
                layer: e.layer.as_str(),
                reason: e.reason.clone(),
            })
            .collect(),
        storage: *shared.storage.borrow(),
    }
}

/// Reads an uploaded Blob and checks it once ([`Upload::check`]); the stored Blob is typed
/// with the sniffed MIME type.
pub(super) async fn checked_upload(blob: &Blob, config: &Config) -> Result<Upload<Blob>, Error> {
    Upload::<Blob>::check_size(blob.size() as u64, config)?;
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|e| Error::InvalidArgument {
            name: "image",
            reason: format!("{e:?}"),
        })?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    let declared = blob.type_();
    let declared = (!declared.is_empty()).then_some(declared.as_str());
    Upload::check(declared, &bytes, config, |mime| {
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        Blob::new_with_buffer_source_sequence_and_options(&Array::of1(&buffer), &options).map_err(
            |e| Error::InvalidArgument {
                name: "image",
                reason: format!("{e:?}"),
            },
        )
    })
}

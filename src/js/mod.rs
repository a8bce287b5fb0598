//! The `#[wasm_bindgen]` surface: the `AvatarCache` class (`page`), the `AvatarWorker` class
//! (`worker`) and their TypeScript types.
//!
//! The only module that converts between Rust and JS values. Everything below it speaks Rust
//! types; everything above it is the contract of DESIGN.md §3. `page` holds the page's class,
//! `worker` the service worker's, `types` the TypeScript declarations, `convert` the value
//! conversions, `devtools` the console helpers, `timeline` the Performance panel entries and `glue`
//! the JS those call.
//! Each class is behind the cargo feature of the same name, so that each release module
//! carries only its own (scripts/build-pkg.sh).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::clock::{Clock, SystemRandom};
use crate::config::Config;
use crate::error::Error;
use crate::layers::body::Body;
use crate::layers::idb::IdbImageStore;
use crate::layers::network::FetchBackend;
use crate::layers::resilient::ResilientBackend;
use crate::layers::runtime::BrowserRuntime;
use crate::policy::presign::origin_of;
use crate::vocabulary::Layer;

mod convert;
#[cfg(feature = "page")]
mod devtools;
mod glue;
pub(crate) use glue::{data_url, drop_data_url, local_texts, shown_url};
#[cfg(feature = "page")]
mod page;
#[cfg(feature = "page")]
mod timeline;
mod types;
#[cfg(feature = "worker")]
mod worker;

#[cfg(feature = "page")]
pub use page::AvatarCache;
pub use types::AvatarCacheConfig;
#[cfg(feature = "worker")]
pub use worker::AvatarWorker;

/// Opens the IndexedDB image store unless disabled; a store that does not open is left out
/// (the cache works without it) and its error noted in `errors`. For pages and the worker.
pub(crate) async fn open_images(
    config: &Config,
    clock: Rc<dyn Clock>,
    errors: &mut Vec<(Layer, Error)>,
) -> Option<Rc<IdbImageStore>> {
    if !config.idb.enabled {
        return None;
    }
    match IdbImageStore::open(config, clock).await {
        Ok(store) => Some(Rc::new(store)),
        Err(e) => {
            errors.push((Layer::IndexedDb, e));
            None
        }
    }
}

/// The network layer: `fetch` (the configured one, else the global) behind retry, back-off
/// and a breaker per origin. For pages and the worker.
pub(crate) fn network(
    config: &Rc<Config>,
    fetch: Option<Function>,
    runtime: Rc<BrowserRuntime>,
    clock: Rc<dyn Clock>,
) -> Rc<ResilientBackend<FetchBackend, Body>> {
    Rc::new(ResilientBackend::new(
        FetchBackend::new(config.clone(), fetch),
        &config.retry,
        &config.breaker,
        runtime,
        clock,
        Rc::new(SystemRandom),
        origin_of(&config.api_base).to_string(),
    ))
}

/// A JS promise of `work`. Every exported async method goes through this one instantiation of
/// `future_to_promise` (each method's body is its own boxed future), which keeps the `.wasm`
/// from carrying one copy of the promise plumbing per method.
pub(crate) fn promise(work: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let work: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(work);
    wasm_bindgen_futures::future_to_promise(work)
}

/// The crate version, for the demo page and diagnostics.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

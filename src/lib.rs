//! # avatar-cache
//!
//! Profile pictures that appear instantly: a cache for the browser, compiled to WebAssembly,
//! that keeps every picture a user has seen in a hierarchy of stores and goes to the network
//! only when it must.
//!
//! ```text
//! peek ─▶ memory (30 min, LRU) ─▶ localStorage (45 min) ─▶ IndexedDB (7 days, 50 MiB LRU) ─▶ network
//! ```
//!
//! ## Quick start (JavaScript)
//!
//! ```js
//! import { AvatarCache } from "avatar-cache";
//!
//! const cache = await AvatarCache.open({ apiBase: "/images" });
//! const pic = cache.peek("42") ?? (await cache.get("42"));
//! img.src = pic.url;                       // an object URL owned by the cache
//! cache.subscribe((change) => rerender(change)); // { userId } or { all: true }
//! await cache.setPicture("42", newImageId); // after an upload: every tab updates
//! await cache.clear();                      // on logout: every layer, every tab
//! ```
//!
//! `get` never rejects for storage or network trouble: it falls back to a stale picture, then to
//! the default picture. Only bad configuration and programmer errors (an empty user id) throw.
//!
//! ## Module tree
//!
//! - [`vocabulary`]: the words every module shares (`Layer`, `Source`, `Picture`, `Change`,
//!   events); a leaf, so nothing imports in a cycle.
//! - [`config`], [`key`], [`clock`], [`error`], [`record`]: configuration, keys, time, the one
//!   error type, and records read back from storage.
//! - [`policy`]: pure decisions (TTL, LRU, back-off, breaker, presigned-URL expiry, sniffing).
//! - [`hierarchy`]: lookup, promotion, write-through, stale-while-revalidate, de-duplication,
//!   as small components that own their state.
//! - [`layers`]: the traits the hierarchy calls, with browser adapters.
//! - [`stats`]: counters and latency histograms per layer.
//! - `sync` (browser): cross-tab messages; `js` (browser): the exported `AvatarCache` class.

#![warn(missing_docs)]
// The module docs link the private components each module is made of (the hierarchy's table of
// them, the layers' helpers): they are for the engineers who work on the crate, who read them
// with `cargo doc --document-private-items`, where every such link resolves.
#![allow(rustdoc::private_intra_doc_links)]

pub mod clock;
pub mod collections;
pub mod config;
pub mod error;
pub mod hierarchy;
pub mod json;
pub mod key;
pub mod layers;
pub mod policy;
pub mod record;
pub mod sort;
pub mod stats;
pub mod sw;
pub mod vocabulary;

#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod js_object;
#[cfg(target_arch = "wasm32")]
pub mod sync;

/// The allocator of the `.wasm`: talc instead of the default dlmalloc, for a smaller module.
/// A page's allocations are small and short-lived (records, ids, rows), so its speed matters
/// little; the tests run under it in every engine.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(any(test, feature = "testing"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use error::{Error, Result};
pub use hierarchy::Hierarchy;
pub use vocabulary::{Layer, Picture, Source};

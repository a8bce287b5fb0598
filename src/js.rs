//! The `#[wasm_bindgen]` surface: the only place that converts between Rust and JS values.
use wasm_bindgen::prelude::*;

/// The crate version, for the demo page and diagnostics.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

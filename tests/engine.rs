//! Which browser engine runs the suite: the user agent is printed once so the test output shows
//! Chromium, Firefox and WebKit each ran (scripts/test.sh greps for it). Storage itself is
//! exercised by the layer suites (`local_storage.rs`, `indexeddb.rs`), through the cache's own
//! raw web-sys adapters.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn prints_the_engine_user_agent() {
    let ua = web_sys::window().unwrap().navigator().user_agent().unwrap();
    console_log!("ENGINE USER AGENT: {ua}");
    assert!(!ua.is_empty());
}

//! The browser's event loop as a [`Runtime`]: `spawn_local` for background work, `setTimeout`
//! for sleeping. Works in windows and workers (it reads `setTimeout` from the global object).

use futures::future::FutureExt;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{LocalFuture, Runtime};
use crate::clock::Millis;

/// The browser runtime.
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserRuntime;

impl Runtime for BrowserRuntime {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn sleep(&self, ms: Millis) -> LocalFuture<'static, ()> {
        sleep(ms).boxed_local()
    }
}

/// Resolves after `ms` milliseconds (`setTimeout`); resolves at once if there is no timer.
pub async fn sleep(ms: Millis) {
    let promise = Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = Reflect::get(&global, &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        match set_timeout {
            Some(set_timeout) => {
                if set_timeout
                    .call2(&global, &resolve, &JsValue::from_f64(ms.max(0.0)))
                    .is_err()
                {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            None => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

//! The browser's event loop as a [`Runtime`]: `spawn_local` for background work, and the one
//! `setTimeout` future of the crate ([`sleep`]), which the IndexedDB open timeout and watchdog
//! and the network's request deadline use too. Works in windows and workers (it reads
//! `setTimeout` from the global object).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

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

/// Resolves after `ms` milliseconds (`setTimeout` of the page or worker). Resolves at once when
/// the scope has no timer (see [`Sleep::is_timed`]). Dropping it clears the timer.
pub fn sleep(ms: Millis) -> Sleep {
    let global = js_sys::global();
    let timer = |name: &str| {
        Reflect::get(&global, &JsValue::from_str(name))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    };
    // Browsers treat delays above 2^31-1 ms as 0.
    let delay = JsValue::from_f64(ms.clamp(0.0, i32::MAX as f64));
    let mut handle = None;
    let mut resolve_now = None;
    let promise = Promise::new(&mut |resolve, _reject| {
        handle = timer("setTimeout").and_then(|f| f.call2(&global, &resolve, &delay).ok());
        if handle.is_none() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        } else {
            resolve_now = Some(resolve);
        }
    });
    Sleep {
        future: JsFuture::from(promise),
        timer: handle.zip(timer("clearTimeout")),
        resolve: resolve_now,
    }
}

/// A `setTimeout` as a future. Dropping it clears the timer and settles its promise, so nothing
/// waiting on it stays alive.
pub struct Sleep {
    future: JsFuture,
    /// The timer's handle and `clearTimeout`; `None` when the scope has no timer.
    timer: Option<(JsValue, Function)>,
    resolve: Option<Function>,
}

impl Sleep {
    /// Whether a timer is running: `false` when the scope has no `setTimeout` (the sleep then
    /// resolves at once, so a caller that bounds a wait by it may prefer not to bound it).
    pub fn is_timed(&self) -> bool {
        self.resolve.is_some()
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.future).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((handle, clear)) = &self.timer {
            let _ = clear.call1(&js_sys::global(), handle);
        }
        if let Some(resolve) = &self.resolve {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

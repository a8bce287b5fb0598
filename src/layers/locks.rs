//! The Web Locks API (`navigator.locks`) as [`Locks`]: exclusive locks shared by every tab and
//! worker of the origin. Reached through `Reflect` (web-sys marks the API unstable). Where it is
//! missing, [`WebLocks::new`] gives `None` and each tab fetches on its own.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::FutureExt;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::{LocalFuture, Locks};

/// `navigator.locks`.
pub struct WebLocks {
    manager: JsValue,
    request: Function,
}

impl WebLocks {
    /// The origin's lock manager, if this browser has one.
    pub fn new() -> Option<WebLocks> {
        let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let manager = Reflect::get(&navigator, &"locks".into())
            .ok()
            .filter(|m| m.is_object())?;
        let request = Reflect::get(&manager, &"request".into())
            .ok()?
            .dyn_into::<Function>()
            .ok()?;
        Some(WebLocks { manager, request })
    }
}

impl Locks for WebLocks {
    fn exclusive(&self, name: String, task: LocalFuture<'static, ()>) -> LocalFuture<'static, ()> {
        let task = Rc::new(RefCell::new(Some(task)));
        let for_lock = task.clone();
        // The lock is held until the promise the callback returns settles.
        let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
            let task = for_lock.borrow_mut().take();
            future_to_promise(async move {
                if let Some(task) = task {
                    task.await;
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        let held = self
            .request
            .call2(&self.manager, &JsValue::from_str(&name), &callback);
        async move {
            let granted = match held {
                Ok(promise) => JsFuture::from(Promise::resolve(&promise)).await.is_ok(),
                Err(_) => false,
            };
            if !granted {
                // The lock manager refused, by throwing or by rejecting its promise before the
                // callback ran (sandboxed frames, some privacy modes, an opaque origin): run
                // unlocked, which only costs a duplicate fetch. A task that already ran under
                // the lock was taken and is not run again.
                let task = task.borrow_mut().take();
                if let Some(task) = task {
                    task.await;
                }
            }
        }
        .boxed_local()
    }
}

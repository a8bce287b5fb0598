//! Futures over IndexedDB events: a request's result, a cursor's rows, a transaction's commit and
//! an open request. Each sets its `on…` handlers when created and removes them when dropped, so a
//! dropped future never leaves a handler pointing at freed Rust memory (the open request is the
//! one exception, see [`OpenFuture`]).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    IdbCursorWithValue, IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction,
    IdbVersionChangeEvent,
};

use super::idb_error;
use super::schema::upgrade;
use crate::error::{Error, Result};

/// A JS event handler owned by Rust.
type EventHandler = Closure<dyn FnMut(JsValue)>;

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    settled: bool,
}

type SharedSlot<T> = Rc<RefCell<Slot<T>>>;

fn slot<T>() -> SharedSlot<T> {
    Rc::new(RefCell::new(Slot {
        value: None,
        waker: None,
        settled: false,
    }))
}

/// Stores the first outcome and wakes the waiting task; later outcomes are handed back.
fn settle<T>(slot: &SharedSlot<T>, value: T) -> Option<T> {
    let waker = {
        let mut s = slot.borrow_mut();
        if s.settled {
            return Some(value);
        }
        s.settled = true;
        s.value = Some(value);
        s.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
    None
}

fn poll_slot<T>(slot: &SharedSlot<T>, cx: &mut Context<'_>) -> Poll<T> {
    let mut s = slot.borrow_mut();
    match s.value.take() {
        Some(value) => Poll::Ready(value),
        None => {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

fn request_error(request: &IdbRequest) -> Error {
    match request.error() {
        Ok(Some(e)) => idb_error(e.into()),
        Ok(None) => Error::Js {
            name: "UnknownError".into(),
            message: "the request failed without an error".into(),
        },
        Err(e) => idb_error(e),
    }
}

/// A value settled by the first of two IndexedDB events (success or error, complete or abort).
/// The handlers stay alive as long as the future and are removed when it is dropped.
pub(super) struct EventFuture<T> {
    slot: SharedSlot<Result<T>>,
    _handlers: [Closure<dyn FnMut()>; 2],
    detach: Box<dyn Fn()>,
}

impl<T: 'static> EventFuture<T> {
    /// Runs `first` and `second` on their events; `attach` installs the two handlers, `detach`
    /// removes them.
    fn on_events(
        mut first: impl FnMut(&SharedSlot<Result<T>>) + 'static,
        mut second: impl FnMut(&SharedSlot<Result<T>>) + 'static,
        attach: impl FnOnce(&js_sys::Function, &js_sys::Function),
        detach: impl Fn() + 'static,
    ) -> Self {
        let slot = slot();
        let first = {
            let slot = slot.clone();
            Closure::<dyn FnMut()>::new(move || first(&slot))
        };
        let second = {
            let slot = slot.clone();
            Closure::<dyn FnMut()>::new(move || second(&slot))
        };
        attach(
            first.as_ref().unchecked_ref(),
            second.as_ref().unchecked_ref(),
        );
        EventFuture {
            slot,
            _handlers: [first, second],
            detach: Box::new(detach),
        }
    }

    /// A request: `on_success` settles (or, for a cursor, keeps going); an error settles with
    /// the request's error.
    fn request(
        request: IdbRequest,
        mut on_success: impl FnMut(&IdbRequest, &SharedSlot<Result<T>>) + 'static,
    ) -> Self {
        let (for_success, for_error, for_detach) =
            (request.clone(), request.clone(), request.clone());
        EventFuture::on_events(
            move |slot| on_success(&for_success, slot),
            move |slot| {
                settle(slot, Err(request_error(&for_error)));
            },
            |success, error| {
                request.set_onsuccess(Some(success));
                request.set_onerror(Some(error));
            },
            move || {
                for_detach.set_onsuccess(None);
                for_detach.set_onerror(None);
            },
        )
    }
}

impl<T> Future for EventFuture<T> {
    type Output = Result<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_slot(&self.slot, cx)
    }
}

impl<T> Drop for EventFuture<T> {
    fn drop(&mut self) {
        (self.detach)();
    }
}

/// The result of one request.
pub(super) type RequestFuture = EventFuture<JsValue>;

impl RequestFuture {
    pub(super) fn new(request: IdbRequest) -> Self {
        EventFuture::request(request, |request, slot| {
            settle(slot, request.result().map_err(idb_error));
        })
    }
}

/// A request whose result is handed to `on_result` inside its success event, while the
/// transaction is still active: the handler may issue more requests on it. Settles once the
/// handler has run (or with the request's error); keep it until the transaction completes.
pub(super) type HandledRequest = EventFuture<()>;

impl HandledRequest {
    pub(super) fn handled(
        request: IdbRequest,
        mut on_result: impl FnMut(JsValue) + 'static,
    ) -> Self {
        EventFuture::request(request, move |request, slot| match request.result() {
            Ok(value) => {
                on_result(value);
                settle(slot, Ok(()));
            }
            Err(e) => {
                settle(slot, Err(idb_error(e)));
            }
        })
    }
}

/// Every `(key, value)` of a cursor, in key order.
pub(super) type CursorFuture = EventFuture<Vec<(JsValue, JsValue)>>;

impl CursorFuture {
    pub(super) fn new(request: IdbRequest) -> Self {
        let rows = Rc::new(RefCell::new(Vec::new()));
        EventFuture::request(request, move |request, slot| {
            let cursor = match request.result() {
                Ok(c) if c.is_null() || c.is_undefined() => {
                    settle(slot, Ok(rows.take()));
                    return;
                }
                Ok(c) => c.unchecked_into::<IdbCursorWithValue>(),
                Err(e) => {
                    settle(slot, Err(idb_error(e)));
                    return;
                }
            };
            let row = cursor
                .key()
                .and_then(|k| cursor.value().map(|v| (k, v)))
                .and_then(|row| cursor.continue_().map(|()| row));
            match row {
                Ok(row) => rows.borrow_mut().push(row),
                Err(e) => {
                    settle(slot, Err(idb_error(e)));
                }
            }
        })
    }
}

/// Resolves when a transaction commits (`Ok`) or aborts (`Err` with the transaction's error,
/// e.g. `QuotaExceededError` at commit, as [`Error::QuotaExceeded`]).
pub(super) type TxFuture = EventFuture<()>;

impl TxFuture {
    pub(super) fn new(tx: &IdbTransaction) -> Self {
        let (for_abort, for_attach, for_detach) = (tx.clone(), tx.clone(), tx.clone());
        EventFuture::on_events(
            |slot| {
                settle(slot, Ok(()));
            },
            move |slot| {
                let error = match for_abort.error() {
                    Some(e) => idb_error(e.into()),
                    None => Error::Js {
                        name: "AbortError".into(),
                        message: "the transaction was aborted".into(),
                    },
                };
                settle(slot, Err(error));
            },
            |complete, abort| {
                for_attach.set_oncomplete(Some(complete));
                for_attach.set_onabort(Some(abort));
            },
            move || {
                for_detach.set_oncomplete(None);
                for_detach.set_onabort(None);
            },
        )
    }
}

/// An open request. Unlike the other futures it may be dropped before it settles (the open
/// timed out): its handlers then stay installed, and a connection that opens later is closed at
/// once so that it blocks no other tab's upgrade or delete.
pub(super) struct OpenFuture {
    request: IdbOpenDbRequest,
    slot: SharedSlot<Result<IdbDatabase>>,
    abandoned: Rc<Cell<bool>>,
    handlers: Option<[EventHandler; 3]>,
}

impl OpenFuture {
    pub(super) fn new(request: IdbOpenDbRequest) -> Self {
        let slot = slot();
        let abandoned = Rc::new(Cell::new(false));
        let on_upgrade = {
            let (slot, request, abandoned) = (slot.clone(), request.clone(), abandoned.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let Some(tx) = request.transaction() else {
                    return;
                };
                if abandoned.get() {
                    // Nobody waits for this connection any more: leave the schema as it was.
                    let _ = tx.abort();
                    return;
                }
                let old_version = event
                    .dyn_into::<IdbVersionChangeEvent>()
                    .map(|e| e.old_version())
                    .unwrap_or(0.0) as u32;
                let upgraded = request
                    .result()
                    .map_err(idb_error)
                    .and_then(|db| upgrade(&db.unchecked_into(), &tx, old_version));
                if let Err(e) = upgraded {
                    let _ = tx.abort();
                    settle(&slot, Err(e));
                }
            })
        };
        let on_success = {
            let (slot, request, abandoned) = (slot.clone(), request.clone(), abandoned.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                let Ok(db) = request.result() else {
                    settle(&slot, Err(request_error(&request)));
                    return;
                };
                let db: IdbDatabase = db.unchecked_into();
                if abandoned.get() {
                    db.close();
                } else if let Some(Ok(late)) = settle(&slot, Ok(db)) {
                    late.close();
                }
            })
        };
        let on_error = {
            let (slot, request) = (slot.clone(), request.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                settle(&slot, Err(request_error(&request)));
            })
        };
        request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        request.set_onsuccess(Some(on_success.as_ref().unchecked_ref()));
        request.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        OpenFuture {
            request,
            slot,
            abandoned,
            handlers: Some([on_upgrade, on_success, on_error]),
        }
    }
}

impl Future for OpenFuture {
    type Output = Result<IdbDatabase>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        poll_slot(&self.slot, cx)
    }
}

impl Drop for OpenFuture {
    fn drop(&mut self) {
        let (settled, unclaimed) = {
            let mut s = self.slot.borrow_mut();
            (s.settled, s.value.take())
        };
        if let Some(Ok(db)) = unclaimed {
            // Opened just as the wait was given up.
            db.close();
        }
        if settled {
            self.request.set_onupgradeneeded(None);
            self.request.set_onsuccess(None);
            self.request.set_onerror(None);
        } else if let Some(handlers) = self.handlers.take() {
            // Still pending (blocked): the handlers must outlive this future to close the late
            // connection. Three small closures per abandoned open are leaked on purpose.
            self.abandoned.set(true);
            for handler in handlers {
                handler.forget();
            }
        }
    }
}

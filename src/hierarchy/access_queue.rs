//! Uses of stored images, batched: every hit moves its image up the IndexedDB LRU, but a list
//! of 100 hits costs one readwrite transaction a moment later ([`TOUCH_FLUSH_MS`]), not 100.

use crate::collections::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use futures::FutureExt;

use crate::clock::Millis;
use crate::layers::{ImageStore, Runtime};
use crate::vocabulary::Layer;

use super::telemetry::Telemetry;

/// How long uses are collected before their last-access times are written to IndexedDB in one
/// transaction.
pub const TOUCH_FLUSH_MS: Millis = 2_000.0;

/// The last-access times waiting to be written.
pub(crate) struct AccessQueue<I> {
    images: Rc<dyn ImageStore<I>>,
    runtime: Rc<dyn Runtime>,
    telemetry: Rc<Telemetry>,
    pending: RefCell<HashMap<String, Millis>>,
    flush_scheduled: Cell<bool>,
    /// Whoever waits for the pending uses to be written ([`AccessQueue::flushed`]).
    waiting: RefCell<Vec<oneshot::Sender<()>>>,
    /// Whoever waits for the write under way (its uses are no longer pending).
    writing: RefCell<Option<Vec<oneshot::Sender<()>>>>,
}

impl<I: 'static> AccessQueue<I> {
    /// A queue writing to `images`.
    pub fn new(
        images: Rc<dyn ImageStore<I>>,
        runtime: Rc<dyn Runtime>,
        telemetry: Rc<Telemetry>,
    ) -> Rc<Self> {
        Rc::new(AccessQueue {
            images,
            runtime,
            telemetry,
            pending: RefCell::new(HashMap::default()),
            flush_scheduled: Cell::new(false),
            waiting: RefCell::default(),
            writing: RefCell::default(),
        })
    }

    /// Notes that `image_id` was used at `now`; written with the others shortly after.
    pub fn used(self: &Rc<Self>, image_id: &str, now: Millis) {
        if !self.images.is_available() {
            return;
        }
        self.images.used(image_id, now);
        {
            // A hot path (every memory hit): no allocation for an image already pending.
            let mut pending = self.pending.borrow_mut();
            match pending.get_mut(image_id) {
                Some(at) => *at = now,
                None => {
                    pending.insert(image_id.to_string(), now);
                }
            }
        }
        if self.flush_scheduled.replace(true) {
            return;
        }
        let this: Weak<Self> = Rc::downgrade(self);
        let sleep = self.runtime.sleep(TOUCH_FLUSH_MS);
        self.runtime.spawn(
            async move {
                sleep.await;
                if let Some(this) = this.upgrade() {
                    this.flush().await;
                }
            }
            .boxed_local(),
        );
    }

    /// Writes the pending uses now, in one transaction.
    pub async fn flush(&self) {
        let uses: Vec<(String, Millis)> = self.pending.borrow_mut().drain().collect();
        self.flush_scheduled.set(false);
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        if uses.is_empty() {
            return release(waiting);
        }
        self.writing
            .borrow_mut()
            .get_or_insert_with(Vec::new)
            .extend(waiting);
        if let Err(e) = self.images.touch(&uses).await {
            self.telemetry.error(Layer::IndexedDb, &e);
        }
        // (Two writes at once, a flush asked for during the timed one, release each other's
        // waiters at the first end: close enough for keeping a worker alive.)
        release(self.writing.borrow_mut().take().unwrap_or_default());
    }

    /// Resolves once the uses noted so far are written: at the flush a moment after them
    /// ([`TOUCH_FLUSH_MS`]), at once when none is waiting to be written. A service worker
    /// keeps itself alive until then, so a use is not lost when the browser stops it.
    pub async fn flushed(&self) {
        let (done, wait) = oneshot::channel();
        if !self.pending.borrow().is_empty() && self.flush_scheduled.get() {
            self.waiting.borrow_mut().push(done);
        } else if let Some(writing) = self.writing.borrow_mut().as_mut() {
            // Nothing pending, but the uses taken by the write under way have not landed yet.
            writing.push(done);
        } else {
            return;
        }
        // A dropped sender (the queue itself dropped) also ends the wait.
        let _ = wait.await;
    }

    /// Drops the pending uses (after a clear: their images are gone); whoever waits for them
    /// is released.
    pub fn forget_all(&self) {
        self.pending.borrow_mut().clear();
        release(std::mem::take(&mut *self.waiting.borrow_mut()));
    }
}

/// Ends the waits of `waiting`.
fn release(waiting: Vec<oneshot::Sender<()>>) {
    for done in waiting {
        let _ = done.send(());
    }
}

//! User requests made close together go out as one batch call (with a batch endpoint).
//!
//! The first request of a turn opens a window ([`BATCH_WINDOW_MS`], a `setTimeout(0)`: the
//! components of one render pass share a call); when it closes, the queued users go out as one
//! plain user call (a single user) or batch calls of up to `batch.maxIds` users (a service
//! worker sets a longer window, which also restarts while requests keep joining). Loads still
//! acquiring their cross-tab lock are waited for while they keep arriving (up to
//! [`BATCH_MAX_WAIT_MS`] without one), since they are about to ask too.

use crate::collections::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::FutureExt;

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::layers::{Backend, RemotePicture, Runtime};

use super::slots::Slots;
use super::telemetry::Telemetry;

/// How long user requests wait for company before going out as one batch call (only with a
/// batch endpoint). A `setTimeout(0)`: the components of one render pass share a call.
pub const BATCH_WINDOW_MS: Millis = 0.0;

/// The longest a batch waits for the next load still acquiring its cross-tab lock. Locks are
/// granted one event-loop turn at a time, and a page busy decoding the images of a list can
/// leave tens of milliseconds between two grants: at 50 ms, stragglers went out as single calls.
pub const BATCH_MAX_WAIT_MS: Millis = 200.0;

type Answer = oneshot::Sender<Result<RemotePicture>>;

/// Queues user requests and sends them together.
pub(crate) struct Batcher<I> {
    config: Rc<Config>,
    backend: Rc<dyn Backend<I>>,
    runtime: Rc<dyn Runtime>,
    clock: Rc<dyn Clock>,
    slots: Rc<Slots>,
    telemetry: Rc<Telemetry>,
    queue: RefCell<Vec<(String, Answer)>>,
    /// Loads that may still ask the backend (waiting for their cross-tab lock).
    heading: Cell<usize>,
    /// When a heading load last arrived.
    last_arrival: Cell<Millis>,
    /// How long the first request of a batch waits for company ([`BATCH_WINDOW_MS`] unless set);
    /// with a window, the batch also waits until no request has joined it for that long.
    window: Cell<Millis>,
    /// When the last request joined the queue.
    last_queued: Cell<Millis>,
    /// Bumped by [`Batcher::end_session`]: requests of an older session still waiting for a
    /// network slot are not sent.
    session: Cell<u64>,
}

impl<I: 'static> Batcher<I> {
    /// A batcher sending through `backend`, at most `slots` requests at once.
    pub fn new(
        config: Rc<Config>,
        backend: Rc<dyn Backend<I>>,
        runtime: Rc<dyn Runtime>,
        clock: Rc<dyn Clock>,
        slots: Rc<Slots>,
        telemetry: Rc<Telemetry>,
    ) -> Rc<Self> {
        Rc::new(Batcher {
            config,
            backend,
            runtime,
            clock,
            slots,
            telemetry,
            queue: RefCell::new(Vec::new()),
            heading: Cell::new(0),
            last_arrival: Cell::new(0.0),
            window: Cell::new(BATCH_WINDOW_MS),
            last_queued: Cell::new(0.0),
            session: Cell::new(0),
        })
    }

    /// Requests waiting for the next batch.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queue.borrow().len()
    }

    /// Ends the session (a `clear()` or `close()`): requests still queued are answered
    /// [`Error::Closed`], and those waiting for a network slot are not sent (their answers
    /// would be dropped).
    pub fn end_session(&self) {
        self.session.set(self.session.get() + 1);
        let queued: Vec<(String, Answer)> = self.queue.borrow_mut().drain(..).collect();
        for (_, answer) in queued {
            let _ = answer.send(Err(Error::Closed));
        }
    }

    /// Sets how long the first request of a batch waits for company, and how long the batch
    /// then waits after each request that joins it (never more than [`BATCH_MAX_WAIT_MS`] in
    /// all): a service worker hears a page's `<img>`s as separate fetch events, spread out.
    pub fn set_window(&self, ms: Millis) {
        self.window.set(ms.max(0.0));
    }

    /// A load that may soon ask about a user: a batch about to go out waits for it (up to
    /// [`BATCH_MAX_WAIT_MS`]) until [`Batcher::arrived`].
    pub fn heading(&self) {
        self.heading.set(self.heading.get() + 1);
    }

    /// The load announced by [`Batcher::heading`] knows whether it will ask.
    pub fn arrived(&self) {
        self.heading.set(self.heading.get().saturating_sub(1));
        self.last_arrival.set(self.clock.now_ms());
    }

    /// Asks the backend about one user: alone without a batch endpoint, else together with
    /// every other request made before the window closes.
    pub async fn fetch_user(self: &Rc<Self>, user_id: &str) -> Result<RemotePicture> {
        if self.config.batch_endpoint.is_none() {
            let session = self.session.get();
            let _slot = self.slots.acquire().await;
            if self.session.get() != session {
                return Err(Error::Closed);
            }
            self.telemetry.api_call();
            return self.backend.fetch_user(user_id).await;
        }
        let (answer, wait) = oneshot::channel();
        let first = {
            let mut queue = self.queue.borrow_mut();
            queue.push((user_id.to_string(), answer));
            self.last_queued.set(self.clock.now_ms());
            queue.len() == 1
        };
        if first {
            let this = self.clone();
            let window = self.runtime.sleep(self.window.get());
            let session = self.session.get();
            self.runtime.spawn(
                async move {
                    window.await;
                    // Waits while loads keep arriving: a busy page grants locks slowly, but a
                    // load that makes no progress for BATCH_MAX_WAIT_MS is not waited for. With
                    // a window, waits too until the queue has been quiet for that long.
                    let opened = this.clock.now_ms();
                    let window = this.window.get();
                    loop {
                        let now = this.clock.now_ms();
                        let locking = this.heading.get() > 0
                            && now < this.last_arrival.get().max(opened) + BATCH_MAX_WAIT_MS;
                        let joining = now < this.last_queued.get() + window
                            && now < opened + BATCH_MAX_WAIT_MS;
                        if !locking && !joining {
                            break;
                        }
                        this.runtime.sleep(1.0).await;
                    }
                    // The session ended meanwhile: its requests were answered, and the next
                    // session's first request started a batch of its own.
                    if this.session.get() == session {
                        this.flush().await;
                    }
                }
                .boxed_local(),
            );
        }
        wait.await.unwrap_or(Err(Error::Closed))
    }

    /// Sends the queued requests. Users the backend leaves out of a batch answer are unknown.
    async fn flush(&self) {
        let queued: Vec<(String, Answer)> = self.queue.borrow_mut().drain(..).collect();
        if queued.is_empty() {
            return;
        }
        let session = self.session.get();
        let mut waiting: HashMap<String, Vec<Answer>> = HashMap::default();
        let mut order = Vec::new();
        for (user, answer) in queued {
            let answers = waiting.entry(user.clone()).or_default();
            if answers.is_empty() {
                order.push(user);
            }
            answers.push(answer);
        }
        let answer_all = |waiting: &mut HashMap<String, Vec<Answer>>,
                          user: &str,
                          result: Result<RemotePicture>| {
            for answer in waiting.remove(user).unwrap_or_default() {
                let _ = answer.send(result.clone());
            }
        };
        let _slot = self.slots.acquire().await;
        if self.session.get() != session {
            // Dropping the answers ends every wait with `Error::Closed`.
            return;
        }
        if let [user] = order.as_slice() {
            self.telemetry.api_call();
            let result = self.backend.fetch_user(user).await;
            return answer_all(&mut waiting, user, result);
        }
        self.telemetry
            .debug(|| format!("{} user requests sent as one batch", order.len()));
        for chunk in order.chunks(self.config.batch.max_ids) {
            self.telemetry.api_call();
            match self.backend.fetch_batch(chunk).await {
                Ok(remotes) => {
                    for remote in remotes {
                        if let Some(user) = remote.user_id.clone() {
                            answer_all(&mut waiting, &user, Ok(remote));
                        }
                    }
                    for user in chunk {
                        let unknown = Error::Network {
                            status: 404,
                            request: "batch".into(),
                        };
                        answer_all(&mut waiting, user, Err(unknown));
                    }
                }
                Err(e) => {
                    for user in chunk {
                        answer_all(&mut waiting, user, Err(e.clone()));
                    }
                }
            }
        }
    }
}

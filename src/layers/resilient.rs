//! Retry, back-off and a circuit breaker around any [`Backend`].
//!
//! [`ResilientBackend`] wraps the network layer (or, in native tests, a scripted fake) and is
//! itself a [`Backend`], so the hierarchy never sees a retry loop. Every call:
//!
//! 1. picks its origin: API calls go to the API origin; `download(url)` goes to
//!    [`origin_of`]`(url)`, where a relative URL means the API origin;
//! 2. asks that origin's [`Breaker`](crate::policy::breaker::Breaker): if it refuses, the call
//!    fails at once with [`Error::CircuitOpen`] and the inner backend is not called;
//! 3. calls the inner backend, retrying transient errors ([`Error::is_transient`]) after
//!    [`Backoff::delay_ms`] (slept through [`Runtime::sleep`]) until the configured attempts
//!    are used up;
//! 4. reports the outcome to the breaker: a success closes it, a final transient failure counts
//!    one failure. Errors that show the origin answered (a 404, a bad body, not an image) are
//!    neither retried nor breaker failures: they count as the origin being up. Errors that say
//!    nothing about the origin (the cache was closed, a programmer error) leave the breaker as
//!    it was; a call dropped before it finished does the same.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::rc::Rc;

use crate::clock::{Clock, Millis, Random};
use crate::config::{BreakerConfig, RetryConfig};
use crate::error::{Error, Result};
use crate::layers::{Backend, Download, LocalFuture, RemotePicture, Runtime};
use crate::policy::backoff::Backoff;
use crate::policy::breaker::{BreakerState, Breakers};
use crate::policy::presign::origin_of;

/// State shared between the backend and its [`NetworkHealth`] handles.
struct Shared {
    breakers: RefCell<Breakers>,
    retries: Cell<u64>,
    clock: Rc<dyn Clock>,
}

/// A cheap, cloneable view of a [`ResilientBackend`]'s breakers and retry count, for stats
/// (the hierarchy may hold the backend as `dyn Backend` and still read these).
#[derive(Clone)]
pub struct NetworkHealth {
    shared: Rc<Shared>,
}

impl NetworkHealth {
    /// The worst breaker state over every origin, now (Open > HalfOpen > Closed).
    pub fn breaker_state(&self) -> BreakerState {
        let now = self.shared.clock.now_ms();
        self.shared.breakers.borrow().worst(now)
    }

    /// The state of one origin's breaker, now (`""` is not special here: pass the origin the
    /// backend uses, as [`origin_of`] spells it, or the API origin).
    pub fn origin_state(&self, origin: &str) -> BreakerState {
        let now = self.shared.clock.now_ms();
        self.shared.breakers.borrow().state(origin, now)
    }

    /// Retries made in all (not counting first attempts).
    pub fn retries(&self) -> u64 {
        self.shared.retries.get()
    }
}

impl std::fmt::Debug for NetworkHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHealth")
            .field("breaker", &self.breaker_state().as_str())
            .field("retries", &self.retries())
            .finish()
    }
}

/// A [`Backend`] that retries transient failures with back-off and refuses calls to an origin
/// whose circuit breaker is open. See the [module docs](self).
pub struct ResilientBackend<B, I> {
    inner: B,
    backoff: Backoff,
    shared: Rc<Shared>,
    runtime: Rc<dyn Runtime>,
    random: Rc<dyn Random>,
    api_origin: String,
    _image: PhantomData<fn() -> I>,
}

/// What a finished call tells the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The origin answered.
    Up,
    /// The origin failed (after every retry).
    Down,
    /// Nothing is known about the origin.
    Unknown,
}

impl Verdict {
    fn of(error: &Error) -> Self {
        if error.is_transient() {
            return Verdict::Down;
        }
        match error {
            Error::Network { .. }
            | Error::BadResponse { .. }
            | Error::NotAnImage { .. }
            | Error::TooLarge { .. }
            | Error::TooManyPixels { .. } => Verdict::Up,
            _ => Verdict::Unknown,
        }
    }
}

/// Reports a call's verdict to its origin's breaker exactly once; a call dropped before it
/// finished reports [`Verdict::Unknown`] (so a cancelled probe does not leave the breaker
/// half-open for ever).
struct Pending<'a> {
    shared: &'a Shared,
    origin: &'a str,
    reported: bool,
}

impl Pending<'_> {
    fn report(mut self, verdict: Verdict) {
        self.reported = true;
        report(self.shared, self.origin, verdict);
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.reported {
            report(self.shared, self.origin, Verdict::Unknown);
        }
    }
}

fn report(shared: &Shared, origin: &str, verdict: Verdict) {
    let now = shared.clock.now_ms();
    // `try_borrow_mut`: this also runs from `Drop`, where a panic would abort.
    let Ok(mut breakers) = shared.breakers.try_borrow_mut() else {
        return;
    };
    match verdict {
        Verdict::Up => breakers.on_success(origin),
        Verdict::Down => breakers.on_failure(origin, now),
        Verdict::Unknown => breakers.on_abandon(origin),
    }
}

impl<B, I> ResilientBackend<B, I> {
    /// Wraps `inner` with the retry schedule of `retry` and one breaker per origin as set by
    /// `breaker`. `api_origin` names the origin of the API calls (and of relative download
    /// URLs); any string works, `""` included, as long as it is the same for every call.
    pub fn new(
        inner: B,
        retry: &RetryConfig,
        breaker: &BreakerConfig,
        runtime: Rc<dyn Runtime>,
        clock: Rc<dyn Clock>,
        random: Rc<dyn Random>,
        api_origin: String,
    ) -> Self {
        ResilientBackend {
            inner,
            backoff: Backoff::from_config(retry),
            shared: Rc::new(Shared {
                breakers: RefCell::new(Breakers::new(breaker.failures, breaker.cooldown_ms)),
                retries: Cell::new(0),
                clock,
            }),
            runtime,
            random,
            api_origin,
            _image: PhantomData,
        }
    }

    /// The worst breaker state over every origin, now (for stats).
    pub fn breaker_state(&self) -> BreakerState {
        self.health().breaker_state()
    }

    /// Retries made in all, not counting first attempts (for stats).
    pub fn retries(&self) -> u64 {
        self.shared.retries.get()
    }

    /// A handle on the breakers and retry count that outlives borrows of the backend.
    pub fn health(&self) -> NetworkHealth {
        NetworkHealth {
            shared: Rc::clone(&self.shared),
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The origin a download of `url` counts against.
    fn download_origin<'a>(&'a self, url: &'a str) -> &'a str {
        match origin_of(url) {
            "" => &self.api_origin,
            origin => origin,
        }
    }

    /// Runs `attempt` under `origin`'s breaker with retries. No `RefCell` borrow is held across
    /// an `.await`.
    /// `attempt` is a `dyn` closure so that the loop is in the `.wasm` once per answer type, not
    /// once per call site.
    async fn call<'a, T>(
        &'a self,
        origin: &'a str,
        mut attempt: Box<dyn FnMut() -> LocalFuture<'a, Result<T>> + 'a>,
    ) -> Result<T> {
        let shared = &*self.shared;
        let now: Millis = shared.clock.now_ms();
        if !shared.breakers.borrow_mut().try_acquire(origin, now) {
            return Err(Error::CircuitOpen);
        }
        let pending = Pending {
            shared,
            origin,
            reported: false,
        };
        let mut attempts_made = 0u32;
        loop {
            let result = attempt().await;
            attempts_made += 1;
            let error = match result {
                Ok(value) => {
                    pending.report(Verdict::Up);
                    return Ok(value);
                }
                Err(error) => error,
            };
            if !self.backoff.should_retry(attempts_made, &error) {
                pending.report(Verdict::of(&error));
                return Err(error);
            }
            let delay = self.backoff.delay_ms(attempts_made, &*self.random);
            shared.retries.set(shared.retries.get() + 1);
            self.runtime.sleep(delay).await;
        }
    }
}

impl<B: Backend<I>, I> Backend<I> for ResilientBackend<B, I> {
    fn fetch_user<'a>(&'a self, user_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        Box::pin(self.call(
            &self.api_origin,
            Box::new(move || self.inner.fetch_user(user_id)),
        ))
    }

    fn fetch_image_info<'a>(&'a self, image_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
        Box::pin(self.call(
            &self.api_origin,
            Box::new(move || self.inner.fetch_image_info(image_id)),
        ))
    }

    fn fetch_batch<'a>(
        &'a self,
        user_ids: &'a [String],
    ) -> LocalFuture<'a, Result<Vec<RemotePicture>>> {
        Box::pin(self.call(
            &self.api_origin,
            Box::new(move || self.inner.fetch_batch(user_ids)),
        ))
    }

    fn download<'a>(
        &'a self,
        url: &'a str,
        etag: Option<&'a str>,
    ) -> LocalFuture<'a, Result<Download<I>>> {
        let origin = self.download_origin(url);
        Box::pin(self.call(origin, Box::new(move || self.inner.download(url, etag))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, SeededRandom};
    use futures::executor::block_on;
    use std::collections::VecDeque;
    use std::task::{Poll, Waker};

    const API: &str = "https://api.example";
    const IMAGE: &str = "https://bucket.example/avatars/a.png?X-Amz-Signature=abc";
    const COOLDOWN: Millis = 30_000.0;

    fn unavailable() -> Error {
        Error::Network {
            status: 503,
            request: "/user/1".into(),
        }
    }

    fn not_found() -> Error {
        Error::Network {
            status: 404,
            request: "/user/1".into(),
        }
    }

    /// A backend that answers from a script (then `Ok` once the script runs out), counts its
    /// calls and can hold them until released.
    #[derive(Default)]
    struct Scripted {
        script: RefCell<VecDeque<Result<()>>>,
        calls: RefCell<Vec<String>>,
        held: Cell<bool>,
        waker: RefCell<Option<Waker>>,
    }

    impl Scripted {
        fn push(&self, results: impl IntoIterator<Item = Result<()>>) {
            self.script.borrow_mut().extend(results);
        }

        fn calls(&self) -> usize {
            self.calls.borrow().len()
        }

        fn release(&self) {
            self.held.set(false);
            if let Some(w) = self.waker.borrow_mut().take() {
                w.wake();
            }
        }

        async fn answer(&self, call: String) -> Result<()> {
            self.calls.borrow_mut().push(call);
            futures::future::poll_fn(|cx| {
                if self.held.get() {
                    *self.waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            self.script.borrow_mut().pop_front().unwrap_or(Ok(()))
        }
    }

    fn picture(user: &str) -> RemotePicture {
        RemotePicture {
            user_id: Some(user.to_string()),
            image_id: Some("img".into()),
            url: IMAGE.into(),
            thumbhash: None,
        }
    }

    impl Backend<Vec<u8>> for Scripted {
        fn fetch_user<'a>(&'a self, user_id: &'a str) -> LocalFuture<'a, Result<RemotePicture>> {
            Box::pin(async move {
                self.answer(format!("user {user_id}")).await?;
                Ok(picture(user_id))
            })
        }

        fn fetch_image_info<'a>(
            &'a self,
            image_id: &'a str,
        ) -> LocalFuture<'a, Result<RemotePicture>> {
            Box::pin(async move {
                self.answer(format!("image {image_id}")).await?;
                Ok(RemotePicture {
                    user_id: None,
                    ..picture("")
                })
            })
        }

        fn fetch_batch<'a>(
            &'a self,
            user_ids: &'a [String],
        ) -> LocalFuture<'a, Result<Vec<RemotePicture>>> {
            Box::pin(async move {
                self.answer(format!("batch {}", user_ids.len())).await?;
                Ok(user_ids.iter().map(|u| picture(u)).collect())
            })
        }

        fn download<'a>(
            &'a self,
            url: &'a str,
            _etag: Option<&'a str>,
        ) -> LocalFuture<'a, Result<Download<Vec<u8>>>> {
            Box::pin(async move {
                self.answer(format!("download {url}")).await?;
                Ok(Download::NotModified)
            })
        }
    }

    /// A runtime whose `sleep` records the delay, advances the manual clock and resolves at once.
    struct TestRuntime {
        clock: ManualClock,
        sleeps: RefCell<Vec<Millis>>,
    }

    impl Runtime for TestRuntime {
        fn spawn(&self, _task: LocalFuture<'static, ()>) {
            unreachable!("the resilient backend never spawns");
        }

        fn sleep(&self, ms: Millis) -> LocalFuture<'static, ()> {
            self.sleeps.borrow_mut().push(ms);
            self.clock.advance(ms);
            Box::pin(async {})
        }
    }

    struct Rig {
        backend: ResilientBackend<Scripted, Vec<u8>>,
        runtime: Rc<TestRuntime>,
        clock: ManualClock,
    }

    impl Rig {
        fn new(attempts: u32, failures: u32) -> Self {
            Rig::with_delays(attempts, failures, 200.0, 5_000.0)
        }

        fn with_delays(attempts: u32, failures: u32, base: Millis, max: Millis) -> Self {
            let clock = ManualClock::new(1_800_000_000_000.0);
            let runtime = Rc::new(TestRuntime {
                clock: clock.clone(),
                sleeps: RefCell::new(Vec::new()),
            });
            let backend = ResilientBackend::new(
                Scripted::default(),
                &RetryConfig {
                    attempts,
                    base_delay_ms: base,
                    max_delay_ms: max,
                },
                &BreakerConfig {
                    failures,
                    cooldown_ms: COOLDOWN,
                },
                runtime.clone(),
                Rc::new(clock.clone()),
                Rc::new(SeededRandom::new(11)),
                API.to_string(),
            );
            Rig {
                backend,
                runtime,
                clock,
            }
        }

        fn script(&self) -> &Scripted {
            self.backend.inner()
        }

        fn user(&self, id: &str) -> Result<RemotePicture> {
            block_on(self.backend.fetch_user(id))
        }

        fn download(&self, url: &str) -> Result<Download<Vec<u8>>> {
            block_on(self.backend.download(url, None))
        }

        fn sleeps(&self) -> Vec<Millis> {
            self.runtime.sleeps.borrow().clone()
        }

        /// Fails `failures` calls to the API with 503 (one attempt each).
        fn open_api_breaker(&self, failures: u32) {
            for _ in 0..failures {
                self.script().push([Err(unavailable())]);
                assert_eq!(self.user("u"), Err(unavailable()));
            }
            assert_eq!(self.backend.breaker_state(), BreakerState::Open);
        }
    }

    #[test]
    fn transient_failures_are_retried_until_success() {
        let rig = Rig::new(3, 5);
        rig.script()
            .push([Err(unavailable()), Err(Error::Timeout { after_ms: 10 })]);
        assert_eq!(rig.user("u1"), Ok(picture("u1")));
        assert_eq!(rig.script().calls(), 3);
        assert_eq!(rig.backend.retries(), 2);
        assert_eq!(rig.sleeps().len(), 2);
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn retries_stop_at_the_configured_attempts() {
        let rig = Rig::new(3, 5);
        rig.script().push((0..10).map(|_| Err(unavailable())));
        assert_eq!(rig.user("u1"), Err(unavailable()));
        assert_eq!(rig.script().calls(), 3);
        assert_eq!(rig.sleeps().len(), 2);
        assert_eq!(rig.backend.retries(), 2);
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let rig = Rig::new(1, 5);
        rig.script().push([Err(unavailable())]);
        assert_eq!(rig.user("u1"), Err(unavailable()));
        assert_eq!(rig.script().calls(), 1);
        assert!(rig.sleeps().is_empty());
    }

    #[test]
    fn retry_delays_grow_and_stay_under_the_max() {
        let rig = Rig::with_delays(8, 50, 100.0, 1_000.0);
        rig.script().push((0..8).map(|_| Err(unavailable())));
        let start = rig.clock.now_ms();
        assert_eq!(rig.user("u1"), Err(unavailable()));
        let sleeps = rig.sleeps();
        assert_eq!(sleeps.len(), 7);
        let caps = [100.0, 200.0, 400.0, 800.0, 1_000.0, 1_000.0, 1_000.0];
        for (sleep, cap) in sleeps.iter().zip(caps) {
            assert!(*sleep >= cap / 2.0 && *sleep <= cap, "{sleeps:?}");
        }
        for pair in sleeps.windows(2).take(3) {
            assert!(pair[1] >= pair[0], "{sleeps:?}");
        }
        let slept = rig.clock.now_ms() - start;
        assert!(
            (slept - sleeps.iter().sum::<f64>()).abs() < 0.01,
            "the clock moved by the sleeps"
        );
    }

    #[test]
    fn not_found_is_not_retried_and_does_not_trip_the_breaker() {
        let rig = Rig::new(3, 1);
        rig.script().push([Err(not_found()), Err(not_found())]);
        assert_eq!(rig.user("u1"), Err(not_found()));
        assert_eq!(rig.user("u1"), Err(not_found()));
        assert_eq!(rig.script().calls(), 2);
        assert!(rig.sleeps().is_empty());
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
        assert_eq!(rig.user("u1"), Ok(picture("u1")));
    }

    #[test]
    fn bad_images_are_not_retried_and_do_not_trip_the_breaker() {
        let rig = Rig::new(3, 1);
        let html = Error::NotAnImage {
            content_type: "text/html".into(),
        };
        let bad = Error::BadResponse {
            reason: "no url".into(),
        };
        rig.script().push([Err(html.clone()), Err(bad.clone())]);
        assert_eq!(rig.download(IMAGE), Err(html));
        assert_eq!(rig.user("u"), Err(bad));
        assert_eq!(rig.script().calls(), 2);
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn consecutive_failures_open_the_breaker_and_later_calls_fail_fast() {
        let rig = Rig::new(2, 3);
        rig.script().push((0..6).map(|_| Err(unavailable())));
        for _ in 0..3 {
            assert_eq!(rig.user("u"), Err(unavailable()));
        }
        assert_eq!(rig.script().calls(), 6);
        assert_eq!(rig.backend.breaker_state(), BreakerState::Open);
        assert_eq!(rig.user("u"), Err(Error::CircuitOpen));
        assert_eq!(
            block_on(rig.backend.fetch_batch(&["a".to_string()])),
            Err(Error::CircuitOpen)
        );
        assert_eq!(rig.script().calls(), 6, "the inner backend was not reached");
    }

    #[test]
    fn a_success_between_failures_keeps_the_breaker_closed() {
        let rig = Rig::new(1, 2);
        rig.script()
            .push([Err(unavailable()), Ok(()), Err(unavailable())]);
        let _ = rig.user("u");
        let _ = rig.user("u");
        let _ = rig.user("u");
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn after_the_cooldown_exactly_one_probe_goes_through() {
        let rig = Rig::new(1, 2);
        rig.open_api_breaker(2);
        rig.clock.advance(COOLDOWN - 1.0);
        assert_eq!(rig.user("u"), Err(Error::CircuitOpen));
        rig.clock.advance(1.0);
        assert_eq!(rig.backend.breaker_state(), BreakerState::HalfOpen);
        let calls = rig.script().calls();
        rig.script().held.set(true);
        block_on(async {
            let mut probe = rig.backend.fetch_user("probe");
            assert!(futures::poll!(&mut probe).is_pending());
            assert_eq!(rig.script().calls(), calls + 1);
            assert_eq!(
                rig.backend.fetch_user("other").await,
                Err(Error::CircuitOpen)
            );
            assert_eq!(
                rig.backend.fetch_image_info("img").await,
                Err(Error::CircuitOpen)
            );
            assert_eq!(rig.script().calls(), calls + 1);
            rig.script().release();
            assert_eq!(probe.await, Ok(picture("probe")));
        });
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn probe_success_closes_the_breaker() {
        let rig = Rig::new(1, 2);
        rig.open_api_breaker(2);
        rig.clock.advance(COOLDOWN);
        assert_eq!(rig.user("u"), Ok(picture("u")));
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
        assert_eq!(rig.user("u"), Ok(picture("u")));
        assert_eq!(rig.user("u"), Ok(picture("u")));
    }

    #[test]
    fn probe_failure_reopens_the_breaker() {
        let rig = Rig::new(1, 2);
        rig.open_api_breaker(2);
        rig.clock.advance(COOLDOWN);
        rig.script().push([Err(unavailable())]);
        assert_eq!(rig.user("u"), Err(unavailable()));
        assert_eq!(rig.backend.breaker_state(), BreakerState::Open);
        let calls = rig.script().calls();
        assert_eq!(rig.user("u"), Err(Error::CircuitOpen));
        assert_eq!(rig.script().calls(), calls);
        rig.clock.advance(COOLDOWN);
        assert_eq!(rig.user("u"), Ok(picture("u")));
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn a_cancelled_probe_lets_the_next_call_probe() {
        let rig = Rig::new(1, 1);
        rig.open_api_breaker(1);
        rig.clock.advance(COOLDOWN);
        rig.script().held.set(true);
        block_on(async {
            let mut probe = rig.backend.fetch_user("probe");
            assert!(futures::poll!(&mut probe).is_pending());
            drop(probe);
        });
        rig.script().release();
        assert_eq!(rig.backend.breaker_state(), BreakerState::HalfOpen);
        assert_eq!(rig.user("u"), Ok(picture("u")));
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn an_error_that_says_nothing_about_the_origin_leaves_the_probe_open() {
        let rig = Rig::new(1, 1);
        rig.open_api_breaker(1);
        rig.clock.advance(COOLDOWN);
        rig.script().push([Err(Error::Closed)]);
        assert_eq!(rig.user("u"), Err(Error::Closed));
        assert_eq!(rig.backend.breaker_state(), BreakerState::HalfOpen);
        assert_eq!(rig.user("u"), Ok(picture("u")));
        assert_eq!(rig.backend.breaker_state(), BreakerState::Closed);
    }

    #[test]
    fn image_origin_failures_do_not_block_the_api_origin() {
        let rig = Rig::new(1, 2);
        rig.script().push([Err(unavailable()), Err(unavailable())]);
        assert_eq!(rig.download(IMAGE), Err(unavailable()));
        assert_eq!(rig.download(IMAGE), Err(unavailable()));
        let calls = rig.script().calls();
        assert_eq!(rig.download(IMAGE), Err(Error::CircuitOpen));
        assert_eq!(
            rig.download("https://bucket.example/other.png"),
            Err(Error::CircuitOpen)
        );
        assert_eq!(rig.script().calls(), calls);
        assert_eq!(rig.user("u"), Ok(picture("u")));
        assert_eq!(
            rig.download("/images/default_pfp.png"),
            Ok(Download::NotModified)
        );
        assert_eq!(
            rig.download("https://other-bucket.example/a.png"),
            Ok(Download::NotModified)
        );
        let health = rig.backend.health();
        assert_eq!(health.breaker_state(), BreakerState::Open);
        assert_eq!(
            health.origin_state("https://bucket.example"),
            BreakerState::Open
        );
        assert_eq!(health.origin_state(API), BreakerState::Closed);
    }

    #[test]
    fn relative_downloads_count_against_the_api_origin() {
        let rig = Rig::new(1, 1);
        rig.open_api_breaker(1);
        assert_eq!(
            rig.download("/images/default_pfp.png"),
            Err(Error::CircuitOpen)
        );
        assert_eq!(rig.download(IMAGE), Ok(Download::NotModified));
    }

    #[test]
    fn health_handle_reports_retries_and_breaker_state() {
        let rig = Rig::new(3, 1);
        let health = rig.backend.health();
        rig.script().push((0..3).map(|_| Err(unavailable())));
        assert_eq!(rig.user("u"), Err(unavailable()));
        assert_eq!(health.retries(), 2);
        assert_eq!(health.breaker_state(), BreakerState::Open);
        rig.clock.advance(COOLDOWN);
        assert_eq!(health.breaker_state(), BreakerState::HalfOpen);
        assert!(format!("{health:?}").contains("half-open"));
    }
}

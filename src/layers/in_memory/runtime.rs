//! Object URLs as counters, locks shared by the "tabs" of one test, and an executor driven by a
//! manual clock.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::executor::{LocalPool, LocalSpawner};
use futures::future::FutureExt;
use futures::task::LocalSpawnExt;

use super::Bytes;
use crate::clock::{Clock, ManualClock, Millis};
use crate::error::Result;
use crate::layers::{LocalFuture, Locks, ObjectUrls, Runtime};

/// Object URLs as counters: `blob:test/<n>`, with the live and revoked sets kept for asserts.
#[derive(Clone, Default)]
pub struct FakeObjectUrls {
    next: Rc<Cell<u64>>,
    live: Rc<RefCell<HashSet<String>>>,
    revoked: Rc<RefCell<HashSet<String>>>,
}

impl FakeObjectUrls {
    /// URLs created and not revoked.
    pub fn live(&self) -> usize {
        self.live.borrow().len()
    }

    /// Whether `url` was revoked.
    pub fn is_revoked(&self, url: &str) -> bool {
        self.revoked.borrow().contains(url)
    }
}

impl ObjectUrls<Bytes> for FakeObjectUrls {
    fn create(&self, _body: &Bytes) -> Result<String> {
        let n = self.next.get() + 1;
        self.next.set(n);
        let url = format!("blob:test/{n}");
        self.live.borrow_mut().insert(url.clone());
        Ok(url)
    }

    fn revoke(&self, url: &str) {
        self.live.borrow_mut().remove(url);
        self.revoked.borrow_mut().insert(url.to_string());
    }
}

/// Locks shared by the "tabs" of one native test: one async mutex per name.
#[derive(Clone, Default)]
pub struct InMemoryLocks {
    held: Rc<RefCell<HashMap<String, Rc<futures::lock::Mutex<()>>>>>,
}

impl Locks for InMemoryLocks {
    fn exclusive(&self, name: String, task: LocalFuture<'static, ()>) -> LocalFuture<'static, ()> {
        let lock = self.held.borrow_mut().entry(name).or_default().clone();
        async move {
            let _guard = lock.lock().await;
            task.await;
        }
        .boxed_local()
    }
}

struct Timers {
    due: Vec<(Millis, Waker)>,
}

/// A single-threaded executor driven by a [`ManualClock`]: `sleep` resolves when the test moves
/// the clock past its deadline, never by waiting.
#[derive(Clone)]
pub struct TestRuntime {
    pool: Rc<RefCell<LocalPool>>,
    spawner: LocalSpawner,
    clock: ManualClock,
    timers: Rc<RefCell<Timers>>,
}

impl TestRuntime {
    /// A runtime over `clock`.
    pub fn new(clock: ManualClock) -> Self {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        TestRuntime {
            pool: Rc::new(RefCell::new(pool)),
            spawner,
            clock,
            timers: Rc::new(RefCell::new(Timers { due: Vec::new() })),
        }
    }

    /// Runs `future` to completion, along with whatever background work it starts. When
    /// everything waits on a timer, the clock jumps to the earliest deadline (simulated time:
    /// no test ever sleeps). Panics if the future can never finish.
    pub fn block_on<F: Future + 'static>(&self, future: F) -> F::Output {
        let slot = Rc::new(RefCell::new(None));
        let out = slot.clone();
        self.spawner
            .spawn_local(async move { *out.borrow_mut() = Some(future.await) })
            .expect("the test executor is alive");
        loop {
            self.settle();
            if let Some(output) = slot.borrow_mut().take() {
                return output;
            }
            let next = self
                .timers
                .borrow()
                .due
                .iter()
                .map(|(at, _)| *at)
                .min_by(|a, b| a.total_cmp(b));
            match next {
                Some(at) => self.advance((at - self.clock.now_ms()).max(0.0)),
                None => panic!("deadlock: the future waits on nothing that can wake it"),
            }
        }
    }

    /// Runs background work until nothing can progress without the clock moving.
    pub fn settle(&self) {
        self.pool.borrow_mut().run_until_stalled();
    }

    /// Moves the clock forward, fires due timers and settles.
    pub fn advance(&self, ms: Millis) {
        self.clock.advance(ms);
        let now = self.clock.now_ms();
        let due: Vec<Waker> = {
            let mut timers = self.timers.borrow_mut();
            let (fire, keep): (Vec<_>, Vec<_>) =
                timers.due.drain(..).partition(|(at, _)| *at <= now);
            timers.due = keep;
            fire.into_iter().map(|(_, w)| w).collect()
        };
        due.into_iter().for_each(Waker::wake);
        self.settle();
    }
}

struct Sleep {
    until: Millis,
    clock: ManualClock,
    timers: Rc<RefCell<Timers>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.now_ms() >= self.until {
            return Poll::Ready(());
        }
        self.timers
            .borrow_mut()
            .due
            .push((self.until, cx.waker().clone()));
        Poll::Pending
    }
}

impl Runtime for TestRuntime {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        self.spawner
            .spawn_local(task)
            .expect("the test executor is alive");
    }

    fn sleep(&self, ms: Millis) -> LocalFuture<'static, ()> {
        Box::pin(Sleep {
            until: self.clock.now_ms() + ms,
            clock: self.clock.clone(),
            timers: self.timers.clone(),
        })
    }
}

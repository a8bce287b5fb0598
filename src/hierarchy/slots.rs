//! At most N network requests at once: a counting semaphore for one thread.
//!
//! A list of 120 pictures mounting together must not open 120 downloads (browsers queue them
//! anyway, and the first pictures would wait behind the last). Waiters are served in order; a
//! released slot is handed straight to the next waiter.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use futures::channel::oneshot;

/// The pool of slots.
pub(super) struct Slots {
    free: Cell<usize>,
    waiting: RefCell<VecDeque<oneshot::Sender<()>>>,
}

/// One slot, held until dropped.
pub(super) struct Slot {
    slots: Rc<Slots>,
}

impl Slots {
    /// A pool of `n` slots (at least one).
    pub(super) fn new(n: usize) -> Rc<Slots> {
        Rc::new(Slots {
            free: Cell::new(n.max(1)),
            waiting: RefCell::new(VecDeque::new()),
        })
    }

    /// Waits for a free slot.
    pub(super) async fn acquire(self: &Rc<Self>) -> Slot {
        if self.free.get() > 0 {
            self.free.set(self.free.get() - 1);
            return Slot {
                slots: self.clone(),
            };
        }
        let (handover, wait) = oneshot::channel();
        self.waiting.borrow_mut().push_back(handover);
        // The sender is only dropped by `Slot::drop` after a successful hand-over, so both
        // outcomes mean the slot is ours.
        let _ = wait.await;
        Slot {
            slots: self.clone(),
        }
    }

    /// Slots free right now.
    #[cfg(test)]
    pub(super) fn free(&self) -> usize {
        self.free.get()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        loop {
            let next = self.slots.waiting.borrow_mut().pop_front();
            let Some(waiter) = next else { break };
            // Handed over: the waiter owns the slot now. Otherwise that waiter gave up: try the
            // next.
            if waiter.send(()).is_ok() {
                return;
            }
        }
        self.slots.free.set(self.slots.free.get() + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;

    #[test]
    fn no_more_than_n_holders_and_waiters_are_served_in_order() {
        let slots = Slots::new(2);
        let mut pool = LocalPool::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let (release_tx, release_rx): (Vec<_>, Vec<_>) =
            (0..4).map(|_| oneshot::channel::<()>()).unzip();
        for (i, release) in release_rx.into_iter().enumerate() {
            let (slots, order) = (slots.clone(), order.clone());
            pool.spawner()
                .spawn_local(async move {
                    let _slot = slots.acquire().await;
                    order.borrow_mut().push(i);
                    let _ = release.await;
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert_eq!(*order.borrow(), vec![0, 1]);
        assert_eq!(slots.free(), 0);
        let mut release_tx = release_tx.into_iter();
        release_tx.next().unwrap().send(()).unwrap();
        pool.run_until_stalled();
        assert_eq!(*order.borrow(), vec![0, 1, 2]);
        for tx in release_tx {
            let _ = tx.send(());
        }
        pool.run_until_stalled();
        assert_eq!(*order.borrow(), vec![0, 1, 2, 3]);
        assert_eq!(slots.free(), 2);
    }
}

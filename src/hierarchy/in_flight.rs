//! Work under way that concurrent callers share instead of doing again: loads, one per user and
//! image hint (gets for the same picture ask the layers and the network once), and downloads,
//! one per image (users sharing an image download it once and are handed one object URL).

use crate::collections::HashMap;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hash::Hash;
use std::rc::Rc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

/// Work shared by every caller waiting for it: the shared future runs the work and leaves its
/// outcome in `outcome`. It has no output of its own, so it is the type of shared future the
/// write-behind queue uses (its code is in the `.wasm` once).
pub(crate) struct SharedWork<T> {
    done: Shared<LocalBoxFuture<'static, ()>>,
    outcome: Rc<RefCell<Option<T>>>,
}

impl<T> Clone for SharedWork<T> {
    fn clone(&self) -> Self {
        SharedWork {
            done: self.done.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

impl<T: Clone> SharedWork<T> {
    /// Waits for the work to finish and answers its outcome.
    pub async fn outcome(self) -> T {
        self.done.await;
        let outcome = self.outcome.borrow().clone();
        outcome.expect("finished work left its outcome")
    }
}

/// What a load is for: a user, and the image id the app named, if any. A struct rather than a
/// joined string, so no pair of ids can collide with another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LoadKey {
    pub user_id: String,
    pub image_hint: Option<String>,
}

/// Which work of a key this is: a key's work that finishes after newer work started (after a
/// clear) must not remove the newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkId(u64);

/// The work under way, by key, each with the outcome `T` its callers share.
pub(crate) struct InFlight<K, T> {
    works: RefCell<HashMap<K, (WorkId, SharedWork<T>)>>,
    next: Cell<u64>,
}

impl<K, T> Default for InFlight<K, T> {
    fn default() -> Self {
        InFlight {
            works: RefCell::default(),
            next: Cell::new(0),
        }
    }
}

impl<K: Eq + Hash, T: 'static> InFlight<K, T> {
    /// The work for `key` if some is under way.
    pub fn joined<Q>(&self, key: &Q) -> Option<SharedWork<T>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.works.borrow().get(key).map(|(_, work)| work.clone())
    }

    /// The id the next started work gets: the work itself calls [`InFlight::finished`] with it.
    pub fn next_id(&self) -> WorkId {
        let id = self.next.get();
        self.next.set(id + 1);
        WorkId(id)
    }

    /// Starts sharing `work` under `key`.
    pub fn start(
        &self,
        key: K,
        id: WorkId,
        work: impl Future<Output = T> + 'static,
    ) -> SharedWork<T> {
        let outcome = Rc::new(RefCell::new(None));
        let slot = outcome.clone();
        let done = async move {
            let answer = work.await;
            *slot.borrow_mut() = Some(answer);
        }
        .boxed_local()
        .shared();
        let shared = SharedWork { done, outcome };
        self.works.borrow_mut().insert(key, (id, shared.clone()));
        shared
    }

    /// Removes work `id` of `key` (it finished), unless newer work took its place.
    pub fn finished<Q>(&self, key: &Q, id: WorkId)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut works = self.works.borrow_mut();
        if works.get(key).is_some_and(|(current, _)| *current == id) {
            works.remove(key);
        }
    }

    /// Forgets all work under way: callers from now on start their own (after a clear). Work
    /// already awaited still finishes for its callers.
    pub fn forget_all(&self) {
        self.works.borrow_mut().clear();
    }

    /// Work under way.
    pub fn len(&self) -> usize {
        self.works.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_join_to_the_same_string_are_different_loads() {
        let a = LoadKey {
            user_id: "a\u{0}b".into(),
            image_hint: None,
        };
        let b = LoadKey {
            user_id: "a".into(),
            image_hint: Some("b".into()),
        };
        assert_ne!(a, b);
    }
}

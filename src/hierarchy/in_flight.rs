//! Loads under way, one per user and image hint: concurrent gets for the same picture share
//! one load instead of asking the layers (and the network) again.

use crate::collections::HashMap;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

use crate::vocabulary::Picture;

/// A load shared by every get waiting for it: the shared future runs the load and leaves its
/// picture in `picture`. It has no output of its own, so it is the type of shared future the
/// write-behind queue uses (its code is in the `.wasm` once).
#[derive(Clone)]
pub(crate) struct SharedLoad {
    done: Shared<LocalBoxFuture<'static, ()>>,
    picture: Rc<RefCell<Option<Picture>>>,
}

impl SharedLoad {
    /// Waits for the load to finish and answers its picture.
    pub async fn picture(self) -> Picture {
        self.done.await;
        let picture = self.picture.borrow().clone();
        picture.expect("a finished load left its picture")
    }
}

/// What a load is for: a user, and the image id the app named, if any. A struct rather than a
/// joined string, so no pair of ids can collide with another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LoadKey {
    pub user_id: String,
    pub image_hint: Option<String>,
}

/// Which load of a key this is: a key's load that finishes after a newer one started (after a
/// clear) must not remove the newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadId(u64);

/// The loads under way.
#[derive(Default)]
pub(crate) struct InFlight {
    loads: RefCell<HashMap<LoadKey, (LoadId, SharedLoad)>>,
    next: Cell<u64>,
}

impl InFlight {
    /// The load for `key` if one is under way.
    pub fn joined(&self, key: &LoadKey) -> Option<SharedLoad> {
        self.loads.borrow().get(key).map(|(_, load)| load.clone())
    }

    /// The id the next started load gets: the load itself calls [`InFlight::finished`] with it.
    pub fn next_id(&self) -> LoadId {
        let id = self.next.get();
        self.next.set(id + 1);
        LoadId(id)
    }

    /// Starts sharing `load` under `key`.
    pub fn start(
        &self,
        key: LoadKey,
        id: LoadId,
        load: impl Future<Output = Picture> + 'static,
    ) -> SharedLoad {
        let picture = Rc::new(RefCell::new(None));
        let slot = picture.clone();
        let done = async move {
            let answer = load.await;
            *slot.borrow_mut() = Some(answer);
        }
        .boxed_local()
        .shared();
        let shared = SharedLoad { done, picture };
        self.loads.borrow_mut().insert(key, (id, shared.clone()));
        shared
    }

    /// Removes load `id` of `key` (it finished), unless a newer load took its place.
    pub fn finished(&self, key: &LoadKey, id: LoadId) {
        let mut loads = self.loads.borrow_mut();
        if loads.get(key).is_some_and(|(current, _)| *current == id) {
            loads.remove(key);
        }
    }

    /// Forgets every load under way: gets made from now on start their own (after a clear).
    /// Loads already awaited still finish for their callers.
    pub fn forget_all(&self) {
        self.loads.borrow_mut().clear();
    }

    /// Loads under way.
    pub fn len(&self) -> usize {
        self.loads.borrow().len()
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

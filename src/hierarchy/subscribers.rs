//! The listeners of `subscribe`, and the hooks that forward this tab's changes and the records
//! it learned to other tabs and to its service worker.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::record::PictureRecord;
use crate::vocabulary::Change;

/// A subscriber: told the user whose picture changed, or `None` when everything was cleared.
pub type Listener = Rc<dyn Fn(Option<&str>)>;

/// Told of changes made in this tab, to forward them to other tabs.
pub type ChangeHook = Rc<dyn Fn(&Change)>;

/// Told of each record this cache wrote (from the backend, or an upload), to hand it to a
/// context that keeps records in another store: a page's service worker, or the pages it serves.
pub type LearnHook = Rc<dyn Fn(&PictureRecord)>;

/// The subscribers of one cache.
#[derive(Default)]
pub(crate) struct Subscribers {
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_id: Cell<u64>,
    broadcast: RefCell<Option<ChangeHook>>,
    learned: RefCell<Option<LearnHook>>,
}

impl Subscribers {
    /// Adds `listener`; returns the id to remove it with.
    pub fn add(&self, listener: Listener) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.listeners.borrow_mut().push((id, listener));
        id
    }

    /// Removes a listener; unknown ids are ignored.
    pub fn remove(&self, id: u64) {
        self.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// Removes every listener.
    pub fn remove_all(&self) {
        self.listeners.borrow_mut().clear();
    }

    /// Sets the hook that forwards changes to other tabs.
    pub fn set_broadcast(&self, hook: Option<ChangeHook>) {
        *self.broadcast.borrow_mut() = hook;
    }

    /// Forwards `change` to other tabs.
    pub fn broadcast(&self, change: &Change) {
        let hook = self.broadcast.borrow().clone();
        if let Some(hook) = hook {
            hook(change);
        }
    }

    /// Sets the hook that hands the records this cache wrote to other contexts.
    pub fn set_learned(&self, hook: Option<LearnHook>) {
        *self.learned.borrow_mut() = hook;
    }

    /// Hands `record`, just written, to other contexts.
    pub fn learned(&self, record: &PictureRecord) {
        let hook = self.learned.borrow().clone();
        if let Some(hook) = hook {
            hook(record);
        }
    }

    /// Tells this tab's listeners about `change`. A listener may subscribe or unsubscribe while
    /// being told: it is called from a copy of the list.
    pub fn notify(&self, change: &Change) {
        let listeners: Vec<Listener> = self
            .listeners
            .borrow()
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        let user = match change {
            Change::User(user) => Some(user.as_str()),
            Change::Updated(record) => Some(record.user_id.as_str()),
            Change::All => None,
        };
        for listener in listeners {
            listener(user);
        }
    }
}

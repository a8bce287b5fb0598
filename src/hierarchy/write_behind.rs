//! IndexedDB writes that run behind the answer: a downloaded image is handed out from memory
//! at once and written to IndexedDB in the background. The queue keeps each write until it
//! lands, so a clear can wait for them and a cross-tab load can wait for the bytes it needs.

use crate::collections::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

use crate::layers::Runtime;

type Write = Shared<LocalBoxFuture<'static, ()>>;

/// The IndexedDB writes under way, by image id.
pub(crate) struct WriteBehind {
    runtime: Rc<dyn Runtime>,
    writes: Rc<RefCell<HashMap<String, Write>>>,
}

impl WriteBehind {
    /// An empty queue whose writes run on `runtime`.
    pub fn new(runtime: Rc<dyn Runtime>) -> Self {
        WriteBehind {
            runtime,
            writes: Rc::default(),
        }
    }

    /// Runs `write` (of `image_id`) in the background.
    pub fn spawn(&self, image_id: String, write: LocalBoxFuture<'static, ()>) {
        let write = write.shared();
        self.writes
            .borrow_mut()
            .insert(image_id.clone(), write.clone());
        let writes = self.writes.clone();
        self.runtime.spawn(
            async move {
                write.clone().await;
                let mut writes = writes.borrow_mut();
                // A newer write of the same image may have taken the slot meanwhile.
                if writes.get(&image_id).is_some_and(|w| w.ptr_eq(&write)) {
                    writes.remove(&image_id);
                }
            }
            .boxed_local(),
        );
    }

    /// Whether no write is under way.
    pub fn is_empty(&self) -> bool {
        self.writes.borrow().is_empty()
    }

    /// Waits for every write under way; returns the image ids they wrote.
    pub async fn settle(&self) -> Vec<String> {
        let pending: Vec<(String, Write)> = self
            .writes
            .borrow()
            .iter()
            .map(|(id, write)| (id.clone(), write.clone()))
            .collect();
        let mut ids = Vec::with_capacity(pending.len());
        for (id, write) in pending {
            write.await;
            ids.push(id);
        }
        ids
    }

    /// Resolves once no write of `image_id` is under way.
    pub async fn written(&self, image_id: &str) {
        let pending = self.writes.borrow().get(image_id).cloned();
        if let Some(write) = pending {
            write.await;
        }
    }
}

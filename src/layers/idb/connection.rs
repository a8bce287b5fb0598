//! The connection of one store: opened within a time limit, noticed when it is taken away
//! (`versionchange` from another tab's upgrade or delete, `close` from "clear site data" or a
//! disk error), reopened once, given up on for good after that (see [`Link`]). The connection
//! itself, and every transaction on it, is in `driver.rs`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::driver::Conn;
use crate::error::{Error, Result};
use crate::vocabulary::Layer;

/// The connection of one store, reopened once when it is lost.
pub(super) struct Link {
    name: String,
    open_timeout_ms: u32,
    conn: RefCell<Option<Rc<Conn>>>,
    /// Why the database is gone for this store's lifetime (reopening failed, or the engine
    /// stopped answering); `None` while it is usable.
    unavailable: RefCell<Option<String>>,
    closed: Cell<bool>,
}

impl Link {
    /// A link to the database `name`, not open yet.
    pub fn new(name: String, open_timeout_ms: u32) -> Self {
        Link {
            name,
            open_timeout_ms,
            conn: RefCell::new(None),
            unavailable: RefCell::new(None),
            closed: Cell::new(false),
        }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long an open may take.
    pub fn open_timeout_ms(&self) -> u32 {
        self.open_timeout_ms
    }

    /// Opens a connection within the open timeout.
    pub async fn open(&self) -> Result<Rc<Conn>> {
        Ok(Rc::new(Conn::open(&self.name, self.open_timeout_ms).await?))
    }

    /// Makes `conn` the connection later calls use.
    pub fn install(&self, conn: Rc<Conn>) {
        *self.conn.borrow_mut() = Some(conn);
    }

    /// The open connection, reopened once if it was lost; `true` when it was reopened (what
    /// was read through the old one may be out of date).
    pub async fn current(&self) -> Result<(Rc<Conn>, bool)> {
        if self.closed.get() {
            return Err(Error::Closed);
        }
        let gone = self.unavailable.borrow().clone();
        if let Some(reason) = gone {
            return Err(unavailable(&reason));
        }
        let current = self.conn.borrow().clone();
        if let Some(conn) = current.filter(|c| !c.is_lost()) {
            return Ok((conn, false));
        }
        // Closed under us (another tab upgraded or deleted the database, or the user cleared
        // site data): reopen once.
        self.conn.borrow_mut().take();
        match Conn::open(&self.name, self.open_timeout_ms).await {
            Ok(conn) => {
                let installed = self.conn.borrow().clone();
                match installed {
                    // Another call reopened meanwhile: use that connection.
                    Some(other) if !other.is_lost() => Ok((other, false)),
                    _ => {
                        let conn = Rc::new(conn);
                        self.install(conn.clone());
                        Ok((conn, true))
                    }
                }
            }
            Err(e) => Err(self.give_up(format!(
                "reopening after the connection was lost failed: {e}"
            ))),
        }
    }

    /// Gives up on the database for this store's lifetime: every later call answers
    /// [`Error::StorageUnavailable`] with `reason`, which is returned as that error.
    pub fn give_up(&self, reason: String) -> Error {
        let error = unavailable(&reason);
        *self.unavailable.borrow_mut() = Some(reason);
        self.conn.borrow_mut().take();
        error
    }

    /// Closes the connection; every later call answers [`Error::Closed`].
    pub fn close(&self) {
        self.closed.set(true);
        self.conn.borrow_mut().take();
    }

    /// Whether the database can still be used.
    pub fn is_available(&self) -> bool {
        !self.closed.get() && self.unavailable.borrow().is_none()
    }
}

fn unavailable(reason: &str) -> Error {
    Error::StorageUnavailable {
        layer: Layer::IndexedDb,
        reason: reason.to_string(),
    }
}

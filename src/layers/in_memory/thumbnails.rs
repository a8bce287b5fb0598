//! [`Thumbnails`] over the native test bodies (bytes): a stand-in decoder for the hierarchy's
//! native tests, which never decode real images.
//!
//! A body decodes to a 4 × 4 image coloured by a hash of its bytes, so different
//! images hash differently; a body containing `undecodable` fails to decode, as a corrupt image
//! does in the browser. Every decode is counted.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::FutureExt;

use super::Bytes;
use crate::layers::{LocalFuture, SmallImage, Thumbnails};

/// The stand-in decoder. Clones share the count.
#[derive(Clone, Default)]
pub struct InMemoryThumbnails {
    decodes: Rc<Cell<u64>>,
    held: Rc<RefCell<Option<Vec<oneshot::Sender<()>>>>>,
}

impl InMemoryThumbnails {
    /// Decodes started from now on wait for [`InMemoryThumbnails::release`].
    pub fn hold(&self) {
        self.held.borrow_mut().get_or_insert_with(Vec::new);
    }

    /// Lets the held decodes finish, and later ones run at once.
    pub fn release(&self) {
        for waiter in self.held.borrow_mut().take().unwrap_or_default() {
            let _ = waiter.send(());
        }
    }

    /// Images decoded so far (failures included).
    pub fn decodes(&self) -> u64 {
        self.decodes.get()
    }
}

impl Thumbnails<Bytes> for InMemoryThumbnails {
    fn decode(&self, body: Bytes) -> LocalFuture<'static, Option<SmallImage>> {
        self.decodes.set(self.decodes.get() + 1);
        let image = (!body.windows(11).any(|w| w == b"undecodable")).then(|| {
            // FNV-1a of the body: different images get clearly different colours.
            let seed = body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
            });
            let rgba = (0..16)
                .flat_map(|i| {
                    let s = (seed >> ((i % 8) * 8)) as u8;
                    [s, s.wrapping_mul(3), s.wrapping_mul(7), 255]
                })
                .collect();
            SmallImage {
                width: 4,
                height: 4,
                rgba,
            }
        });
        let wait = self.held.borrow_mut().as_mut().map(|held| {
            let (send, receive) = oneshot::channel();
            held.push(send);
            receive
        });
        async move {
            if let Some(wait) = wait {
                let _ = wait.await;
            }
            image
        }
        .boxed_local()
    }
}

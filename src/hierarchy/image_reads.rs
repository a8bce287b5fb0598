//! IndexedDB reads of images asked for in the same turn, made in one transaction: a list of 100
//! components mounting after a reload costs one readonly transaction, not 100, as a `prefetch`
//! does. The first read of a turn schedules the flush; every read made before it runs joins.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::FutureExt;

use crate::error::Result;
use crate::layers::{ImageStore, Runtime};
use crate::record::StoredImage;

type Reply<I> = oneshot::Sender<Result<Option<StoredImage<I>>>>;

/// Image reads waiting for the turn's transaction.
pub(crate) struct ImageReads<I> {
    images: Rc<dyn ImageStore<I>>,
    runtime: Rc<dyn Runtime>,
    waiting: RefCell<Vec<(String, Reply<I>)>>,
}

impl<I: Clone + 'static> ImageReads<I> {
    /// Reads from `images`, flushing on `runtime`.
    pub fn new(images: Rc<dyn ImageStore<I>>, runtime: Rc<dyn Runtime>) -> Rc<Self> {
        Rc::new(ImageReads {
            images,
            runtime,
            waiting: RefCell::new(Vec::new()),
        })
    }

    /// The stored image `image_id`, read together with every other image asked for this turn.
    pub async fn read(self: &Rc<Self>, image_id: &str) -> Result<Option<StoredImage<I>>> {
        let (reply, answer) = oneshot::channel();
        let first = {
            let mut waiting = self.waiting.borrow_mut();
            waiting.push((image_id.to_string(), reply));
            waiting.len() == 1
        };
        if first {
            let this = self.clone();
            self.runtime
                .spawn(async move { this.flush().await }.boxed_local());
        }
        answer.await.unwrap_or(Ok(None))
    }

    /// Reads every waiting image in one transaction and answers each reader. (Answering each
    /// as its own rows arrive, before the transaction completes, was measured: in Chromium the
    /// per-request wake-ups made the whole burst of 100 about twice as slow, so the readers
    /// are answered together once the transaction has delivered every row.)
    async fn flush(&self) {
        let waiting: Vec<(String, Reply<I>)> = self.waiting.borrow_mut().drain(..).collect();
        // Repeats are passed on as they are: the store answers them in place (from one row in a
        // range read; a small batch reads its few repeats again).
        let ids: Vec<String> = waiting.iter().map(|(id, _)| id.clone()).collect();
        match self.images.get_many(&ids).await {
            Ok(found) => {
                for ((_, reply), image) in waiting.into_iter().zip(found) {
                    let _ = reply.send(Ok(image));
                }
            }
            Err(e) => {
                for (_, reply) in waiting {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

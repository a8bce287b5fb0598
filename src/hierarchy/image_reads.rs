//! IndexedDB reads of images asked for in the same turn, made in one transaction: a list of 100
//! components mounting after a reload costs one readonly transaction, not 100, as a `prefetch`
//! does. The first read of a turn schedules the flush; every read made before it runs joins.

use std::cell::RefCell;
use std::collections::HashMap;
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

    /// Reads every waiting image in one transaction and answers each reader as soon as its
    /// image is read.
    async fn flush(&self) {
        let waiting: Vec<(String, Reply<I>)> = self.waiting.borrow_mut().drain(..).collect();
        let mut replies: HashMap<String, Vec<Reply<I>>> = HashMap::new();
        for (id, reply) in waiting {
            replies.entry(id).or_default().push(reply);
        }
        let ids: Vec<String> = replies.keys().cloned().collect();
        let outcome = {
            let mut answer = |i: usize, image: Option<StoredImage<I>>| {
                for reply in replies.remove(&ids[i]).unwrap_or_default() {
                    let _ = reply.send(Ok(image.clone()));
                }
            };
            self.images.get_each(&ids, &mut answer).await
        };
        for reply in replies.into_values().flatten() {
            let _ = reply.send(outcome.clone().map(|()| None));
        }
    }
}

//! User requests made close together go out as one batch call (with a batch endpoint).

use super::*;

impl<I: Clone + 'static> Hierarchy<I> {
    /// Asks the backend about one user. With a batch endpoint, requests made within
    /// [`BATCH_WINDOW_MS`] of each other (a list of components mounting, revalidations of a
    /// page of stale pictures) go out together as one batch call.
    pub(super) async fn fetch_user(&self, user_id: &str) -> Result<RemotePicture> {
        if self.inner.config.batch_endpoint.is_none() {
            let _slot = self.inner.slots.acquire().await;
            self.note_api_call();
            return self.inner.layers.backend.fetch_user(user_id).await;
        }
        let (answer, wait) = oneshot::channel();
        let first = {
            let mut queue = self.inner.queue.borrow_mut();
            queue.push((user_id.to_string(), answer));
            queue.len() == 1
        };
        if first {
            let this = self.clone();
            let window = self.inner.layers.runtime.sleep(BATCH_WINDOW_MS);
            self.inner.layers.runtime.spawn(
                async move {
                    window.await;
                    // Loads still waiting for their cross-tab lock are about to ask too.
                    let deadline = this.now() + BATCH_MAX_WAIT_MS;
                    while this.inner.heading.get() > 0 && this.now() < deadline {
                        this.inner.layers.runtime.sleep(1.0).await;
                    }
                    this.flush_user_queue().await;
                }
                .boxed_local(),
            );
        }
        wait.await.unwrap_or(Err(Error::Closed))
    }

    /// Sends the queued user requests: one plain user call for a single user, else batch calls
    /// of up to `batch.maxIds` users. Users the backend leaves out of its answer are unknown.
    pub(super) async fn flush_user_queue(&self) {
        let queued: Vec<(String, oneshot::Sender<Result<RemotePicture>>)> =
            self.inner.queue.borrow_mut().drain(..).collect();
        let mut waiting: HashMap<String, Vec<oneshot::Sender<Result<RemotePicture>>>> =
            HashMap::new();
        let mut order = Vec::new();
        for (user, answer) in queued {
            let senders = waiting.entry(user.clone()).or_default();
            if senders.is_empty() {
                order.push(user);
            }
            senders.push(answer);
        }
        let answer_all = |user: &str,
                          waiting: &mut HashMap<String, Vec<_>>,
                          result: Result<RemotePicture>| {
            for sender in waiting.remove(user).unwrap_or_default() {
                let _: std::result::Result<(), _> = oneshot::Sender::send(sender, result.clone());
            }
        };
        let _slot = self.inner.slots.acquire().await;
        if let [user] = order.as_slice() {
            self.note_api_call();
            let result = self.inner.layers.backend.fetch_user(user).await;
            return answer_all(user, &mut waiting, result);
        }
        self.debug(|| format!("{} user requests sent as one batch", order.len()));
        for chunk in order.chunks(self.inner.config.batch.max_ids) {
            self.note_api_call();
            match self.inner.layers.backend.fetch_batch(chunk).await {
                Ok(remotes) => {
                    for remote in remotes {
                        if let Some(user) = remote.user_id.clone() {
                            answer_all(&user, &mut waiting, Ok(remote));
                        }
                    }
                    for user in chunk {
                        let unknown = Error::Network {
                            status: 404,
                            request: "batch".into(),
                        };
                        answer_all(user, &mut waiting, Err(unknown));
                    }
                }
                Err(e) => chunk
                    .iter()
                    .for_each(|user| answer_all(user, &mut waiting, Err(e.clone()))),
            }
        }
    }
}

//! The second step of a `get`, when storage could not answer: the backend's description of the
//! picture (under a lock shared by every tab, so tabs do not fetch the same picture twice), then
//! its bytes from memory, IndexedDB or a download.

use std::rc::Rc;

use futures::channel::oneshot;
use futures::FutureExt;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::layers::{Download, Locks, RemotePicture};
use crate::policy::safe_url::is_web_url;
use crate::record::{ImageMeta, PictureRecord, StoredImage};
use crate::vocabulary::{Layer, Picture, Source};

use super::lookup::{Found, Lookup, Miss};
use super::trace::Trace;
use super::Hierarchy;

/// A record completed with its picture.
pub(super) struct Completed {
    /// The record, as stored.
    pub record: PictureRecord,
    /// The URL to hand out.
    pub url: String,
    /// Image bytes downloaded for it.
    pub bytes: u64,
}

/// Why an image's bytes are fetched.
#[derive(Clone, Copy)]
enum Need<'a> {
    /// Storage did not hold them when the load looked (memory may have received them since).
    Missing,
    /// Storage holds them past their freshness: ask object storage whether they changed
    /// (conditionally on their ETag, if they came with one).
    Stale(Option<&'a str>),
}

/// The outcome of a download, once the bytes are live.
#[derive(Clone)]
pub(super) enum Fetched {
    Image {
        url: String,
        bytes: u64,
        etag: Option<String>,
    },
    Opaque,
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// Everything below memory: storage, then the network.
    pub(super) async fn load(
        &self,
        user_id: &str,
        hint: Option<&str>,
        mut trace: Trace,
    ) -> Picture {
        let miss = match self.lookup(user_id, hint, &mut trace).await {
            Lookup::Found(found) => return self.answer(found, &trace, 0),
            Lookup::Missing(miss) => miss,
        };
        match self.inner.layers.locks.clone() {
            None => self.load_from_network(user_id, hint, trace, miss).await,
            Some(locks) => {
                self.load_under_lock(locks, user_id, hint, trace, miss)
                    .await
            }
        }
    }

    /// The network load of `user_id` while holding a lock shared by every tab: a tab that
    /// waited for it finds what the holder fetched in localStorage and IndexedDB and asks the
    /// network for nothing. The holder answers as soon as it can but keeps the lock until the
    /// image bytes are in IndexedDB.
    async fn load_under_lock(
        &self,
        locks: Rc<dyn Locks>,
        user_id: &str,
        hint: Option<&str>,
        trace: Trace,
        miss: Box<Miss>,
    ) -> Picture {
        let (answer_tx, answer_rx) = oneshot::channel();
        let this = self.clone();
        let (user, hint_owned) = (user_id.to_string(), hint.map(str::to_string));
        // Until this load knows whether it needs the backend, a batch about to go out waits
        // for it (locks are granted one event-loop turn at a time).
        self.inner.batcher.heading();
        let task = async move {
            let hint = hint_owned.as_deref();
            let mut trace = trace;
            let again = this.look_again(&user, hint, &mut trace, miss).await;
            this.inner.batcher.arrived();
            let picture = match again {
                Lookup::Found(found) => this.answer(found, &trace, 0),
                Lookup::Missing(miss) => this.load_from_network(&user, hint, trace, miss).await,
            };
            let image_id = picture.image_id.clone();
            let _ = answer_tx.send(picture);
            if let Some(id) = image_id {
                this.inner.write_behind.written(&id).await;
            }
        };
        let name = format!("avatar-cache:{}", self.inner.keys.record_key(user_id));
        self.inner
            .layers
            .runtime
            .spawn(locks.exclusive(name, task.boxed_local()));
        match answer_rx.await {
            Ok(picture) => picture,
            Err(_) => self.fallback(user_id, &trace, None),
        }
    }

    /// Asks the backend, then completes the picture (stored bytes or a download). Falls back to
    /// the stale picture storage saw, or the default picture, on any failure.
    pub(super) async fn load_from_network(
        &self,
        user_id: &str,
        hint: Option<&str>,
        mut trace: Trace,
        miss: Box<Miss>,
    ) -> Picture {
        if !self.is_current(&trace) {
            // A load of a session that ended (a clear, a close) asks the network nothing: its
            // answer would be thrown away, and gets made since start their own loads.
            return self.fallback(user_id, &trace, None);
        }
        trace.asked(Layer::Network);
        let now = self.now();
        if let Some(record) = miss.known {
            if let Some((url, bytes, etag)) = self
                .download_image(&record, Need::Missing, now, &trace)
                .await
            {
                let record = PictureRecord {
                    etag: etag.or(record.etag.clone()),
                    ..record
                };
                self.store_record(record.clone(), &trace);
                return self.network_answer(Completed { record, url, bytes }, &trace);
            }
        }
        if !self.is_current(&trace) {
            return self.fallback(user_id, &trace, None);
        }
        let outcome = match self.describe(user_id, hint).await {
            Ok(remote) => {
                let record = self.record_from_remote(user_id, remote, now);
                self.complete(record, now, miss.missing_image.as_deref(), &trace)
                    .await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(done) => self.network_answer(done, &trace),
            Err(_) if !self.is_current(&trace) => self.fallback(user_id, &trace, None),
            Err(e) => {
                self.inner.telemetry.error(Layer::Network, &e);
                self.fallback_after_wait(user_id, &trace, miss.fallback)
                    .await
            }
        }
    }

    /// The backend's description of `user_id`'s picture (of image `hint` when the app named
    /// one). An answer about another user is a bad answer.
    pub(super) async fn describe(
        &self,
        user_id: &str,
        hint: Option<&str>,
    ) -> Result<RemotePicture> {
        let remote = match hint {
            Some(h) => {
                self.inner.telemetry.api_call();
                let answer = self.inner.layers.backend.fetch_image_info(h).await;
                answer.map(|r| RemotePicture {
                    image_id: Some(h.to_string()),
                    ..r
                })?
            }
            None => self.inner.batcher.fetch_user(user_id).await?,
        };
        if remote.user_id.as_deref().is_some_and(|u| u != user_id) {
            return Err(Error::BadResponse {
                reason: "answer names another user".into(),
            });
        }
        if !is_web_url(&remote.url) {
            return Err(Error::BadResponse {
                reason: "the picture's url is not http(s)".into(),
            });
        }
        Ok(remote)
    }

    /// Completes a record fresh from the backend: finds its bytes in memory or IndexedDB (no
    /// download; not looked for again when the lookup already missed that image) or downloads
    /// them, then writes the record to every layer.
    pub(super) async fn complete(
        &self,
        record: PictureRecord,
        now: Millis,
        known_missing: Option<&str>,
        trace: &Trace,
    ) -> Result<Completed> {
        let Some(image_id) = record.image_id.clone() else {
            let url = self.inner.config.default_image_url.clone();
            self.store_record(record.clone(), trace);
            return Ok(Completed {
                record,
                url,
                bytes: 0,
            });
        };
        let probe = PictureRecord {
            opaque: false,
            ..record.clone()
        };
        let stored = if known_missing == Some(image_id.as_str()) {
            None
        } else {
            let mut ignored = *trace;
            self.find_image(&probe, now, &mut ignored).await
        };
        if let Some(found) = stored {
            let mut done = Completed {
                record,
                url: found.url,
                bytes: 0,
            };
            // Stored bytes past their freshness: ask object storage whether they changed.
            if found.stale {
                match self
                    .download_image(&done.record, Need::Stale(found.etag.as_deref()), now, trace)
                    .await
                {
                    Some((url, bytes, etag)) => {
                        done.record.etag = etag;
                        (done.url, done.bytes) = (url, bytes);
                    }
                    None => {
                        // The stored copy stays the answer; memory may have evicted it during
                        // the download (revoking the URL found before), so it is looked up again.
                        let mut ignored = *trace;
                        done.url = match self.find_image(&probe, self.now(), &mut ignored).await {
                            Some(image) => image.url,
                            None => self.inner.config.default_image_url.clone(),
                        };
                    }
                }
            }
            self.store_record(done.record.clone(), trace);
            return Ok(done);
        }
        let done = match self.fetch_bytes(&record, Need::Missing, now, trace).await? {
            Fetched::Image { url, bytes, etag } => Completed {
                record: PictureRecord { etag, ..record },
                url,
                bytes,
            },
            Fetched::Opaque => {
                let record = PictureRecord {
                    opaque: true,
                    ..record
                };
                Completed {
                    url: record.remote_url.clone(),
                    record,
                    bytes: 0,
                }
            }
        };
        self.store_record(done.record.clone(), trace);
        Ok(done)
    }

    /// Fetches the bytes of `record`. `None` on failure (counted) or when the bytes cannot be
    /// read.
    async fn download_image(
        &self,
        record: &PictureRecord,
        need: Need<'_>,
        now: Millis,
        trace: &Trace,
    ) -> Option<(String, u64, Option<String>)> {
        match self.fetch_bytes(record, need, now, trace).await {
            Ok(Fetched::Image { url, bytes, etag }) => Some((url, bytes, etag)),
            Ok(Fetched::Opaque) => None,
            // A session that ended during the download stored nothing: not a fault.
            Err(_) if !self.is_current(trace) => None,
            Err(e) => {
                self.inner.telemetry.error(Layer::Network, &e);
                None
            }
        }
    }

    /// The bytes of the image `image_id` at `url` (a storage URL no record names), live: the
    /// same one-download-per-image path as a user's picture, so a storage `<img>` and a get of
    /// that image share one download.
    pub(super) async fn fetch_bytes_at(
        &self,
        image_id: &str,
        url: &str,
        now: Millis,
        trace: &Trace,
    ) -> Result<Fetched> {
        let record = PictureRecord {
            user_id: String::new(),
            image_id: Some(image_id.to_string()),
            remote_url: url.to_string(),
            url_expires_at: Millis::INFINITY,
            fetched_at: now,
            etag: None,
            version: self.inner.config.version,
            opaque: false,
            thumbhash: None,
        };
        self.fetch_bytes(&record, Need::Missing, now, trace).await
    }

    /// The bytes of `record`'s image, live: one download per image at a time. Users sharing
    /// an image (a team logo) asked for at once wait for the same download, or find its bytes
    /// in memory when it finished since they looked, and are handed the same object URL: a
    /// second download would replace memory's copy and revoke the URL the first was handed.
    async fn fetch_bytes(
        &self,
        record: &PictureRecord,
        need: Need<'_>,
        now: Millis,
        trace: &Trace,
    ) -> Result<Fetched> {
        let image_id = record.image_id.clone().ok_or_else(|| Error::BadResponse {
            reason: "no image to download".into(),
        })?;
        if !self.is_current(trace) {
            // The session ended while this load asked the backend: a download it started now
            // would be joined by the loads of the next session, and store nothing for them.
            return Err(Error::Closed);
        }
        let downloads = &self.inner.downloads;
        if let Some(download) = downloads.joined(image_id.as_str()) {
            // Nothing was downloaded for this caller.
            return match download.outcome().await? {
                Fetched::Image { url, etag, .. } => Ok(Fetched::Image {
                    url,
                    bytes: 0,
                    etag,
                }),
                Fetched::Opaque => Ok(Fetched::Opaque),
            };
        }
        let stale = matches!(need, Need::Stale(_));
        let etag = match need {
            Need::Stale(etag) => etag.map(str::to_string),
            Need::Missing => match self.held_image(&image_id, now) {
                Some(held) => {
                    return Ok(Fetched::Image {
                        url: held.url,
                        bytes: 0,
                        etag: held.etag,
                    });
                }
                None => None,
            },
        };
        let id = downloads.next_id();
        let (this, record, trace) = (self.clone(), record.clone(), *trace);
        let key = image_id.clone();
        let download = async move {
            let fetched = this
                .download_bytes(&record, &image_id, etag.as_deref(), stale, now, &trace)
                .await;
            this.inner.downloads.finished(image_id.as_str(), id);
            fetched
        };
        downloads.start(key, id, download).outcome().await
    }

    /// Downloads the bytes of `record` (image `image_id`; `stale`: revalidating stored bytes,
    /// conditionally on `etag`) within a network slot and makes them live: new bytes are stored
    /// (memory now, IndexedDB behind); a 304 renews the stored ones.
    async fn download_bytes(
        &self,
        record: &PictureRecord,
        image_id: &str,
        etag: Option<&str>,
        stale: bool,
        now: Millis,
        trace: &Trace,
    ) -> Result<Fetched> {
        let download = {
            let _slot = self.inner.slots.acquire().await;
            // A logout while this download waited for its slot: its bytes would be dropped.
            if !self.is_current(trace) {
                return Err(Error::Closed);
            }
            self.inner.telemetry.download();
            self.inner
                .layers
                .backend
                .download(&record.remote_url, etag)
                .await?
        };
        let unusable = || Error::BadResponse {
            reason: "image could not be made into a URL".into(),
        };
        match download {
            Download::Image {
                body,
                mime,
                bytes,
                etag,
            } => {
                self.inner.telemetry.downloaded(bytes);
                let meta = self.image_meta(image_id, mime, bytes, etag.clone(), now);
                // Memory may have received the same image while this download ran (read from
                // IndexedDB after another tab wrote it, for another user): its URL may be
                // handed out already, so it stays. Bytes that changed replace it.
                let held = self
                    .inner
                    .memory
                    .borrow()
                    .image_untouched(image_id)
                    .map(|i| !stale || (i.etag.is_some() && i.etag == etag));
                match held {
                    Some(true) => {
                        if stale {
                            self.inner.memory.borrow_mut().renew_image(image_id, now);
                            self.write_behind_image(StoredImage { meta, body }, trace);
                        }
                    }
                    _ => {
                        self.store_image(StoredImage { meta, body }, false, trace)
                            .await;
                    }
                }
                if !self.is_current(trace) {
                    // Stored nothing: the session ended during the download.
                    return Err(Error::Closed);
                }
                let live = self
                    .live_image(image_id, now, Source::NETWORK)
                    .ok_or_else(unusable)?;
                Ok(Fetched::Image {
                    url: live.url,
                    bytes,
                    // The tag of the bytes handed out: memory's, when it kept its copy.
                    etag: live.etag,
                })
            }
            Download::NotModified => {
                // The bytes held are current: they count as fresh from now on. Memory's copy
                // answers when it holds one (IndexedDB may be off or lost); IndexedDB's row is
                // renewed behind it, or adopted when memory has none.
                let in_memory = self.inner.memory.borrow_mut().renew_image(image_id, now);
                let stored = match self.available_images() {
                    None => None,
                    Some(images) => match images.get(image_id).await {
                        Ok(stored) => stored,
                        Err(e) if in_memory => {
                            self.inner.telemetry.error(Layer::IndexedDb, &e);
                            None
                        }
                        Err(e) => return Err(e),
                    },
                };
                if let Some(stored) = stored {
                    let renewed = StoredImage {
                        meta: ImageMeta {
                            stored_at: now,
                            last_access: now,
                            ..stored.meta
                        },
                        body: stored.body,
                    };
                    if !in_memory {
                        self.adopt_stored(renewed.clone(), now, trace);
                    }
                    self.write_behind_image(renewed, trace);
                } else if !in_memory {
                    return Err(Error::BadResponse {
                        reason: "304 without stored bytes".into(),
                    });
                }
                let live = self
                    .live_image(image_id, now, Source::NETWORK)
                    .ok_or_else(unusable)?;
                Ok(Fetched::Image {
                    url: live.url,
                    bytes: 0,
                    etag: live.etag,
                })
            }
            Download::Opaque => Ok(Fetched::Opaque),
        }
    }

    fn network_answer(&self, done: Completed, trace: &Trace) -> Picture {
        let found = Found {
            record: done.record,
            url: done.url,
            source: Source::NETWORK,
            stale: false,
        };
        self.answer(found, trace, done.bytes)
    }
}

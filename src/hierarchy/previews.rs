//! ThumbHash previews: `placeholder(userId)` and `Picture.placeholder`, and the hashing that
//! feeds them.
//!
//! After a download or an upload, the image is decoded at small size ([`Thumbnails`]) and hashed
//! in the background, never delaying the answer; the hash goes into the user's record (memory and
//! localStorage) if the record still names that image, and into the image's IndexedDB row. A hash
//! in the backend's answer is used instead. A record that is replaced by one for the same image
//! (a revalidation) keeps its hash.
//!
//! `placeholder` answers from the record in memory, else from the user's record in localStorage,
//! read once (at the first call about that user: one key, not every record); a record without a hash takes
//! the one its image's row holds (the image store knows them without a transaction). So a record
//! that lost its hash (localStorage full, written by older code), or a context without
//! localStorage (the service worker keeps records in IndexedDB), still has the preview. Rendered
//! URLs are kept per hash, so asking again costs a map lookup.

use crate::collections::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::FutureExt;

use crate::layers::Thumbnails;
use crate::policy::placeholder;
use crate::record::PictureRecord;
use crate::vocabulary::Layer;

use super::trace::Trace;
use super::Hierarchy;

/// At most this many rendered URLs and computed hashes are kept (each map is emptied past it).
const MAX_KEPT: usize = 4_096;

/// How long the IndexedDB write of a new image waits for its hash, being computed, so that one
/// write stores both: decoding at small size takes 1–3 ms, and a write issued beside it made
/// it about twice as slow (both read the same Blob), besides costing a second transaction.
pub(super) const ROW_WAITS_FOR_HASH_MS: f64 = 100.0;

/// What localStorage held for a user: the record's image and its hash if it has one (`None`:
/// no usable record).
type StoredPreview = Option<(String, Option<String>)>;

/// The previews' state: the decoder, what localStorage held for the users asked about, rendered
/// URLs.
pub(super) struct Previews<I> {
    thumbnails: RefCell<Option<Rc<dyn Thumbnails<I>>>>,
    /// user → the image of the record localStorage held (empty: no usable record), read at the
    /// first `placeholder` call about the user. Kept apart from the hashes, in the map type the
    /// other string maps use (one copy of its code in the `.wasm`).
    stored_images: RefCell<HashMap<String, String>>,
    /// user → the hash of that record, if it had one.
    stored_hashes: RefCell<HashMap<String, String>>,
    /// hash → its data URL (empty: malformed; a data URL never is).
    rendered: RefCell<HashMap<String, String>>,
    /// image → hash known in this session: computed, or noted while the image's row was written.
    computed: RefCell<HashMap<String, String>>,
    /// images being hashed, with whoever waits for the hash.
    pending: RefCell<HashMap<String, Vec<oneshot::Sender<()>>>>,
    /// images whose IndexedDB write is under way and will store the hash known when it starts
    /// (or write it after): how many such writes.
    row_writes: RefCell<HashMap<String, u32>>,
}

impl<I> Default for Previews<I> {
    fn default() -> Self {
        Previews {
            thumbnails: RefCell::new(None),
            stored_images: RefCell::default(),
            stored_hashes: RefCell::default(),
            rendered: RefCell::default(),
            computed: RefCell::default(),
            pending: RefCell::default(),
            row_writes: RefCell::default(),
        }
    }
}

impl<I> Previews<I> {
    /// Forgets what was read and computed (after `clear` or `close`); rendered URLs stay (they
    /// depend on the hash alone).
    pub(super) fn forget_all(&self) {
        self.stored_images.borrow_mut().clear();
        self.stored_hashes.borrow_mut().clear();
        self.computed.borrow_mut().clear();
        self.pending.borrow_mut().clear();
    }

    /// Forgets what localStorage held for `user_id` (the record was forgotten).
    pub(super) fn forget(&self, user_id: &str) {
        self.stored_images.borrow_mut().remove(user_id);
        self.stored_hashes.borrow_mut().remove(user_id);
    }

    /// What localStorage held for `user_id`, if it was read.
    fn stored(&self, user_id: &str) -> Option<StoredPreview> {
        let image = self.stored_images.borrow().get(user_id)?.clone();
        let hash = self.stored_hashes.borrow().get(user_id).cloned();
        Some(Some((image, hash)).filter(|(image, _)| !image.is_empty()))
    }

    /// Keeps what localStorage held for `user_id`.
    fn keep_stored(&self, user_id: &str, held: &StoredPreview) {
        let (mut images, mut hashes) = (
            self.stored_images.borrow_mut(),
            self.stored_hashes.borrow_mut(),
        );
        if images.len() >= MAX_KEPT {
            images.clear();
            hashes.clear();
        }
        let (image, hash) = held.clone().unwrap_or_default();
        images.insert(user_id.to_string(), image);
        match hash {
            Some(hash) => hashes.insert(user_id.to_string(), hash),
            None => hashes.remove(user_id),
        };
    }

    /// Resolves once `image` is no longer being hashed (at once if it is not); the hash, if it
    /// was computed, is then in [`Previews::computed_hash`].
    pub(super) fn hashed(&self, image: &str) -> Option<oneshot::Receiver<()>> {
        let mut pending = self.pending.borrow_mut();
        let waiters = pending.get_mut(image)?;
        let (done, hashed) = oneshot::channel();
        waiters.push(done);
        Some(hashed)
    }

    /// The hash known in this session for `image` (see [`Previews::note_hash`]).
    pub(super) fn computed_hash(&self, image: &str) -> Option<String> {
        self.computed.borrow().get(image).cloned()
    }

    /// Notes `hash` as `image`'s: computed here, or from the backend's answer while the image's
    /// row was being written.
    fn note_hash(&self, image: &str, hash: &str) {
        let mut computed = self.computed.borrow_mut();
        if computed.len() >= MAX_KEPT {
            computed.clear();
        }
        computed.insert(image.to_string(), hash.to_string());
    }

    /// Notes that a write of `image`'s row has started: the hash goes with it.
    pub(super) fn row_write_started(&self, image: &str) {
        *self
            .row_writes
            .borrow_mut()
            .entry(image.to_string())
            .or_default() += 1;
    }

    /// Notes that a write of `image`'s row has ended.
    pub(super) fn row_write_ended(&self, image: &str) {
        let mut writes = self.row_writes.borrow_mut();
        if let Some(count) = writes.get_mut(image) {
            *count -= 1;
            if *count == 0 {
                writes.remove(image);
            }
        }
    }

    /// Whether a write of `image`'s row is under way.
    fn row_being_written(&self, image: &str) -> bool {
        self.row_writes.borrow().contains_key(image)
    }

    /// Ends the hashing of `image`: whoever waits is woken.
    fn hashing_done(&self, image: &str) {
        let waiters = self.pending.borrow_mut().remove(image);
        for done in waiters.unwrap_or_default() {
            let _ = done.send(());
        }
    }

    /// The data URL of `hash`, rendered once.
    fn render(&self, hash: &str) -> Option<String> {
        let known = self.rendered.borrow().get(hash).cloned();
        let url = known.unwrap_or_else(|| {
            let url = placeholder::render_data_url(hash).unwrap_or_default();
            let mut rendered = self.rendered.borrow_mut();
            if rendered.len() >= MAX_KEPT {
                rendered.clear();
            }
            rendered.insert(hash.to_string(), url.clone());
            url
        });
        Some(url).filter(|url| !url.is_empty())
    }
}

impl<I: Clone + 'static> Hierarchy<I> {
    /// Sets the decoder used to hash downloaded and uploaded images (`None`: no hashing; hashes
    /// from the backend's answers are still used).
    pub fn set_thumbnails(&self, thumbnails: Option<Rc<dyn Thumbnails<I>>>) {
        *self.inner.previews.thumbnails.borrow_mut() = thumbnails;
    }

    /// A `data:` URL of a tiny preview of `user_id`'s picture (ThumbHash), synchronous: from the
    /// record in memory, else from the record localStorage held; a record without a hash takes
    /// the one the image store knows for its image (read when it opened). `None` when no hash is
    /// known. Never waits for IndexedDB or the network; never counts as a get.
    pub fn placeholder(&self, user_id: &str) -> Option<String> {
        if self.inner.closed.get() {
            return None;
        }
        let image_in_memory = {
            let memory = self.inner.memory.borrow();
            match memory.record_untouched(user_id) {
                Some(m) => match (&m.record.thumbhash, &m.record.image_id) {
                    (Some(hash), Some(_)) => {
                        let hash = hash.clone();
                        drop(memory);
                        return self.inner.previews.render(&hash);
                    }
                    (_, None) => return None,
                    (None, Some(id)) => Some(id.clone()),
                },
                None => None,
            }
        };
        let (image, hash) = match (self.stored_preview(user_id), image_in_memory) {
            (Some((image, hash)), None) => (image, hash),
            (Some((image, hash)), Some(id)) if image == id => (id, hash),
            (_, Some(id)) => (id, None),
            (None, None) => return None,
        };
        let hash = hash.or_else(|| self.available_images()?.thumbhash(&image))?;
        self.inner.previews.render(&hash)
    }

    /// The hash of `record`'s preview: its own, or the one its image's row holds.
    pub(super) fn preview_hash(&self, record: &PictureRecord) -> Option<String> {
        let image = record.image_id.as_deref()?;
        match &record.thumbhash {
            Some(hash) => Some(hash.clone()),
            None if record.opaque => None,
            None => self.available_images()?.thumbhash(image),
        }
        .filter(|hash| placeholder::is_valid(hash))
    }

    /// The `data:` URL of the preview `hash` renders (each hash rendered once, then kept), or
    /// `None` for a malformed hash.
    pub fn render_preview(&self, hash: &str) -> Option<String> {
        self.inner.previews.render(hash)
    }

    /// What localStorage holds for `user_id`, read once (one key, not every record: the first
    /// preview after a reload costs what the others do).
    fn stored_preview(&self, user_id: &str) -> StoredPreview {
        if let Some(held) = self.inner.previews.stored(user_id) {
            return held;
        }
        let held = self
            .inner
            .layers
            .local
            .as_ref()
            .and_then(|local| local.get(user_id).ok().flatten())
            .and_then(|r| Some((r.image_id?, r.thumbhash)));
        self.inner.previews.keep_stored(user_id, &held);
        held
    }

    /// Gives `record` the hash already known for its image: the one memory's record for the user
    /// has, one computed in this session, the one localStorage held, or the one in the image's
    /// IndexedDB row.
    pub(super) fn attach_preview(&self, record: &mut PictureRecord) {
        let Some(image) = record.image_id.as_deref() else {
            return;
        };
        if record.thumbhash.is_some() || record.opaque {
            return;
        }
        let from_memory = self
            .inner
            .memory
            .borrow()
            .record_untouched(&record.user_id)
            .filter(|m| m.record.image_id.as_deref() == Some(image))
            .and_then(|m| m.record.thumbhash.clone());
        record.thumbhash = from_memory
            .or_else(|| self.inner.previews.computed.borrow().get(image).cloned())
            .or_else(|| {
                let (id, hash) = self.inner.previews.stored(&record.user_id)??;
                (id == image).then_some(hash)?
            })
            .or_else(|| self.available_images()?.thumbhash(image));
    }

    /// Brings a record read from storage and its image's row into agreement about the hash
    /// (`from_local`: the record came from localStorage): a record without one takes the row's
    /// (written back to localStorage), a row without one takes the record's; when neither has
    /// one (stored before previews existed), the image, now in memory, is hashed.
    pub(super) fn settle_preview(
        &self,
        record: &mut PictureRecord,
        from_local: bool,
        trace: &Trace,
    ) {
        let Some(image) = record.image_id.clone() else {
            return;
        };
        if record.opaque || !self.is_current(trace) {
            return;
        }
        if let Some(hash) = &record.thumbhash {
            self.hash_into_row(&image, hash, trace);
            return;
        }
        self.attach_preview(record);
        match record.thumbhash.clone() {
            Some(hash) if from_local => self.keep_hash(&record.user_id, &image, &hash, trace),
            Some(_) => {}
            None => self.hash_in_background(record, trace),
        }
    }

    /// Writes `hash` into the IndexedDB row of `image` in the background, unless the row is
    /// known to have one. Never creates a row.
    pub(super) fn hash_into_row(&self, image: &str, hash: &str, trace: &Trace) {
        let Some(images) = self.available_images() else {
            return;
        };
        if images.thumbhash(image).is_some() || !self.is_current(trace) {
            return;
        }
        // A write of the row under way stores the hash (or writes it after: see `write_row`).
        if self.inner.previews.row_being_written(image) {
            self.inner.previews.note_hash(image, hash);
            return;
        }
        self.write_hash_into_row(image, hash, trace);
    }

    /// Writes `hash` into the IndexedDB row of `image` in the background, now.
    pub(super) fn write_hash_into_row(&self, image: &str, hash: &str, trace: &Trace) {
        let Some(images) = self.available_images() else {
            return;
        };
        let (this, image, hash, trace) =
            (self.clone(), image.to_string(), hash.to_string(), *trace);
        self.inner.layers.runtime.spawn(
            async move {
                if !this.is_current(&trace) {
                    return;
                }
                if let Err(e) = images.set_thumbhash(&image, &hash).await {
                    this.inner.telemetry.error(Layer::IndexedDb, &e);
                }
            }
            .boxed_local(),
        );
    }

    /// Hashes the image of `record` in the background when the record has no hash and memory
    /// holds the image's bytes; the hash is then written into the record (memory and
    /// localStorage) if it still names that image.
    pub(super) fn hash_in_background(&self, record: &PictureRecord, trace: &Trace) {
        if record.thumbhash.is_some() || record.opaque {
            return;
        }
        let Some(image) = record.image_id.clone() else {
            return;
        };
        let Some(thumbnails) = self.inner.previews.thumbnails.borrow().clone() else {
            return;
        };
        let Some(body) = self
            .inner
            .memory
            .borrow()
            .image_untouched(&image)
            .map(|m| m.body.clone())
        else {
            return;
        };
        {
            let mut pending = self.inner.previews.pending.borrow_mut();
            if pending.contains_key(&image) {
                return;
            }
            pending.insert(image.clone(), Vec::new());
        }
        let (this, user, trace) = (self.clone(), record.user_id.clone(), *trace);
        let started = self.inner.telemetry.monotonic_ms();
        self.inner.layers.runtime.spawn(
            async move {
                let small = thumbnails.decode(body).await;
                let hash = small.and_then(|s| placeholder::hash_rgba(s.width, s.height, &s.rgba));
                match hash {
                    None => this
                        .inner
                        .telemetry
                        .debug(|| format!("{image}: no preview (the image did not decode)")),
                    Some(hash) if this.is_current(&trace) => {
                        this.inner.previews.note_hash(&image, &hash);
                        this.keep_hash(&user, &image, &hash, &trace);
                        let ms = this.inner.telemetry.monotonic_ms() - started;
                        this.inner.telemetry.previewed(&user, &image, ms.max(0.0));
                    }
                    Some(_) => {}
                }
                this.inner.previews.hashing_done(&image);
            }
            .boxed_local(),
        );
    }

    /// Writes `hash` into the records of `user` that still name `image` and have none: memory's,
    /// and the one localStorage holds now (read back: another tab may have stored a newer one);
    /// and into the image's IndexedDB row. A record localStorage does not hold (evicted, skipped
    /// when full, removed) is not written.
    fn keep_hash(&self, user: &str, image: &str, hash: &str, trace: &Trace) {
        self.hash_into_row(image, hash, trace);
        self.inner
            .memory
            .borrow_mut()
            .set_thumbhash(user, image, hash);
        let Some(local) = &self.inner.layers.local else {
            return;
        };
        let mut record = match local.get(user) {
            Ok(Some(r)) if r.image_id.as_deref() == Some(image) && r.thumbhash.is_none() => r,
            Ok(_) => return,
            Err(e) => {
                self.inner.telemetry.error(Layer::Local, &e);
                return;
            }
        };
        record.thumbhash = Some(hash.to_string());
        match local.put_if_room(&record) {
            Ok(()) => {}
            // A full localStorage keeps the record without its hash: no record is evicted for it.
            Err(crate::error::Error::QuotaExceeded { .. }) => self
                .inner
                .telemetry
                .debug(|| format!("{user}: preview hash not stored (localStorage is full)")),
            Err(e) => self.inner.telemetry.error(Layer::Local, &e),
        }
    }
}

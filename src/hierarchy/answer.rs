//! The last step of a `get`: the [`Picture`] handed to the caller, counted by telemetry.

use crate::vocabulary::{Picture, Source};

use super::lookup::Found;
use super::trace::Trace;
use super::Hierarchy;

impl<I: Clone + 'static> Hierarchy<I> {
    /// Answers with `found`; `bytes` were downloaded for it. Work whose session ended (a
    /// `clear()` or `close()` since it started) answers the default picture: what it found
    /// belongs to the session before and its object URL is revoked.
    pub(super) fn answer(&self, found: Found, trace: &Trace, bytes: u64) -> Picture {
        if !self.is_current(trace) {
            return self.fallback(&found.record.user_id, trace, None);
        }
        let load_ms = self.inner.telemetry.answered(
            &found.record.user_id,
            found.source,
            found.stale,
            trace,
            bytes,
        );
        Picture {
            thumbhash: self.preview_hash(&found.record),
            user_id: found.record.user_id,
            image_id: found.record.image_id,
            url: found.url,
            source: found.source,
            stale: found.stale,
            load_ms,
            downloaded: bytes > 0,
        }
    }

    /// Answers with the stale picture storage saw, else the default picture.
    pub(super) fn fallback(&self, user_id: &str, trace: &Trace, stale: Option<Found>) -> Picture {
        match stale {
            Some(found) => self.answer(
                Found {
                    stale: true,
                    ..found
                },
                trace,
                0,
            ),
            None => {
                self.inner
                    .telemetry
                    .answered(user_id, Source::Default, false, trace, 0);
                self.default_picture(user_id, trace)
            }
        }
    }

    /// Answers with the stale picture storage saw before the network was asked, its image
    /// looked up again: memory may have evicted it meanwhile (other pictures came in while the
    /// backend was slow or offline), which revoked the object URL found then. Read again from
    /// IndexedDB when memory let it go; the default picture when it is gone from there too.
    pub(super) async fn fallback_after_wait(
        &self,
        user_id: &str,
        trace: &Trace,
        stale: Option<Found>,
    ) -> Picture {
        let Some(mut found) = stale else {
            return self.fallback(user_id, trace, None);
        };
        let owned_url = found.record.image_id.is_some() && !found.record.opaque;
        if owned_url && self.is_current(trace) {
            let mut ignored = *trace;
            match self
                .find_image(&found.record, self.now(), &mut ignored)
                .await
            {
                Some(image) => found.url = image.url,
                None => return self.fallback(user_id, trace, None),
            }
        }
        self.fallback(user_id, trace, Some(found))
    }

    /// The default picture, not counted as a get (after `close`).
    pub(super) fn default_picture(&self, user_id: &str, trace: &Trace) -> Picture {
        Picture {
            user_id: user_id.to_string(),
            image_id: None,
            url: self.inner.config.default_image_url.clone(),
            source: Source::Default,
            stale: false,
            load_ms: self.inner.telemetry.elapsed(trace),
            downloaded: false,
            thumbhash: None,
        }
    }
}

//! The memory layer: user → picture record, image → body and object URL, both LRU-bounded.
//!
//! Pure Rust, synchronous: `peek` reads it on the first frame. An image's object URL is made
//! the first time it is asked for (a prefetch that only warms memory makes none). The layer
//! never revokes a URL itself; it tells the caller which URLs fell out (evicted or replaced) so
//! the caller revokes them through [`super::ObjectUrls`]. A URL leaves this map before it is
//! revoked, so a revoked URL is never handed out again.

use crate::collections::HashMap;

use crate::clock::Millis;
use crate::config::Config;
use crate::policy::lru::{Budget, LruIndex};
use crate::record::PictureRecord;

/// A record held in memory, with the time it stops being fresh.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRecord {
    /// The record.
    pub record: PictureRecord,
    /// Until when the record counts as fresh (ms since epoch).
    pub fresh_until: Millis,
}

/// An image held in memory: its body and, once asked for, its object URL.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryImage<I> {
    /// The URL handed out (an object URL owned by the cache, or a `data:` URL of the bytes);
    /// `None` until first asked for.
    pub url: Option<String>,
    /// The body the URL is made from.
    pub body: I,
    /// What the image costs memory, counted against its byte budget: its size, plus its URL
    /// where the URL carries the bytes (see [`crate::layers::ObjectUrls::held_bytes`]).
    pub bytes: u64,
    /// When the image bytes were downloaded (for the IndexedDB freshness they came with).
    pub stored_at: Millis,
    /// The ETag object storage sent, if any.
    pub etag: Option<String>,
}

/// The memory layer's two maps and their LRU bookkeeping.
#[derive(Debug)]
pub struct MemoryLayer<I> {
    records: HashMap<String, MemoryRecord>,
    record_order: LruIndex<String>,
    images: HashMap<String, MemoryImage<I>>,
    image_order: LruIndex<String>,
    record_ttl_ms: Millis,
    outer_ttl_ms: Option<Millis>,
}

impl<I> MemoryLayer<I> {
    /// A memory layer bounded by `config.memory` (entries for records; entries and bytes for
    /// images).
    pub fn new(config: &Config) -> Self {
        let records = Budget {
            max_entries: config.memory.max_entries,
            max_bytes: u64::MAX,
        };
        let images = Budget {
            max_entries: config.memory.max_entries,
            max_bytes: config.memory.max_bytes,
        };
        MemoryLayer {
            records: HashMap::default(),
            record_order: LruIndex::new(records),
            images: HashMap::default(),
            image_order: LruIndex::new(images),
            record_ttl_ms: config.memory.ttl_ms,
            outer_ttl_ms: config.local.enabled.then_some(config.local.ttl_ms),
        }
    }

    /// The record of `user_id`, fresh or not, marking it recently used.
    pub fn record(&mut self, user_id: &str, now: Millis) -> Option<&MemoryRecord> {
        if self.record_order.touch(user_id, now) {
            self.records.get(user_id)
        } else {
            None
        }
    }

    /// The record of `user_id` without touching the LRU order (for diagnostics and peeks that
    /// should not reorder).
    pub fn record_untouched(&self, user_id: &str) -> Option<&MemoryRecord> {
        self.records.get(user_id)
    }

    /// Stores `record` (received or confirmed at `now`). It stays fresh for the memory TTL, but
    /// never longer than the localStorage TTL counted from when the backend sent it, so a
    /// promotion from localStorage does not extend a record's life.
    pub fn put_record(&mut self, record: PictureRecord, now: Millis) {
        let mut fresh_until = now + self.record_ttl_ms;
        if let Some(outer) = self.outer_ttl_ms {
            fresh_until = fresh_until.min(record.fetched_at + outer);
        }
        let user = record.user_id.clone();
        for evicted in self.record_order.insert(user.clone(), 1, now) {
            self.records.remove(&evicted);
        }
        self.records.insert(
            user,
            MemoryRecord {
                record,
                fresh_until,
            },
        );
    }

    /// Sets the ThumbHash of the record of `user_id` if it still names `image_id` and has none;
    /// its freshness and LRU place do not change. Returns the updated record.
    pub fn set_thumbhash(
        &mut self,
        user_id: &str,
        image_id: &str,
        thumbhash: &str,
    ) -> Option<PictureRecord> {
        let entry = self.records.get_mut(user_id)?;
        let record = &mut entry.record;
        if record.image_id.as_deref() != Some(image_id) || record.thumbhash.is_some() {
            return None;
        }
        record.thumbhash = Some(thumbhash.to_string());
        Some(record.clone())
    }

    /// Forgets the record of `user_id` (its image stays: other users or a later get may use it).
    pub fn remove_record(&mut self, user_id: &str) -> Option<PictureRecord> {
        self.record_order.remove(user_id);
        self.records.remove(user_id).map(|r| r.record)
    }

    /// The image `image_id`, marking it recently used.
    pub fn image(&mut self, image_id: &str, now: Millis) -> Option<&MemoryImage<I>> {
        if self.image_order.touch(image_id, now) {
            self.images.get(image_id)
        } else {
            None
        }
    }

    /// The image `image_id` without touching the LRU order.
    pub fn image_untouched(&self, image_id: &str) -> Option<&MemoryImage<I>> {
        self.images.get(image_id)
    }

    /// The object URL of `image_id`, marking it recently used; made with `create` the first
    /// time. `None` if memory does not hold the image or the URL cannot be made.
    pub fn image_url<E>(
        &mut self,
        image_id: &str,
        now: Millis,
        create: impl FnOnce(&I) -> Result<String, E>,
    ) -> Option<String> {
        if !self.image_order.touch(image_id, now) {
            return None;
        }
        let image = self.images.get_mut(image_id)?;
        if image.url.is_none() {
            image.url = Some(create(&image.body).ok()?);
        }
        image.url.clone()
    }

    /// Stores an image. Returns the URLs that must now be revoked, with their image ids: the one
    /// it replaces, the ones evicted to make room, or its own if it is larger than the whole
    /// byte budget.
    pub fn put_image(
        &mut self,
        image_id: &str,
        image: MemoryImage<I>,
        now: Millis,
    ) -> Vec<(String, String)> {
        let mut dropped = Vec::new();
        if let Some(old) = self.images.remove(image_id) {
            if old.url != image.url {
                dropped.extend(old.url.map(|url| (image_id.to_string(), url)));
            }
        }
        let bytes = image.bytes;
        self.images.insert(image_id.to_string(), image);
        for evicted in self.image_order.insert(image_id.to_string(), bytes, now) {
            if let Some(img) = self.images.remove(&evicted) {
                dropped.extend(img.url.map(|url| (evicted, url)));
            }
        }
        dropped
    }

    /// Marks the bytes of `image_id` as confirmed current at `now` (a 304 from object storage);
    /// `false` if memory does not hold them.
    pub fn renew_image(&mut self, image_id: &str, now: Millis) -> bool {
        self.image_order.touch(image_id, now);
        match self.images.get_mut(image_id) {
            Some(image) => {
                image.stored_at = now;
                true
            }
            None => false,
        }
    }

    /// Forgets everything; returns every URL for revocation, with its image id.
    pub fn clear(&mut self) -> Vec<(String, String)> {
        self.records.clear();
        self.record_order.clear();
        self.image_order.clear();
        self.images
            .drain()
            .filter_map(|(id, i)| Some((id, i.url?)))
            .collect()
    }

    /// How many images are held.
    pub fn image_count(&self) -> usize {
        self.images.len()
    }

    /// How many object URLs are live.
    pub fn url_count(&self) -> usize {
        self.images.values().filter(|i| i.url.is_some()).count()
    }

    /// Bytes pinned by live object URLs.
    pub fn image_bytes(&self) -> u64 {
        self.image_order.bytes()
    }

    /// Every record held, for diagnostics.
    pub fn records(&self) -> impl Iterator<Item = &MemoryRecord> {
        self.records.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_entries: u64, max_bytes: u64) -> Config {
        Config::from_json(
            serde_json::json!({"memory": {"maxEntries": max_entries, "maxBytes": max_bytes}}),
        )
        .unwrap()
    }

    fn record(user: &str, fetched_at: Millis) -> PictureRecord {
        PictureRecord {
            user_id: user.into(),
            image_id: Some(format!("img-{user}")),
            remote_url: "https://s3/x".into(),
            url_expires_at: fetched_at + 3_600_000.0,
            fetched_at,
            etag: None,
            version: 1,
            opaque: false,
            thumbhash: None,
        }
    }

    fn image(url: &str, bytes: u64) -> MemoryImage<()> {
        MemoryImage {
            url: Some(url.into()),
            body: (),
            bytes,
            stored_at: 0.0,
            etag: None,
        }
    }

    #[test]
    fn promotion_does_not_extend_a_record_beyond_its_local_ttl() {
        let mut m = MemoryLayer::<()>::new(&config(10, 1000));
        let minute = 60_000.0;
        m.put_record(record("u", 0.0), 40.0 * minute);
        assert_eq!(
            m.record("u", 40.0 * minute).unwrap().fresh_until,
            45.0 * minute
        );
        m.put_record(record("v", 40.0 * minute), 40.0 * minute);
        assert_eq!(
            m.record("v", 40.0 * minute).unwrap().fresh_until,
            70.0 * minute
        );
    }

    #[test]
    fn records_are_bounded_by_entries_in_lru_order() {
        let mut m = MemoryLayer::<()>::new(&config(2, 1000));
        m.put_record(record("a", 0.0), 1.0);
        m.put_record(record("b", 0.0), 2.0);
        assert!(m.record("a", 3.0).is_some());
        m.put_record(record("c", 0.0), 4.0);
        assert!(m.record_untouched("b").is_none());
        assert!(m.record_untouched("a").is_some() && m.record_untouched("c").is_some());
    }

    #[test]
    fn evicted_and_replaced_images_are_returned_for_revocation() {
        let mut m = MemoryLayer::<()>::new(&config(10, 100));
        let dropped = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(id, url)| (id.to_string(), url.to_string()))
                .collect()
        };
        assert!(m.put_image("i1", image("blob:1", 60), 1.0).is_empty());
        assert_eq!(
            m.put_image("i1", image("blob:1b", 60), 2.0),
            dropped(&[("i1", "blob:1")])
        );
        assert_eq!(
            m.put_image("i2", image("blob:2", 60), 3.0),
            dropped(&[("i1", "blob:1b")])
        );
        assert_eq!(m.image_bytes(), 60);
        assert_eq!(
            m.put_image("big", image("blob:big", 500), 4.0),
            dropped(&[("big", "blob:big")])
        );
        assert!(m.image_untouched("big").is_none());
        assert_eq!(m.clear(), dropped(&[("i2", "blob:2")]));
        assert_eq!(m.image_count(), 0);
    }
}

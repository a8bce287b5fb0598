//! Reads of stored images: several in one readonly transaction of the `images` store alone
//! (one range read when they are most of the rows in their range, see
//! [`crate::policy::range_read`]), handed out together once the last of its requests has
//! succeeded ([`IdbImageStore::read_many`]; a readonly transaction has nothing to commit). A row carries a copy of
//! its metadata; rows without a usable one (written before the copy) are completed from the
//! `meta` store in a second transaction. A row that does not decode is a miss and is deleted
//! after.

use wasm_bindgen::JsValue;
use web_sys::{Blob, IdbTransactionMode};

use super::codec::carry_meta;
use super::IdbImageStore;
use crate::error::Result;
use crate::key::validate_id;
use crate::record::StoredImage;

impl IdbImageStore {
    /// Reads `ids`; each answer is a hit, a miss or a corrupt entry (deleted afterwards in a
    /// separate readwrite transaction).
    pub(super) async fn read_many(
        &self,
        ids: &[String],
    ) -> Result<Vec<Result<Option<StoredImage<Blob>>>>> {
        for id in ids {
            validate_id("imageId", id)?;
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reading_connection().await?;
        let keys: Vec<String> = ids.iter().map(|id| self.codec.key_of(id)).collect();
        let bodies = conn.read_images(&keys).await?;

        let now = self.clock.now_ms();
        let mut answers: Vec<Option<Result<Option<StoredImage<Blob>>>>> = ids
            .iter()
            .zip(&bodies)
            .map(|(id, body)| {
                let mut answer = self.codec.decode_row(id, body, now);
                // The copy's last access is the write's; the mirror knows the latest.
                if let (Some(Ok(Some(image))), Some(at)) = (&mut answer, self.mirror.last_used(id))
                {
                    image.meta.last_access = image.meta.last_access.max(at);
                }
                answer
            })
            .collect();
        // The rows that need their `meta` row: read together.
        let incomplete: Vec<usize> = (0..ids.len()).filter(|&i| answers[i].is_none()).collect();
        if !incomplete.is_empty() {
            let metas = conn
                .with_stores(IdbTransactionMode::Readonly, |s| async move {
                    incomplete
                        .iter()
                        .map(|&i| s.get_meta(&JsValue::from_str(&keys[i])).map(|r| (i, r)))
                        .collect::<Result<Vec<_>>>()
                })
                .await?;
            let mut upgrades = self.row_upgrades.borrow_mut();
            for (i, meta) in metas {
                let meta = meta.result().unwrap_or(JsValue::UNDEFINED);
                let answer = self.codec.decode(&ids[i], &meta, &bodies[i], now);
                // The row gets the copy with the image's next touch.
                if matches!(&answer, Ok(Some(_))) && bodies[i].is_object() {
                    carry_meta(&bodies[i], &meta);
                    upgrades.insert(ids[i].clone(), bodies[i].clone());
                }
                answers[i] = Some(answer);
            }
        }

        let mut out = Vec::with_capacity(ids.len());
        let mut bad = Vec::new();
        for (id, answer) in ids.iter().zip(answers) {
            let answer = answer.unwrap_or(Ok(None));
            match &answer {
                Ok(Some(image)) => {
                    // Written by another tab since the mirror was loaded: account for it, and
                    // drop what it pushes out of the budget.
                    let evicted = self.mirror.note_read(id, &image.meta);
                    bad.extend(evicted.iter().map(|k| self.codec.js_key(k)));
                }
                Ok(None) => self.mirror.remove(id),
                Err(_) => {
                    self.mirror.remove(id);
                    bad.push(self.codec.js_key(id));
                }
            }
            out.push(answer);
        }
        if !bad.is_empty() {
            // Best effort: a row that cannot be deleted now is deleted at the next open.
            let _ = conn.delete(&bad).await;
        }
        Ok(out)
    }
}

//! Reads of stored images: several in one readonly transaction, handed out together once it
//! completes ([`IdbImageStore::read_many`]). A row that does not decode is a miss and is
//! deleted after.

use wasm_bindgen::JsValue;
use web_sys::{Blob, IdbTransactionMode};

use super::IdbImageStore;
use crate::error::Result;
use crate::key::validate_id;
use crate::record::StoredImage;

impl IdbImageStore {
    /// Reads `ids` in one readonly transaction; each answer is a hit, a miss or a corrupt
    /// entry (deleted afterwards in a separate readwrite transaction).
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
        let keys: Vec<JsValue> = ids.iter().map(|id| self.codec.js_key(id)).collect();
        let requests = conn
            .with_stores(IdbTransactionMode::Readonly, |s| async move {
                keys.iter()
                    .map(|key| s.get(key))
                    .collect::<Result<Vec<_>>>()
            })
            .await?;

        let now = self.clock.now_ms();
        let mut out = Vec::with_capacity(ids.len());
        let mut bad = Vec::new();
        for (id, (meta, body)) in ids.iter().zip(requests) {
            let meta = meta.result().unwrap_or(JsValue::UNDEFINED);
            let body = body.result().unwrap_or(JsValue::UNDEFINED);
            let answer = self.codec.decode(id, &meta, &body, now);
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

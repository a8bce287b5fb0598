//! Reads of stored images: several in one readonly transaction of the `images` store alone
//! (one range read when they are most of the rows in their range, see
//! [`crate::policy::range_read`]), handed out together once the last of its requests has
//! succeeded ([`IdbImageStore::read_many`]; a readonly transaction has nothing to commit). A row carries a copy of
//! its metadata; rows without a usable one (written before the copy) are completed from the
//! `meta` store in a second transaction. A row that does not decode is a miss and is deleted
//! after.

use js_sys::{Array, Int32Array, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;

use super::codec::carry_meta;
use super::schema::META_STORE;
use super::IdbImageStore;
use crate::error::Result;
use crate::key::validate_id;
use crate::layers::body::Body;
use crate::policy::range_read::{self, ReadPlan};
use crate::record::StoredImage;

impl IdbImageStore {
    /// Reads `ids`; each answer is a hit, a miss or a corrupt entry (deleted afterwards in a
    /// separate readwrite transaction).
    pub(super) async fn read_many(
        &self,
        ids: &[String],
    ) -> Result<Vec<Result<Option<StoredImage<Body>>>>> {
        for id in ids {
            validate_id("imageId", id)?;
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.reading_connection().await?;
        let keys: Vec<String> = ids.iter().map(|id| self.codec.key_of(id)).collect();
        let js_keys: Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
        let limit = match keys.len() < range_read::RANGE_READ_MIN {
            true => 0,
            false => range_read::keys_limit(keys.len()),
        };
        let plan = planner(keys.clone(), limit);
        let bodies = conn.read_images(&js_keys, limit, &plan).await?;

        let now = self.clock.now_ms();
        let mut answers: Vec<Option<Result<Option<StoredImage<Body>>>>> = ids
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
            let wanted: Vec<JsValue> = incomplete
                .iter()
                .map(|&i| JsValue::from_str(&keys[i]))
                .collect();
            let metas = conn.get(META_STORE, &wanted).await?;
            let mut upgrades = self.row_upgrades.borrow_mut();
            for (&i, meta) in incomplete.iter().zip(metas) {
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

/// The plan of a batch read, asked by the driver from inside the key read's success event with
/// the keys stored in the batch's range: `null` (none of `keys` is stored), the position of each
/// key in one range read (`Int32Array`, `-1` where not stored), or which keys to read one by one
/// (`Uint8Array`). See [`range_read::plan`].
fn planner(keys: Vec<String>, limit: u32) -> Closure<dyn FnMut(Array) -> JsValue> {
    Closure::new(move |stored: Array| {
        let stored: Vec<String> = stored
            .iter()
            .map(|k| k.as_string().unwrap_or_default())
            .collect();
        match range_read::plan(&keys, &stored, limit) {
            ReadPlan::Nothing => JsValue::NULL,
            ReadPlan::Range { positions } => {
                let positions: Vec<i32> = positions
                    .iter()
                    .map(|p| p.map_or(-1, |i| i as i32))
                    .collect();
                Int32Array::from(&positions[..]).into()
            }
            ReadPlan::Points { read } => {
                let read: Vec<u8> = read.iter().map(|&r| u8::from(r)).collect();
                Uint8Array::from(&read[..]).into()
            }
        }
    })
}

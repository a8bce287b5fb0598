//! Not part of the package: the pure parts of avatar-cache (config, records, keys, JSON, TTL,
//! LRU, back-off, breaker, presigned-URL expiry, the backend contract, sniffing and pixel caps,
//! ThumbHash hashing and previews) behind a few exports, built by `build.sh` with the release
//! pipeline, to weigh what a core without the async adapters and orchestration would be.
use avatar_cache::config::Config;

use avatar_cache::key::Keys;
use avatar_cache::policy::{
    backoff::Backoff,
    breaker::Breakers,
    contract, dimensions,
    lru::{Budget, LruIndex},
    placeholder, presign, range_read, safe_url, sniff, ttl,
};
use avatar_cache::record::PictureRecord;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    static LRU: RefCell<LruIndex<String>> = RefCell::new(LruIndex::new(Budget { max_entries: 500, max_bytes: 50_000_000 }));
    static BREAKERS: RefCell<Breakers> = RefCell::new(Breakers::new(5, 30_000.0));
}

#[wasm_bindgen]
pub fn config(json: &str) -> Result<String, String> {
    let v = avatar_cache::json::parse(json.as_bytes()).map_err(|_| "bad json".to_string())?;
    let c = Config::from_json(v).map_err(|e| e.to_string())?;
    Ok(c.user_url("x") + &c.database_name() + &c.image_url("y"))
}
#[wasm_bindgen]
pub fn record(text: &str, user: &str, now: f64) -> Option<String> {
    PictureRecord::decode(text, user, 1, now)
        .ok()
        .map(|r| r.to_json())
}
#[wasm_bindgen]
pub fn keys(ns: &str, id: &str) -> String {
    let k = Keys::new(ns, 1);
    let key = k.record_key(id);
    format!(
        "{key}{}{}",
        k.image_key(id),
        k.parse_any_version(&key).is_some()
    )
}
#[wasm_bindgen]
pub fn lru(key: String, weight: f64, at: f64) -> usize {
    LRU.with(|l| {
        let mut l = l.borrow_mut();
        l.touch(key.as_str(), at);
        l.plan_room(weight as u64).len() + l.insert(key, weight as u64, at).len()
    })
}
#[wasm_bindgen]
pub fn breaker(origin: &str, now: f64, ok: bool) -> bool {
    BREAKERS.with(|b| {
        let mut b = b.borrow_mut();
        if ok {
            b.on_success(origin)
        } else {
            b.on_failure(origin, now)
        }
        b.try_acquire(origin, now)
    })
}
#[wasm_bindgen]
pub fn backoff(retry: u32) -> f64 {
    Backoff::new(3, 100.0, 2000.0).cap_ms(retry)
}
#[wasm_bindgen]
pub fn fresh(at: f64, now: f64) -> bool {
    ttl::is_fresh(at, now, 1000.0)
}
#[wasm_bindgen]
pub fn expiry(url: &str, at: f64, now: f64) -> bool {
    presign::needs_refresh(presign::url_expires_at(url, at, 1000.0), now, 10.0)
        && safe_url::is_web_url(url)
}
#[wasm_bindgen]
pub fn answer(body: &[u8], user: &str) -> Option<String> {
    contract::user_answer(body, user).ok().map(|a| a.url)
}
#[wasm_bindgen]
pub fn batch(body: &[u8], ids: Vec<String>) -> usize {
    contract::batch_answer(body, &ids)
        .map(|v| v.len())
        .unwrap_or(0)
        + contract::batch_request(&ids).len()
}
#[wasm_bindgen]
pub fn image(declared: Option<String>, bytes: &[u8]) -> bool {
    match sniff::accept_image(declared.as_deref(), bytes, &["image/png".to_string()]) {
        Ok(m) => dimensions::check_pixels(m, bytes, 1_000_000).is_ok(),
        Err(_) => false,
    }
}
#[wasm_bindgen]
pub fn preview(hash: &str) -> Option<String> {
    placeholder::render_data_url(hash)
}
#[wasm_bindgen]
pub fn hash(w: usize, h: usize, rgba: &[u8]) -> Option<String> {
    placeholder::hash_rgba(w, h, rgba)
}
#[wasm_bindgen]
pub fn plan(asked: Vec<String>, stored: Vec<String>) -> u32 {
    match range_read::plan(&asked, &stored, range_read::keys_limit(asked.len())) {
        range_read::ReadPlan::Nothing => 0,
        _ => 1,
    }
}

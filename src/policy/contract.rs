//! The backend contract (DESIGN.md §4): what the API answers mean, read from the bytes of the
//! answer. Pure Rust, so it is unit-tested and fuzzed natively; `layers/network.rs` only moves
//! the bytes.
//!
//! - `GET {apiBase}/user/{userId}` → `{ success, image_id | null, url, user_id, thumbhash? }`
//! - `GET {apiBase}/{imageId}` → `{ success, image_id, url }`
//! - `POST {batchEndpoint}` `{ user_ids }` → `{ users: { [id]: { image_id, url } } }`
//!
//! Nothing here trusts the answer: every shape other than the contract's is an
//! [`Error::BadResponse`] (or, in a batch, a user left out), and nothing panics.

use crate::collections::HashSet;

use crate::error::{Error, Result};
use crate::json::{self, Map, Value};
use crate::layers::RemotePicture;
use crate::record::{MAX_ID_LEN, MAX_URL_LEN};

/// The body of a batch request for `user_ids`.
pub fn batch_request(user_ids: &[String]) -> String {
    json::ObjectWriter::new()
        .raw("user_ids", &json::string_array(user_ids))
        .finish()
}

/// Reads the answer of `GET {apiBase}/user/{userId}` for `user_id`. An answer naming another
/// user is refused.
pub fn user_answer(body: &[u8], user_id: &str) -> Result<RemotePicture> {
    let answer = parse_answer(&json(body)?).map_err(bad)?;
    if answer.user_id.as_deref().is_some_and(|u| u != user_id) {
        return Err(bad("the answer is for another user"));
    }
    Ok(RemotePicture {
        user_id: Some(user_id.to_string()),
        image_id: answer.image_id,
        url: answer.url,
        thumbhash: answer.thumbhash,
    })
}

/// Reads the answer of `GET {apiBase}/{imageId}` for `image_id`. An answer naming another image
/// is refused.
pub fn image_answer(body: &[u8], image_id: &str) -> Result<RemotePicture> {
    let answer = parse_answer(&json(body)?).map_err(bad)?;
    if answer.image_id.as_deref().is_some_and(|i| i != image_id) {
        return Err(bad("the answer is for another image"));
    }
    Ok(RemotePicture {
        user_id: answer.user_id,
        image_id: Some(image_id.to_string()),
        url: answer.url,
        thumbhash: answer.thumbhash,
    })
}

/// Reads the answer of the batch endpoint, in the order of `requested` (each user once). Ids
/// that were not asked for are ignored; entries that are missing, null, malformed or for another
/// user are left out. An answer that is not an object with a `users` object is refused.
pub fn batch_answer(body: &[u8], requested: &[String]) -> Result<Vec<RemotePicture>> {
    parse_batch(&json(body)?, requested).map_err(bad)
}

/// The parts of an API answer the cache uses.
struct Answer {
    user_id: Option<String>,
    image_id: Option<String>,
    url: String,
    /// The optional ThumbHash preview; a malformed one is ignored, not the answer.
    thumbhash: Option<String>,
}

fn json(body: &[u8]) -> Result<Value> {
    json::parse(body).map_err(|e| bad(e.0))
}

fn bad(reason: impl Into<String>) -> Error {
    Error::BadResponse {
        reason: reason.into(),
    }
}

/// Reads `{ success?, image_id?, url, user_id? }`: `success`, when present, must be `true`;
/// `url` must be a non-empty string; ids may be strings, integers or null.
fn parse_answer(value: &Value) -> std::result::Result<Answer, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    match object.get("success") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Err("success is false".into()),
        Some(_) => return Err("success is not a boolean".into()),
    }
    let url = match object.get("url") {
        Some(Value::String(url)) => url.trim(),
        None | Some(Value::Null) => return Err("the answer has no url".into()),
        Some(_) => return Err("url is not a string".into()),
    };
    if url.is_empty() {
        return Err("url is empty".into());
    }
    if url.len() > MAX_URL_LEN || url.chars().any(char::is_control) {
        return Err("url is too long or has control characters".into());
    }
    Ok(Answer {
        user_id: parse_id(object, "user_id")?,
        image_id: parse_id(object, "image_id")?,
        url: url.to_string(),
        thumbhash: object
            .get("thumbhash")
            .and_then(Value::as_str)
            .filter(|h| crate::policy::placeholder::is_valid(h))
            .map(str::to_string),
    })
}

/// An id field: absent or null is `None`; a non-empty string or an integer is the id.
fn parse_id(object: &Map, field: &str) -> std::result::Result<Option<String>, String> {
    let id = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        // An integer id, within the range JavaScript holds exactly.
        Some(Value::Number(n)) if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 => {
            json::number_text(*n)
        }
        Some(_) => return Err(format!("{field} is not a string")),
    };
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!("{field} is empty or too long"));
    }
    Ok(Some(id))
}

/// Reads `{ users: { [id]: { image_id, url } } }`, in the order of `requested`.
fn parse_batch(
    value: &Value,
    requested: &[String],
) -> std::result::Result<Vec<RemotePicture>, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "the answer is not a JSON object".to_string())?;
    if object.get("success") == Some(&Value::Bool(false)) {
        return Err("success is false".into());
    }
    let users = match object.get("users") {
        Some(Value::Object(users)) => users,
        Some(_) => return Err("users is not an object".into()),
        None => return Err("the answer has no users".into()),
    };
    let mut seen = HashSet::default();
    let mut pictures = Vec::new();
    for user_id in requested {
        if !seen.insert(user_id.as_str()) {
            continue;
        }
        let Some(entry) = users.get(user_id) else {
            continue;
        };
        let Ok(answer) = parse_answer(entry) else {
            continue;
        };
        if answer.user_id.as_deref().is_some_and(|u| u != user_id) {
            continue;
        }
        pictures.push(RemotePicture {
            user_id: Some(user_id.clone()),
            image_id: answer.image_id,
            url: answer.url,
            thumbhash: answer.thumbhash,
        });
    }
    Ok(pictures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: serde_json::Value) -> Result<RemotePicture> {
        user_answer(value.to_string().as_bytes(), "1")
    }

    fn is_bad<T: std::fmt::Debug>(result: Result<T>) -> bool {
        matches!(result, Err(Error::BadResponse { .. }))
    }

    #[test]
    fn user_answer_of_the_contract_is_read() {
        let picture = user(json!({
            "success": true, "image_id": "img-9", "url": " https://s3/img-9?X-Amz-Date=1 ",
            "user_id": "1"
        }))
        .unwrap();
        assert_eq!(
            picture,
            RemotePicture {
                user_id: Some("1".into()),
                image_id: Some("img-9".into()),
                url: "https://s3/img-9?X-Amz-Date=1".into(),
                thumbhash: None,
            }
        );
        // No picture: image_id null, the default URL; ids may be integers.
        let none = user(json!({ "success": true, "image_id": null, "url": "/d.png" })).unwrap();
        assert_eq!(none.image_id, None);
        let numeric = user(json!({ "image_id": 7, "url": "/7", "user_id": 1 })).unwrap();
        assert_eq!(numeric.image_id.as_deref(), Some("7"));
    }

    #[test]
    fn malformed_answers_are_bad_responses() {
        for text in [
            "not json".to_string(),
            "".to_string(),
            "[1, 2]".to_string(),
            "null".to_string(),
            json!({ "success": false, "image_id": "i", "url": "https://x/i" }).to_string(),
            json!({ "success": "yes", "image_id": "i", "url": "https://x/i" }).to_string(),
            json!({ "success": true, "image_id": "i" }).to_string(),
            json!({ "success": true, "image_id": "i", "url": "" }).to_string(),
            json!({ "success": true, "image_id": "i", "url": 42 }).to_string(),
            json!({ "success": true, "image_id": { "id": 1 }, "url": "https://x/i" }).to_string(),
            json!({ "success": true, "image_id": 1.5, "url": "https://x/i" }).to_string(),
            json!({ "success": true, "image_id": "", "url": "https://x/i" }).to_string(),
            json!({ "url": "https://x/\u{7}i" }).to_string(),
            json!({ "url": format!("https://x/{}", "a".repeat(MAX_URL_LEN)) }).to_string(),
            json!({ "success": true, "image_id": "i", "url": "https://x/i", "user_id": "other" })
                .to_string(),
        ] {
            assert!(is_bad(user_answer(text.as_bytes(), "1")), "{text:.80}");
        }
    }

    #[test]
    fn image_answer_for_another_image_is_refused() {
        let body = json!({ "success": true, "image_id": "b", "url": "https://x/b" }).to_string();
        assert!(is_bad(image_answer(body.as_bytes(), "a")));
        let picture = image_answer(body.as_bytes(), "b").unwrap();
        assert_eq!(picture.image_id.as_deref(), Some("b"));
        assert_eq!(picture.user_id, None);
    }

    #[test]
    fn batch_answer_keeps_the_requested_order_and_drops_what_is_wrong() {
        let body = json!({ "users": {
            "u3": { "image_id": "i3", "url": "https://x/3" },
            "u1": { "image_id": "i1", "url": "https://x/1" },
            "u2": { "image_id": "i2" },
            "u4": null,
            "u5": { "image_id": "i5", "url": "https://x/5", "user_id": "u6" },
            "stranger": { "image_id": "s", "url": "https://x/s" },
        }})
        .to_string();
        let requested: Vec<String> = ["u1", "u2", "u3", "u4", "u5", "u1", "u7"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let pictures = batch_answer(body.as_bytes(), &requested).unwrap();
        let ids: Vec<_> = pictures.iter().map(|p| p.user_id.as_deref()).collect();
        assert_eq!(ids, [Some("u1"), Some("u3")]);
    }

    #[test]
    fn batch_answer_without_users_is_a_bad_response() {
        for answer in [
            json!({ "success": false }),
            json!({ "users": [] }),
            json!([]),
        ] {
            let body = answer.to_string();
            assert!(is_bad(batch_answer(body.as_bytes(), &["u1".into()])));
        }
    }

    #[test]
    fn batch_request_names_the_users() {
        let body = batch_request(&["a".into(), "b\"c".into()]);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value, json!({ "user_ids": ["a", "b\"c"] }));
    }
}

//! Fuzzing the backend contract parser (`policy::contract`, DESIGN.md §4): whatever bytes the
//! user, image or batch endpoint answers with, reading them never panics, and what is accepted
//! is a usable picture for the id that was asked for. Hostile shapes (wrong types, `success:
//! false`, control characters, answers for someone else) are refused.
//!
//! `cargo test --test contract_fuzz` runs thousands of cases natively.

#![cfg(not(target_arch = "wasm32"))]

use avatar_cache::error::Error;
use avatar_cache::layers::RemotePicture;
use avatar_cache::policy::contract::{batch_answer, image_answer, user_answer};
use avatar_cache::record::{MAX_ID_LEN, MAX_URL_LEN};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

/// Ids as a backend may send them, including ones no cache key can use as they are.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,12}",
        Just("1".to_string()),
        Just(String::new()),
        ".{0,8}",
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,16}".prop_map(Value::String),
        Just(json!(
            "https://bucket.example/img?X-Amz-Date=20300101T000000Z&X-Amz-Expires=3600"
        )),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Field names of the contract, and near misses.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "success", "image_id", "url", "user_id", "users", "Url"
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

/// Answers shaped like the contract's, with each field drawn from anything.
fn answer_like() -> impl Strategy<Value = Value> {
    (
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
        prop::option::of(json_value()),
    )
        .prop_map(|(success, image_id, url, user_id)| {
            let mut object = Map::new();
            for (name, value) in [
                ("success", success),
                ("image_id", image_id),
                ("url", url),
                ("user_id", user_id),
            ] {
                if let Some(value) = value {
                    object.insert(name.to_string(), value);
                }
            }
            Value::Object(object)
        })
}

/// What every accepted picture satisfies: a usable URL, and a usable id where the id came from
/// the answer (`from_answer`; the id that was asked for is echoed as it was asked).
fn assert_usable(
    picture: &RemotePicture,
    from_answer: &Option<String>,
) -> Result<(), TestCaseError> {
    prop_assert!(!picture.url.is_empty());
    prop_assert!(picture.url.len() <= MAX_URL_LEN);
    prop_assert!(!picture.url.chars().any(char::is_control));
    prop_assert_eq!(picture.url.trim(), picture.url.as_str());
    if let Some(id) = from_answer {
        prop_assert!(!id.is_empty() && id.len() <= MAX_ID_LEN);
    }
    Ok(())
}

/// Reads `body` as all three endpoints' answers and checks what is accepted.
fn check_all(body: &[u8], user: &str, requested: &[String]) -> Result<(), TestCaseError> {
    match user_answer(body, user) {
        Ok(picture) => {
            assert_usable(&picture, &picture.image_id)?;
            prop_assert_eq!(picture.user_id.as_deref(), Some(user));
        }
        Err(e) => prop_assert!(matches!(e, Error::BadResponse { .. }), "{:?}", e),
    }
    match image_answer(body, user) {
        Ok(picture) => {
            assert_usable(&picture, &picture.user_id)?;
            prop_assert_eq!(picture.image_id.as_deref(), Some(user));
        }
        Err(e) => prop_assert!(matches!(e, Error::BadResponse { .. }), "{:?}", e),
    }
    match batch_answer(body, requested) {
        Ok(pictures) => {
            // Only users asked for, each once, in the order asked.
            let mut rest = requested.iter();
            let mut seen = std::collections::HashSet::new();
            for picture in &pictures {
                assert_usable(picture, &picture.image_id)?;
                let user = picture
                    .user_id
                    .as_ref()
                    .expect("a batch picture names its user");
                prop_assert!(seen.insert(user.clone()), "{} twice", user);
                prop_assert!(
                    rest.any(|r| r == user),
                    "{} not asked for, or out of order",
                    user
                );
            }
        }
        Err(e) => prop_assert!(matches!(e, Error::BadResponse { .. }), "{:?}", e),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all(&body, "1", &["1".to_string()])?;
    }

    #[test]
    fn json_shaped_noise_never_panics(
        body in r#"[{}\[\]":,0-9a-z_.eE+\- \\]{0,200}"#
    ) {
        check_all(body.as_bytes(), "1", &["1".to_string(), "a".to_string()])?;
    }

    #[test]
    fn answers_with_any_field_values_are_read_or_refused(
        answer in answer_like(),
        user in "[a-z0-9]{1,4}",
    ) {
        check_all(answer.to_string().as_bytes(), &user, std::slice::from_ref(&user))?;
    }

    #[test]
    fn batch_answers_of_any_shape_are_read_or_refused(
        users in prop::collection::btree_map(id(), prop_oneof![answer_like(), json_value()], 0..6),
        requested in prop::collection::vec(id(), 0..8),
        wrap in json_value(),
    ) {
        let users: Map<String, Value> = users.into_iter().collect();
        let mut body = json!({ "users": users });
        if let (Value::Object(extra), Value::Object(object)) = (wrap, &mut body) {
            for (k, v) in extra {
                if k != "users" {
                    object.insert(k, v);
                }
            }
        }
        check_all(body.to_string().as_bytes(), "1", &requested)?;
    }

    #[test]
    fn hostile_shapes_are_refused(
        url in prop_oneof![
            json_value().prop_filter("not a string", |v| !v.is_string() && !v.is_null()),
            "[a-z]{1,4}[\u{0}-\u{1f}\u{7f}][a-z]{1,4}"
                .prop_map(|s| Value::String(format!("https://x/{s}"))),
            Just(Value::String(" ".into())),
        ],
        success in prop_oneof![Just(json!(false)), Just(json!("true")), Just(json!(1))],
    ) {
        let bad_url = json!({ "image_id": "i", "url": url }).to_string();
        prop_assert!(user_answer(bad_url.as_bytes(), "1").is_err());
        let bad_success = json!({ "success": success, "image_id": "i", "url": "https://x/i" });
        prop_assert!(user_answer(bad_success.to_string().as_bytes(), "1").is_err());
        let other_user = json!({ "image_id": "i", "url": "https://x/i", "user_id": "2" });
        prop_assert!(user_answer(other_user.to_string().as_bytes(), "1").is_err());
    }
}

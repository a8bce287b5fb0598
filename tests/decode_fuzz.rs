//! Fuzzing the parsers that read data the cache does not control: picture records from
//! localStorage, presigned URLs from the backend, and storage keys from a shared origin.
//!
//! Each property runs thousands of cases natively (`cargo test --test decode_fuzz`).

#![cfg(not(target_arch = "wasm32"))]

use avatar_cache::clock::Millis;
use avatar_cache::key::{Keys, ParsedKey};
use avatar_cache::policy::presign::url_expires_at;
use avatar_cache::record::PictureRecord;
use avatar_cache::vocabulary::Layer;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const NOW: Millis = 1_800_000_000_000.0;
const VERSION: u32 = 3;
const USER: &str = "user-1";
const CASES: u32 = 3_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

// ---- picture records -------------------------------------------------------------------------

fn non_empty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_-]{1,24}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

/// Timestamps as the browser makes them: whole milliseconds (`Date.now()`).
fn whole_ms(max: Millis) -> impl Strategy<Value = Millis> {
    (0..=max as u64).prop_map(|ms| ms as Millis)
}

/// Any time in range, fractions included (a manual clock can produce them).
fn any_ms(max: Millis) -> impl Strategy<Value = Millis> {
    prop_oneof![whole_ms(max), 0.0..=max]
}

/// URLs a record may hold: http(s) or relative, with arbitrary text after the scheme.
fn web_url() -> impl Strategy<Value = String> {
    prop_oneof![
        non_empty_text().prop_map(|rest| format!("https://bucket.example/{rest}")),
        non_empty_text().prop_map(|rest| format!("http://h/{rest}")),
        "/[a-zA-Z0-9_./-]{0,24}",
    ]
}

prop_compose! {
    fn record_with_times(times: fn(Millis) -> BoxedStrategy<Millis>)(
        image_id in proptest::option::of(non_empty_text()),
        remote_url in web_url(),
        url_expires_at in times(1e13),
        fetched_at in times(NOW),
        etag in proptest::option::of(".{0,40}"),
        opaque in any::<bool>(),
    ) -> PictureRecord {
        PictureRecord {
            user_id: USER.to_string(),
            image_id,
            remote_url,
            url_expires_at,
            fetched_at,
            etag,
            version: VERSION,
            opaque,
            thumbhash: None,
        }
    }
}

/// A record as the cache writes it (whole-millisecond timestamps).
fn valid_record() -> impl Strategy<Value = PictureRecord> {
    record_with_times(|max| whole_ms(max).boxed())
}

/// A valid record whose timestamps may have fractions.
fn valid_record_any_times() -> impl Strategy<Value = PictureRecord> {
    record_with_times(|max| any_ms(max).boxed())
}

/// Equal up to the last bits of a float: serde_json's default float parser is not always
/// correctly rounded, so a fractional timestamp can come back one ULP off (whole milliseconds
/// always come back exactly).
fn nearly(a: Millis, b: Millis) -> bool {
    a == b || (a - b).abs() <= a.abs().max(b.abs()) * 1e-15
}

fn same_record(a: &PictureRecord, b: &PictureRecord) -> bool {
    let exact = |r: &PictureRecord| PictureRecord {
        url_expires_at: 0.0,
        fetched_at: 0.0,
        ..r.clone()
    };
    exact(a) == exact(b)
        && nearly(a.url_expires_at, b.url_expires_at)
        && nearly(a.fetched_at, b.fetched_at)
}

/// Fragments that make a mutated record interesting to a JSON parser.
fn json_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "\"",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "null",
            "true",
            "false",
            "-0",
            "1e999",
            "-1",
            "0.5",
            "9007199254740993",
            "\\u0000",
            "\\ud800",
            "\\",
            "\"userId\":\"user-1\",",
            "\"version\":3,",
            "\"etag\":null,",
            "\"opaque\":true,",
            "\"extra\":1,",
            " ",
            "\u{feff}",
            "\"userId\":\"user-1\"",
            "}{",
            "NaN",
            "Infinity",
        ])
        .prop_map(str::to_string),
        ".{0,8}",
    ]
}

#[derive(Debug, Clone)]
enum TextEdit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Truncate { at: usize },
}

fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        (any::<usize>(), 1..8usize).prop_map(|(at, len)| TextEdit::Delete { at, len }),
        (any::<usize>(), json_fragment()).prop_map(|(at, text)| TextEdit::Insert { at, text }),
        any::<usize>().prop_map(|at| TextEdit::Truncate { at }),
    ]
}

/// The char boundary at or before `at % (len + 1)`.
fn boundary(s: &str, at: usize) -> usize {
    let mut i = at % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, edit: &TextEdit) {
    match edit {
        TextEdit::Delete { at, len } => {
            let start = boundary(text, *at);
            let end = boundary(text, (start + len).min(text.len()));
            text.replace_range(start..end.max(start), "");
        }
        TextEdit::Insert { at, text: t } => {
            let at = boundary(text, *at);
            text.insert_str(at, t);
        }
        TextEdit::Truncate { at } => {
            let at = boundary(text, *at);
            text.truncate(at);
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        prop::num::f64::ANY
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(Value::Number),
        prop::sample::select(vec![0.0, -0.0, NOW, NOW * 2.0, 1e300, -1.0, 3.0, 2.5])
            .prop_filter_map("finite", Number::from_f64)
            .prop_map(Value::Number),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String(USER.to_string())),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "userId",
    "imageId",
    "remoteUrl",
    "urlExpiresAt",
    "fetchedAt",
    "etag",
    "version",
    "opaque",
    "unknown",
    "UserId",
];

#[derive(Debug, Clone)]
enum FieldEdit {
    Set(&'static str, Value),
    Remove(&'static str),
}

fn field_edit() -> impl Strategy<Value = FieldEdit> {
    let field = prop::sample::select(FIELDS);
    prop_oneof![
        (field.clone(), json_value()).prop_map(|(f, v)| FieldEdit::Set(f, v)),
        field.prop_map(FieldEdit::Remove),
    ]
}

/// Whatever `decode` accepts is a valid record for the expected user and version, and
/// survives its own round trip (floats up to their last bit, see [`nearly`]).
fn assert_accepts_only_round_tripping_records(text: &str) -> Result<(), TestCaseError> {
    if let Ok(record) = PictureRecord::decode(text, USER, VERSION, NOW) {
        prop_assert_eq!(&record.user_id, USER);
        prop_assert_eq!(record.version, VERSION);
        prop_assert!(record.check(Layer::Local, NOW).is_ok());
        let again = PictureRecord::decode(&record.to_json(), USER, VERSION, NOW);
        prop_assert!(
            again.as_ref().is_ok_and(|r| same_record(r, &record)),
            "{:?} came back as {:?}",
            record,
            again
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decode_never_panics_on_arbitrary_strings(text in any::<String>()) {
        assert_accepts_only_round_tripping_records(&text)?;
    }

    #[test]
    fn decode_never_panics_on_json_shaped_noise(
        text in r#"[{}\[\]":,0-9a-zA-Z.eE+\- \\]{0,200}"#
    ) {
        assert_accepts_only_round_tripping_records(&text)?;
    }

    #[test]
    fn records_with_whole_millisecond_times_round_trip_exactly(record in valid_record()) {
        let decoded = PictureRecord::decode(&record.to_json(), USER, VERSION, NOW);
        prop_assert_eq!(decoded, Ok(record));
    }

    #[test]
    fn records_with_fractional_times_round_trip_to_the_last_bit(
        record in valid_record_any_times()
    ) {
        let json = record.to_json();
        assert_accepts_only_round_tripping_records(&json)?;
        let decoded = PictureRecord::decode(&json, USER, VERSION, NOW);
        prop_assert!(decoded.is_ok_and(|r| same_record(&r, &record)));
    }

    #[test]
    fn records_for_another_user_or_version_are_refused(record in valid_record()) {
        let json = record.to_json();
        prop_assert!(PictureRecord::decode(&json, "user-2", VERSION, NOW).is_err());
        prop_assert!(PictureRecord::decode(&json, USER, VERSION + 1, NOW).is_err());
    }

    #[test]
    fn decode_accepts_only_round_tripping_records_after_text_edits(
        record in valid_record_any_times(),
        edits in prop::collection::vec(text_edit(), 1..5),
    ) {
        let mut text = record.to_json();
        for edit in &edits {
            apply(&mut text, edit);
        }
        assert_accepts_only_round_tripping_records(&text)?;
    }

    #[test]
    fn decode_accepts_only_round_tripping_records_after_field_edits(
        record in valid_record_any_times(),
        edits in prop::collection::vec(field_edit(), 1..4),
    ) {
        let mut value: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
        let object = value.as_object_mut().unwrap();
        for edit in &edits {
            match edit {
                FieldEdit::Set(field, v) => {
                    object.insert(field.to_string(), v.clone());
                }
                FieldEdit::Remove(field) => {
                    object.remove(*field);
                }
            }
        }
        assert_accepts_only_round_tripping_records(&value.to_string())?;
    }
}

// ---- presigned URLs --------------------------------------------------------------------------

const PARAM_NAMES: &[&str] = &[
    "X-Amz-Date",
    "x-amz-date",
    "X%2DAmz%2DDate",
    "X-Amz-Expires",
    "X-AMZ-EXPIRES",
    "X-Goog-Date",
    "X-Goog-Expires",
    "Expires",
    "expires",
    "X-Amz-Signature",
    "",
    "%",
    "%zz",
];

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{8}T[0-9]{6}Z",
        "[0-9]{1,13}",
        "-?[0-9]{1,25}",
        "[0-9TZ%+.eE-]{0,20}",
        ".{0,20}",
        Just("%FF%FE".to_string()),
        Just("20261128T010000Z".to_string()),
        Just("3600".to_string()),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(PARAM_NAMES),
            param_value(),
            any::<bool>(),
        ),
        0..6,
    )
    .prop_map(|params| {
        params
            .into_iter()
            .map(|(name, value, with_eq)| {
                if with_eq {
                    format!("{name}={value}")
                } else {
                    format!("{name}{value}")
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// Days since 1970-01-01, counted the slow way, to check the parser's civil-date arithmetic.
fn naive_days(year: i64, month: i64, day: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days = 0;
    for y in 1970..year {
        days += if leap(y) { 366 } else { 365 };
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += lengths[..(month - 1) as usize].iter().sum::<i64>();
    days + day - 1
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn url_expiry_never_panics_and_is_finite_for_arbitrary_strings(
        url in any::<String>(),
        fetched_at in 0.0..1e13f64,
        lifetime in 0.0..1e9f64,
    ) {
        prop_assert!(url_expires_at(&url, fetched_at, lifetime).is_finite());
    }

    #[test]
    fn url_expiry_never_panics_and_is_finite_for_signed_looking_urls(
        base in prop::sample::select(vec![
            "http://127.0.0.1:9000/avatars/a.png",
            "https://s3.amazonaws.com/b/k",
            "/images/a.png",
            "",
        ]),
        query in query(),
        fragment in proptest::option::of(".{0,10}"),
        fetched_at in 0.0..1e13f64,
        lifetime in 0.0..1e9f64,
    ) {
        let mut url = format!("{base}?{query}");
        if let Some(f) = fragment {
            url.push('#');
            url.push_str(&f);
        }
        let at = url_expires_at(&url, fetched_at, lifetime);
        prop_assert!(at.is_finite());
        prop_assert!(at >= 0.0);
        prop_assert!(at <= 253_402_300_799_000.0 + 604_800_000.0 || at == fetched_at + lifetime);
    }

    #[test]
    fn amz_date_plus_expires_matches_a_naive_calendar(
        year in 1970i64..=9999,
        month in 1i64..=12,
        day in 1i64..=28,
        hour in 0i64..24,
        minute in 0i64..60,
        second in 0i64..60,
        expires in 0u64..=604_800,
    ) {
        let url = format!(
            "https://s3.example/a.png?X-Amz-Date={year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z&X-Amz-Expires={expires}"
        );
        let seconds = naive_days(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
        let expected = (seconds as f64 + expires as f64) * 1000.0;
        prop_assert_eq!(url_expires_at(&url, NOW, 1.0), expected);
    }
}

// ---- storage keys ----------------------------------------------------------------------------

/// The key of `id` in a storage layer.
fn key_in(keys: &Keys, layer: Layer, id: &str) -> String {
    match layer {
        Layer::Local => keys.record_key(id),
        _ => keys.image_key(id),
    }
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![Just(Layer::Local), Just(Layer::IndexedDb)]
}

/// Ids drawn from the characters that escaping has to get right, so near-collisions are common.
fn tricky_id() -> impl Strategy<Value = String> {
    "[%:aAfF3v~.\u{e9}\u{0}]{0,6}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_on_arbitrary_keys(
        namespace in "[a-z_]{1,10}",
        version in any::<u32>(),
        key in any::<String>(),
        suffix in ".{0,30}",
    ) {
        let keys = Keys::new(&namespace, version);
        let _ = keys.parse_any_version(&key);
        let _ = keys.parse_any_version(&format!("{namespace}:{suffix}"));
        let _ = keys.parse_any_version(&format!("{namespace}:local:{suffix}"));
        let _ = keys.parse_any_version(&format!("{namespace}:idb:{suffix}:v{suffix}"));
    }

    #[test]
    fn keys_round_trip_for_arbitrary_ids(
        namespace in "[a-z_]{1,10}",
        version in any::<u32>(),
        layer in layer(),
        id in prop_oneof![any::<String>(), tricky_id()].prop_filter("ids are never empty", |id| !id.is_empty()),
    ) {
        let keys = Keys::new(&namespace, version);
        let key = key_in(&keys, layer, &id);
        prop_assert_eq!(key.matches(':').count(), 3);
        prop_assert_eq!(
            keys.parse_any_version(&key),
            Some(ParsedKey { layer, id, version })
        );
        prop_assert!(keys.is_own(&key));
        prop_assert!(!keys.is_old_version(&key));
    }

    #[test]
    fn distinct_ids_never_share_a_key(
        layer in layer(),
        a in prop_oneof![any::<String>(), tricky_id()],
        b in prop_oneof![any::<String>(), tricky_id()],
    ) {
        prop_assume!(a != b);
        let keys = Keys::new("profile_pic", 1);
        prop_assert_ne!(key_in(&keys, layer, &a), key_in(&keys, layer, &b));
        prop_assert_ne!(keys.record_key(&a), keys.image_key(&a));
    }
}

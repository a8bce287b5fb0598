//! When does this presigned URL stop working, and is it time to refresh it?
//!
//! Object storage signs URLs for a limited time, and says so in the query string:
//!
//! - AWS S3 and MinIO (SigV4): `X-Amz-Date=20261128T010000Z&X-Amz-Expires=3600`;
//! - Google Cloud Storage (V4): `X-Goog-Date=…&X-Goog-Expires=…`, same formats;
//! - CloudFront and others: `Expires=1795827600` (Unix seconds).
//!
//! Parameter names are matched case-insensitively and values may be percent-encoded. When a URL
//! says nothing usable (no such parameters, a malformed or impossible date, a negative lifetime,
//! a lifetime over the 7 days SigV4 allows), the configured default lifetime counts from when
//! the URL was fetched. Nothing here panics, whatever the input.
//!
//! The expiry is read in the signer's clock. A browser whose clock is far off will refresh
//! early or late; the refresh margin absorbs small differences.

use crate::clock::Millis;
use crate::key::percent_decode;

/// The longest lifetime a presigned URL can have (SigV4's limit): 7 days, in seconds.
pub const MAX_LIFETIME_S: u64 = 7 * 24 * 3_600;

/// When `url` stops working (ms since epoch).
///
/// Read from `X-Amz-Date` + `X-Amz-Expires`, else `X-Goog-Date` + `X-Goog-Expires`, else
/// `Expires` (Unix seconds, within 7 days of `fetched_at`: anything else is not a timestamp
/// but, say, a relative lifetime or milliseconds); the first of these pairs
/// present in the URL decides. When it is malformed or absurd, or none is present:
/// `fetched_at + default_lifetime_ms`. Never panics.
pub fn url_expires_at(url: &str, fetched_at: Millis, default_lifetime_ms: Millis) -> Millis {
    signed_expiry(url, fetched_at).unwrap_or(fetched_at + default_lifetime_ms)
}

/// Whether a URL expiring at `expires_at` should be refreshed at `now`, `margin_ms` ahead of
/// its expiry: `now >= expires_at - margin_ms`. A `NaN` anywhere means yes.
pub fn needs_refresh(expires_at: Millis, now: Millis, margin_ms: Millis) -> bool {
    is_expired(expires_at - margin_ms, now)
}

/// Whether a URL expiring at `expires_at` no longer works at `now`: `now >= expires_at`.
/// A `NaN` anywhere means yes.
pub fn is_expired(expires_at: Millis, now: Millis) -> bool {
    now.is_nan() || expires_at.is_nan() || now >= expires_at
}

/// The origin of an absolute `http(s)` URL, as spelled in it: `"https://host:port"` from
/// `"https://host:port/path?query"`. A protocol-relative URL (`//host/path`) gives `"//host"`.
/// Relative URLs and other schemes give `""`, which callers read as "the page's own origin".
///
/// The slice is taken from the input, so the scheme and host keep their case and any userinfo
/// (`user:pass@`) stays in; it is used as a key, not shown.
pub fn origin_of(url: &str) -> &str {
    let url = url.trim_start();
    let scheme_len = if starts_with_ignore_case(url, "https://") {
        8
    } else if starts_with_ignore_case(url, "http://") {
        7
    } else if url.starts_with("//") {
        2
    } else {
        return "";
    };
    let rest = &url[scheme_len..];
    let host_len = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    &url[..scheme_len + host_len]
}

/// `url` without its query string and fragment, for logs: signatures are never logged.
pub fn without_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The expiry the URL states, if it states one that makes sense.
fn signed_expiry(url: &str, fetched_at: Millis) -> Option<Millis> {
    let query = query_of(url);
    for (date_name, expires_name) in [
        ("x-amz-date", "x-amz-expires"),
        ("x-goog-date", "x-goog-expires"),
    ] {
        if let (Some(date), Some(expires)) = (param(query, date_name), param(query, expires_name)) {
            let signed_at = parse_basic_iso8601(&date?)?;
            let lifetime_s = parse_seconds(&expires?).filter(|s| *s <= MAX_LIFETIME_S)?;
            return Some(signed_at + lifetime_s as Millis * 1000.0);
        }
    }
    let expires = param(query, "expires")??;
    let at = parse_seconds(&expires)? as Millis * 1000.0;
    let window = MAX_LIFETIME_S as Millis * 1000.0;
    (at <= fetched_at + window && at >= fetched_at - window).then_some(at)
}

/// The query string of `url` (between the first `?` and the fragment), or `""`.
fn query_of(url: &str) -> &str {
    let url = url.split('#').next().unwrap_or("");
    url.split_once('?').map_or("", |(_, q)| q)
}

/// The first parameter of `query` named `name` (lowercase ASCII; names are compared
/// case-insensitively after percent-decoding). `Some(None)` when it is present but its value is
/// not valid percent-encoded UTF-8.
fn param(query: &str, name: &str) -> Option<Option<String>> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key)?;
        key.eq_ignore_ascii_case(name)
            .then(|| percent_decode(value))
    })
}

/// A non-negative whole number of seconds written with ASCII digits only (no sign, no
/// fraction, at most 12 digits).
fn parse_seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYYMMDD'T'HHMMSS'Z'` (ISO 8601 basic format, UTC) → ms since epoch, for years 1970–9999.
fn parse_basic_iso8601(s: &str) -> Option<Millis> {
    let b = s.trim().as_bytes();
    if b.len() != 16 || !b[8].eq_ignore_ascii_case(&b'T') || !b[15].eq_ignore_ascii_case(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if year < 1970
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(seconds as Millis * 1000.0)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day` (Howard Hinnant's
/// `days_from_civil`: years counted from March, so the leap day ends the year).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `url` without its fragment and without every `X-Amz-*` query parameter (case-insensitive);
/// the other parameters keep their order. The same image signed twice gives the same string.
pub fn unsigned_url(url: &str) -> String {
    let url = &url[..url.find('#').unwrap_or(url.len())];
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            !p.get(..6)
                .is_some_and(|head| head.eq_ignore_ascii_case("x-amz-"))
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000.0;
    /// 2026-11-28T01:00:00Z.
    const SIGNED: Millis = 1_795_827_600_000.0;
    const FETCHED: Millis = SIGNED + 2_000.0;

    fn minio(date: &str, expires: &str) -> String {
        format!(
            "http://127.0.0.1:9000/avatars/a.png?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=minioadmin%2F20261128%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=abc"
        )
    }

    #[test]
    fn minio_url_expires_at_date_plus_expires() {
        let url = minio("20261128T010000Z", "3600");
        assert_eq!(url_expires_at(&url, FETCHED, HOUR), SIGNED + HOUR);
        assert_eq!(
            url_expires_at(&url, FETCHED, HOUR),
            1_795_831_200_000.0,
            "2026-11-28T02:00:00Z"
        );
    }

    #[test]
    fn civil_dates_convert_to_epoch_milliseconds() {
        let at = |s: &str| parse_basic_iso8601(s).unwrap();
        assert_eq!(at("19700101T000000Z"), 0.0);
        assert_eq!(at("20000229T000000Z"), 951_782_400_000.0);
        assert_eq!(at("20000301T000000Z"), 951_868_800_000.0);
        assert_eq!(at("20240229T235959Z"), 1_709_251_199_000.0);
        assert_eq!(at("21000301T000000Z"), 4_107_542_400_000.0);
        assert_eq!(at("99991231T235959Z"), 253_402_300_799_000.0);
    }

    #[test]
    fn impossible_dates_are_refused() {
        for s in [
            "20230229T000000Z",
            "21000229T000000Z",
            "20261301T000000Z",
            "20260001T000000Z",
            "20260431T000000Z",
            "20261128T240000Z",
            "20261128T006000Z",
            "20261128T000060Z",
            "19691231T235959Z",
            "20261128 010000Z",
            "20261128T010000",
            "2026-11-28T01:00:00Z",
            "+2026112T010000Z",
            "",
        ] {
            assert_eq!(parse_basic_iso8601(s), None, "{s}");
        }
    }

    #[test]
    fn parameter_names_are_case_insensitive() {
        let url = "https://s3.example/a.png?x-amz-date=20261128T010000Z&x-amz-expires=3600";
        assert_eq!(url_expires_at(url, FETCHED, HOUR), SIGNED + HOUR);
        let url = "https://s3.example/a.png?X-AMZ-DATE=20261128T010000Z&X-Amz-EXPIRES=60";
        assert_eq!(url_expires_at(url, FETCHED, HOUR), SIGNED + 60_000.0);
    }

    #[test]
    fn percent_encoded_names_and_values_are_decoded() {
        let url = "https://s3.example/a.png?X%2DAmz%2DDate=20261128T010000%5a&X-Amz-Expires=%33600";
        assert_eq!(url_expires_at(url, FETCHED, HOUR), SIGNED + HOUR);
    }

    #[test]
    fn google_signed_urls_are_read_too() {
        let url = "https://storage.googleapis.com/b/a.png?X-Goog-Algorithm=GOOG4-RSA-SHA256\
                   &X-Goog-Date=20261128T010000Z&X-Goog-Expires=900&X-Goog-Signature=ff";
        assert_eq!(url_expires_at(url, FETCHED, HOUR), SIGNED + 900_000.0);
    }

    #[test]
    fn cloudfront_expires_is_unix_seconds() {
        let url = "https://d111.cloudfront.net/a.png?Expires=1795831200&Signature=x&Key-Pair-Id=K";
        assert_eq!(url_expires_at(url, FETCHED, HOUR), SIGNED + HOUR);
        let lower = "https://d111.cloudfront.net/a.png?expires=1795831200";
        assert_eq!(url_expires_at(lower, FETCHED, HOUR), SIGNED + HOUR);
    }

    #[test]
    fn cloudfront_expiry_more_than_seven_days_away_is_absurd() {
        let far = format!(
            "https://cdn.example/a.png?Expires={}",
            (FETCHED / 1000.0) as u64 + MAX_LIFETIME_S + 10
        );
        assert_eq!(url_expires_at(&far, FETCHED, HOUR), FETCHED + HOUR);
        let millis = format!("https://cdn.example/a.png?Expires={}", FETCHED as u64);
        assert_eq!(url_expires_at(&millis, FETCHED, HOUR), FETCHED + HOUR);
        let relative = "https://cdn.example/a.png?expires=3600";
        assert_eq!(url_expires_at(relative, FETCHED, HOUR), FETCHED + HOUR);
    }

    #[test]
    fn missing_parameters_fall_back_to_the_default_lifetime() {
        for url in [
            "https://s3.example/a.png",
            "/images/default_pfp.png",
            "https://s3.example/a.png?X-Amz-Date=20261128T010000Z",
            "https://s3.example/a.png?X-Amz-Expires=3600",
            "https://s3.example/a.png#X-Amz-Date=20261128T010000Z&X-Amz-Expires=3600",
            "",
            "?",
            "?&&&==&",
        ] {
            assert_eq!(url_expires_at(url, FETCHED, HOUR), FETCHED + HOUR, "{url}");
        }
    }

    #[test]
    fn garbage_or_absurd_parameters_fall_back_to_the_default_lifetime() {
        for (date, expires) in [
            ("20261128T010000Z", "-3600"),
            ("20261128T010000Z", "+3600"),
            ("20261128T010000Z", "604801"),
            ("20261128T010000Z", "99999999999999999999"),
            ("20261128T010000Z", "1e3"),
            ("20261128T010000Z", "36.5"),
            ("20261128T010000Z", ""),
            ("20261128T010000Z", "%zz"),
            ("20261128T010000Z", "%FF"),
            ("yesterday", "3600"),
            ("20261328T010000Z", "3600"),
            ("20261128T010000Zextra", "3600"),
            ("", "3600"),
        ] {
            let url = minio(date, expires);
            assert_eq!(url_expires_at(&url, FETCHED, HOUR), FETCHED + HOUR, "{url}");
        }
    }

    #[test]
    fn seven_day_lifetime_is_the_longest_accepted() {
        let url = minio("20261128T010000Z", "604800");
        assert_eq!(url_expires_at(&url, FETCHED, HOUR), SIGNED + 604_800_000.0);
    }

    #[test]
    fn the_first_occurrence_of_a_parameter_counts() {
        let url = "https://s3.example/a?X-Amz-Date=20261128T010000Z&X-Amz-Expires=60\
                   &X-Amz-Expires=3600";
        assert_eq!(url_expires_at(url, FETCHED, HOUR), SIGNED + 60_000.0);
    }

    #[test]
    fn refresh_is_due_a_margin_before_expiry() {
        let margin = 600_000.0;
        let exp = SIGNED + HOUR;
        assert!(!needs_refresh(exp, exp - margin - 1.0, margin));
        assert!(needs_refresh(exp, exp - margin, margin));
        assert!(needs_refresh(exp, exp + 1.0, margin));
        assert!(needs_refresh(Millis::NAN, exp, margin));
    }

    #[test]
    fn url_is_expired_from_its_expiry_on() {
        let exp = SIGNED + HOUR;
        assert!(!is_expired(exp, exp - 1.0));
        assert!(is_expired(exp, exp));
        assert!(is_expired(Millis::NAN, exp));
    }

    #[test]
    fn origin_is_scheme_host_and_port_of_absolute_urls() {
        assert_eq!(
            origin_of("http://127.0.0.1:9000/avatars/a.png?X-Amz-Signature=abc"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            origin_of("https://cdn.example.com?x=1"),
            "https://cdn.example.com"
        );
        assert_eq!(
            origin_of("HTTPS://Cdn.Example.com#f"),
            "HTTPS://Cdn.Example.com"
        );
        assert_eq!(
            origin_of("https://cdn.example.com"),
            "https://cdn.example.com"
        );
        assert_eq!(origin_of("//cdn.example.com/a.png"), "//cdn.example.com");
    }

    #[test]
    fn relative_and_non_http_urls_have_the_page_origin() {
        for url in [
            "/images/default_pfp.png",
            "images/a.png",
            "?x=1",
            "",
            "blob:https://app.example/1234",
            "data:image/png;base64,AAAA",
            "ftp://files.example/a.png",
            "httpx://a",
            "é",
        ] {
            assert_eq!(origin_of(url), "", "{url}");
        }
    }

    #[test]
    fn logs_see_urls_without_their_signatures() {
        assert_eq!(
            without_query(&minio("20261128T010000Z", "3600")),
            "http://127.0.0.1:9000/avatars/a.png"
        );
        assert_eq!(without_query("/a.png#frag"), "/a.png");
        assert_eq!(without_query("/a.png"), "/a.png");
    }
}

//! May this URL be fetched, or handed to the app as a picture's `src`?
//!
//! The backend and storage are not trusted to name only web URLs: a `javascript:` or `data:`
//! URL in an API answer or a stored record must never reach an `<img>` or `fetch`. Only
//! `http:` and `https:` URLs pass, and relative URLs (resolved against the page, so they stay
//! on its own http(s) origin). The check reads the URL as a browser's URL parser would: tabs and
//! newlines anywhere are ignored and leading control characters and spaces are stripped, so
//! `"java\nscript:"` and `" javascript:"` are caught too.

/// Whether `url` is an `http(s)` URL or a relative one.
pub fn is_web_url(url: &str) -> bool {
    // What the URL parser sees: no tab or newline anywhere, no leading C0 control or space.
    let seen: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let seen = seen.trim_start_matches(|c: char| c <= ' ');
    match scheme(seen) {
        None => !seen.starts_with('\\'),
        Some(scheme) => scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"),
    }
}

/// The scheme of `url` (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`), if it has one.
fn scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let candidate = &url[..colon];
    let mut chars = candidate.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_pass() {
        for url in [
            "https://bucket.example/a.png?X-Amz-Signature=1",
            "HTTP://x/y",
            "/images/default_pfp.png",
            "images/a.png",
            "//cdn.example/a.png",
            "a.png?x=javascript:1",
        ] {
            assert!(is_web_url(url), "{url}");
        }
    }

    #[test]
    fn other_schemes_are_refused_however_they_are_spelled() {
        for url in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "\u{0}javascript:alert(1)",
            "java\nscript:alert(1)",
            "java\tscript:alert(1)",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "blob:https://app.example/1",
            "file:///etc/passwd",
            "vbscript:x",
            "\\\\evil\\share",
        ] {
            assert!(!is_web_url(url), "{url:?}");
        }
    }
}

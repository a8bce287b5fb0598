//! May this URL be fetched, or handed to the app as a picture's `src`?
//!
//! The backend and storage are not trusted to name only web URLs: a `javascript:` or `data:`
//! URL in an API answer or a stored record must never reach an `<img>` or `fetch`. Only
//! `http:` and `https:` URLs pass, and relative URLs (resolved against the page, so they stay
//! on its own http(s) origin). The check reads the URL as a browser's URL parser would: tabs and
//! newlines anywhere are ignored and leading control characters and spaces are stripped, so
//! `"java\nscript:"` and `" javascript:"` are caught too.

/// Whether `url` is an `http(s)` URL or a relative one.
///
/// Reads the bytes once, without a copy: what the URL parser sees is `url` without tabs and
/// newlines and without leading C0 controls and spaces; a scheme is `ALPHA *( ALPHA / DIGIT /
/// "+" / "-" / "." )` before the first `:`. No scheme (a relative URL) passes unless it starts
/// with `\\` (a UNC path to some browsers).
pub fn is_web_url(url: &str) -> bool {
    let mut seen = url
        .bytes()
        .filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'))
        .skip_while(|&b| b <= b' ');
    let Some(first) = seen.next() else {
        return true;
    };
    if !first.is_ascii_alphabetic() {
        return first != b'\\';
    }
    // The scheme, lowercased, as far as it could still be `https`.
    let mut scheme = [first.to_ascii_lowercase(), 0, 0, 0, 0];
    let mut len = 1;
    for b in seen {
        match b {
            b':' => return matches!(scheme.get(..len), Some(b"http" | b"https")),
            b if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.') => {
                if let Some(slot) = scheme.get_mut(len) {
                    *slot = b.to_ascii_lowercase();
                }
                len += 1;
            }
            // Not a scheme: a relative URL.
            _ => return true,
        }
    }
    true
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

    /// The reading this module's single pass replaced (copy without tabs and newlines, trim,
    /// find the first `:`), kept as the reference it must agree with.
    fn reference(url: &str) -> bool {
        let seen: String = url
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let seen = seen.trim_start_matches(|c: char| c <= ' ');
        let scheme = seen.find(':').and_then(|colon| {
            let candidate = &seen[..colon];
            let mut chars = candidate.chars();
            let first = chars.next()?;
            (first.is_ascii_alphabetic()
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .then_some(candidate)
        });
        match scheme {
            None => !seen.starts_with('\\'),
            Some(s) => s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"),
        }
    }

    #[test]
    fn agrees_with_the_reference_reading() {
        let pieces = [
            "",
            " ",
            "\t",
            "\n",
            "\u{1}",
            "h",
            "H",
            "t",
            "p",
            "s",
            "x",
            "1",
            "+",
            ".",
            "-",
            ":",
            "/",
            "\\",
            "é",
            "?",
            "javascript",
            "https",
            "httpss",
        ];
        let mut checked = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in [":", "", "x:y", "/a"] {
                        let url = format!("{a}{b}{c}{d}");
                        assert_eq!(is_web_url(&url), reference(&url), "{url:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 40_000);
    }
}

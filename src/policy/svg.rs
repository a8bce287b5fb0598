//! Can this SVG run script, or reach outside itself, when opened as a document?
//!
//! An `<img>` never runs an SVG's script, but the cache hands out `blob:` URLs of the app's own
//! origin: opened in a frame or a new tab, an SVG with `<script>` or an `onload` attribute runs
//! in the app's origin. With `image/svg+xml` allowed, the cache keeps only SVGs that are inert
//! by construction of this check: no script element, no event-handler attribute, no
//! `<foreignObject>` (HTML inside the SVG), no embedded documents, no `javascript:` or external
//! references (`href`, `xlink:href`, CSS `url(…)` and `@import` may only point inside the file,
//! `#id`, or at a `data:image/` payload), no entity declarations. Conservative on purpose: a
//! harmless SVG that merely looks suspicious is refused rather than risk one that is not.

/// Why an SVG is refused; `None` when it is inert.
pub fn svg_hazard(bytes: &[u8]) -> Option<&'static str> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_ascii_lowercase(),
        Err(_) => return Some("not UTF-8 text"),
    };
    // Entities and comments could hide any of the below from a plain scan.
    if text.contains("<!entity") {
        return Some("declares entities");
    }
    if text.contains("&#") {
        return Some("uses character references");
    }
    for (element, why) in [
        ("<script", "contains a script"),
        ("foreignobject", "contains foreignObject"),
        ("<iframe", "embeds a document"),
        ("<embed", "embeds a document"),
        ("<object", "embeds a document"),
        ("<handler", "contains a handler"),
        ("<listener", "contains a listener"),
    ] {
        if text.contains(element) {
            return Some(why);
        }
    }
    if text.contains("javascript:") || text.contains("vbscript:") {
        return Some("contains a script URL");
    }
    if has_event_handler(&text) {
        return Some("has an event-handler attribute");
    }
    if text.contains("@import") {
        return Some("imports a stylesheet");
    }
    if external_reference(&text, "href") || external_reference(&text, "url(") {
        return Some("refers to another resource");
    }
    None
}

/// An attribute whose name starts with `on` (`onload=`, `onclick =`) anywhere in a tag.
fn has_event_handler(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text[from..].find("on") {
        let at = from + found;
        from = at + 2;
        let before = at.checked_sub(1).map(|i| bytes[i]);
        if !before.is_some_and(|c| c.is_ascii_whitespace() || c == b'/' || c == b'"' || c == b'\'')
        {
            continue;
        }
        let name_end = text[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':'))
            .map_or(text.len(), |n| at + n);
        let after = text[name_end..].trim_start();
        if name_end > at + 2 && after.starts_with('=') {
            return true;
        }
    }
    false
}

/// Whether any `needle` (`href` or `url(`) points outside the file: its value must start with
/// `#` or `data:image/`.
fn external_reference(text: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(found) = text[from..].find(needle) {
        let at = from + found + needle.len();
        from = at;
        let mut value = text[at..].trim_start();
        if needle == "href" {
            let Some(rest) = value.strip_prefix('=') else {
                continue;
            };
            value = rest.trim_start();
        }
        let value = value.trim_start_matches(['"', '\'']).trim_start();
        if !(value.starts_with('#') || value.starts_with("data:image/")) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inert_svg_passes() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">
            <defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>
            <circle cx="5" cy="5" r="4" fill="url(#g)"/><use href="#g"/></svg>"##;
        assert_eq!(svg_hazard(svg), None);
    }

    #[test]
    fn anything_that_can_run_or_reach_out_is_refused() {
        for svg in [
            r#"<svg><script>alert(1)</script></svg>"#,
            r#"<svg><SCRIPT xlink:href="x.js"/></svg>"#,
            r#"<svg onload="alert(1)"/>"#,
            r#"<svg><rect width="1" ONCLICK = 'x()'/></svg>"#,
            r#"<svg><foreignObject><iframe src="https://evil"/></foreignObject></svg>"#,
            r#"<svg><a href="javascript:alert(1)"><text>x</text></a></svg>"#,
            r#"<svg><image href="https://tracker.example/p.png"/></svg>"#,
            r#"<svg><image xlink:href = "//tracker.example/p.png"/></svg>"#,
            r#"<svg><style>@import url(https://x/y.css);</style></svg>"#,
            r#"<svg><rect fill="url(https://x/y.svg#p)"/></svg>"#,
            r#"<!DOCTYPE svg [<!ENTITY x "&#60;script">]><svg>&x;</svg>"#,
            r#"<svg><set attributeName="onload" to="&#97;lert(1)"/></svg>"#,
        ] {
            assert!(svg_hazard(svg.as_bytes()).is_some(), "{svg}");
        }
    }

    #[test]
    fn words_that_merely_contain_on_are_not_handlers() {
        let svg = br#"<svg><text font-family="Montserrat">on and on</text><polygon points="0,0 1,1"/></svg>"#;
        assert_eq!(svg_hazard(svg), None);
    }
}

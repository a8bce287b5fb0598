//! The Service Worker layer's decisions (DESIGN.md §3 "Service Worker layer"), in pure Rust.
//!
//! A module service worker calls `serveAvatars(config)` (the package's `./sw` entry, a small JS
//! file that routes fetch events into [`crate::js`]'s `AvatarWorker`). What is decided here:
//!
//! - [`WorkerOptions`]: the two config fields only the worker reads, `storageOrigins` (default
//!   `[]`) and `avatarPath` (default `/avatar`), validated like the rest of the config (the
//!   error names the field);
//! - [`WorkerOptions::route`]: which requests the worker answers: `GET {avatarPath}/{userId}` on
//!   its own origin (the user's picture through the hierarchy), image requests to a storage
//!   origin (keyed by [`unsigned_url`]), and nothing else;
//! - [`unsigned_url`]: a presigned URL without its `X-Amz-*` signature, so the same image keeps
//!   one key however often it is signed again;
//! - [`refresh_sweep_ms`]: how often a running worker refreshes presigned URLs near expiry.

use crate::policy::presign::origin_of;
pub use crate::policy::presign::unsigned_url;

/// The default of `avatarPath`.
pub const DEFAULT_AVATAR_PATH: &str = "/avatar";

/// The `Cache-Control` of the worker's answers: the page may reuse the picture for a while
/// without asking the worker again (the worker itself never keeps answers in the HTTP cache).
pub const ANSWER_CACHE_CONTROL: &str = "private, max-age=300";

/// How long the worker's user requests wait for others before the batch call goes out: after
/// the first, and again after each one that joins (200 ms at most in all). A page's `<img>`s
/// reach the worker as separate fetch events, spread out as the parser and layout reach them;
/// with a page's one-turn window, 50 `<img>`s went out as two or three calls in Chromium; at
/// 15 ms Firefox still split them into up to four (its first few fetch events sometimes come
/// well ahead of the rest). Only requests that miss every store wait.
pub const WORKER_BATCH_WINDOW_MS: f64 = 40.0;

/// How often a running worker looks for presigned URLs about to expire: a quarter of
/// `refreshMarginMs`, between a quarter of a second and a minute, so a URL is refreshed well
/// inside its margin whatever the margin.
pub fn refresh_sweep_ms(refresh_margin_ms: f64) -> f64 {
    (refresh_margin_ms / 4.0).clamp(250.0, 60_000.0)
}

/// The config fields that only the service worker reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerOptions {
    /// Origins of object storage (`https://bucket.example`), lower-cased, no trailing slash.
    pub storage_origins: Vec<String>,
    /// Path prefix of `GET {avatarPath}/{userId}`, starting with `/`, no trailing slash.
    pub avatar_path: String,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            storage_origins: Vec::new(),
            avatar_path: DEFAULT_AVATAR_PATH.into(),
        }
    }
}

/// What the worker does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET {avatarPath}/{userId}`: the user's picture through the hierarchy.
    Avatar {
        /// The user id, percent-decoded.
        user_id: String,
    },
    /// An image on a storage origin: stored bytes under `key`, else a checked download.
    Storage {
        /// The URL without its signature: the image's id in the image store.
        key: String,
    },
    /// Not the worker's business: the network answers as if there were no worker.
    Pass,
}

impl WorkerOptions {
    /// The worker's fields of a validated config (`storageOrigins`, `avatarPath`: read and
    /// checked with every other field in [`crate::Config`]).
    pub fn from_config(config: &crate::Config) -> WorkerOptions {
        WorkerOptions {
            storage_origins: config.storage_origins.clone(),
            avatar_path: config.avatar_path.clone(),
        }
    }

    /// What to do with a `method` request for `url` (absolute) whose `destination` is the
    /// Fetch standard's (`"image"` for `<img>`), made under the worker's `own_origin`.
    pub fn route(&self, method: &str, url: &str, destination: &str, own_origin: &str) -> Route {
        if !method.eq_ignore_ascii_case("GET") {
            return Route::Pass;
        }
        let origin = origin_of(url);
        if origin.is_empty() {
            return Route::Pass;
        }
        let rest = &url[origin.len()..];
        if origin.eq_ignore_ascii_case(own_origin) {
            let path = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
            if let Some(tail) = path
                .strip_prefix(self.avatar_path.as_str())
                .and_then(|t| t.strip_prefix('/'))
            {
                if !tail.is_empty() && !tail.contains('/') {
                    if let Some(user_id) = percent_decode(tail).filter(|u| !u.is_empty()) {
                        return Route::Avatar { user_id };
                    }
                }
            }
        }
        if destination == "image"
            && self
                .storage_origins
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
        {
            return Route::Storage {
                key: unsigned_url(url),
            };
        }
        Route::Pass
    }
}

/// `%XX` escapes decoded (UTF-8); `None` for a malformed escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Result};
    use serde_json::json;

    const OWN: &str = "https://app.example";

    fn from_json(value: serde_json::Value) -> Result<WorkerOptions> {
        crate::Config::from_json(value).map(|c| WorkerOptions::from_config(&c))
    }

    fn options() -> WorkerOptions {
        from_json(json!({ "storageOrigins": ["https://S3.example/"] })).unwrap()
    }

    #[test]
    fn defaults_when_absent() {
        assert_eq!(from_json(json!({})).unwrap(), WorkerOptions::default());
        assert_eq!(
            from_json(serde_json::Value::Null).unwrap(),
            WorkerOptions::default()
        );
    }

    #[test]
    fn bad_fields_are_named() {
        for bad in [
            json!({ "storageOrigins": "https://s3.example" }),
            json!({ "storageOrigins": [1] }),
            json!({ "storageOrigins": ["https://s3.example/bucket"] }),
            json!({ "storageOrigins": ["ftp://s3.example"] }),
            json!({ "storageOrigins": ["s3.example"] }),
            json!({ "storageOrigins": ["https://user@s3.example"] }),
            json!({ "storageOrigins": ["https://bücher.example"] }),
        ] {
            let e = from_json(bad.clone()).unwrap_err();
            assert!(
                matches!(&e, Error::ConfigInvalid { field, .. } if field == "storageOrigins"),
                "{bad}: {e}"
            );
        }
        for bad in [
            json!({ "avatarPath": 3 }),
            json!({ "avatarPath": "avatar" }),
            json!({ "avatarPath": "/" }),
            json!({ "avatarPath": "/a?x" }),
        ] {
            let e = from_json(bad.clone()).unwrap_err();
            assert!(
                matches!(&e, Error::ConfigInvalid { field, .. } if field == "avatarPath"),
                "{bad}: {e}"
            );
        }
        // Written as browsers write a request's origin, so that one can match it.
        let origins = from_json(json!({ "storageOrigins": [
            "https://S3.example:443/", "http://b.example:80", "https://c.example:8443"
        ] }))
        .unwrap()
        .storage_origins;
        assert_eq!(
            origins,
            [
                "https://s3.example",
                "http://b.example",
                "https://c.example:8443"
            ]
        );
        assert_eq!(
            from_json(json!({ "avatarPath": "/pics/" }))
                .unwrap()
                .avatar_path,
            "/pics"
        );
    }

    #[test]
    fn avatar_path_routes_same_origin_gets() {
        let o = options();
        assert_eq!(
            o.route("GET", "https://app.example/avatar/42?v=1", "image", OWN),
            Route::Avatar {
                user_id: "42".into()
            }
        );
        assert_eq!(
            o.route("GET", "https://app.example/avatar/a%20b", "", OWN),
            Route::Avatar {
                user_id: "a b".into()
            }
        );
        for pass in [
            ("POST", "https://app.example/avatar/42"),
            ("GET", "https://app.example/avatar/"),
            ("GET", "https://app.example/avatar/4/2"),
            ("GET", "https://app.example/avatars/42"),
            ("GET", "https://app.example/avatar/%zz"),
            ("GET", "https://other.example/avatar/42"),
        ] {
            assert_eq!(
                o.route(pass.0, pass.1, "image", OWN),
                Route::Pass,
                "{pass:?}"
            );
        }
    }

    #[test]
    fn storage_images_are_keyed_without_their_signature() {
        let o = options();
        let a = "https://s3.example/avatars/img1?X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-Signature=aa";
        let b = "https://s3.example/avatars/img1?x-amz-date=20250101T000000Z&X-Amz-Signature=bb#f";
        let key = Route::Storage {
            key: "https://s3.example/avatars/img1".into(),
        };
        assert_eq!(o.route("GET", a, "image", OWN), key);
        assert_eq!(o.route("GET", b, "image", OWN), key);
        // Not an <img>, or not a storage origin: left alone.
        assert_eq!(o.route("GET", a, "", OWN), Route::Pass);
        assert_eq!(
            o.route("GET", "https://cdn.example/x.png", "image", OWN),
            Route::Pass
        );
    }

    #[test]
    fn refresh_sweep_stays_inside_the_margin() {
        assert_eq!(refresh_sweep_ms(600_000.0), 60_000.0);
        assert_eq!(refresh_sweep_ms(2_000.0), 500.0);
        assert_eq!(refresh_sweep_ms(0.0), 250.0);
    }

    #[test]
    fn unsigned_url_keeps_other_parameters() {
        assert_eq!(
            unsigned_url("https://s/a?size=2&X-Amz-Signature=x&b=1"),
            "https://s/a?size=2&b=1"
        );
        assert_eq!(unsigned_url("https://s/a"), "https://s/a");
        assert_eq!(unsigned_url("https://s/a?"), "https://s/a");
    }
}

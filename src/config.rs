//! Configuration: the defaults of DESIGN.md §3 and the validation that names the bad field.
//!
//! The JS side hands over a plain object; [`Config::from_json`] reads it (functions such as
//! `fetch` and `onEvent` are taken out by `js.rs` first, see [`JS_ONLY_FIELDS`]), fills in
//! defaults and checks every field. A field of the wrong type, an unknown field or an
//! out-of-range value is an [`crate::Error::ConfigInvalid`] naming the field as it is spelled in
//! `AvatarCacheConfig`.
//!
//! # One place per field
//!
//! Each field is named once, in [`Config::from_json`], on the line that reads it with its
//! default and its bounds (`memory.duration("ttlMs", 30.0 * MINUTE_MS, ..)`). The reader
//! remembers the names it was asked for, so it needs no separate list of known fields: whatever
//! else the object holds is refused as unknown. The TypeScript interface ([`CONFIG_TS`], which
//! `js.rs` ships in the `.d.ts`) is the one other spelling, and a test checks that it names
//! exactly the fields the reader reads.

mod reader;

use crate::json::Value;

use self::reader::{Fields, Reader, Zero};
use crate::error::Result;
use crate::key::percent_encode;

/// One minute in milliseconds.
const MINUTE_MS: f64 = 60_000.0;
/// One day in milliseconds.
const DAY_MS: f64 = 24.0 * 60.0 * MINUTE_MS;

/// The image MIME types admitted by default. SVG is not among them: it can carry script.
pub const DEFAULT_ALLOWED_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/avif",
];

/// Fields of `AvatarCacheConfig` that hold JavaScript functions: `js.rs` takes them out of the
/// object before [`Config::from_json`] reads the rest.
pub const JS_ONLY_FIELDS: &[&str] = &["fetch", "onEvent"];

/// `AvatarCacheConfig` as the package's TypeScript declarations spell it (`js.rs` emits it with
/// `typescript_custom_section`). Every field is one [`Config::from_json`] reads, or one of
/// [`JS_ONLY_FIELDS`]; a test keeps the two lists the same.
pub const CONFIG_TS: &str = r#"
/** Configuration of {@link AvatarCache.open}; every field is optional. */
export interface AvatarCacheConfig {
  /** Base of the backend API. Default "/images". */
  apiBase?: string;
  /** User endpoint relative to apiBase; must contain {userId}. Default "/user/{userId}". */
  userPath?: string;
  /** Image endpoint relative to apiBase; must contain {imageId}. Default "/{imageId}". */
  imagePath?: string;
  /** Batch endpoint (POST { user_ids }); none by default: no batching. */
  batchEndpoint?: string;
  /** Shown when nothing better is known. Default "{apiBase}/default_pfp.png". */
  defaultImageUrl?: string;
  /** Extra headers for API calls (not for image downloads). */
  headers?: Record<string, string>;
  /** Credentials mode for API calls. Default "same-origin". */
  credentials?: "omit" | "same-origin" | "include";
  /** The fetch to use (auth wrappers, tests). Default: the global fetch. */
  fetch?: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** Prefix of every key and of the database name. Default "profile_pic". */
  namespace?: string;
  /** Bump to make every entry written under another version invisible. Default 1. */
  version?: number;
  memory?: { ttlMs?: number; maxEntries?: number; maxBytes?: number };
  /** storeUrls: false keeps records without their presigned URL (a bearer credential); after a
   * reload the URL is signed again when a download needs one. Default true. */
  local?: { ttlMs?: number; enabled?: boolean; storeUrls?: boolean };
  idb?: { ttlMs?: number; maxBytes?: number; maxEntries?: number; enabled?: boolean; openTimeoutMs?: number };
  /** Presigned URLs expiring within this margin are refreshed in the background. Default 10 min. */
  refreshMarginMs?: number;
  /** URL lifetime assumed when the URL carries none. Default 1 h. */
  urlLifetimeMs?: number;
  /** Answer stale pictures at once and revalidate in the background. Default true. */
  staleWhileRevalidate?: boolean;
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  breaker?: { failures?: number; cooldownMs?: number };
  /** prefetch: ids per batch call (default 100) and parallel downloads (default 6). */
  batch?: { maxIds?: number; concurrency?: number };
  /** Per-request timeout. Default 10 s. */
  requestTimeoutMs?: number;
  /** Largest image accepted. Default 2 MiB. */
  maxImageBytes?: number;
  /** Images up to this size are handed out as `data:` URLs, larger ones as object URLs (0: always
   * object URLs, for a CSP without `img-src data:`). Default 32 KiB. */
  dataUrlMaxBytes?: number;
  /** Most pixels an image's header may declare (pixel bombs). Default 16 777 216 (4096 x 4096). */
  maxImagePixels?: number;
  /** Image types that may become object URLs. Default png, jpeg, webp, gif, avif (no SVG). */
  allowedTypes?: string[];
  /** Tell other tabs about changes. Default true. */
  crossTab?: boolean;
  /** Log each decision at console.debug level. Default false. */
  debug?: boolean;
  /** Register on globalThis.__AVATAR_CACHE__[namespace] for the devtools console. Default true. */
  devtools?: boolean;
  /** Service worker only: origins of object storage whose images it serves. Default []. */
  storageOrigins?: string[];
  /** Service worker only: it answers GET {avatarPath}/{userId}. Default "/avatar". */
  avatarPath?: string;
  /** Told of loads, evictions, errors and refreshes (analytics). */
  onEvent?: (event: CacheEvent) => void;
}
"#;

/// How `fetch` sends credentials (the `RequestCredentials` of the Fetch standard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// Never send cookies.
    Omit,
    /// Send cookies to the same origin only (the Fetch default).
    SameOrigin,
    /// Always send cookies.
    Include,
}

/// The memory layer's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryConfig {
    /// How long a record stays fresh in memory.
    pub ttl_ms: f64,
    /// How many users the memory layer holds before the least recently used is dropped.
    pub max_entries: usize,
    /// How many image bytes the live object URLs may pin, in total.
    pub max_bytes: u64,
}

/// The localStorage layer's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// How long a record stays fresh in localStorage.
    pub ttl_ms: f64,
    /// Whether the layer is used at all.
    pub enabled: bool,
    /// Whether records keep their presigned URL in localStorage.
    pub store_urls: bool,
}

/// The IndexedDB layer's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct IdbConfig {
    /// How long stored image bytes stay fresh.
    pub ttl_ms: f64,
    /// The byte budget; the least recently used images are evicted to stay under it.
    pub max_bytes: u64,
    /// The entry cap.
    pub max_entries: usize,
    /// Whether the layer is used at all.
    pub enabled: bool,
    /// How long `open` waits for the database before working without it.
    pub open_timeout_ms: u32,
}

/// Retry settings for network requests.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all, the first included (1 = no retry).
    pub attempts: u32,
    /// The delay before the first retry; it doubles each time, with jitter.
    pub base_delay_ms: f64,
    /// The longest delay between two attempts.
    pub max_delay_ms: f64,
}

/// Circuit-breaker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long the breaker stays open before one probe request is let through.
    pub cooldown_ms: f64,
}

/// Batching settings for `prefetch`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    /// The most user ids sent in one batch call.
    pub max_ids: usize,
    /// How many image downloads run at once.
    pub concurrency: usize,
}

/// The validated configuration, with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base of the backend API, e.g. `/images`.
    pub api_base: String,
    /// Path of the user endpoint relative to `api_base`; contains `{userId}`.
    pub user_path: String,
    /// Path of the image endpoint relative to `api_base`; contains `{imageId}`.
    pub image_path: String,
    /// URL of the batch endpoint, if the backend has one.
    pub batch_endpoint: Option<String>,
    /// The picture shown when nothing better is known.
    pub default_image_url: String,
    /// Extra request headers for API calls (not for image downloads from object storage).
    pub headers: Vec<(String, String)>,
    /// Credentials mode for API calls.
    pub credentials: Credentials,
    /// Prefix of every key and of the database name.
    pub namespace: String,
    /// Bumping it hides every entry written under another version.
    pub version: u32,
    /// Memory layer.
    pub memory: MemoryConfig,
    /// localStorage layer.
    pub local: LocalConfig,
    /// IndexedDB layer.
    pub idb: IdbConfig,
    /// Presigned URLs expiring within this margin are refreshed in the background.
    pub refresh_margin_ms: f64,
    /// URL lifetime assumed when the URL carries no expiry of its own.
    pub url_lifetime_ms: f64,
    /// Answer stale records at once and revalidate in the background.
    pub stale_while_revalidate: bool,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Circuit breaker policy.
    pub breaker: BreakerConfig,
    /// Batching for `prefetch`.
    pub batch: BatchConfig,
    /// Per-request timeout.
    pub request_timeout_ms: u32,
    /// The largest image accepted, in bytes.
    pub max_image_bytes: u64,
    /// The largest image handed out as a `data:` URL rather than an object URL (0: none).
    pub data_url_max_bytes: u64,
    /// The most pixels an image's header may declare.
    pub max_image_pixels: u64,
    /// MIME types that may become object URLs.
    pub allowed_types: Vec<String>,
    /// Tell other tabs about changes (BroadcastChannel).
    pub cross_tab: bool,
    /// Log each decision at `console.debug` level.
    pub debug: bool,
    /// Register the cache on `globalThis.__AVATAR_CACHE__` (by namespace) for the console.
    pub devtools: bool,
    /// Service worker: origins of object storage (`https://bucket.example`), lower-cased, no
    /// trailing slash.
    pub storage_origins: Vec<String>,
    /// Service worker: path prefix of `GET {avatarPath}/{userId}`, starting with `/`, no
    /// trailing slash.
    pub avatar_path: String,
}

impl Default for Config {
    /// Every default, as [`Config::from_json`] fills them in for an empty object.
    fn default() -> Self {
        Config::from_json(Value::Null).expect("the defaults are a valid config")
    }
}

impl Config {
    /// Reads and validates the config object handed over from JavaScript (as JSON; `null` or
    /// `undefined` means all defaults).
    ///
    /// Each field is read once, here, with its default and bounds. When several fields are
    /// wrong, an unknown field (a misspelling explains the rest) is reported before a bad value,
    /// and bad values in the order of `AvatarCacheConfig`.
    pub fn from_json(value: impl Into<Value>) -> Result<Config> {
        Reader::read(&value.into(), Config::read)
    }

    fn read(top: &Fields<'_>) -> Config {
        let api_base = top
            .string("apiBase")
            .unwrap_or_else(|| "/images".into())
            .trim_end_matches('/')
            .to_string();
        let user_path = top.non_empty("userPath", "/user/{userId}");
        top.check(
            "userPath",
            user_path.contains("{userId}"),
            "must contain the placeholder {userId}",
        );
        let image_path = top.non_empty("imagePath", "/{imageId}");
        top.check(
            "imagePath",
            image_path.contains("{imageId}"),
            "must contain the placeholder {imageId}",
        );
        let batch_endpoint = top.string("batchEndpoint");
        top.check(
            "batchEndpoint",
            batch_endpoint.as_ref().is_none_or(|s| !s.trim().is_empty()),
            "must not be empty (leave it out to disable batching)",
        );
        let default_image_url =
            top.non_empty("defaultImageUrl", &format!("{api_base}/default_pfp.png"));
        let headers = top.string_map("headers").unwrap_or_default();
        let credentials = match top.string("credentials").as_deref() {
            None | Some("same-origin") => Credentials::SameOrigin,
            Some("omit") => Credentials::Omit,
            Some("include") => Credentials::Include,
            Some(other) => {
                top.check(
                    "credentials",
                    false,
                    format!("must be \"omit\", \"same-origin\" or \"include\", not \"{other}\""),
                );
                Credentials::SameOrigin
            }
        };
        let namespace = top.non_empty("namespace", "profile_pic");
        top.check(
            "namespace",
            !namespace.contains(':') && namespace.len() <= 64,
            "must be at most 64 characters and contain no ':'",
        );
        let version = top.count("version", 1, 0..=u32::MAX as u64) as u32;
        let memory = top.group("memory", |m| MemoryConfig {
            ttl_ms: m.duration("ttlMs", 30.0 * MINUTE_MS, Zero::Refused),
            max_entries: m.count("maxEntries", 500, 1..=1_000_000) as usize,
            max_bytes: m.count("maxBytes", 64 << 20, 1..=1 << 40),
        });
        let local = top.group("local", |l| LocalConfig {
            ttl_ms: l.duration("ttlMs", 45.0 * MINUTE_MS, Zero::Refused),
            enabled: l.flag("enabled", true),
            store_urls: l.flag("storeUrls", true),
        });
        let idb = top.group("idb", |i| IdbConfig {
            ttl_ms: i.duration("ttlMs", 7.0 * DAY_MS, Zero::Refused),
            max_bytes: i.count("maxBytes", 50 << 20, 1..=1 << 40),
            max_entries: i.count("maxEntries", 2000, 1..=10_000_000) as usize,
            enabled: i.flag("enabled", true),
            open_timeout_ms: i.timer("openTimeoutMs", 3_000.0),
        });
        let refresh_margin_ms = top.duration("refreshMarginMs", 10.0 * MINUTE_MS, Zero::Allowed);
        let url_lifetime_ms = top.duration("urlLifetimeMs", 60.0 * MINUTE_MS, Zero::Refused);
        let stale_while_revalidate = top.flag("staleWhileRevalidate", true);
        let retry = top.group("retry", |r| RetryConfig {
            attempts: r.count("attempts", 3, 1..=20) as u32,
            base_delay_ms: r.duration("baseDelayMs", 200.0, Zero::Allowed),
            max_delay_ms: r.duration("maxDelayMs", 5_000.0, Zero::Allowed),
        });
        top.check(
            "retry.maxDelayMs",
            retry.max_delay_ms >= retry.base_delay_ms,
            "must not be less than retry.baseDelayMs",
        );
        let breaker = top.group("breaker", |b| BreakerConfig {
            failures: b.count("failures", 5, 1..=1_000) as u32,
            cooldown_ms: b.duration("cooldownMs", 30_000.0, Zero::Refused),
        });
        let batch = top.group("batch", |b| BatchConfig {
            max_ids: b.count("maxIds", 100, 1..=10_000) as usize,
            concurrency: b.count("concurrency", 6, 1..=64) as usize,
        });
        let request_timeout_ms = top.timer("requestTimeoutMs", 10_000.0);
        let max_image_bytes = top.count("maxImageBytes", 2 << 20, 1..=1 << 30);
        let data_url_max_bytes = top.count("dataUrlMaxBytes", 32 << 10, 0..=1 << 20);
        let max_image_pixels = top.count("maxImagePixels", 4096 * 4096, 1..=1 << 36);
        let allowed_types = top.strings("allowedTypes").map_or_else(
            || {
                DEFAULT_ALLOWED_TYPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            },
            |types| allowed_types(top, types),
        );
        let cross_tab = top.flag("crossTab", true);
        let debug = top.flag("debug", false);
        let devtools = top.flag("devtools", true);
        let storage_origins = top
            .strings("storageOrigins")
            .unwrap_or_default()
            .iter()
            .filter_map(|origin| {
                let checked = storage_origin(origin);
                top.check(
                    "storageOrigins",
                    checked.is_ok(),
                    checked.clone().err().unwrap_or_default(),
                );
                checked.ok()
            })
            .collect();
        let avatar_path = {
            let path = top.string("avatarPath").unwrap_or_else(|| "/avatar".into());
            let checked = avatar_path(&path);
            top.check(
                "avatarPath",
                checked.is_ok(),
                checked.clone().err().unwrap_or_default(),
            );
            checked.unwrap_or_else(|_| "/avatar".into())
        };
        Config {
            api_base,
            user_path,
            image_path,
            batch_endpoint,
            default_image_url,
            headers,
            credentials,
            namespace,
            version,
            memory,
            local,
            idb,
            refresh_margin_ms,
            url_lifetime_ms,
            stale_while_revalidate,
            retry,
            breaker,
            batch,
            request_timeout_ms,
            max_image_bytes,
            data_url_max_bytes,
            max_image_pixels,
            allowed_types,
            cross_tab,
            debug,
            devtools,
            storage_origins,
            avatar_path,
        }
    }

    /// The URL of the user endpoint for `user_id` (the id is percent-encoded).
    pub fn user_url(&self, user_id: &str) -> String {
        format!(
            "{}{}",
            self.api_base,
            self.user_path.replace("{userId}", &percent_encode(user_id))
        )
    }

    /// The URL of the image endpoint for `image_id` (the id is percent-encoded).
    pub fn image_url(&self, image_id: &str) -> String {
        format!(
            "{}{}",
            self.api_base,
            self.image_path
                .replace("{imageId}", &percent_encode(image_id))
        )
    }

    /// The IndexedDB database name: one per namespace, so caches of different namespaces never
    /// share a database (`clear` empties only this cache's own stores).
    pub fn database_name(&self) -> String {
        format!("{}:avatar-cache", self.namespace)
    }

    /// Whether `mime` is one of the allowed image types.
    pub fn allows_type(&self, mime: &str) -> bool {
        self.allowed_types.iter().any(|t| t == mime)
    }
}

/// `allowedTypes` as given, lower-cased; each must be an `image/` MIME type without parameters.
/// `https://Bucket.example:443/` → `https://bucket.example`: an origin as browsers write a
/// request's (lower case, no default port), so it can match one. Refused unless an http(s)
/// origin, with credentials (`user@`), or with a host that is not ASCII (write it in its
/// punycode form, `xn--…`, as requests carry it).
fn storage_origin(origin: &str) -> std::result::Result<String, String> {
    let trimmed = origin.trim().trim_end_matches('/');
    let own = crate::policy::presign::origin_of(trimmed);
    let scheme_ok = trimmed.starts_with("http://") || trimmed.starts_with("https://");
    if own.is_empty() || own.len() != trimmed.len() || !scheme_ok || own.ends_with("//") {
        return Err(format!(
            "\"{origin}\" is not an http(s) origin such as \"https://bucket.example\""
        ));
    }
    if !trimmed.is_ascii() || trimmed.contains('@') {
        return Err(format!(
            "\"{origin}\" can never match a request's origin: write the host in ASCII (punycode) \
             and without credentials"
        ));
    }
    let lower = trimmed.to_ascii_lowercase();
    let default_port = match lower.starts_with("https://") {
        true => ":443",
        false => ":80",
    };
    Ok(lower
        .strip_suffix(default_port)
        .map_or(lower.clone(), str::to_string))
}

/// `/avatar/` → `/avatar`; refused unless a path with a leading `/` and no query.
fn avatar_path(path: &str) -> std::result::Result<String, String> {
    let trimmed = path.trim_end_matches('/');
    if !path.starts_with('/')
        || trimmed.is_empty()
        || trimmed.starts_with("//")
        || trimmed.contains(['?', '#', '\\'])
        || trimmed.chars().any(char::is_whitespace)
    {
        return Err(format!(
            "\"{path}\" is not a path such as \"/avatar\" (leading /, no query)"
        ));
    }
    Ok(trimmed.to_string())
}

fn allowed_types(top: &Fields<'_>, types: Vec<String>) -> Vec<String> {
    top.check(
        "allowedTypes",
        !types.is_empty(),
        "must name at least one image type",
    );
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        let t = t.trim().to_ascii_lowercase();
        if !t.starts_with("image/") || t.contains(';') || t.contains(char::is_whitespace) {
            top.check(
                "allowedTypes",
                false,
                format!("`{t}` is not an image MIME type"),
            );
        }
        out.push(t);
    }
    if out.is_empty() {
        out = DEFAULT_ALLOWED_TYPES
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use serde_json::json;

    fn field_of(v: serde_json::Value) -> String {
        match Config::from_json(v) {
            Err(Error::ConfigInvalid { field, .. }) => field,
            other => panic!("expected ConfigInvalid, got {other:?}"),
        }
    }

    #[test]
    fn empty_config_gives_the_documented_defaults() {
        let c = Config::from_json(json!({})).unwrap();
        assert_eq!(c, Config::from_json(serde_json::Value::Null).unwrap());
        assert_eq!(c.api_base, "/images");
        assert_eq!(c.default_image_url, "/images/default_pfp.png");
        assert_eq!(c.memory.ttl_ms, 30.0 * 60_000.0);
        assert_eq!(c.memory.max_entries, 500);
        assert_eq!(c.local.ttl_ms, 45.0 * 60_000.0);
        assert_eq!(c.idb.ttl_ms, 7.0 * 24.0 * 3_600_000.0);
        assert_eq!(c.idb.max_bytes, 50 * 1024 * 1024);
        assert_eq!(c.idb.max_entries, 2000);
        assert_eq!(c.refresh_margin_ms, 600_000.0);
        assert_eq!(c.url_lifetime_ms, 3_600_000.0);
        assert_eq!(c.request_timeout_ms, 10_000);
        assert_eq!(c.max_image_bytes, 2 * 1024 * 1024);
        assert_eq!(c.data_url_max_bytes, 32 * 1024);
        assert!(c.stale_while_revalidate && c.cross_tab && !c.debug);
        assert!(!c.allows_type("image/svg+xml") && c.allows_type("image/avif"));
    }

    #[test]
    fn default_image_follows_api_base() {
        let c = Config::from_json(json!({"apiBase": "https://api.example.com/v2/"})).unwrap();
        assert_eq!(c.api_base, "https://api.example.com/v2");
        assert_eq!(
            c.default_image_url,
            "https://api.example.com/v2/default_pfp.png"
        );
        assert_eq!(
            c.user_url("a b/c"),
            "https://api.example.com/v2/user/a%20b%2Fc"
        );
        assert_eq!(c.image_url("img:1"), "https://api.example.com/v2/img%3A1");
    }

    #[test]
    fn bad_values_name_their_field() {
        assert_eq!(field_of(json!({"memory": {"ttlMs": -1}})), "memory.ttlMs");
        assert_eq!(
            field_of(json!({"memory": {"maxEntries": 1.5}})),
            "memory.maxEntries"
        );
        assert_eq!(field_of(json!({"idb": {"maxBytes": 0}})), "idb.maxBytes");
        assert_eq!(
            field_of(json!({"idb": {"maxBytes": "big"}})),
            "idb.maxBytes"
        );
        assert_eq!(
            field_of(json!({"retry": {"attempts": 0}})),
            "retry.attempts"
        );
        assert_eq!(
            field_of(json!({"retry": {"baseDelayMs": 100, "maxDelayMs": 10}})),
            "retry.maxDelayMs"
        );
        assert_eq!(field_of(json!({"userPath": "/user"})), "userPath");
        assert_eq!(field_of(json!({"imagePath": "/img"})), "imagePath");
        assert_eq!(field_of(json!({"namespace": "a:b"})), "namespace");
        assert_eq!(field_of(json!({"namespace": " "})), "namespace");
        assert_eq!(field_of(json!({"credentials": "sometimes"})), "credentials");
        assert_eq!(field_of(json!({"allowedTypes": []})), "allowedTypes");
        assert_eq!(
            field_of(json!({"allowedTypes": ["text/html"]})),
            "allowedTypes"
        );
        assert_eq!(
            field_of(json!({"requestTimeoutMs": 1e300})),
            "requestTimeoutMs"
        );
        assert_eq!(field_of(json!({"version": -2})), "version");
        assert_eq!(field_of(json!({"batchEndpoint": ""})), "batchEndpoint");
        assert_eq!(field_of(json!("not an object")), "config");
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        assert_eq!(field_of(json!({"ttl": 5})), "ttl");
        assert_eq!(field_of(json!({"memory": {"ttl": 5}})), "memory.ttl");
    }

    #[test]
    fn an_unknown_field_is_reported_before_bad_values() {
        assert_eq!(
            field_of(json!({"memory": {"ttlMs": -1}, "idb": {"maxBytse": 5}})),
            "idb.maxBytse"
        );
        assert_eq!(field_of(json!({"memory": 5})), "memory");
    }

    #[test]
    fn timeouts_longer_than_a_browser_timer_wait_as_long_as_one_can() {
        // `setTimeout` fires at once for more than 2^31 - 1 ms: a longer timeout must not
        // become an immediate one.
        let config = Config::from_json(json!({
            "requestTimeoutMs": 3e9,
            "idb": {"openTimeoutMs": 365.0 * DAY_MS},
        }))
        .unwrap();
        assert_eq!(config.request_timeout_ms, i32::MAX as u32);
        assert_eq!(config.idb.open_timeout_ms, i32::MAX as u32);
        let config = Config::from_json(json!({"requestTimeoutMs": 2_500})).unwrap();
        assert_eq!(config.request_timeout_ms, 2_500);
    }

    #[test]
    fn default_is_the_empty_config() {
        assert_eq!(Config::default(), Config::from_json(json!({})).unwrap());
    }

    /// The field paths `AvatarCacheConfig` declares: `name?:` at the top level of the
    /// interface, and inside an inline object type (`memory?: { ttlMs?: .. }`) as
    /// `memory.ttlMs`. Comments and function parameters (`init?:`) are skipped.
    fn ts_fields(ts: &str) -> Vec<String> {
        let (_, mut rest) = ts
            .split_once("export interface AvatarCacheConfig {")
            .expect("CONFIG_TS declares AvatarCacheConfig");
        let mut fields = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        let mut parens = 0;
        loop {
            rest = rest.trim_start();
            if let Some(comment) = rest.strip_prefix("/*") {
                rest = comment.split_once("*/").expect("closed comment").1;
                continue;
            }
            let Some(c) = rest.chars().next() else { break };
            match c {
                '(' => parens += 1,
                ')' => parens -= 1,
                '{' => groups.push(last.take().expect("an object type follows a field name")),
                '}' if groups.pop().is_none() => break,
                _ if parens == 0 && c.is_ascii_alphabetic() => {
                    let end = rest
                        .find(|c: char| !c.is_ascii_alphanumeric())
                        .unwrap_or(rest.len());
                    let (name, after) = rest.split_at(end);
                    if after.starts_with("?:") {
                        let path = match groups.last() {
                            Some(group) => format!("{group}.{name}"),
                            None => name.to_string(),
                        };
                        fields.push(path.clone());
                        last = Some(path);
                    }
                    rest = after;
                    continue;
                }
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
        }
        fields
    }

    #[test]
    fn the_typescript_interface_names_exactly_the_fields_read() {
        let mut read = Reader::paths();
        let count = read.len();
        read.sort();
        read.dedup();
        assert_eq!(read.len(), count, "a field is read twice");
        read.extend(JS_ONLY_FIELDS.iter().map(|f| f.to_string()));
        read.sort();
        let mut declared = ts_fields(CONFIG_TS);
        declared.sort();
        assert_eq!(declared, read);
        assert!(declared.contains(&"idb.openTimeoutMs".to_string()));
    }

    #[test]
    fn allowed_types_are_normalised() {
        let c = Config::from_json(json!({"allowedTypes": ["IMAGE/PNG", "image/svg+xml"]})).unwrap();
        assert_eq!(c.allowed_types, vec!["image/png", "image/svg+xml"]);
    }
}

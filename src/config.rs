//! Configuration: the defaults of DESIGN.md §3 and the validation that names the bad field.
//!
//! The JS side hands over a plain object; [`Config::from_json`] reads it (functions such as
//! `fetch` and `onEvent` are taken out by `js.rs` first), fills in defaults and checks every
//! field. A field of the wrong type, an unknown field or an out-of-range value is an
//! [`Error::ConfigInvalid`] naming the field as it is spelled in `AvatarCacheConfig`.

use crate::error::{Error, Result};
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
    /// MIME types that may become object URLs.
    pub allowed_types: Vec<String>,
    /// Tell other tabs about changes (BroadcastChannel).
    pub cross_tab: bool,
    /// Log each decision at `console.debug` level.
    pub debug: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_base: "/images".into(),
            user_path: "/user/{userId}".into(),
            image_path: "/{imageId}".into(),
            batch_endpoint: None,
            default_image_url: "/images/default_pfp.png".into(),
            headers: Vec::new(),
            credentials: Credentials::SameOrigin,
            namespace: "profile_pic".into(),
            version: 1,
            memory: MemoryConfig {
                ttl_ms: 30.0 * MINUTE_MS,
                max_entries: 500,
                max_bytes: 64 << 20,
            },
            local: LocalConfig {
                ttl_ms: 45.0 * MINUTE_MS,
                enabled: true,
            },
            idb: IdbConfig {
                ttl_ms: 7.0 * DAY_MS,
                max_bytes: 50 << 20,
                max_entries: 2000,
                enabled: true,
                open_timeout_ms: 3_000,
            },
            refresh_margin_ms: 10.0 * MINUTE_MS,
            url_lifetime_ms: 60.0 * MINUTE_MS,
            stale_while_revalidate: true,
            retry: RetryConfig {
                attempts: 3,
                base_delay_ms: 200.0,
                max_delay_ms: 5_000.0,
            },
            breaker: BreakerConfig {
                failures: 5,
                cooldown_ms: 30_000.0,
            },
            batch: BatchConfig {
                max_ids: 100,
                concurrency: 6,
            },
            request_timeout_ms: 10_000,
            max_image_bytes: 2 << 20,
            allowed_types: DEFAULT_ALLOWED_TYPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            cross_tab: true,
            debug: false,
        }
    }
}

/// The config object as JavaScript spells it; every field optional.
#[derive(Debug, Default)]
struct RawConfig {
    api_base: Option<String>,
    user_path: Option<String>,
    image_path: Option<String>,
    batch_endpoint: Option<String>,
    default_image_url: Option<String>,
    headers: Option<Vec<(String, String)>>,
    credentials: Option<Credentials>,
    namespace: Option<String>,
    version: Option<f64>,
    memory: Option<RawMemory>,
    local: Option<RawLocal>,
    idb: Option<RawIdb>,
    refresh_margin_ms: Option<f64>,
    url_lifetime_ms: Option<f64>,
    stale_while_revalidate: Option<bool>,
    retry: Option<RawRetry>,
    breaker: Option<RawBreaker>,
    batch: Option<RawBatch>,
    request_timeout_ms: Option<f64>,
    max_image_bytes: Option<f64>,
    allowed_types: Option<Vec<String>>,
    cross_tab: Option<bool>,
    debug: Option<bool>,
}

#[derive(Debug, Default)]
struct RawMemory {
    ttl_ms: Option<f64>,
    max_entries: Option<f64>,
    max_bytes: Option<f64>,
}

#[derive(Debug, Default)]
struct RawLocal {
    ttl_ms: Option<f64>,
    enabled: Option<bool>,
}

#[derive(Debug, Default)]
struct RawIdb {
    ttl_ms: Option<f64>,
    max_bytes: Option<f64>,
    max_entries: Option<f64>,
    enabled: Option<bool>,
    open_timeout_ms: Option<f64>,
}

#[derive(Debug, Default)]
struct RawRetry {
    attempts: Option<f64>,
    base_delay_ms: Option<f64>,
    max_delay_ms: Option<f64>,
}

#[derive(Debug, Default)]
struct RawBreaker {
    failures: Option<f64>,
    cooldown_ms: Option<f64>,
}

#[derive(Debug, Default)]
struct RawBatch {
    max_ids: Option<f64>,
    concurrency: Option<f64>,
}

/// The fields `AvatarCacheConfig` has at its top level.
const TOP_FIELDS: &[&str] = &[
    "apiBase",
    "userPath",
    "imagePath",
    "batchEndpoint",
    "defaultImageUrl",
    "headers",
    "credentials",
    "namespace",
    "version",
    "memory",
    "local",
    "idb",
    "refreshMarginMs",
    "urlLifetimeMs",
    "staleWhileRevalidate",
    "retry",
    "breaker",
    "batch",
    "requestTimeoutMs",
    "maxImageBytes",
    "allowedTypes",
    "crossTab",
    "debug",
];

/// One object of the config as JSON, read field by field: every error names the field by its
/// path (`idb.maxBytes`), unknown fields are refused, `null` counts as absent.
struct Fields<'a> {
    map: Option<&'a serde_json::Map<String, serde_json::Value>>,
    prefix: String,
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl<'a> Fields<'a> {
    fn new(
        value: Option<&'a serde_json::Value>,
        prefix: &str,
        known: &[&str],
    ) -> Result<Fields<'a>> {
        let map = match value {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Object(map)) => Some(map),
            Some(other) => {
                let field = if prefix.is_empty() {
                    "config"
                } else {
                    prefix.trim_end_matches('.')
                };
                return Err(Error::config(
                    field,
                    format!("must be an object, not {}", kind(other)),
                ));
            }
        };
        if let Some(unknown) = map.and_then(|m| m.keys().find(|k| !known.contains(&k.as_str()))) {
            return Err(Error::config(
                format!("{prefix}{unknown}"),
                "is not a config field (check the spelling)",
            ));
        }
        Ok(Fields {
            map,
            prefix: prefix.to_string(),
        })
    }

    fn child(&self, name: &str, known: &[&str]) -> Result<Fields<'a>> {
        Fields::new(self.get(name), &format!("{}{name}.", self.prefix), known)
    }

    fn get(&self, name: &str) -> Option<&'a serde_json::Value> {
        self.map?.get(name).filter(|v| !v.is_null())
    }

    fn wrong(&self, name: &str, expected: &str, got: &serde_json::Value) -> Error {
        Error::config(
            format!("{}{name}", self.prefix),
            format!("must be {expected}, not {}", kind(got)),
        )
    }

    fn number(&self, name: &str) -> Result<Option<f64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "a number", v)),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.wrong(name, "true or false", v)),
        }
    }

    fn string(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| self.wrong(name, "a string", v)),
        }
    }

    fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let items = v
            .as_array()
            .ok_or_else(|| self.wrong(name, "an array of strings", v))?;
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.wrong(name, "an array of strings", item))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    fn string_map(&self, name: &str) -> Result<Option<Vec<(String, String)>>> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let map = v
            .as_object()
            .ok_or_else(|| self.wrong(name, "an object of strings", v))?;
        map.iter()
            .map(|(k, item)| {
                let value = item
                    .as_str()
                    .ok_or_else(|| self.wrong(name, "an object of strings", item))?;
                Ok((k.clone(), value.to_string()))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// The longest duration any `*Ms` field accepts: one year.
const MAX_DURATION_MS: f64 = 365.0 * DAY_MS;

fn duration(field: &str, value: Option<f64>, default: f64, allow_zero: bool) -> Result<f64> {
    let Some(v) = value else { return Ok(default) };
    if !v.is_finite() || v < 0.0 || (!allow_zero && v == 0.0) {
        let bound = if allow_zero {
            "zero or more"
        } else {
            "greater than zero"
        };
        return Err(Error::config(
            field,
            format!("must be a finite number of milliseconds, {bound}; got {v}"),
        ));
    }
    if v > MAX_DURATION_MS {
        return Err(Error::config(
            field,
            format!("must be at most one year ({MAX_DURATION_MS} ms); got {v}"),
        ));
    }
    Ok(v)
}

fn count(field: &str, value: Option<f64>, default: u64, min: u64, max: u64) -> Result<u64> {
    let Some(v) = value else { return Ok(default) };
    if !v.is_finite() || v.fract() != 0.0 || v < min as f64 || v > max as f64 {
        return Err(Error::config(
            field,
            format!("must be an integer from {min} to {max}; got {v}"),
        ));
    }
    Ok(v as u64)
}

fn non_empty(field: &str, value: Option<String>, default: &str) -> Result<String> {
    match value {
        None => Ok(default.to_string()),
        Some(s) if s.trim().is_empty() => Err(Error::config(field, "must not be empty")),
        Some(s) => Ok(s),
    }
}

impl Config {
    /// Reads and validates the config object handed over from JavaScript (as JSON; `null` or
    /// `undefined` means all defaults).
    pub fn from_json(value: serde_json::Value) -> Result<Config> {
        let top = Fields::new(Some(&value), "", TOP_FIELDS)?;
        let memory = top.child("memory", &["ttlMs", "maxEntries", "maxBytes"])?;
        let local = top.child("local", &["ttlMs", "enabled"])?;
        let idb = top.child(
            "idb",
            &[
                "ttlMs",
                "maxBytes",
                "maxEntries",
                "enabled",
                "openTimeoutMs",
            ],
        )?;
        let retry = top.child("retry", &["attempts", "baseDelayMs", "maxDelayMs"])?;
        let breaker = top.child("breaker", &["failures", "cooldownMs"])?;
        let batch = top.child("batch", &["maxIds", "concurrency"])?;
        let credentials = match top.string("credentials")?.as_deref() {
            None => None,
            Some("omit") => Some(Credentials::Omit),
            Some("same-origin") => Some(Credentials::SameOrigin),
            Some("include") => Some(Credentials::Include),
            Some(other) => {
                return Err(Error::config(
                    "credentials",
                    format!("must be \"omit\", \"same-origin\" or \"include\", not \"{other}\""),
                ))
            }
        };
        Self::from_raw(RawConfig {
            api_base: top.string("apiBase")?,
            user_path: top.string("userPath")?,
            image_path: top.string("imagePath")?,
            batch_endpoint: top.string("batchEndpoint")?,
            default_image_url: top.string("defaultImageUrl")?,
            headers: top.string_map("headers")?,
            credentials,
            namespace: top.string("namespace")?,
            version: top.number("version")?,
            memory: Some(RawMemory {
                ttl_ms: memory.number("ttlMs")?,
                max_entries: memory.number("maxEntries")?,
                max_bytes: memory.number("maxBytes")?,
            }),
            local: Some(RawLocal {
                ttl_ms: local.number("ttlMs")?,
                enabled: local.boolean("enabled")?,
            }),
            idb: Some(RawIdb {
                ttl_ms: idb.number("ttlMs")?,
                max_bytes: idb.number("maxBytes")?,
                max_entries: idb.number("maxEntries")?,
                enabled: idb.boolean("enabled")?,
                open_timeout_ms: idb.number("openTimeoutMs")?,
            }),
            refresh_margin_ms: top.number("refreshMarginMs")?,
            url_lifetime_ms: top.number("urlLifetimeMs")?,
            stale_while_revalidate: top.boolean("staleWhileRevalidate")?,
            retry: Some(RawRetry {
                attempts: retry.number("attempts")?,
                base_delay_ms: retry.number("baseDelayMs")?,
                max_delay_ms: retry.number("maxDelayMs")?,
            }),
            breaker: Some(RawBreaker {
                failures: breaker.number("failures")?,
                cooldown_ms: breaker.number("cooldownMs")?,
            }),
            batch: Some(RawBatch {
                max_ids: batch.number("maxIds")?,
                concurrency: batch.number("concurrency")?,
            }),
            request_timeout_ms: top.number("requestTimeoutMs")?,
            max_image_bytes: top.number("maxImageBytes")?,
            allowed_types: top.strings("allowedTypes")?,
            cross_tab: top.boolean("crossTab")?,
            debug: top.boolean("debug")?,
        })
    }

    fn from_raw(raw: RawConfig) -> Result<Config> {
        let d = Config::default();
        let api_base = raw
            .api_base
            .unwrap_or(d.api_base)
            .trim_end_matches('/')
            .to_string();
        let user_path = non_empty("userPath", raw.user_path, &d.user_path)?;
        if !user_path.contains("{userId}") {
            return Err(Error::config(
                "userPath",
                "must contain the placeholder {userId}",
            ));
        }
        let image_path = non_empty("imagePath", raw.image_path, &d.image_path)?;
        if !image_path.contains("{imageId}") {
            return Err(Error::config(
                "imagePath",
                "must contain the placeholder {imageId}",
            ));
        }
        let batch_endpoint = match raw.batch_endpoint {
            Some(s) if s.trim().is_empty() => {
                return Err(Error::config(
                    "batchEndpoint",
                    "must not be empty (leave it out to disable batching)",
                ))
            }
            other => other,
        };
        let default_image_url = match raw.default_image_url {
            Some(s) => non_empty("defaultImageUrl", Some(s), "")?,
            None => format!("{api_base}/default_pfp.png"),
        };
        let namespace = non_empty("namespace", raw.namespace, &d.namespace)?;
        if namespace.contains(':') || namespace.len() > 64 {
            return Err(Error::config(
                "namespace",
                "must be at most 64 characters and contain no ':'",
            ));
        }
        let version = count("version", raw.version, 1, 0, u32::MAX as u64)? as u32;

        let m = raw.memory.unwrap_or_default();
        let memory = MemoryConfig {
            ttl_ms: duration("memory.ttlMs", m.ttl_ms, d.memory.ttl_ms, false)?,
            max_entries: count(
                "memory.maxEntries",
                m.max_entries,
                d.memory.max_entries as u64,
                1,
                1_000_000,
            )? as usize,
            max_bytes: count(
                "memory.maxBytes",
                m.max_bytes,
                d.memory.max_bytes,
                1,
                1 << 40,
            )?,
        };
        let l = raw.local.unwrap_or_default();
        let local = LocalConfig {
            ttl_ms: duration("local.ttlMs", l.ttl_ms, d.local.ttl_ms, false)?,
            enabled: l.enabled.unwrap_or(true),
        };
        let i = raw.idb.unwrap_or_default();
        let idb = IdbConfig {
            ttl_ms: duration("idb.ttlMs", i.ttl_ms, d.idb.ttl_ms, false)?,
            max_bytes: count("idb.maxBytes", i.max_bytes, d.idb.max_bytes, 1, 1 << 40)?,
            max_entries: count(
                "idb.maxEntries",
                i.max_entries,
                d.idb.max_entries as u64,
                1,
                10_000_000,
            )? as usize,
            enabled: i.enabled.unwrap_or(true),
            open_timeout_ms: duration(
                "idb.openTimeoutMs",
                i.open_timeout_ms,
                d.idb.open_timeout_ms as f64,
                false,
            )? as u32,
        };
        let r = raw.retry.unwrap_or_default();
        let retry = RetryConfig {
            attempts: count("retry.attempts", r.attempts, d.retry.attempts as u64, 1, 20)? as u32,
            base_delay_ms: duration(
                "retry.baseDelayMs",
                r.base_delay_ms,
                d.retry.base_delay_ms,
                true,
            )?,
            max_delay_ms: duration(
                "retry.maxDelayMs",
                r.max_delay_ms,
                d.retry.max_delay_ms,
                true,
            )?,
        };
        if retry.max_delay_ms < retry.base_delay_ms {
            return Err(Error::config(
                "retry.maxDelayMs",
                "must not be less than retry.baseDelayMs",
            ));
        }
        let b = raw.breaker.unwrap_or_default();
        let breaker = BreakerConfig {
            failures: count(
                "breaker.failures",
                b.failures,
                d.breaker.failures as u64,
                1,
                1_000,
            )? as u32,
            cooldown_ms: duration(
                "breaker.cooldownMs",
                b.cooldown_ms,
                d.breaker.cooldown_ms,
                false,
            )?,
        };
        let bt = raw.batch.unwrap_or_default();
        let batch = BatchConfig {
            max_ids: count(
                "batch.maxIds",
                bt.max_ids,
                d.batch.max_ids as u64,
                1,
                10_000,
            )? as usize,
            concurrency: count(
                "batch.concurrency",
                bt.concurrency,
                d.batch.concurrency as u64,
                1,
                64,
            )? as usize,
        };
        let refresh_margin_ms = duration(
            "refreshMarginMs",
            raw.refresh_margin_ms,
            d.refresh_margin_ms,
            true,
        )?;
        let url_lifetime_ms = duration(
            "urlLifetimeMs",
            raw.url_lifetime_ms,
            d.url_lifetime_ms,
            false,
        )?;
        let request_timeout_ms = duration(
            "requestTimeoutMs",
            raw.request_timeout_ms,
            d.request_timeout_ms as f64,
            false,
        )? as u32;
        let max_image_bytes = count(
            "maxImageBytes",
            raw.max_image_bytes,
            d.max_image_bytes,
            1,
            1 << 30,
        )?;
        let allowed_types = match raw.allowed_types {
            None => d.allowed_types,
            Some(types) => {
                if types.is_empty() {
                    return Err(Error::config(
                        "allowedTypes",
                        "must name at least one image type",
                    ));
                }
                let mut out = Vec::with_capacity(types.len());
                for t in types {
                    let t = t.trim().to_ascii_lowercase();
                    if !t.starts_with("image/")
                        || t.contains(';')
                        || t.contains(char::is_whitespace)
                    {
                        return Err(Error::config(
                            "allowedTypes",
                            format!("`{t}` is not an image MIME type"),
                        ));
                    }
                    out.push(t);
                }
                out
            }
        };
        let headers = raw.headers.unwrap_or_default();
        Ok(Config {
            api_base,
            user_path,
            image_path,
            batch_endpoint,
            default_image_url,
            headers,
            credentials: raw.credentials.unwrap_or(d.credentials),
            namespace,
            version,
            memory,
            local,
            idb,
            refresh_margin_ms,
            url_lifetime_ms,
            stale_while_revalidate: raw.stale_while_revalidate.unwrap_or(true),
            retry,
            breaker,
            batch,
            request_timeout_ms,
            max_image_bytes,
            allowed_types,
            cross_tab: raw.cross_tab.unwrap_or(true),
            debug: raw.debug.unwrap_or(false),
        })
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

    /// The IndexedDB database name: one per namespace, so `clear` can delete only its own.
    pub fn database_name(&self) -> String {
        format!("{}:avatar-cache", self.namespace)
    }

    /// Whether `mime` is one of the allowed image types.
    pub fn allows_type(&self, mime: &str) -> bool {
        self.allowed_types.iter().any(|t| t == mime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn allowed_types_are_normalised() {
        let c = Config::from_json(json!({"allowedTypes": ["IMAGE/PNG", "image/svg+xml"]})).unwrap();
        assert_eq!(c.allowed_types, vec!["image/png", "image/svg+xml"]);
    }
}

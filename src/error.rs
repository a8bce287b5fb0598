//! The crate's one error type.
//!
//! Every variant is named for what went wrong in the user's terms. Storage and network variants
//! never reach the app: the hierarchy turns them into a fallback (a stale or default picture) and
//! counts them in [`crate::stats`]. Only [`Error::ConfigInvalid`] and [`Error::InvalidArgument`]
//! are thrown to JavaScript, because they are programmer errors.

use std::fmt;

use crate::vocabulary::Layer;

/// The exception names browsers use when an origin's storage is full (Firefox used its own name
/// before it adopted the standard one).
pub const QUOTA_ERROR_NAMES: &[&str] = &["QuotaExceededError", "NS_ERROR_DOM_QUOTA_REACHED"];

/// Everything that can go wrong inside avatar-cache.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A configuration field has a value the cache cannot work with.
    ConfigInvalid {
        /// The field, as spelled in `AvatarCacheConfig` (for example `idb.maxBytes`).
        field: String,
        /// Why the value was refused.
        reason: String,
    },
    /// The caller passed an argument the API does not accept (for example an empty user id).
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A storage layer is not available in this browser or context (private mode, no IndexedDB).
    StorageUnavailable {
        /// `local` or `indexeddb`.
        layer: Layer,
        /// What the browser said.
        reason: String,
    },
    /// The browser refused a write because the origin's storage quota is used up.
    QuotaExceeded {
        /// `local` or `indexeddb`.
        layer: Layer,
    },
    /// An entry read from storage was corrupt, foreign or of another version; it is a miss.
    CorruptEntry {
        /// `local` or `indexeddb`.
        layer: Layer,
        /// What was wrong with it.
        reason: String,
    },
    /// The network answered with an HTTP error status.
    Network {
        /// The HTTP status (0 when the request never got an answer).
        status: u16,
        /// The URL path or a short description of the request.
        request: String,
    },
    /// The request did not finish within `requestTimeoutMs`.
    Timeout {
        /// The timeout that elapsed, in milliseconds.
        after_ms: u32,
    },
    /// The circuit breaker is open: the backend failed repeatedly and is being given a rest.
    CircuitOpen,
    /// The backend answered, but not with what the contract promises (bad JSON, `success: false`,
    /// no `url`).
    BadResponse {
        /// What was wrong with the answer.
        reason: String,
    },
    /// The bytes served as a picture are not an allowed image type.
    NotAnImage {
        /// What the server claimed, or what the bytes looked like.
        content_type: String,
    },
    /// The image's header declares more pixels than `maxImagePixels` (a pixel bomb).
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The configured cap, in pixels.
        limit: u64,
    },
    /// The image is larger than `maxImageBytes`.
    TooLarge {
        /// The configured cap.
        limit: u64,
    },
    /// A JavaScript exception, with the `DOMException` name kept so callers can match on it
    /// (`QuotaExceededError`, `VersionError`, `TransactionInactiveError`, `AbortError`, ...).
    Js {
        /// The exception's `name`.
        name: String,
        /// The exception's `message`.
        message: String,
    },
    /// The cache was closed; the call cannot be served.
    Closed,
}

impl Error {
    /// A short machine-readable code, used as the `code` property of the JS error and as the
    /// reason recorded in stats.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ConfigInvalid { .. } => "CONFIG_INVALID",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::StorageUnavailable { .. } => "STORAGE_UNAVAILABLE",
            Error::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            Error::CorruptEntry { .. } => "CORRUPT_ENTRY",
            Error::Network { .. } => "NETWORK",
            Error::Timeout { .. } => "TIMEOUT",
            Error::CircuitOpen => "CIRCUIT_OPEN",
            Error::BadResponse { .. } => "BAD_RESPONSE",
            Error::NotAnImage { .. } => "NOT_AN_IMAGE",
            Error::TooLarge { .. } => "TOO_LARGE",
            Error::TooManyPixels { .. } => "TOO_MANY_PIXELS",
            Error::Js { .. } => "JS_ERROR",
            Error::Closed => "CLOSED",
        }
    }

    /// Shorthand for [`Error::ConfigInvalid`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::ConfigInvalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether retrying the same request later may succeed (timeouts, 5xx, 429, lost connections).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { status, .. } => *status == 0 || *status == 429 || *status >= 500,
            Error::Timeout { .. } => true,
            Error::Js { name, .. } => name == "TypeError" || name == "AbortError",
            _ => false,
        }
    }

    /// Whether this is a quota error, whichever way the browser reported it.
    pub fn is_quota(&self) -> bool {
        match self {
            Error::QuotaExceeded { .. } => true,
            Error::Js { name, .. } => QUOTA_ERROR_NAMES.contains(&name.as_str()),
            _ => false,
        }
    }
}

/// The one conversion from a thrown JavaScript value to an [`Error`] (after gloo-net's
/// `js_to_error`): every browser adapter goes through it, so a `DOMException` keeps its name.
#[cfg(target_arch = "wasm32")]
mod from_js {
    use wasm_bindgen::{JsCast, JsValue};

    use super::{Error, QUOTA_ERROR_NAMES};
    use crate::vocabulary::Layer;

    /// `String(value)` for a thrown value that is not a string (a number, `null`, a boolean, a
    /// symbol): read by JS, not by `Debug` (release builds carry no `Debug` formatting).
    fn text_of(value: &JsValue) -> String {
        if value.is_null() {
            return "null".into();
        }
        if value.is_undefined() {
            return "undefined".into();
        }
        if value.is_symbol() {
            // `join` would throw for a symbol; its own `toString` does not.
            return value.unchecked_ref::<js_sys::Symbol>().to_string().into();
        }
        // `join` converts its element as `String()` does.
        js_sys::Array::of1(value).join("").into()
    }

    impl Error {
        /// A thrown value as [`Error::Js`]: an `Error` or `DOMException` keeps its `name`
        /// (`"Error"` when it has none) and `message`; anything else thrown (a string, a number)
        /// is an `"Error"` whose message is that value.
        pub fn from_js(value: &JsValue) -> Error {
            if !value.is_object() {
                return Error::Js {
                    name: "Error".into(),
                    message: value.as_string().unwrap_or_else(|| text_of(value)),
                };
            }
            let field = |name: &str| {
                js_sys::Reflect::get(value, &JsValue::from_str(name))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            Error::Js {
                name: field("name").unwrap_or_else(|| "Error".into()),
                message: field("message").unwrap_or_default(),
            }
        }

        /// Like [`Error::from_js`], for a storage layer: a quota exception (any of
        /// [`QUOTA_ERROR_NAMES`]) becomes [`Error::QuotaExceeded`] of `layer`.
        pub fn from_storage_js(layer: Layer, value: &JsValue) -> Error {
            match Error::from_js(value) {
                Error::Js { name, .. } if QUOTA_ERROR_NAMES.contains(&name.as_str()) => {
                    Error::QuotaExceeded { layer }
                }
                other => other,
            }
        }

        /// The JavaScript exception name, when this is a [`Error::Js`].
        pub fn js_name(&self) -> Option<&str> {
            match self {
                Error::Js { name, .. } => Some(name),
                _ => None,
            }
        }
    }

    impl From<JsValue> for Error {
        fn from(value: JsValue) -> Self {
            Error::from_js(&value)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConfigInvalid { field, reason } => {
                write!(f, "avatar-cache: invalid config field `{field}`: {reason}")
            }
            Error::InvalidArgument { name, reason } => {
                write!(f, "avatar-cache: invalid argument `{name}`: {reason}")
            }
            Error::StorageUnavailable { layer, reason } => {
                write!(f, "{layer} storage is unavailable: {reason}")
            }
            Error::QuotaExceeded { layer } => write!(f, "{layer} storage quota exceeded"),
            Error::CorruptEntry { layer, reason } => write!(f, "corrupt {layer} entry: {reason}"),
            Error::Network { status: 0, request } => write!(f, "network failure on {request}"),
            Error::Network { status, request } => write!(f, "HTTP {status} on {request}"),
            Error::Timeout { after_ms } => write!(f, "request timed out after {after_ms} ms"),
            Error::CircuitOpen => write!(f, "circuit breaker open: backend is resting"),
            Error::BadResponse { reason } => write!(f, "bad response from backend: {reason}"),
            Error::NotAnImage { content_type } => {
                write!(f, "not an allowed image type: {content_type}")
            }
            Error::TooLarge { limit } => write!(f, "image larger than {limit} bytes"),
            Error::TooManyPixels {
                width,
                height,
                limit,
            } => write!(
                f,
                "image declares {width} x {height} pixels, more than maxImagePixels ({limit})"
            ),
            Error::Js { name, message } => write!(f, "{name}: {message}"),
            Error::Closed => write!(f, "the cache is closed"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_the_field() {
        let e = Error::config("idb.maxBytes", "must be positive");
        assert_eq!(e.code(), "CONFIG_INVALID");
        assert!(e.to_string().contains("`idb.maxBytes`"));
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let net = |status| Error::Network {
            status,
            request: "/user/1".into(),
        };
        assert!(net(503).is_transient());
        assert!(net(429).is_transient());
        assert!(net(0).is_transient());
        assert!(!net(404).is_transient());
        assert!(Error::Timeout { after_ms: 10 }.is_transient());
        assert!(!Error::NotAnImage {
            content_type: "text/html".into()
        }
        .is_transient());
    }
}

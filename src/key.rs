//! Versioned, escaped storage keys: `<namespace>:<layer>:<escaped id>:v<version>`.
//!
//! Ids are percent-escaped (everything but RFC 3986 unreserved characters), so an id can never
//! contain the `:` separator: no user id addresses another user's entry, another layer or
//! another version, whatever characters it holds.

use crate::error::{Error, Result};
use crate::vocabulary::Layer;

/// Builds and parses the keys of one namespace and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    namespace: String,
    version: u32,
    /// `:v<version>`, every key's end (formatted once, not per key).
    suffix: String,
}

/// A key taken apart by [`Keys::parse_any_version`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// The layer named in the key: [`Layer::Local`] or [`Layer::IndexedDb`].
    pub layer: Layer,
    /// The id, unescaped.
    pub id: String,
    /// The version the key was written under.
    pub version: u32,
}

impl Keys {
    /// Keys for `namespace` (which must not contain `:`; config validation ensures it) at `version`.
    pub fn new(namespace: &str, version: u32) -> Self {
        Keys {
            namespace: namespace.to_string(),
            version,
            suffix: format!(":v{version}"),
        }
    }

    /// The localStorage key of `user_id`'s picture record.
    pub fn record_key(&self, user_id: &str) -> String {
        self.key("local", user_id)
    }

    /// What every current-version record key starts and ends with: `<ns>:local:` and `:v<version>`
    /// (the escaped user id goes between).
    pub fn record_key_bounds(&self) -> (String, &str) {
        (format!("{}:local:", self.namespace), &self.suffix)
    }

    /// The localStorage key of the users whose records were learned since the service worker
    /// last started (`<ns>:handover:v<version>`, one per namespace and version: during a rollout
    /// the tabs of each version note for the worker of their own version, whose hello only they
    /// answer). It holds user ids, not records, and is not a key [`Keys::parse_any_version`]
    /// takes apart.
    pub fn handover_key(&self) -> String {
        format!("{}:handover{}", self.namespace, self.suffix)
    }

    /// Whether `key` is the [`Keys::handover_key`] of this namespace under an older version (or
    /// the unversioned key of releases before notes had one): left by the tabs of an earlier
    /// release, removed with the old records. A newer version's notes are its tabs' and are
    /// left alone (a `clear()` removes every version's: [`Keys::is_handover_key`]).
    pub fn is_old_handover_key(&self, key: &str) -> bool {
        self.handover_version(key)
            .is_some_and(|v| v.is_none_or(|v| v < self.version))
    }

    /// Whether `key` is a [`Keys::handover_key`] of this namespace under any version (a
    /// `clear()` removes them all: no user id survives a logout).
    pub fn is_handover_key(&self, key: &str) -> bool {
        self.handover_version(key).is_some()
    }

    /// The version of a handover key of this namespace: `Some(None)` for the unversioned key.
    fn handover_version(&self, key: &str) -> Option<Option<u32>> {
        let rest = key
            .strip_prefix(&self.namespace)?
            .strip_prefix(":handover")?;
        if rest.is_empty() {
            return Some(None);
        }
        canonical_version(rest.strip_prefix(":v")?).map(Some)
    }

    /// The IndexedDB key of `image_id`'s bytes.
    pub fn image_key(&self, image_id: &str) -> String {
        self.key("idb", image_id)
    }

    fn key(&self, segment: &str, id: &str) -> String {
        let mut key = String::with_capacity(
            self.namespace.len() + segment.len() + id.len() + self.suffix.len() + 2,
        );
        key.push_str(&self.namespace);
        key.push(':');
        key.push_str(segment);
        key.push(':');
        percent_encode_into(id, &mut key);
        key.push_str(&self.suffix);
        key
    }

    /// Whether `key` belongs to this namespace (any layer, any version).
    pub fn is_own(&self, key: &str) -> bool {
        self.parse_any_version(key).is_some()
    }

    /// Takes apart a key of this namespace written under any version. Foreign, malformed or
    /// non-canonical keys give `None`: only a key that [`Keys::record_key`] or
    /// [`Keys::image_key`] would write, byte for byte, is one of ours (`v01`, `v+1`, an empty id,
    /// an unescaped `+` are someone else's, and `clear()` or eviction never touch them).
    pub fn parse_any_version(&self, key: &str) -> Option<ParsedKey> {
        let rest = key.strip_prefix(&self.namespace)?.strip_prefix(':')?;
        let mut parts = rest.split(':');
        let layer = match parts.next()? {
            "local" => Layer::Local,
            "idb" => Layer::IndexedDb,
            _ => return None,
        };
        let escaped = parts.next()?;
        if escaped.is_empty() || !escapes_are_canonical(escaped) {
            return None;
        }
        let id = percent_decode(escaped)?;
        let version = canonical_version(parts.next()?.strip_prefix('v')?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(ParsedKey { layer, id, version })
    }

    /// Whether `key` is one of this namespace's keys written under an older version: such keys
    /// are invisible and are removed lazily. A newer version's keys are invisible too, but are
    /// left to the tabs of that version (during a rollout both run at once).
    pub fn is_old_version(&self, key: &str) -> bool {
        self.parse_any_version(key)
            .is_some_and(|k| k.version < self.version)
    }

    /// The current version.
    pub fn version(&self) -> u32 {
        self.version
    }
}

/// A version as keys write it: decimal digits, no sign, no leading zero.
fn canonical_version(digits: &str) -> Option<u32> {
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    digits.parse().ok().filter(|_| canonical)
}

/// Checks that a user or image id is usable: ids must not be empty.
pub fn validate_id(name: &'static str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::InvalidArgument {
            name,
            reason: "must be a non-empty string".into(),
        });
    }
    Ok(())
}

/// Whether `b` is an RFC 3986 unreserved character, the only bytes [`percent_encode`] keeps.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an id is one path segment
/// and never contains a key's `:` separator.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    percent_encode_into(s, &mut out);
    out
}

/// [`percent_encode`], appended to `out`.
fn percent_encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Runs of unreserved (ASCII) bytes are copied whole: they start and end on char boundaries.
    let mut run = 0;
    for (at, b) in s.bytes().enumerate() {
        if is_unreserved(b) {
            continue;
        }
        if run < at {
            out.push_str(&s[run..at]);
        }
        out.push('%');
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
        run = at + 1;
    }
    if run < s.len() {
        out.push_str(&s[run..]);
    }
}

/// Decodes `%XX` escapes (either case); `None` for a malformed escape or invalid UTF-8. `+`
/// stays `+`. Used for keys (after checking their escapes are canonical) and presigned-URL
/// queries.
pub fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_digit(*bytes.get(i + 1)?)?;
            let lo = hex_digit(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether every escape in `s` is one [`percent_encode`] writes: `%` and two upper-case hex
/// digits, for a byte that needed escaping. A key with any other escape is not one of ours.
fn escapes_are_canonical(s: &str) -> bool {
    let mut pieces = s.split('%');
    // Outside escapes, only the characters `percent_encode` keeps.
    let plain = |piece: &str| piece.bytes().all(is_unreserved);
    if !pieces.next().is_some_and(plain) {
        return false;
    }
    pieces.all(|rest| {
        if !rest.get(2..).is_some_and(plain) {
            return false;
        }
        let Some(hex) = rest.get(..2) else {
            return false;
        };
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            && u8::from_str_radix(hex, 16).is_ok_and(|byte| !is_unreserved(byte))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_lie_between_their_bounds() {
        let keys = Keys::new("profile_pic", 3);
        let (prefix, suffix) = keys.record_key_bounds();
        for user in ["u1", "a:b", "é/?"] {
            let key = keys.record_key(user);
            assert!(key.starts_with(&prefix) && key.ends_with(suffix), "{key}");
        }
        assert_eq!((prefix.as_str(), suffix), ("profile_pic:local:", ":v3"));
        assert!(!keys.image_key("u1").starts_with(&prefix));
    }

    #[test]
    fn each_version_notes_for_its_own_worker() {
        let (v1, v2) = (Keys::new("profile_pic", 1), Keys::new("profile_pic", 2));
        assert_eq!(v1.handover_key(), "profile_pic:handover:v1");
        assert_ne!(v1.handover_key(), v2.handover_key());
        assert!(v2.is_old_handover_key(&v1.handover_key()));
        assert!(
            v2.is_old_handover_key("profile_pic:handover"),
            "before notes had a version"
        );
        assert!(
            v1.is_handover_key(&v2.handover_key()) && !v1.is_handover_key("profile_pic:local:u:v1")
        );
        for not_old in [
            v2.handover_key(),
            Keys::new("profile_pic", 3).handover_key(),
            "profile_pic:handover:v01".into(),
            "other:handover:v1".into(),
            "profile_pic:handoverx".into(),
        ] {
            assert!(!v2.is_old_handover_key(&not_old), "{not_old}");
        }
    }

    #[test]
    fn only_canonical_keys_are_own_keys() {
        let keys = Keys::new("profile_pic", 1);
        for foreign in [
            "profile_pic:local:x:v01",
            "profile_pic:local:x:v+1",
            "profile_pic:local:x:v",
            "profile_pic:local::v1",
            "profile_pic:local:a+b:v1",
            "profile_pic:local:%41:v1",
            "profile_pic:local:%2f:v1",
            "profile_pic:idb:x:v1 ",
        ] {
            assert!(!keys.is_own(foreign), "{foreign}");
        }
        assert!(keys.is_own("profile_pic:local:a%2Bb:v1"));
        assert!(
            !keys.is_own(&keys.handover_key()),
            "the notes are not a record"
        );
        assert!(keys.is_own("profile_pic:idb:x:v0"));
        assert!(keys.is_own("profile_pic:idb:x:v12"));
    }

    #[test]
    fn percent_encoding_keeps_ids_in_one_segment() {
        assert_eq!(
            percent_encode("ünï/../x?y#z"),
            "%C3%BCn%C3%AF%2F..%2Fx%3Fy%23z"
        );
    }

    #[test]
    fn only_canonical_escapes_are_keys() {
        let keys = Keys::new("ns", 1);
        assert_eq!(
            keys.parse_any_version("ns:local:a%3Ab:v1").unwrap().id,
            "a:b"
        );
        for key in ["ns:local:a%3ab:v1", "ns:local:%41:v1", "ns:local:a%3:v1"] {
            assert!(!keys.is_own(key), "{key}");
        }
    }

    #[test]
    fn keys_have_the_documented_shape() {
        let keys = Keys::new("profile_pic", 1);
        assert_eq!(keys.record_key("42"), "profile_pic:local:42:v1");
        assert_eq!(keys.image_key("img-7"), "profile_pic:idb:img-7:v1");
    }

    #[test]
    fn hostile_ids_never_reach_another_entry() {
        let keys = Keys::new("ns", 3);
        let ids = [
            "a:b",
            "a",
            "a:local:b:v3",
            "a%3Ab",
            "ü/../x",
            ":",
            "%",
            "v3",
            "a\u{0}b",
        ];
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            let key = keys.record_key(id);
            assert_eq!(key.matches(':').count(), 3, "{key}");
            assert!(seen.insert(key.clone()), "collision for {id}");
            let parsed = keys.parse_any_version(&key).unwrap();
            assert_eq!(
                parsed,
                ParsedKey {
                    layer: Layer::Local,
                    id: id.to_string(),
                    version: 3
                }
            );
        }
    }

    #[test]
    fn very_long_ids_round_trip() {
        let keys = Keys::new("ns", 1);
        let id = "é".repeat(10_000);
        let key = keys.image_key(&id);
        assert_eq!(keys.parse_any_version(&key).unwrap().id, id);
    }

    #[test]
    fn foreign_and_malformed_keys_are_not_own() {
        let keys = Keys::new("ns", 1);
        for key in [
            "other:local:a:v1",
            "ns:local:a",
            "ns:remote:a:v1",
            "ns:local:%zz:v1",
            "ns:local:a:v1:x",
            "nsx:local:a:v1",
            "ns:local:a:vX",
        ] {
            assert!(!keys.is_own(key), "{key}");
        }
    }

    #[test]
    fn other_versions_are_recognised_for_cleanup() {
        let v2 = Keys::new("ns", 2);
        let old = Keys::new("ns", 1).record_key("u");
        assert!(v2.is_old_version(&old));
        assert!(!v2.is_old_version(&v2.record_key("u")));
        assert!(!v2.is_old_version("elsewhere:local:u:v1"));
        let newer = Keys::new("ns", 3).record_key("u");
        assert!(!v2.is_old_version(&newer), "a newer release's tabs own it");
    }

    #[test]
    fn empty_ids_are_a_programmer_error() {
        assert!(matches!(
            validate_id("userId", ""),
            Err(Error::InvalidArgument { name: "userId", .. })
        ));
        assert!(validate_id("userId", " ").is_ok());
    }
}

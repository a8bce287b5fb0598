//! The crate's hash maps and sets: std's, with the Fx hasher instead of SipHash.
//!
//! Every key is an id chosen by the app or its backend (user and image ids, URLs, origins), read
//! on the hot path of every `get`: SipHash's resistance to crafted collisions buys nothing in a
//! single user's tab, and its rounds were inlined at every lookup site of the `.wasm`. Make them
//! with `default()` (or `with_capacity_and_hasher`), not `new()`.

/// `std::collections::HashMap` with the Fx hasher.
pub type HashMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// `std::collections::HashSet` with the Fx hasher.
pub type HashSet<K> = std::collections::HashSet<K, rustc_hash::FxBuildHasher>;

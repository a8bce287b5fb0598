//! Lookup, promotion, write-through, stale-while-revalidate and de-duplication.

/// Which layer answered a `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The in-memory map.
    Memory,
    /// localStorage (record) with the image already in memory.
    Local,
    /// IndexedDB (image bytes).
    IndexedDb,
    /// The backend and object storage.
    Network,
    /// Nothing better was available: the default picture.
    Default,
}

/// A picture as `get` answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// The user.
    pub user_id: String,
    /// The image, or `None` for the default picture.
    pub image_id: Option<String>,
    /// An object URL owned by the cache, or the remote or default URL.
    pub url: String,
    /// Which layer answered.
    pub source: Source,
    /// Whether the answer is past its freshness (a revalidation is under way).
    pub stale: bool,
    /// How long the answer took, in milliseconds.
    pub load_ms: f64,
}

/// The hierarchy.
pub struct Hierarchy;

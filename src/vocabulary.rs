//! The words every part of the cache shares: the [`Layer`]s, where an answer came from
//! ([`Source`]), the [`Picture`] a get answers, a [`Change`] subscribers hear, and the
//! [`CacheEvent`]s analytics see.
//!
//! The [`PictureRecord`] (user → image) is defined here too; its decoding and checks live in
//! [`crate::record`].
//!
//! A leaf module: it imports nothing of the crate but the clock's time unit, so stats, errors,
//! records, keys and the hierarchy can all speak it without importing each other.

use std::fmt;

use crate::clock::Millis;

/// A layer of the hierarchy, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// The in-memory maps: user → record, image → body and object URL.
    Memory,
    /// localStorage: user → picture record.
    Local,
    /// IndexedDB: image → bytes.
    IndexedDb,
    /// The backend API and object storage.
    Network,
}

impl Layer {
    /// Every layer, top to bottom.
    pub const ALL: [Layer; 4] = [
        Layer::Memory,
        Layer::Local,
        Layer::IndexedDb,
        Layer::Network,
    ];

    /// The name used in the JS API, stats and events (`"memory"`, `"local"`, `"indexeddb"`,
    /// `"network"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Memory => "memory",
            Layer::Local => "local",
            Layer::IndexedDb => "indexeddb",
            Layer::Network => "network",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an answer came from: a layer, or the default picture when none could answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The layer that answered.
    Layer(Layer),
    /// Nothing better was available: the default picture.
    Default,
}

impl Source {
    /// Answered from memory.
    pub const MEMORY: Source = Source::Layer(Layer::Memory);
    /// Answered from localStorage (the record; the image was already in memory).
    pub const LOCAL: Source = Source::Layer(Layer::Local);
    /// Answered from IndexedDB (the image bytes).
    pub const INDEXED_DB: Source = Source::Layer(Layer::IndexedDb);
    /// Answered from the network.
    pub const NETWORK: Source = Source::Layer(Layer::Network);

    /// The name used in the JS API: a layer's name, or `"default"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Layer(layer) => layer.as_str(),
            Source::Default => "default",
        }
    }

    /// The layer that answered, if any.
    pub fn layer(self) -> Option<Layer> {
        match self {
            Source::Layer(layer) => Some(layer),
            Source::Default => None,
        }
    }
}

/// A user's picture as the backend last described it.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureRecord {
    /// The user.
    pub user_id: String,
    /// The user's current image, or `None` when the user has no picture (the default is shown).
    pub image_id: Option<String>,
    /// The presigned URL the image can be downloaded from until `url_expires_at`.
    pub remote_url: String,
    /// When `remote_url` stops working (ms since epoch).
    pub url_expires_at: Millis,
    /// When the record came from the backend (ms since epoch); freshness counts from here.
    pub fetched_at: Millis,
    /// The image's ETag, when object storage sent one.
    pub etag: Option<String>,
    /// The cache version the record was written under.
    pub version: u32,
    /// The image bytes could not be read by `fetch` (no CORS): the remote URL is handed out.
    pub opaque: bool,
    /// The image's ThumbHash (base64, ~25 bytes), for the preview `placeholder` renders: from the
    /// backend's answer, or computed from the bytes after a download or upload.
    pub thumbhash: Option<String>,
}

/// A picture as `get` and `peek` answer it.
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
    /// Whether the load that answered downloaded the image bytes (counted by `prefetch`).
    pub downloaded: bool,
    /// The image's ThumbHash (base64), when one is known: [`Picture::placeholder`] renders it.
    /// Carried as the hash so that an answer costs no rendering; the JS `Picture` renders its
    /// `placeholder` the first time it is read.
    pub thumbhash: Option<String>,
}

impl Picture {
    /// A `data:` URL of the image's ThumbHash preview, when one is known (rendered on each call).
    pub fn placeholder(&self) -> Option<String> {
        crate::policy::placeholder::render_data_url(self.thumbhash.as_deref()?)
    }
}

/// What `prefetch` did, user by user, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Distinct users asked for.
    pub requested: usize,
    /// Answered from memory.
    pub memory: usize,
    /// Answered from localStorage (image already in memory).
    pub local: usize,
    /// Answered from IndexedDB.
    pub indexeddb: usize,
    /// Needed the network.
    pub network: usize,
    /// Ended with the default picture: a user without a picture, an unknown user, or network
    /// trouble with nothing stored. Not counted in the layers above.
    pub defaulted: usize,
    /// Backend API calls made while the prefetch ran (a batch call it shares counts once).
    pub api_calls: u64,
    /// Image downloads the prefetch's own loads made.
    pub downloads: u64,
}

/// What changed, for subscribers in this tab and messages to other tabs.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// One user's picture was forgotten (invalidated, or could not be confirmed).
    User(String),
    /// One user's picture was replaced by this record (after an upload).
    Updated(PictureRecord),
    /// Everything was cleared.
    All,
}

/// Something worth reporting to analytics (`onEvent`) or the debug log.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent {
    /// A `get` was answered.
    Load {
        /// The user.
        user_id: String,
        /// Where the answer came from.
        source: Source,
        /// How long it took.
        ms: Millis,
        /// Image bytes downloaded for it (0 unless from the network).
        bytes: u64,
        /// Whether the answer was stale.
        stale: bool,
    },
    /// An entry was evicted from a layer.
    Evict {
        /// The layer.
        layer: Layer,
        /// The image id (from memory: the image whose URL was revoked).
        id: String,
    },
    /// A layer failed; the answer fell back.
    Error {
        /// The layer.
        layer: Layer,
        /// The error code and message.
        reason: String,
    },
    /// A background revalidation or URL refresh finished.
    Refresh {
        /// The user.
        user_id: String,
        /// Whether the picture changed.
        changed: bool,
    },
    /// The preview (ThumbHash) of a downloaded or uploaded image was computed.
    Preview {
        /// The user whose picture it is.
        user_id: String,
        /// The image.
        image_id: String,
        /// From the start of its decode at small size to the hash kept in memory.
        ms: Millis,
    },
    /// A decision, for `debug: true` logging only.
    Decision(String),
}

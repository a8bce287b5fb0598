//! Pure policies: no browser types, no I/O, time passed in. Each file answers one question.
//!
//! - [`ttl`]: is this entry still fresh?
//! - [`lru`]: which entries go when a store is over its entry or byte budget?
//! - [`contract`]: what did the backend answer (DESIGN.md §4)?
//! - [`backoff`]: how long to wait before the next retry?
//! - [`breaker`]: may a request go to this origin now?
//! - [`presign`]: when does this presigned URL stop working, and is it time to refresh it?
//! - [`safe_url`]: may this URL be fetched or shown?
//! - [`sniff`]: what image type do these bytes really hold?
//! - [`dimensions`]: how many pixels does this image declare?
//! - [`svg`]: can this SVG run script or reach out when opened as a document?
//! - [`placeholder`]: what does this picture look like in 25 bytes (ThumbHash), as a tiny preview?
//! - [`png`]: how do a preview's pixels become a `data:` URL?
//! - [`range_read`]: is a batch of stored images read with one range read or one read each?

pub mod backoff;
pub mod breaker;
pub mod contract;
pub mod dimensions;
pub mod lru;
pub mod placeholder;
pub mod png;
pub mod presign;
pub mod range_read;
pub mod safe_url;
pub mod sniff;
pub mod svg;
pub mod ttl;

//! The TypeScript types of the public API, emitted into the generated `.d.ts`.

use wasm_bindgen::prelude::*;

/// `AvatarCacheConfig`, kept beside the reader it must match (see `crate::config`).
#[wasm_bindgen(typescript_custom_section)]
const CONFIG_TYPES: &str = crate::config::CONFIG_TS;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Which layer answered. */
export type PictureSource = "memory" | "local" | "indexeddb" | "network" | "default";

/** A picture as get and peek answer it. */
export interface Picture {
  userId: string;
  imageId: string | null;
  /** The stored picture: a `data:` URL of its bytes (images up to `dataUrlMaxBytes`, 32 KiB by
   * default) or an object URL owned by the cache; else the remote or default URL. */
  url: string;
  source: PictureSource;
  /** Past its freshness; a revalidation is under way. */
  stale: boolean;
  loadMs: number;
  /** A data: URL of a tiny preview of the image (ThumbHash, about 1.5 KB), when one is known. */
  placeholder?: string;
}

/** What prefetch did, summed over the users asked for. */
export interface PrefetchReport {
  requested: number;
  memory: number;
  local: number;
  indexeddb: number;
  network: number;
  /** Ended with the default picture: no picture, unknown user, or nothing stored while offline. */
  defaulted: number;
  /** API calls made while the prefetch ran (a batch call it shares counts once). */
  apiCalls: number;
  /** Image downloads the prefetch's own loads made. */
  downloads: number;
}

export interface LayerStats { hits: number; misses: number; stale: number; p50Ms: number; p95Ms: number }

export interface CacheStats {
  layers: {
    memory: LayerStats;
    local: LayerStats;
    indexeddb: LayerStats;
    network: LayerStats & { errors: number };
  };
  /** Gets answered without the network / all gets. */
  hitRate: number;
  gets: number;
  apiCalls: number;
  downloads: number;
  bytesDownloaded: number;
  /** Background revalidations and presigned-URL refreshes started. */
  refreshes: number;
  /** Images evicted from memory (their URLs revoked) and from IndexedDB. */
  evictions: number;
  idb: { bytes: number; entries: number; maxBytes: number; maxEntries: number } | null;
  localBytes: number;
  /** Picture URLs memory holds: object URLs (revoked on eviction) and `data:` URLs. */
  objectUrls: number;
  inFlight: number;
  breaker: "closed" | "open" | "half-open";
  recentErrors: { at: number; layer: string; reason: string }[];
  storage?: { usage: number; quota: number; persisted: boolean };
}

/** `globalThis.__AVATAR_CACHE__`, for the devtools console: every open cache by namespace
 *  (unless opened with `devtools: false`). `stats()` / `diagnose()` without a namespace answer
 *  for the only cache, or for each by namespace when several are open. */
export interface AvatarCacheDevtools {
  version: string;
  caches: Record<string, { stats(): CacheStats; diagnose(): CacheStats }>;
  stats(namespace?: string): CacheStats | Record<string, CacheStats> | undefined;
  diagnose(namespace?: string): CacheStats | Record<string, CacheStats> | undefined;
}

declare global {
  // eslint-disable-next-line no-var
  var __AVATAR_CACHE__: AvatarCacheDevtools | undefined;
}

/** Reported to onEvent. */
export type CacheEvent =
  | { type: "load"; userId: string; source: PictureSource; ms: number; bytes: number; stale: boolean }
  /** `id`: the image evicted (from memory: its URL revoked; from IndexedDB: its row deleted). */
  | { type: "evict"; layer: string; id: string }
  | { type: "error"; layer: string; reason: string }
  | { type: "refresh"; userId: string; changed: boolean }
  /** A downloaded or uploaded image's preview (ThumbHash) was computed, in `ms` from the start of its decode. */
  | { type: "preview"; userId: string; imageId: string; ms: number }
  | { type: "debug"; message: string };

/** What subscribers hear: one user's picture changed, or everything was cleared. */
export type Change = { userId: string } | { all: true };
"#;

#[wasm_bindgen]
extern "C" {
    /// `AvatarCacheConfig` on the TypeScript side.
    #[wasm_bindgen(typescript_type = "AvatarCacheConfig")]
    pub type AvatarCacheConfig;
}

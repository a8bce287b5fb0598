//! The TypeScript types of the public API, emitted into the generated `.d.ts`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
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
  local?: { ttlMs?: number; enabled?: boolean };
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
  /** Image types that may become object URLs. Default png, jpeg, webp, gif, avif (no SVG). */
  allowedTypes?: string[];
  /** Tell other tabs about changes. Default true. */
  crossTab?: boolean;
  /** Log each decision at console.debug level. Default false. */
  debug?: boolean;
  /** Told of loads, evictions, errors and refreshes (analytics). */
  onEvent?: (event: CacheEvent) => void;
}

/** Which layer answered. */
export type PictureSource = "memory" | "local" | "indexeddb" | "network" | "default";

/** A picture as get and peek answer it. */
export interface Picture {
  userId: string;
  imageId: string | null;
  /** An object URL owned by the cache, or the remote or default URL. */
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
  /** Ended with the default picture. */
  defaulted: number;
  apiCalls: number;
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
  /** Entries evicted from memory (object URLs revoked) and IndexedDB. */
  evictions: number;
  idb: { bytes: number; entries: number; maxBytes: number; maxEntries: number } | null;
  localBytes: number;
  objectUrls: number;
  inFlight: number;
  breaker: "closed" | "open" | "half-open";
  recentErrors: { at: number; layer: string; reason: string }[];
  storage?: { usage: number; quota: number; persisted: boolean };
}

/** Reported to onEvent. */
export type CacheEvent =
  | { type: "load"; userId: string; source: PictureSource; ms: number; bytes: number; stale: boolean }
  | { type: "evict"; layer: string; id: string }
  | { type: "error"; layer: string; reason: string }
  | { type: "refresh"; userId: string; changed: boolean }
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

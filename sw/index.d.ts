import type { AvatarCacheConfig, AvatarWorker } from "./worker/avatar_cache_worker.js";

/** `AvatarCacheConfig` plus the fields only the service worker reads. */
export interface ServeAvatarsConfig extends AvatarCacheConfig {
  /** Origins of object storage whose `<img>` requests the worker answers from stored bytes. Default `[]`. */
  storageOrigins?: string[];
  /** `GET {avatarPath}/{userId}` on the worker's origin answers the user's picture. Default `"/avatar"`. */
  avatarPath?: string;
}

/**
 * Serves avatars from the app's module service worker. Call once at its top level. Rejects for a
 * bad config (logged in the worker and posted to pages as `{ type: "avatar-cache:sw-error", field, message }`).
 */
export function serveAvatars(config?: ServeAvatarsConfig): Promise<AvatarWorker>;

/**
 * The worker's module as `serveAvatars` loads it: the copy kept under its build, else the
 * network's if it is the build these bindings were made with (kept for the next start); rejects
 * for a module of another build. Exported for tests, which pass their own `caches`, `fetch` and
 * digest.
 */
export function moduleSource(options?: {
  cacheStorage?: CacheStorage;
  fetchFn?: typeof fetch;
  digest?: (bytes: ArrayBuffer) => Promise<string>;
}): Promise<Response>;

/** Drops the kept modules of other builds (on `activate`). Exported for tests. */
export function dropOtherModules(options?: { cacheStorage?: CacheStorage }): Promise<void>;

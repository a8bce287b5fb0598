// Opens the one AvatarCache of the app. Query parameters tune it for demos and tests:
//   ?ns=NAME  namespace (separate storage)   ?debug=1  log decisions
//   ?refreshMarginMs=N  ?urlLifetimeMs=N      ?noBatch=1  no batch endpoint
import { AvatarCache, type AvatarCacheConfig } from "avatar-cache";

import { cacheFetch } from "./api";

declare global {
  interface Window {
    /** The app's cache instance, for the devtools console and the end-to-end tests. (The
     *  crate itself exposes `__AVATAR_CACHE__.diagnose()`.) */
    orbitCache?: AvatarCache;
  }
}

export function cacheConfig(search = window.location.search): AvatarCacheConfig {
  const q = new URLSearchParams(search);
  const num = (name: string) => (q.has(name) ? Number(q.get(name)) : undefined);
  const config: AvatarCacheConfig = {
    apiBase: "/images",
    batchEndpoint: q.get("noBatch") === "1" ? undefined : "/images/batch",
    fetch: cacheFetch,
    namespace: q.get("ns") ?? "orbit_pfp",
    debug: q.get("debug") === "1",
  };
  const margin = num("refreshMarginMs");
  if (margin !== undefined) config.refreshMarginMs = margin;
  const lifetime = num("urlLifetimeMs");
  if (lifetime !== undefined) config.urlLifetimeMs = lifetime;
  for (const k of Object.keys(config) as (keyof AvatarCacheConfig)[]) if (config[k] === undefined) delete config[k];
  return config;
}

export async function openCache(): Promise<AvatarCache> {
  const cache = await AvatarCache.open(cacheConfig());
  window.orbitCache = cache;
  return cache;
}

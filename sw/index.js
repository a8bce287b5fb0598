// avatar-cache/sw: serveAvatars(config) for the app's own module service worker.
//
//   // /avatar-sw.js, registered with navigator.serviceWorker.register("/avatar-sw.js", { type: "module" })
//   import { serveAvatars } from "avatar-cache/sw";      // or "/pkg/sw.js" without a bundler
//   serveAvatars({ apiBase: "/images", storageOrigins: ["https://bucket.example"] });
//
// This file only routes events; what is answered and stored is decided in the WebAssembly
// module (src/js/worker.rs, src/sw/), over the same IndexedDB image database as the pages.
// The worker's own module (pkg/worker/): the page's module has no AvatarWorker, and this one no
// AvatarCache.
import init, { AvatarWorker } from "./worker/avatar_cache_worker.js";

const WASM_URL = new URL("./worker/avatar_cache_worker_bg.wasm", import.meta.url).href;
const MODULE_CACHE = "avatar-cache:module";

/** The module: from the network (so an update is picked up), else the copy kept for offline. */
async function wasmSource() {
  try {
    const response = await fetch(WASM_URL, { cache: "no-cache" });
    if (response.ok) {
      caches.open(MODULE_CACHE).then((c) => c.put(WASM_URL, response.clone())).catch(() => {});
      return response;
    }
  } catch {
    // offline: fall through to the kept copy
  }
  const kept = await caches.open(MODULE_CACHE).then((c) => c.match(WASM_URL)).catch(() => undefined);
  if (kept) return kept;
  return fetch(WASM_URL);
}

function quickMatch(config) {
  const avatarPath = String(config?.avatarPath ?? "/avatar").replace(/\/+$/, "") + "/";
  const origins = new Set((Array.isArray(config?.storageOrigins) ? config.storageOrigins : [])
    .map((o) => String(o).trim().replace(/\/+$/, "").toLowerCase()));
  return (request) => {
    if (request.method !== "GET") return false;
    const url = new URL(request.url);
    if (url.origin === self.location.origin && url.pathname.startsWith(avatarPath)) return true;
    return request.destination === "image" && origins.has(url.origin);
  };
}

function describe(error) {
  return { type: "avatar-cache:sw-error", name: error?.name, code: error?.code, field: error?.field, message: String(error?.message ?? error) };
}

/**
 * Serves avatars from the worker: `GET {avatarPath}/{userId}` through the cache's hierarchy and
 * `<img>` requests to `storageOrigins` from stored bytes. Call once, at the top level of a
 * module service worker. Resolves with the worker's cache; a bad config rejects (logged in the
 * worker's console and posted to every page as `{ type: "avatar-cache:sw-error", field, message }`).
 */
export function serveAvatars(config = {}) {
  const mayHandle = quickMatch(config);
  const ready = init({ module_or_path: wasmSource() }).then(() => AvatarWorker.open(config));
  ready.catch(async (error) => {
    console.error("[avatar-cache/sw] serveAvatars:", error);
    const pages = await self.clients.matchAll({ includeUncontrolled: true }).catch(() => []);
    for (const page of pages) page.postMessage(describe(error));
  });

  self.addEventListener("install", (event) => {
    self.skipWaiting();
    event.waitUntil(
      ready
        .then(async (worker) => {
          const cache = await caches.open(worker.cacheName);
          await cache.add(worker.defaultImageUrl);
          await caches.open(MODULE_CACHE).then(async (c) => {
            await c.add(WASM_URL);
            // Modules of other versions or names (before the worker had its own) are dropped.
            for (const old of await c.keys()) if (old.url !== WASM_URL) await c.delete(old);
          });
        })
        .catch(() => {}),
    );
  });
  self.addEventListener("activate", (event) => {
    event.waitUntil(ready.then((worker) => worker.activate()).catch(() => {}).then(() => self.clients.claim()));
  });
  self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (!mayHandle(request)) return;
    event.respondWith(
      ready.then(
        (worker) => (worker.handles(request.method, request.url, request.destination) ? worker.respond(request) : fetch(request)),
        () => fetch(request),
      ),
    );
  });
  self.addEventListener("message", (event) => {
    if (event.data?.type !== "avatar-cache:sw-status") return;
    ready.then(
      () => event.source?.postMessage({ type: "avatar-cache:sw-status", ok: true }),
      (error) => event.source?.postMessage({ ...describe(error), type: "avatar-cache:sw-status", ok: false }),
    );
  });
  return ready;
}

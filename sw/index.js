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
// The SHA-256 (first 16 hex digits) of the module these bindings were built with, written in
// by scripts/package-pkg.mjs ("dev" in the unpackaged source: any module is taken).
const MODULE_VERSION = "dev";
const MODULE_KEY = `${WASM_URL}?module=${MODULE_VERSION}`;

/**
 * The module this worker's bindings were built with: the copy kept under its version (no
 * network round trip at each start of the worker, and offline starts work), else the network's
 * if it is that build, kept for the next start. A module of another build (a deploy under way:
 * the browser restarted this worker after the server got the next one) is refused rather than
 * linked against the wrong bindings; the next worker update brings both. `caches`, `fetch` and
 * `digest` are the worker's own, replaceable for tests.
 */
export async function moduleSource({ cacheStorage = caches, fetchFn = fetch, digest = sha256 } = {}) {
  const key = MODULE_KEY;
  const cache = await cacheStorage.open(MODULE_CACHE).catch(() => null);
  const kept = await cache?.match(key).catch(() => undefined);
  if (kept) return kept;
  const response = await fetchFn(WASM_URL, { cache: "no-cache" });
  if (!response.ok) throw new Error(`avatar-cache/sw: ${WASM_URL} answered ${response.status}`);
  const bytes = await response.arrayBuffer();
  if (MODULE_VERSION !== "dev" && (await digest(bytes)) !== MODULE_VERSION) {
    throw new Error(`avatar-cache/sw: ${WASM_URL} is not the module of this worker's build (${MODULE_VERSION}): a deploy is under way`);
  }
  const module = () => new Response(bytes, { headers: { "Content-Type": "application/wasm" } });
  if (cache) await cache.put(key, module()).catch(() => {});
  return module();
}

/**
 * Drops the kept modules of other builds: on `activate`, once this build has replaced the
 * worker that ran the one before (which may start again until then, and needs its own).
 */
export async function dropOtherModules({ cacheStorage = caches } = {}) {
  const cache = await cacheStorage.open(MODULE_CACHE).catch(() => null);
  for (const old of (await cache?.keys().catch(() => [])) ?? []) {
    if (old.url !== MODULE_KEY) await cache.delete(old).catch(() => {});
  }
}

async function sha256(bytes) {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...hash.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Where a request to the avatar path goes when the module cannot run: the default picture. */
function defaultPictureUrl(config) {
  if (config?.defaultImageUrl) return String(config.defaultImageUrl);
  return `${String(config?.apiBase ?? "").replace(/\/+$/, "")}/default_pfp.png`;
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
  const ready = init({ module_or_path: moduleSource() }).then(() => AvatarWorker.open(config));
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
          // The module was kept under its build by `moduleSource` when it loaded.
          const cache = await caches.open(worker.cacheName);
          await cache.add(worker.defaultImageUrl);
        })
        .catch(() => {}),
    );
  });
  self.addEventListener("activate", (event) => {
    event.waitUntil(
      ready
        .then((worker) => Promise.all([worker.activate(), dropOtherModules()]))
        .catch(() => {})
        .then(() => self.clients.claim()),
    );
  });
  self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (!mayHandle(request)) return;
    const answer = ready.then(
      (worker) => (worker.handles(request.method, request.url, request.destination) ? worker.respond(request) : fetch(request)),
      // Without the module: the default picture for the avatar path (the server has no such
      // route), the bucket's own answer for a storage `<img>`.
      () => (new URL(request.url).origin === self.location.origin ? fetch(defaultPictureUrl(config)) : fetch(request)),
    );
    event.respondWith(answer);
    // The row of a download is written behind the answer: the worker stays alive until it lands.
    event.waitUntil(
      answer.then(
        () => ready.then((worker) => worker.writesSettled()),
        () => {},
      ).catch(() => {}),
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

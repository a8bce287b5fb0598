// The bench's web server on loopback: serves the bench page, pkg/ and the two comparison
// libraries with cross-origin isolation headers (finer timers), and plays the backend of
// DESIGN.md §4 with injected latency.
//
//   GET  /images/user/{userId}      → { success, image_id, url, user_id }   (presigned URL, 1 h)
//   GET  /images/{imageId}          → { success, image_id, url }
//   POST /images/batch { user_ids } → { users: { [id]: { image_id, url } } }
//   GET  /images/default_pfp.png
//   GET  /storage/avatars/{imageId}?X-Amz-Date=…&X-Amz-Expires=3600 → PNG bytes (with ETag):
//                                   64×64, or 128×128 when the id contains "p128"; with
//                                   &cacheable=1, `Cache-Control: max-age=3600` (HTTP cache)
//   POST /__control { latencyMs }   latency added to every API and storage answer
//   GET  /__stats                   request counters
//   POST /__result?visit=K          a page's result (JSON), handed to whoever waits for visit K
//                                   (server.waitResult): the runner waits without polling the page
//
//   node server.mjs [--port N]      (the runner starts it in-process through startServer)
import { createReadStream, existsSync, statSync } from "node:fs";
import http from "node:http";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { avatarPng } from "./png.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

// Every answer: cross-origin isolated, so performance.now() gets its finest resolution.
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

function amzDate(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the server on 127.0.0.1 and resolves to `{ url, close, stats }`.
 * @param {{ port?: number, pkgDir?: string }} [options]
 */
export async function startServer(options = {}) {
  const pkgDir = resolve(options.pkgDir ?? join(here, "..", "pkg"));
  const roots = [
    ["/pkg/", pkgDir],
    ["/node_modules/idb-keyval/", join(here, "node_modules", "idb-keyval")],
    ["/node_modules/localforage/", join(here, "node_modules", "localforage")],
    ["/", join(here, "page")],
  ];
  const control = { latencyMs: 0 };
  const stats = { api: 0, batch: 0, images: 0, static: 0 };
  const pngs = new Map();
  let origin = "";
  const waiting = new Map();
  const arrived = new Map();
  /** Resolves to the JSON a page posts to /__result?visit=`key`; rejects after `timeoutMs`. */
  const waitResult = (key, timeoutMs) => {
    if (arrived.has(key)) {
      const value = arrived.get(key);
      arrived.delete(key);
      return Promise.resolve(value);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(key);
        reject(new Error(`no result from visit ${key} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      waiting.set(key, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  };

  const png = (imageId) => {
    let bytes = pngs.get(imageId);
    if (!bytes) {
      // Image ids with "p128" in them are 128×128 (the previews step hashes such downloads).
      bytes = avatarPng(imageId, imageId.includes("p128") ? 128 : 64);
      pngs.set(imageId, bytes);
    }
    return bytes;
  };
  // Users whose id starts with "nopic" have no picture.
  const imageOf = (userId) => (userId.startsWith("nopic") ? null : `img-${userId}`);
  const presign = (imageId) =>
    `${origin}/storage/avatars/${encodeURIComponent(imageId)}?X-Amz-Date=${amzDate(Date.now())}` +
    `&X-Amz-Expires=3600&X-Amz-Signature=${Math.random().toString(16).slice(2)}`;
  const userAnswer = (userId) => {
    const imageId = imageOf(userId);
    return { success: true, image_id: imageId, url: imageId ? presign(imageId) : `${origin}/images/default_pfp.png`, user_id: userId };
  };

  const send = (res, status, body, type, extra = {}) => {
    res.writeHead(status, { "Content-Type": type, "Content-Length": body.length, "Cache-Control": "no-store", ...ISOLATION, ...extra });
    res.end(body);
  };
  const json = (res, status, value) => send(res, status, Buffer.from(JSON.stringify(value)), "application/json; charset=utf-8");

  async function readJson(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  }

  async function handle(req, res) {
    const url = new URL(req.url, origin);
    const path = url.pathname;
    if (path === "/__control" && req.method === "POST") {
      Object.assign(control, await readJson(req));
      return json(res, 200, control);
    }
    if (path === "/__stats") return json(res, 200, stats);
    if (path === "/__result" && req.method === "POST") {
      const key = url.searchParams.get("visit") ?? "";
      const value = await readJson(req);
      const waiter = waiting.get(key);
      waiting.delete(key);
      if (waiter) waiter(value);
      else arrived.set(key, value);
      return json(res, 200, { ok: true });
    }
    if (path.startsWith("/images/") || path.startsWith("/storage/")) {
      if (control.latencyMs > 0) await sleep(control.latencyMs);
      let m;
      if (path === "/images/default_pfp.png") return send(res, 200, png("default"), "image/png");
      if (path === "/images/batch" && req.method === "POST") {
        stats.api++;
        stats.batch++;
        const { user_ids: ids = [] } = await readJson(req);
        const users = {};
        for (const id of ids) {
          const { image_id, url: u } = userAnswer(id);
          users[id] = { image_id, url: u };
        }
        return json(res, 200, { users });
      }
      if ((m = /^\/images\/user\/([^/]+)$/.exec(path))) {
        stats.api++;
        return json(res, 200, userAnswer(decodeURIComponent(m[1])));
      }
      if ((m = /^\/storage\/avatars\/([^/]+)$/.exec(path))) {
        stats.images++;
        const id = decodeURIComponent(m[1]);
        const cache = url.searchParams.has("cacheable") ? { "Cache-Control": "private, max-age=3600" } : {};
        return send(res, 200, png(id), "image/png", { ETag: `"${id}"`, ...cache });
      }
      if ((m = /^\/images\/([^/]+)$/.exec(path))) {
        stats.api++;
        const imageId = decodeURIComponent(m[1]);
        return json(res, 200, { success: true, image_id: imageId, url: presign(imageId) });
      }
      return json(res, 404, { success: false });
    }
    // Static files.
    stats.static++;
    for (const [prefix, dir] of roots) {
      if (!path.startsWith(prefix)) continue;
      const rel = normalize(decodeURIComponent(path.slice(prefix.length)) || "index.html");
      if (rel.startsWith("..")) break;
      let file = join(dir, rel);
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
      if (!existsSync(file)) break;
      res.writeHead(200, {
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Content-Length": statSync(file).size,
        // The package as an app's build serves it (content-hashed names, cached for good), so a
        // return visit takes it from the HTTP cache; set AVATAR_BENCH_PKG_NO_CACHE=1 to fetch it
        // again on every visit. The bench's own pages are always fetched again.
        "Cache-Control": prefix === "/pkg/" && !process.env.AVATAR_BENCH_PKG_NO_CACHE ? "public, max-age=31536000, immutable" : "no-cache",
        ...ISOLATION,
      });
      return createReadStream(file).pipe(res);
    }
    send(res, 404, Buffer.from("not found"), "text/plain");
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, 500, Buffer.from(String(e)), "text/plain");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(options.port ?? 0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${server.address().port}`;
  return {
    url: origin,
    stats,
    waitResult,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  const s = await startServer({ port: i > 0 ? Number(process.argv[i + 1]) : 8099 });
  console.log(`bench server on ${s.url}`);
}

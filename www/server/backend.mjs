// The dev backend of DESIGN.md §4: the image API (same origin as the app) and a presigned
// "object storage" on a separate origin, with latency/failure injection and request counters.
//
//   const backend = await createBackend({ storagePort: 0 });
//   http.createServer((req, res) => backend.handle(req, res, () => notFound(res)));
//
// API (mounted at /images):      GET  /images/user/{userId}   → { success, image_id, url, user_id }
//                                GET  /images/{imageId}       → { success, image_id, url }
//                                POST /images/batch { user_ids } → { users: { [id]: { image_id, url } } }
//                                GET  /images/default_pfp.png
//                                POST /images/upload?userId=  (image bytes) → { success, image_id, url, user_id }
// App data:                      GET  /api/me, /api/friends, /api/discover?page=, /api/users/{id}
// Control:                       POST /__control { latencyMs, storageLatencyMs, jitterMs, failRate,
//                                                  offline, urlLifetimeSec, clockOffsetMs, cors }
//                                GET  /__stats, POST /__stats/reset
// Storage (other port):          GET  /avatars/{imageId}?X-Amz-…  (403 when expired or forged)
import { createHmac, createHash, randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";

import { avatarPng, defaultPng, sniffImage } from "./png.mjs";
import { ME, initials, newImageId, seedUsers } from "./users.mjs";

const MAX_UPLOAD_BYTES = 2 << 20;
const FRIEND_COUNT = 120;

function freshStats() {
  return {
    since: Date.now(),
    api: { total: 0, user: 0, image: 0, batch: 0, batchIds: 0, upload: 0, default: 0, failed: 0, refused: 0 },
    apiByUser: {},
    /** The user ids of each batch call, in order. */
    batches: [],
    /** The user id of each single-user call, in order. */
    singles: [],
    images: { requests: 0, ok: 0, bytes: 0, notModified: 0, forbidden: 0, notFound: 0, preflight: 0, failed: 0, refused: 0 },
    imagesById: {},
    app: { requests: 0 },
  };
}

/** `YYYYMMDDTHHMMSSZ` for a time in ms. */
export function amzDate(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? "");
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sendJson(res, status, body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...extra,
  });
  res.end(text);
}

async function readBody(req, limit) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts the storage server and returns the backend.
 * @param {{ storagePort?: number, host?: string, latencyMs?: number, storageLatencyMs?: number,
 *           jitterMs?: number, urlLifetimeSec?: number, secret?: string,
 *           log?: (line: string) => void }} [options]
 */
export async function createBackend(options = {}) {
  const host = options.host ?? "127.0.0.1";
  const secret = options.secret ?? randomBytes(32).toString("hex");
  const users = seedUsers();
  /** imageId → { bytes, mime, etag, owner } ; seeded avatars are painted on first use. */
  const images = new Map();
  const control = {
    latencyMs: options.latencyMs ?? 0,
    storageLatencyMs: options.storageLatencyMs ?? options.latencyMs ?? 0,
    jitterMs: options.jitterMs ?? 0,
    failRate: 0,
    offline: false,
    urlLifetimeSec: options.urlLifetimeSec ?? 3600,
    clockOffsetMs: 0,
    /** false: the bucket sends no CORS headers, so `fetch` cannot read images (opaque mode). */
    cors: true,
  };
  let stats = freshStats();
  let uploads = 0;
  const now = () => Date.now() + control.clockOffsetMs;
  const defaultImage = (() => {
    const bytes = defaultPng();
    return { bytes, mime: "image/png", etag: `"${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}"` };
  })();

  function image(imageId) {
    let img = images.get(imageId);
    if (img) return img;
    const owner = [...users.values()].find((u) => u.seedImageId === imageId || u.imageId === imageId);
    if (!owner || !imageId.startsWith("img_")) return undefined;
    const bytes = avatarPng(imageId, initials(owner.name));
    img = { bytes, mime: "image/png", etag: `"${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}"`, owner: owner.id };
    images.set(imageId, img);
    return img;
  }
  for (const u of users.values()) u.seedImageId = u.imageId;

  // --- object storage -------------------------------------------------------------------------
  const storage = http.createServer((req, res) => {
    handleStorage(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    });
  });
  await new Promise((resolve) => storage.listen(options.storagePort ?? 0, host, resolve));
  const storageOrigin = `http://${host}:${storage.address().port}`;

  function sign(path, signedAtMs, expiresSec, token) {
    return createHmac("sha256", secret).update(`${path}\n${amzDate(signedAtMs)}\n${expiresSec}\n${token}`).digest("hex");
  }

  /** A presigned URL for an image, fresh at every call (new date, token and signature). */
  function presign(imageId) {
    const path = `/avatars/${encodeURIComponent(imageId)}`;
    const at = now();
    const expires = Math.max(1, Math.round(control.urlLifetimeSec));
    const token = randomBytes(8).toString("hex");
    const q = new URLSearchParams({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `avatar-dev/${amzDate(at).slice(0, 8)}/local/s3/aws4_request`,
      "X-Amz-Date": amzDate(at),
      "X-Amz-Expires": String(expires),
      "X-Amz-Security-Token": token,
      "X-Amz-SignedHeaders": "host",
    });
    q.set("X-Amz-Signature", sign(path, at, expires, token));
    return `${storageOrigin}${path}?${q}`;
  }

  function corsHeaders(req) {
    if (!control.cors) return {};
    return {
      "Access-Control-Allow-Origin": req.headers.origin ?? "*",
      "Access-Control-Expose-Headers": "ETag, Content-Length, Content-Type",
      Vary: "Origin",
    };
  }

  function s3Error(req, res, status, code, message) {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(status, { "Content-Type": "application/xml", ...corsHeaders(req) });
    res.end(body);
  }

  async function handleStorage(req, res) {
    const url = new URL(req.url, storageOrigin);
    if (req.method === "OPTIONS") {
      stats.images.preflight++;
      res.writeHead(204, {
        ...corsHeaders(req),
        "Access-Control-Allow-Methods": "GET, HEAD",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "",
        "Access-Control-Max-Age": "600",
      });
      return res.end();
    }
    stats.images.requests++;
    if (control.offline) {
      stats.images.refused++;
      return req.socket.destroy();
    }
    if (control.storageLatencyMs || control.jitterMs) await sleep(control.storageLatencyMs + Math.random() * control.jitterMs);
    if (control.failRate > 0 && Math.random() < control.failRate) {
      stats.images.failed++;
      return s3Error(req, res, 503, "SlowDown", "Please reduce your request rate.");
    }
    const m = /^\/avatars\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== "GET" && req.method !== "HEAD")) {
      stats.images.notFound++;
      return s3Error(req, res, 404, "NoSuchKey", "The specified key does not exist.");
    }
    const q = url.searchParams;
    const at = parseAmzDate(q.get("X-Amz-Date"));
    const expires = Number(q.get("X-Amz-Expires"));
    const token = q.get("X-Amz-Security-Token") ?? "";
    const given = Buffer.from(q.get("X-Amz-Signature") ?? "", "hex");
    const wanted = Buffer.from(sign(url.pathname, at, expires, token), "hex");
    if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" || !Number.isFinite(at) || !(expires > 0)
        || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      stats.images.forbidden++;
      return s3Error(req, res, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    }
    if (now() > at + expires * 1000) {
      stats.images.forbidden++;
      return s3Error(req, res, 403, "AccessDenied", "Request has expired");
    }
    const imageId = decodeURIComponent(m[1]);
    const img = image(imageId);
    if (!img) {
      stats.images.notFound++;
      return s3Error(req, res, 404, "NoSuchKey", "The specified key does not exist.");
    }
    stats.imagesById[imageId] = (stats.imagesById[imageId] ?? 0) + 1;
    const headers = { ...corsHeaders(req), ETag: img.etag, "Cache-Control": "no-cache" };
    const inm = req.headers["if-none-match"];
    if (inm && inm.split(",").map((s) => s.trim()).includes(img.etag)) {
      stats.images.notModified++;
      res.writeHead(304, headers);
      return res.end();
    }
    stats.images.ok++;
    stats.images.bytes += img.bytes.length;
    res.writeHead(200, { ...headers, "Content-Type": img.mime, "Content-Length": img.bytes.length });
    res.end(req.method === "HEAD" ? undefined : img.bytes);
  }

  // --- API --------------------------------------------------------------------------------------
  function defaultUrl(req) {
    return `http://${req.headers.host}/images/default_pfp.png`;
  }

  function describe(req, user) {
    return { image_id: user.imageId, url: user.imageId ? presign(user.imageId) : defaultUrl(req) };
  }

  function publicUser(u) {
    return { id: u.id, name: u.name, handle: u.handle, city: u.city };
  }

  function countUser(id) {
    stats.apiByUser[id] = (stats.apiByUser[id] ?? 0) + 1;
  }

  // --- Service worker (avatar-cache/sw) ---------------------------------------------------------
  // The demo's module service worker: serveAvatars with this backend's storage origin (which is
  // only known at run time). `?ns=` picks the cache namespace, as the app's `?ns=` does.
  function sendServiceWorker(res, url) {
    const config = {
      apiBase: "/images",
      batchEndpoint: "/images/batch",
      namespace: url.searchParams.get("ns") || "orbit_pfp",
      storageOrigins: [storageOrigin],
    };
    const pkg = options.swPackageUrl ?? "/pkg/sw.js";
    const text = `// Generated by www/server/backend.mjs\nimport { serveAvatars } from ${JSON.stringify(pkg)};\nserveAvatars(${JSON.stringify(config)});\n`;
    res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" });
    res.end(text);
  }

  // `GET /avatar/{userId}` for visits the worker does not control yet (the first load): a
  // redirect to the presigned URL, or to the default picture.
  function redirectAvatar(req, res, id) {
    stats.api.avatar = (stats.api.avatar ?? 0) + 1;
    const user = users.get(id);
    const location = user?.imageId ? presign(user.imageId) : defaultUrl(req);
    res.writeHead(302, { Location: location, "Cache-Control": "no-store" });
    res.end();
  }

  /** Handles a request if it is the backend's, else calls `next()`. */
  async function handle(req, res, next) {
    const url = new URL(req.url, "http://app.invalid");
    const path = url.pathname;
    try {
      if (path === "/__control" && req.method === "POST") {
        const patch = JSON.parse((await readBody(req, 64 * 1024)).toString() || "{}");
        for (const [k, v] of Object.entries(patch)) {
          if (!(k in control)) return sendJson(res, 400, { success: false, error: `unknown control field ${k}` });
          if (typeof v !== typeof control[k]) return sendJson(res, 400, { success: false, error: `${k} must be a ${typeof control[k]}` });
          control[k] = v;
        }
        return sendJson(res, 200, { success: true, control });
      }
      if (path === "/__control" && req.method === "GET") return sendJson(res, 200, { control, storageOrigin });
      if (path === "/__stats" && req.method === "GET") return sendJson(res, 200, { ...stats, control, storageOrigin });
      if (path === "/__stats/reset" && req.method === "POST") {
        stats = freshStats();
        return sendJson(res, 200, { success: true });
      }
      if (path === "/avatar-sw.js" && req.method === "GET") return sendServiceWorker(res, url);
      const avatar = /^\/avatar\/([^/]+)$/.exec(path);
      if (avatar && req.method === "GET") return redirectAvatar(req, res, decodeURIComponent(avatar[1]));
      if (path.startsWith("/api/")) return await handleApp(req, res, path);
      if (path.startsWith("/images/") || path === "/images") return await handleImages(req, res, url);
    } catch (e) {
      return sendJson(res, e.status ?? 500, { success: false, error: String(e.message ?? e) });
    }
    return next();
  }

  async function handleApp(req, res, path) {
    stats.app.requests++;
    if (path === "/api/me") return sendJson(res, 200, publicUser(users.get(ME)));
    if (path === "/api/friends") {
      const friends = [];
      for (let i = 2; friends.length < FRIEND_COUNT; i++) friends.push(publicUser(users.get(String(i))));
      return sendJson(res, 200, friends);
    }
    if (path === "/api/discover") {
      // People you may know: pages of 8 users the friends list does not show (122–500).
      const page = Math.max(0, Math.floor(Number(new URL(req.url, "http://x").searchParams.get("page")) || 0));
      const span = users.size - FRIEND_COUNT - 1;
      const out = [];
      for (let i = 0; i < 8; i++) out.push(publicUser(users.get(String(FRIEND_COUNT + 2 + ((page * 8 + i) % span)))));
      return sendJson(res, 200, out);
    }
    const m = /^\/api\/users\/([^/]+)$/.exec(path);
    const u = m && users.get(decodeURIComponent(m[1]));
    if (u) return sendJson(res, 200, publicUser(u));
    return sendJson(res, 404, { success: false, error: "no such user" });
  }

  async function handleImages(req, res, url) {
    const path = url.pathname;
    if (path === "/images/default_pfp.png" && (req.method === "GET" || req.method === "HEAD")) {
      stats.api.default++;
      const headers = { "Content-Type": "image/png", ETag: defaultImage.etag, "Cache-Control": "public, max-age=86400" };
      if (req.headers["if-none-match"] === defaultImage.etag) {
        res.writeHead(304, headers);
        return res.end();
      }
      res.writeHead(200, { ...headers, "Content-Length": defaultImage.bytes.length });
      return res.end(req.method === "HEAD" ? undefined : defaultImage.bytes);
    }
    stats.api.total++;
    if (control.offline) {
      stats.api.refused++;
      return req.socket.destroy();
    }
    if (control.latencyMs || control.jitterMs) await sleep(control.latencyMs + Math.random() * control.jitterMs);
    if (control.failRate > 0 && Math.random() < control.failRate) {
      stats.api.failed++;
      return sendJson(res, 503, { success: false, error: "service unavailable (injected)" });
    }
    let m;
    if (req.method === "POST" && path === "/images/batch") {
      stats.api.batch++;
      const body = JSON.parse((await readBody(req, 256 * 1024)).toString() || "{}");
      if (!Array.isArray(body.user_ids) || body.user_ids.some((id) => typeof id !== "string")) {
        return sendJson(res, 400, { success: false, error: "user_ids must be an array of strings" });
      }
      if (body.user_ids.length > 500) return sendJson(res, 400, { success: false, error: "at most 500 user_ids" });
      stats.api.batchIds += body.user_ids.length;
      stats.batches.push(body.user_ids);
      const out = {};
      for (const id of body.user_ids) {
        const u = users.get(id);
        if (!u) continue;
        countUser(id);
        out[id] = describe(req, u);
      }
      return sendJson(res, 200, { success: true, users: out });
    }
    if (req.method === "POST" && path === "/images/upload") {
      stats.api.upload++;
      const u = users.get(url.searchParams.get("userId") ?? "");
      if (!u) return sendJson(res, 404, { success: false, error: "no such user" });
      const bytes = await readBody(req, MAX_UPLOAD_BYTES);
      const mime = sniffImage(bytes);
      if (!mime) return sendJson(res, 415, { success: false, error: "not a PNG, JPEG, WebP or GIF image" });
      const imageId = newImageId(u.id, ++uploads);
      images.set(imageId, { bytes, mime, etag: `"${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}"`, owner: u.id });
      u.imageId = imageId;
      options.log?.(`upload: user ${u.id} → ${imageId} (${bytes.length} bytes, ${mime})`);
      return sendJson(res, 201, { success: true, image_id: imageId, url: presign(imageId), user_id: u.id });
    }
    if (req.method === "GET" && (m = /^\/images\/user\/([^/]+)$/.exec(path))) {
      stats.api.user++;
      const id = decodeURIComponent(m[1]);
      stats.singles.push(id);
      const u = users.get(id);
      if (!u) return sendJson(res, 404, { success: false, error: "no such user", user_id: id });
      countUser(id);
      return sendJson(res, 200, { success: true, ...describe(req, u), user_id: u.id });
    }
    if (req.method === "GET" && (m = /^\/images\/([^/]+)$/.exec(path))) {
      stats.api.image++;
      const imageId = decodeURIComponent(m[1]);
      if (!image(imageId)) return sendJson(res, 404, { success: false, error: "no such image", image_id: imageId });
      return sendJson(res, 200, { success: true, image_id: imageId, url: presign(imageId) });
    }
    return sendJson(res, 404, { success: false, error: "no such endpoint" });
  }

  // Paint the seeded avatars in the background so the first list load measures the cache, not
  // the painter.
  const pending = [...users.values()].filter((u) => u.imageId).map((u) => u.imageId);
  (function warm() {
    const batch = pending.splice(0, 20);
    for (const id of batch) image(id);
    if (pending.length) setImmediate(warm);
  })();

  return {
    handle,
    storage,
    storageOrigin,
    control,
    users,
    presign,
    get stats() { return stats; },
    close: () => new Promise((resolve) => { storage.closeAllConnections?.(); storage.close(() => resolve()); }),
  };
}

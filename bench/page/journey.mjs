// The journey of issue 11, one page load per visit (the runner, ../journey.mjs, navigates):
// a friends list after a reload. The cache and the browser's floor are measured in the same page.
//
//   journey.html?phase=warm             the warm-up visit: deletes this origin's storage, lets the
//                                       cache store 100 users (records in localStorage, images in
//                                       IndexedDB) and puts the same 100 image blobs in a plain
//                                       IndexedDB store (the floor's)
//   journey.html?phase=measure&mode=M&order=O   one measured reload (memory empty, module
//                                       imported and compiled again); O is floor-first or
//                                       cache-first, M one of:
//     gets       import → AvatarCache.open → 100 concurrent gets, beside the floor's open + one
//                readonly transaction reading the 100 blobs + an object URL each
//     paint      the same, each answer rendered as it arrives into an <img>, decoded
//                (img.decode()) and painted, as an app does; the floor renders its 100 object
//                URLs the same way once its transaction has delivered them all
//     prefetch   import → open → prefetch(ids) → 100 concurrent gets, beside the floor's read
//     range      the gets again, beside a floor that reads the way the cache does: the keys in
//                the range of the 100, then one getAll over it (context: the same read strategy
//                in plain JS, where the other modes' floor makes one request per blob)
//
// The visit's figures are posted to the bench server (/__result?visit=K, so the runner waits
// without polling the page while it measures) and kept in window.__JOURNEY_RESULT__ (JSON).
// "Painted" is taken after the frame that follows the last decode: a requestAnimationFrame
// callback, then a message posted from it (runs once that frame is rendered).

import { deleteOriginStorage } from "./origin.mjs";

const t00 = performance.now();
const params = new URLSearchParams(location.search);
const phase = params.get("phase") ?? "measure";
const mode = params.get("mode") ?? "gets";
const order = params.get("order") ?? "floor-first";
const USERS = Number(params.get("users") ?? 100);
const NS = "journey";
const FLOOR_DB = "journey-floor";
const ids = Array.from({ length: USERS }, (_, i) => `j${String(i).padStart(3, "0")}`);
const imageOf = (user) => `img-${user}`;
// What an app that follows the README passes: its endpoints and a namespace; defaults otherwise.
const CONFIG = { apiBase: "/images", batchEndpoint: "/images/batch", namespace: NS };
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The module's compile and instantiate, seen from outside: the glue calls one of these once.
const wasmTimes = { calls: 0, startedAt: null, readyAt: null };
for (const name of ["instantiateStreaming", "instantiate"]) {
  const original = WebAssembly[name];
  if (typeof original !== "function") continue;
  WebAssembly[name] = function (...args) {
    wasmTimes.calls++;
    wasmTimes.startedAt ??= now();
    return original.apply(this, args).then((r) => {
      wasmTimes.readyAt ??= now();
      return r;
    });
  };
}

function progress(message) {
  const line = `[${(now() / 1000).toFixed(2)} s] journey ${phase}${phase === "measure" ? ` ${mode} ${order}` : ""}: ${message}`;
  window.__BENCH_PROGRESS__ = line;
  document.getElementById("log").textContent += `${line}\n`;
}

const req = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
});
const openFloor = () => {
  const r = indexedDB.open(FLOOR_DB, 1);
  r.onupgradeneeded = () => r.result.createObjectStore("images");
  return req(r);
};
/** Resolves (to the time) once the frame after now has been rendered. */
const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve(now());
  channel.port2.postMessage(0);
}));

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function container() {
  const div = document.createElement("div");
  div.className = "avatars";
  document.body.append(div);
  return div;
}

/** Appends an <img> showing `url` and resolves when it is decoded (counts failures). */
function show(into, url, failures) {
  const img = document.createElement("img");
  img.width = 32;
  img.height = 32;
  img.src = url;
  into.append(img);
  return img.decode().catch(() => { failures.count++; });
}

// ----- the warm-up visit --------------------------------------------------------------------------

async function warm() {
  await deleteOriginStorage([FLOOR_DB, `${NS}:avatar-cache`]);
  const { AvatarCache } = await import("/pkg/index.js");
  const cache = await AvatarCache.open(CONFIG);
  const report = await cache.prefetch(ids);
  const sources = {};
  for (const p of await Promise.all(ids.map((u) => cache.get(u)))) sources[p.source] = (sources[p.source] ?? 0) + 1;
  // Wait for the write-behind to commit: stats().idb.entries counts an image as soon as its
  // write is planned, and close() (or leaving the page) drops writes still in flight, so the
  // images are counted in the cache's own database, through a connection of our own.
  const own = await req(indexedDB.open(`${NS}:avatar-cache`));
  const committed = async () => {
    if (!own.objectStoreNames.contains("images")) return 0;
    return req(own.transaction("images", "readonly").objectStore("images").count());
  };
  const end = now() + 60_000;
  let idbEntries;
  while ((idbEntries = await committed()) < USERS) {
    if (now() > end) throw new Error(`the cache's IndexedDB holds ${idbEntries} images, not ${USERS}`);
    await sleep(50);
  }
  own.close();
  cache.close();
  const localRecords = Object.keys(localStorage).filter((k) => k.startsWith(`${NS}:local:`)).length;
  const blobs = await Promise.all(ids.map((u) => fetch(`/storage/avatars/${imageOf(u)}`).then((r) => r.blob())));
  const db = await openFloor();
  const tx = db.transaction("images", "readwrite");
  ids.forEach((u, i) => tx.objectStore("images").put(blobs[i], imageOf(u)));
  await done(tx);
  db.close();
  const bytes = blobs.reduce((a, b) => a + b.size, 0);
  progress(`stored ${USERS} users: ${idbEntries} IndexedDB entries, ${localRecords} localStorage records, ${bytes} image bytes`);
  return { prefetch: report, sources, idbEntries, localRecords, imageBytes: bytes, imageType: blobs[0]?.type };
}

// ----- the floor: a plain IndexedDB store, one readonly transaction, object URLs ------------------

/** The floor's read in one request over the range of the 100: keys first, then the rows. */
async function rangeRead(db, urls) {
  const store = db.transaction("images", "readonly").objectStore("images");
  const keys = ids.map(imageOf);
  const range = IDBKeyRange.bound(keys.reduce((a, b) => (a < b ? a : b)), keys.reduce((a, b) => (a > b ? a : b)));
  const stored = await req(store.getAllKeys(range));
  const rows = await req(store.getAll(range));
  const at = new Map(stored.map((k, i) => [k, i]));
  keys.forEach((k, i) => {
    const row = rows[at.get(k)];
    if (!(row instanceof Blob)) throw new Error(`floor: no blob for ${k}`);
    urls[i] = URL.createObjectURL(row);
  });
}

async function floor(render, range = false) {
  const t0 = now();
  const db = await openFloor();
  const t1 = now();
  const into = render ? container() : null;
  const failures = { count: 0 };
  const decodes = [];
  const urls = new Array(USERS);
  if (range) await rangeRead(db, urls);
  else await new Promise((resolve, reject) => {
    const store = db.transaction("images", "readonly").objectStore("images");
    let left = USERS;
    ids.forEach((u, i) => {
      const r = store.get(imageOf(u));
      r.onsuccess = () => {
        if (!(r.result instanceof Blob)) return reject(new Error(`floor: no blob for ${u}`));
        urls[i] = URL.createObjectURL(r.result);
        if (--left === 0) resolve();
      };
      r.onerror = () => reject(r.error);
    });
  });
  const t2 = now();
  const out = { openMs: t1 - t0, readMs: t2 - t1, openReadMs: t2 - t0 };
  if (render) {
    // Rendered once the transaction has delivered all 100: in Chromium, <img>s started while
    // the reads are still arriving slow the reads down several times over (237–350 ms instead
    // of ~65 ms for the 100 on this machine), which is no floor.
    for (const url of urls) decodes.push(show(into, url, failures));
    await Promise.all(decodes);
    const t3 = now();
    const t4 = await afterPaint();
    Object.assign(out, { decodedMs: t3 - t1, paintMs: t4 - t1, decodeFailures: failures.count });
  }
  db.close();
  return { out, into };
}

// ----- the cache -----------------------------------------------------------------------------------

async function withCache() {
  const tA = now();
  const { AvatarCache } = await import("/pkg/index.js");
  const tB = now();
  const cache = await AvatarCache.open(CONFIG);
  const tC = now();
  const out = {
    importMs: tB - tA,
    instantiateMs: wasmTimes.readyAt !== null ? wasmTimes.readyAt - wasmTimes.startedAt : null,
    moduleMs: wasmTimes.readyAt !== null ? wasmTimes.readyAt - tA : null,
    openMs: tC - tB,
    openAfterReadyMs: wasmTimes.readyAt !== null ? tC - Math.max(tB, wasmTimes.readyAt) : null,
    importOpenMs: tC - tA,
    wasmCalls: wasmTimes.calls,
  };
  let into = null;
  if (mode === "prefetch") {
    const t0 = now();
    out.prefetchReport = await cache.prefetch(ids);
    out.prefetchMs = now() - t0;
  }
  const failures = { count: 0 };
  const decodes = [];
  if (mode === "paint") into = container();
  const latency = new Array(USERS);
  const pictures = new Array(USERS);
  const t0 = now();
  await Promise.all(ids.map((u, i) => cache.get(u).then((p) => {
    latency[i] = now() - t0;
    pictures[i] = p;
    if (into) decodes.push(show(into, p.url, failures));
  })));
  const t1 = now();
  Object.assign(out, {
    getsMs: t1 - t0,
    getP50Ms: percentile(latency, 0.5),
    getP95Ms: percentile(latency, 0.95),
    getMaxMs: Math.max(...latency),
    firstGetMs: Math.min(...latency),
    importOpenGetsMs: t1 - tA,
  });
  if (mode === "prefetch") out.prefetchGetsMs = out.prefetchMs + out.getsMs;
  if (into) {
    await Promise.all(decodes);
    const t2 = now();
    const t3 = await afterPaint();
    Object.assign(out, { decodedMs: t2 - tC, paintMs: t3 - tC, decodeFailures: failures.count });
  }
  const sources = {};
  for (const p of pictures) sources[p.source] = (sources[p.source] ?? 0) + 1;
  out.sources = sources;
  // Stored pictures are object URLs, or `data:` URLs of small images (`dataUrlMaxBytes`).
  out.notBlobUrls = pictures.filter((p) => !/^(blob:|data:image\/)/.test(String(p.url))).length;
  return { out, into, cache };
}

// ----- one measured reload -------------------------------------------------------------------------

async function measure() {
  if (!["gets", "paint", "prefetch", "range"].includes(mode)) throw new Error(`unknown mode ${mode}`);
  const render = mode === "paint";
  const range = mode === "range";
  const result = { scriptStartMs: t00 };
  // Between the two: the first one's pictures taken off the page, its frame rendered, its
  // background work given 100 ms.
  const settle = async (into) => {
    into?.remove();
    await afterPaint();
    await sleep(100);
  };
  if (order === "cache-first") {
    const c = await withCache();
    result.cache = c.out;
    await settle(c.into);
    result.floor = (await floor(render, range)).out;
  } else {
    const f = await floor(render, range);
    result.floor = f.out;
    await settle(f.into);
    result.cache = (await withCache()).out;
  }
  progress(`cache gets ${result.cache.getsMs.toFixed(1)} ms, floor read ${result.floor.readMs.toFixed(1)} ms`);
  return result;
}

(phase === "warm" ? warm() : measure())
  .then((r) => ({ phase, mode, order, users: USERS, ...r }))
  .catch((e) => ({ phase, mode, order, error: String(e?.stack ?? e) }))
  .then((r) => {
    if (r.error) progress(`ERROR ${r.error}`);
    window.__JOURNEY_RESULT__ = JSON.stringify(r);
    const visit = params.get("visit");
    if (visit) fetch(`/__result?visit=${encodeURIComponent(visit)}`, { method: "POST", body: window.__JOURNEY_RESULT__ });
  });

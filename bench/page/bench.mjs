// The benchmarks, run in the browser on one data set: avatar-cache against a plain Map,
// localStorage + JSON.parse, raw IndexedDB, idb-keyval and localForage. The result lands in
// window.__BENCH_RESULT__ (progress in window.__BENCH_PROGRESS__) for the runner (../run.mjs).
//
// Timing: performance.now() is coarse in browsers (5 µs when cross-origin isolated in Chromium,
// 20 µs in Firefox, worse otherwise). Operations far below that are timed in batches: a sample
// is the time of `opsPerSample` consecutive operations divided by their number, and p50/p95 are
// taken over the samples. Operations well above it (IndexedDB reads, network) are timed one per
// sample. Every row says which.
//
//   index.html?quick=1    fewer samples (a smoke run)
import * as kv from "/node_modules/idb-keyval/dist/index.js";
import { deleteOriginStorage } from "./origin.mjs";

const params = new URLSearchParams(location.search);
const QUICK = params.has("quick");
const localforage = window.localforage;
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const NS = "bench";
const USERS = QUICK ? 200 : 600;
const users = Array.from({ length: USERS }, (_, i) => `u${String(i).padStart(4, "0")}`);
const imageOf = (user) => `img-${user}`;
const BASE = {
  apiBase: "/images",
  batchEndpoint: "/images/batch",
  crossTab: false,
  namespace: NS,
  memory: { maxEntries: 2000 },
};

const result = {
  env: {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    quick: QUICK,
  },
  rows: [],
  notes: [],
  errors: [],
};

function progress(message) {
  const line = `[${(now() / 1000).toFixed(1)} s] ${message}`;
  window.__BENCH_PROGRESS__ = line;
  document.getElementById("log").textContent += `${line}\n`;
  console.log(line);
}

// ----- statistics ---------------------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Adds a row. `samplesMs` are per-operation times in ms, one per sample; figures are kept in µs.
 * `id` names the figure for the runner (targets, chart); `impl` is who did the work.
 */
function row(id, group, name, impl, samplesMs, how, extra = {}) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const r = {
    id,
    group,
    name,
    impl,
    p50Us: percentile(sorted, 0.5) * 1000,
    p95Us: percentile(sorted, 0.95) * 1000,
    meanUs: (sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)) * 1000,
    samples: sorted.length,
    how,
    ...extra,
  };
  result.rows.push(r);
  progress(`${id}: p50 ${fmt(r.p50Us)} p95 ${fmt(r.p95Us)} (${how})`);
  return r;
}

function fmt(us) {
  if (!Number.isFinite(us)) return "–";
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(1)} µs`;
  return `${(us / 1000).toFixed(2)} ms`;
}

/** Times `samples` batches of `ops` synchronous calls of `op(i)`; per-op ms per sample. */
function batchedSync(samples, ops, op) {
  let i = 0;
  for (let k = 0; k < Math.min(ops * 5, 5000); k++) op(i++); // warm-up
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t0 = now();
    for (let k = 0; k < ops; k++) op(i++);
    out.push((now() - t0) / ops);
  }
  return out;
}

/** The same for async operations, each awaited before the next starts. */
async function batchedAsync(samples, ops, op, warmup = Math.min(ops * 3, 300)) {
  let i = 0;
  for (let k = 0; k < warmup; k++) await op(i++);
  const out = [];
  for (let s = 0; s < samples; s++) {
    const t0 = now();
    for (let k = 0; k < ops; k++) await op(i++);
    out.push((now() - t0) / ops);
  }
  return out;
}

/** Times each of `count` awaited calls of `op(i)` on its own (for ms-scale operations). */
async function eachAsync(count, op, { gapMs = 0, from = 0 } = {}) {
  const out = [];
  for (let i = from; i < from + count; i++) {
    if (gapMs) await sleep(gapMs);
    const t0 = now();
    await op(i);
    out.push(now() - t0);
  }
  return out;
}

/** The smallest step performance.now() makes, in µs. */
function timerResolutionUs() {
  let min = Infinity;
  for (let k = 0; k < 50; k++) {
    const a = now();
    let b = now();
    while (b === a) b = now();
    min = Math.min(min, b - a);
  }
  return min * 1000;
}

// ----- storage helpers ------------------------------------------------------------------------------

const req = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
});

async function deleteEverything() {
  await deleteOriginStorage(["bench:avatar-cache", "bench-lru:avatar-cache", "bench-raw", "bench-raw-lru", "bench-keyval", "localforage"]);
}

function openRaw(name, upgrade) {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => upgrade(r.result);
  return req(r);
}

async function until(predicate, timeoutMs, what) {
  const end = now() + timeoutMs;
  while (!(await predicate())) {
    if (now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function control(body) {
  await fetch("/__control", { method: "POST", body: JSON.stringify(body) });
}

// ----- the scenarios --------------------------------------------------------------------------------

async function run() {
  progress(`${navigator.userAgent}; crossOriginIsolated=${globalThis.crossOriginIsolated}`);
  result.env.timerResolutionUs = timerResolutionUs();
  progress(`timer resolution ${result.env.timerResolutionUs.toFixed(1)} µs`);
  await deleteEverything();
  await control({ latencyMs: 0 });

  // First start-up in this browser profile: nothing cached, nothing compiled.
  const t0 = now();
  const pkg = await import("/pkg/index.js");
  const t1 = now();
  await pkg.ready();
  const t2 = now();
  const first = await pkg.AvatarCache.open({ ...BASE, namespace: "bench-first" });
  const t3 = now();
  first.close();
  result.startupFirst = { importMs: t1 - t0, instantiateMs: t2 - t1, openMs: t3 - t2, totalMs: t3 - t0 };
  progress(`first start-up: import ${(t1 - t0).toFixed(1)} ms, instantiate ${(t2 - t1).toFixed(1)} ms, open ${(t3 - t2).toFixed(1)} ms`);
  const { AvatarCache } = pkg;
  const open = (extra = {}) => AvatarCache.open({ ...BASE, ...extra });

  const steps = [
    ["populate", () => populate(open)],
    ["comparison stores", fillComparisonStores],
    ["hits", () => hits(open)],
    ["localStorage layer", () => localLayer(open)],
    ["prefetch", () => prefetch(open)],
    ["cold miss", () => coldMiss(open)],
    ["LRU eviction", () => eviction(open)],
    ["start-up", startup],
  ];
  // ?only=populate,hits runs the named steps; ?profile=hits brackets them with the profiler
  // hooks that profile.mjs exposes.
  const only = params.get("only")?.split(",");
  const profiled = params.get("profile")?.split(",") ?? [];
  for (const [name, step] of steps) {
    if (only && !only.includes(name)) continue;
    progress(`--- ${name}`);
    try {
      const profile = profiled.includes(name) && window.__benchProfile;
      if (profile) await window.__benchProfile("start");
      await step();
      if (profile) await window.__benchProfile("stop", name);
    } catch (e) {
      const message = `${name}: ${e?.stack ?? e}`;
      result.errors.push(message);
      progress(`ERROR ${message}`);
    }
  }
}

const blobs = new Map();

/** Every user goes through the network once (batch + downloads): localStorage and IndexedDB hold them. */
async function populate(open) {
  const cache = await open();
  const t0 = now();
  const report = await cache.prefetch(users);
  progress(`prefetch of ${USERS} new users: ${(now() - t0).toFixed(0)} ms, ${JSON.stringify(report)}`);
  await until(() => (cache.stats().idb?.entries ?? 0) >= USERS, 60_000, "IndexedDB writes");
  cache.close();
  // The same bytes for the other libraries.
  for (const user of users) {
    const r = await fetch(`/storage/avatars/${imageOf(user)}`);
    blobs.set(user, await r.blob());
  }
  const bytes = [...blobs.values()].reduce((a, b) => a + b.size, 0);
  result.env.dataSet = `${USERS} users, one PNG each (${Math.round(bytes / USERS)} bytes on average)`;
}

let rawDb;
const kvStore = kv.createStore("bench-keyval", "keyval");
let lf;

async function fillComparisonStores() {
  rawDb = await openRaw("bench-raw", (db) => {
    db.createObjectStore("images");
    db.createObjectStore("meta");
  });
  const tx = rawDb.transaction(["images", "meta"], "readwrite");
  for (const user of users) {
    const blob = blobs.get(user);
    tx.objectStore("images").put(blob, imageOf(user));
    tx.objectStore("meta").put({ imageId: imageOf(user), mime: "image/png", bytes: blob.size, etag: `"${imageOf(user)}"`, storedAt: Date.now(), lastAccess: Date.now(), version: 1 }, imageOf(user));
  }
  await done(tx);
  await kv.setMany(users.map((u) => [imageOf(u), blobs.get(u)]), kvStore);
  lf = localforage.createInstance({ name: "localforage", storeName: "bench", driver: localforage.INDEXEDDB });
  await lf.ready();
  for (const user of users) await lf.setItem(imageOf(user), blobs.get(user));
  result.env.localforageDriver = lf.driver();
}

/** IndexedDB-layer hits (a new instance: empty memory), then memory hits and peeks. */
async function hits(open) {
  const cache = await open();
  const warm = 20;
  const sources = {};
  for (let i = 0; i < warm; i++) await cache.get(users[i]);
  const idbSamples = await eachAsync(USERS - warm, async (i) => {
    const p = await cache.get(users[i]);
    sources[p.source] = (sources[p.source] ?? 0) + 1;
  }, { from: warm });
  row("hit.idb", "hit", "get: IndexedDB layer", "avatar-cache", idbSamples,
    "1 op/sample, each user once after a reload (record from localStorage, image from IndexedDB, object URL)",
    { sources });
  const raw = await eachAsync(USERS - warm, (i) => new Promise((resolve, reject) => {
    const r = rawDb.transaction("images", "readonly").objectStore("images").get(imageOf(users[i]));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  }), { from: warm });
  row("hit.idb.raw", "hit", "get: IndexedDB layer", "raw IndexedDB get", raw, "1 op/sample, one readonly transaction per get");
  const kvs = await eachAsync(USERS - warm, (i) => kv.get(imageOf(users[i]), kvStore), { from: warm });
  row("hit.idb.keyval", "hit", "get: IndexedDB layer", "idb-keyval get", kvs, "1 op/sample");
  const lfs = await eachAsync(USERS - warm, (i) => lf.getItem(imageOf(users[i])), { from: warm });
  row("hit.idb.localforage", "hit", "get: IndexedDB layer", "localForage getItem", lfs, "1 op/sample");
  // Where the layer's time goes: the same reads as avatar-cache's IndexedDB layer does them
  // (metadata + image from two stores in one transaction, answered on the transaction's
  // complete event), then an object URL.
  const commit = await eachAsync(USERS - warm, (i) => {
    const tx = rawDb.transaction("images", "readonly");
    const r = tx.objectStore("images").get(imageOf(users[i]));
    return done(tx).then(() => r.result);
  }, { from: warm });
  row("hit.idb.raw-commit", "hit", "get: IndexedDB layer", "raw get, answered on the transaction's complete event", commit, "1 op/sample (breakdown)");
  const withUrl = await eachAsync(USERS - warm, (i) => new Promise((resolve, reject) => {
    const r = rawDb.transaction("images", "readonly").objectStore("images").get(imageOf(users[i]));
    r.onsuccess = () => resolve(URL.revokeObjectURL(URL.createObjectURL(r.result)));
    r.onerror = () => reject(r.error);
  }), { from: warm });
  row("hit.idb.raw-url", "hit", "get: IndexedDB layer", "raw get + URL.createObjectURL (a hand-written cache's answer)", withUrl, "1 op/sample");
  const stored = await Promise.all(users.slice(0, 100).map((u) => kv.get(imageOf(u), kvStore)));
  const urlOnly = batchedSync(QUICK ? 20 : 60, 10, (i) => URL.revokeObjectURL(URL.createObjectURL(stored[i % stored.length])));
  row("hit.idb.url", "hit", "get: IndexedDB layer", "URL.createObjectURL + revoke alone", urlOnly, "10 ops/sample (breakdown)");
  const likeOurs = await eachAsync(USERS - warm, (i) => {
    const tx = rawDb.transaction(["meta", "images"], "readonly");
    tx.objectStore("meta").get(imageOf(users[i]));
    const r = tx.objectStore("images").get(imageOf(users[i]));
    return done(tx).then(() => URL.revokeObjectURL(URL.createObjectURL(r.result)));
  }, { from: warm });
  row("hit.idb.raw-like-ours", "hit", "get: IndexedDB layer", "raw meta + image gets on complete + object URL", likeOurs, "1 op/sample (breakdown: the layer's IndexedDB work in plain JS)");

  // Memory now holds every user.
  const S = QUICK ? 50 : 200;
  let peekMisses = 0;
  const peeks = batchedSync(S, 1000, (i) => {
    if (cache.peek(users[i % USERS]) === undefined) peekMisses++;
  });
  row("hit.peek", "hit", "peek (sync, memory)", "avatar-cache", peeks, "1000 ops/sample", { misses: peekMisses });
  const map = new Map(users.map((u) => [u, cache.peek(u)]));
  const maps = batchedSync(S, 10_000, (i) => map.get(users[i % USERS]));
  row("hit.peek.map", "hit", "peek (sync, memory)", "JS Map.get", maps, "10 000 ops/sample");

  const memSources = {};
  const gets = await batchedAsync(S, 100, async (i) => {
    const p = await cache.get(users[i % USERS]);
    memSources[p.source] = (memSources[p.source] ?? 0) + 1;
  });
  row("hit.memory", "hit", "get: memory layer", "avatar-cache", gets, "100 awaited ops/sample", { sources: memSources });
  const asyncMap = async (u) => map.get(u);
  const mapGets = await batchedAsync(S, 100, (i) => asyncMap(users[i % USERS]));
  row("hit.memory.map", "hit", "get: memory layer", "JS Map in an async get", mapGets, "100 awaited ops/sample");
  cache.close();
}

/** localStorage-layer hits: the record comes from localStorage, the image is in memory. */
async function localLayer(open) {
  // A memory TTL of 1 µs makes every memory record stale by the time it is read again, so each
  // get reads the record from localStorage while the image stays in memory.
  const cache = await open({ memory: { maxEntries: 2000, ttlMs: 0.001 } });
  for (const user of users) await cache.get(user); // images into memory (from IndexedDB)
  const sources = {};
  const ops = 10;
  const samples = QUICK ? 40 : 200;
  const out = [];
  let i = 0;
  for (let k = 0; k < 5 + samples; k++) {
    const t0 = now();
    for (let j = 0; j < ops; j++) {
      const p = await cache.get(users[i++ % USERS]);
      if (k >= 5) sources[p.source] = (sources[p.source] ?? 0) + 1;
    }
    if (k >= 5) out.push((now() - t0) / ops);
  }
  row("hit.local", "hit", "get: localStorage layer", "avatar-cache", out,
    `${ops} awaited ops/sample, each on another user (record from localStorage, image in memory)`, { sources });
  cache.close();

  const keys = [];
  for (let k = 0; k < localStorage.length; k++) {
    const key = localStorage.key(k);
    if (key.startsWith(`${NS}:local:`)) keys.push(key);
  }
  if (keys.length === 0) throw new Error("no localStorage records found");
  const raw = batchedSync(QUICK ? 50 : 200, 100, (n) => JSON.parse(localStorage.getItem(keys[n % keys.length])));
  row("hit.local.raw", "hit", "get: localStorage layer", "localStorage.getItem + JSON.parse", raw,
    `100 ops/sample on the same ${keys.length} records`);
}

/** prefetch of stored users after a reload (empty memory), then again (memory warm). */
async function prefetch(open) {
  for (const [n, trials] of [[100, QUICK ? 4 : 15], [500, QUICK ? 2 : 6]]) {
    if (n > USERS) continue;
    const cold = [];
    const warm = [];
    const reports = [];
    for (let t = 0; t < trials; t++) {
      const ids = Array.from({ length: n }, (_, k) => users[(t * 37 + k) % USERS]);
      const cache = await open();
      await sleep(20);
      let t0 = now();
      const report = await cache.prefetch(ids);
      cold.push(now() - t0);
      reports.push(report);
      t0 = now();
      await cache.prefetch(ids);
      warm.push(now() - t0);
      cache.close();
    }
    const fromIdb = reports.reduce((a, r) => a + r.indexeddb, 0);
    const network = reports.reduce((a, r) => a + r.network + r.apiCalls, 0);
    row(`prefetch.${n}`, `prefetch ${n}`, `prefetch ${n} stored users`, "avatar-cache (after reload)", cold,
      "1 prefetch/sample, a new instance each (memory empty)", { fromIdbShare: fromIdb / (n * trials), network });
    row(`prefetch.${n}.memory`, `prefetch ${n}`, `prefetch ${n} stored users`, "avatar-cache (memory warm)", warm,
      "1 prefetch/sample, the same users again");
    const keys = (t) => Array.from({ length: n }, (_, k) => imageOf(users[(t * 37 + k) % USERS]));
    const many = await eachAsync(trials, (t) => kv.getMany(keys(t), kvStore));
    row(`prefetch.${n}.keyval-many`, `prefetch ${n}`, `prefetch ${n} stored users`, "idb-keyval getMany", many, "1 call/sample (one transaction)");
    const each = await eachAsync(trials, (t) => Promise.all(keys(t).map((k) => kv.get(k, kvStore))));
    row(`prefetch.${n}.keyval`, `prefetch ${n}`, `prefetch ${n} stored users`, "idb-keyval get ×n (parallel)", each, "n concurrent gets/sample");
    const raw = await eachAsync(trials, (t) => {
      const tx = rawDb.transaction("images", "readonly");
      const store = tx.objectStore("images");
      const rs = keys(t).map((k) => store.get(k));
      return done(tx).then(() => rs.map((r) => r.result));
    });
    row(`prefetch.${n}.raw`, `prefetch ${n}`, `prefetch ${n} stored users`, "raw IndexedDB, one transaction", raw, "n gets in one readonly transaction/sample");
  }
}

/** A get for a never-seen user against the loopback backend with injected latency. */
async function coldMiss(open) {
  for (const latencyMs of [0, 20]) {
    await control({ latencyMs });
    const count = QUICK ? 10 : latencyMs ? 30 : 40;
    const cache = await open();
    const sources = {};
    const ours = await eachAsync(count, async (i) => {
      const p = await cache.get(`cold${latencyMs}-ours-${i}`);
      sources[p.source] = (sources[p.source] ?? 0) + 1;
    }, { gapMs: 10 });
    cache.close();
    row(`miss.${latencyMs}`, `miss ${latencyMs}`, `cold miss, backend +${latencyMs} ms`, "avatar-cache get", ours,
      "1 op/sample: API call + image download (+ IndexedDB probe and write-behind)", { sources });
    const bare = await eachAsync(count, async (i) => {
      const r = await fetch(`/images/user/cold${latencyMs}-bare-${i}`);
      const { url } = await r.json();
      const img = await fetch(url);
      URL.revokeObjectURL(URL.createObjectURL(await img.blob()));
    }, { gapMs: 10 });
    row(`miss.${latencyMs}.fetch`, `miss ${latencyMs}`, `cold miss, backend +${latencyMs} ms`, "bare fetch (API + image + object URL)", bare, "1 op/sample");
  }
  await control({ latencyMs: 0 });
}

/** Time to make room for one image in an IndexedDB layer holding 5 000 (its entry cap). */
async function eviction(open) {
  const CAP = QUICK ? 1000 : 5000;
  const MEASURED = QUICK ? 30 : 100;
  const blob = blobs.get(users[0]);
  let fetchCalledAt = 0;
  let evictions = 0;
  // setPicture stores the image (awaiting the IndexedDB write and its evictions), then asks the
  // backend for the image's URL: the injected fetch marks that moment and answers at once.
  const fetchStub = async (input) => {
    fetchCalledAt = now();
    const id = decodeURIComponent(String(input).split("/").pop());
    return new Response(JSON.stringify({ success: true, image_id: id, url: `${location.origin}/storage/avatars/${id}?X-Amz-Date=20300101T000000Z&X-Amz-Expires=3600` }), {
      headers: { "Content-Type": "application/json" },
    });
  };
  const cache = await open({
    namespace: "bench-lru",
    memory: { maxEntries: 100 },
    idb: { maxEntries: CAP, maxBytes: 1 << 30 },
    fetch: fetchStub,
    onEvent: (e) => { if (e.type === "evict" && e.layer === "indexeddb") evictions++; },
  });
  const put = (i) => cache.setPicture(`lru-u${i}`, `lru-img-${i}`, blob);
  const fillTo = CAP - MEASURED;
  const tFill = now();
  for (let i = 0; i < fillTo; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, fillTo - i) }, (_, k) => put(i + k)));
  }
  progress(`filled ${fillTo} entries in ${((now() - tFill) / 1000).toFixed(1)} s`);
  const timed = async (i) => {
    const t0 = now();
    await put(i);
    return fetchCalledAt - t0;
  };
  const below = [];
  for (let i = fillTo; i < CAP; i++) below.push(await timed(i));
  const evictionsBefore = evictions;
  const full = [];
  for (let i = CAP; i < CAP + MEASURED; i++) full.push(await timed(i));
  const entries = cache.stats().idb?.entries;
  cache.close();
  row("lru.put", "lru", `store one image below the cap (${CAP - MEASURED}–${CAP} stored)`, "avatar-cache setPicture", below,
    "1 op/sample: object URL + IndexedDB write, below the cap");
  row("lru.evict", "lru", `store one image at the cap (${CAP} stored): one eviction`, "avatar-cache setPicture", full,
    "1 op/sample: the same plus one LRU victim deleted in the write's transaction",
    { evictions: evictions - evictionsBefore, entriesAfter: entries });

  // A hand-written LRU: lastAccess index, delete the oldest through a cursor in the same transaction.
  const db = await openRaw("bench-raw-lru", (d) => d.createObjectStore("images").createIndex("lastAccess", "lastAccess"));
  let tx = db.transaction("images", "readwrite");
  for (let i = 0; i < fillTo; i++) tx.objectStore("images").put({ blob, lastAccess: i }, `lru-img-${i}`);
  await done(tx);
  const rawPut = (i, evict) => {
    const t = db.transaction("images", "readwrite");
    const store = t.objectStore("images");
    if (evict) {
      store.index("lastAccess").openCursor().onsuccess = (e) => e.target.result?.delete();
    }
    store.put({ blob, lastAccess: i }, `lru-img-${i}`);
    return done(t);
  };
  const rawBelow = await eachAsync(MEASURED, (k) => rawPut(fillTo + k, false));
  const rawFull = await eachAsync(MEASURED, (k) => rawPut(CAP + k, true));
  db.close();
  row("lru.raw.put", "lru", `store one image below the cap (${CAP - MEASURED}–${CAP} stored)`, "raw IndexedDB put", rawBelow, "1 op/sample");
  row("lru.raw.evict", "lru", `store one image at the cap (${CAP} stored): one eviction`, "raw put + cursor delete of the oldest", rawFull, "1 op/sample");
}

/**
 * Start-up in a fresh realm (an iframe per sample; HTTP cache warm), split into its phases:
 * import of the JS glue, instantiate (the .wasm fetched, compiled and instantiated), open. Then
 * the compile alone: WebAssembly.compile of the bytes already in memory.
 */
async function startup() {
  const count = QUICK ? 5 : 15;
  const once = (ns, mode = "phases") => new Promise((resolve, reject) => {
    const frame = document.createElement("iframe");
    const onMessage = (e) => {
      if (e.source !== frame.contentWindow || !e.data?.startup) return;
      window.removeEventListener("message", onMessage);
      frame.remove();
      e.data.error ? reject(new Error(e.data.error)) : resolve(e.data);
    };
    window.addEventListener("message", onMessage);
    frame.src = `/startup.html?ns=${encodeURIComponent(ns)}&mode=${mode}`;
    document.body.append(frame);
  });
  // A first visit opens a new database; a return visit opens the one holding the data set.
  for (const [label, nsOf] of [["first visit: new database", (i) => `bench-start-${i}`], [`return visit: ${USERS} stored`, () => NS]]) {
    const runs = [];
    await once(nsOf(-1)); // warm-up
    for (let i = 0; i < count; i++) runs.push(await once(nsOf(i)));
    const key = label.startsWith("first") ? "empty" : "stored";
    row(`startup.import.${key}`, "startup", `start-up: import of the JS glue (${label})`, "avatar-cache", runs.map((r) => r.importMs),
      "1 iframe/sample: import() of the package's JS (HTTP cache warm)");
    row(`startup.instantiate.${key}`, "startup", `start-up: instantiate (${label})`, "avatar-cache", runs.map((r) => r.instantiateMs),
      "1 iframe/sample: ready(): fetch, compile and instantiate the .wasm (HTTP cache warm)");
    row(`startup.open.${key}`, "startup", `start-up: open (${label})`, "avatar-cache", runs.map((r) => r.openMs),
      `1 iframe/sample: AvatarCache.open after ready() (IndexedDB: ${runs[0].entries ?? "none"} entries)`);
    row(`startup.instantiate-open.${key}`, "startup", `start-up: instantiate + open (${label})`, "avatar-cache", runs.map((r) => r.instantiateMs + r.openMs),
      "1 iframe/sample: the two rows above, summed per sample");
    row(`startup.total.${key}`, "startup", `start-up: import + instantiate + open (${label})`, "avatar-cache", runs.map((r) => r.totalMs),
      "1 iframe/sample");
    // As an app calls it: open() right after the import, the database opening while the
    // module compiles (the phases above are timed apart, one after the other).
    const direct = [];
    for (let i = 0; i < count; i++) direct.push(await once(nsOf(count + i), "direct"));
    row(`startup.direct.${key}`, "startup", `start-up: instantiate + open, open() called at once (${label})`, "avatar-cache",
      direct.map((r) => r.instantiateMs + r.openMs), "1 iframe/sample: AvatarCache.open() right after import(): compile and database open in parallel");
  }
  // The compile alone. Engines keep compiled modules by their bytes (V8 in the process, Firefox
  // in its cache), so each sample compiles a copy made unique by a custom section at its end.
  const bytes = new Uint8Array(await (await fetch("/pkg/avatar_cache_bg.wasm")).arrayBuffer());
  const unique = (i) => {
    const name = new TextEncoder().encode(`bench-compile-${i}-${Math.random().toString(36).slice(2, 10)}`);
    const out = new Uint8Array(bytes.length + 3 + name.length);
    out.set(bytes);
    out.set([0, 1 + name.length, name.length], bytes.length);
    out.set(name, bytes.length + 3);
    return out;
  };
  await WebAssembly.compile(unique(-1));
  const copies = Array.from({ length: count }, (_, i) => unique(i));
  const compiles = await eachAsync(count, (i) => WebAssembly.compile(copies[i]));
  row("startup.compile", "startup", "start-up: WebAssembly.compile of the .wasm bytes alone", "avatar-cache", compiles,
    `1 compile/sample of the ${bytes.length}-byte module already in memory, each copy made unique (no engine cache)`);
}

run()
  .catch((e) => result.errors.push(String(e?.stack ?? e)))
  .finally(() => {
    progress("done");
    window.__BENCH_RESULT__ = JSON.stringify(result);
  });

// The previews of issue 15, one page load per visit (the runner, ../previews.mjs, navigates):
// what the first frame after a reload shows, and what previews cost.
//
//   previews.html?phase=warm&hashes=N   the warm-up visit: deletes this origin's storage, lets the
//                                       cache store 100 users (records in localStorage, images in
//                                       IndexedDB, a ThumbHash in both), then downloads N fresh
//                                       128×128 avatars one after the other and times each from
//                                       the answer to its preview being ready (decode at small
//                                       size + hash, behind the answer)
//   previews.html?phase=measure         one reload (memory empty): import → AvatarCache.open →
//                                       in the same task, for each of the 100 users, what a
//                                       component's first frame shows (peek's picture, else
//                                       placeholder's preview, else nothing) as an <img>; then
//                                       what the first frame holds, and what the calls cost
//
// The visit's figures are posted to the bench server (/__result?visit=K) and kept in
// window.__PREVIEWS_RESULT__ (JSON).

import { deleteOriginStorage } from "./origin.mjs";

const params = new URLSearchParams(location.search);
const phase = params.get("phase") ?? "measure";
const USERS = Number(params.get("users") ?? 100);
const HASHES = Number(params.get("hashes") ?? 30);
const NS = "previews";
const ids = Array.from({ length: USERS }, (_, i) => `pv${String(i).padStart(3, "0")}`);
const CONFIG = { apiBase: "/images", batchEndpoint: "/images/batch", namespace: NS };
const PREVIEW = "data:image/png;base64,";
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Resolves after one task: lets decodes, timers and IndexedDB events run. */
const tick = () => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve();
  channel.port2.postMessage(0);
});
/** Resolves (to the time) once the frame after now has been rendered. */
const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve(now());
  channel.port2.postMessage(0);
}));

function progress(message) {
  const line = `[${(now() / 1000).toFixed(2)} s] previews ${phase}: ${message}`;
  window.__BENCH_PROGRESS__ = line;
  document.getElementById("log").textContent += `${line}\n`;
}

const req = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

/** The cache's IndexedDB rows that carry a hash, read through a connection of our own. */
async function rowsWithHash() {
  const db = await req(indexedDB.open(`${NS}:avatar-cache`));
  try {
    if (!db.objectStoreNames.contains("meta")) return 0;
    const rows = await req(db.transaction("meta", "readonly").objectStore("meta").getAll());
    return rows.filter((r) => r && typeof r.thumbhash === "string").length;
  } finally {
    db.close();
  }
}

async function waitFor(what, ms, condition) {
  const end = now() + ms;
  while (!(await condition())) {
    if (now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ----- the warm-up visit --------------------------------------------------------------------------

async function warm() {
  await deleteOriginStorage([`${NS}:avatar-cache`]);
  const { AvatarCache } = await import("/pkg/index.js");
  // The cache's own figure for each preview: its "preview" event, from the start of the decode
  // at small size to the hash kept (also in the Performance panel as `avatar-cache preview`).
  const previewEvents = new Map();
  const cache = await AvatarCache.open({
    ...CONFIG,
    onEvent: (e) => e.type === "preview" && previewEvents.set(e.userId, e.ms),
  });
  await cache.prefetch(ids);
  await Promise.all(ids.map((u) => cache.get(u)));
  // Hashes land behind the answers: in the records, then in the image rows.
  await waitFor("a preview for every user", 60_000, () => ids.every((u) => cache.placeholder(u)));
  await waitFor("a hash in every image row", 60_000, async () => (await rowsWithHash()) >= USERS);
  progress(`stored ${USERS} users with their previews`);

  // Hashing a download: each avatar is new (its own image id, 128×128), fetched by a get; the
  // get answers as soon as the bytes are in, and the preview is ready once they were decoded at
  // small size and hashed. Polled once a task.
  const hashMs = [];
  const eventMs = [];
  const run = Date.now().toString(36);
  for (let i = 0; i < HASHES; i++) {
    const user = `p128-${run}-${i}`;
    const picture = await cache.get(user);
    if (picture.source !== "network") throw new Error(`${user}: answered from ${picture.source}`);
    const t0 = now();
    while (!cache.placeholder(user)) {
      if (now() - t0 > 5_000) throw new Error(`${user}: no preview within 5 s`);
      await tick();
    }
    hashMs.push(now() - t0);
    if (previewEvents.has(user)) eventMs.push(previewEvents.get(user));
  }
  // The browser's share of it, the same bytes again: createImageBitmap alone (in Chromium the
  // Blob is read and decoded off the main thread), then the whole decode at small size as the
  // crate does it (src/layers/thumbnail.rs: the bitmap drawn on an OffscreenCanvas of at most
  // 32 px, read back with getImageData); what is left of the figure above is the hash (Rust),
  // the record's write and the wait for the next task.
  const bitmapMs = [];
  const decodeSmallMs = [];
  for (let i = 0; i < Math.min(HASHES, 20); i++) {
    const blob = await (await fetch(`/storage/avatars/img-p128-${run}-${i}`)).blob();
    let t0 = now();
    (await createImageBitmap(blob)).close();
    bitmapMs.push(now() - t0);
    t0 = now();
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const side = 32;
    const [w, h] = bitmap.width >= bitmap.height
      ? [side, Math.max(1, Math.round((side * bitmap.height) / bitmap.width))]
      : [Math.max(1, Math.round((side * bitmap.width) / bitmap.height)), side];
    const context = new OffscreenCanvas(w, h).getContext("2d");
    context.drawImage(bitmap, 0, 0, w, h);
    context.getImageData(0, 0, w, h);
    bitmap.close();
    decodeSmallMs.push(now() - t0);
  }
  const width = await new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img.naturalWidth);
    img.onerror = () => resolve(0);
    img.src = `/storage/avatars/img-p128-${run}-0`;
  });
  cache.close();
  progress(`hashed ${HASHES} downloads of ${width} px`);
  return { hashMs, eventMs, bitmapMs, decodeSmallMs, hashedSide: width, rowsWithHash: await rowsWithHash() };
}

// ----- one measured reload -------------------------------------------------------------------------

async function measure() {
  const tA = now();
  const { AvatarCache } = await import("/pkg/index.js");
  const cache = await AvatarCache.open(CONFIG);
  const tOpen = now();
  // The same task as open's answer, as a component's first render is: peek, else placeholder.
  const shown = new Array(USERS);
  const firstOf = (u) => cache.peek(u)?.url ?? cache.placeholder(u) ?? "";
  const t0 = now();
  shown[0] = firstOf(ids[0]); // also reads the records localStorage holds, once
  const t1 = now();
  for (let i = 1; i < USERS; i++) shown[i] = firstOf(ids[i]);
  const t2 = now();
  for (let i = 0; i < USERS; i++) firstOf(ids[i]); // rendered URLs are kept
  const t3 = now();
  const list = document.createElement("div");
  list.className = "avatars";
  for (const src of shown) {
    const img = document.createElement("img");
    img.width = 32;
    img.height = 32;
    if (src) img.src = src;
    list.append(img);
  }
  document.body.append(list);
  // The first frame with the list: what each <img> holds when it is rendered, and how many of
  // the previews are decoded by the time that frame is on screen.
  const atFrame = await new Promise((resolve) => requestAnimationFrame(() => {
    const imgs = [...list.querySelectorAll("img")];
    resolve({
      atMs: now() - tOpen,
      previews: imgs.filter((i) => i.src.startsWith(PREVIEW)).length,
      pictures: imgs.filter((i) => i.src.startsWith("blob:")).length,
    });
  }));
  await afterPaint();
  const decoded = [...list.querySelectorAll("img")].filter((i) => i.complete && i.naturalWidth > 0).length;
  const lengths = shown.filter((s) => s.startsWith(PREVIEW)).map((s) => s.length);
  cache.close();
  const out = {
    importOpenMs: tOpen - tA,
    firstCallUs: (t1 - t0) * 1000,
    renderUs: ((t2 - t1) * 1000) / (USERS - 1),
    keptUs: ((t3 - t2) * 1000) / USERS,
    firstFrame: { ...atFrame, neither: USERS - atFrame.previews - atFrame.pictures, decodedWhenPainted: decoded },
    urlChars: lengths.length ? Math.round(lengths.reduce((a, b) => a + b, 0) / lengths.length) : 0,
  };
  progress(`first frame: ${atFrame.previews} previews, ${atFrame.pictures} pictures; placeholder ${out.renderUs.toFixed(1)} µs a call`);
  return out;
}

(phase === "warm" ? warm() : measure())
  .then((r) => ({ phase, users: USERS, ...r }))
  .catch((e) => ({ phase, error: String(e?.stack ?? e) }))
  .then((r) => {
    if (r.error) progress(`ERROR ${r.error}`);
    window.__PREVIEWS_RESULT__ = JSON.stringify(r);
    const visit = params.get("visit");
    if (visit) fetch(`/__result?visit=${encodeURIComponent(visit)}`, { method: "POST", body: window.__PREVIEWS_RESULT__ });
  });

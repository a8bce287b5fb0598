// The Service Worker layer (avatar-cache/sw): plain <img src="/avatar/{id}"> elements answered by
// the app's module service worker from the same store as the pages. A visit after the first is
// a navigation to the same URL, not a reload: Firefox's WebDriver refresh loads the page without
// its service worker (controller null), as a forced reload does.
import { expect, FRIEND_IDS, namespaceFor, picturesReady, test, tid } from "./helpers";

const PLAIN = '[data-testid="plain-avatars"] img';

async function plainReady(page: { evaluate: <R, A>(fn: (a: A) => R | Promise<R>, arg: A) => Promise<R> }, count: number) {
  return page.evaluate(async ({ sel, count }) => {
    const deadline = performance.now() + 20_000;
    for (;;) {
      const imgs = [...document.querySelectorAll<HTMLImageElement>(sel)];
      if (imgs.length >= count && imgs.every((i) => i.complete)) return imgs.map((i) => i.naturalWidth);
      if (performance.now() > deadline) throw new Error(`plain avatars not ready: ${imgs.length}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }, { sel: PLAIN, count });
}

async function controlled(page: { evaluate: <R, A>(fn: (a: A) => R | Promise<R>, arg: A) => Promise<R> }) {
  return page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    for (let i = 0; i < 200 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 25));
    return Boolean(navigator.serviceWorker.controller);
  }, undefined);
}

test.beforeEach(async ({ backend }) => {
  await backend.control({ latencyMs: 0, storageLatencyMs: 0, jitterMs: 0, failRate: 0, offline: false });
  await backend.reset();
});

test("with the worker active, a plain <img> of a stored avatar makes no request, with a fresh signature too", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  await page.goto(`/?ns=${ns}`);
  expect(await controlled(page)).toBe(true);
  await page.goto(`/?ns=${ns}`); // now every /avatar/{id} goes through the worker
  const widths = await plainReady(page, 12);
  expect(widths.every((w) => w > 0)).toBe(true);
  // Presigned URLs signed again from now on: a fresh signature must not matter.
  await backend.control({ urlLifetimeSec: 1800 });
  await backend.reset();
  const started = Date.now();
  await page.goto(`/?ns=${ns}`);
  await plainReady(page, 12);
  const warm = await backend.stats();
  testInfo.annotations.push({ type: "figure", description: `worker-served reload of 12 plain avatars: ${Date.now() - started} ms` });
  expect((warm.api as Record<string, number>).avatar ?? 0).toBe(0);
  // (The React list beside it may still fetch pictures of users it had not seen: not counted here.)
  const sources = await page.evaluate(async (sel) => {
    const ids = [...document.querySelectorAll<HTMLImageElement>(sel)].map((i) => i.dataset.plainUser!);
    return Promise.all(ids.map(async (id) => (await fetch(`/avatar/${id}`)).headers.get("x-avatar-cache")));
  }, PLAIN);
  expect(sources.length).toBe(12);
  // "default": a seeded user without a picture (the default picture is kept by the worker too).
  for (const s of sources) expect(["memory", "local", "indexeddb", "default"]).toContain(s);
  expect(sources.filter((s) => s !== "default").length).toBeGreaterThan(6);
  testInfo.annotations.push({ type: "figure", description: `storage requests during the warm reload (whole page): ${warm.images.requests}` });
});

test("offline, stored avatars render and unseen ones show the default picture", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  await page.goto(`/?ns=${ns}`);
  expect(await controlled(page)).toBe(true);
  await page.goto(`/?ns=${ns}`);
  await plainReady(page, 12);
  await backend.control({ offline: true });
  const answers = await page.evaluate(async () => {
    const out: Record<string, string | null> = {};
    for (const id of ["2", "3", "99999"]) {
      const r = await fetch(`/avatar/${id}`);
      out[id] = `${r.status} ${r.headers.get("x-avatar-cache")} ${r.headers.get("content-type")}`;
    }
    return out;
  }, undefined);
  expect(answers["2"]).toMatch(/^200 (memory|local|indexeddb) image\//);
  expect(answers["3"]).toMatch(/^200 (memory|local|indexeddb) image\//);
  expect(answers["99999"]).toMatch(/^200 default image\//);
  await backend.control({ offline: false });
});

test("an upload in one tab: the worker serves the new picture to the next <img>", async ({ session }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const a = await session.newTab();
  await a.goto(`/?ns=${ns}`);
  expect(await controlled(a)).toBe(true);
  await a.goto(`/?ns=${ns}`);
  await plainReady(a, 12);
  const before = await a.evaluate(async () => (await (await fetch("/avatar/2")).arrayBuffer()).byteLength, undefined);
  // Upload as the app does, then tell the cache (setPicture) in this tab.
  const uploaded = await a.evaluate(async () => {
    const canvas = new OffscreenCanvas(33, 33);
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#0a8";
    ctx.fillRect(0, 0, 33, 33);
    const blob = await canvas.convertToBlob({ type: "image/png" });
    const r = await fetch("/images/upload?userId=2", { method: "POST", body: blob, headers: { "Content-Type": "image/png" } });
    const { image_id } = await r.json();
    await window.orbitCache!.setPicture("2", image_id, blob);
    return blob.size;
  }, undefined);
  const b = await session.newTab();
  await b.goto(`/?ns=${ns}`);
  expect(await controlled(b)).toBe(true);
  const width = await b.evaluate(async () => {
    const img = new Image();
    img.src = "/avatar/2";
    await img.decode();
    return img.naturalWidth;
  }, undefined);
  expect(width).toBe(33);
  const after = await b.evaluate(async () => (await (await fetch("/avatar/2")).arrayBuffer()).byteLength, undefined);
  expect(after).toBe(uploaded);
  expect(after).not.toBe(before);
});

test("a page of 50 plain <img>s of unseen users costs the worker one batch call, not one call per image", async ({ session, backend, engine }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  await page.goto(`/?ns=${ns}`);
  expect(await controlled(page)).toBe(true);
  await page.goto(`/?ns=${ns}`);
  await plainReady(page, 12);
  await backend.reset();
  // Users 300–349: in no list of the app, so only the worker asks about them.
  const ids = Array.from({ length: 50 }, (_, i) => String(300 + i));
  const widths = await page.evaluate(async (ids) => {
    const box = document.createElement("div");
    box.innerHTML = ids.map((id) => `<img src="/avatar/${id}" width="24" height="24" data-batch-user="${id}">`).join("");
    document.body.append(box);
    const imgs = [...box.querySelectorAll("img")];
    await Promise.all(imgs.map((i) => i.decode().catch(() => undefined)));
    return imgs.map((i) => i.naturalWidth);
  }, ids);
  expect(widths.every((w) => w > 0)).toBe(true);
  const stats = await backend.stats();
  const batches = stats.batches.filter((b) => b.some((id) => ids.includes(id)));
  const inBatches = batches.flat().filter((id) => ids.includes(id)).length;
  testInfo.annotations.push({ type: "figure", description: `50 plain <img>s: ${batches.length} batch calls for ${inBatches} of them (${batches.map((b) => b.length).join(" + ")} ids), ${50 - inBatches} single calls` });
  // Firefox sometimes sends the first few fetch events well ahead of the rest (3 + 47 ids, 9 + 41
  // measured): a second call there; Chromium's arrive within the worker's window.
  expect(batches.length, "batch calls asking about the 50").toBeLessThanOrEqual(engine === "chromium" ? 1 : 2);
  expect(inBatches, "users asked in the batch call").toBeGreaterThanOrEqual(48);
  for (const id of ids) expect(stats.apiByUser[id] ?? 0, `API calls for user ${id}`).toBe(1);
});

test("the worker knows what the pages fetched: over a first visit and the next, no user is asked for twice", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  // The first visit: the app's lists ask the API through the page's cache while the worker
  // installs; the plain <img>s are answered by the server's redirect (no worker yet).
  await page.goto(`/?ns=${ns}`);
  expect(await controlled(page)).toBe(true);
  await plainReady(page, 12);
  await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await picturesReady(page, tid("me"), 1);
  // The next: the worker answers the plain <img>s, from the records the page handed it.
  await page.goto(`/?ns=${ns}`);
  await plainReady(page, 12);
  const stats = await backend.stats();
  const twice = Object.entries(stats.apiByUser).filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}`);
  testInfo.annotations.push({ type: "figure", description: `first visit and the next, pages and worker: ${Object.keys(stats.apiByUser).length} users asked, ${twice.length} of them more than once (${twice.join(" ") || "none"})` });
  expect(twice, "users the API was asked about more than once").toEqual([]);
});

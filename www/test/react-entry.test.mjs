// Unit tests of avatar-cache/react (react/index.js) on the server, and of avatar-cache/testing
// (testing/index.js): what the server renders (the fallback, without touching the cache) and how
// the stand-in answers. Client rendering (first frame from peek, the get a miss starts, the layer
// that answered, hydration) is tested in a browser-like DOM by apps/vite (Vitest + jsdom).
//   node --test test/
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import { createElement } from "react";
import { renderToString } from "react-dom/server";

// react/ has no node_modules of its own: load the entry from inside www/ so `import "react"`
// resolves to this app's React.
const here = dirname(fileURLToPath(import.meta.url));
const copy = join(here, "..", "node_modules", ".avatar-cache-react-entry", "index.mjs");
mkdirSync(dirname(copy), { recursive: true });
copyFileSync(join(here, "..", "..", "react", "index.js"), copy);
const { AvatarCacheProvider, ProfilePicture, useProfilePicture, setDefaultCache, DEFAULT_PICTURE_URL } = await import(
  pathToFileURL(copy).href
);
const { FakeAvatarCache } = await import(pathToFileURL(join(here, "..", "..", "testing", "index.js")).href);

function fakeCache(pictures = {}) {
  const calls = { peek: 0, get: [], subscribe: 0 };
  return {
    calls,
    peek(userId) {
      calls.peek++;
      const p = pictures[userId];
      return p ? { ...p } : undefined;
    },
    get(userId, imageId) {
      calls.get.push([userId, imageId]);
      return new Promise(() => {});
    },
    subscribe() {
      calls.subscribe++;
      return () => {};
    },
  };
}

const pick = (p) => p && { imageId: p.imageId, url: p.url, source: p.source };
const pic = (userId, url, extra = {}) => ({ userId, imageId: `img-${userId}`, url, source: "memory", stale: false, loadMs: 0, ...extra });
const render = (cache, props, providerProps = {}) =>
  renderToString(createElement(AvatarCacheProvider, { cache, ...providerProps }, createElement(ProfilePicture, props)));

test("the server renders the fallback and never reads the cache, even for a picture the cache holds", () => {
  const cache = fakeCache({ 42: pic("42", "blob:http://app/abc") });
  const html = render(cache, { userId: "42", size: 48, emoji: "🙂" });
  assert.match(html, /🙂/);
  assert.match(html, /data-avatar-state="fallback"/);
  assert.doesNotMatch(html, /blob:|aria-busy|data-avatar-source/);
  assert.equal(cache.calls.peek, 0);
  assert.equal(cache.calls.get.length, 0);
  assert.equal(cache.calls.subscribe, 0);
});

test("without emoji the server renders the provider's default picture, else the built-in one", () => {
  const cache = fakeCache();
  assert.match(render(cache, { userId: "7" }, { defaultImageUrl: "/images/default_pfp.png" }), /src="\/images\/default_pfp.png"/);
  const builtIn = render(cache, { userId: "7" });
  assert.ok(builtIn.includes(`src="${DEFAULT_PICTURE_URL.replace(/&/g, "&amp;")}"`) || builtIn.includes('src="data:image/svg+xml'));
});

test("a provider given a promise or a config renders fallbacks on the server without opening anything", () => {
  let thenCalls = 0;
  const promise = { then: () => void thenCalls++ };
  assert.match(render(promise, { userId: "1", emoji: "🙂" }), /data-avatar-state="fallback"/);
  const html = renderToString(
    createElement(AvatarCacheProvider, { config: { namespace: "ssr" } }, createElement(ProfilePicture, { userId: "1", emoji: "🙂" })),
  );
  assert.match(html, /data-avatar-state="fallback"/);
  assert.equal(thenCalls, 0, "effects do not run during a server render");
});

test("setDefaultCache is not read on the server either", () => {
  setDefaultCache(fakeCache({ 1: pic("1", "blob:x") }));
  try {
    assert.doesNotMatch(renderToString(createElement(ProfilePicture, { userId: "1" })), /blob:x/);
  } finally {
    setDefaultCache(null);
  }
});

test("the hook on the server: nothing known, not loading", () => {
  const cache = fakeCache({ 5: pic("5", "blob:five") });
  const seen = [];
  function Probe() {
    seen.push(useProfilePicture("5"));
    return null;
  }
  renderToString(createElement(AvatarCacheProvider, { cache }, createElement(Probe)));
  assert.deepEqual(seen.map(({ url, source, loading }) => ({ url, source, loading })), [{ url: undefined, source: undefined, loading: false }]);
});

test("the emoji is centred: its span is a flex box whatever the caller's display", () => {
  const style = (html) => /style="([^"]*)"/.exec(html)[1];
  assert.match(style(render(fakeCache(), { userId: "1", emoji: "🙂" })), /display:inline-flex;align-items:center;justify-content:center/);
  assert.match(style(render(fakeCache(), { userId: "1", emoji: "🙂", style: { display: "block" } })), /display:flex;align-items:center/);
  assert.match(style(render(fakeCache(), { userId: "1" })), /display:inline-block/);
});

// --- avatar-cache/testing ---------------------------------------------------------------------

test("FakeAvatarCache: network answer, then memory; peek after the get", async () => {
  const cache = new FakeAvatarCache({ pictures: { 1: "https://cdn.test/1.png" } });
  assert.equal(cache.peek("1"), undefined);
  const first = await cache.get("1");
  assert.deepEqual({ url: first.url, source: first.source }, { url: "https://cdn.test/1.png", source: "network" });
  assert.equal((await cache.get("1")).source, "memory");
  assert.equal(cache.peek("1").source, "memory");
  assert.deepEqual(cache.calls.get, [["1"], ["1"]]);
  const stats = cache.stats();
  assert.equal(stats.gets, 2);
  assert.equal(stats.hitRate, 0.5);
});

test("FakeAvatarCache: unknown users and users without a picture get the default", async () => {
  const cache = new FakeAvatarCache({ config: { apiBase: "/api/img/" }, pictures: { 2: null } });
  // The backend said "no picture": a network answer, kept in memory like the real cache's record.
  const none = await cache.get("2");
  assert.deepEqual({ url: none.url, source: none.source, imageId: none.imageId }, { url: "/api/img/default_pfp.png", source: "network", imageId: null });
  // Never answered: the default picture, as after a failed request.
  const unknown = await cache.get("3");
  assert.deepEqual({ url: unknown.url, source: unknown.source, imageId: unknown.imageId }, { url: "/api/img/default_pfp.png", source: "default", imageId: null });
});

test("FakeAvatarCache: a user without a picture stays in memory, as the real cache keeps its record", async () => {
  const cache = new FakeAvatarCache({ defaultImageUrl: "/d.png", pictures: { a: null }, seen: { b: "blob:fake/b" } });
  await cache.get("a");
  assert.deepEqual(pick(cache.peek("a")), { imageId: null, url: "/d.png", source: "memory" });
  assert.deepEqual(pick(await cache.get("a")), { imageId: null, url: "/d.png", source: "memory" });

  await cache.setPicture("b", null);
  assert.deepEqual(pick(cache.peek("b")), { imageId: null, url: "/d.png", source: "memory" });
  assert.deepEqual(pick(await cache.get("b")), { imageId: null, url: "/d.png", source: "memory" });
  assert.equal(cache.stats().objectUrls, 0, "the default URL is not an object URL");
  const report = await cache.prefetch(["a", "b"]);
  assert.deepEqual({ memory: report.memory, defaulted: report.defaulted, apiCalls: report.apiCalls }, { memory: 0, defaulted: 2, apiCalls: 0 });
});

test("FakeAvatarCache: setPicture takes null for no picture and refuses a left-out image id", async () => {
  const cache = new FakeAvatarCache({ seen: { a: "blob:fake/a" } });
  for (const args of [["a"], ["a", undefined], ["a", ""], ["a", 7]]) {
    await assert.rejects(cache.setPicture(...args), (e) => e.name === "AvatarCacheError" && e.code === "INVALID_ARGUMENT");
  }
  assert.equal(cache.peek("a").url, "blob:fake/a", "a refused call changes nothing");
  await cache.setPicture("a", null);
  assert.equal(cache.peek("a").imageId, null);
});

test("FakeAvatarCache: peek returns the same object while the picture is unchanged", async () => {
  const cache = new FakeAvatarCache({ seen: { 1: "blob:fake/1" }, pictures: { 2: "blob:fake/2" } });
  const first = cache.peek("1");
  assert.equal(cache.peek("1"), first);
  await cache.get("1");
  assert.equal(cache.peek("1"), first, "a get answered from memory changes nothing");
  await cache.setPicture("1", "img-new");
  const updated = cache.peek("1");
  assert.notEqual(updated, first);
  assert.equal(updated.url, "blob:fake/img-new");
  assert.equal(cache.peek("1"), updated);
  await cache.get("2");
  assert.equal(cache.peek("2"), cache.peek("2"));
  await cache.invalidate("1");
  assert.equal(cache.peek("1"), undefined);
});

test("FakeAvatarCache: prefetch removes duplicate ids and counts API calls as the real cache does", async () => {
  const answers = { pictures: { a: "blob:fake/a", b: "blob:fake/b", c: null } };
  // No batch endpoint: one call per user not in memory.
  const single = new FakeAvatarCache(answers);
  const report = await single.prefetch(["a", "b", "c", "a"]);
  assert.deepEqual(report, { requested: 3, memory: 0, local: 0, indexeddb: 0, network: 2, defaulted: 1, apiCalls: 3, downloads: 2 });
  assert.equal(single.stats().apiCalls, 3);
  assert.deepEqual(await single.prefetch(["a", "a"]), { requested: 1, memory: 1, local: 0, indexeddb: 0, network: 0, defaulted: 0, apiCalls: 0, downloads: 0 });
  assert.equal(single.stats().apiCalls, 3);

  // A batch endpoint: one call per `batch.maxIds` users (100 by default).
  const batched = new FakeAvatarCache({ ...answers, config: { batchEndpoint: "/images/batch" } });
  assert.equal((await batched.prefetch(["a", "b", "c", "a", "d"])).apiCalls, 1);
  assert.equal(batched.stats().apiCalls, 1);
  const small = new FakeAvatarCache({ ...answers, config: { batchEndpoint: "/images/batch", batch: { maxIds: 2 } } });
  assert.equal((await small.prefetch(["a", "b", "c"])).apiCalls, 2);
  assert.equal(small.stats().apiCalls, 2);
});

test("FakeAvatarCache: a closed cache rejects nothing, like the real one", async () => {
  const cache = new FakeAvatarCache({ pictures: { 1: "u1" }, seen: { 2: "u2" } });
  const heard = [];
  cache.subscribe((c) => heard.push(c));
  cache.close();
  assert.equal(cache.peek("2"), undefined);
  assert.equal((await cache.get("1")).source, "default");
  assert.deepEqual(await cache.prefetch(["1", "2", "1"]), {
    requested: 2, memory: 0, local: 0, indexeddb: 0, network: 0, defaulted: 2, apiCalls: 0, downloads: 0,
  });
  assert.equal(await cache.setPicture("1", "img-x"), undefined);
  assert.equal(await cache.setPicture("1", null), undefined);
  assert.equal(await cache.invalidate("1"), undefined);
  assert.equal(await cache.clear(), undefined);
  assert.equal(cache.peek("1"), undefined, "nothing was written");
  assert.deepEqual(heard, [], "nobody was told");
  assert.equal(cache.stats().apiCalls, 0);
  // Bad arguments are still programmer errors.
  await assert.rejects(cache.invalidate(""), (e) => e.code === "INVALID_ARGUMENT");
  await assert.rejects(cache.setPicture("1"), (e) => e.code === "INVALID_ARGUMENT");
  await assert.rejects(cache.prefetch([""]), (e) => e.code === "INVALID_ARGUMENT");
});

test("FakeAvatarCache: fail answers the stored picture stale, else the default, and records the reason", async () => {
  const cache = new FakeAvatarCache({ seen: { 1: "blob:fake/1" } }).fail("1", "TIMEOUT: request timed out after 10 ms").fail("2");
  const stored = await cache.get("1");
  assert.deepEqual({ url: stored.url, stale: stored.stale }, { url: "blob:fake/1", stale: true });
  assert.equal((await cache.get("2")).source, "default");
  assert.deepEqual(cache.stats().recentErrors.map((e) => e.reason), ["TIMEOUT: request timed out after 10 ms", "NETWORK: network failure"]);
  assert.equal(cache.stats().layers.network.errors, 2);
});

test("FakeAvatarCache: reject, pause/resume, prefetch report", async () => {
  const cache = new FakeAvatarCache({ pictures: { 1: "u1", 2: "u2" }, seen: { 3: "u3" } });
  cache.reject("x", new Error("nope"));
  await assert.rejects(cache.get("x"), /nope/);
  await assert.rejects(cache.get(""), (e) => e.name === "AvatarCacheError" && e.code === "INVALID_ARGUMENT");
  cache.pause();
  let answered = false;
  const pending = cache.get("1").then(() => (answered = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(answered, false);
  await cache.resume();
  await pending;
  assert.equal(answered, true);
  const report = await cache.prefetch(["1", "2", "3", "4"]);
  // No batch endpoint: one API call per user not in memory ("2", and "4" that the backend does not know).
  assert.deepEqual(report, { requested: 4, memory: 2, local: 0, indexeddb: 0, network: 1, defaulted: 1, apiCalls: 2, downloads: 1 });
});

test("FakeAvatarCache: setPicture, invalidate, clear and change tell subscribers; close stops everything", async () => {
  const cache = new FakeAvatarCache({ seen: { 1: "u1" } });
  const heard = [];
  const stop = cache.subscribe((c) => heard.push(c));
  await cache.setPicture("1", "img-2");
  assert.equal(cache.peek("1").url, "blob:fake/img-2");
  await cache.invalidate("1");
  assert.equal(cache.peek("1"), undefined);
  await cache.clear();
  cache.change({ userId: "9" });
  assert.deepEqual(heard, [{ userId: "1" }, { userId: "1" }, { all: true }, { userId: "9" }]);
  stop();
  cache.change({ all: true });
  assert.equal(heard.length, 4);
  cache.close();
  const after = await cache.get("1");
  assert.deepEqual({ source: after.source, imageId: after.imageId }, { source: "default", imageId: null }, "a closed cache answers the default, as the real one");
  assert.equal((await cache.prefetch(["1"])).defaulted, 1);
});

test("FakeAvatarCache: another tab's change makes memory forget the user, so a re-read gets the new answer", async () => {
  const cache = new FakeAvatarCache({ seen: { 1: "blob:fake/old", 2: "blob:fake/two" } });
  assert.equal(cache.peek("1").url, "blob:fake/old");
  cache.answer("1", "blob:fake/new");
  cache.change({ userId: "1" });
  assert.equal(cache.peek("1"), undefined);
  assert.equal((await cache.get("1")).url, "blob:fake/new");
  assert.equal(cache.peek("2").url, "blob:fake/two");
  cache.change({ all: true });
  assert.equal(cache.peek("2"), undefined);
  const stats = cache.stats();
  assert.deepEqual({ refreshes: stats.refreshes, evictions: stats.evictions }, { refreshes: 0, evictions: 0 });
});

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
  for (const id of ["2", "3"]) {
    const p = await cache.get(id);
    assert.deepEqual({ url: p.url, source: p.source, imageId: p.imageId }, { url: "/api/img/default_pfp.png", source: "default", imageId: null });
  }
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
  assert.deepEqual(report, { requested: 4, memory: 2, local: 0, indexeddb: 0, network: 1, defaulted: 1, apiCalls: 1, downloads: 1 });
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
  await assert.rejects(cache.prefetch(["1"]), (e) => e.code === "CLOSED");
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

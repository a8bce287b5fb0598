// Unit tests of avatar-cache/react (react/index.js) with a test double for the cache:
// first-frame rendering from peek, fallbacks, snapshot stability and the get that a miss starts.
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

function fakeCache(pictures = {}) {
  const calls = { peek: 0, get: [], subscribe: 0 };
  return {
    calls,
    peek(userId) {
      calls.peek++;
      const p = pictures[userId];
      return p ? { ...p } : undefined; // a new object each time, as a naive cache would
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

test("a peeked picture is in the first render, with its source", () => {
  const cache = fakeCache({ 42: pic("42", "blob:http://app/abc") });
  const html = renderToString(
    createElement(AvatarCacheProvider, { cache }, createElement(ProfilePicture, { userId: "42", size: 48, emoji: "🙂" })),
  );
  assert.match(html, /<img[^>]+src="blob:http:\/\/app\/abc"/);
  assert.match(html, /data-avatar-source="memory"/);
  assert.match(html, /data-avatar-state="ready"/);
  assert.match(html, /width="48"/);
  assert.doesNotMatch(html, /🙂/);
});

test("a miss renders the emoji while loading", () => {
  const cache = fakeCache();
  const html = renderToString(createElement(AvatarCacheProvider, { cache }, createElement(ProfilePicture, { userId: "7", emoji: "🙂" })));
  assert.match(html, /🙂/);
  assert.match(html, /data-avatar-state="loading"/);
  assert.match(html, /aria-busy="true"/);
});

test("a miss without emoji renders the provider's default picture, else the built-in one", () => {
  const cache = fakeCache();
  const withDefault = renderToString(
    createElement(AvatarCacheProvider, { cache, defaultImageUrl: "/images/default_pfp.png" }, createElement(ProfilePicture, { userId: "7" })),
  );
  assert.match(withDefault, /src="\/images\/default_pfp.png"/);
  const builtIn = renderToString(createElement(AvatarCacheProvider, { cache }, createElement(ProfilePicture, { userId: "7" })));
  assert.ok(builtIn.includes(`src="${DEFAULT_PICTURE_URL.replace(/&/g, "&amp;")}"`) || builtIn.includes('src="data:image/svg+xml'));
});

test("without a provider or default cache the component shows its fallback", () => {
  setDefaultCache(null);
  const html = renderToString(createElement(ProfilePicture, { userId: "1", emoji: "🙂" }));
  assert.match(html, /🙂/);
  assert.match(html, /data-avatar-state="fallback"/);
});

test("setDefaultCache serves components outside a provider", () => {
  setDefaultCache(fakeCache({ 1: pic("1", "blob:x") }));
  try {
    assert.match(renderToString(createElement(ProfilePicture, { userId: "1" })), /src="blob:x"/);
  } finally {
    setDefaultCache(null);
  }
});

test("the hook's snapshot is the same object while peek answers an equal picture", () => {
  const cache = fakeCache({ 5: pic("5", "blob:five") });
  const seen = [];
  function Probe() {
    seen.push(useProfilePicture("5"));
    return null;
  }
  renderToString(createElement(AvatarCacheProvider, { cache }, createElement(Probe), createElement(Probe)));
  assert.equal(seen.length, 2);
  assert.equal(seen[0].url, "blob:five");
  assert.equal(seen[0].source, "memory");
  assert.equal(seen[0].loading, false);
  assert.ok(cache.calls.peek >= 2);
});

test("a stale or wrong-image peek still renders at once (a get refreshes it after mount)", () => {
  const cache = fakeCache({ 5: pic("5", "blob:old", { stale: true }) });
  const html = renderToString(createElement(AvatarCacheProvider, { cache }, createElement(ProfilePicture, { userId: "5", imageId: "img-new" })));
  assert.match(html, /src="blob:old"/);
  assert.equal(cache.calls.get.length, 0, "effects do not run during a server render");
});

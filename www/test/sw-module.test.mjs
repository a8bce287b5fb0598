// Unit tests of the service worker entry's module loading (pkg/sw.js, `moduleSource`): a worker
// runs only the module its bindings were built with, from the copy kept at its first start.
//   node --test test/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "..", "pkg");
const { moduleSource, dropOtherModules } = await import(pathToFileURL(join(pkg, "sw.js")).href);
const built = readFileSync(join(pkg, "sw.js"), "utf8").match(/const MODULE_VERSION = "([0-9a-f]{16})";/)?.[1];
const workerModule = readFileSync(join(pkg, "worker", "avatar_cache_worker_bg.wasm"));

/** A CacheStorage of one cache, in memory. */
function cacheStorage() {
  const entries = new Map();
  const cache = {
    entries,
    async match(key) {
      const r = entries.get(String(key));
      return r?.clone();
    },
    async put(key, response) {
      entries.set(String(key), response.clone());
    },
    async keys() {
      return [...entries.keys()].map((url) => ({ url }));
    },
    async delete(request) {
      return entries.delete(request.url ?? String(request));
    },
  };
  return { cache, async open() { return cache; } };
}

function network(bytes, calls) {
  return async (url) => {
    calls.push(url);
    return new Response(bytes, { status: 200, headers: { "Content-Type": "application/wasm" } });
  };
}

test("the packaged worker entry knows the build of its module", () => {
  assert.match(built ?? "", /^[0-9a-f]{16}$/);
});

test("the first start takes the network's module of this build and keeps it; later starts ask no network", async () => {
  const storage = cacheStorage();
  storage.cache.entries.set("https://app.example/pkg/worker/avatar_cache_worker_bg.wasm?module=old", new Response("old"));
  const calls = [];
  const first = await moduleSource({ cacheStorage: storage, fetchFn: network(workerModule, calls) });
  assert.deepEqual(new Uint8Array(await first.arrayBuffer()), new Uint8Array(workerModule));
  assert.equal(first.headers.get("Content-Type"), "application/wasm");
  assert.equal(calls.length, 1);
  assert.deepEqual(
    [...storage.cache.entries.keys()].map((k) => k.split("?")[1]).sort(),
    [`module=${built}`, "module=old"],
    "the build before keeps its copy until this one activates (its worker may start again)",
  );
  await dropOtherModules({ cacheStorage: storage });
  assert.deepEqual([...storage.cache.entries.keys()].map((k) => k.split("?")[1]), [`module=${built}`]);
  const again = await moduleSource({ cacheStorage: storage, fetchFn: network(new Uint8Array([0]), calls) });
  assert.deepEqual(new Uint8Array(await again.arrayBuffer()), new Uint8Array(workerModule));
  assert.equal(calls.length, 1, "no network at the next start");
});

test("a module of another build is refused, not linked against these bindings, and not kept", async () => {
  const storage = cacheStorage();
  const calls = [];
  const other = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  await assert.rejects(moduleSource({ cacheStorage: storage, fetchFn: network(other, calls) }), /not the module of this worker's build/);
  assert.equal(storage.cache.entries.size, 0);
});

test("a server error or no network rejects (the worker then answers the default picture)", async () => {
  const storage = cacheStorage();
  await assert.rejects(moduleSource({ cacheStorage: storage, fetchFn: async () => new Response("", { status: 503 }) }), /answered 503/);
  await assert.rejects(moduleSource({ cacheStorage: storage, fetchFn: async () => { throw new TypeError("offline"); } }), /offline/);
});

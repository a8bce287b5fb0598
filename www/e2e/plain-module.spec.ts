// The package works without a bundler: a plain <script type="module"> page imports it.
import { consoleErrors, expect, figure, record, test } from "./helpers";

/** The image database's schema version (src/layers/idb/schema.rs SCHEMA_VERSION). */
const SCHEMA_VERSION = 2;

test("the package loads in a plain ES-module page without a bundler", async ({ session }, testInfo) => {
  const page = await session.newTab();
  await page.goto("/plain.html");
  type Result = { version: string; first: string; second: string; peek: string | null };
  let value: Result | null = null;
  await expect
    .poll(async () => (value = await page.evaluate(() => (window as unknown as { __PLAIN_RESULT__?: Result }).__PLAIN_RESULT__ ?? null)), {
      timeout: 15_000,
      message: "the plain page published its result",
    })
    .not.toBeNull();
  const result = value as unknown as Result;
  record(testInfo, `plain page: avatar-cache ${result.version}, first get from ${result.first}, second from ${result.second}`);
  figure(testInfo, "plain module page: first / second get", `${result.first} / ${result.second}`);
  expect(["network", "indexeddb"]).toContain(result.first);
  expect(result.second).toBe("memory");
  expect(result.peek).toBe("memory");
  expect(await page.evaluate(() => document.querySelector<HTMLImageElement>("#avatar")!.naturalWidth)).toBeGreaterThan(0);
  expect(await consoleErrors(page)).toEqual([]);
});

test("open() warms the database while the module compiles, without creating or holding it", async ({ session }) => {
  const page = await session.newTab();
  await page.goto("/plain.html");
  const result = await page.evaluate(async () => {
    const entry = "/pkg/index.js"; // the page's own URL space, not a module of this project
    const { AvatarCache } = await import(entry);
    const suffix = Math.random().toString(36).slice(2, 8);
    const names = async () => ((await indexedDB.databases?.()) ?? []).map((d: IDBDatabaseInfo) => d.name);
    // IndexedDB turned off: the warm-up leaves no database behind.
    const off = await AvatarCache.open({ namespace: `warm_off_${suffix}`, idb: { enabled: false } });
    off.close();
    // A new namespace: the warm-up aborts its own creation, open() creates the real schema.
    const fresh = await AvatarCache.open({ namespace: `warm_new_${suffix}` });
    const picture = await fresh.get("1");
    const errors = JSON.stringify(fresh.stats().recentErrors);
    fresh.close();
    const version = await new Promise<number>((resolve, reject) => {
      const r = indexedDB.open(`warm_new_${suffix}:avatar-cache`);
      r.onsuccess = () => {
        const v = r.result.version;
        r.result.close();
        resolve(v);
      };
      r.onerror = () => reject(r.error);
    });
    const listed = await names();
    return {
      offListed: listed.includes(`warm_off_${suffix}:avatar-cache`),
      version,
      source: picture.source,
      errors,
    };
  });
  expect(result.offListed).toBe(false);
  expect(result.version).toBe(SCHEMA_VERSION);
  expect(["network", "indexeddb"], result.errors).toContain(result.source);
});

test("the module is fetched and instantiated once, from the import on, and open() uses it", async ({ session }) => {
  const page = await session.newTab();
  await page.goto("/plain.html");
  const result = await page.evaluate(async () => {
    // Requests for the module made from now on (the page's own import may still be loading it).
    const since = performance.now();
    const fetches = () =>
      performance
        .getEntriesByType("resource")
        .filter((e) => new URL(e.name).pathname === "/pkg/avatar_cache_bg.wasm" && e.startTime >= since).length;
    const before = fetches();
    // A module instance of its own (a query string), as a page that imports the package first.
    const entry = `/pkg/index.js?early=${Math.random().toString(36).slice(2)}`;
    const { AvatarCache } = await import(entry);
    // The app renders meanwhile: the module is asked for already, before any open().
    await new Promise((resolve) => setTimeout(resolve, 300));
    const afterImport = fetches();
    const cache = await AvatarCache.open({ namespace: `early_${Math.random().toString(36).slice(2, 8)}`, idb: { enabled: false } });
    const afterOpen = fetches();
    const source = (await cache.get("1")).source;
    cache.close();
    return { before, afterImport, afterOpen, source };
  });
  expect(result.afterImport, "the import asked for the module").toBe(result.before + 1);
  expect(result.afterOpen, "open() used the module the import loaded").toBe(result.afterImport);
  expect(result.source).toBe("network");
});

test("a module that fails to load at the import is loaded again by open()", async ({ session }) => {
  const page = await session.newTab();
  await page.goto("/plain.html");
  const result = await page.evaluate(async () => {
    const wasm = WebAssembly as unknown as { instantiateStreaming: unknown };
    const instantiateStreaming = wasm.instantiateStreaming;
    // The load that starts at the import fails (a network error, a proxy's error page).
    wasm.instantiateStreaming = () => Promise.reject(new TypeError("Failed to fetch"));
    let AvatarCache;
    try {
      ({ AvatarCache } = await import(`/pkg/index.js?fallback=${Math.random().toString(36).slice(2)}`));
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      wasm.instantiateStreaming = instantiateStreaming;
    }
    const cache = await AvatarCache.open({ namespace: `fallback_${Math.random().toString(36).slice(2, 8)}`, idb: { enabled: false } });
    const source = (await cache.get("1")).source;
    cache.close();
    return { source };
  });
  expect(result.source).toBe("network");
});

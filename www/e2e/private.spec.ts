// Private browsing (the `firefox-private` project): the app works with whatever storage the mode
// offers, degrading as the README's "When things go wrong" table says, with no console error:
//   IndexedDB missing → memory + localStorage + network: a reload costs no API call, only images;
//   localStorage missing → memory + IndexedDB + network: a reload downloads no image;
//   both there → a reload costs nothing.
// The two storages are also switched off one at a time (Firefox preferences), so every branch runs.
import {
  DEFAULT_CONTROL,
  FRIEND_IDS,
  PICTURED_FRIENDS,
  consoleErrors,
  expect,
  figure,
  idbSettled,
  namespaceFor,
  picturesReady,
  record,
  test,
  tid,
  type Backend,
  type Browser,
} from "./helpers";
import type { TestInfo } from "@playwright/test";

interface Storage {
  localStorage: boolean;
  indexedDB: boolean;
  blobInIndexedDB: boolean;
}

test.beforeEach(async ({ backend }) => {
  await backend.control(DEFAULT_CONTROL);
  await backend.reset();
});

async function journey(session: Browser, backend: Backend, testInfo: TestInfo, label: string): Promise<Storage> {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  // The page's cache alone (`sw=0`): the service worker's plain list would add its own calls.
  await page.goto(`/?ns=${ns}&sw=0`);
  // What this mode offers, asked directly (not through the cache).
  const storage = await page.evaluate(async (): Promise<Storage> => {
    const out = { localStorage: false, indexedDB: false, blobInIndexedDB: false };
    try {
      localStorage.setItem("e2e-probe", "1");
      out.localStorage = localStorage.getItem("e2e-probe") === "1";
      localStorage.removeItem("e2e-probe");
    } catch {
      // missing or refused
    }
    try {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("e2e-probe", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("s");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      out.indexedDB = true;
      await new Promise((resolve, reject) => {
        const tx = db.transaction("s", "readwrite");
        tx.objectStore("s").put(new Blob([new Uint8Array([137, 80, 78, 71])], { type: "image/png" }), "k");
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      out.blobInIndexedDB = true;
      db.close();
    } catch {
      // missing, refused, or no Blob storage
    }
    return out;
  });
  figure(testInfo, `${label}: localStorage / IndexedDB / Blob in IndexedDB`, [storage.localStorage, storage.indexedDB, storage.blobInIndexedDB].map((b) => (b ? "yes" : "no")).join(" / "));

  await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await picturesReady(page, tid("me"), 1);
  if (storage.indexedDB) await idbSettled(page, ns);
  else await expect.poll(() => page.evaluate(() => window.orbitCache!.stats().inFlight)).toBe(0);

  await backend.reset();
  await page.reload();
  const warm = await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await expect.poll(() => page.evaluate(() => window.orbitCache!.stats().inFlight)).toBe(0);
  const after = await backend.stats();
  const cache = await page.evaluate(() => window.orbitCache!.stats());
  record(testInfo, `${label}: storage ${JSON.stringify(storage)}; reload: ${after.api.total} API calls, ${after.images.requests} image requests${after.images.requests ? ` (${JSON.stringify(after.images)}, by image ${JSON.stringify(after.imagesById)})` : ""}; sources ${JSON.stringify(warm.sources)}; cache errors ${JSON.stringify(cache.recentErrors.map((e) => `${e.layer}: ${e.reason}`))}`);
  figure(testInfo, `${label}: reload API calls / image requests`, `${after.api.total} / ${after.images.requests}`);

  // Every picture renders whatever is missing: only the requests differ.
  expect(warm.count).toBe(FRIEND_IDS.length);
  if (storage.localStorage && storage.indexedDB) {
    expect(after.api.total, "API calls after a reload, both storages there").toBe(0);
    expect(after.images.requests, "image requests after a reload, both storages there").toBe(0);
  } else if (storage.localStorage) {
    expect(after.api.total, "API calls after a reload, records in localStorage").toBe(0);
    expect(after.images.requests, "images are downloaded again without IndexedDB").toBeGreaterThanOrEqual(PICTURED_FRIENDS);
  } else if (storage.indexedDB) {
    expect(after.images.requests, "image requests after a reload, bytes in IndexedDB").toBe(0);
  }
  expect(await consoleErrors(page)).toEqual([]);
  return storage;
}

test("private browsing: a reload uses the storage the mode keeps, no console error", async ({ session, backend }, testInfo) => {
  expect(session.privateMode, "this spec runs in a private-browsing project").toBe(true);
  await journey(session, backend, testInfo, "private");
});

test.describe("private browsing with IndexedDB switched off", () => {
  // As in Firefox before 115 (and where the preference is off): no IndexedDB in private windows.
  test.use({ firefoxPrefs: { "dom.indexedDB.privateBrowsing.enabled": false } });
  test("memory + localStorage + network: no API call on reload, no console error", async ({ session, backend }, testInfo) => {
    const storage = await journey(session, backend, testInfo, "private, no IndexedDB");
    expect(storage, "the preference switched IndexedDB off").toMatchObject({ indexedDB: false, localStorage: true });
  });
});

test.describe("private browsing with localStorage switched off", () => {
  test.use({ firefoxPrefs: { "dom.storage.enabled": false } });
  test("memory + IndexedDB + network: no image download on reload, no console error", async ({ session, backend }, testInfo) => {
    const storage = await journey(session, backend, testInfo, "private, no localStorage");
    expect(storage, "the preference switched localStorage off").toMatchObject({ indexedDB: true, localStorage: false });
  });
});

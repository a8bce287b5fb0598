// How long until the 120 pictures of the friends list are decoded: cold (empty storage) and
// warm (reload: localStorage + IndexedDB), with a realistic backend latency.
import { DEFAULT_CONTROL, FRIEND_IDS, expect, figure, idbSettled, namespaceFor, picturesReady, record, snap, test, tid, type Tab } from "./helpers";

const LATENCY = { latencyMs: 120, storageLatencyMs: 80, jitterMs: 60 };

/** When the app rendered the list (its `orbit:friends-rendered` mark), ms since navigation. */
async function listMountedAt(page: Tab): Promise<number> {
  return page.evaluate(() => performance.getEntriesByName("orbit:friends-rendered")[0]?.startTime ?? Number.NaN);
}

test.afterEach(async ({ backend }) => {
  await backend.control(DEFAULT_CONTROL);
});

test("120-avatar list: time until every picture is decoded, cold and warm", async ({ session, backend }, testInfo) => {
  await backend.control({ ...DEFAULT_CONTROL, ...LATENCY });
  await backend.reset();

  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  // The page's cache alone (`sw=0`): the service worker's plain list would add its own calls.
  await page.goto(`/?ns=${ns}&sw=0`);
  await expect.poll(() => page.visible(tid("friends"))).toBe(true);
  await snap(page, testInfo, "08a-list-cold-loading");
  const cold = await picturesReady(page, tid("friends"), FRIEND_IDS.length, 60_000);
  const coldMount = await listMountedAt(page);
  const coldStats = await backend.stats();
  await snap(page, testInfo, "08-list-cold");
  await picturesReady(page, tid("discover"), 8);
  await picturesReady(page, tid("me"), 1);
  const settleMs = await idbSettled(page, ns);

  await backend.reset();
  await page.reload();
  const warm = await picturesReady(page, tid("friends"), FRIEND_IDS.length, 60_000);
  const warmMount = await listMountedAt(page);
  const warmStats = await backend.stats();
  const cache = await page.evaluate(() => window.orbitCache!.stats());
  await snap(page, testInfo, "09-list-warm");

  record(testInfo, `cold: all ${cold.count} avatars decoded ${cold.at.toFixed(0)} ms after navigation start (${(cold.at - coldMount).toFixed(0)} ms after the list mounted), ${coldStats.api.total} API calls (${coldStats.api.batch} batched), ${coldStats.images.ok} downloads, ${(coldStats.images.bytes / 1024).toFixed(0)} KiB; sources ${JSON.stringify(cold.sources)}; IndexedDB writes committed ${settleMs} ms later`);
  record(testInfo, `warm: all ${warm.count} avatars decoded ${warm.at.toFixed(0)} ms after navigation start (${(warm.at - warmMount).toFixed(0)} ms after the list mounted), ${warmStats.api.total} API calls, ${warmStats.images.requests} image requests; sources ${JSON.stringify(warm.sources)}; local p95 ${cache.layers.local.p95Ms.toFixed(1)} ms, idb p95 ${cache.layers.indexeddb.p95Ms.toFixed(1)} ms`);
  figure(testInfo, "120-avatar list decoded, cold (after navigation)", Math.round(cold.at), "ms");
  figure(testInfo, "120-avatar list decoded, warm (after navigation)", Math.round(warm.at), "ms");
  figure(testInfo, "  warm, after the list mounted", Math.round(warm.at - warmMount), "ms");
  figure(testInfo, "  warm: API calls / image requests", `${warmStats.api.total} / ${warmStats.images.requests}`);
  expect(warmStats.api.total).toBe(0);
  expect(warmStats.images.requests).toBe(0);
  expect(warm.at).toBeLessThan(cold.at);
});

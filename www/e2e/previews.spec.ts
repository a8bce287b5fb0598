// ThumbHash previews: after a reload, the first frame of the friends list shows a preview (or the
// picture) for every friend seen before, and a screenshot of the list mid-load shows previews.
//
// What the first frame shows is recorded by the demo page itself (?firstFrame=N, src/firstFrame.ts,
// installed before the cache opens), so the check needs no script injected before the page's own
// and runs in every engine: Chromium through Playwright, Firefox and WebKitGTK through WebDriver.
import type { FirstListFrame } from "../src/firstFrame";
import { DEFAULT_CONTROL, FRIEND_IDS, PICTURED_FRIENDS, expect, hasPicture, namespaceFor, picturesReady, record, snap, test, type Tab } from "./helpers";

const picturedIds = FRIEND_IDS.filter(hasPicture).map(String);
const PREVIEW = "data:image/png;base64,";
/** The picture itself: an object URL, or a `data:` URL of a small image (state "ready"). */
const isPicture = (s: { src: string; state: string }) => s.state === "ready" && /^(blob:|data:image\/)/.test(s.src);
/** The ThumbHash preview shown while the picture loads. */
const isPreview = (s: { src: string; state: string }) => s.state !== "ready" && s.src.startsWith(PREVIEW);

test.afterEach(async ({ backend }) => {
  await backend.control(DEFAULT_CONTROL);
});

/** Pictures first (seen before), then every pictured friend's hash, computed behind the answers. */
async function seeEveryone(tab: Tab, path: string): Promise<void> {
  await tab.goto(path);
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
  await expect
    .poll(() => tab.evaluate((ids) => ids.filter((id) => window.orbitCache!.placeholder(id)).length, picturedIds), { timeout: 20_000 })
    .toBe(PICTURED_FRIENDS);
}

async function firstListFrame(tab: Tab): Promise<FirstListFrame> {
  await expect.poll(() => tab.evaluate(() => window.__firstListFrame !== undefined), { timeout: 30_000 }).toBe(true);
  return (await tab.evaluate(() => window.__firstListFrame))!;
}

test("after a reload the first frame shows a preview or the picture for every friend seen before", async ({ session, backend }, testInfo) => {
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 80, jitterMs: 60 });
  await backend.reset();
  const tab = await session.newTab();
  const ns = namespaceFor(testInfo);
  await seeEveryone(tab, `/?ns=${ns}&firstFrame=${FRIEND_IDS.length}`);
  const sample = await tab.evaluate((id) => window.orbitCache!.placeholder(id)!, picturedIds[0]);
  expect(sample.startsWith(PREVIEW)).toBe(true);

  await tab.reload();
  const first = await firstListFrame(tab);
  const pictured = first.shown.filter((s) => hasPicture(Number(s.user)));
  const previews = pictured.filter(isPreview).length;
  const pictures = pictured.filter(isPicture).length;
  const neither = pictured.filter((s) => !isPreview(s) && !isPicture(s));
  record(testInfo, `first frame of the list after a reload (${first.at.toFixed(0)} ms after navigation start): ${pictured.length} friends seen before, ${previews} previews, ${pictures} pictures, ${neither.length} neither`);
  expect(pictured.length).toBe(PICTURED_FRIENDS);
  expect(pictured.length).toBeGreaterThanOrEqual(100);
  expect(neither, "every friend seen before has a preview or the picture on the first frame").toEqual([]);
  // Then the pictures replace the previews.
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
});

test("screenshot: the list mid-load, with previews while the images come", async ({ session, backend }, testInfo) => {
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 80, jitterMs: 60 });
  await backend.reset();
  const tab = await session.newTab();
  const ns = namespaceFor(testInfo);
  await seeEveryone(tab, `/?ns=${ns}`);
  // Keep the records (localStorage), drop the stored images: the next visit must download them,
  // slowly, while the previews show. Deleted from the app's own page, its cache closed first
  // (Firefox shows /__stats in its JSON viewer, whose storage is not the app's).
  const deleted = await tab.evaluate(
    (name) =>
      new Promise<boolean>((resolve, reject) => {
        window.orbitCache!.close();
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = () => resolve(true);
        request.onerror = () => reject(request.error);
      }),
    `${ns}:avatar-cache`,
  );
  expect(deleted).toBe(true);
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 2_500, jitterMs: 0 });
  await tab.goto(`/?ns=${ns}&firstFrame=${FRIEND_IDS.length}`);
  const first = await firstListFrame(tab);
  const previewsFirst = first.shown.filter(isPreview).length;
  const previewsNow = await tab.evaluate(
    () =>
      [...document.querySelectorAll<HTMLImageElement>('[data-testid="friends"] img[data-avatar-user]')].filter(
        (i) => i.dataset.avatarState !== "ready" && i.src.startsWith("data:image/png"),
      ).length,
  );
  await snap(tab, testInfo, "10-list-mid-load-previews");
  record(testInfo, `mid-load (images 2.5 s away): ${previewsFirst} previews on the first frame, ${previewsNow} on screen at the screenshot`);
  expect(previewsFirst).toBeGreaterThanOrEqual(100);
  expect(previewsNow, "the images are still on their way: previews on the screenshot").toBeGreaterThanOrEqual(100);
  // The screenshot is taken: the downloads not yet sent (the browser opens six connections to
  // the storage origin, so about 18 rounds of 2.5 s for 107 images) may now come quickly.
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 80, jitterMs: 0 });
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
  await snap(tab, testInfo, "11-list-loaded-after-previews");
});

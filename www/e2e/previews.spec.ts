// ThumbHash previews: after a reload, the first frame of the friends list shows a preview (or the
// picture) for every friend seen before, and a screenshot of the list mid-load shows previews.
import { expect, test, type Page } from "@playwright/test";

import { playwrightTab } from "./driver-playwright";
import { Backend, DEFAULT_CONTROL, FRIEND_IDS, PICTURED_FRIENDS, hasPicture, namespaceFor, picturesReady, record, snap } from "./helpers";

// The first-frame check needs a script that runs before the page's own (Playwright's
// addInitScript); WebDriver cannot inject one, so these journeys run in Chromium only. Previews
// in Firefox and WebKitGTK are covered by the browser suite (tests/placeholder.rs).
test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name !== "chromium", "needs a script before the page's own: Chromium only");
});

interface Shown {
  user: string;
  tag: string;
  src: string;
  state: string;
}

declare global {
  interface Window {
    __firstListFrame?: { at: number; shown: Shown[] };
  }
}

/** Records, at the first animation frame in which the friends list has its items, what each shows. */
async function recordFirstListFrame(page: Page, expected: number): Promise<void> {
  await page.addInitScript((expected: number) => {
    const check = () => {
      const items = document.querySelectorAll<HTMLElement>('[data-testid="friends"] [data-avatar-user]');
      if (items.length >= expected) {
        window.__firstListFrame = {
          at: performance.now(),
          shown: [...items].map((el) => ({
            user: el.dataset.avatarUser ?? "",
            tag: el.tagName,
            src: el.getAttribute("src") ?? "",
            state: el.dataset.avatarState ?? "",
          })),
        };
        return;
      }
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, expected);
}

const picturedIds = FRIEND_IDS.filter(hasPicture).map(String);

test.afterEach(async ({ baseURL }) => {
  await new Backend(baseURL!).control(DEFAULT_CONTROL);
});

test("after a reload the first frame shows a preview or the picture for every friend seen before", async ({ page, baseURL }, testInfo) => {
  const backend = new Backend(baseURL!);
  const tab = playwrightTab(page);
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 80, jitterMs: 60 });
  await backend.reset();
  const ns = namespaceFor(testInfo);
  await page.goto(`/?ns=${ns}`);
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
  // The hashes are computed behind the answers: wait until every pictured friend has one.
  await expect
    .poll(() => page.evaluate((ids) => ids.filter((id) => window.orbitCache!.placeholder(id)).length, picturedIds), { timeout: 20_000 })
    .toBe(PICTURED_FRIENDS);
  const sample = await page.evaluate((id) => window.orbitCache!.placeholder(id)!, picturedIds[0]);
  expect(sample).toMatch(/^data:image\/png;base64,/);

  await recordFirstListFrame(page, FRIEND_IDS.length);
  await page.reload();
  await page.waitForFunction(() => window.__firstListFrame !== undefined, undefined, { timeout: 30_000 });
  const first = (await page.evaluate(() => window.__firstListFrame))!;
  const pictured = first.shown.filter((s) => hasPicture(Number(s.user)));
  const previews = pictured.filter((s) => s.src.startsWith("data:image/png;base64,")).length;
  const pictures = pictured.filter((s) => s.src.startsWith("blob:")).length;
  const neither = pictured.filter((s) => !s.src.startsWith("data:image/png;base64,") && !s.src.startsWith("blob:"));
  record(testInfo, `first frame of the list after a reload (${first.at.toFixed(0)} ms after navigation start): ${pictured.length} friends seen before, ${previews} previews, ${pictures} pictures, ${neither.length} neither`);
  expect(pictured.length).toBe(PICTURED_FRIENDS);
  expect(pictured.length).toBeGreaterThanOrEqual(100);
  expect(neither, "every friend seen before has a preview or the picture on the first frame").toEqual([]);
  // Then the pictures replace the previews.
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
});

test("screenshot: the list mid-load, with previews while the images come", async ({ page, baseURL }, testInfo) => {
  const backend = new Backend(baseURL!);
  const tab = playwrightTab(page);
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 80, jitterMs: 60 });
  await backend.reset();
  const ns = namespaceFor(testInfo);
  await page.goto(`/?ns=${ns}`);
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
  await expect
    .poll(() => page.evaluate((ids) => ids.filter((id) => window.orbitCache!.placeholder(id)).length, picturedIds), { timeout: 20_000 })
    .toBe(PICTURED_FRIENDS);
  // Keep the records (localStorage), drop the stored images: the next visit must download them,
  // slowly, while the previews show.
  await page.goto("/__stats");
  await page.evaluate(
    (name) =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = () => resolve();
        request.onerror = () => reject(request.error);
      }),
    `${ns}:avatar-cache`,
  );
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 120, storageLatencyMs: 2_500, jitterMs: 0 });
  await recordFirstListFrame(page, FRIEND_IDS.length);
  await page.goto(`/?ns=${ns}`);
  await page.waitForFunction(() => window.__firstListFrame !== undefined, undefined, { timeout: 30_000 });
  const previewsNow = await page.evaluate(
    () => [...document.querySelectorAll<HTMLImageElement>('[data-testid="friends"] img[data-avatar-user]')].filter((i) => i.src.startsWith("data:image/png")).length,
  );
  await snap(tab, testInfo, "10-list-mid-load-previews");
  record(testInfo, `mid-load (images 2.5 s away): ${previewsNow} previews on screen`);
  expect(previewsNow).toBeGreaterThanOrEqual(100);
  await picturesReady(tab, '[data-testid="friends"]', FRIEND_IDS.length, 60_000);
  await snap(tab, testInfo, "11-list-loaded-after-previews");
});

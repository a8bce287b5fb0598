// Presigned URLs that are about to expire are refreshed in the background.
import { DEFAULT_CONTROL, expect, figure, namespaceFor, picturesReady, record, skipStep, snap, test, tid } from "./helpers";

test.afterEach(async ({ backend }) => {
  await backend.control(DEFAULT_CONTROL);
});

const ME = `${tid("me")} img[data-avatar-user="1"]`;

test("a presigned URL near expiry is refreshed in the background (bucket without CORS)", async ({ session, backend }, testInfo) => {
  // Without CORS the cache cannot read the bytes: it hands out the presigned URL itself, so the
  // URL must be renewed before it expires. URLs live 20 s; the app refreshes 15 s ahead.
  await backend.control({ ...DEFAULT_CONTROL, cors: false, urlLifetimeSec: 20 });
  await backend.reset();
  const page = await session.newTab();
  await page.goto(`/?ns=${namespaceFor(testInfo)}&refreshMarginMs=15000`);
  await picturesReady(page, tid("me"), 1);
  const first = (await page.attribute(ME, "src"))!;
  expect(first, "opaque mode hands out the presigned URL").toContain("X-Amz-Signature=");
  const callsBefore = (await backend.stats()).apiByUser["1"] ?? 0;

  // 6 s later the URL is inside the margin. Using the picture (a get, as a mount does) answers
  // at once and renews the URL in the background.
  await new Promise((r) => setTimeout(r, 6_000));
  const answer = await page.evaluate(async () => {
    const t0 = performance.now();
    const p = await window.orbitCache!.get("1");
    return { ms: performance.now() - t0, url: p.url, source: p.source };
  });
  expect(answer.url).toBe(first);
  await expect.poll(async () => (await backend.stats()).apiByUser["1"] ?? 0, { timeout: 5_000 }).toBeGreaterThan(callsBefore);
  await expect.poll(async () => (await page.evaluate(() => window.orbitCache!.get("1"))).url, { timeout: 5_000 }).not.toBe(first);
  const renewed = await page.evaluate(async () => (await window.orbitCache!.get("1")).url);
  // The header shows the renewed URL and it works (no 403) past the first URL's expiry.
  await expect.poll(() => page.attribute(ME, "src")).toBe(renewed);
  await new Promise((r) => setTimeout(r, 15_000));
  const status = await page.evaluate(async (u) => (await fetch(u, { mode: "no-cors" })).type, renewed);
  const stats = await backend.stats();
  record(testInfo, `get answered in ${answer.ms.toFixed(1)} ms from ${answer.source} while the URL was renewed; API calls for user 1: ${callsBefore} → ${stats.apiByUser["1"]}; 403s: ${stats.images.forbidden}`);
  figure(testInfo, "URL near expiry: get answered in", Number(answer.ms.toFixed(1)), "ms");
  expect(status).toBe("opaque");
  await snap(page, testInfo, "07-after-url-refresh");
});

test("with the page's clock 55 minutes on, a get renews the hour-long URL in the background", async ({ session, backend }, testInfo) => {
  await backend.control({ ...DEFAULT_CONTROL, cors: false, urlLifetimeSec: 3600 });
  await backend.reset();
  const page = await session.newTab();
  // The page's Date and timers, moved forward without waiting (Playwright's clock in Chromium).
  const clock = session.clock(page);
  await clock?.install(Date.now());
  // Without the service worker (`sw=0`): the fake clock moves the page's time only, the worker's
  // stays real, a split no browser has. With the worker, user 1's refresh came after the 5 s this
  // allows in 3 of 4 runs (3 s after the jump, 37 of the page's loads were still in flight); 4 of
  // 4 on time without it. Measured, not explained: see the README's Tests section.
  await page.goto(`/?ns=${namespaceFor(testInfo)}&sw=0`);
  await picturesReady(page, tid("me"), 1);
  const first = await page.evaluate(async () => (await window.orbitCache!.get("1")).url);
  expect(first, "opaque mode hands out the presigned URL").toContain("X-Amz-Expires=3600");
  const callsBefore = (await backend.stats()).apiByUser["1"] ?? 0;

  if (!clock) {
    skipStep(testInfo, "move the page's clock 55 minutes on", "no fake clock over WebDriver (it cannot run a script before the page's own)");
    return;
  }
  // 55 minutes later the URL expires within the 10-minute margin.
  await clock.fastForward(55 * 60_000);
  const answer = await page.evaluate(async () => {
    const p = await window.orbitCache!.get("1");
    return { url: p.url, source: p.source };
  });
  expect(answer.url, "answered at once with the URL it has").toBe(first);
  await expect.poll(async () => (await backend.stats()).apiByUser["1"] ?? 0, { timeout: 5_000 }).toBeGreaterThan(callsBefore);
  await expect.poll(async () => page.evaluate(async () => (await window.orbitCache!.get("1")).url), { timeout: 5_000 }).not.toBe(first);
  record(testInfo, `page clock +55 min: answered from ${answer.source} with the old URL, renewed in the background`);
});

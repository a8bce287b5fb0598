// An upload in one tab shows in every other open tab of the same browser.
import { DEFAULT_CONTROL, FRIEND_IDS, consoleErrors, expect, figure, namespaceFor, picturesReady, record, snap, test, tid, type Tab } from "./helpers";

test.beforeEach(async ({ backend }) => {
  await backend.control(DEFAULT_CONTROL);
});

test("a new picture uploaded in one tab shows in the other tab within a second", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const a = await session.newTab();
  const b = await session.newTab();
  await a.goto(`/?ns=${ns}`);
  await b.goto(`/?ns=${ns}`);
  for (const p of [a, b]) {
    await picturesReady(p, tid("me"), 1);
    await picturesReady(p, tid("friends"), FRIEND_IDS.length);
  }
  const header = `${tid("me")} img[data-avatar-user="1"]`;
  const before = await b.attribute(header, "src");

  await a.click(tid("edit-profile"));
  await a.click(tid("swatch-e5484d"));
  await a.fill(tid("edit-text"), "NEW");
  await snap(a, testInfo, "05-edit-profile");
  await backend.reset();
  await a.click(tid("edit-save"));
  await expect.poll(async () => (await a.evaluate(() => document.querySelector('[data-testid="edit-status"]')?.textContent ?? "")), { timeout: 15_000 }).toContain("live");
  const uploadedAt = Date.now();

  // Tab B: the header picture changes to the new one within a second, without a reload.
  // (Polled for longer than the budget so that a late update reports how late it was.)
  await expect
    .poll(async () => b.attribute(header, "src"), { timeout: 3_000, intervals: [25], message: "the other tab kept the old picture" })
    .not.toBe(before);
  const seenAfter = Date.now() - uploadedAt;
  record(testInfo, `the other tab showed the new picture ${seenAfter} ms after the upload finished`);
  figure(testInfo, "upload: other tab updated after", seenAfter, "ms");
  expect(seenAfter, "ms until the other tab showed the upload").toBeLessThanOrEqual(1_000);
  await picturesReady(b, tid("me"), 1);
  // The new picture is the red one that was drawn (sample a pixel of the decoded image).
  const [r, g, bl] = await b.evaluate((selector) => {
    const img = document.querySelector<HTMLImageElement>(selector)!;
    const c = document.createElement("canvas");
    c.width = c.height = 8;
    const ctx = c.getContext("2d")!;
    ctx.drawImage(img, 0, 0, img.naturalWidth, img.naturalHeight, 0, 0, 8, 8);
    return [...ctx.getImageData(7, 7, 1, 1).data];
  }, header);
  expect(r).toBeGreaterThan(180);
  expect(g).toBeLessThan(120);
  expect(bl).toBeLessThan(120);
  const counted = await backend.stats();
  record(testInfo, `after the upload: ${counted.api.total} API calls (${counted.api.upload} upload), ${counted.images.ok} image downloads`);
  await snap(b, testInfo, "06-other-tab-after-upload");
  expect(await consoleErrors(a, b)).toEqual([]);
});

test("tabs asking for the same unseen user at once share one request", async ({ session, backend }, testInfo) => {
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 150, storageLatencyMs: 100 });
  const ns = namespaceFor(testInfo);
  const pages: Tab[] = [];
  for (let i = 0; i < 3; i++) pages.push(await session.newTab());
  for (const p of pages) {
    await p.goto(`/?ns=${ns}`);
    await picturesReady(p, tid("me"), 1);
  }
  // User 420 is in none of the app's lists: nobody has fetched it yet. Each tab starts its get
  // without waiting for it (a WebDriver session talks to one tab at a time), then every answer is
  // collected: the three gets start within a few milliseconds, well inside the 250 ms the
  // backend takes to answer the first.
  await backend.reset();
  for (const p of pages) {
    await p.evaluate(() => {
      const w = window as unknown as { __e2eGet?: Promise<{ source: string; imageId: string | null }> };
      w.__e2eGet = window.orbitCache!.get("420").then((picture) => ({ source: picture.source, imageId: picture.imageId }));
    });
  }
  const answers = [];
  for (const p of pages) {
    answers.push(await p.evaluate(() => (window as unknown as { __e2eGet: Promise<{ source: string; imageId: string | null }> }).__e2eGet));
  }
  const stats = await backend.stats();
  const imageId = answers[0].imageId!;
  const downloads = stats.imagesById[imageId] ?? 0;
  const sources = answers.map((a) => a.source);
  record(testInfo, `three tabs, one unseen user: answered from ${sources.join(", ")}; API calls for it: ${stats.apiByUser["420"] ?? 0}, downloads of its image: ${downloads}`);
  figure(testInfo, "three tabs, one user: API calls / downloads", `${stats.apiByUser["420"] ?? 0} / ${downloads}`);
  expect(answers.every((a) => a.imageId === imageId)).toBe(true);
  expect(sources.filter((s) => s === "network")).toHaveLength(1);
  expect(stats.apiByUser["420"] ?? 0).toBe(1);
  expect(downloads).toBe(1);
  expect(await consoleErrors(...pages)).toEqual([]);
});

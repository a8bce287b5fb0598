// An upload in one tab shows in every other open tab of the same browser.
import { expect, test } from "@playwright/test";

import { Backend, DEFAULT_CONTROL, FRIEND_IDS, collectErrors, namespaceFor, picturesReady, record, snap } from "./helpers";

test.beforeEach(async ({ request }) => {
  await new Backend(request).control(DEFAULT_CONTROL);
});

test("a new picture uploaded in one tab shows in the other tab within a second", async ({ context, request }, testInfo) => {
  const backend = new Backend(request);
  const ns = namespaceFor(testInfo);
  const a = await context.newPage();
  const b = await context.newPage();
  const errors = [...collectErrors(a), ...collectErrors(b)];
  await a.goto(`/?ns=${ns}`);
  await b.goto(`/?ns=${ns}`);
  for (const p of [a, b]) {
    await picturesReady(p, '[data-testid="me"]', 1);
    await picturesReady(p, '[data-testid="friends"]', FRIEND_IDS.length);
  }
  const header = (p: typeof a) => p.locator('[data-testid="me"] img[data-avatar-user="1"]');
  const before = await header(b).getAttribute("src");

  await a.getByTestId("edit-profile").click();
  await a.getByTestId("swatch-e5484d").click();
  await a.getByTestId("edit-text").fill("NEW");
  await snap(a, testInfo, "05-edit-profile");
  await backend.reset();
  await a.getByTestId("edit-save").click();
  await expect(a.getByTestId("edit-status")).toContainText("live");
  const uploadedAt = Date.now();

  // Tab B: the header picture changes to the new one within a second, without a reload.
  // (Polled for longer than the budget so that a late update reports how late it was.)
  await expect
    .poll(async () => header(b).getAttribute("src"), { timeout: 3_000, intervals: [25], message: "the other tab kept the old picture" })
    .not.toBe(before);
  const seenAfter = Date.now() - uploadedAt;
  record(testInfo, `the other tab showed the new picture ${seenAfter} ms after the upload finished`);
  expect(seenAfter, "ms until the other tab showed the upload").toBeLessThanOrEqual(1_000);
  await picturesReady(b, '[data-testid="me"]', 1);
  // The new picture is the red one that was drawn (sample a pixel of the decoded image).
  const [r, g, bl] = await header(b).evaluate((img: HTMLImageElement) => {
    const c = document.createElement("canvas");
    c.width = c.height = 8;
    const ctx = c.getContext("2d")!;
    ctx.drawImage(img, 0, 0, img.naturalWidth, img.naturalHeight, 0, 0, 8, 8);
    return [...ctx.getImageData(7, 7, 1, 1).data];
  });
  expect(r).toBeGreaterThan(180);
  expect(g).toBeLessThan(120);
  expect(bl).toBeLessThan(120);
  const counted = await backend.stats();
  record(testInfo, `after the upload: ${counted.api.total} API calls (${counted.api.upload} upload), ${counted.images.ok} image downloads`);
  await snap(b, testInfo, "06-other-tab-after-upload");
  expect(errors).toEqual([]);
});

test("tabs asking for the same unseen user at once share one request", async ({ context, request }, testInfo) => {
  const backend = new Backend(request);
  await backend.control({ ...DEFAULT_CONTROL, latencyMs: 150, storageLatencyMs: 100 });
  const ns = namespaceFor(testInfo);
  const pages = await Promise.all([0, 1, 2].map(() => context.newPage()));
  const errors = pages.flatMap((p) => collectErrors(p));
  for (const p of pages) {
    await p.goto(`/?ns=${ns}`);
    await picturesReady(p, '[data-testid="me"]', 1);
  }
  // User 420 is in none of the app's lists: nobody has fetched it yet.
  await backend.reset();
  const answers = await Promise.all(
    pages.map((p) =>
      p.evaluate(async () => {
        const picture = await window.orbitCache!.get("420");
        return { source: picture.source, imageId: picture.imageId };
      }),
    ),
  );
  const stats = await backend.stats();
  const imageId = answers[0].imageId!;
  const downloads = stats.imagesById[imageId] ?? 0;
  const sources = answers.map((a) => a.source);
  record(testInfo, `three tabs, one unseen user: answered from ${sources.join(", ")}; API calls for it: ${stats.apiByUser["420"] ?? 0}, downloads of its image: ${downloads}`);
  expect(answers.every((a) => a.imageId === imageId)).toBe(true);
  expect(sources.filter((s) => s === "network")).toHaveLength(1);
  expect(stats.apiByUser["420"] ?? 0).toBe(1);
  expect(downloads).toBe(1);
  expect(errors).toEqual([]);
});

// What a user sees, checked against what the backend counted.
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
  snap,
  test,
  tid,
} from "./helpers";

test.beforeEach(async ({ backend }) => {
  await backend.control(DEFAULT_CONTROL);
  await backend.reset();
});

// The page's cache alone (`sw=0`): these two count the backend calls of the page's cache, and the
// demo's plain <img> list, served by the service worker with records of its own, would add the
// worker's calls for the same friends, at times that depend on when the worker takes control.
// service-worker.spec.ts counts the worker's.
test("first open loads from the network; the profile modal then opens from memory with no request", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  await page.goto(`/?ns=${ns}&sw=0`);
  await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await picturesReady(page, tid("me"), 1);
  const settleMs = await idbSettled(page, ns);

  const cold = await backend.stats();
  const cache = await page.evaluate(() => window.orbitCache!.stats());
  record(testInfo, `first open: ${cold.api.total} API calls (${cold.api.batch} batch for ${cold.api.batchIds} ids, ${cold.api.user} single: users ${cold.singles.join(" ") || "none"}), ${cold.images.ok} image downloads, ${cold.images.bytes} bytes; cache network hits ${cache.layers.network.hits}; IndexedDB writes committed ${settleMs} ms after the pictures showed`);
  figure(testInfo, "first open: API calls", cold.api.total);
  figure(testInfo, "first open: image downloads", cold.images.ok);
  // The pictures came from the network: every pictured friend downloaded once, in batches.
  expect(cold.images.ok).toBeGreaterThanOrEqual(PICTURED_FRIENDS);
  expect(cold.images.ok).toBeLessThanOrEqual(PICTURED_FRIENDS + 1 + 8);
  expect(cache.layers.network.hits).toBeGreaterThan(0);
  // 121 users (header + list) and 8 suggestions go through batch calls (at most 100 ids each),
  // not one call per user, and no user is asked for twice (the app's prefetch and the pictures'
  // gets share their loads). A load whose cross-tab lock comes late on a busy machine may still
  // go out alone.
  const asked = [...cold.batches.flat(), ...cold.singles];
  const askedTwice = asked.filter((id, i) => asked.indexOf(id) !== i);
  expect(cold.api.batch).toBeGreaterThan(0);
  expect(cold.api.user, `single-user API calls for the first open (users ${cold.singles.join(", ")}; batches of ${cold.batches.map((b) => b.length).join(", ")})`).toBeLessThanOrEqual(2);
  expect(askedTwice, "users asked for in two API calls").toEqual([]);
  expect(new Set(asked).size, "users asked for").toBe(129);
  expect(Object.values(cold.imagesById).every((n) => n === 1), "an image was downloaded twice").toBe(true);
  await snap(page, testInfo, "01-first-open");

  // Open a friend's profile twice: the picture is there on the first frame, no request is made.
  const modal = tid("profile-modal");
  const avatar = `${modal} img[data-avatar-user]`;
  for (const round of [1, 2]) {
    const before = await backend.stats();
    await page.click(tid("person-5"));
    await expect.poll(() => page.visible(modal), { message: "the profile modal opens" }).toBe(true);
    await expect.poll(() => page.attribute(avatar, "data-avatar-source")).toBe("memory");
    await expect.poll(() => page.attribute(`${modal} ${tid("profile-source")}`, "data-first-source")).toBe("memory");
    expect(await page.attribute(avatar, "src")).toMatch(/^(blob:|data:image\/)/);
    await picturesReady(page, modal, 1);
    if (round === 2) await snap(page, testInfo, "02-profile-modal");
    await page.click(tid("close-modal"));
    const after = await backend.stats();
    expect(after.api.total - before.api.total, `API calls when opening the profile (round ${round})`).toBe(0);
    expect(after.images.requests - before.images.requests, `image requests when opening the profile (round ${round})`).toBe(0);
  }
  expect(await consoleErrors(page)).toEqual([]);
});

test("a reload costs no API call and no image byte for pictures seen before", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  await page.goto(`/?ns=${ns}&sw=0`);
  await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await picturesReady(page, tid("discover"), 8);
  await picturesReady(page, tid("me"), 1);
  await idbSettled(page, ns);

  await backend.reset();
  await page.reload();
  const warm = await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await picturesReady(page, tid("discover"), 8);
  await picturesReady(page, tid("me"), 1);
  await expect.poll(() => page.evaluate(() => window.orbitCache!.stats().inFlight)).toBe(0);
  const after = await backend.stats();
  const cache = await page.evaluate(() => window.orbitCache!.stats());
  record(testInfo, `reload: ${after.api.total} API calls, ${after.images.requests} image requests, ${after.images.bytes} image bytes; list decoded at ${warm.at.toFixed(0)} ms; cache hits local ${cache.layers.local.hits}, idb ${cache.layers.indexeddb.hits}, network ${cache.layers.network.hits}`);
  figure(testInfo, "reload: API calls", after.api.total);
  figure(testInfo, "reload: image requests", after.images.requests);
  figure(testInfo, "reload: hits local / IndexedDB", `${cache.layers.local.hits} / ${cache.layers.indexeddb.hits}`);
  expect(after.api.total, `API calls after reload: ${JSON.stringify({ api: after.api, singles: after.singles, batches: after.batches })}`).toBe(0);
  expect(after.images.requests, "image requests after reload").toBe(0);
  expect(after.images.bytes).toBe(0);
  await snap(page, testInfo, "03-after-reload");
  expect(await consoleErrors(page)).toEqual([]);
});

test("offline: seen pictures render, unseen ones show the default, no console errors", async ({ session, backend }, testInfo) => {
  const ns = namespaceFor(testInfo);
  const page = await session.newTab();
  await page.goto(`/?ns=${ns}`);
  await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  await picturesReady(page, tid("discover"), 8);
  await picturesReady(page, tid("me"), 1);
  await idbSettled(page, ns);

  // The switch cuts the cache's fetch (as a dropped link would); it survives the reload.
  await page.setChecked(tid("offline-switch"), true);
  await page.reload();
  await expect
    .poll(() => page.evaluate(() => document.querySelector<HTMLInputElement>('[data-testid="offline-switch"]')?.checked ?? null))
    .toBe(true);
  await backend.reset();
  await picturesReady(page, tid("friends"), FRIEND_IDS.length);
  const shown = (scope: string) =>
    page.evaluate(
      (scope) =>
        [...document.querySelectorAll<HTMLImageElement>(`${scope} img[data-avatar-user]`)].map((i) => ({
          id: Number(i.dataset.avatarUser),
          src: i.src,
          source: i.dataset.avatarSource,
        })),
      scope,
    );
  const seen = await shown(tid("friends"));
  for (const p of seen) {
    if (p.id % 9 === 0) expect(p.src, `user ${p.id} has no picture`).toContain("default_pfp");
    else expect(/^(blob:|data:image\/)/.test(p.src), `user ${p.id} (seen before) renders its stored picture, got ${p.src} from ${p.source}`).toBe(true);
  }

  // People never seen: the default picture. (Wait for the list to show the next people: the
  // previous ones, seen before, stay on screen until the click is handled.)
  const ids = async () => (await shown(tid("discover"))).map((p) => p.id).join(",");
  const before = await ids();
  await page.click(tid("discover-more"));
  await expect.poll(ids, { message: "the discover list moved on" }).not.toBe(before);
  await picturesReady(page, tid("discover"), 8);
  const unseen = await shown(tid("discover"));
  for (const p of unseen) expect(p.src, `unseen user ${p.id} while offline`).toContain("default_pfp");
  await snap(page, testInfo, "04-offline");
  const counted = await backend.stats();
  expect(counted.api.total, "the offline tab reached the API").toBe(0);
  expect(counted.images.requests).toBe(0);
  expect(await consoleErrors(page)).toEqual([]);

  // Back online: the unseen people get their pictures.
  await page.setChecked(tid("offline-switch"), false);
  await page.click(tid("discover-more"));
  await page.click(tid("discover-more"));
  await picturesReady(page, tid("discover"), 8);
  expect(await consoleErrors(page)).toEqual([]);
});

// The package works without a bundler: a plain <script type="module"> page imports it.
import { consoleErrors, expect, figure, record, test } from "./helpers";

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

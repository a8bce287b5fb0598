// The package works without a bundler: a plain <script type="module"> page imports it.
import { expect, test } from "@playwright/test";

import { collectErrors, record } from "./helpers";

test("the package loads in a plain ES-module page without a bundler", async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto("/plain.html");
  const result = await page.waitForFunction(() => (window as unknown as { __PLAIN_RESULT__?: unknown }).__PLAIN_RESULT__, null, { timeout: 15_000 });
  const value = (await result.jsonValue()) as { version: string; first: string; second: string; peek: string | null };
  record(testInfo, `plain page: avatar-cache ${value.version}, first get from ${value.first}, second from ${value.second}`);
  expect(["network", "indexeddb"]).toContain(value.first);
  expect(value.second).toBe("memory");
  expect(value.peek).toBe("memory");
  expect(await page.locator("#avatar").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  expect(errors).toEqual([]);
});

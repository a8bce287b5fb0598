// Chromium through Playwright (Debian's /usr/bin/chromium, from the config's launchOptions).
import { join } from "node:path";

import type { LaunchOptions, Page, PlaywrightWorkerArgs, TestInfo } from "@playwright/test";
import type { Browser, FakeClock, Tab } from "./driver";

type PlaywrightApi = PlaywrightWorkerArgs["playwright"];

export async function openPlaywrightChromium(
  playwright: PlaywrightApi,
  launchOptions: LaunchOptions,
  baseURL: string,
  testInfo: TestInfo,
): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const chromium = await playwright.chromium.launch(launchOptions);
  const context = await chromium.newContext({ baseURL, viewport: { width: 1360, height: 900 } });
  const pages = new Map<Tab, Page>();

  const browser: Browser = {
    engine: "chromium",
    privateMode: false,
    async userAgent() {
      const page = await context.newPage();
      const ua = await page.evaluate(() => navigator.userAgent);
      await page.close();
      return ua;
    },
    async newTab() {
      const page = await context.newPage();
      const tab = playwrightTab(page);
      pages.set(tab, page);
      return tab;
    },
    clock(tab: Tab): FakeClock | undefined {
      const page = pages.get(tab);
      if (!page) return undefined;
      return {
        install: (now) => page.clock.install({ time: now }),
        fastForward: (ms) => page.clock.fastForward(ms),
      };
    },
    async limitStorage(tab: Tab, bytes: number) {
      const page = pages.get(tab);
      if (!page) return false;
      const cdp = await context.newCDPSession(page);
      await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(baseURL).origin, quotaSize: bytes });
      return true;
    },
  };

  const close = async () => {
    if (testInfo.status !== testInfo.expectedStatus) {
      let i = 0;
      for (const page of pages.values()) {
        await page.screenshot({ path: join(testInfo.outputDir, `failure-tab-${i++}.png`) }).catch(() => undefined);
      }
    }
    await context.close();
    await chromium.close();
  };
  return { browser, close };
}

/** A Playwright page as a `Tab` (also for the Chromium-only specs that need the page itself). */
export function playwrightTab(page: Page): Tab {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return {
    async goto(path) {
      await page.goto(path);
    },
    async reload() {
      await page.reload();
    },
    evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
      const evaluate = page.evaluate.bind(page) as unknown as (fn: (arg: A) => R | Promise<R>, arg: A) => Promise<R>;
      return evaluate(fn, arg as A);
    },
    async click(selector) {
      await page.locator(selector).first().click();
    },
    async fill(selector, text) {
      await page.locator(selector).first().fill(text);
    },
    async setChecked(selector, checked) {
      await page.locator(selector).first().waitFor({ state: "attached" });
      await page.evaluate(
        ({ selector, checked }) => {
          const box = document.querySelector<HTMLInputElement>(selector)!;
          if (box.checked !== checked) box.click();
        },
        { selector, checked },
      );
    },
    async attribute(selector, name) {
      return page.evaluate(({ selector, name }) => document.querySelector(selector)?.getAttribute(name) ?? null, { selector, name });
    },
    async visible(selector) {
      return page.locator(selector).first().isVisible();
    },
    async screenshot(path) {
      await page.screenshot({ path });
    },
    async errors() {
      return [...errors];
    },
  };
}

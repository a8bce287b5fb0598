// The one thing the specs drive: a browser with tabs, the same for every engine. Chromium runs
// through Playwright; Firefox (geckodriver) and WebKitGTK (WebKitWebDriver) through W3C WebDriver
// with selenium-webdriver. The Playwright test runner runs every project; only the `chromium`
// project opens a Playwright browser.
import { test as base } from "@playwright/test";

export type EngineName = "chromium" | "firefox" | "webkit";

/** A CSS selector for `data-testid="<id>"`. */
export const tid = (id: string) => `[data-testid="${id}"]`;

/** One tab (a top-level browsing context) of the engine's browser. */
export interface Tab {
  /** Navigates to a path of the app origin and waits for the load event. */
  goto(path: string): Promise<void>;
  reload(): Promise<void>;
  /**
   * Runs `fn(arg)` in the page and returns its (awaited, JSON-serialisable) result. `fn` is sent
   * as source text: it must not use anything from the spec's scope.
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** Clicks the first element matching `selector` once it is there and visible. */
  click(selector: string): Promise<void>;
  /** Replaces the text of an input as a user typing would. */
  fill(selector: string, text: string): Promise<void>;
  /** Sets a checkbox (clicked through the DOM: a styled switch may hide the box itself). */
  setChecked(selector: string, checked: boolean): Promise<void>;
  /** The attribute of the first element matching `selector`, `null` when it or the element is absent. */
  attribute(selector: string, name: string): Promise<string | null>;
  visible(selector: string): Promise<boolean>;
  screenshot(path: string): Promise<void>;
  /** Console errors, uncaught exceptions and unhandled rejections of this tab so far (every page it showed). */
  errors(): Promise<string[]>;
}

/** The page's clock, moved forward without waiting. Only where the engine's driver can fake it. */
export interface FakeClock {
  /** Must be called before the first `goto`. */
  install(now: number): Promise<void>;
  fastForward(ms: number): Promise<void>;
}

export interface Browser {
  engine: EngineName;
  /** Private browsing (Firefox `-private`): storage is kept only for the session. */
  privateMode: boolean;
  /** The browser's user agent string. */
  userAgent(): Promise<string>;
  newTab(): Promise<Tab>;
  /** The fake clock of a tab, where the engine has one reachable from its driver. */
  clock(tab: Tab): FakeClock | undefined;
  /**
   * Caps the storage quota of the app's origin at `bytes` for this session, where the engine's
   * driver can (Chromium: the DevTools protocol's `Storage.overrideQuotaForOrigin`). Whether it did.
   */
  limitStorage(tab: Tab, bytes: number): Promise<boolean>;
}

export interface EngineOptions {
  engine: EngineName;
  privateMode: boolean;
  /** Firefox preferences for the session (e.g. a storage switched off); Firefox only. */
  firefoxPrefs: Record<string, string | number | boolean>;
}

export const test = base.extend<EngineOptions & { browserUnderTest: Browser }>({
  engine: ["chromium", { option: true }],
  privateMode: [false, { option: true }],
  firefoxPrefs: [{}, { option: true }],
  browserUnderTest: async ({ engine, privateMode, firefoxPrefs, playwright, launchOptions, baseURL }, use, testInfo) => {
    if (!baseURL) throw new Error("baseURL is not configured");
    if (engine === "chromium") {
      const { openPlaywrightChromium } = await import("./driver-playwright");
      const { browser, close } = await openPlaywrightChromium(playwright, launchOptions, baseURL, testInfo);
      try {
        await use(browser);
      } finally {
        await close();
      }
    } else {
      const { openWebDriverBrowser } = await import("./driver-webdriver");
      const { browser, close } = await openWebDriverBrowser(engine, privateMode, firefoxPrefs, baseURL, testInfo);
      try {
        await use(browser);
      } finally {
        await close();
      }
    }
  },
});

export { expect } from "@playwright/test";

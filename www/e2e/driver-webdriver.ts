// Firefox ESR (geckodriver) and WebKitGTK (WebKitWebDriver) over W3C WebDriver, with
// selenium-webdriver. Only local binaries are used: the driver paths are given explicitly, so
// selenium-webdriver never runs its driver/browser download tool.
//
// One WebDriver session has one current window, so every command of a tab first switches to that
// tab's window, one command at a time. Tabs are opened as separate windows: in one window a
// background tab would stop painting (no requestAnimationFrame) until it is switched to.
//
// Console errors: the dev backend started with --console-probe puts a small script first in every
// HTML page it serves; it records console.error calls, uncaught errors and unhandled rejections in
// `window.__E2E_CONSOLE_ERRORS__`, which a tab reads before it navigates and when asked.
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";

import type { TestInfo } from "@playwright/test";
import type { WebDriver as WebDriverType, WebElement } from "selenium-webdriver";
import type * as FirefoxModule from "selenium-webdriver/firefox";
import type * as HttpModule from "selenium-webdriver/http";

import type { Browser, EngineName, Tab } from "./driver";

const require = createRequire(import.meta.url);
const webdriver = require("selenium-webdriver") as typeof import("selenium-webdriver");
const firefox = require("selenium-webdriver/firefox") as typeof FirefoxModule;
const http = require("selenium-webdriver/http") as typeof HttpModule;

const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? "/usr/bin/WebKitWebDriver";
const SCRIPT_TIMEOUT_MS = 90_000;
const FIND_TIMEOUT_MS = 15_000;
const VIEWPORT = { width: 1360, height: 900 };

function geckodriverPath(): string {
  if (process.env.GECKODRIVER) return process.env.GECKODRIVER;
  return execFileSync("sh", ["-c", "command -v geckodriver"], { encoding: "utf8" }).trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function waitForDriver(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${WEBKIT_DRIVER} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/status`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${WEBKIT_DRIVER} did not answer on ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startFirefox(privateMode: boolean, prefs: Record<string, string | number | boolean>): Promise<{ driver: WebDriverType; stop: () => Promise<void> }> {
  const options = new firefox.Options()
    .setBinary(FIREFOX)
    .addArguments("-headless", `--width=${VIEWPORT.width}`, `--height=${VIEWPORT.height}`)
    // The same quiet profile as the wasm suites (webdriver.json).
    .setPreference("network.proxy.type", 0)
    .setPreference("app.update.enabled", false)
    .setPreference("browser.shell.checkDefaultBrowser", false)
    .setPreference("datareporting.policy.dataSubmissionEnabled", false)
    .setPreference("toolkit.telemetry.enabled", false);
  for (const [name, value] of Object.entries(prefs)) options.setPreference(name, value);
  // Private browsing for every window of the session, as `firefox -private` does. System access
  // lets the driver ask the browser whether the window really is private.
  if (privateMode) options.setPreference("browser.privatebrowsing.autostart", true);
  const service = new firefox.ServiceBuilder(geckodriverPath()).setHostname("127.0.0.1");
  if (privateMode) service.addArguments("--allow-system-access");
  const driver = (await new webdriver.Builder().forBrowser("firefox").setFirefoxOptions(options).setFirefoxService(service).build()) as InstanceType<typeof firefox.Driver>;
  if (privateMode) {
    await driver.setContext(firefox.Context.CHROME);
    const isPrivate = await driver.executeScript<boolean>("return PrivateBrowsingUtils.isWindowPrivate(window)");
    await driver.setContext(firefox.Context.CONTENT);
    if (isPrivate !== true) {
      await driver.quit();
      throw new Error("Firefox did not open a private window (browser.privatebrowsing.autostart)");
    }
  }
  return { driver, stop: () => driver.quit() };
}

/** A WebKitWebDriver session not open within this is given up, and the driver started again. */
const WEBKIT_SESSION_MS = 30_000;

/** WebKitWebDriver did not open its session in time. */
class SessionNotOpened extends Error {}

async function startWebKit(): Promise<{ driver: WebDriverType; stop: () => Promise<void> }> {
  // WebKitWebDriver starts MiniBrowser in automation mode; it needs a display (xvfb-run -a).
  if (!process.env.DISPLAY) throw new Error("WebKitGTK needs a display: run under xvfb-run -a");
  const port = await freePort();
  // In a process group of its own, so that stopping it stops the MiniBrowser it launched too
  // (a session given up never had its browser quit).
  const child = spawn(WEBKIT_DRIVER, [`--port=${port}`], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const kill = () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      child.kill();
    }
  };
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await waitForDriver(url, child);
    const driver = webdriver.WebDriver.createSession(
      new http.Executor(new http.HttpClient(url)),
      new webdriver.Capabilities({ browserName: "MiniBrowser" }),
    );
    const notOpened = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SessionNotOpened(`WebKitWebDriver opened no session in ${WEBKIT_SESSION_MS} ms`)), WEBKIT_SESSION_MS);
    });
    await Promise.race([driver.manage().window().setRect(VIEWPORT), notOpened]);
    return {
      driver,
      stop: async () => {
        await driver.quit().catch(() => undefined);
        kill();
      },
    };
  } catch (e) {
    kill();
    if (e instanceof SessionNotOpened) throw new SessionNotOpened(`${e.message}\n${stderr}`);
    throw new Error(`${e}\n${stderr}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * WebKitGTK, started again once when its driver opens no session: now and then WebKitWebDriver
 * never answers the new-session request, and the test timed out before it began (seen once in
 * a CI run of the three engines here).
 */
async function startWebKitOnceMore(testInfo: TestInfo): Promise<{ driver: WebDriverType; stop: () => Promise<void> }> {
  try {
    return await startWebKit();
  } catch (e) {
    if (!(e instanceof SessionNotOpened)) throw e;
    console.error(`[webkit] ${e.message.split("\n")[0]}: starting the driver again`);
    // The time given up is not the test's.
    testInfo.setTimeout(testInfo.timeout + WEBKIT_SESSION_MS);
    return startWebKit();
  }
}

export async function openWebDriverBrowser(
  engine: EngineName,
  privateMode: boolean,
  firefoxPrefs: Record<string, string | number | boolean>,
  baseURL: string,
  testInfo: TestInfo,
): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const origin = new URL(baseURL).origin;
  const { driver, stop } = engine === "firefox" ? await startFirefox(privateMode, firefoxPrefs) : await startWebKitOnceMore(testInfo);
  await driver.manage().setTimeouts({ script: SCRIPT_TIMEOUT_MS, pageLoad: 60_000 });

  // One command at a time, in the right window.
  let queue: Promise<unknown> = Promise.resolve();
  let current = await driver.getWindowHandle();
  let initialUsed = false;
  const inWindow = <T>(handle: string, op: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      if (current !== handle) {
        await driver.switchTo().window(handle);
        current = handle;
      }
      return op();
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const handles: string[] = [];
  const browser: Browser = {
    engine,
    privateMode,
    async userAgent() {
      return inWindow(current, () => driver.executeScript<string>("return navigator.userAgent"));
    },
    async newTab() {
      const handle = await inWindow(current, async () => {
        if (!initialUsed) {
          initialUsed = true;
          return current;
        }
        await driver.switchTo().newWindow("window");
        current = await driver.getWindowHandle();
        return current;
      });
      handles.push(handle);
      return webDriverTab(driver, handle, origin, baseURL, inWindow);
    },
    clock() {
      // A fake clock must replace Date and the timers before the page's scripts run; classic
      // WebDriver has no way to run a script before them.
      return undefined;
    },
    async limitStorage() {
      // Firefox's quota is a profile preference read at start, WebKit's has no switch: neither
      // can be set for one origin from the driver.
      return false;
    },
  };

  const close = async () => {
    if (testInfo.status !== testInfo.expectedStatus) {
      for (const [i, handle] of handles.entries()) {
        await inWindow(handle, async () => {
          writeFileSync(join(testInfo.outputDir, `failure-tab-${i}.png`), await driver.takeScreenshot(), "base64");
        }).catch(() => undefined);
      }
    }
    await stop();
  };
  return { browser, close };
}

function webDriverTab(
  driver: WebDriverType,
  handle: string,
  origin: string,
  baseURL: string,
  inWindow: <T>(handle: string, op: () => Promise<T>) => Promise<T>,
): Tab {
  const errors: string[] = [];
  const run = <T>(op: () => Promise<T>) => inWindow(handle, op);

  /** Moves the page's recorded console errors into `errors` (inside `run`). */
  const harvest = async () => {
    const seen = await driver.executeScript<{ origin: string; href: string; errors: string[] | null }>(
      `const list = window.__E2E_CONSOLE_ERRORS__;
       return { origin: location.origin, href: location.href, errors: list ? list.splice(0) : null };`,
    );
    if (seen.origin !== origin) return;
    if (seen.errors === null) errors.push(`no console probe on ${seen.href}: start the backend with --console-probe`);
    else errors.push(...seen.errors);
  };

  const find = async (selector: string): Promise<WebElement> => {
    const deadline = Date.now() + FIND_TIMEOUT_MS;
    for (;;) {
      const [el] = await driver.findElements(webdriver.By.css(selector));
      if (el && (await el.isDisplayed().catch(() => false))) return el;
      if (Date.now() > deadline) throw new Error(`no visible element ${selector} after ${FIND_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return {
    goto: (path) =>
      run(async () => {
        await harvest();
        await driver.get(new URL(path, baseURL).href);
      }),
    reload: () =>
      run(async () => {
        await harvest();
        await driver.navigate().refresh();
      }),
    evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
      return run(async () => {
        const answer = await driver.executeAsyncScript<{ ok: boolean; value?: R; error?: string }>(
          `const done = arguments[arguments.length - 1];
           const arg = arguments[0];
           Promise.resolve()
             .then(() => (${fn.toString()})(arg))
             .then((value) => done({ ok: true, value: value === undefined ? null : value }),
                   (e) => done({ ok: false, error: String((e && e.message) || e) }));`,
          arg === undefined ? null : arg,
        );
        if (!answer.ok) throw new Error(`in the page: ${answer.error}`);
        return answer.value as R;
      });
    },
    click: (selector) =>
      run(async () => {
        const deadline = Date.now() + FIND_TIMEOUT_MS;
        for (;;) {
          try {
            await (await find(selector)).click();
            return;
          } catch (e) {
            // Covered for a moment (an opening dialog) or re-rendered: try again until the deadline.
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }),
    fill: (selector, text) =>
      run(async () => {
        const el = await find(selector);
        await el.clear();
        await el.sendKeys(text);
        const value = await el.getProperty("value");
        if (value !== text) throw new Error(`${selector} holds ${JSON.stringify(value)} after typing ${JSON.stringify(text)}`);
      }),
    setChecked: (selector, checked) =>
      run(async () => {
        const deadline = Date.now() + FIND_TIMEOUT_MS;
        while ((await driver.findElements(webdriver.By.css(selector))).length === 0) {
          if (Date.now() > deadline) throw new Error(`no element ${selector}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await driver.executeScript(
          "const box = document.querySelector(arguments[0]); if (box.checked !== arguments[1]) box.click();",
          selector,
          checked,
        );
      }),
    attribute: (selector, name) =>
      run(() =>
        driver.executeScript<string | null>(
          "const el = document.querySelector(arguments[0]); return el ? el.getAttribute(arguments[1]) : null;",
          selector,
          name,
        ),
      ),
    visible: (selector) =>
      run(async () => {
        const [el] = await driver.findElements(webdriver.By.css(selector));
        return el ? el.isDisplayed() : false;
      }),
    screenshot: (path) =>
      run(async () => {
        writeFileSync(path, await driver.takeScreenshot(), "base64");
      }),
    errors: () =>
      run(async () => {
        await harvest();
        return [...errors];
      }),
  };
}

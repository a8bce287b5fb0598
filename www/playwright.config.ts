// End-to-end tests: one set of specs (e2e/*.spec.ts), one project per engine. The specs drive a
// browser through e2e/driver.ts: Chromium through Playwright (Debian's Chromium, no browser
// download), Firefox ESR through geckodriver and WebKitGTK through WebKitWebDriver (W3C WebDriver,
// selenium-webdriver; WebKitGTK needs a display: xvfb-run -a). scripts/e2e.sh starts the backend
// on free ports and passes E2E_BASE_URL; without it, Playwright starts one itself on E2E_PORT
// (default 4391) serving the built app from dist/.
//
//   npx playwright test --project chromium            (the default: --project firefox, firefox-private, webkit)
import { defineConfig } from "@playwright/test";

import type { EngineOptions } from "./e2e/driver";

const port = Number(process.env.E2E_PORT ?? 4391);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${port}`;

export default defineConfig<EngineOptions>({
  testDir: "e2e",
  outputDir: "test-results",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // One backend, one set of counters: the specs run one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [["list"], ["json", { outputFile: "e2e-artifacts/report.json" }]],
  use: {
    baseURL,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
      ],
    },
  },
  projects: [
    { name: "chromium", use: { engine: "chromium" }, testIgnore: "private.spec.ts" },
    { name: "firefox", use: { engine: "firefox" }, testIgnore: "private.spec.ts" },
    // Private browsing: the storage journeys again, and private.spec.ts (IndexedDB or
    // localStorage switched off too), in sessions that keep nothing.
    { name: "firefox-private", use: { engine: "firefox", privateMode: true }, testMatch: ["cache.spec.ts", "cross-tab.spec.ts", "plain-module.spec.ts", "private.spec.ts"] },
    { name: "webkit", use: { engine: "webkit" }, testIgnore: "private.spec.ts" },
  ],
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : {
        command: `node server/main.mjs --port ${port} --static dist --pkg ../pkg --console-probe --quiet`,
        url: `${baseURL}/__stats`,
        reuseExistingServer: false,
        timeout: 30_000,
      },
});

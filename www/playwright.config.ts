// End-to-end tests against Debian's Chromium (no browser download). scripts/e2e.sh starts the
// backend on free ports and passes E2E_BASE_URL; without it, Playwright starts one itself on
// E2E_PORT (default 4391) serving the built app from dist/.
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 4391);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${port}`;

export default defineConfig({
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
    viewport: { width: 1360, height: 900 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
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
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : {
        command: `node server/main.mjs --port ${port} --static dist --quiet`,
        url: `${baseURL}/__stats`,
        reuseExistingServer: false,
        timeout: 30_000,
      },
});

// Shared steps of the end-to-end specs: the backend's counters and controls, waiting for
// pictures, screenshots and figures kept in e2e-artifacts/. Every step goes through the `Tab` of
// ./driver, so the same specs run in Chromium, Firefox and WebKitGTK.
import { mkdirSync, appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestInfo } from "@playwright/test";

import type { BackendControl, BackendStats } from "../src/api";
import { expect, test as driverTest, type Browser, type Tab } from "./driver";

export { expect, tid, type Browser, type Tab } from "./driver";

export const ARTIFACTS = join(import.meta.dirname, "..", "e2e-artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

export const DEFAULT_CONTROL: BackendControl = {
  latencyMs: 40,
  storageLatencyMs: 30,
  jitterMs: 0,
  failRate: 0,
  offline: false,
  urlLifetimeSec: 3600,
  clockOffsetMs: 0,
  cors: true,
};

/** The dev backend's counters and controls, asked from Node (not through a browser). */
export class Backend {
  constructor(private readonly baseURL: string) {}

  async stats(): Promise<BackendStats> {
    const res = await fetch(new URL("/__stats", this.baseURL));
    expect(res.ok).toBe(true);
    return (await res.json()) as BackendStats;
  }

  async reset(): Promise<void> {
    expect((await fetch(new URL("/__stats/reset", this.baseURL), { method: "POST" })).ok).toBe(true);
  }

  async control(patch: Partial<BackendControl>): Promise<void> {
    const res = await fetch(new URL("/__control", this.baseURL), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(patch),
    });
    expect(res.ok, await res.text()).toBe(true);
  }
}

/**
 * The specs' `test`: `session` is a browser of the engine under test (the project's), `backend`
 * the dev backend. Each test gets a new browser session (fresh storage) and writes the engine's user
 * agent to e2e-artifacts/ua-<project>.txt.
 */
export const test = driverTest.extend<{ session: Browser; backend: Backend }>({
  session: async ({ browserUnderTest }, use, testInfo) => {
    writeFileSync(join(ARTIFACTS, `ua-${testInfo.project.name}.txt`), `${await browserUnderTest.userAgent()}\n`);
    await use(browserUnderTest);
  },
  backend: async ({ baseURL }, use) => {
    await use(new Backend(baseURL!));
  },
});

/** A fresh key namespace per test, so no test sees another's stored pictures. */
export function namespaceFor(testInfo: TestInfo): string {
  return `e2e_${testInfo.title.replace(/\W+/g, "_").slice(0, 40)}_${Date.now().toString(36)}`;
}

export interface Readiness {
  /** ms since navigation start when every picture in scope was decoded. */
  at: number;
  count: number;
  sources: Record<string, number>;
}

/**
 * Waits until every profile picture inside `scope` is ready and decoded (`img.decode()` done,
 * `complete && naturalWidth > 0`), and returns when that was, relative to navigation start.
 */
export async function picturesReady(tab: Tab, scope: string, expected: number, timeoutMs = 30_000): Promise<Readiness> {
  return tab.evaluate(
    async ({ scope, expected, timeoutMs }) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const imgs = [...document.querySelectorAll<HTMLImageElement>(`${scope} img[data-avatar-user]`)];
        const ready =
          imgs.length >= expected &&
          imgs.every((i) => i.dataset.avatarState === "ready" && i.complete && i.naturalWidth > 0);
        if (ready) {
          await Promise.all(imgs.map((i) => i.decode().catch(() => undefined)));
          const still = imgs.every((i) => i.isConnected && i.complete && i.naturalWidth > 0);
          if (still) {
            const sources: Record<string, number> = {};
            for (const i of imgs) sources[i.dataset.avatarSource ?? "?"] = (sources[i.dataset.avatarSource ?? "?"] ?? 0) + 1;
            return { at: performance.now(), count: imgs.length, sources };
          }
        }
        if (performance.now() > deadline) {
          const states: Record<string, number> = {};
          for (const i of imgs) {
            const k = `${i.dataset.avatarState}/${i.complete && i.naturalWidth > 0 ? "decoded" : "pending"}`;
            states[k] = (states[k] ?? 0) + 1;
          }
          throw new Error(`pictures in ${scope} not ready after ${timeoutMs} ms: ${imgs.length} found, ${JSON.stringify(states)}`);
        }
        await new Promise((r) => requestAnimationFrame(() => r(undefined)));
      }
    },
    { scope, expected, timeoutMs },
  );
}

/**
 * Rows in the `images` store of the cache's IndexedDB database for namespace `ns` (read
 * directly). The service worker keeps its records in a second database of the namespace
 * (`…:records`, no `images` store): the one with the store is counted.
 */
export async function storedImageCount(tab: Tab, ns: string): Promise<number> {
  return tab.evaluate(async (ns) => {
    const names = (await indexedDB.databases()).map((d) => d.name).filter((n): n is string => Boolean(n?.includes(ns)));
    const count = (name: string) =>
      new Promise<number | null>((resolve) => {
        const req = indexedDB.open(name);
        req.onerror = () => resolve(-1);
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains("images")) {
            db.close();
            return resolve(null);
          }
          const rows = db.transaction("images", "readonly").objectStore("images").count();
          rows.onsuccess = () => {
            db.close();
            resolve(rows.result);
          };
          rows.onerror = () => {
            db.close();
            resolve(-1);
          };
        };
      });
    for (const name of names) {
      const rows = await count(name);
      if (rows !== null) return rows;
    }
    return 0;
  }, ns);
}

/**
 * Waits until the cache's IndexedDB writes (which never delay an answer) have committed: the
 * database holds at least one image per distinct picture the page shows from its bytes (an
 * object URL, or a `data:` URL of a small image).
 * Returns how long that took.
 */
export async function idbSettled(tab: Tab, ns: string): Promise<number> {
  const t0 = Date.now();
  const shown = await tab.evaluate(() => {
    const imgs = [...document.querySelectorAll<HTMLImageElement>("img[data-avatar-user]")];
    const stored = (i: HTMLImageElement) => i.dataset.avatarState === "ready" && /^(blob:|data:image\/)/.test(i.src);
    return new Set(imgs.filter(stored).map((i) => i.dataset.avatarUser)).size;
  });
  // Soft: a missing write fails the test, but the journey goes on so that its figures (what a
  // reload then costs) are still taken.
  const errorsBefore = test.info().errors.length;
  await expect
    .configure({ soft: true })
    .poll(() => storedImageCount(tab, ns), { timeout: 20_000, message: `IndexedDB should hold ${shown} images` })
    .toBeGreaterThanOrEqual(shown);
  if (test.info().errors.length > errorsBefore) {
    // Say what the cache itself knows about the missing writes.
    const cache = await tab.evaluate(() => {
      const s = window.orbitCache?.stats();
      return s ? { idb: s.idb, inFlight: s.inFlight, recentErrors: s.recentErrors.slice(-3) } : null;
    });
    const line = `IndexedDB holds ${await storedImageCount(tab, ns)} of ${shown} images; cache stats ${JSON.stringify(cache)}`;
    console.log(`[idb] [${test.info().project.name}] ${line}`);
    test.info().annotations.push({ type: "IndexedDB writes missing", description: line });
  }
  await expect.poll(async () => tab.evaluate(() => window.orbitCache?.stats().inFlight ?? -1)).toBe(0);
  return Date.now() - t0;
}

/** Saves a screenshot as e2e-artifacts/<project>-<name>.png and attaches it to the test report. */
export async function snap(tab: Tab, testInfo: TestInfo, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${testInfo.project.name}-${name}.png`);
  await tab.screenshot(path);
  await testInfo.attach(name, { path, contentType: "image/png" });
}

/** Appends a measurement line to e2e-artifacts/measurements.txt and to the test output. */
export function record(testInfo: TestInfo, line: string): void {
  console.log(`[measure] [${testInfo.project.name}] ${line}`);
  appendFileSync(join(ARTIFACTS, "measurements.txt"), `${new Date().toISOString()} [${testInfo.project.name}] ${testInfo.title}: ${line}\n`);
  testInfo.annotations.push({ type: "measurement", description: line });
}

/**
 * A journey figure, compared across engines: appended to e2e-artifacts/figures-<project>.jsonl,
 * printed side by side by e2e/figures.mjs.
 */
export function figure(testInfo: TestInfo, name: string, value: number | string, unit = ""): void {
  const line = JSON.stringify({ name, value, unit });
  appendFileSync(join(ARTIFACTS, `figures-${testInfo.project.name}.jsonl`), `${line}\n`);
}

/** Says in the report that this engine skips one step of the journey, and why. */
export function skipStep(testInfo: TestInfo, step: string, why: string): void {
  const line = `${testInfo.project.name} skips "${step}": ${why}`;
  console.log(`[skip] ${line}`);
  testInfo.annotations.push({ type: "skipped step", description: line });
  appendFileSync(join(ARTIFACTS, "measurements.txt"), `${new Date().toISOString()} [${testInfo.project.name}] ${testInfo.title}: skipped step: ${step} (${why})\n`);
}

/** Every console error of the given tabs (each tab's every page so far). */
export async function consoleErrors(...tabs: Tab[]): Promise<string[]> {
  return (await Promise.all(tabs.map((t) => t.errors()))).flat();
}

/** The users whose seeded picture is the default one (every ninth id). */
export const hasPicture = (id: number) => id % 9 !== 0;
/** The 120 friends are users 2..121. */
export const FRIEND_IDS = Array.from({ length: 120 }, (_, i) => i + 2);
export const PICTURED_FRIENDS = FRIEND_IDS.filter(hasPicture).length;


// Shared steps of the end-to-end specs: the backend's counters and controls, waiting for
// pictures, console-error collection and screenshots kept in e2e-artifacts/.
import { mkdirSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { expect, type APIRequestContext, type Page, type TestInfo } from "@playwright/test";

import type { BackendControl, BackendStats } from "../src/api";

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

export class Backend {
  constructor(private readonly request: APIRequestContext) {}

  async stats(): Promise<BackendStats> {
    const res = await this.request.get("/__stats");
    expect(res.ok()).toBe(true);
    return (await res.json()) as BackendStats;
  }

  async reset(): Promise<void> {
    expect((await this.request.post("/__stats/reset")).ok()).toBe(true);
  }

  async control(patch: Partial<BackendControl>): Promise<void> {
    const res = await this.request.post("/__control", { data: patch });
    expect(res.ok(), await res.text()).toBe(true);
  }
}

/** A fresh key namespace per test, so no test sees another's stored pictures. */
export function namespaceFor(testInfo: TestInfo): string {
  return `e2e_${testInfo.title.replace(/\W+/g, "_").slice(0, 40)}_${Date.now().toString(36)}`;
}

/** Collects console errors and uncaught exceptions of a page. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
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
export async function picturesReady(page: Page, scope: string, expected: number, timeoutMs = 30_000): Promise<Readiness> {
  return page.evaluate(
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

/** Rows in the `images` store of the cache's IndexedDB database for namespace `ns` (read directly). */
export async function storedImageCount(page: Page, ns: string): Promise<number> {
  return page.evaluate(async (ns) => {
    const info = (await indexedDB.databases()).find((d) => d.name?.includes(ns));
    if (!info?.name) return 0;
    return new Promise<number>((resolve) => {
      const req = indexedDB.open(info.name!);
      req.onerror = () => resolve(-1);
      req.onsuccess = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("images")) {
          db.close();
          return resolve(0);
        }
        const count = db.transaction("images", "readonly").objectStore("images").count();
        count.onsuccess = () => {
          db.close();
          resolve(count.result);
        };
        count.onerror = () => {
          db.close();
          resolve(-1);
        };
      };
    });
  }, ns);
}

/**
 * Waits until the cache's IndexedDB writes (which never delay an answer) have committed: the
 * database holds at least one image per distinct picture the page shows from an object URL.
 * Returns how long that took.
 */
export async function idbSettled(page: Page, ns: string): Promise<number> {
  const t0 = Date.now();
  const shown = await page.evaluate(() => {
    const imgs = [...document.querySelectorAll<HTMLImageElement>("img[data-avatar-user]")];
    return new Set(imgs.filter((i) => i.src.startsWith("blob:")).map((i) => i.dataset.avatarUser)).size;
  });
  await expect
    .poll(() => storedImageCount(page, ns), { timeout: 20_000, message: `IndexedDB should hold ${shown} images` })
    .toBeGreaterThanOrEqual(shown);
  await expect.poll(async () => page.evaluate(() => window.orbitCache?.stats().inFlight ?? -1)).toBe(0);
  return Date.now() - t0;
}

/** Saves a screenshot under e2e-artifacts/ and attaches it to the test report. */
export async function snap(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

/** Appends a measurement line to e2e-artifacts/measurements.txt and to the test output. */
export function record(testInfo: TestInfo, line: string): void {
  console.log(`[measure] ${line}`);
  appendFileSync(join(ARTIFACTS, "measurements.txt"), `${new Date().toISOString()} ${testInfo.title}: ${line}\n`);
  testInfo.annotations.push({ type: "measurement", description: line });
}

/** The users whose seeded picture is the default one (every ninth id). */
export const hasPicture = (id: number) => id % 9 !== 0;
/** The 120 friends are users 2..121. */
export const FRIEND_IDS = Array.from({ length: 120 }, (_, i) => i + 2);
export const PICTURED_FRIENDS = FRIEND_IDS.filter(hasPicture).length;

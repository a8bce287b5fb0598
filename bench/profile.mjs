#!/usr/bin/env node
// Profiles bench steps in Chromium with a wasm that kept its function names, and prints where
// the time goes (self and inclusive, by function). For finding what to improve, not a benchmark.
//
//   node profile.mjs [--steps hits] [--names target/names]   (scripts/bench.sh builds target/names)
//
// Steps: populate, comparison stores, hits, localStorage layer, prefetch, cold miss, LRU eviction.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { namedPkg, profiledChromium, ProfileTotals } from "./cpu-profile.mjs";
import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const steps = opt("--steps", "hits").split(",");
const server = await startServer({ pkgDir: namedPkg(here, opt("--names", "target/names")) });
const { browser, page, cdp } = await profiledChromium();
const profiles = [];
await page.exposeFunction("__benchProfile", async (what, name) => {
  if (what === "start") await cdp.send("Profiler.start");
  else profiles.push([name, (await cdp.send("Profiler.stop")).profile]);
});
page.on("console", (m) => m.type() === "log" && console.error(`[chromium] ${m.text()}`));
const only = ["populate", "comparison stores", ...steps].filter((s, i, a) => a.indexOf(s) === i);
await page.goto(`${server.url}/index.html?quick=1&only=${encodeURIComponent(only.join(","))}&profile=${encodeURIComponent(steps.join(","))}`);
await page.waitForFunction(() => window.__BENCH_RESULT__, null, { timeout: 600_000 });
await browser.close();
await server.close();

mkdirSync(join(here, "results"), { recursive: true });
for (const [name, profile] of profiles) {
  writeFileSync(join(here, "results", `${name.replace(/\W+/g, "-")}.cpuprofile`), JSON.stringify(profile));
  const totals = new ProfileTotals();
  totals.add(profile);
  totals.print(name);
}

#!/usr/bin/env node
// Profiles the journey of issue 11 in Chromium (page/journey.html: a reload, import, open and
// 100 concurrent gets of stored users, beside the floor's read) with a wasm that kept its function
// names, and prints where the main thread's time goes over the whole reload, by function (self
// and inclusive). For finding what to improve, not a benchmark: the profiler slows the page.
//
//   node profile-journey.mjs [--names target/names] [--reloads 3]   (scripts/bench.sh builds target/names)
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { namedPkg, profiledChromium, ProfileTotals } from "./cpu-profile.mjs";
import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const reloads = Number(opt("--reloads", "3"));
const server = await startServer({ pkgDir: namedPkg(here, opt("--names", "target/names")) });
const { browser, page, cdp } = await profiledChromium();
let counter = 0;
const visit = async (params) => {
  const key = `p${++counter}`;
  const wait = server.waitResult(key, 120_000);
  await page.goto(`${server.url}/journey.html?${new URLSearchParams({ ...params, users: "100", visit: key })}`);
  const r = await wait;
  if (r.error) throw new Error(r.error);
  return r;
};
await visit({ phase: "warm" });
await visit({ phase: "measure", mode: "gets", order: "floor-first" });
mkdirSync(join(here, "results"), { recursive: true });
const totals = new ProfileTotals();
for (let i = 0; i < reloads; i++) {
  await cdp.send("Profiler.start");
  const r = await visit({ phase: "measure", mode: "gets", order: "floor-first" });
  const { profile } = await cdp.send("Profiler.stop");
  writeFileSync(join(here, "results", `journey-${i + 1}.cpuprofile`), JSON.stringify(profile));
  console.error(`reload ${i + 1}: gets ${r.cache.getsMs.toFixed(1)} ms, floor read ${r.floor.readMs.toFixed(1)} ms`);
  totals.add(profile);
}
await browser.close();
await server.close();
totals.print(`journey, ${reloads} reloads`, 40);

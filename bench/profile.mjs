#!/usr/bin/env node
// Profiles bench steps in Chromium with a wasm that kept its function names, and prints where
// the time goes (self and inclusive, by function). For finding what to improve, not a benchmark.
//
//   node profile.mjs [--steps hits] [--names target/names]   (scripts/bench.sh builds target/names)
//
// Steps: populate, comparison stores, hits, localStorage layer, prefetch, cold miss, LRU eviction.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const steps = opt("--steps", "hits").split(",");
const names = resolve(here, opt("--names", "target/names"));
const named = join(names, "avatar_cache_named.wasm");
if (!existsSync(named)) {
  console.error(`${named} is missing: run scripts/bench.sh once (it builds it)`);
  process.exit(1);
}
// A pkg/ made of the named build: its glue, its wasm, the real pkg/index.js.
const pkgDir = join(here, "target", "profile-pkg");
mkdirSync(pkgDir, { recursive: true });
copyFileSync(join(names, "avatar_cache.js"), join(pkgDir, "avatar_cache.js"));
copyFileSync(named, join(pkgDir, "avatar_cache_bg.wasm"));
copyFileSync(join(here, "..", "pkg", "index.js"), join(pkgDir, "index.js"));

const server = await startServer({ pkgDir });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
});
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
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
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  profile.samples.forEach((id, k) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[k + 1] ?? 0)));
  const label = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url ? n.callFrame.url.split("/").pop() : ""}`.trim();
  const self = new Map();
  const total = new Map();
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    self.set(label(n), (self.get(label(n)) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const sum = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const show = (title, m) => {
    console.log(`\n== ${name}: ${title} (of ${(sum / 1000).toFixed(0)} ms sampled)`);
    for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 35)) {
      console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${(100 * us / sum).toFixed(1).padStart(5)} %  ${l.slice(0, 160)}`);
    }
  };
  show("self time", self);
  show("inclusive time", total);
}

#!/usr/bin/env node
// Profiles the journey of issue 11 in Chromium (page/journey.html: a reload, import, open and
// 100 concurrent gets of stored users, beside the floor's read) with a wasm that kept its function
// names, and prints where the main thread's time goes over the whole reload, by function (self
// and inclusive). For finding what to improve, not a benchmark: the profiler slows the page.
//
//   node profile-journey.mjs [--names target/names] [--reloads 3]   (scripts/bench.sh builds target/names)
import { copyFileSync, cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const names = resolve(here, opt("--names", "target/names"));
const reloads = Number(opt("--reloads", "3"));
const named = join(names, "avatar_cache_named.wasm");
if (!existsSync(named)) {
  console.error(`${named} is missing: run scripts/bench.sh once (it builds it)`);
  process.exit(1);
}
const pkgDir = join(here, "target", "profile-pkg");
mkdirSync(pkgDir, { recursive: true });
// The glue of the same build as the named .wasm (scripts/build-pkg.sh writes both).
copyFileSync(join(here, "..", "pkg", "avatar_cache.js"), join(pkgDir, "avatar_cache.js"));
copyFileSync(named, join(pkgDir, "avatar_cache_bg.wasm"));
copyFileSync(join(here, "..", "pkg", "index.js"), join(pkgDir, "index.js"));
// The glue's inline JS snippets (the same crate, so the same paths).
cpSync(join(here, "..", "pkg", "snippets"), join(pkgDir, "snippets"), { recursive: true });

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
const self = new Map();
const total = new Map();
let sum = 0;
for (let i = 0; i < reloads; i++) {
  await cdp.send("Profiler.start");
  const r = await visit({ phase: "measure", mode: "gets", order: "floor-first" });
  const { profile } = await cdp.send("Profiler.stop");
  writeFileSync(join(here, "results", `journey-${i + 1}.cpuprofile`), JSON.stringify(profile));
  console.error(`reload ${i + 1}: gets ${r.cache.getsMs.toFixed(1)} ms, floor read ${r.floor.readMs.toFixed(1)} ms`);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url ? n.callFrame.url.split("/").pop() : ""}`.trim();
  profile.samples.forEach((id, k) => {
    const dt = profile.timeDeltas[k] ?? 0;
    const n = byId.get(id);
    sum += dt;
    self.set(label(n), (self.get(label(n)) ?? 0) + dt);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  });
}
await browser.close();
await server.close();
const show = (title, m) => {
  console.log(`\n== journey reloads: ${title} (of ${(sum / 1000).toFixed(0)} ms sampled over ${reloads} reloads)`);
  for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${(100 * us / sum).toFixed(1).padStart(5)} %  ${l.slice(0, 160)}`);
  }
};
show("self time", self);
show("inclusive time", total);

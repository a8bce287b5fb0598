// What the two profilers (profile.mjs: bench steps; profile-journey.mjs: the journey's reloads)
// share: a pkg/ made of the build whose .wasm kept its function names, a Chromium with a CDP
// session sampling every 50 µs, and the self/inclusive time of CPU profiles by function.
import { copyFileSync, cpSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

import { chromium } from "playwright-core";

/**
 * A pkg/ in bench/target/profile-pkg made of pkg/ with the named .wasm of the same build
 * (`NAMED_WASM=… scripts/build-pkg.sh`, which scripts/bench.sh runs into `names`). Exits when
 * that .wasm is missing.
 */
export function namedPkg(benchDir, names) {
  const named = join(resolve(benchDir, names), "avatar_cache_named.wasm");
  if (!existsSync(named)) {
    console.error(`${named} is missing: run scripts/bench.sh once (it builds it)`);
    process.exit(1);
  }
  const pkg = join(benchDir, "..", "pkg");
  const pkgDir = join(benchDir, "target", "profile-pkg");
  mkdirSync(pkgDir, { recursive: true });
  // index.js (the bindings and the loader) and any snippets of the same build as the named .wasm.
  copyFileSync(join(pkg, "index.js"), join(pkgDir, "index.js"));
  if (existsSync(join(pkg, "snippets"))) cpSync(join(pkg, "snippets"), join(pkgDir, "snippets"), { recursive: true });
  copyFileSync(named, join(pkgDir, "avatar_cache_bg.wasm"));
  return pkgDir;
}

/** Debian's Chromium, one page, and a CDP session with the profiler on. */
export async function profiledChromium() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-quic",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
  });
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
  return { browser, page, cdp };
}

/** Self and inclusive time by function, summed over the profiles added. */
export class ProfileTotals {
  self = new Map();
  total = new Map();
  sum = 0;

  add(profile) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url ? n.callFrame.url.split("/").pop() : ""}`.trim();
    profile.samples.forEach((id, k) => {
      const dt = profile.timeDeltas[k + 1] ?? 0;
      const l = label(byId.get(id));
      this.sum += dt;
      this.self.set(l, (this.self.get(l) ?? 0) + dt);
      const seen = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const name = label(byId.get(cur));
        if (seen.has(name)) continue;
        seen.add(name);
        this.total.set(name, (this.total.get(name) ?? 0) + dt);
      }
    });
  }

  /** Prints the `top` functions by self time, then by inclusive time. */
  print(title, top = 35) {
    for (const [kind, m] of [["self time", this.self], ["inclusive time", this.total]]) {
      console.log(`\n== ${title}: ${kind} (of ${(this.sum / 1000).toFixed(0)} ms sampled)`);
      for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
        console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${(100 * us / this.sum).toFixed(1).padStart(5)} %  ${l.slice(0, 160)}`);
      }
    }
  }
}

#!/usr/bin/env node
// Runs the benchmarks (page/bench.mjs) in headless Chromium (playwright-core, Debian's
// /usr/bin/chromium) and headless Firefox (geckodriver + firefox-esr over plain W3C WebDriver),
// measures bundle sizes, and writes results/results.json, results/results.md and
// results/chart.png. Prints the markdown table.
//
//   node run.mjs [--browsers chromium,firefox] [--quick] [--out results] [--wasm-names FILE]
//
//   --quick          fewer samples: a smoke run of every scenario
//   --wasm-names F   a wasm with a name section (see scripts/bench.sh): its biggest functions
//                    and crates are listed beside the sizes
//   --only STEPS     only these page steps, comma-separated (populate and the comparison
//                    stores always run): hits, localStorage layer, prefetch, cold miss,
//                    LRU eviction, start-up
//   --pkg DIR        the package to measure (default ../pkg), e.g. a second build for an A/B run
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { renderChart } from "./chart.mjs";
import { startServer } from "./server.mjs";
import { wasmNameSizes } from "./wasm-size.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const browsers = opt("--browsers", "chromium,firefox").split(",").filter(Boolean);
const quick = args.includes("--quick");
const outDir = resolve(here, opt("--out", "results"));
const wasmNames = opt("--wasm-names", null);
const pkgDir = resolve(opt("--pkg", join(root, "pkg")));
const PAGE_TIMEOUT_MS = 20 * 60_000;

const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
];

const log = (...a) => console.error("[bench]", ...a);

// ----- Chromium -------------------------------------------------------------------------------------

async function runChromium(url) {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "log") console.error(`[chromium] ${m.text()}`);
      else if (m.type() === "error") console.error(`[chromium] console.error: ${m.text()}`);
    });
    page.on("pageerror", (e) => console.error(`[chromium] page error: ${e.message}`));
    await page.goto(url);
    const handle = await page.waitForFunction(() => window.__BENCH_RESULT__, null, { timeout: PAGE_TIMEOUT_MS, polling: 500 });
    const result = JSON.parse(await handle.jsonValue());
    result.env.browser = `Chromium ${browser.version()}`;
    return result;
  } finally {
    await browser.close();
  }
}

// ----- Firefox (W3C WebDriver through geckodriver) --------------------------------------------------

const freePort = () => new Promise((r) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => r(port));
  });
});

async function runFirefox(url) {
  const geckodriver = [join(os.homedir(), ".cargo", "bin", "geckodriver"), "/usr/bin/geckodriver"].find(existsSync);
  if (!geckodriver) throw new Error("geckodriver not found (scripts/setup.sh installs it into ~/.cargo/bin)");
  if (!existsSync("/usr/bin/firefox-esr")) throw new Error("/usr/bin/firefox-esr not found");
  const port = await freePort();
  const driver = spawn(geckodriver, ["--port", String(port), "--host", "127.0.0.1"], { stdio: ["ignore", "pipe", "pipe"] });
  let driverLog = "";
  driver.stdout.on("data", (d) => { driverLog += d; });
  driver.stderr.on("data", (d) => { driverLog += d; });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const r = await fetch(base + path, { method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    const json = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`WebDriver ${method} ${path}: ${r.status} ${JSON.stringify(json.value ?? json).slice(0, 500)}`);
    return json.value;
  };
  let session;
  try {
    for (let i = 0; i < 100; i++) {
      try { await call("GET", "/status"); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
    }
    const created = await call("POST", "/session", {
      capabilities: {
        alwaysMatch: {
          browserName: "firefox",
          "moz:firefoxOptions": { binary: "/usr/bin/firefox-esr", args: ["-headless"], prefs: { "dom.disable_open_during_load": false } },
          timeouts: { script: 60_000, pageLoad: 120_000 },
        },
      },
    });
    session = created.sessionId;
    const version = created.capabilities?.browserVersion;
    await call("POST", `/session/${session}/url`, { url });
    const end = Date.now() + PAGE_TIMEOUT_MS;
    let last = "";
    while (Date.now() < end) {
      const [progress, result] = await call("POST", `/session/${session}/execute/sync`, {
        script: "return [window.__BENCH_PROGRESS__ || '', window.__BENCH_RESULT__ || null];",
        args: [],
      });
      if (progress && progress !== last) {
        console.error(`[firefox] ${progress}`);
        last = progress;
      }
      if (result) {
        const parsed = JSON.parse(result);
        parsed.env.browser = `Firefox ${version}`;
        return parsed;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("the bench page did not finish in time");
  } catch (e) {
    e.message += driverLog ? `\ngeckodriver log (tail):\n${driverLog.slice(-2000)}` : "";
    throw e;
  } finally {
    if (session) await call("DELETE", `/session/${session}`).catch(() => {});
    driver.kill();
  }
}

// ----- sizes ----------------------------------------------------------------------------------------

async function minify(code) {
  const { minify: terser } = await import("terser");
  const out = await terser(code, { module: true, compress: true, mangle: true });
  return out.code;
}

async function sizes() {
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const pkg = pkgDir;
  const entry = async (label, files, { minified = false } = {}) => {
    const parts = files.map((f) => readFileSync(f));
    const raw = parts.reduce((a, b) => a + b.length, 0);
    const gzip = parts.reduce((a, b) => a + gz(b), 0);
    let minGzip = null;
    if (!minified) {
      minGzip = 0;
      for (const [k, f] of files.entries()) {
        minGzip += f.endsWith(".wasm") ? gz(parts[k]) : gz(Buffer.from(await minify(parts[k].toString("utf8"))));
      }
    }
    return { label, files: files.map((f) => f.replace(`${root}/`, "")), raw, gzip, minGzip: minGzip ?? gzip };
  };
  const wasm = join(pkg, "avatar_cache_bg.wasm");
  const glue = [join(pkg, "avatar_cache.js"), join(pkg, "index.js")];
  const nm = join(here, "node_modules");
  const out = [
    await entry("avatar-cache .wasm", [wasm]),
    await entry("avatar-cache JS glue (avatar_cache.js + index.js)", glue),
    await entry("avatar-cache total (.wasm + glue)", [wasm, ...glue]),
    await entry("idb-keyval (dist/index.js)", [join(nm, "idb-keyval", "dist", "index.js")]),
    await entry("localForage (dist/localforage.min.js)", [join(nm, "localforage", "dist", "localforage.min.js")], { minified: true }),
  ];
  const version = (name) => JSON.parse(readFileSync(join(nm, name, "package.json"), "utf8")).version;
  return { entries: out, versions: { "idb-keyval": version("idb-keyval"), localforage: version("localforage") } };
}

// ----- targets and the report -----------------------------------------------------------------------

const p50 = (r, id) => r?.rows?.find((x) => x.id === id)?.p50Us;

/** Each target of the issue, judged on p50 for each browser. */
function judge(results, size) {
  const targets = [];
  const add = (what, target, check) => {
    const per = {};
    for (const [name, r] of Object.entries(results)) {
      if (!r || r.error) continue;
      let v = null;
      try {
        v = check(r);
      } catch {}
      per[name] = !v || /NaN|undefined/.test(v.value) ? { value: "not measured", met: null } : v;
    }
    targets.push({ what, target, per });
  };
  const ms = (us) => `${(us / 1000).toFixed(2)} ms`;
  const us = (v) => `${v.toFixed(2)} µs`;
  add("IndexedDB-layer hit vs raw IndexedDB get", "≤ 1.2×", (r) => {
    const ratio = p50(r, "hit.idb") / p50(r, "hit.idb.raw");
    return { value: `${ratio.toFixed(2)}× (${ms(p50(r, "hit.idb"))} vs ${ms(p50(r, "hit.idb.raw"))})`, met: ratio <= 1.2 };
  });
  add("IndexedDB-layer hit vs idb-keyval get", "≤ 1×", (r) => {
    const ratio = p50(r, "hit.idb") / p50(r, "hit.idb.keyval");
    return { value: `${ratio.toFixed(2)}× (${ms(p50(r, "hit.idb"))} vs ${ms(p50(r, "hit.idb.keyval"))})`, met: ratio <= 1 };
  });
  add("(context, not an issue target) IndexedDB-layer hit vs raw get + createObjectURL, the same output", "≤ 1.2×", (r) => {
    const ratio = p50(r, "hit.idb") / p50(r, "hit.idb.raw-url");
    return { value: `${ratio.toFixed(2)}× (${ms(p50(r, "hit.idb"))} vs ${ms(p50(r, "hit.idb.raw-url"))})`, met: ratio <= 1.2 };
  });
  add("get from memory", "≤ 20 µs", (r) => ({ value: us(p50(r, "hit.memory")), met: p50(r, "hit.memory") <= 20 }));
  add("peek", "≤ 2 µs", (r) => ({ value: us(p50(r, "hit.peek")), met: p50(r, "hit.peek") <= 2 }));
  add("prefetch of 100 stored users after a reload", "≤ 10 ms", (r) => ({ value: ms(p50(r, "prefetch.100")), met: p50(r, "prefetch.100") <= 10_000 }));
  add("prefetch of 100 users already in memory", "≤ 10 ms", (r) => ({ value: ms(p50(r, "prefetch.100.memory")), met: p50(r, "prefetch.100.memory") <= 10_000 }));
  add("start-up: instantiate + open (return visit: IndexedDB holding the data set)", "≤ 30 ms", (r) => ({ value: ms(p50(r, "startup.total.stored")), met: p50(r, "startup.total.stored") <= 30_000 }));
  add("start-up: instantiate + open (first visit: a new database)", "≤ 30 ms", (r) => ({ value: ms(p50(r, "startup.total.empty")), met: p50(r, "startup.total.empty") <= 30_000 }));
  const total = size.entries.find((e) => e.label.startsWith("avatar-cache total"));
  targets.push({
    what: "bundle: .wasm + JS glue, gzip",
    target: "≤ 80 KB",
    per: { any: { value: `${(total.gzip / 1024).toFixed(1)} KB (${(total.minGzip / 1024).toFixed(1)} KB with the glue minified)`, met: total.gzip <= 80 * 1024 } },
  });
  return targets;
}

function fmtUs(us) {
  if (us === undefined || !Number.isFinite(us)) return "–";
  if (us < 1) return `${(us * 1000).toFixed(0)} ns`;
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(1)} µs`;
  if (us < 100_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1000).toFixed(0)} ms`;
}

function markdown(report) {
  const names = Object.keys(report.browsers);
  const ok = names.filter((n) => !report.browsers[n].error);
  const lines = [];
  lines.push(`Run ${report.generatedAt} on ${report.machine}; load average (1 min) ${report.load.before.toFixed(1)} at the start, ${report.load.after.toFixed(1)} at the end${report.load.before > 1.5 || report.load.after > 1.5 ? " (other work was running: figures are noisier than on an idle machine)" : ""}.`);
  for (const n of names) {
    const r = report.browsers[n];
    if (r.error) {
      lines.push(`- **${n}**: not run: ${r.error.split("\n")[0]}`);
      continue;
    }
    lines.push(`- **${n}**: ${r.env.browser}; crossOriginIsolated ${r.env.crossOriginIsolated}, timer resolution ${r.env.timerResolutionUs.toFixed(1)} µs; ${r.env.dataSet ?? ""}; first start-up in a new profile ${r.startupFirst ? `${r.startupFirst.totalMs.toFixed(1)} ms` : "–"}${r.errors.length ? `; **errors**: ${r.errors.map((e) => e.split("\n")[0]).join(" / ")}` : ""}`);
  }
  lines.push("");
  lines.push("p50 (p95) per operation. Sub-millisecond figures are batched (n ops per sample, the sample divided by n); the 'how' column says how each was taken.");
  lines.push("");
  lines.push(`| figure | who | ${ok.map((n) => `${n} p50 (p95)`).join(" | ")} | how |`);
  lines.push(`|---|---|${ok.map(() => "---:").join("|")}|---|`);
  const order = [];
  for (const n of ok) for (const r of report.browsers[n].rows) if (!order.find((o) => o.id === r.id)) order.push(r);
  let lastName = "";
  for (const o of order) {
    const cells = ok.map((n) => {
      const r = report.browsers[n].rows.find((x) => x.id === o.id);
      return r ? `${fmtUs(r.p50Us)} (${fmtUs(r.p95Us)})` : "–";
    });
    const first = o.name !== lastName;
    lastName = o.name;
    const who = o.impl.startsWith("avatar-cache") ? `**${o.impl}**` : o.impl;
    lines.push(`| ${first ? o.name : ""} | ${who} | ${cells.join(" | ")} | ${o.how}${o.sources ? `; answered from ${Object.entries(o.sources).map(([k, v]) => `${k} ×${v}`).join(", ")}` : ""} |`);
  }
  // Overheads of the cold miss.
  for (const lat of [0, 20]) {
    const cells = ok.map((n) => {
      const r = report.browsers[n];
      const d = p50(r, `miss.${lat}`) - p50(r, `miss.${lat}.fetch`);
      return Number.isFinite(d) ? `${d >= 0 ? "+" : "−"}${fmtUs(Math.abs(d))}` : "–";
    });
    lines.push(`| cold miss overhead, backend +${lat} ms | **avatar-cache − bare fetch** | ${cells.join(" | ")} | difference of the p50s above |`);
  }
  for (const [what, at, below] of [["avatar-cache", "lru.evict", "lru.put"], ["raw IndexedDB", "lru.raw.evict", "lru.raw.put"]]) {
    const cells = ok.map((n) => {
      const r = report.browsers[n];
      const d = p50(r, at) - p50(r, below);
      return Number.isFinite(d) ? `${d >= 0 ? "+" : "−"}${fmtUs(Math.abs(d))}` : "–";
    });
    lines.push(`| time to make room for one at the cap | ${what === "avatar-cache" ? `**${what}**` : what} | ${cells.join(" | ")} | p50 at the cap − p50 below it |`);
  }
  lines.push("");
  lines.push("Bundle sizes (bytes; gzip -9; \"min+gzip\" minifies the JS with terser first, as an app bundler would):");
  lines.push("");
  lines.push("| bundle | raw | gzip | min+gzip |");
  lines.push("|---|---:|---:|---:|");
  for (const e of report.sizes.entries) {
    lines.push(`| ${e.label} | ${e.raw.toLocaleString("en")} | ${e.gzip.toLocaleString("en")} | ${e.minGzip.toLocaleString("en")} |`);
  }
  if (report.wasmNames) {
    lines.push("");
    lines.push(`Largest contributors to the .wasm (${report.wasmNames.note}):`);
    lines.push("");
    lines.push("| crate / module | code bytes | share |");
    lines.push("|---|---:|---:|");
    for (const g of report.wasmNames.groups.slice(0, 12)) {
      lines.push(`| ${g.name} | ${g.bytes.toLocaleString("en")} | ${(100 * g.bytes / report.wasmNames.codeBytes).toFixed(1)} % |`);
    }
    lines.push("");
    lines.push(`Code section ${report.wasmNames.codeBytes.toLocaleString("en")} bytes, data section ${report.wasmNames.dataBytes.toLocaleString("en")} bytes. Largest functions (\`js_sys::futures::future_to_promise\` closures hold the async bodies of the exported methods, inlined):`);
    lines.push("");
    for (const f of report.wasmNames.top.slice(0, 10)) {
      lines.push(`- ${f.bytes.toLocaleString("en")} B \`${f.name.replace(/\[[0-9a-f]+\]/g, "").replace(/::h[0-9a-f]{16}$/, "").slice(0, 120)}\``);
    }
  }
  lines.push("");
  lines.push("Targets (judged on p50):");
  lines.push("");
  lines.push(`| target | | ${ok.join(" | ")} |`);
  lines.push(`|---|---|${ok.map(() => "---").join("|")}|`);
  for (const t of report.targets) {
    const cells = ok.map((n) => {
      const v = t.per[n] ?? t.per.any;
      if (!v || v.met === null) return "–";
      return `${v.met ? "✅ met" : "❌ missed"}: ${v.value}`;
    });
    lines.push(`| ${t.what} | ${t.target} | ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}

async function screenshotSvg(svg, pngPath) {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    const m = /width="(\d+)" height="(\d+)"/.exec(svg);
    await page.setViewportSize({ width: Number(m[1]), height: Number(m[2]) });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator("svg").screenshot({ path: pngPath });
  } finally {
    await browser.close();
  }
}

// ----- main -----------------------------------------------------------------------------------------

if (!existsSync(join(pkgDir, "avatar_cache_bg.wasm")) || !existsSync(join(pkgDir, "index.js"))) {
  log(`${pkgDir} holds no built package: run scripts/build-pkg.sh (scripts/bench.sh does)`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
const loadBefore = os.loadavg()[0];
const server = await startServer({ pkgDir });
const only = opt("--only", null);
const query = new URLSearchParams();
if (quick) query.set("quick", "1");
if (only) query.set("only", ["populate", "comparison stores", ...only.split(",")].join(","));
const url = `${server.url}/index.html${query.size ? `?${query}` : ""}`;
log(`server on ${server.url}`);
const results = {};
try {
  for (const name of browsers) {
    log(`running in ${name}`);
    const started = Date.now();
    try {
      results[name] = name === "chromium" ? await runChromium(url) : name === "firefox" ? await runFirefox(url) : (() => { throw new Error(`unknown browser ${name}`); })();
      log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    } catch (e) {
      log(`${name} failed: ${e.stack ?? e}`);
      results[name] = { error: String(e.message ?? e) };
    }
  }
} finally {
  await server.close();
}

const size = await sizes();
const report = {
  generatedAt: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model?.trim() ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
  quick,
  load: { before: loadBefore, after: os.loadavg()[0] },
  browsers: results,
  sizes: size,
  wasmNames: wasmNames && existsSync(wasmNames) ? wasmNameSizes(readFileSync(wasmNames)) : null,
};
report.targets = judge(results, size);
writeFileSync(join(outDir, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
const md = markdown(report);
writeFileSync(join(outDir, "results.md"), md);
const svg = renderChart(report);
writeFileSync(join(outDir, "chart.svg"), svg);
try {
  await screenshotSvg(svg, join(outDir, "chart.png"));
} catch (e) {
  log(`chart.png not written: ${e.message}`);
}
process.stdout.write(md);
log(`wrote ${outDir}/results.json, results.md, chart.png`);
process.exit(Object.values(results).some((r) => !r.error) ? 0 : 1);

#!/usr/bin/env node
// Runs the benchmarks in headless Chromium (playwright-core, Debian's /usr/bin/chromium) and
// headless Firefox (geckodriver + firefox-esr over plain W3C WebDriver): the single operations
// (page/bench.mjs, one page), the journey of a reload (journey.mjs + page/journey.mjs, one page
// load per visit), and the size report (size.mjs, no browser). Writes results/results.json,
// results/results.md and results/chart.png and prints the markdown.
//
//   node run.mjs [--browsers chromium,firefox] [--quick] [--out results] [--wasm-names FILE]
//
//   --quick            fewer samples: a smoke run of every scenario (journey: 3 rounds)
//   --wasm-names F     a wasm with a name section (see scripts/bench.sh): its biggest functions
//                      and crates are listed beside the sizes
//   --only STEPS       only these steps, comma-separated: the page's hits, localStorage layer,
//                      prefetch, cold miss, LRU eviction, start-up (populate and the comparison
//                      stores run with any of them); journey; bursts (100 gets of stored users
//                      repeated in one page, bursts.mjs: A/B of the read path); previews; size
//                      (no browser at all)
//   --compare-pkg DIR  the bursts step alternates its pages with this other build's (A/B)
//   --journey-runs N   rounds of the journey's four measured reloads (default 7, --quick 3)
//   --journey-modes L  which of the reloads (comma-separated: gets, paint, prefetch, range), e.g.
//                      `gets,range` for a quicker A/B of the read path; default all four
//   --previews-runs N  measured reloads of the previews step (default 7, --quick 3)
//   (step `worker`, Chromium only: worker.mjs, plain <img>s through avatar-cache/sw)
//   --update-size-baseline [--baseline-note TEXT]   write size-baseline.json from this build
//   --pkg DIR          the package to measure (default ../pkg), e.g. a second build for an A/B run
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { renderChart } from "./chart.mjs";
import { startServer } from "./server.mjs";
import { burstsMarkdown, runBursts } from "./bursts.mjs";
import { JOURNEY_MODES, journeyChartRows, journeyMarkdown, runJourney } from "./journey.mjs";
import { previewsMarkdown, runPreviews } from "./previews.mjs";
import { readBaseline, sizeMarkdown, sizes, wasmNameSizes, writeBaseline } from "./size.mjs";
import { runWorkerBench, workerMarkdown } from "./worker.mjs";

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

// ----- browsers: one session each, driven by navigations -----------------------------------------
// A session is { version, goto(url), waitFor(name), close() }: goto navigates the one tab (a real
// navigation: a new document, empty memory), waitFor resolves to the JSON the page leaves in
// window[name] (polled; the journey pages post their results to the server instead).

async function openChromium() {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "log") console.error(`[chromium] ${m.text()}`);
    else if (m.type() === "error") console.error(`[chromium] console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => console.error(`[chromium] page error: ${e.message}`));
  return {
    version: `Chromium ${browser.version()}`,
    goto: (url) => page.goto(url),
    async waitFor(name) {
      const handle = await page.waitForFunction((n) => window[n], name, { timeout: PAGE_TIMEOUT_MS, polling: 500 });
      return JSON.parse(await handle.jsonValue());
    },
    close: () => browser.close(),
  };
}

// Firefox: W3C WebDriver through geckodriver.

const freePort = () => new Promise((r) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => r(port));
  });
});

async function openFirefox() {
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
  const withLog = (e) => {
    e.message += driverLog ? `\ngeckodriver log (tail):\n${driverLog.slice(-2000)}` : "";
    return e;
  };
  let session;
  let version;
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
    version = created.capabilities?.browserVersion;
  } catch (e) {
    driver.kill();
    throw withLog(e);
  }
  return {
    version: `Firefox ${version}`,
    goto: (url) => call("POST", `/session/${session}/url`, { url }).catch((e) => { throw withLog(e); }),
    async waitFor(name) {
      const end = Date.now() + PAGE_TIMEOUT_MS;
      let last = "";
      while (Date.now() < end) {
        const [progress, result] = await call("POST", `/session/${session}/execute/sync`, {
          script: "return [window.__BENCH_PROGRESS__ || '', window[arguments[0]] || null];",
          args: [name],
        });
        if (progress && progress !== last) {
          console.error(`[firefox] ${progress}`);
          last = progress;
        }
        if (result) return JSON.parse(result);
        await new Promise((r) => setTimeout(r, 250));
      }
      throw withLog(new Error("the bench page did not finish in time"));
    },
    async close() {
      await call("DELETE", `/session/${session}`).catch(() => {});
      driver.kill();
    },
  };
}

// ----- targets and the report -----------------------------------------------------------------------

const p50 = (r, id) => r?.rows?.find((x) => x.id === id)?.p50Us;

/** Each target of the issue, judged on p50 for each browser. */
function judge(results, size) {
  const targets = [];
  const add = (what, target, check) => {
    const per = {};
    for (const [name, r] of Object.entries(results)) {
      if (!r || r.error || !r.rows?.length) continue;
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
  add("start-up: import + instantiate + open (return visit: IndexedDB holding the data set)", "≤ 30 ms", (r) => ({ value: ms(p50(r, "startup.total.stored")), met: p50(r, "startup.total.stored") <= 30_000 }));
  add("start-up: instantiate + open (return visit, open() called at once), issue 11, in Chromium", "≤ 15 ms", (r) => (r.env.browser?.startsWith("Chromium") ? { value: ms(p50(r, "startup.direct.stored")), met: p50(r, "startup.direct.stored") <= 15_000 } : null));
  add("start-up: import + instantiate + open (first visit: a new database)", "≤ 30 ms", (r) => ({ value: ms(p50(r, "startup.total.empty")), met: p50(r, "startup.total.empty") <= 30_000 }));
  const total = size.entries.find((e) => e.label.startsWith("avatar-cache total"));
  targets.push({
    what: "bundle: .wasm + JS glue, gzip",
    target: "≤ 60 KB (issue 12)",
    per: { any: { value: `${(total.gzip / 1024).toFixed(1)} KB (${(total.minGzip / 1024).toFixed(1)} KB with the glue minified)`, met: total.gzip <= 60 * 1024 } },
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
  const ok = names.filter((n) => !report.browsers[n].error && report.browsers[n].rows?.length);
  const lines = [];
  lines.push(`Run ${report.generatedAt} on ${report.machine}; load average (1 min) ${report.load.before.toFixed(1)} at the start, ${report.load.after.toFixed(1)} at the end${report.load.before > 1.5 || report.load.after > 1.5 ? " (other work was running: figures are noisier than on an idle machine)" : ""}.`);
  for (const n of names) {
    const r = report.browsers[n];
    if (r.error) {
      lines.push(`- **${n}**: not run: ${r.error.split("\n")[0]}`);
      continue;
    }
    if (!r.rows?.length) {
      lines.push(`- **${n}**: ${r.env.browser}${r.errors?.length ? `; **errors**: ${r.errors.map((e) => e.split("\n")[0]).join(" / ")}` : ""}`);
      continue;
    }
    lines.push(`- **${n}**: ${r.env.browser}; crossOriginIsolated ${r.env.crossOriginIsolated}, timer resolution ${r.env.timerResolutionUs.toFixed(1)} µs; ${r.env.dataSet ?? ""}; first start-up in a new profile ${r.startupFirst ? `${r.startupFirst.totalMs.toFixed(1)} ms` : "–"}${r.errors.length ? `; **errors**: ${r.errors.map((e) => e.split("\n")[0]).join(" / ")}` : ""}`);
  }
  if (ok.length) pageTable(report, ok, lines);
  if (report.journey) {
    lines.push("");
    lines.push(...journeyMarkdown(report.journey));
  }
  if (report.bursts && Object.keys(report.bursts).length) lines.push(...burstsMarkdown(report.bursts));
  if (report.previews) {
    lines.push("");
    lines.push(...previewsMarkdown(report.previews));
  }
  if (report.worker) {
    lines.push("");
    lines.push(...workerMarkdown(report.worker));
  }
  lines.push("");
  lines.push(...sizeMarkdown({ size: report.sizes, names: report.wasmNames, shipped: report.wasmShipped, baseline: report.sizeBaseline, startup: report.startup }));
  const judged = report.targets.filter((t) => Object.keys(t.per).some((k) => k === "any" || ok.includes(k)));
  if (ok.length && judged.length) {
    lines.push("");
    lines.push("Targets of the single operations (judged on p50):");
    lines.push("");
    lines.push(`| target | | ${ok.join(" | ")} |`);
    lines.push(`|---|---|${ok.map(() => "---").join("|")}|`);
    for (const t of judged) {
      const cells = ok.map((n) => {
        const v = t.per[n] ?? t.per.any;
        if (!v || v.met === null) return "–";
        return `${v.met ? "✅ met" : "❌ missed"}: ${v.value}`;
      });
      lines.push(`| ${t.what} | ${t.target} | ${cells.join(" | ")} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The per-operation table of the page steps (bench.mjs). */
function pageTable(report, ok, lines) {
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
  // Overheads of the cold miss (when measured).
  const measured = (id) => ok.some((n) => Number.isFinite(p50(report.browsers[n], id)));
  for (const lat of [0, 20].filter((l) => measured(`miss.${l}`))) {
    const cells = ok.map((n) => {
      const r = report.browsers[n];
      const d = p50(r, `miss.${lat}`) - p50(r, `miss.${lat}.fetch`);
      return Number.isFinite(d) ? `${d >= 0 ? "+" : "−"}${fmtUs(Math.abs(d))}` : "–";
    });
    lines.push(`| cold miss overhead, backend +${lat} ms | **avatar-cache − bare fetch** | ${cells.join(" | ")} | difference of the p50s above |`);
  }
  for (const [what, at, below] of [["avatar-cache", "lru.evict", "lru.put"], ["raw IndexedDB", "lru.raw.evict", "lru.raw.put"]].filter(([, at]) => measured(at))) {
    const cells = ok.map((n) => {
      const r = report.browsers[n];
      const d = p50(r, at) - p50(r, below);
      return Number.isFinite(d) ? `${d >= 0 ? "+" : "−"}${fmtUs(Math.abs(d))}` : "–";
    });
    lines.push(`| time to make room for one at the cap | ${what === "avatar-cache" ? `**${what}**` : what} | ${cells.join(" | ")} | p50 at the cap − p50 below it |`);
  }
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

// Which steps: the page's (bench.mjs), the journey (journey.mjs, its own page loads) and the
// size report (no browser). Without --only, all of them.
const PAGE_STEPS = ["hits", "localStorage layer", "prefetch", "cold miss", "LRU eviction", "start-up"];
const only = opt("--only", null)?.split(",").map((x) => x.trim()).filter(Boolean) ?? null;
const unknown = (only ?? []).filter((x) => !PAGE_STEPS.includes(x) && !["journey", "bursts", "previews", "worker", "size", "populate", "comparison stores"].includes(x));
if (unknown.length) {
  log(`unknown step(s) ${unknown.join(", ")}: the steps are ${[...PAGE_STEPS, "journey", "bursts", "previews", "worker", "size"].join(", ")}`);
  process.exit(2);
}
const pageSteps = only ? only.filter((x) => PAGE_STEPS.includes(x)) : PAGE_STEPS;
const journeyOn = !only || only.includes("journey");
const journeyRuns = Number(opt("--journey-runs", quick ? 3 : 7));
const journeyModes = opt("--journey-modes", JOURNEY_MODES.join(",")).split(",").filter(Boolean);
if (journeyModes.some((m) => !JOURNEY_MODES.includes(m))) {
  log(`--journey-modes: the modes are ${JOURNEY_MODES.join(", ")}`);
  process.exit(2);
}
const burstsOn = !only || only.includes("bursts");
const previewsOn = !only || only.includes("previews");
const previewsRuns = Number(opt("--previews-runs", quick ? 3 : 7));

const workerOn = (!only || only.includes("worker")) && browsers.includes("chromium");

const results = {};
const journey = {};
const bursts = {};
const previews = {};
let worker = null;
if (pageSteps.length || journeyOn || burstsOn || previewsOn || workerOn) {
  const server = await startServer({ pkgDir });
  const compareServer = burstsOn && opt("--compare-pkg", null) ? await startServer({ pkgDir: resolve(opt("--compare-pkg", null)) }) : null;
  const query = new URLSearchParams();
  if (quick) query.set("quick", "1");
  if (only) query.set("only", ["populate", "comparison stores", ...pageSteps].join(","));
  const url = `${server.url}/index.html${query.size ? `?${query}` : ""}`;
  log(`server on ${server.url}`);
  try {
    for (const name of pageSteps.length || journeyOn || burstsOn || previewsOn ? browsers : []) {
      log(`running in ${name}`);
      const started = Date.now();
      let session;
      try {
        session = name === "chromium" ? await openChromium() : name === "firefox" ? await openFirefox() : null;
        if (!session) throw new Error(`unknown browser ${name}`);
        if (pageSteps.length) {
          await session.goto(url);
          results[name] = await session.waitFor("__BENCH_RESULT__");
          results[name].env.browser = session.version;
        } else {
          results[name] = { env: { browser: session.version }, rows: [], notes: [], errors: [] };
        }
        // A step that fails is reported as failed; the browser's other steps still run.
        const step = async (label, into, run) => {
          try {
            into[name] = await run((m) => log(`${name} ${m}`));
          } catch (e) {
            log(`${name} ${label} failed: ${e.stack ?? e}`);
            into[name] = { error: String(e.message ?? e) };
          }
        };
        if (journeyOn) await step("journey", journey, (log) => runJourney(session, server, { runs: journeyRuns, modes: journeyModes, log }));
        if (burstsOn) await step("bursts", bursts, (log) => runBursts(session, server, { compare: compareServer, visits: quick ? 1 : 3, log }));
        if (previewsOn) await step("previews", previews, (log) => runPreviews(session, server, { runs: previewsRuns, hashes: quick ? 10 : 30, log }));
        log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      } catch (e) {
        log(`${name} failed: ${e.stack ?? e}`);
        results[name] = { error: String(e.message ?? e) };
      } finally {
        await session?.close().catch(() => {});
      }
    }
    if (workerOn) {
      log("running the worker part in chromium");
      const { chromium } = await import("playwright-core");
      const launch = () => chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
      try {
        worker = await runWorkerBench(server, { quick, launch, log: (m) => log(m) });
      } catch (e) {
        log(`worker part failed: ${e.stack ?? e}`);
        worker = { error: String(e.message ?? e) };
      }
    }
  } finally {
    await server.close();
    await compareServer?.close();
  }
}

const size = await sizes({ pkgDir, nodeModules: join(here, "node_modules"), root });
const names = wasmNames && existsSync(wasmNames) ? wasmNameSizes(readFileSync(wasmNames)) : null;
const baselineFile = join(here, "size-baseline.json");
if (args.includes("--update-size-baseline")) {
  let commit = "";
  try {
    commit = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {}
  writeBaseline(baselineFile, size, names, opt("--baseline-note", `${commit ? `commit ${commit}, ` : ""}written ${new Date().toISOString().slice(0, 10)}`));
  log(`wrote ${baselineFile}`);
}
// Module start-up beside the size: the start-up step's p50s and the journey's medians.
const startup = {};
for (const name of browsers) {
  const r = results[name];
  const j = journey[name];
  const us = (id) => (r?.rows?.find((x) => x.id === id)?.p50Us ?? NaN) / 1000;
  startup[name] = {
    importMs: us("startup.import.stored"),
    instantiateMs: us("startup.instantiate.stored"),
    compileMs: us("startup.compile"),
    journeyInstantiateMs: j?.context?.find((c) => c.what.startsWith("module: instantiate"))?.value ?? NaN,
  };
}
const report = {
  generatedAt: new Date().toISOString(),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model?.trim() ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
  quick,
  steps: { page: pageSteps, journey: journeyOn, journeyRuns, bursts: burstsOn, previews: previewsOn, previewsRuns },
  load: { before: loadBefore, after: os.loadavg()[0] },
  browsers: results,
  journey: journeyOn ? journey : null,
  bursts: burstsOn ? bursts : null,
  previews: previewsOn ? previews : null,
  worker,
  sizes: size,
  sizeBaseline: readBaseline(baselineFile),
  startup,
  wasmNames: names,
  wasmShipped: (({ codeBytes, dataBytes }) => ({ codeBytes, dataBytes }))(wasmNameSizes(readFileSync(join(pkgDir, "avatar_cache_bg.wasm")))),
};
report.targets = judge(results, size);
writeFileSync(join(outDir, "results.json"), `${JSON.stringify(report, null, 2)}\n`);
const md = markdown(report);
writeFileSync(join(outDir, "results.md"), md);
const written = ["results.json", "results.md"];
// The chart: the page's rows, then the journey's (cache beside the floor).
const chartReport = {
  ...report,
  browsers: Object.fromEntries(Object.entries(results).map(([n, r]) => [n, r.error ? r : { ...r, rows: [...r.rows, ...journeyChartRows(journey[n])] }])),
};
if (Object.values(chartReport.browsers).some((r) => r.rows?.length)) {
  const svg = renderChart(chartReport);
  writeFileSync(join(outDir, "chart.svg"), svg);
  try {
    await screenshotSvg(svg, join(outDir, "chart.png"));
    written.push("chart.png");
  } catch (e) {
    log(`chart.png not written: ${e.message}`);
  }
}
process.stdout.write(md);
log(`wrote ${written.map((f) => `${outDir}/${f}`).join(", ")}`);
const ran = [results, journey, previews].reduce((n, set) => n + Object.values(set).filter((r) => !r.error).length, 0) + (worker && !worker.error ? 1 : 0);
process.exit(ran || (!pageSteps.length && !journeyOn && !previewsOn && !workerOn) ? 0 : 1);

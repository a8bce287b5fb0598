// The journey of issue 11 on the runner's side: drives page/journey.html through real
// navigations in one browser (a warm-up visit, one discarded reload, then `runs` rounds of the
// four measured reloads), and judges the figures against the issue's targets. Imported by
// run.mjs (`--only journey`); the page says what each visit measures.
//
// Every figure is a median over the reloads. Ratios and differences are taken per reload (the
// cache beside the floor of the same page load), then their median: load on the machine moves
// both sides of one reload together. Figures are printed, never asserted.

import os from "node:os";

export const JOURNEY_MODES = ["gets", "paint", "prefetch", "range"];

/**
 * Runs the journey in `browser` ({ goto(url) }) against `server` ({ url, waitResult }).
 * Resolves to `{ runs, warmup, visits, rows, notes }`.
 */
export async function runJourney(browser, server, { runs = 7, users = 100, modes = JOURNEY_MODES, log = () => {} } = {}) {
  let counter = 0;
  const visit = async (params) => {
    const key = `${Date.now().toString(36)}-${++counter}`;
    const wait = server.waitResult(key, 120_000);
    const query = new URLSearchParams({ ...params, users: String(users), visit: key });
    await browser.goto(`${server.url}/journey.html?${query}`);
    const r = await wait;
    if (r.error) throw new Error(`journey visit ${query}: ${r.error}`);
    return r;
  };
  const started = Date.now();
  const warmup = await visit({ phase: "warm" });
  log(`journey: warm-up visit stored ${warmup.idbEntries} images, ${warmup.localRecords} records`);
  await visit({ phase: "measure", mode: "gets", order: "floor-first" }); // discarded: first reload
  const visits = [];
  const load = [os.loadavg()[0]];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? "floor-first" : "cache-first";
    for (const mode of modes) visits.push(await visit({ phase: "measure", mode, order }));
    const last = visits.at(-1);
    load.push(os.loadavg()[0]);
    log(`journey: round ${i + 1}/${runs} (${order}): ${last.mode}: gets ${last.cache.getsMs.toFixed(1)} ms vs floor read ${last.floor.readMs.toFixed(1)} ms`);
  }
  const summary = summarise(visits);
  return { runs, users, seconds: (Date.now() - started) / 1000, load: { min: Math.min(...load), max: Math.max(...load) }, warmup, visits, ...summary };
}

const median = (values) => {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

const ms = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : "–");
const times = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "–");

/** The rows of the journey table: each target of issue 11, then the figures around them. */
export function summarise(visits) {
  const of = (mode) => visits.filter((v) => v.mode === mode && v.cache && v.floor);
  const G = of("gets");
  const P = of("paint");
  const F = of("prefetch");
  const med = (set, f) => median(set.map(f));
  const rows = [];
  const target = (id, what, goal, set, cacheOf, floorOf, judgeOf, shown) => {
    const cache = med(set, cacheOf);
    const floor = med(set, floorOf);
    const paired = med(set, judgeOf);
    rows.push({ id, what, target: goal, cache, floor, paired, ...shown(paired), samples: set.length });
  };
  target("a", "(a) 100 concurrent gets after a reload vs the floor's read of 100 blobs + object URLs", "≤ 1.3×", G,
    (v) => v.cache.getsMs, (v) => v.floor.readMs, (v) => v.cache.getsMs / v.floor.readMs,
    (r) => ({ value: times(r), met: r <= 1.3 }));
  target("b", "(b) import + open + 100 gets vs the floor's open + read", "≤ 1.3× + 15 ms (module)", G,
    (v) => v.cache.importOpenGetsMs, (v) => v.floor.openReadMs, (v) => (v.cache.importOpenGetsMs - 15) / v.floor.openReadMs,
    (r) => ({ value: `${times(r)} after taking 15 ms off`, met: r <= 1.3 }));
  target("c", "(c) p95 of one get in the burst vs the floor's time to read all 100", "≤ 1×", G,
    (v) => v.cache.getP95Ms, (v) => v.floor.readMs, (v) => v.cache.getP95Ms / v.floor.readMs,
    (r) => ({ value: times(r), met: r <= 1 }));
  target("d", "(d) from the cache open to every avatar decoded and painted vs the floor's paint", "≤ floor + 30 ms", P,
    (v) => v.cache.paintMs, (v) => v.floor.paintMs, (v) => v.cache.paintMs - v.floor.paintMs,
    (r) => ({ value: `${r >= 0 ? "+" : "−"}${ms(Math.abs(r))}`, met: r <= 30 }));
  target("e", "(e) 100 concurrent gets after prefetch(ids) vs the floor's read", "(context)", F,
    (v) => v.cache.getsMs, (v) => v.floor.readMs, (v) => v.cache.getsMs / v.floor.readMs,
    (r) => ({ value: times(r), met: null }));
  target("e2", "(e) prefetch(ids) + 100 gets vs the floor's read", "(context)", F,
    (v) => v.cache.prefetchGetsMs, (v) => v.floor.readMs, (v) => v.cache.prefetchGetsMs / v.floor.readMs,
    (r) => ({ value: times(r), met: null }));
  const R = of("range");
  target("f", "(f) 100 concurrent gets after a reload vs a plain read the way the cache reads (getAllKeys + one getAll over the range + object URLs)", "(context)", R,
    (v) => v.cache.getsMs, (v) => v.floor.readMs, (v) => v.cache.getsMs / v.floor.readMs,
    (r) => ({ value: times(r), met: null }));

  const context = [];
  const add = (what, set, f) => context.push({ what, value: med(set, f) });
  add("module: import of the JS glue", G, (v) => v.cache.importMs);
  add("module: instantiate (the glue's WebAssembly.instantiate* call: .wasm body, compile, instantiate)", G, (v) => v.cache.instantiateMs);
  add("module: from the import() to the instance ready (with the .wasm request)", G, (v) => v.cache.moduleMs);
  add("AvatarCache.open, called right after the import (waits for the module)", G, (v) => v.cache.openMs);
  add("AvatarCache.open after the instance is ready", G, (v) => v.cache.openAfterReadyMs);
  add("import + open", G, (v) => v.cache.importOpenMs);
  add("floor: indexedDB.open of its plain store", G, (v) => v.floor.openMs);
  add("one get in the burst: p50", G, (v) => v.cache.getP50Ms);
  add("one get in the burst: first answer", G, (v) => v.cache.firstGetMs);
  add("gets while rendering (paint reloads): all 100 answered", P, (v) => v.cache.getsMs);
  add("every avatar decoded, cache (from open)", P, (v) => v.cache.decodedMs);
  add("every avatar decoded, floor (from its open)", P, (v) => v.floor.decodedMs);
  add("prefetch(ids) of the 100 after a reload", F, (v) => v.cache.prefetchMs);
  add("one get after prefetch: p95", F, (v) => v.cache.getP95Ms);

  const notes = [];
  const sources = {};
  for (const v of visits) for (const [k, n] of Object.entries(v.cache?.sources ?? {})) sources[k] = (sources[k] ?? 0) + n;
  notes.push(`answers by source over all measured reloads: ${Object.entries(sources).map(([k, n]) => `${k} ×${n}`).join(", ")}`);
  const notBlob = visits.reduce((a, v) => a + (v.cache?.notBlobUrls ?? 0), 0);
  const failures = visits.reduce((a, v) => a + (v.cache?.decodeFailures ?? 0) + (v.floor?.decodeFailures ?? 0), 0);
  if (notBlob) notes.push(`**${notBlob} answers were neither blob: nor data: URLs** (the warm-up did not store them?)`);
  if (failures) notes.push(`**${failures} images failed to decode**`);
  return { rows, context, notes };
}

/** Markdown lines: one table over the engines, then the context figures. */
export function journeyMarkdown(journeys) {
  const names = Object.keys(journeys).filter((n) => journeys[n] && !journeys[n].error);
  const lines = [];
  lines.push("### Journey: a friends list after a reload (issue 11)");
  lines.push("");
  for (const n of Object.keys(journeys)) {
    const j = journeys[n];
    if (j?.error) lines.push(`- **${n}**: not run: ${j.error.split("\n")[0]}`);
    else lines.push(`- **${n}**: ${j.runs} rounds of ${JOURNEY_MODES.length} reloads (${j.users} users, ${j.warmup.imageBytes} image bytes, floor first in odd rounds, cache first in even ones), ${j.seconds.toFixed(0)} s, load average ${j.load.min.toFixed(1)}–${j.load.max.toFixed(1)}; ${j.notes.join("; ")}`);
  }
  if (!names.length) return lines;
  lines.push("");
  lines.push("Medians over the reloads; the ratio (or difference) is taken per reload, cache beside the floor of the same page load, then its median. Cache / floor = ratio: verdict.");
  lines.push("");
  lines.push(`| figure | target | ${names.join(" | ")} |`);
  lines.push(`|---|---|${names.map(() => "---").join("|")}|`);
  for (const row of journeys[names[0]].rows) {
    const cells = names.map((n) => {
      const r = journeys[n].rows.find((x) => x.id === row.id);
      if (!r || !Number.isFinite(r.paired)) return "–";
      const verdict = r.met === null ? "" : r.met ? ": ✅ met" : ": ❌ missed";
      return `${ms(r.cache)} / ${ms(r.floor)} = ${r.value}${verdict}`;
    });
    lines.push(`| ${row.what} | ${row.target} | ${cells.join(" | ")} |`);
  }
  for (const c of journeys[names[0]].context) {
    const cells = names.map((n) => ms(journeys[n].context.find((x) => x.what === c.what)?.value));
    lines.push(`| ${c.what} | | ${cells.join(" | ")} |`);
  }
  return lines;
}

/**
 * The journey as chart rows (chart.mjs): each figure for the cache and for the floor, the median
 * of the reloads as the bar and the slowest reload as the whisker.
 */
export function journeyChartRows(j) {
  if (!j || j.error) return [];
  const of = (mode) => j.visits.filter((v) => v.mode === mode && v.cache && v.floor);
  const slowest = (values) => Math.max(...values.filter(Number.isFinite));
  const rows = [];
  const pair = (id, name, mode, cacheOf, floorOf, floorImpl) => {
    const set = of(mode);
    for (const [suffix, impl, f] of [["", "avatar-cache", cacheOf], [".floor", floorImpl, floorOf]]) {
      const values = set.map(f);
      rows.push({ id: `journey.${id}${suffix}`, group: "journey", name, impl, p50Us: median(values) * 1000, p95Us: slowest(values) * 1000, samples: values.length, how: "median of the reloads (slowest as p95)" });
    }
  };
  pair("a", "(a) 100 concurrent gets after a reload", "gets", (v) => v.cache.getsMs, (v) => v.floor.readMs, "floor: one readonly transaction + object URLs");
  pair("b", "(b) import + open + 100 gets", "gets", (v) => v.cache.importOpenGetsMs, (v) => v.floor.openReadMs, "floor: open + read");
  pair("c", "(c) p95 of one get in the burst", "gets", (v) => v.cache.getP95Ms, (v) => v.floor.readMs, "floor: read of all 100");
  pair("d", "(d) open → every avatar decoded and painted", "paint", (v) => v.cache.paintMs, (v) => v.floor.paintMs, "floor: open → painted");
  pair("e", "(e) 100 gets after prefetch(ids)", "prefetch", (v) => v.cache.getsMs, (v) => v.floor.readMs, "floor: read");
  return rows;
}

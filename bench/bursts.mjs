// Repeated bursts of 100 gets of stored users in one page (page/bursts.html): the cache's own
// cost per get with the engine warm and no reload in between, for A/B of changes to the read
// path. The journey (journey.mjs) stays the figure a user sees.
//
// Used by run.mjs (`--only bursts`); the journey's warm-up visit stores the users first.

import os from "node:os";

/**
 * `visits` page loads of `bursts` bursts each (the first two bursts of a load are discarded). With
 * `compare` (a second bench server serving another build), the two builds' pages alternate, so
 * that the machine's drift falls on both alike.
 */
export async function runBursts(browser, server, { compare = null, visits = 3, bursts = 15, users = 100, log = () => {} } = {}) {
  let counter = 0;
  const visit = async (on, path, params) => {
    const key = `${Date.now().toString(36)}-b${++counter}`;
    const wait = on.waitResult(key, 120_000);
    await browser.goto(`${on.url}/${path}?${new URLSearchParams({ ...params, users: String(users), visit: key })}`);
    const r = await wait;
    if (r.error) throw new Error(`${path}: ${r.error}`);
    return r;
  };
  const sides = compare ? [["this build", server], ["compared build", compare]] : [["this build", server]];
  const samples = sides.map(() => []);
  for (const [, on] of sides) await visit(on, "journey.html", { phase: "warm" });
  const load = [os.loadavg()[0]];
  for (let i = 0; i < visits; i++) {
    for (const [k, [label, on]] of sides.entries()) {
      const { times } = await visit(on, "bursts.html", { bursts: String(bursts) });
      samples[k].push(...times.slice(2));
      log(`bursts: page ${i + 1}/${visits}, ${label}: ${times.map((t) => t.toFixed(1)).join(" ")} ms`);
    }
    load.push(os.loadavg()[0]);
  }
  const [own, other] = samples.map((s) => summary(s, users, load));
  return other ? { ...own, compare: other } : own;
}

function summary(samples, users, load) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { users, samples, p25Ms: at(0.25), medianMs: at(0.5), p75Ms: at(0.75), load };
}

/** The markdown lines of the bursts step. */
export function burstsMarkdown(bursts) {
  const lines = ["", "### Bursts of 100 gets of stored users, engine warm (A/B of the read path)", ""];
  lines.push("| browser | build | median | p25 – p75 | bursts | load |", "|---|---|---:|---:|---:|---|");
  const row = (name, label, b) =>
    `| ${name} | ${label} | ${b.medianMs.toFixed(2)} ms | ${b.p25Ms.toFixed(2)} – ${b.p75Ms.toFixed(2)} ms | ${b.samples.length} | ${b.load.map((l) => l.toFixed(1)).join(" → ")} |`;
  for (const [name, b] of Object.entries(bursts)) {
    if (b.error) {
      lines.push(`| ${name} | | failed: ${b.error} | | | |`);
      continue;
    }
    lines.push(row(name, "this build", b));
    if (b.compare) {
      lines.push(row(name, "compared build (`--compare-pkg`)", b.compare));
      lines.push(`| ${name} | difference | ${(b.medianMs - b.compare.medianMs).toFixed(2)} ms | | | |`);
    }
  }
  lines.push("", "Each burst: `open` (memory empty), 50 ms, 100 concurrent `get`s timed, `close`; the users were stored by the journey's warm-up visit. Not a user's figure (see the journey): the per-get work of the cache with the module compiled and the engine warm. With `--compare-pkg DIR` the pages of the two builds alternate.");
  return lines;
}

// The worker part of the bench (`--only worker`, Chromium): what a plain <img> costs when the
// service worker (avatar-cache/sw) answers it, beside the same image from the browser's HTTP cache
// and from the network (loopback), and what the worker costs a navigation when it is not running.
// Imported by run.mjs; drives its own Chromium (playwright-core, /usr/bin/chromium) because it
// stops the worker through the DevTools protocol (ServiceWorker.stopAllWorkers).
//
// One <img> at a time, each URL loaded once per document (so the document's own image cache
// never answers): the time from setting `src` to `decode()` resolving.
//   - worker, memory: `/avatar/{id}?s=…` on the controlled page, the worker running and holding
//     the picture in memory;
//   - worker, IndexedDB: the same after the worker was stopped and its first answer given (records
//     and bytes read from IndexedDB);
//   - HTTP cache: `/storage/avatars/{image}?cacheable=1` (max-age) on a page outside the worker's
//     scope, after a fetch() of every URL filled the HTTP cache;
//   - network: the same image, `no-store`, a fresh URL each time (loopback, no added latency).
// Start-up: navigations to the controlled page with the worker stopped (cold) and running (warm),
// and to the page outside its scope: time to the response's first byte; and the first avatar
// after a cold navigation (the worker instantiates the module and opens its stores).
// Figures are printed, never asserted.

const median = (values) => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const p95 = (values) => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.ceil(v.length * 0.95) - 1)] : NaN;
};
const ms = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms` : "–");

/** Loads each URL as an <img> in turn; resolves to the times (ms) and the sources the worker named. */
async function loadImages(page, urls) {
  return page.evaluate(async (urls) => {
    const times = [];
    for (const url of urls) {
      const img = new Image();
      const t = performance.now();
      img.src = url;
      await img.decode();
      times.push(performance.now() - t);
      if (!img.naturalWidth) throw new Error(`no picture for ${url}`);
    }
    return times;
  }, urls);
}

/** The `X-Avatar-Cache` header of the worker's answer to each URL (fetch, not timed). */
async function sources(page, urls) {
  return page.evaluate(async (urls) => {
    const out = {};
    for (const url of urls) {
      const s = (await fetch(url)).headers.get("x-avatar-cache") ?? "none";
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }, urls);
}

/** Time to the first byte of a navigation to `url` (Navigation Timing), and when the worker started. */
async function navigate(page, url) {
  await page.goto(url);
  return page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { ttfb: n.responseStart - n.startTime, workerStart: n.workerStart };
  });
}

/**
 * Runs the worker part in a Chromium of its own against `server` ({ url }). Resolves to
 * `{ browser, rows, notes }`: rows `{ what, p50, p95, samples }` in ms.
 */
export async function runWorkerBench(server, { quick = false, launch, log = () => {} } = {}) {
  const n = quick ? 12 : 40;
  const rounds = quick ? 3 : 9;
  const browser = await launch();
  const rows = [];
  const notes = [];
  const row = (what, values, extra = "") => rows.push({ what, p50: median(values), p95: p95(values), samples: values.length, extra });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("ServiceWorker.enable");
    const stopWorker = async () => {
      await cdp.send("ServiceWorker.stopAllWorkers");
      await new Promise((r) => setTimeout(r, 300));
    };

    await page.goto(`${server.url}/worker/index.html`);
    await page.evaluate(async () => {
      await navigator.serviceWorker.register("/worker/avatar-sw.js", { type: "module", scope: "/worker/" });
      await navigator.serviceWorker.ready;
      for (let i = 0; i < 400 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 25));
      if (!navigator.serviceWorker.controller) throw new Error("the worker did not take control");
    });
    const ids = Array.from({ length: n }, (_, i) => `w${i}`);
    // Warm-up: the worker stores every picture (records and bytes in IndexedDB).
    await sources(page, ids.map((id) => `/avatar/${id}`));
    await new Promise((r) => setTimeout(r, 500));
    log(`worker: ${n} pictures stored through the worker`);

    const memory = await loadImages(page, ids.map((id) => `/avatar/${id}?s=memory`));
    row("worker-served stored avatar, worker running (its memory)", memory, JSON.stringify(await sources(page, ids.map((id) => `/avatar/${id}?s=check`))));

    // Stopped, then the first avatar wakes it; the rest come from IndexedDB.
    await stopWorker();
    await page.goto(`${server.url}/worker/index.html`);
    const [first] = await loadImages(page, [`/avatar/${ids[0]}?s=wake`]);
    const stored = await loadImages(page, ids.slice(1).map((id) => `/avatar/${id}?s=idb`));
    row("worker-served stored avatar, read from IndexedDB (worker restarted)", stored);
    notes.push(`first avatar after the worker was stopped: ${ms(first)} (module instantiated, stores opened)`);

    // The same images outside the worker's scope: HTTP cache, then network.
    await page.goto(`${server.url}/plain.html`);
    const cacheable = ids.map((id) => `/storage/avatars/img-${id}?cacheable=1`);
    await page.evaluate(async (urls) => {
      for (const u of urls) await (await fetch(u)).arrayBuffer();
    }, cacheable);
    row("the same image from the HTTP cache (no worker)", await loadImages(page, cacheable));
    row("the same image from the network, loopback (no worker)", await loadImages(page, ids.map((id, i) => `/storage/avatars/img-${id}?fresh=${Date.now()}-${i}`)));

    // Start-up on a navigation: the worker stopped (cold) or running (warm), or no worker.
    const cold = [];
    const warm = [];
    const none = [];
    const firstAvatar = { cold: [], warm: [] };
    for (let r = 0; r < rounds; r++) {
      await stopWorker();
      cold.push((await navigate(page, `${server.url}/worker/index.html`)).ttfb);
      firstAvatar.cold.push((await loadImages(page, [`/avatar/${ids[r % n]}?s=cold${r}`]))[0]);
      warm.push((await navigate(page, `${server.url}/worker/index.html`)).ttfb);
      firstAvatar.warm.push((await loadImages(page, [`/avatar/${ids[(r + 1) % n]}?s=warm${r}`]))[0]);
      none.push((await navigate(page, `${server.url}/plain.html`)).ttfb);
    }
    row("navigation, time to first byte: worker stopped (cold start)", cold);
    row("navigation, time to first byte: worker running", warm);
    row("navigation, time to first byte: outside the worker's scope", none);
    row("first avatar after a cold navigation", firstAvatar.cold);
    row("first avatar after a navigation, worker running", firstAvatar.warm);
    notes.push(`worker start-up on a cold navigation (median per round of cold − running): ${ms(median(cold.map((c, i) => c - warm[i])))} before the first byte, ${ms(median(firstAvatar.cold.map((c, i) => c - firstAvatar.warm[i])))} more for the first avatar`);
    await context.close();
    return { browser: `Chromium ${browser.version()}`, n, rounds, rows, notes };
  } finally {
    await browser.close();
  }
}

/** The worker part as markdown lines. */
export function workerMarkdown(result) {
  if (!result) return [];
  if (result.error) return [`Worker part: not run: ${result.error.split("\n")[0]}`];
  const lines = [];
  lines.push(`Service worker (avatar-cache/sw), ${result.browser}: one <img> at a time, \`src\` set → \`decode()\` resolved; ${result.n} pictures (9 KB PNG), ${result.rounds} navigations of each kind.`);
  lines.push("");
  lines.push("| figure | p50 | p95 | samples |");
  lines.push("|---|---:|---:|---:|");
  for (const r of result.rows) lines.push(`| ${r.what}${r.extra ? ` (${r.extra})` : ""} | ${ms(r.p50)} | ${ms(r.p95)} | ${r.samples} |`);
  for (const note of result.notes) lines.push(`- ${note}`);
  return lines;
}

// The previews of issue 15 on the runner's side: drives page/previews.html through real
// navigations in one browser (a warm-up visit that stores 100 users and times hashing, then
// `runs` measured reloads) and summarises the figures beside the targets. Imported by
// run.mjs (`--only previews`); the page says what each visit measures. Figures are printed,
// never asserted.

const median = (values) => {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const percentile = (values, p) => {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
};

/**
 * Runs the previews visits in `browser` ({ goto(url) }) against `server` ({ url, waitResult }).
 * Resolves to `{ runs, users, warmup, visits, rows }`.
 */
export async function runPreviews(browser, server, { runs = 7, users = 100, hashes = 30, log = () => {} } = {}) {
  let counter = 0;
  const visit = async (params) => {
    const key = `pv-${Date.now().toString(36)}-${++counter}`;
    const wait = server.waitResult(key, 180_000);
    const query = new URLSearchParams({ ...params, users: String(users), visit: key });
    await browser.goto(`${server.url}/previews.html?${query}`);
    const r = await wait;
    if (r.error) throw new Error(`previews visit ${query}: ${r.error}`);
    return r;
  };
  const started = Date.now();
  const warmup = await visit({ phase: "warm", hashes: String(hashes) });
  log(`previews: warm-up stored ${users} users (${warmup.rowsWithHash} image rows with a hash); hashing p50 ${median(warmup.eventMs ?? []).toFixed(2)} ms (seen by the page ${median(warmup.hashMs).toFixed(2)} ms)`);
  await visit({ phase: "measure" }); // discarded: the first reload
  const visits = [];
  for (let i = 0; i < runs; i++) {
    const v = await visit({ phase: "measure" });
    visits.push(v);
    log(`previews: reload ${i + 1}/${runs}: first frame ${v.firstFrame.previews} previews + ${v.firstFrame.pictures} pictures of ${users}; placeholder ${v.renderUs.toFixed(1)} µs a call`);
  }
  return { runs, users, hashes, seconds: (Date.now() - started) / 1000, warmup, visits, rows: summarise(warmup, visits, users) };
}

const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : "–");
const us = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} µs` : "–");

/** One row per figure: `{ id, what, target, value, met }` (`met` null: context). */
export function summarise(warmup, visits, users) {
  const rows = [];
  const h = warmup.hashMs ?? [];
  const e = warmup.eventMs ?? [];
  const eventP50 = median(e);
  rows.push({
    id: "hash",
    what: `hashing a ${warmup.hashedSide}×${warmup.hashedSide} download: the cache's "preview" event, from the start of the decode at small size to the hash kept in memory (decode + ThumbHash + record), p50 (p95) of ${e.length}`,
    target: "≤ 2 ms (Chromium)",
    value: `${ms(eventP50)} (${ms(percentile(e, 0.95))})`,
    met: eventP50 <= 2,
  });
  rows.push({
    id: "hash-seen",
    what: `the same, seen from the page: from the get's answer until a poll (one per task) finds placeholder() set, p50 (p95) of ${h.length}; includes the poll's lag and the row's IndexedDB write, which starts as the hash lands`,
    target: "",
    value: `${ms(median(h))} (${ms(percentile(h, 0.95))})`,
    met: null,
  });
  for (const [id, key, how] of [["bitmap", "bitmapMs", "createImageBitmap(blob)"], ["decode-small", "decodeSmallMs", "decode at small size (createImageBitmap + OffscreenCanvas drawImage + getImageData, as the crate does)"]]) {
    const t = warmup[key] ?? [];
    if (t.length) rows.push({ id, what: `of which the browser's ${how} of the same bytes alone, p50 (p95) of ${t.length}`, target: "", value: `${ms(median(t))} (${ms(percentile(t, 0.95))})`, met: null });
  }
  const render = median(visits.map((v) => v.renderUs));
  rows.push({
    id: "render",
    what: "placeholder(userId) after a reload, from the stored hash: the user's localStorage record read, then the wasm render + PNG + base64 + the string into JS, per call",
    target: "≤ 50 µs",
    value: us(render),
    met: render <= 50,
  });
  const shown = visits.map((v) => v.firstFrame.previews + v.firstFrame.pictures);
  const all = shown.filter((n) => n === users).length;
  rows.push({
    id: "first-frame",
    what: `first frame after open() on a reload: avatars showing a preview or the picture, of ${users} seen before`,
    target: `${users} of ${users}`,
    value: `${Math.min(...shown)}–${Math.max(...shown)} (all ${users} in ${all} of ${visits.length} reloads; ${median(visits.map((v) => v.firstFrame.previews))} previews, ${median(visits.map((v) => v.firstFrame.pictures))} pictures)`,
    met: all === visits.length,
  });
  rows.push({ id: "first-call", what: "the first placeholder() after open (the same work; nothing is read for the other users)", target: "", value: us(median(visits.map((v) => v.firstCallUs))), met: null });
  rows.push({ id: "kept", what: "placeholder(userId) again (the rendered URL is kept)", target: "", value: us(median(visits.map((v) => v.keptUs))), met: null });
  rows.push({ id: "decoded", what: "previews decoded by the time the first frame was painted", target: "", value: `${median(visits.map((v) => v.firstFrame.decodedWhenPainted))} of ${users}`, met: null });
  rows.push({ id: "frame-at", what: "first frame with the list, after open()", target: "", value: ms(median(visits.map((v) => v.firstFrame.atMs))), met: null });
  rows.push({ id: "import-open", what: "import + open", target: "", value: ms(median(visits.map((v) => v.importOpenMs))), met: null });
  rows.push({ id: "url", what: "a preview's data: URL", target: "", value: `${median(visits.map((v) => v.urlChars))} chars`, met: null });
  return rows;
}

/** Markdown lines: one table over the engines. */
export function previewsMarkdown(previews) {
  const names = Object.keys(previews).filter((n) => previews[n] && !previews[n].error);
  const lines = ["### Previews: the first frame after a reload (issue 15)", ""];
  for (const n of Object.keys(previews)) {
    const p = previews[n];
    if (p?.error) lines.push(`- **${n}**: not run: ${p.error.split("\n")[0]}`);
    else lines.push(`- **${n}**: ${p.runs} measured reloads (${p.users} users seen before), ${p.hashes} downloads hashed, ${p.seconds.toFixed(0)} s`);
  }
  if (!names.length) return lines;
  lines.push("", `| figure | target | ${names.join(" | ")} |`, `|---|---|${names.map(() => "---").join("|")}|`);
  for (const row of previews[names[0]].rows) {
    const cells = names.map((n) => {
      const r = previews[n].rows.find((x) => x.id === row.id);
      if (!r) return "–";
      return `${r.value}${r.met === null ? "" : r.met ? ": ✅ met" : ": ❌ missed"}`;
    });
    lines.push(`| ${row.what} | ${row.target} | ${cells.join(" | ")} |`);
  }
  return lines;
}

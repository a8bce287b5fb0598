// The results as one SVG chart (run.mjs turns it into a PNG with Chromium): every figure as a
// pair of bars (Chromium, Firefox) on one log scale, p50 as the bar and p95 as a tick, the
// issue's targets as red marks; bundle sizes below on a linear scale.

const COLORS = {
  ours: { chromium: "#d9480f", firefox: "#ffa94d" },
  other: { chromium: "#1864ab", firefox: "#74c0fc" },
};
const TARGETS_US = { "hit.peek": 2, "hit.memory": 20, "prefetch.100": 10_000, "prefetch.100.memory": 10_000, "startup.total.empty": 30_000, "startup.total.stored": 30_000 };

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function fmtUs(us) {
  if (!Number.isFinite(us)) return "–";
  if (us < 1) return `${(us * 1000).toFixed(0)} ns`;
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(0)} µs`;
  if (us < 10_000) return `${(us / 1000).toFixed(2)} ms`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1_000_000).toFixed(1)} s`;
}

/** The SVG for `report` (as run.mjs writes it to results.json). */
export function renderChart(report) {
  const browsers = Object.keys(report.browsers).filter((b) => !report.browsers[b].error);
  const order = [];
  for (const b of browsers) for (const r of report.browsers[b].rows) if (!order.find((o) => o.id === r.id)) order.push(r);
  const W = 1500;
  const labelW = 560;
  const plotX = labelW + 20;
  const plotW = W - plotX - 130;
  const barH = 11;
  const rowH = browsers.length * (barH + 2) + 10;
  const groupGap = 26;
  const lo = Math.log10(0.005);
  const hi = Math.log10(1_000_000);
  const x = (us) => plotX + ((Math.log10(Math.max(us, 0.005)) - lo) / (hi - lo)) * plotW;

  const out = [];
  let y = 112;
  const groups = [];
  for (const r of order) {
    const g = groups.at(-1);
    if (!g || g.group !== r.group) groups.push({ group: r.group, rows: [r] });
    else g.rows.push(r);
  }
  const titles = {
    hit: "Hit latency per layer (each answer a picture the app can show)",
    lru: "IndexedDB LRU: store one image",
    startup: "Module start-up in a fresh realm",
    journey: "Journey after a reload, 100 stored avatars: the cache beside the browser's floor (median of the reloads; whisker: the slowest)",
  };
  const body = [];
  for (const g of groups) {
    const title = titles[g.group] ?? g.rows[0].name;
    body.push(`<text x="16" y="${y + 4}" class="group">${esc(title)}</text>`);
    y += 14;
    let lastName = "";
    for (const r of g.rows) {
      const top = y;
      const label = g.group === "startup" ? r.name.replace(/^start-up: /, "")
        : r.name !== lastName && (g.group === "hit" || g.group === "lru" || g.group === "journey") ? `${r.name.replace(/^store one image /, "")} — ${r.impl}` : r.impl;
      lastName = r.name;
      const ours = r.impl.startsWith("avatar-cache");
      body.push(`<text x="${labelW}" y="${top + rowH / 2 + 1}" class="label${ours ? " ours" : ""}" text-anchor="end">${esc(label)}</text>`);
      browsers.forEach((b, k) => {
        const row = report.browsers[b].rows.find((o) => o.id === r.id);
        const by = top + 4 + k * (barH + 2);
        if (!row || !Number.isFinite(row.p50Us)) {
          body.push(`<text x="${plotX + 4}" y="${by + barH - 2}" class="value">${b}: –</text>`);
          return;
        }
        const color = COLORS[ours ? "ours" : "other"][b] ?? "#888";
        const x50 = x(row.p50Us);
        const x95 = x(row.p95Us);
        body.push(`<rect x="${plotX}" y="${by}" width="${Math.max(1, x50 - plotX)}" height="${barH}" fill="${color}"/>`);
        body.push(`<line x1="${x50}" x2="${x95}" y1="${by + barH / 2}" y2="${by + barH / 2}" stroke="${color}" stroke-width="1.5"/>`);
        body.push(`<line x1="${x95}" x2="${x95}" y1="${by + 1}" y2="${by + barH - 1}" stroke="${color}" stroke-width="1.5"/>`);
        body.push(`<text x="${Math.max(x95, x50) + 5}" y="${by + barH - 2}" class="value">${esc(fmtUs(row.p50Us))} <tspan class="dim">(${esc(fmtUs(row.p95Us))})</tspan></text>`);
      });
      const target = TARGETS_US[r.id];
      if (target) {
        const tx = x(target);
        body.push(`<line x1="${tx}" x2="${tx}" y1="${top + 1}" y2="${top + rowH - 3}" stroke="#e03131" stroke-width="2" stroke-dasharray="3,2"/>`);
        body.push(`<text x="${tx + 3}" y="${top + 1}" class="target">target ${esc(fmtUs(target))}</text>`);
      }
      y += rowH;
    }
    y += groupGap - 10;
  }
  const plotBottom = y;
  // Log axis: a grid line per decade.
  const grid = [];
  for (let e = -2; e <= 6; e++) {
    const us = 10 ** e;
    const gx = x(us);
    grid.push(`<line x1="${gx}" x2="${gx}" y1="96" y2="${plotBottom}" class="grid"/>`);
    grid.push(`<text x="${gx}" y="90" class="axis" text-anchor="middle">${esc(fmtUs(us).replace(/\.00 /, " ").replace(/\.0 /, " "))}</text>`);
    grid.push(`<text x="${gx}" y="${plotBottom + 14}" class="axis" text-anchor="middle">${esc(fmtUs(us).replace(/\.00 /, " ").replace(/\.0 /, " "))}</text>`);
  }

  // Sizes: gzip KB, linear.
  y = plotBottom + 44;
  const sizeRows = report.sizes.entries.filter((e) => !e.label.includes(".wasm\"") && !/^avatar-cache (\.wasm|JS glue)/.test(e.label));
  body.push(`<text x="16" y="${y}" class="group">Bundle size, gzip -9 (light: JS minified first); issue 12's target for avatar-cache: 60 KB</text>`);
  y += 12;
  const maxKb = Math.max(100, ...sizeRows.map((e) => e.gzip / 1024)) * 1.45;
  const sx = (kb) => plotX + (kb / maxKb) * plotW;
  for (const e of sizeRows) {
    const ours = e.label.startsWith("avatar-cache");
    body.push(`<text x="${labelW}" y="${y + 14}" class="label${ours ? " ours" : ""}" text-anchor="end">${esc(e.label)}</text>`);
    const c = COLORS[ours ? "ours" : "other"];
    body.push(`<rect x="${plotX}" y="${y + 4}" width="${sx(e.gzip / 1024) - plotX}" height="${barH + 3}" fill="${c.chromium}"/>`);
    body.push(`<rect x="${plotX}" y="${y + 4}" width="${sx(e.minGzip / 1024) - plotX}" height="${barH + 3}" fill="${c.firefox}" opacity="0.9"/>`);
    body.push(`<text x="${sx(e.gzip / 1024) + 5}" y="${y + 15}" class="value">${(e.gzip / 1024).toFixed(1)} KB <tspan class="dim">(${(e.minGzip / 1024).toFixed(1)} KB min+gzip; ${(e.raw / 1024).toFixed(0)} KB raw)</tspan></text>`);
    y += barH + 12;
  }
  const t60 = sx(60);
  body.push(`<line x1="${t60}" x2="${t60}" y1="${y - sizeRows.length * (barH + 12)}" y2="${y}" stroke="#e03131" stroke-width="2" stroke-dasharray="3,2"/>`);
  body.push(`<text x="${t60 + 3}" y="${y + 10}" class="target">60 KB</text>`);
  for (let kb = 0; kb <= maxKb; kb += 50) {
    body.push(`<text x="${sx(kb)}" y="${y + 24}" class="axis" text-anchor="middle">${kb} KB</text>`);
  }
  const H = y + 40;

  const legend = [];
  let lx = plotX;
  for (const b of browsers) {
    for (const kind of ["ours", "other"]) {
      legend.push(`<rect x="${lx}" y="40" width="14" height="11" fill="${COLORS[kind][b]}"/>`);
      const text = `${kind === "ours" ? "avatar-cache" : "alternative"}, ${b}`;
      legend.push(`<text x="${lx + 18}" y="50" class="legend">${esc(text)}</text>`);
      lx += 40 + text.length * 7;
    }
  }
  const subtitle = browsers.map((b) => report.browsers[b].env.browser).join(" · ");
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`);
  out.push(`<style>
    .title { font-size: 20px; font-weight: bold; fill: #212529 }
    .sub { font-size: 12px; fill: #495057 }
    .group { font-size: 14px; font-weight: bold; fill: #212529 }
    .label { font-size: 12px; fill: #343a40 }
    .label.ours { font-weight: bold; fill: #a61e4d }
    .value { font-size: 11px; fill: #212529 }
    .dim { fill: #868e96 }
    .axis { font-size: 11px; fill: #495057 }
    .legend { font-size: 12px; fill: #343a40 }
    .target { font-size: 10px; fill: #e03131 }
    .grid { stroke: #dee2e6; stroke-width: 1 }
  </style>`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="16" y="26" class="title">avatar-cache benchmarks: p50 per operation (bar), p95 (whisker), log scale</text>`);
  out.push(`<text x="16" y="48" class="sub">${esc(subtitle)}</text>`);
  out.push(`<text x="16" y="64" class="sub">${esc(report.machine)} · ${esc(report.generatedAt)}${report.load ? ` · load average ${report.load.before.toFixed(1)} → ${report.load.after.toFixed(1)}` : ""}</text>`);
  out.push(...legend, ...grid, ...body, "</svg>");
  return out.join("\n");
}

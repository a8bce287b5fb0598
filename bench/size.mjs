// The size report (issue 12): what the package weighs, what it weighed at the committed
// baseline (size-baseline.json), and where the bytes of the .wasm go (top crates and functions,
// from a build that kept its names, see wasm-size.mjs). Used by run.mjs; `--only size` prints
// it alone, without a browser. A change that adds 20 KB shows up as a Δ line in review.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import { wasmNameSizes } from "./wasm-size.mjs";

const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const signedKb = (n) => `${n > 0 ? "+" : n < 0 ? "−" : "±"}${(Math.abs(n) / 1024).toFixed(1)} KB`;

async function minify(code) {
  const { minify: terser } = await import("terser");
  const out = await terser(code, { module: true, compress: true, mangle: true });
  return out.code;
}

/**
 * Sizes of the package in `pkgDir` and of the two comparison libraries in `nodeModules`:
 * `{ entries: [{ label, files, raw, gzip, brotli, minGzip }], versions }`.
 */
export async function sizes({ pkgDir, nodeModules, root }) {
  const entry = async (label, files, { minified = false } = {}) => {
    const parts = files.map((f) => readFileSync(f));
    const raw = parts.reduce((a, b) => a + b.length, 0);
    const gzip = parts.reduce((a, b) => a + gz(b), 0);
    const brotli = parts.reduce((a, b) => a + br(b), 0);
    let minGzip = gzip;
    if (!minified) {
      minGzip = 0;
      for (const [k, f] of files.entries()) {
        minGzip += f.endsWith(".wasm") ? gz(parts[k]) : gz(Buffer.from(await minify(parts[k].toString("utf8"))));
      }
    }
    return { label, files: files.map((f) => f.replace(`${root}/`, "")), raw, gzip, brotli, minGzip };
  };
  const wasm = join(pkgDir, "avatar_cache_bg.wasm");
  // index.js holds the bindings and the loader (one module; avatar_cache.js is not shipped).
  const glue = [join(pkgDir, "index.js")];
  const out = [
    await entry("avatar-cache .wasm", [wasm]),
    await entry("avatar-cache JS glue (index.js: bindings + loader)", glue),
    await entry("avatar-cache total (.wasm + glue)", [wasm, ...glue]),
  ];
  // The ./sw entry's own module (pkg/worker/): what a service worker downloads, not a page.
  const workerWasm = join(pkgDir, "worker", "avatar_cache_worker_bg.wasm");
  if (existsSync(workerWasm)) {
    const workerGlue = [join(pkgDir, "worker", "avatar_cache_worker.js"), join(pkgDir, "sw.js")];
    out.push(await entry("avatar-cache service worker (./sw): .wasm + glue", [workerWasm, ...workerGlue]));
  }
  const versions = {};
  if (nodeModules && existsSync(join(nodeModules, "idb-keyval"))) {
    out.push(await entry("idb-keyval (dist/index.js)", [join(nodeModules, "idb-keyval", "dist", "index.js")]));
    out.push(await entry("localForage (dist/localforage.min.js)", [join(nodeModules, "localforage", "dist", "localforage.min.js")], { minified: true }));
    const version = (name) => JSON.parse(readFileSync(join(nodeModules, name, "package.json"), "utf8")).version;
    versions["idb-keyval"] = version("idb-keyval");
    versions.localforage = version("localforage");
  }
  return { entries: out, versions };
}

/** The figures kept in size-baseline.json: package sizes and code bytes by crate. */
export function baselineOf(size, names) {
  const pick = (prefix) => size.entries.find((e) => e.label.startsWith(prefix));
  const wasm = pick("avatar-cache .wasm");
  const glue = pick("avatar-cache JS glue");
  const total = pick("avatar-cache total");
  return {
    wasmRaw: wasm.raw,
    wasmGzip: wasm.gzip,
    glueGzip: glue.gzip,
    totalGzip: total.gzip,
    crates: names ? Object.fromEntries(names.groups.map((g) => [g.name, g.bytes])) : undefined,
  };
}

export function readBaseline(file) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

export function writeBaseline(file, size, names, note) {
  const value = { note, ...baselineOf(size, names) };
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return value;
}

/**
 * Markdown lines of the size report. `names` comes from wasmNameSizes (or null), `baseline`
 * from size-baseline.json (or null), `startup` is `{ engine: { instantiateMs, compileMs, how } }`.
 */
export function sizeMarkdown({ size, names, shipped, baseline, startup = {} }) {
  const lines = [];
  const now = baselineOf(size, names);
  lines.push("### Size (issue 12)");
  lines.push("");
  lines.push("Bytes; gzip -9 and brotli -q 11; \"min+gzip\" minifies the JS with terser first, as an app bundler would.");
  lines.push("");
  lines.push("| bundle | raw | gzip | brotli | min+gzip |");
  lines.push("|---|---:|---:|---:|---:|");
  for (const e of size.entries) {
    lines.push(`| ${e.label} | ${e.raw.toLocaleString("en")} | ${e.gzip.toLocaleString("en")} | ${(e.brotli ?? NaN).toLocaleString("en")} | ${e.minGzip.toLocaleString("en")} |`);
  }
  lines.push("");
  lines.push(`Issue 12's target: .wasm + glue ≤ 60 KB gzip and the .wasm ≤ 150 KB raw: now ${kb(now.totalGzip)} gzip (${now.totalGzip <= 60 * 1024 ? "✅ met" : "❌ missed"}), ${kb(now.wasmRaw)} raw (${now.wasmRaw <= 150 * 1024 ? "✅ met" : "❌ missed"}).`);
  const engines = Object.entries(startup).filter(([, v]) => v && Object.values(v).some((x) => Number.isFinite(x)));
  if (engines.length) {
    lines.push("");
    lines.push("Module start-up beside the size (return visit, HTTP cache warm; p50 of the start-up step, median of the journey's reloads):");
    lines.push("");
    lines.push("| engine | import of the glue | instantiate (.wasm fetch + compile + instantiate) | `WebAssembly.compile` of the bytes alone | instantiate in the journey's reloads (from the glue's WebAssembly call, .wasm headers already in) |");
    lines.push("|---|---:|---:|---:|---:|");
    const f = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : "–");
    for (const [engine, v] of engines) lines.push(`| ${engine} | ${f(v.importMs)} | ${f(v.instantiateMs)} | ${f(v.compileMs)} | ${f(v.journeyInstantiateMs)} |`);
  }
  if (baseline) {
    lines.push("");
    lines.push(`Against the committed baseline (bench/size-baseline.json${baseline.note ? `: ${baseline.note}` : ""}):`);
    lines.push("");
    const d = (k) => now[k] - baseline[k];
    const flag = (x) => (x >= 20 * 1024 ? " ⚠️ **20 KB or more**" : "");
    lines.push(`- .wasm raw ${kb(now.wasmRaw)} (${signedKb(d("wasmRaw"))}${flag(d("wasmRaw"))}), .wasm gzip ${kb(now.wasmGzip)} (${signedKb(d("wasmGzip"))}), glue gzip ${kb(now.glueGzip)} (${signedKb(d("glueGzip"))}), total gzip ${kb(now.totalGzip)} (${signedKb(d("totalGzip"))}${flag(d("totalGzip"))})`);
    if (now.crates && baseline.crates) {
      const moved = [...new Set([...Object.keys(now.crates), ...Object.keys(baseline.crates)])]
        .map((c) => ({ c, delta: (now.crates[c] ?? 0) - (baseline.crates[c] ?? 0) }))
        .filter((x) => Math.abs(x.delta) >= 512)
        .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
        .slice(0, 10);
      if (moved.length) lines.push(`- code bytes by crate that moved 0.5 KB or more: ${moved.map((x) => `${x.c} ${signedKb(x.delta)}`).join(", ")}`);
      else lines.push("- no crate's code moved by 0.5 KB or more");
    }
  }
  if (names) {
    lines.push("");
    lines.push(`Where the .wasm's bytes go (${names.note}): code section ${names.codeBytes.toLocaleString("en")} bytes, data section ${names.dataBytes.toLocaleString("en")} bytes, whole named file ${names.totalBytes.toLocaleString("en")} bytes${shipped ? ` (the shipped, stripped .wasm: code ${shipped.codeBytes.toLocaleString("en")}, data ${shipped.dataBytes.toLocaleString("en")})` : ""}.`);
    lines.push("");
    lines.push("| crate | code bytes | share | functions |");
    lines.push("|---|---:|---:|---:|");
    for (const g of names.groups.slice(0, 15)) {
      lines.push(`| ${g.name} | ${g.bytes.toLocaleString("en")} | ${(100 * g.bytes / names.codeBytes).toFixed(1)} % | ${g.functions} |`);
    }
    lines.push("");
    lines.push("Largest functions (`future_to_promise` closures hold the async bodies of the exported methods, inlined):");
    lines.push("");
    lines.push("| bytes | function |");
    lines.push("|---:|---|");
    for (const f of names.top.slice(0, 20)) {
      const name = f.name.replace(/\[[0-9a-f]+\]/g, "").replace(/::h[0-9a-f]{16}$/, "").replace(/\|/g, "\\|");
      lines.push(`| ${f.bytes.toLocaleString("en")} | \`${name.length > 140 ? `${name.slice(0, 140)}…` : name}\` |`);
    }
  } else {
    lines.push("");
    lines.push("No named build: no breakdown by crate and function (scripts/bench.sh builds bench/target/names/avatar_cache_named.wasm).");
  }
  return lines;
}

export { wasmNameSizes };

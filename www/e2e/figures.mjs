#!/usr/bin/env node
// Prints the journey figures of every engine that ran (e2e-artifacts/figures-<project>.jsonl and
// ua-<project>.txt, written by the specs) side by side.
//
//   node e2e/figures.mjs [artifacts-dir]
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? join(import.meta.dirname, "..", "e2e-artifacts");
if (!existsSync(dir)) process.exit(0);
const order = ["chromium", "firefox", "firefox-private", "webkit"];
const projects = readdirSync(dir)
  .map((f) => /^figures-(.+)\.jsonl$/.exec(f)?.[1])
  .filter(Boolean)
  .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
if (projects.length === 0) process.exit(0);

const rows = new Map(); // figure name -> project -> value
for (const p of projects) {
  for (const line of readFileSync(join(dir, `figures-${p}.jsonl`), "utf8").split("\n").filter(Boolean)) {
    const { name, value, unit } = JSON.parse(line);
    if (!rows.has(name)) rows.set(name, new Map());
    rows.get(name).set(p, `${value}${unit ? ` ${unit}` : ""}`);
  }
}

console.log("user agents:");
for (const p of projects) {
  const ua = join(dir, `ua-${p}.txt`);
  const when = new Date(statSync(join(dir, `figures-${p}.jsonl`)).mtimeMs).toISOString().slice(0, 16).replace("T", " ");
  console.log(`  ${p.padEnd(16)} ${existsSync(ua) ? readFileSync(ua, "utf8").trim() : "?"}  (run ${when} UTC)`);
}
const table = [["figure", ...projects], ...[...rows].map(([name, byProject]) => [name, ...projects.map((p) => byProject.get(p) ?? "—")])];
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
console.log("");
for (const [i, r] of table.entries()) {
  console.log("  " + r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("   "));
  if (i === 0) console.log("  " + widths.map((w) => "-".repeat(w)).join("   "));
}

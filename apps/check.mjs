#!/usr/bin/env node
// Loads a built app in Debian's Chromium (Playwright, no browser download) and checks what a
// user of avatar-cache would: every picture ends "ready", the first visit's pictures say they came
// from the network, a reload answers them from storage with no picture from the network, no
// console error, no hydration warning. Run by scripts/apps.sh.
//
//   node apps/check.mjs --name vite --url http://127.0.0.1:PORT/ [--ssr] [--emoji] [--one-cache]
//     --ssr        the server's HTML must hold only fallbacks (no cache on the server)
//     --emoji      the emoji fallback [data-testid=emoji] must be centred in its circle
//     --one-cache  window.appCaches (every cache the app got hold of) must hold exactly one
//     --client-nav SELECTOR  after the reload, click SELECTOR (a client-side link): every picture
//                  on the page it opens must be rendered "ready" from its first appearance
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(here, "..", "www", "package.json"))("@playwright/test");
const { values: args } = parseArgs({
  options: {
    name: { type: "string" },
    url: { type: "string" },
    ssr: { type: "boolean", default: false },
    emoji: { type: "boolean", default: false },
    "one-cache": { type: "boolean", default: false },
    "client-nav": { type: "string" },
  },
});
const artifacts = join(here, "artifacts");
mkdirSync(artifacts, { recursive: true });
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};
const say = (line) => console.log(`[check ${args.name}] ${line}`);

// Users 1-8 have a picture in every app's backend; user 9 has none.
const withPicture = (id) => Number(id) % 9 !== 0;

if (args.ssr) {
  const html = await (await fetch(args.url)).text();
  const states = [...html.matchAll(/data-avatar-state="(\w+)"/g)].map((m) => m[1]);
  check(states.length > 0, "the server HTML has no <ProfilePicture>");
  check(states.every((s) => s === "fallback"), `the server rendered states ${[...new Set(states)]}, expected only "fallback"`);
  check(!/aria-busy/.test(html), "the server HTML has aria-busy (a loading state the client would not hydrate to)");
  say(`server HTML: ${states.length} pictures, all "${[...new Set(states)].join(", ")}"`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
const page = await context.newPage();
const consoleProblems = [];
page.on("console", (m) => {
  const text = m.text();
  if (m.type() === "error" || /hydrat|did not match|mismatch/i.test(text)) consoleProblems.push(`${m.type()}: ${text}`);
});
page.on("pageerror", (e) => consoleProblems.push(`pageerror: ${e.message}`));
page.on("response", (r) => {
  if (r.status() >= 400) consoleProblems.push(`HTTP ${r.status()} for ${r.url()}`);
});

async function pictures() {
  await page.waitForFunction(
    () => {
      const all = [...document.querySelectorAll("[data-avatar-user]")].filter((e) => e.dataset.avatarUser);
      return all.length > 0 && all.every((e) => e.dataset.avatarState === "ready");
    },
    null,
    { timeout: 20_000 },
  ).catch(() => {});
  return page.$$eval("[data-avatar-user]", (els) =>
    els
      .filter((e) => e.dataset.avatarUser)
      .map((e) => ({ user: e.dataset.avatarUser, state: e.dataset.avatarState, source: e.dataset.avatarSource, tag: e.tagName })),
  );
}

function summary(list) {
  const by = {};
  for (const p of list) by[`${p.state}/${p.source ?? "-"}`] = (by[`${p.state}/${p.source ?? "-"}`] ?? 0) + 1;
  return JSON.stringify(by);
}

let t0 = Date.now();
await page.goto(args.url, { waitUntil: "load" });
const first = await pictures();
const firstMs = Date.now() - t0;
say(`first visit: ${first.length} pictures ready in ${firstMs} ms: ${summary(first)}`);
check(first.length > 0 && first.every((p) => p.state === "ready"), `first visit: not every picture got ready: ${summary(first)}`);
const firstWith = first.filter((p) => withPicture(p.user));
check(
  firstWith.length > 0 && firstWith.every((p) => p.source === "network"),
  `first visit: users with a picture should say "network" (the layer that answered), got ${summary(firstWith)}`,
);

if (args.emoji) {
  const emoji = page.getByTestId("emoji");
  const box = await emoji.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(el);
    const g = range.getBoundingClientRect();
    return { circle: { x: r.x, y: r.y, w: r.width, h: r.height }, glyph: { x: g.x - r.x, y: g.y - r.y, w: g.width, h: g.height } };
  });
  const dx = box.glyph.x + box.glyph.w / 2 - box.circle.w / 2;
  const dy = box.glyph.y + box.glyph.h / 2 - box.circle.h / 2;
  say(`emoji: glyph box at (${box.glyph.x.toFixed(1)}, ${box.glyph.y.toFixed(1)}) size ${box.glyph.w.toFixed(1)}×${box.glyph.h.toFixed(1)} in a ${box.circle.w}×${box.circle.h} circle; centre off by (${dx.toFixed(1)}, ${dy.toFixed(1)}) px`);
  check(Math.abs(dx) <= 2 && Math.abs(dy) <= 3, `emoji not centred: off by (${dx.toFixed(1)}, ${dy.toFixed(1)}) px`);
  await emoji.screenshot({ path: join(artifacts, `${args.name}-emoji.png`), scale: "css" });
  await page.locator("main").screenshot({ path: join(artifacts, `${args.name}-first.png`) });
}

if (args["one-cache"]) {
  const n = await page.evaluate(() => window.appCaches?.size ?? -1);
  say(`cache instances the app got hold of (StrictMode, openAvatarCache, provider): ${n}`);
  check(n === 1, `expected one cache instance for the app, got ${n}`);
}

// Let the write-behind to IndexedDB finish, then come back.
await page.waitForTimeout(1500);
t0 = Date.now();
await page.reload({ waitUntil: "load" });
const again = await pictures();
const againMs = Date.now() - t0;
say(`reload: ${again.length} pictures ready in ${againMs} ms: ${summary(again)}`);
const againWith = again.filter((p) => withPicture(p.user));
check(again.every((p) => p.state === "ready"), `reload: not every picture got ready: ${summary(again)}`);
check(
  againWith.length > 0 && againWith.every((p) => ["memory", "local", "indexeddb"].includes(p.source)),
  `reload: pictures should come from storage, got ${summary(againWith)}`,
);

if (args["client-nav"]) {
  // Record the state every picture is first inserted with, then navigate on the client.
  await page.evaluate(() => {
    window.firstStates = [];
    new MutationObserver((records) => {
      for (const r of records)
        for (const n of r.addedNodes)
          if (n instanceof Element)
            for (const e of [n, ...n.querySelectorAll("[data-avatar-user]")])
              if (e.dataset?.avatarUser && e.closest("[data-page]")) window.firstStates.push(`${e.dataset.avatarState}/${e.dataset.avatarSource ?? "-"}`);
    }).observe(document.body, { childList: true, subtree: true });
  });
  await page.click(args["client-nav"]);
  await page.waitForSelector("[data-page] [data-avatar-user]");
  const states = await page.evaluate(() => window.firstStates);
  say(`client navigation: pictures first inserted as ${JSON.stringify(states)}`);
  check(states.length > 0 && states.every((s) => s === "ready/memory"), `client navigation: expected every picture inserted "ready/memory", got ${JSON.stringify(states)}`);
}

check(consoleProblems.length === 0, `console: ${consoleProblems.join("\n  ")}`);
await browser.close();

if (failures.length) {
  for (const f of failures) console.error(`[check ${args.name}] FAIL ${f}`);
  process.exit(1);
}
say(`ok (no console error, no hydration warning)`);

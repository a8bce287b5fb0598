#!/usr/bin/env node
// Turns the wasm-bindgen output in pkg/ into the npm package `avatar-cache` (run by scripts/build-pkg.sh):
//  - pkg/index.js + index.d.ts: the main entry. It re-exports the generated bindings and makes
//    `AvatarCache.open` load the WebAssembly module once first, so users never call `init()`.
//  - pkg/react.js + react.d.ts: the `avatar-cache/react` entry, copied from react/.
//  - pkg/testing.js + testing.d.ts: the `avatar-cache/testing` entry, copied from testing/.
//  - pkg/sw.js + sw.d.ts: the `avatar-cache/sw` entry, copied from sw/; it loads the service
//    worker's own module, pkg/worker/ (its bindings lose their doc comments as the page's do).
//  - pkg/README.md + CHANGELOG.md: the package's README (package/README.md) and the changelog.
//  - pkg/package.json: name, ESM, `exports` for ".", "./react", "./testing" and "./sw" (with types), the
//    files list, React and its types as optional peer dependencies, the modules with side effects.
//
//   node scripts/package-pkg.mjs [pkgDir]
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkgDir = resolve(process.argv[2] ?? join(root, "pkg"));
const manifestPath = join(pkgDir, "package.json");
// The package's name-independent facts (version, description, license, repository, keywords)
// come from Cargo.toml's [package] table: one place for both registries.
const manifest = cargoPackage(readFileSync(join(root, "Cargo.toml"), "utf8"));

/** The string and string-array fields of Cargo.toml's [package] table. */
function cargoPackage(toml) {
  const table = toml.split(/^\[package\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
  const fields = {};
  for (const m of table.matchAll(/^(\w[\w-]*)\s*=\s*(".*"|\[.*\])\s*$/gm)) fields[m[1]] = JSON.parse(m[2]);
  return {
    version: fields.version,
    description: fields.description,
    license: fields.license,
    repository: fields.repository && { type: "git", url: fields.repository },
    keywords: fields.keywords,
  };
}
// wasm-bindgen names the bindings after the wasm file: <name>.js beside <name>_bg.wasm. Deriving
// them from the wasm (not from package.json) keeps a second run over the same pkg/ harmless.
const wasmFile = readdirSync(pkgDir).find((f) => f.endsWith("_bg.wasm"));
const bindings = (wasmFile ?? "avatar_cache_bg.wasm").replace(/_bg\.wasm$/, ".js");
const bindingsTypes = bindings.replace(/\.js$/, ".d.ts");
if (!existsSync(join(pkgDir, bindings)) || !wasmFile) {
  console.error(`[package-pkg] ${pkgDir} has no ${bindings} or *_bg.wasm`);
  process.exit(1);
}
const generatedTypes = readFileSync(join(pkgDir, bindingsTypes), "utf8");
if (!/export class AvatarCache\b/.test(generatedTypes)) {
  console.warn(`[package-pkg] warning: ${bindingsTypes} declares no AvatarCache class yet`);
}

// --- the generated bindings' types ---------------------------------------------------------------
// wasm-bindgen declares `[Symbol.dispose](): void` on every class. `Symbol.dispose` is only in
// TypeScript's esnext.disposable lib, so an app compiling with `skipLibCheck: false` and an
// ES2023 lib (the Vite template's) fails with TS2550. The method stays in the JS (`using` works
// where the runtime has it); the declaration goes.
const disposeDecl = /^[ \t]*\[Symbol\.dispose\]\(\)\s*:\s*void;[ \t]*\r?\n/gm;
const publicTypes = generatedTypes.replace(disposeDecl, "");
if (publicTypes !== generatedTypes) writeFileSync(join(pkgDir, bindingsTypes), publicTypes);
// The service worker's module (pkg/worker/, built by scripts/build-pkg.sh): the same fix.
const workerDir = join(pkgDir, "worker");
const workerBindings = "avatar_cache_worker.js";
const workerWasm = "avatar_cache_worker_bg.wasm";
if (!existsSync(join(workerDir, workerBindings)) || !existsSync(join(workerDir, workerWasm))) {
  console.error(`[package-pkg] ${workerDir} has no ${workerBindings} or ${workerWasm} (the ./sw entry's module)`);
  process.exit(1);
}
const workerTypesPath = join(workerDir, workerBindings.replace(/\.js$/, ".d.ts"));
const workerTypes = readFileSync(workerTypesPath, "utf8");
if (workerTypes.replace(disposeDecl, "") !== workerTypes) writeFileSync(workerTypesPath, workerTypes.replace(disposeDecl, ""));

// What the main entry re-exports: every value and type the crate declares, except the loader's
// own (init, initSync and their input types; `ready()` below replaces them).
// AvatarWorker belongs to the `./sw` entry (serveAvatars), not to pages.
const internal = new Set(["default", "initSync", "InitInput", "InitOutput", "SyncInitInput", "AvatarWorker"]);
const valueNames = [...publicTypes.matchAll(/^export (?:declare )?(?:class|function|const|let|enum) (\w+)/gm)]
  .map((m) => m[1])
  .filter((n) => !internal.has(n));
const typeNames = [...publicTypes.matchAll(/^export (?:declare )?(?:interface|type) (\w+)/gm)]
  .map((m) => m[1])
  .filter((n) => !internal.has(n) && !valueNames.includes(n));
const unique = (names) => [...new Set(names)];

// --- the generated bindings' code ----------------------------------------------------------------
// wasm-bindgen copies every doc comment into the JS glue as JSDoc. The documentation lives in
// the .d.ts (editors read it there); in the .js it is only bytes every page downloads (about a
// quarter of the glue's gzip). Whole-line comments go; code is left exactly as generated.
for (const bindingsPath of [join(pkgDir, bindings), join(workerDir, workerBindings)]) {
  const glue = readFileSync(bindingsPath, "utf8");
  const lean = inlineSnippets(
    glue.replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\r?\n/gm, "").replace(/^[ \t]*\/\/(?!#|@).*\r?\n/gm, ""),
    dirname(bindingsPath),
    bindingsPath.replace(/\.js$/, "_bg.wasm"),
  );
  if (lean !== glue) writeFileSync(bindingsPath, lean);
}

/**
 * The crate's `inline_js` snippets (wasm-bindgen writes each to snippets/<crate>/inlineN.js and
 * imports it from the glue) copied into the glue itself: without a bundler, each level of
 * imports is one more request in sequence before the .wasm is even asked for. A snippet is
 * inlined only when every top-level statement is an `export (async) function` named in the import and
 * the glue declares no such name; otherwise its import stays. Only the functions this module
 * uses are kept: those the glue imports by name, those the `.wasm` imports from the snippet,
 * and those they call (a driver shared by the page's and the worker's modules has functions
 * only one of them calls). Snippets no longer imported are deleted.
 */
function inlineSnippets(glue, dir, wasmPath) {
  // wasm-bindgen imports a snippet by name (`import { f } from '…'`) when its functions need a
  // shim, and as a namespace (`import * as importN from "…"`, once per function, each handed to
  // the instance as that module's imports) when the .wasm can call them as they are.
  const importLine =
    /^import (?:\{ ([\w, ]+) \}|\* as (\w+)) from (['"])(\.\/snippets\/[\w.-]+\/inline\d+\.js)\3;?\r?\n/gm;
  const fromWasm = new Map();
  for (const { module, name } of WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmPath)))) {
    if (!fromWasm.has(module)) fromWasm.set(module, new Set());
    fromWasm.get(module).add(name);
  }
  // What each snippet must provide, over all of its import lines.
  const roots = new Map();
  for (const [, names, , , path] of glue.matchAll(importLine)) {
    const wanted = roots.get(path) ?? new Set(fromWasm.get(path) ?? []);
    for (const n of names ? names.split(",").map((n) => n.trim()) : []) wanted.add(n);
    roots.set(path, wanted);
  }
  const inlined = new Map();
  const out = glue.replace(importLine, (line, names, namespace, _quote, path) => {
    const file = join(dir, path);
    if (!existsSync(file)) return line;
    // Comment lines are for the crate's readers; the glue ships without them.
    const code = readFileSync(file, "utf8").replace(/^[ \t]*\/\/.*\r?\n/gm, "");
    const parts = code.split(/^(?=export (?:async )?function )/m).filter((part) => part.trim() !== "");
    const functions = new Map(parts.map((part) => [/^export (?:async )?function (\w+)\(/.exec(part)?.[1], part]));
    const declared = [...functions.keys()];
    const wanted = roots.get(path);
    const clash =
      !inlined.has(path) &&
      [...declared, ...(namespace ? [namespace] : [])].some((n) =>
        new RegExp(`\\b(function|const|let|var|class) ${n}\\b`).test(glue),
      );
    if (functions.has(undefined) || clash || [...wanted].some((n) => !functions.has(n))) {
      console.warn(`[package-pkg] ${path}: kept as a module (not only exported functions, or a name clash)`);
      return line;
    }
    let body = "";
    if (!inlined.has(path)) {
      // The functions wanted, then every function they name, until none is added.
      const keep = new Set(wanted);
      for (const name of keep) {
        for (const other of declared) if (!keep.has(other) && new RegExp(`\\b${other}\\b`).test(functions.get(name))) keep.add(other);
      }
      const kept = declared.filter((n) => keep.has(n));
      body = `${kept.map((n) => functions.get(n).replace(/^export (async )?function /, "$1function ").trimEnd()).join("\n")}\n`;
      inlined.set(path, namespace ?? null);
    }
    if (!namespace) return body;
    // The instance looks up only what the .wasm imports; one object serves every namespace line.
    const first = inlined.get(path);
    if (first && first !== namespace) return `${body}const ${namespace} = ${first};\n`;
    if (!first) inlined.set(path, namespace);
    return `${body}const ${namespace} = { ${[...(fromWasm.get(path) ?? [])].join(", ")} };\n`;
  });
  const snippets = join(dir, "snippets");
  if (existsSync(snippets) && !/^import .*\.\/snippets\//m.test(out)) rmSync(snippets, { recursive: true });
  return out;
}

// --- main entry ---------------------------------------------------------------------------------
// One module: the generated bindings (their loader's exports removed) followed by the loading
// step. Without a bundler, an entry that imported the bindings from a second file cost one more
// request in sequence before the .wasm could be asked for (about 5 ms of every start-up on
// loopback, a round trip on a real network). The bindings' file stays only for its types.
const leanGlue = readFileSync(join(pkgDir, bindings), "utf8");
const loaderExports = /^export \{ initSync, __wbg_init as default \};\r?\n?/m;
// Deno reads this to type the bindings' file; index.js has its own index.d.ts.
const selfTypes = /^\/\* @ts-self-types="[^"]*" \*\/\r?\n/m;
if (!loaderExports.test(leanGlue) || /^import /m.test(leanGlue)) {
  console.error(`[package-pkg] ${bindings} does not end as this wasm-bindgen's output does (export { initSync, __wbg_init as default }) or still imports a module`);
  process.exit(1);
}
const missing = unique(valueNames).filter((n) => !new RegExp(`^export (class|function|const) ${n}\\b`, "m").test(leanGlue));
if (missing.length) {
  console.error(`[package-pkg] ${bindings} does not declare ${missing.join(", ")} at top level`);
  process.exit(1);
}
writeFileSync(
  join(pkgDir, "index.js"),
  `// The main entry of avatar-cache: the generated bindings, with the WebAssembly module loaded
// on first use. \`AvatarCache.open()\` waits for it; nothing else needs to.
${leanGlue.replace(loaderExports, "").replace(selfTypes, "").trimEnd()}

// ----- loading ---------------------------------------------------------------------------------
const init = __wbg_init;

/** Why this is not a browser (a page or a worker), or null when it is. */
function notABrowser() {
  if (typeof window === "undefined" || typeof document === "undefined") {
    if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope) return null;
    return "there is no window or document here (Node, a server render or a test runner)";
  }
  const agent = (globalThis.navigator && globalThis.navigator.userAgent) || "";
  if (/\\bjsdom\\b/i.test(agent)) return "this is jsdom, a DOM emulation without IndexedDB or a way to load the WebAssembly";
  if (/happy-?dom/i.test(agent)) return "this is happy-dom, a DOM emulation without IndexedDB or a way to load the WebAssembly";
  return null;
}

function error(code, message) {
  const e = new Error(message);
  e.name = "AvatarCacheError";
  e.code = code;
  return e;
}

/** Whether \`value\` is an error thrown by avatar-cache (\`code\`, and \`field\` for bad config). */
export function isAvatarCacheError(value) {
  return value instanceof Error && value.name === "AvatarCacheError" && typeof value.code === "string";
}

const wasmUrl = new URL("./${wasmFile}", import.meta.url);

let loading;

/** Loads the WebAssembly module once; resolves when it is ready. Rejects outside a browser. */
export function ready() {
  if (!loading) {
    const why = notABrowser();
    if (why) {
      return Promise.reject(
        error(
          "UNSUPPORTED_ENVIRONMENT",
          \`avatar-cache: AvatarCache.open() needs a browser: \${why}. In unit tests, use the in-memory stand-in \` +
            'from "avatar-cache/testing"; on a server, render without a cache (avatar-cache/react shows the fallback).',
        ),
      );
    }
    loading = init({ module_or_path: wasmUrl }).then(
      () => undefined,
      (e) => {
        loading = undefined;
        throw e;
      },
    );
  }
  return loading;
}

// In a browser, the module is fetched, compiled and instantiated from the moment this file is
// evaluated: an app that imports avatar-cache and opens the cache later (in a provider, after
// its first render) finds it ready instead of starting then. Nothing is fetched outside a
// browser. A failure here is not reported: the next ready() or open() tries again and rejects.
if (!notABrowser()) ready().catch(() => {});

/**
 * Starts opening the cache's IndexedDB database while the module is still being fetched and
 * compiled, so the engine has the database loaded by the time open() asks for it. A database
 * that does not exist yet is not created here (the upgrade is aborted: open() creates it with
 * its schema), and the connection is closed as soon as it opens, so it never blocks an upgrade.
 */
function warmDatabase(config) {
  try {
    if (config?.idb?.enabled === false || typeof indexedDB === "undefined") return;
    const request = indexedDB.open(\`\${config?.namespace ?? "profile_pic"}:avatar-cache\`);
    request.onupgradeneeded = () => request.transaction.abort();
    request.onsuccess = () => request.result.close();
    request.onerror = (event) => event.preventDefault();
    request.onblocked = () => {};
  } catch {
    // A browser that refuses IndexedDB here refuses it to open() too, which reports it.
  }
}

if (AvatarCache && typeof AvatarCache.open === "function" && !AvatarCache.open.__avatarCacheReady) {
  const open = AvatarCache.open;
  const openWhenReady = async function open_(config) {
    warmDatabase(config);
    await ready();
    return open.call(AvatarCache, config);
  };
  Object.defineProperty(openWhenReady, "name", { value: "open" });
  Object.defineProperty(openWhenReady, "__avatarCacheReady", { value: true });
  Object.defineProperty(AvatarCache, "open", { value: openWhenReady, writable: true, configurable: true });
}

// The caches opened by openAvatarCache, by namespace, kept on globalThis so that a module
// evaluated twice (hot reload, two bundles) still finds them. avatar-cache/react reads it too.
const OPENED = Symbol.for("avatar-cache.opened");

/**
 * The app's one cache for \`config.namespace\`: the first call opens it, every later call (a
 * StrictMode remount, a hot reload, another provider) gets the same promise. After the cache is
 * closed, or when opening failed, the next call opens a new one.
 */
export function openAvatarCache(config) {
  const opened = (globalThis[OPENED] ??= new Map());
  const namespace = String((config && config.namespace) ?? "profile_pic");
  const existing = opened.get(namespace);
  if (existing) return existing.promise;
  // closed: told when the cache is closed (the React provider then opens a new one).
  const entry = { promise: undefined, cache: undefined, closed: new Set() };
  const forget = () => {
    if (opened.get(namespace) === entry) opened.delete(namespace);
  };
  entry.promise = AvatarCache.open(config).then(
    (cache) => {
      entry.cache = cache;
      const close = cache.close;
      Object.defineProperty(cache, "close", {
        value: function close_() {
          forget();
          const result = close.call(this);
          for (const heard of [...entry.closed]) heard();
          return result;
        },
        configurable: true,
        writable: true,
      });
      return cache;
    },
    (e) => {
      forget();
      throw e;
    },
  );
  opened.set(namespace, entry);
  return entry.promise;
}
`,
);
// The codes of AvatarCacheError: those the crate's `Error::code` gives (read from src/error.rs, so
// the type never lists a code nothing produces nor misses a new one), and the one the main entry
// throws itself outside a browser.
const knownCodes = [...rustErrorCodes(readFileSync(join(root, "src", "error.rs"), "utf8")), "UNSUPPORTED_ENVIRONMENT"];

/** The strings `Error::code` returns, in the order of its match arms. */
function rustErrorCodes(source) {
  const body = source.split(/\bfn code\(&self\)/)[1]?.split(/^ {4}\}$/m)[0] ?? "";
  const codes = [...body.matchAll(/=>\s*"([A-Z][A-Z_]*)"/g)].map((m) => m[1]);
  if (codes.length === 0) throw new Error("src/error.rs: no error codes found in `fn code`");
  return [...new Set(codes)];
}
writeFileSync(
  join(pkgDir, "index.d.ts"),
  `// The main entry of avatar-cache: the public part of the generated bindings (the raw wasm
// exports and the loader stay internal); \`AvatarCache.open()\` loads the WebAssembly module itself.
import type { AvatarCache, AvatarCacheConfig } from "./${bindings}";

export { ${unique(valueNames).join(", ")} } from "./${bindings}";
export type { ${unique(typeNames).join(", ")} } from "./${bindings}";

/**
 * The codes of AvatarCacheError. Thrown: CONFIG_INVALID (open, with \`field\`), INVALID_ARGUMENT
 * (an empty or left-out id, a Blob that is not an allowed picture), UNSUPPORTED_ENVIRONMENT (open
 * outside a browser). A closed cache rejects nothing: \`get\` answers the default picture,
 * \`prefetch\` counts every user as defaulted, \`setPicture\` resolves changing nothing,
 * \`invalidate\` and \`clear\` still remove what storage holds. The others are never thrown: they start the \`reason\` of
 * \`stats().recentErrors\` and of \`onEvent\`'s error events; CLOSED marks work inside the cache
 * that a \`clear()\` or \`close()\` cut short.
 */
export type AvatarCacheErrorCode =
${knownCodes.map((c) => `  | "${c}"`).join("\n")};

/** What avatar-cache throws or rejects with: an \`Error\` named "AvatarCacheError". */
export interface AvatarCacheError extends Error {
  name: "AvatarCacheError";
  code: AvatarCacheErrorCode;
  /** For CONFIG_INVALID: the field as spelled in AvatarCacheConfig, e.g. "idb.maxBytes". */
  field?: string;
}

/** Whether \`value\` is an AvatarCacheError. */
export declare function isAvatarCacheError(value: unknown): value is AvatarCacheError;

/**
 * Loads the WebAssembly module once (\`AvatarCache.open\` does this itself). Rejects with an
 * AvatarCacheError of code UNSUPPORTED_ENVIRONMENT outside a browser (Node, jsdom, happy-dom).
 */
export declare function ready(): Promise<void>;

/**
 * The app's one cache for \`config.namespace\` (default "profile_pic"): the first call opens it,
 * later calls (StrictMode remounts, hot reloads) get the same promise, and after \`close()\` or a
 * failed open the next call opens a new one. Later calls' other config fields are ignored.
 */
export declare function openAvatarCache(config?: AvatarCacheConfig): Promise<AvatarCache>;
`,
);

// --- React and testing entries ------------------------------------------------------------------
copyFileSync(join(root, "react", "index.js"), join(pkgDir, "react.js"));
copyFileSync(join(root, "react", "index.d.ts"), join(pkgDir, "react.d.ts"));
copyFileSync(join(root, "testing", "index.js"), join(pkgDir, "testing.js"));
copyFileSync(join(root, "testing", "index.d.ts"), join(pkgDir, "testing.d.ts"));
// The service worker entry: routes fetch events into its own module (pkg/worker/, AvatarWorker).
// With the SHA-256 of the worker's module written in: a worker runs only the module its bindings
// were built with (see `moduleSource` in sw/index.js).
{
  const workerModule = readFileSync(join(pkgDir, "worker", "avatar_cache_worker_bg.wasm"));
  const version = createHash("sha256").update(workerModule).digest("hex").slice(0, 16);
  const source = readFileSync(join(root, "sw", "index.js"), "utf8");
  const marked = source.replace('const MODULE_VERSION = "dev";', `const MODULE_VERSION = "${version}";`);
  if (marked === source) throw new Error("sw/index.js: MODULE_VERSION not found");
  writeFileSync(join(pkgDir, "sw.js"), marked);
}
copyFileSync(join(root, "sw", "index.d.ts"), join(pkgDir, "sw.d.ts"));

// --- README and CHANGELOG for people who install the package -------------------------------------
// The repository's README is for contributors; the package gets its own.
copyFileSync(join(root, "package", "README.md"), join(pkgDir, "README.md"));
copyFileSync(join(root, "CHANGELOG.md"), join(pkgDir, "CHANGELOG.md"));
if (existsSync(join(root, "LICENSE"))) copyFileSync(join(root, "LICENSE"), join(pkgDir, "LICENSE"));

// --- package.json ---------------------------------------------------------------------------------
const present = (f) => existsSync(join(pkgDir, f));
const files = [
  "index.js", "index.d.ts", "react.js", "react.d.ts", "testing.js", "testing.d.ts", "sw.js", "sw.d.ts",
  // The bindings' .js is in index.js (see above): only their types ship.
  bindingsTypes, wasmFile, `${wasmFile}.d.ts`, "worker/",
  ...(present("snippets") ? ["snippets/"] : []),
  ...readdirSync(pkgDir).filter((f) => /^(README|LICENSE|COPYING|CHANGELOG)/i.test(f)),
].filter((f, i, all) => all.indexOf(f) === i && (f.endsWith("/") ? present(f.slice(0, -1)) : present(f)));

const out = {
  name: "avatar-cache",
  version: manifest.version,
  description: manifest.description,
  license: manifest.license,
  repository: manifest.repository,
  keywords: manifest.keywords,
  type: "module",
  main: "./index.js",
  module: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": { types: "./index.d.ts", default: "./index.js" },
    "./react": { types: "./react.d.ts", default: "./react.js" },
    "./testing": { types: "./testing.d.ts", default: "./testing.js" },
    "./sw": { types: "./sw.d.ts", default: "./sw.js" },
    [`./${wasmFile}`]: `./${wasmFile}`,
    [`./worker/${workerWasm}`]: `./worker/${workerWasm}`,
    "./package.json": "./package.json",
  },
  files,
  // Only index.js does something on import (it installs the loading step on AvatarCache.open);
  // the bindings, react.js and testing.js only declare. wasm-bindgen snippets, when the crate
  // has any, are imported for their effects.
  sideEffects: [
    "./index.js",
    ...(present("snippets") ? ["./snippets/**"] : []),
    ...(present("worker/snippets") ? ["./worker/snippets/**"] : []),
  ],
  peerDependencies: { react: ">=18 <20", "@types/react": ">=18 <20" },
  peerDependenciesMeta: { react: { optional: true }, "@types/react": { optional: true } },
};
for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
writeFileSync(manifestPath, `${JSON.stringify(out, null, 2)}\n`);
console.log(`[package-pkg] ${pkgDir}: avatar-cache ${out.version} (${files.join(", ")})`);

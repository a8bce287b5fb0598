#!/usr/bin/env node
// Turns wasm-pack's pkg/ into the npm package `avatar-cache` (run by scripts/build-pkg.sh):
//  - pkg/index.js + index.d.ts: the main entry. It re-exports the generated bindings and makes
//    `AvatarCache.open` load the WebAssembly module once first, so users never call `init()`.
//  - pkg/react.js + react.d.ts: the `avatar-cache/react` entry, copied from react/.
//  - pkg/package.json: name, ESM, `exports` for "." and "./react" (with types), the files list,
//    React as an optional peer dependency, and the modules with side effects.
//
//   node scripts/package-pkg.mjs [pkgDir]
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkgDir = resolve(process.argv[2] ?? join(root, "pkg"));
const manifestPath = join(pkgDir, "package.json");
if (!existsSync(manifestPath)) {
  console.error(`[package-pkg] ${manifestPath} is missing: run wasm-pack first (scripts/build-pkg.sh)`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
// wasm-pack names the bindings after the wasm file: <name>.js beside <name>_bg.wasm. Deriving
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

// --- main entry ---------------------------------------------------------------------------------
writeFileSync(
  join(pkgDir, "index.js"),
  `// The main entry of avatar-cache: the generated bindings, with the WebAssembly module loaded
// on first use. \`AvatarCache.open()\` waits for it; nothing else needs to.
import init, * as bindings from "./${bindings}";

export * from "./${bindings}";

let loading;

/** Loads the WebAssembly module once; resolves when it is ready. */
export function ready() {
  loading ??= init({ module_or_path: new URL("./${wasmFile}", import.meta.url) }).then(() => undefined);
  return loading;
}

const AvatarCache = bindings.AvatarCache;
if (AvatarCache && typeof AvatarCache.open === "function" && !AvatarCache.open.__avatarCacheReady) {
  const open = AvatarCache.open;
  const openWhenReady = async function open_(config) {
    await ready();
    return open.call(AvatarCache, config);
  };
  Object.defineProperty(openWhenReady, "name", { value: "open" });
  Object.defineProperty(openWhenReady, "__avatarCacheReady", { value: true });
  Object.defineProperty(AvatarCache, "open", { value: openWhenReady, writable: true, configurable: true });
}
`,
);
writeFileSync(
  join(pkgDir, "index.d.ts"),
  `// The main entry of avatar-cache: the public part of the generated bindings (the raw wasm
// exports stay internal); \`AvatarCache.open()\` loads the WebAssembly module itself.
export { AvatarCache, version } from "./${bindings}";
export type {
  AvatarCacheConfig,
  CacheEvent,
  CacheStats,
  LayerStats,
  Picture,
  PictureSource,
  PrefetchReport,
} from "./${bindings}";

/** Loads the WebAssembly module once (\`AvatarCache.open\` does this itself). */
export declare function ready(): Promise<void>;
`,
);

// --- React entry ----------------------------------------------------------------------------------
copyFileSync(join(root, "react", "index.js"), join(pkgDir, "react.js"));
copyFileSync(join(root, "react", "index.d.ts"), join(pkgDir, "react.d.ts"));

// --- package.json ---------------------------------------------------------------------------------
const present = (f) => existsSync(join(pkgDir, f));
const files = [
  "index.js", "index.d.ts", "react.js", "react.d.ts", bindings, bindingsTypes, wasmFile, `${wasmFile}.d.ts`,
  ...(present("snippets") ? ["snippets/"] : []),
  ...readdirSync(pkgDir).filter((f) => /^(README|LICENSE|COPYING)/i.test(f)),
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
    [`./${wasmFile}`]: `./${wasmFile}`,
    "./package.json": "./package.json",
  },
  files,
  // index.js installs the loading step on AvatarCache.open; the bindings keep module state.
  sideEffects: ["./index.js", `./${bindings}`, "./snippets/*"],
  peerDependencies: { react: ">=18" },
  peerDependenciesMeta: { react: { optional: true } },
};
for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
writeFileSync(manifestPath, `${JSON.stringify(out, null, 2)}\n`);
console.log(`[package-pkg] ${pkgDir}: avatar-cache ${out.version} (${files.join(", ")})`);

// The types scripts/package-pkg.mjs writes into the package's index.d.ts, checked against the
// crate: run over a copy of pkg/ (it leaves pkg/ itself alone).
//   node --test test/
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The codes `Error::code` gives in src/error.rs (each `Error::… => "CODE"` arm). */
function crateCodes() {
  const source = readFileSync(join(root, "src", "error.rs"), "utf8");
  const body = source.slice(source.indexOf("fn code(&self)"));
  return [...body.slice(0, body.indexOf("\n    }\n")).matchAll(/Error::\w+(?: \{ \.\. \})? => "(\w+)"/g)].map((m) => m[1]);
}

/** The members of `AvatarCacheErrorCode` in the index.d.ts package-pkg.mjs writes. */
function packagedCodes() {
  const dir = mkdtempSync(join(tmpdir(), "avatar-cache-pkg-"));
  try {
    cpSync(join(root, "pkg"), dir, { recursive: true, filter: (f) => !f.endsWith(".tgz") });
    execFileSync(process.execPath, [join(root, "scripts", "package-pkg.mjs"), dir], { stdio: "pipe" });
    const types = readFileSync(join(dir, "index.d.ts"), "utf8");
    const union = /export type AvatarCacheErrorCode =([^;]*);/.exec(types)[1];
    return [...union.matchAll(/"(\w+)"/g)].map((m) => m[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const built = existsSync(join(root, "pkg", "avatar_cache_bg.wasm"));

test("AvatarCacheErrorCode is exactly the crate's codes and the main entry's UNSUPPORTED_ENVIRONMENT", { skip: !built && "pkg/ is not built (scripts/build-pkg.sh)" }, () => {
  const crate = crateCodes();
  assert.ok(crate.includes("TOO_MANY_PIXELS") && crate.length >= 10, `codes read from src/error.rs: ${crate}`);
  assert.deepEqual(packagedCodes().sort(), [...crate, "UNSUPPORTED_ENVIRONMENT"].sort());
});

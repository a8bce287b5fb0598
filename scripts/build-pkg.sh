#!/usr/bin/env bash
# Builds pkg/: the npm package `avatar-cache` (wasm-pack, --target web, release, wasm-opt -Oz).
#   scripts/build-pkg.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
profile=--release
[ "${1:-}" = "--dev" ] && profile=--dev
# A release build runs wasm-opt from www/node_modules/.bin (npm `binaryen`, installed by
# scripts/setup.sh). wasm-pack skips it without a word when it is not on PATH ("no downloading
# was requested"): install what is missing, and fail loudly if it still is not there.
if [ "$profile" = --release ] && ! command -v wasm-opt >/dev/null; then
  echo "[pkg] wasm-opt is missing: running scripts/setup.sh" >&2
  scripts/setup.sh
  source scripts/env.sh
  if ! command -v wasm-opt >/dev/null; then
    echo "[pkg] wasm-opt is still missing (npm binaryen in www/): refusing to ship an unoptimised .wasm" >&2
    exit 1
  fi
fi
wasm-pack build --mode no-install --target web "$profile" --out-dir pkg --out-name avatar_cache
if [ -f scripts/package-pkg.mjs ]; then node scripts/package-pkg.mjs; fi
# The same package as one file: `npm install <path>/pkg/avatar-cache.tgz` installs a copy, which
# bundlers resolve like any registry package (a directory install is a symlink, see www/README.md).
(cd pkg && rm -f avatar-cache*.tgz && npm pack --silent >/dev/null && mv avatar-cache-*.tgz avatar-cache.tgz)
wasm=pkg/avatar_cache_bg.wasm
printf '[pkg] %s: %s bytes raw, %s bytes gzip\n' "$wasm" "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"

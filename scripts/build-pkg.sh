#!/usr/bin/env bash
# Builds pkg/: the npm package `avatar-cache`: cargo (wasm32, release) → wasm-bindgen
# (--target web) → wasm-opt -Oz, once per module (the page's, the service worker's in
# pkg/worker/) → scripts/package-pkg.mjs (entries, package.json) → npm pack.
#   scripts/build-pkg.sh [--dev]
#   NAMED_WASM=FILE scripts/build-pkg.sh   also writes FILE: the same optimised .wasm with its
#                                          function names kept (the size report reads them;
#                                          the page's module)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
release=1
[ "${1:-}" = "--dev" ] && release=0

# A release build runs wasm-opt from www/node_modules/.bin (npm `binaryen`, installed by
# scripts/setup.sh): install what is missing, and fail loudly if it still is not there.
if [ $release = 1 ] && ! command -v wasm-opt >/dev/null; then
  echo "[pkg] wasm-opt is missing: running scripts/setup.sh" >&2
  scripts/setup.sh
  source scripts/env.sh
  if ! command -v wasm-opt >/dev/null; then
    echo "[pkg] wasm-opt is still missing (npm binaryen in www/): refusing to ship an unoptimised .wasm" >&2
    exit 1
  fi
fi

# A release build uses the pinned nightly (scripts/env.sh) to rebuild the standard library with
# panics that abort at once and its size-optimised code paths. Without it (setup could not
# install it) stable builds a larger .wasm, said out loud.
cargo=(cargo)
target_dir=${CARGO_TARGET_DIR:-target}
if [ $release = 1 ]; then
  sysroot=$(rustup run "$RELEASE_TOOLCHAIN" rustc --print sysroot 2>/dev/null || true)
  if [ -n "$sysroot" ] && [ -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    # Its own target dir: the flags below apply to std too, and must not evict stable's cache.
    # `fmt-debug=none` drops every `Debug` formatter (no release path prints one: thrown values
    # are read by JS, see `Error::from_js`) and `location-detail=none` the source paths kept
    # for panics, which abort here anyway.
    target_dir=target/release-std
    cargo=(env RUSTFLAGS="${RUSTFLAGS:-} -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none"
      CARGO_TARGET_DIR="$target_dir" cargo "+$RELEASE_TOOLCHAIN"
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size)
  else
    echo "[pkg] $RELEASE_TOOLCHAIN with rust-src is missing (scripts/setup.sh installs it): building with stable, a larger .wasm" >&2
  fi
  profile=release
else
  profile=debug
fi
built=$target_dir/wasm32-unknown-unknown/$profile/avatar_cache.wasm

# Two modules, one per exported class (the cargo features `page` and `worker`): pages load
# pkg/avatar_cache_bg.wasm (`AvatarCache`), the `./sw` entry loads pkg/worker/ (`AvatarWorker`).
# A page does not download the worker's routing and record store, nor the worker the page's
# class. Each gets its own wasm-bindgen output (snippets differ between the two).
#   module FEATURE OUT_DIR OUT_NAME [NAMED_COPY]
module() {
  local feature=$1 dir=$2 name=$3 named=${4:-}
  if [ $release = 1 ]; then
    "${cargo[@]}" build --release --lib --target wasm32-unknown-unknown --no-default-features --features "$feature"
  else
    cargo build --lib --target wasm32-unknown-unknown --no-default-features --features "$feature"
  fi
  mkdir -p "$dir"
  wasm-bindgen --target web --out-dir "$dir" --out-name "$name" "$built"
  if [ $release = 1 ]; then
    # -Oz: the smallest gzip of the variants measured (-Os, -O2, --converge: within 0.5 %).
    local opt=(wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int
      --enable-sign-ext --enable-mutable-globals)
    if [ -n "$named" ]; then
      mkdir -p "$(dirname "$named")"
      "${opt[@]}" -g "$dir/${name}_bg.wasm" -o "$named"
    fi
    "${opt[@]}" --strip-debug --strip-producers "$dir/${name}_bg.wasm" -o "$dir/${name}_bg.wasm"
  fi
}

rm -rf pkg && mkdir -p pkg
module page pkg avatar_cache "${NAMED_WASM:-}"
module worker pkg/worker avatar_cache_worker
node scripts/package-pkg.mjs
# The same package as one file: `npm install <path>/pkg/avatar-cache.tgz` installs a copy, which
# bundlers resolve like any registry package (a directory install is a symlink, see www/README.md).
(cd pkg && rm -f avatar-cache*.tgz && npm pack --silent >/dev/null && mv avatar-cache-*.tgz avatar-cache.tgz)
# What each downloads: the page its .wasm and index.js (the bindings and the loader, one
# module), the service worker its .wasm and its bindings.
for pair in pkg/avatar_cache_bg.wasm:pkg/index.js pkg/worker/avatar_cache_worker_bg.wasm:pkg/worker/avatar_cache_worker.js; do
  wasm=${pair%%:*} js=${pair#*:}
  printf '[pkg] %s: %s bytes raw, %s bytes gzip; JS (%s) %s bytes gzip\n' "$wasm" "$(stat -c %s "$wasm")" \
    "$(gzip -9 -c "$wasm" | wc -c)" "${js#pkg/}" "$(gzip -9 -c "$js" | wc -c)"
done

#!/usr/bin/env bash
# Weighs the crate's pure parts alone (policy, config, records, keys, JSON, contract, sniffing,
# ThumbHash): what a core without the async adapters and orchestration would be. Builds this
# crate with the release pipeline of scripts/build-pkg.sh (pinned nightly, std rebuilt,
# wasm-bindgen, wasm-opt -Oz) and prints raw and gzip bytes, then the crates by code size.
#   bench/core-size/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
source scripts/env.sh
cd "$here"
env RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none" \
  cargo "+$RELEASE_TOOLCHAIN" -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
  build --release --target wasm32-unknown-unknown --quiet
out=target/out
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name core target/wasm32-unknown-unknown/release/avatar_cache_core_size.wasm
opt=(wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals)
"${opt[@]}" -g "$out/core_bg.wasm" -o "$out/named.wasm"
"${opt[@]}" --strip-debug --strip-producers "$out/core_bg.wasm" -o "$out/core_bg.wasm"
echo "pure core: .wasm $(stat -c %s "$out/core_bg.wasm") B raw, $(gzip -9c "$out/core_bg.wasm" | wc -c) B gzip; glue $(gzip -9c "$out/core.js" | wc -c) B gzip"
node ../wasm-size.mjs "$out/named.wasm" | head -14

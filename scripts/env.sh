# Sourced by the scripts: the paths and variables the build and the browser tests use.
export PATH="$HOME/.cargo/bin:$PWD/www/node_modules/.bin:$PATH"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# Generous timeouts: a cold WebKitGTK start under Xvfb can take a while on a 2-core machine.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
# The release .wasm is built with this pinned nightly (scripts/build-pkg.sh): it rebuilds the
# standard library with panics that abort at once (no panic messages, no formatting machinery),
# about 8 % less gzip. Everything else (tests, lint, dev builds) uses the stable toolchain.
export RELEASE_TOOLCHAIN=nightly-2026-05-19

# Whether pkg/ must be built again: one of its two modules (the page's, the service worker's in
# pkg/worker/) is missing, or the crate or its build changed since the older of them was built.
pkg_needs_build() {
  local page=pkg/avatar_cache_bg.wasm worker=pkg/worker/avatar_cache_worker_bg.wasm
  [ -f "$page" ] && [ -f "$worker" ] || return 0
  local older=$page
  [ "$worker" -ot "$page" ] && older=$worker
  [ -n "$(find src Cargo.toml Cargo.lock scripts/build-pkg.sh -newer "$older" -print -quit 2>/dev/null)" ]
}

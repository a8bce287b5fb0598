# Sourced by the scripts: the paths and variables the build and the browser tests use.
export PATH="$HOME/.cargo/bin:$PWD/www/node_modules/.bin:$PATH"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
# Generous timeouts: a cold WebKitGTK start under Xvfb can take a while on a 2-core machine.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}

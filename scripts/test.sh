#!/usr/bin/env bash
# Runs every test: native `cargo test`, the wasm suites in headless Chromium, Firefox and
# WebKitGTK (under Xvfb), the www/ end-to-end journeys in Chromium, Firefox (normal and private
# browsing) and WebKitGTK, then fresh Vite, webpack and Next.js apps built from the packed
# package (scripts/apps.sh). Installs what is missing first (scripts/setup.sh), so it works on a
# new machine.
#
#   scripts/test.sh                 everything
#   scripts/test.sh native chromium only the named parts
#                                   (lint native chromium firefox webkit e2e e2e-firefox e2e-webkit apps)
set -uo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(lint native chromium firefox webkit e2e e2e-firefox e2e-webkit apps)
wants() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
source scripts/env.sh

declare -a summary=()
failed=0
step() { # step <name> <command...>
  local name=$1; shift
  local start=$SECONDS
  printf '\n\033[1;34m=== %s ===\033[0m\n' "$name"
  if "$@"; then
    summary+=("PASS  $name ($((SECONDS - start)) s)")
  else
    summary+=("FAIL  $name ($((SECONDS - start)) s)")
    failed=1
  fi
}

wasm_suite() { # wasm_suite <engine>: the whole wasm test suite in one engine, and its user agent
  local engine=$1 wrap=()
  local -a env_vars
  case $engine in
    chromium) env_vars=(CHROMEDRIVER=/usr/bin/chromedriver) ;;
    firefox) env_vars=(GECKODRIVER="$(command -v geckodriver)") ;;
    webkit) env_vars=(SAFARIDRIVER=/usr/bin/WebKitWebDriver); wrap=(xvfb-run -a) ;;
  esac
  env "${env_vars[@]}" "${wrap[@]}" cargo test --target wasm32-unknown-unknown --test engine -- --nocapture prints_the_engine_user_agent 2>&1 \
    | grep -m1 'ENGINE USER AGENT' | sed "s/^/[$engine] /"
  local log
  log=$(mktemp -t avatar-wasm-suite.XXXXXX)
  if env "${env_vars[@]}" "${wrap[@]}" cargo test --target wasm32-unknown-unknown --no-fail-fast 2>&1 | tee "$log"; then
    rm -f "$log"
    return 0
  fi
  # WebKitGTK's JavaScriptCore faults inside wasm in about one full run of the debug suites in
  # five here: "Out of bounds memory access" in code that only touches the wasm stack (SipHash
  # rounds, reading a row's fields), never in Chromium or Firefox, with or without its optimizing
  # tier (JSC_useOMGJIT=0). A fault taken while a RefCell is borrowed leaves it borrowed, so the
  # next use of that cell panics "already borrowed"; the suites log every uncaught error with its
  # stack, so the first fault is in the log. One rerun of the suites that failed, said out loud:
  # a failure that repeats still fails the step.
  local failed_suites never_started
  failed_suites=$(grep -o 'to rerun pass `--test [a-z_]*`\|^    `--test [a-z_]*`' "$log" | grep -o -- '--test [a-z_]*' | sort -u | tr '\n' ' ')
  never_started=$(suites_never_started "$log")
  rm -f "$log"
  if [ "$engine" = webkit ] && [ -n "$failed_suites" ]; then
    echo "[webkit] failed: $failed_suites; rerunning those once (the failure above stays in the log)" >&2
    # shellcheck disable=SC2086
    env "${env_vars[@]}" "${wrap[@]}" cargo test --target wasm32-unknown-unknown $failed_suites
    return
  fi
  # A suite run inside a service worker (tests/service_worker.rs) sometimes never starts in
  # Firefox: the runner's page registers the worker, the worker's install fails (the page then
  # sees a registration with no worker at all) and the runner times out without a line of the
  # suite's output. Measured here with fresh browsers against the runner's own server: 2 to 3
  # runs in 14 hang that way; 0 in 14 with the same page and worker served through a plain
  # Node proxy in front of that server, so it is the runner's serving, not the suite. A suite
  # that never ran is run again, up to twice, said out loud; a suite that started and then hung
  # or failed still fails the step.
  local attempt
  for attempt in 2 3; do
    [ -n "$never_started" ] && [ "$never_started" = "$failed_suites" ] || return 1
    echo "[$engine] never started (the service worker running it did not install): $never_started; attempt $attempt" >&2
    log=$(mktemp -t avatar-wasm-suite.XXXXXX)
    # shellcheck disable=SC2086
    if env "${env_vars[@]}" "${wrap[@]}" cargo test --target wasm32-unknown-unknown --no-fail-fast $never_started 2>&1 | tee "$log"; then
      rm -f "$log"
      return 0
    fi
    failed_suites=$(grep -o 'to rerun pass `--test [a-z_]*`\|^    `--test [a-z_]*`' "$log" | grep -o -- '--test [a-z_]*' | sort -u | tr '\n' ' ')
    never_started=$(suites_never_started "$log")
    rm -f "$log"
  done
  return 1
}

suites_never_started() { # suites_never_started <log>: `--test NAME` of each suite that timed out before printing a line
  awk '
    /^     Running tests\/[a-z_]+\.rs / { suite = $2; sub(/^tests\//, "", suite); sub(/\.rs$/, "", suite); started = 0; next }
    /^running [0-9]+ tests?$/ { started = 1 }
    /^Failed to detect test as having been run/ { if (suite != "" && !started) print "--test " suite }
  ' "$1" | sort -u | tr '\n' ' '
}

lint() {
  cargo fmt --check && cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings &&
    # Each release module alone (scripts/build-pkg.sh builds them with one feature each).
    for feature in page worker; do
      cargo clippy --target wasm32-unknown-unknown --lib --no-default-features --features "$feature" -- -D warnings || return
    done &&
    # The crate's docs, as its engineers read them: every intra-doc link resolves.
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --document-private-items --target wasm32-unknown-unknown
}

wants lint && step "lint: cargo fmt --check, clippy (wasm32), cargo doc" lint
wants native && step "native: cargo test" cargo test
wants chromium && step "wasm: headless Chromium" wasm_suite chromium
wants firefox && step "wasm: headless Firefox" wasm_suite firefox
wants webkit && step "wasm: WebKitGTK under Xvfb" wasm_suite webkit
wants e2e && step "e2e: www/ in Chromium (Playwright)" scripts/e2e.sh --engine chromium
wants e2e-firefox && step "e2e: www/ in Firefox ESR, normal and private (geckodriver)" scripts/e2e.sh --engine firefox
wants e2e-webkit && step "e2e: www/ in WebKitGTK under Xvfb (WebKitWebDriver)" scripts/e2e.sh --engine webkit

wants apps && step "apps: Vite, webpack 5, Next.js from pkg/avatar-cache.tgz in Chromium; Vitest + jsdom" scripts/apps.sh

printf '\n\033[1m=== summary ===\033[0m\n'
printf '%s\n' "${summary[@]}"
exit $failed

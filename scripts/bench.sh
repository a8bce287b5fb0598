#!/usr/bin/env bash
# Benchmarks: avatar-cache against a plain Map, localStorage + JSON.parse, raw IndexedDB,
# idb-keyval and localForage on one data set; the journey of a reload (100 stored avatars beside
# the browser's floor, issue 11); the previews (issue 15: the first frame after a reload, hashing
# a 128×128 download, rendering a placeholder); the service worker's answers beside the HTTP cache
# and the network, and its start-up on a cold navigation; the size report (issue 12). In headless
# Chromium and Firefox (the worker part: Chromium).
# Installs what is missing (scripts/setup.sh), builds pkg/ when missing or older than the crate,
# installs bench/'s npm packages when its lock changed, then runs bench/run.mjs.
#
#   scripts/bench.sh [--quick] [--browsers chromium,firefox] [--only STEPS] [--skip-setup]
#
#   --quick            fewer samples: a smoke run of every scenario (a few minutes)
#   --browsers L       which engines, comma-separated; default chromium,firefox
#   --only STEPS       some steps only (comma-separated): hits, localStorage layer, prefetch,
#                      cold miss, LRU eviction, start-up; journey; bursts; previews; size (no browser)
#   --journey-runs N   rounds of the journey's four measured reloads (default 7; --quick 3)
#   --journey-modes L  some of those reloads only (gets, paint, prefetch, range; comma-separated)
#   --previews-runs N  measured reloads of the previews step (default 7; --quick 3)
#   --update-size-baseline   write bench/size-baseline.json from this build (commit it)
#   --skip-setup       do not run scripts/setup.sh
#
# Writes bench/results/results.json, results.md and chart.png (not committed) and prints the
# markdown. Figures are printed, never asserted: this is no test.
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) args+=(--quick); shift ;;
    --browsers) args+=(--browsers "$2"); shift 2 ;;
    --only) args+=(--only "$2"); shift 2 ;;
    --journey-runs) args+=(--journey-runs "$2"); shift 2 ;;
    --journey-modes) args+=(--journey-modes "$2"); shift 2 ;;
    --previews-runs) args+=(--previews-runs "$2"); shift 2 ;;
    --update-size-baseline) args+=(--update-size-baseline); shift ;;
    --skip-setup) setup=0; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1;36m[bench]\033[0m %s\n' "$*" >&2; }
[ "$setup" = 1 ] && scripts/setup.sh
source scripts/env.sh

crate_changed_since() { [ ! -f "$1" ] || [ -n "$(find src Cargo.toml Cargo.lock -newer "$1" -print -quit 2>/dev/null)" ]; }

if pkg_needs_build || [ ! -f pkg/index.js ] || [ ! -f pkg/package.json ]; then
  log "building pkg/ (missing or older than the crate)"
  NAMED_WASM=bench/target/names/avatar_cache_named.wasm scripts/build-pkg.sh
else
  log "pkg/ is up to date"
fi

stamp=bench/node_modules/.avatar-cache-lock
if [ ! -f "$stamp" ] || ! cmp -s bench/package-lock.json "$stamp"; then
  log "npm: installing bench/ dependencies"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  cp bench/package-lock.json "$stamp"
fi

# The same release build with its function names kept (wasm-opt -Oz -g of the package's own
# .wasm): run.mjs reads the name section to say which crates and functions the bytes come from.
names=bench/target/names/avatar_cache_named.wasm
if crate_changed_since "$names"; then
  log "building pkg/ with a named copy of the .wasm for the size breakdown"
  NAMED_WASM=$names scripts/build-pkg.sh || { log "the named build failed: no size breakdown this time"; rm -f "$names"; }
fi
[ -f "$names" ] && args+=(--wasm-names "$names")

log "running the benchmarks (a few minutes; progress below)"
exec node bench/run.mjs "${args[@]}"

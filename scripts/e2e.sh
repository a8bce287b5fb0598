#!/usr/bin/env bash
# End-to-end tests in one engine: builds what they need (www/ dependencies, pkg/ when missing or
# older than the crate, the app when older than its sources), starts the dev backend on free
# ports, runs the specs of www/e2e/ in the engine's Playwright projects, stops the backend,
# prints the journey figures of every engine run so far side by side, and exits non-zero on
# failure.
#
#   scripts/e2e.sh                          Chromium (Playwright, Debian's /usr/bin/chromium),
#                                           and the React entry's unit tests
#   scripts/e2e.sh --engine firefox         Firefox ESR over geckodriver, normal and private browsing
#   scripts/e2e.sh --engine webkit          WebKitGTK over WebKitWebDriver, under xvfb-run -a
#   scripts/e2e.sh -g "reload"              other arguments pass through to Playwright
#
# Screenshots and measurements land in www/e2e-artifacts/ (measurements.txt, figures-<project>.jsonl,
# ua-<project>.txt), failures' screenshots in www/test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '\033[1;35m[e2e]\033[0m %s\n' "$*"; }

engine=chromium
if [ "${1:-}" = "--engine" ]; then
  engine=${2:?--engine needs chromium, firefox or webkit}
  shift 2
fi
wrap=()
case $engine in
  chromium) projects=(chromium); need=(chromium) ;;
  firefox) projects=(firefox firefox-private); need=(firefox-esr geckodriver) ;;
  webkit) projects=(webkit); need=(WebKitWebDriver xvfb-run); wrap=(xvfb-run -a) ;;
  *) log "unknown engine $engine (chromium, firefox, webkit)"; exit 2 ;;
esac

missing=0
for tool in wasm-bindgen "${need[@]}"; do command -v "$tool" >/dev/null || missing=1; done
if [ "$missing" = 1 ]; then
  log "tools missing: running scripts/setup.sh"
  scripts/setup.sh
fi

stamp=www/node_modules/.avatar-cache-lock
if [ ! -f "$stamp" ] || ! cmp -s www/package-lock.json "$stamp"; then
  log "npm: installing www/ dependencies"
  (cd www && npm ci --no-audit --no-fund --loglevel=error)
  cp www/package-lock.json "$stamp"
fi

if pkg_needs_build; then
  log "building pkg/ (the crate changed since the last build)"
  scripts/build-pkg.sh
elif [ ! -f pkg/react.js ] || [ -n "$(find react testing sw package CHANGELOG.md scripts/package-pkg.mjs -newer pkg/react.js -print -quit)" ]; then
  log "repackaging pkg/ (React entry or packaging changed)"
  node scripts/package-pkg.mjs
else
  log "pkg/ is up to date"
fi

if [ "$engine" = chromium ]; then
  log "unit tests of the React entry"
  (cd www && node --test test/)
fi

if [ ! -f www/dist/index.html ] || [ -n "$(find www/src www/public www/index.html www/vite.config.ts www/tsconfig.json www/package-lock.json pkg -newer www/dist/index.html -print -quit)" ]; then
  log "building the app"
  (cd www && npm run --silent build)
else
  log "the app in www/dist is up to date"
fi

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
storage_port=$(free_port)
while [ "$storage_port" = "$port" ]; do storage_port=$(free_port); done
server_log=$(mktemp -t avatar-e2e-server.XXXXXX)
node www/server/main.mjs --port "$port" --storage-port "$storage_port" --static www/dist --pkg pkg --console-probe --quiet >"$server_log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -f "$server_log"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if node -e "fetch('$base/__stats').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$server_log"; log "the backend did not start"; exit 1; fi
  sleep 0.1
done
log "backend on $base (object storage on 127.0.0.1:$storage_port)"

mkdir -p www/e2e-artifacts
rm -f www/e2e-artifacts/measurements.txt
project_args=()
for p in "${projects[@]}"; do
  rm -f "www/e2e-artifacts/figures-$p.jsonl" "www/e2e-artifacts/ua-$p.txt"
  project_args+=(--project "$p")
done
log "engine: $engine (projects: ${projects[*]})"
status=0
(cd www && E2E_BASE_URL="$base" "${wrap[@]}" npx playwright test "${project_args[@]}" "$@") || status=$?

if [ -f www/e2e-artifacts/measurements.txt ]; then
  log "measurements:"
  sed 's/^/    /' www/e2e-artifacts/measurements.txt
fi
if [ -f www/e2e-artifacts/report.json ]; then
  node -e '
    const report = JSON.parse(require("fs").readFileSync("www/e2e-artifacts/report.json", "utf8"));
    const r = report.stats;
    const known = [];
    const walk = (suite) => {
      for (const s of suite.suites ?? []) walk(s);
      for (const spec of suite.specs ?? [])
        for (const t of spec.tests)
          for (const a of t.annotations) if (a.type === "fail") known.push(`[${t.projectName}] ${spec.title}: ${a.description}`);
    };
    for (const s of report.suites) walk(s);
    if (r.flaky) console.log(`e2e: ${r.flaky} flaky (passed on a retry)`);
    console.log(`e2e: ${r.expected + r.flaky} passed, ${r.unexpected} failed` + (r.skipped ? `, ${r.skipped} skipped` : ""));
    if (known.length) console.log(`e2e: ${known.length} of the passed failed as expected (known defects, marked test.fail):\n` + known.map((k) => `  ${k}`).join("\n"));'
fi
log "journey figures by engine (each column from its engine's last run):"
node www/e2e/figures.mjs www/e2e-artifacts | sed 's/^/    /'
exit "$status"

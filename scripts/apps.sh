#!/usr/bin/env bash
# Fresh apps as people build them, each installing the packed package (pkg/avatar-cache.tgz):
#   apps/vite     Vite + React + TypeScript (strict, skipLibCheck: false, lib ES2023), its
#                 Vitest + jsdom unit tests over avatar-cache/testing
#   apps/webpack  webpack 5, no loader or plugin
#   apps/next     Next.js App Router, a Server Component page rendering <ProfilePicture>, built
#                 with Turbopack (the default) and with webpack (`next build --webpack`)
# Each is built, served and loaded in Debian's Chromium (apps/check.mjs): pictures ready, the
# first visit from the network, a reload from storage, no console error, no hydration warning.
#
#   scripts/apps.sh               every app
#   scripts/apps.sh vite next     only these
#
# npm installs are locked (apps/*/package-lock.json) and kept between runs: `npm ci` runs only
# when an app's lock changed (stamp in node_modules), from the npm cache when it has the packages.
# Screenshots land in apps/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '\033[1;36m[apps]\033[0m %s\n' "$*"; }
apps=("$@")
[ ${#apps[@]} -eq 0 ] && apps=(vite webpack next)

# --- the package ----------------------------------------------------------------------------------
if pkg_needs_build; then
  log "building pkg/ (the crate changed since the last build)"
  scripts/build-pkg.sh
elif [ ! -f pkg/avatar-cache.tgz ] || [ -n "$(find react testing sw package CHANGELOG.md scripts/package-pkg.mjs -newer pkg/avatar-cache.tgz -print -quit)" ]; then
  log "repackaging pkg/ (an entry, the README or the packaging changed)"
  node scripts/package-pkg.mjs >/dev/null
  (cd pkg && rm -f avatar-cache*.tgz && npm pack --silent >/dev/null && mv avatar-cache-*.tgz avatar-cache.tgz)
fi
tgz=$PWD/pkg/avatar-cache.tgz

if [ ! -f www/node_modules/.avatar-cache-lock ]; then
  log "www/ dependencies missing (Playwright): running scripts/setup.sh"
  scripts/setup.sh
fi

# --- helpers --------------------------------------------------------------------------------------
install_app() { # install_app <dir>: locked dependencies (cached), then the tgz
  local dir=$1 stamp=$1/node_modules/.avatar-cache-lock start=$SECONDS
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) || return 1
    cp "$dir/package-lock.json" "$stamp"
  fi
  # The tgz changes at every build: installed apart from the lock (a lock entry would pin its
  # integrity, and npm would then install a stale copy from its cache).
  (cd "$dir" && npm install --no-save --prefer-offline --no-audit --no-fund --loglevel=error "$tgz" >/dev/null) || return 1
  cmp -s pkg/index.js "$dir/node_modules/avatar-cache/index.js" || { log "$dir got another avatar-cache than pkg/"; return 1; }
  log "$dir: dependencies ready ($((SECONDS - start)) s)"
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# Each server runs in its own session (setsid), and the whole group is stopped: `next start`
# leaves its `next-server` child running when only the CLI is killed.
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
trap cleanup EXIT

wait_for() { # wait_for <url> <pid> <log>
  for _ in $(seq 1 300); do
    if node -e "fetch('$1').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then cat "$3"; log "the server did not start"; return 1; fi
    sleep 0.2
  done
  cat "$3"; log "the server did not answer in 60 s"; return 1
}

serve_static() { # serve_static <dist>: the repository's dev backend (API + object storage) serving <dist>; sets $url
  local port storage
  port=$(free_port); storage=$(free_port)
  while [ "$storage" = "$port" ]; do storage=$(free_port); done
  setsid node www/server/main.mjs --port "$port" --storage-port "$storage" --static "$1" --quiet >"$tmp/server.log" 2>&1 &
  pids+=($!)
  url="http://127.0.0.1:$port/"
  wait_for "${url}__stats" "$!" "$tmp/server.log"
}

timed() { # timed <label> <command...>: runs it and records its wall time
  local label=$1 start=$SECONDS
  shift
  "$@" || return 1
  figures+=("$label: $((SECONDS - start)) s")
}

tmp=$(mktemp -d -t avatar-apps.XXXXXX)
figures=()
url=
status=0

# The run_* functions run inside `if`, where `set -e` does not apply: every step says `|| return 1`.
run_vite() {
  install_app apps/vite || return 1
  timed "vite (tsc + vite build)" bash -c 'cd apps/vite && npm run --silent build' || return 1
  timed "vite (vitest, jsdom)" bash -c 'cd apps/vite && npx vitest run' || return 1
  serve_static apps/vite/dist || return 1
  node apps/check.mjs --name vite --url "$url" --emoji --one-cache || return 1
  cleanup
}

run_webpack() {
  install_app apps/webpack || return 1
  # Warnings (the .wasm is over webpack's 244 KiB asset hint) are printed, not fatal; an error
  # makes webpack exit non-zero.
  timed "webpack (webpack --mode production)" bash -c 'cd apps/webpack && npm run --silent build' || return 1
  serve_static apps/webpack/dist || return 1
  node apps/check.mjs --name webpack --url "$url" --one-cache || return 1
  cleanup
}

run_next() {
  install_app apps/next || return 1
  local bundler port
  # Next 16 builds with Turbopack by default; `--webpack` is the other bundler apps still use.
  for bundler in turbopack webpack; do
    local flag=""
    [ "$bundler" = webpack ] && flag=--webpack
    timed "next (next build, $bundler)" bash -c "cd apps/next && NEXT_TELEMETRY_DISABLED=1 npx next build $flag" || return 1
    port=$(free_port)
    (cd apps/next && NEXT_TELEMETRY_DISABLED=1 exec setsid npx next start -H 127.0.0.1 -p "$port") >"$tmp/next.log" 2>&1 &
    pids+=($!)
    wait_for "http://127.0.0.1:$port/" "$!" "$tmp/next.log" || return 1
    node apps/check.mjs --name "next-$bundler" --url "http://127.0.0.1:$port/" --ssr --client-nav "[data-testid=to-friends]" || return 1
    cleanup
  done
}

for app in "${apps[@]}"; do
  log "=== $app ==="
  if ! "run_$app"; then
    log "$app: FAILED"
    status=1
  fi
  cleanup
done
rm -rf "$tmp"
log "figures:"
printf '    %s\n' "${figures[@]}"
exit "$status"

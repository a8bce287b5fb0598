#!/usr/bin/env bash
# The demo: installs what is missing (scripts/setup.sh), builds pkg/ and the app, and serves
# them with the dev backend on localhost. Stays in the foreground; Ctrl-C stops everything.
#
#   scripts/demo.sh [--port 5173] [--latency MS] [--url-lifetime SEC] [--dev] [--skip-setup]
#
#   --port N          the app's port (object storage listens on N+1); default 5173
#   --latency MS      API latency (storage gets 2/3 of it, plus jitter); default 120
#   --url-lifetime S  presigned URL lifetime in seconds; default 3600
#   --dev             Vite's dev server with hot reload instead of the built app
#   --skip-setup      do not run scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

port=5173 latency=120 lifetime=3600 dev=0 setup=1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --latency) latency=$2; shift 2 ;;
    --url-lifetime) lifetime=$2; shift 2 ;;
    --dev) dev=1; shift ;;
    --skip-setup) setup=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1;32m[demo]\033[0m %s\n' "$*"; }
[ "$setup" = 1 ] && scripts/setup.sh
source scripts/env.sh

if pkg_needs_build; then
  log "building pkg/"
  scripts/build-pkg.sh
else
  node scripts/package-pkg.mjs >/dev/null
  log "pkg/ is up to date"
fi

cd www
if [ "$dev" = 1 ]; then
  log "Vite dev server with the backend in-process"
  export AVATAR_LATENCY_MS=$latency AVATAR_STORAGE_LATENCY_MS=$((latency * 2 / 3)) AVATAR_STORAGE_PORT=$((port + 1))
  exec npx vite --port "$port" --strictPort
fi
log "building the app"
npm run --silent build
log "open the URL below; Ctrl-C stops the demo"
exec node server/main.mjs --port "$port" --static dist --pkg ../pkg \
  --latency "$latency" --storage-latency "$((latency * 2 / 3))" --jitter "$((latency / 2))" --url-lifetime "$lifetime"

#!/usr/bin/env bash
# Installs on this machine whatever the build and the tests need, and skips what is already
# present at the right version: a warm machine pays seconds, a new one a few minutes.
#
#   scripts/setup.sh            everything (Rust target and tools, browsers, drivers, npm deps)
#
# Versions: wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock; geckodriver and the
# release build's nightly (scripts/env.sh) are pinned. Browsers come from Debian (chromium,
# firefox-esr, WebKitGTK's driver).
set -euo pipefail
cd "$(dirname "$0")/.."

GECKODRIVER_VERSION=0.37.1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export PATH="$HOME/.cargo/bin:$PATH"

# --- Debian packages: browsers, drivers, Xvfb -------------------------------------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || missing+=(xvfb)
command -v xauth >/dev/null || missing+=(xauth)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: browsers and drivers present"
fi

# --- Rust target and tools ---------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The pinned nightly for the release .wasm (scripts/env.sh): only its compiler and the standard
# library's source (std is rebuilt for wasm32 from it, so no wasm32 rust-std is needed).
source scripts/env.sh
if ! rustup run "$RELEASE_TOOLCHAIN" rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustup run "$RELEASE_TOOLCHAIN" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  log "rustup: installing $RELEASE_TOOLCHAIN (minimal, with rust-src) for the release .wasm"
  rustup toolchain install "$RELEASE_TOOLCHAIN" --profile minimal --component rust-src \
    || log "rustup: $RELEASE_TOOLCHAIN could not be installed; release builds fall back to stable (larger .wasm)"
else
  log "rustup: $RELEASE_TOOLCHAIN with rust-src present"
fi

[ -f Cargo.lock ] || cargo generate-lockfile
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  log "cargo: installing wasm-bindgen-cli $wb_version (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$wb_version" --force
else
  log "wasm-bindgen-cli $wb_version present"
fi

if [ "$(geckodriver --version 2>/dev/null | awk 'NR==1 {print $2}')" != "$GECKODRIVER_VERSION" ]; then
  log "cargo: installing geckodriver $GECKODRIVER_VERSION (about 5 minutes)"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked --force
else
  log "geckodriver $GECKODRIVER_VERSION present"
fi


# --- npm dependencies of www/ (Vite, React, Playwright, binaryen's wasm-opt) --------------------
if [ -f www/package-lock.json ]; then
  stamp=www/node_modules/.avatar-cache-lock
  if [ ! -f "$stamp" ] || ! cmp -s www/package-lock.json "$stamp"; then
    log "npm: installing www/ dependencies"
    (cd www && npm ci --no-audit --no-fund --loglevel=error)
    cp www/package-lock.json "$stamp"
  else
    log "npm: www/ dependencies present"
  fi
fi

log "ready"

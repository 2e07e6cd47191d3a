#!/usr/bin/env bash
# The one test command (README; .ci/run calls it). Installs what the tests need
# when it is missing, idempotently and fast when already there, then runs
# `npm test`: lint, type checks, unit, integration, Docker and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# npm packages: reinstall only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.crewclaw-lock 2>/dev/null)" != "$lock_hash" ]; then
  log "Installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.crewclaw-lock
fi

# Debian's Chromium drives the browser tests (no browser downloads are possible here).
if [ ! -x /usr/bin/chromium ]; then
  log "Installing Chromium for the browser tests"
  apt_install chromium fonts-noto-cjk
fi

# iproute2 gives the Docker tests a stand-in outside host in its own network namespace.
if ! command -v ip >/dev/null 2>&1; then
  log "Installing iproute2 for the network tests"
  apt_install iproute2
fi

# A real Docker engine with compose (the entry-layer test brings compose.yaml up), the runtime image,
# the control plane image and Traefik (built here when there is no registry to pull from).
log "Docker engine and the images"
./scripts/docker-engine.sh
./scripts/build-images.sh runtime control-plane traefik litellm
# Pebble, Let's Encrypt's test ACME server, for the HTTPS test (built with Go, kept in a cache).
./scripts/install-pebble.sh >/dev/null

log "Running the tests"
npm test

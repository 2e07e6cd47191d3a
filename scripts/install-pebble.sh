#!/usr/bin/env bash
# Installs Pebble (Let's Encrypt's test ACME server) and pebble-challtestsrv (its DNS test server) for the
# ACME tests (server/test/docker/support/pebble.ts), with `go install`, into a cache directory kept between
# runs, with the test certificate of Pebble's own HTTPS listener beside them:
#
#   <dir>/bin/pebble, <dir>/bin/pebble-challtestsrv
#   <dir>/certs/cert.pem, key.pem   Pebble's listener certificate (names localhost, pebble, 127.0.0.1)
#   <dir>/certs/pebble.minica.pem   the CA that signed it
#
# The certificates are copied out of the module cache, so `go clean -modcache` does not break the tests.
# Does nothing when all of that is there. Prints <dir> on stdout.
#
# Usage: scripts/install-pebble.sh
#
# Settings (environment):
#   CREWCLAW_PEBBLE_VERSION   Pebble's module version (default v2.10.3)
#   CREWCLAW_PEBBLE_DIR       <dir> above (default ${XDG_CACHE_HOME:-~/.cache}/crewclaw/pebble/<version>)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
set_log_tag install-pebble

PEBBLE_VERSION="${CREWCLAW_PEBBLE_VERSION:-v2.10.3}"
PEBBLE_DIR="${CREWCLAW_PEBBLE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/crewclaw/pebble/${PEBBLE_VERSION}}"
BIN_DIR="$PEBBLE_DIR/bin"
CERT_DIR="$PEBBLE_DIR/certs"
MODULE=github.com/letsencrypt/pebble/v2

installed() {
  [ -x "$BIN_DIR/pebble" ] && [ -x "$BIN_DIR/pebble-challtestsrv" ] &&
    [ -s "$CERT_DIR/cert.pem" ] && [ -s "$CERT_DIR/key.pem" ] && [ -s "$CERT_DIR/pebble.minica.pem" ]
}

# go install has no use for test/certs, so ask for the module's source tree (already downloaded by then).
copy_certs() {
  local tmp dir
  tmp="$(mktemp -d)"
  # Outside any go.mod, so the download is of the module itself.
  dir="$(cd "$tmp" && go mod download -json "${MODULE}@${PEBBLE_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
  rmdir "$tmp"
  [ -n "$dir" ] && [ -d "$dir/test/certs" ] || die "go mod download of ${MODULE}@${PEBBLE_VERSION} gave no source tree"
  mkdir -p "$CERT_DIR"
  cp "$dir/test/certs/localhost/cert.pem" "$dir/test/certs/localhost/key.pem" "$dir/test/certs/pebble.minica.pem" "$CERT_DIR/"
  chmod 0644 "$CERT_DIR"/*.pem
}

main() {
  local start
  if installed; then
    log "Pebble ${PEBBLE_VERSION} is installed in ${PEBBLE_DIR}"
    printf '%s\n' "$PEBBLE_DIR"
    return 0
  fi
  start="$(now_s)"
  ensure_go "installing Pebble"
  mkdir -p "$BIN_DIR"
  # One go install for both: they share the module download and most of the build. Static binaries
  # (CGO off), so an image FROM scratch could carry them too.
  log "installing Pebble ${PEBBLE_VERSION} into ${PEBBLE_DIR} (about 35 s the first time)"
  timed "go install pebble ${PEBBLE_VERSION}" env GOBIN="$BIN_DIR" CGO_ENABLED=0 \
    go install "${MODULE}/cmd/pebble@${PEBBLE_VERSION}" "${MODULE}/cmd/pebble-challtestsrv@${PEBBLE_VERSION}" ||
    die "go install of Pebble ${PEBBLE_VERSION} failed: is the Go module proxy reachable?"
  copy_certs
  log "timing: install-pebble: $(elapsed "$start") s"
  printf '%s\n' "$PEBBLE_DIR"
}

main "$@"

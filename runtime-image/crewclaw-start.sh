#!/bin/sh
# Entry of the runtime container: write the platform's part of openclaw.json,
# then hand over to the gateway. The platform config leaves the environment
# first, so the agent's processes and its terminal never see it.
set -eu
node /usr/local/lib/crewclaw/merge-config.mjs
unset CREWCLAW_OPENCLAW_CONFIG
exec "$@"

# CrewClaw control plane: the Express API plus the built Svelte web app, in one Node 24 image.
#
#   docker build -t crewclaw/control-plane:dev .                      # with a registry (node:24.18.1-bookworm-slim)
#   scripts/build-images.sh                                           # offline: builds a local Node base first
#   docker build --build-arg NODE_IMAGE=crewclaw/node:24-bookworm-slim -t crewclaw/control-plane:dev .
#
# Build arguments:
#   NODE_IMAGE       base image for both stages (a Debian bookworm image with Node 24 at /usr/local, as the
#                    official node:24-bookworm-slim images; see the pin below).
#   EXTRA_CA_CERTS   PEM text of extra CA certificates to trust, for a TLS-inspecting proxy between the build
#                    and the npm registry: --build-arg EXTRA_CA_CERTS="$(cat corp-ca.pem)". A CA certificate
#                    is public, so a build argument (visible in `docker history`) is fine for it.
#
# The Dockerfile sticks to what Docker's legacy builder understands (no RUN --mount, no heredocs): machines
# without the buildx plugin, like this project's CI, build with it. See docs/deployment.md.

# Pinned to 24.18.1, not the floating node:24-bookworm-slim: better-sqlite3 12.x compiled against Node
# >= 24.19 headers aborts the process when the garbage collector finalizes a statement
# ("Assertion failed: (env) != nullptr" in node::RemoveEnvironmentCleanupHook; nodejs/node#65446,
# WiseLibs/better-sqlite3#1515). Reproduced here with 24.21.0; gone with 24.18.1. Drop the pin once
# better-sqlite3 is 13.x (Node-API, no ObjectWrap) or Node fixes it.
ARG NODE_IMAGE=node:24.18.1-bookworm-slim

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
ARG EXTRA_CA_CERTS=""

# better-sqlite3 compiles with node-gyp (its prebuilt download is not reachable everywhere): python3, make,
# g++, and the headers that the Node base carries in /usr/local/include/node. npm_config_nodedir makes
# node-gyp use those headers instead of downloading them from nodejs.org.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Trust the base image's extra CAs (NODE_EXTRA_CA_CERTS) plus EXTRA_CA_CERTS; Node's own roots come first so
# the file is never empty.
RUN set -e; f=/usr/local/share/crewclaw-ca.pem; \
    node -p "require('node:tls').rootCertificates.join('\n')" > "$f"; \
    if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ] && [ "$NODE_EXTRA_CA_CERTS" != "$f" ]; then \
      cat "$NODE_EXTRA_CA_CERTS" >> "$f"; fi; \
    if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" >> "$f"; fi
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/crewclaw-ca.pem

WORKDIR /app
# Dependencies first, so a source change does not reinstall them. package.json's allowScripts lets only the
# approved packages (argon2, better-sqlite3, esbuild) run install scripts.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build \
 && npm prune --omit=dev \
 && npm cache clean --force

# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}

COPY --from=build /usr/local/share/crewclaw-ca.pem /usr/local/share/crewclaw-ca.pem
# Each argon2id hash takes a 19 MiB buffer; glibc keeps such buffers after free unless big ones are
# mmap'ed. Measured (docs/benchmarks.md): 172 -> 97 MiB after 16 sign-ins, 230 -> 125 MiB with ten runtimes.
ENV MALLOC_MMAP_THRESHOLD_=131072
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/crewclaw-ca.pem \
    npm_config_update_notifier=false \
    NODE_ENV=production \
    DATA_DIR=/data \
    PORT=3000 \
    HOST=0.0.0.0

WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations

# Runs as root on purpose: the control plane drives the Docker socket mounted into it, which is root on the
# host whatever the container user is, and whose group id differs from host to host. One user also keeps
# files that `docker compose exec control-plane npm run admin ...` writes in /data usable by the server.
RUN mkdir -p /data
VOLUME /data
EXPOSE 3000

# No init in the image: compose runs it with `init: true` (docker run --init), which reaps zombies and
# forwards SIGTERM to node for a graceful shutdown.
# Liveness (/api/health), not readiness (/api/ready): Traefik and LiteLLM start only once this is healthy
# (compose.yaml, depends_on), so a readiness that waits for them would never pass, and a Docker or LiteLLM
# outage must not mark the control plane unhealthy (it still serves sign-in, the web UI and clear errors).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Streaming a gigabyte means 16,000 64 KiB buffers. A small young generation (2 MiB semi-spaces) keeps a
# transfer within ~45 MiB of idle memory instead of ~70. A 64 MiB starting old generation stops V8 from
# answering each burst of buffers with a full mark-compact of the ~25 MiB heap: ~90 of them per 3 GiB
# uploaded before, 2 after, which took the control plane's CPU per uploaded GiB from ~1.5 s to ~0.7 s.
# Keep bench/lib.mjs (CONTROL_PLANE_AS_SHIPPED) in step. Measurements: docs/benchmarks.md.
CMD ["node", "--enable-source-maps", "--max-semi-space-size=2", "--initial-old-space-size=64", "dist/server/main.js"]

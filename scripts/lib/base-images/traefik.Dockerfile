# A stand-in for the official traefik:v3.6.12, built without a registry by scripts/build-images.sh: Traefik
# compiled here from its Go module's own source (CGO off, a static binary), on an empty base. Same binary
# path as the official image (/usr/local/bin/traefik) and the same ports; no shell, no package manager.
# compose.yaml passes the whole configuration as arguments, so both images run it the same way (the
# official image's entrypoint script hands arguments starting with "-" to traefik).
FROM scratch
# rootfs/ is staged by build-images.sh: usr/local/bin/traefik, the host's CA bundle (ACME and any
# HTTPS backend), and passwd/group naming the unprivileged user compose runs it as.
COPY rootfs/ /
ENV PATH=/usr/local/bin
EXPOSE 80 443
ENTRYPOINT ["/usr/local/bin/traefik"]

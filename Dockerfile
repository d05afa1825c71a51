# Shelf's container image: a static binary, CA certificates and time zone
# data on an empty base, run as a non-root user, its SQLite database in the
# /data volume.
#
#   docker build -t shelf .
#
# Needs BuildKit (Docker 23 and later; DOCKER_BUILDKIT=1 on Docker 20.10),
# and the golang image from a registry for the build stage. With
# --build-arg FILES_FROM=prebuilt the final stage takes its files from the
# build context's files/ directory instead (shelf, ca-certificates.crt,
# zoneinfo.zip) and nothing is pulled: cmd/shelf/docker_test.go builds the
# image that way from a binary built on the host.

ARG GO_VERSION=1.26
ARG FILES_FROM=built

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY . .
ENV CGO_ENABLED=0
# Exec form: the build needs no shell.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/shelf", "./cmd/shelf"]

# The files the final image holds, from the build stage...
FROM scratch AS built
COPY --from=build /out/shelf /files/shelf
COPY --from=build /etc/ssl/certs/ca-certificates.crt /files/ca-certificates.crt
COPY --from=build /usr/local/go/lib/time/zoneinfo.zip /files/zoneinfo.zip

# ...or from the build context (FILES_FROM=prebuilt).
FROM scratch AS prebuilt
COPY files/shelf files/ca-certificates.crt files/zoneinfo.zip /files/

FROM ${FILES_FROM} AS files
# An empty directory, for /data.
WORKDIR /files/data

FROM scratch
COPY --from=files /files/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=files /files/zoneinfo.zip /usr/share/zoneinfo.zip
COPY --from=files /files/shelf /shelf
COPY --from=files --chown=65532:65532 /files/data /data
# The image has no Chromium (it would add some 400 MB and a Debian base), so
# page previews of short links are off in it: each says "Previews are off
# on this server". To have them, run Shelf where Debian's chromium is
# installed, or build an image on debian:bookworm-slim with chromium and
# fonts-liberation added and SHELF_CHROMIUM=/usr/bin/chromium.
# Listening on every interface, Shelf will not serve its dev inbox (it shows
# everyone's mail): run the image with SHELF_SMTP_URL set.
ENV ZONEINFO=/usr/share/zoneinfo.zip \
    SHELF_ADDR=0.0.0.0:8080 \
    SHELF_DB=/data/shelf.db
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/shelf", "healthcheck"]
ENTRYPOINT ["/shelf"]
CMD ["serve"]

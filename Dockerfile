# manta-tagbot container image.
#
#   docker build -t manta-tagbot .
#   docker run -d --env-file .env -v manta-tagbot-data:/data manta-tagbot
#
# The crate uses rustls with bundled root certificates, so neither stage needs OpenSSL.

# ---- build ------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /build

# Dependencies first: this layer is reused until Cargo.toml or Cargo.lock changes.
# Placeholder sources let cargo build the dependency graph alone.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# Then the crate itself. Touch the sources so their (possibly older) timestamps from the build
# context cannot make cargo mistake the placeholder build for an up-to-date one.
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/manta-tagbot /out/manta-tagbot

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: system trust store, for a TELOXIDE_API_URL or MANTA_API_URL behind a private CA.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged UID/GID so a bind-mounted /data can be given to it (chown 10001:10001).
RUN groupadd --system --gid 10001 manta \
    && useradd --system --no-log-init --uid 10001 --gid 10001 \
        --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin manta \
    && install -d -m 0700 -o 10001 -g 10001 /data

COPY --from=builder /out/manta-tagbot /usr/local/bin/manta-tagbot

# /data: the state folder (DATA_DIR: the state database with each bot's live credentials). It is also
# the working directory, where the daemon looks for an optional .env file; prefer --env-file.
ENV DATA_DIR=/data
VOLUME /data
WORKDIR /data
USER 10001:10001

# /healthz and /metrics on port 8080 inside the container (see README "Operations"); publish it
# only where it should be seen, e.g. -p 127.0.0.1:8080:8080. The HEALTHCHECK probes /healthz
# with the binary itself (the slim image has no curl). It needs HTTP_ADDR: if you unset it,
# also run the container with --no-healthcheck.
ENV HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/manta-tagbot", "healthcheck"]

# SIGTERM (docker stop) makes the daemon stop taking updates, finish commands in flight, exit 0.
# It waits up to SHUTDOWN_TIMEOUT_SECS (default 20 s) for them, longer than docker stop's default
# 10 s before SIGKILL: run with --stop-timeout 30 (or docker stop -t 30).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/manta-tagbot"]
CMD ["run"]

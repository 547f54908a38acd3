# The Rust rewrites, multi-stage with cargo-chef: `--target
# who|who-tls|hello|hello-tiny|simple-script` picks the image, and the build
# arg APP (the same name) the one program the builder compiles, and with
# which cargo features (FEATURES; who-tls is who-server with `tls`).
# Official base by default (musl-native Alpine); the Makefile may pass a
# stand-in. Building for the musl target explicitly works on both kinds.
ARG RUST_IMAGE=rust:1.95-alpine
# arm64 is cross-compiled on the machine that builds, never emulated: the
# builder runs on BUILDPLATFORM and compiles for TARGETARCH. BuildKit sets
# both from --platform; the legacy builder takes them as build args (empty
# BUILDPLATFORM: amd64; empty TARGETARCH: amd64).
ARG BUILDPLATFORM

# chef: the toolchain and the tools every later stage needs, installed once.
# Alpine links musl binaries with musl-dev; Debian images lack the musl std;
# some images (the stand-in) already have cargo-chef and cargo-auditable.
FROM --platform=${BUILDPLATFORM:-linux/amd64} ${RUST_IMAGE} AS chef
RUN if command -v apk >/dev/null; then apk add --no-cache musl-dev; fi \
 && for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do \
      if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then rustup target add "$target"; fi; \
    done \
 && (cargo chef --version || cargo install cargo-chef --locked) \
 && (command -v cargo-auditable || cargo install cargo-auditable --locked)
WORKDIR /src

# planner: boil the workspace down to recipe.json (manifests and lockfile),
# so the builder's dependency layer is keyed on dependencies only.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# builder: one program, APP (the catalog's stage: who, hello, simple-script
# or hello-tiny; scripts/build-images.sh passes it), so that an image's cold
# build compiles what its program needs and nothing else: hello's cooks no
# hyper or tokio. Its dependencies alone first (cargo chef cook -p), a layer
# that stays cached while only .rs files change; then the program, with the
# same flags, or cargo would rebuild the dependencies.
# Static musl binaries, checked here: scratch has no dynamic loader.
# `cargo auditable` embeds the dependency list (a compressed JSON section,
# a few kB) that syft, Grype and Trivy read: scratch has no package database.
# What the final image holds is left in /out/root, dated SOURCE_DATE_EPOCH:
# the same program gives the same layer, build after build.
FROM chef AS builder
ARG TARGETARCH
ARG APP=who
# Cargo features of the program, comma-separated; empty: APP's own (who-tls:
# tls, the others none). The dependencies are cooked with the same ones.
ARG FEATURES=
# rustc's flags for these targets (static, relocations packed) are
# .cargo/config.toml's, which the recipe carries to the cook: no RUSTFLAGS,
# which would replace them.
# Rust's own lld links aarch64 musl binaries with Rust's self-contained musl
# start files and libc: no cross gcc, the same on Alpine and Debian bases.
ENV CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
# ring (who-tls's crypto) compiles C and assembly with cc-rs, which looks
# for x86_64-linux-musl-gcc when the host is not musl (the Debian-based
# stand-in); the host's cc does for ring, which needs no libc headers of
# musl's. On Alpine cc is that compiler already.
# For aarch64, clang: one compiler for every target (cc-rs passes it
# --target), the same package name on Alpine and Debian, and ring builds
# with it without a sysroot (-nostdlibinc). It is installed below for
# who-tls's arm64 build only (about 60 MB to fetch), so that no other
# image's builder waits for it; the host's ar archives aarch64 objects.
# (Alpine's `apk add clang` is unverified: rust:1.95-alpine cannot be
# pulled here; the Debian stand-in's apt-get path is what was built.)
ENV CC_x86_64_unknown_linux_musl=cc CC_aarch64_unknown_linux_musl=clang
# No version pin on clang (DL3008), as none on apk's (.hadolint.yaml): the
# base's release pins it; a pin would break on every point release.
# hadolint ignore=DL3008
RUN if [ "$APP:${TARGETARCH:-amd64}" = who-tls:arm64 ]; then \
      if command -v apk >/dev/null; then apk add --no-cache clang; \
      else apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends clang \
        && rm -rf /var/lib/apt/lists/*; fi; \
    fi \
 && case "${TARGETARCH:-amd64}" in \
      amd64) echo x86_64-unknown-linux-musl ;; \
      arm64) echo aarch64-unknown-linux-musl ;; \
      *) echo "TARGETARCH=$TARGETARCH: only amd64 and arm64 are built" >&2; exit 1 ;; \
    esac >/rust-target \
 && case "$APP" in \
      who | who-tls) echo who-server ;; \
      hello | simple-script | hello-tiny) echo "$APP" ;; \
      *) echo "APP=$APP: not one of who, who-tls, hello, simple-script, hello-tiny" >&2; exit 1 ;; \
    esac >/package \
 && case "$FEATURES:$APP" in \
      :who-tls) echo tls ;; \
      *) echo "$FEATURES" ;; \
    esac >/features
COPY --from=planner /src/recipe.json recipe.json
# hello-tiny has no dependencies, and links only with its own flags (below).
RUN features=$(cat /features); \
    if [ "$APP" != hello-tiny ]; then \
      cargo chef cook --release --locked -p "$(cat /package)" ${features:+--features "$features"} --target "$(cat /rust-target)" --recipe-path recipe.json; \
    fi
COPY . .
# hello-tiny (no std, no libc) with its own rustc flags: rustc's copy of
# musl's start files off (its _start is hello-tiny's own), absolute
# addresses (no PIE: nothing to relocate) and no unwind tables. Plain
# `cargo build`: it has no dependencies to list, and every byte counts (its
# budget: docker/images.tsv). Both architectures: amd64 links with gcc,
# arm64 with rust-lld (above), for which hello-tiny/build.rs gives ld's
# flags instead of gcc's. The rustc flags are hello-tiny/rustflags, the one
# copy the ladder and tests read too.
RUN set -e; \
    target=$(cat /rust-target); \
    package=$(cat /package); \
    features=$(cat /features); \
    if [ "$package" = hello-tiny ]; then \
      RUSTFLAGS="-C target-feature=+crt-static $(cat hello-tiny/rustflags)" cargo build --release --locked --target "$target" -p hello-tiny; \
    else \
      cargo auditable build --release --locked --target "$target" -p "$package" ${features:+--features "$features"} --bin "$package"; \
    fi; \
    mkdir -p /out/root; \
    cp "target/$target/release/$package" /out/root/; \
    readelf -lW "/out/root/$package" >/tmp/headers; \
    if grep -q INTERP /tmp/headers; then echo "$package is not static" >&2; exit 1; fi
# simple-script's output.txt is written at build time, as the Python
# original does; a fixed SOURCE_DATE_EPOCH keeps the file, and so the
# layer, reproducible. An arm64 simple-script cannot run here (no emulation
# in the build): a native one writes the file, the same on every
# architecture.
ARG SOURCE_DATE_EPOCH
RUN set -e; \
    if [ "$APP" = simple-script ]; then \
      generate=/out/root/simple-script; \
      if [ "$(cat /rust-target)" != x86_64-unknown-linux-musl ]; then \
        cargo build --release --locked --target x86_64-unknown-linux-musl -p simple-script; \
        generate=target/x86_64-unknown-linux-musl/release/simple-script; \
      fi; \
      "$generate" generate --out /out/output.txt; \
      mv /out/output.txt /out/root/; \
    fi; \
    touch -d "@${SOURCE_DATE_EPOCH:-0}" /out/root/*

# binaries: the builder's /out under the name the final stages copy from;
# each copies /out/root, which holds its program's files only (a legacy
# build of one stage builds the stages above it too, on APP's files).
# Everything below this line is FROM scratch and copies from `binaries`
# only: a legacy arm64 build (the legacy builder refuses to COPY --from a
# stage of another platform) builds those stages on their own, after a
# `FROM scratch AS binaries` of the cross-compiled /out (build-images.sh).
FROM builder AS binaries

# oci: what every final image shares, said once: labels and a non-root user
# (numeric, so scratch needs no /etc/passwd). Each final adds its title.
# The source and revision labels are added by scripts/build-images.sh
# (`--label`), and only when known: from a git remote and a commit.
FROM scratch AS oci
ARG VERSION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
USER 65532:65532

# who: the server alone; HEALTHCHECK uses the binary itself (no curl here).
FROM oci AS who
LABEL org.opencontainers.image.title="who-server" \
      org.opencontainers.image.description="GET /who answers the container's hostname: the Go demo server, in Rust"
COPY --from=binaries /out/root/ /
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/who-server", "check"]
ENTRYPOINT ["/who-server"]

# who-tls: who-server built with the `tls` feature (HTTPS, mutual TLS,
# HTTP/2). Without a certificate it serves plain HTTP (and h2c), as who
# does. Give it one by WHO_CERT and WHO_KEY (and WHO_CACERT), files mounted
# in: the HEALTHCHECK reads the same variables, and with WHO_CERT set asks
# https://127.0.0.1:8080/health, taking any certificate (--insecure): it
# checks that its own server answers, over loopback, where no real
# certificate's name matches and a scratch image has no CA store.
# Certificates given as flags instead leave the check on plain HTTP (it
# fails): use the variables. Under --cacert (mutual TLS) the check has no
# client certificate and fails too.
FROM oci AS who-tls
LABEL org.opencontainers.image.title="who-server-tls" \
      org.opencontainers.image.description="GET /who answers the container's hostname, over HTTP, HTTPS (mutual TLS) and HTTP/2: who-server with TLS"
COPY --from=binaries /out/root/ /
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/who-server", "check", "--insecure"]
ENTRYPOINT ["/who-server"]

# hello: the size floor of the comparison, one binary without dependencies.
FROM oci AS hello
LABEL org.opencontainers.image.title="hello" \
      org.opencontainers.image.description="Prints Hello world!: the Go hello demo, in Rust"
COPY --from=binaries /out/root/ /
ENTRYPOINT ["/hello"]

# simple-script: the file made at build time and the binary that shows it.
FROM oci AS simple-script
LABEL org.opencontainers.image.title="simple-script" \
      org.opencontainers.image.description="Shows the output.txt written at build time: the Python exercise, in Rust"
COPY --from=binaries /out/root/ /
ENTRYPOINT ["/simple-script", "show", "/output.txt"]

# hello-tiny: hello as small as Rust gets, no std and no libc (about 1 KB).
FROM oci AS hello-tiny
LABEL org.opencontainers.image.title="hello-tiny" \
      org.opencontainers.image.description="Prints Hello world!: no std, no libc, raw system calls; the size limit of a Rust container"
COPY --from=binaries /out/root/ /
ENTRYPOINT ["/hello-tiny"]

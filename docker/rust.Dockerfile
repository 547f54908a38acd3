# The Rust rewrites, multi-stage with cargo-chef: one shared builder compiles
# the workspace once, and `--target who|hello|hello-tiny|simple-script`
# picks the image.
# Official base by default (musl-native Alpine); the Makefile may pass a
# stand-in. Building for the musl target explicitly works on both kinds.
ARG RUST_IMAGE=rust:1.95-alpine

# chef: the toolchain and the tools every later stage needs, installed once.
# Alpine links musl binaries with musl-dev; Debian images lack the musl std;
# some images (the stand-in) already have cargo-chef.
FROM ${RUST_IMAGE} AS chef
RUN if command -v apk >/dev/null; then apk add --no-cache musl-dev; fi \
 && if [ ! -d "$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-musl" ]; then \
      rustup target add x86_64-unknown-linux-musl; fi \
 && (cargo chef --version || cargo install cargo-chef --locked)
WORKDIR /src

# planner: boil the workspace down to recipe.json (manifests and lockfile),
# so the builder's dependency layer is keyed on dependencies only.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# builder: dependencies alone first, a layer that stays cached while only .rs
# files change (no hyper or tokio rebuild); then all three programs at once,
# with the same flags, or cargo would rebuild the dependencies.
# Static musl binaries, checked here: scratch has no dynamic loader.
FROM chef AS builder
ENV RUSTFLAGS="-C target-feature=+crt-static"
# Only the three shipped programs: the workspace's other members are tools.
ENV RELEASE_ARGS="--release --locked --target x86_64-unknown-linux-musl -p who-server -p hello -p simple-script"
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook $RELEASE_ARGS --recipe-path recipe.json
COPY . .
RUN set -e; \
    cargo build $RELEASE_ARGS --bins; \
    mkdir /out; \
    for bin in who-server hello simple-script; do \
      cp "target/x86_64-unknown-linux-musl/release/$bin" /out/; \
      readelf -lW "/out/$bin" >/tmp/headers; \
      if grep -q INTERP /tmp/headers; then echo "$bin is not static" >&2; exit 1; fi; \
    done
# hello-tiny (no std, no libc) with its own rustc flags, in a second cargo
# run so the others' flags, and their cached build, stay as they are:
# rustc's copy of musl's start files off (its _start is hello-tiny's own),
# absolute addresses (no PIE: nothing to relocate) and no unwind tables.
ENV TINY_RUSTFLAGS="-C link-self-contained=no -C relocation-model=static -C force-unwind-tables=no"
RUN set -e; \
    RUSTFLAGS="$RUSTFLAGS $TINY_RUSTFLAGS" cargo build --release --locked --target x86_64-unknown-linux-musl -p hello-tiny; \
    cp target/x86_64-unknown-linux-musl/release/hello-tiny /out/; \
    readelf -lW /out/hello-tiny >/tmp/headers; \
    if grep -q INTERP /tmp/headers; then echo "hello-tiny is not static" >&2; exit 1; fi
# output.txt is written at build time, as the Python original does; a fixed
# SOURCE_DATE_EPOCH keeps the file, and so this layer, reproducible.
ARG SOURCE_DATE_EPOCH
RUN /out/simple-script generate --out /out/output.txt

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
COPY --from=builder /out/who-server /who-server
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/who-server", "check"]
ENTRYPOINT ["/who-server"]

# hello: the size floor of the comparison, one binary without dependencies.
FROM oci AS hello
LABEL org.opencontainers.image.title="hello" \
      org.opencontainers.image.description="Prints Hello world!: the Go hello demo, in Rust"
COPY --from=builder /out/hello /hello
ENTRYPOINT ["/hello"]

# simple-script: the file made at build time and the binary that shows it.
FROM oci AS simple-script
LABEL org.opencontainers.image.title="simple-script" \
      org.opencontainers.image.description="Shows the output.txt written at build time: the Python exercise, in Rust"
COPY --from=builder /out/simple-script /out/output.txt /
ENTRYPOINT ["/simple-script", "show", "/output.txt"]

# hello-tiny: hello as small as Rust gets, no std and no libc (about 1 KB).
FROM oci AS hello-tiny
LABEL org.opencontainers.image.title="hello-tiny" \
      org.opencontainers.image.description="Prints Hello world!: no std, no libc, raw system calls; the size limit of a Rust container"
COPY --from=builder /out/hello-tiny /hello-tiny
ENTRYPOINT ["/hello-tiny"]

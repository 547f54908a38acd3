# Docker multi-stage demos (Go originals, one Python script) and their Rust
# rewrites, built as images side by side.
#
# Common uses:
#   make bootstrap          # once on a fresh Debian machine (as root)
#   make images             # every image of docker/images.tsv, e.g. who:rust
#   make images IMAGES=who:rust        # just one (or a few)
#   make images STANDINS=0  # official base images from a registry
#   make images BUILD_FLAGS=--no-cache  # time a cold build
#   make compare            # build everything, measure, report in results/
#   make check              # fmt, clippy, the programs' tests, shellcheck:
#                           # no root, no Docker (the edit-compile-test loop)
#   make test               # every lint and test (what CI runs)
#   make mutants            # mutation testing of the three programs (slow)
#   make soak               # who-server 10 min under good and hostile clients (slow)
#   make lint               # fmt, clippy, shellcheck, hadolint, k8s/compose checks only
#
# Recipes longer than a line live in scripts/ (bash strict mode).

# Every image is a line of docker/images.tsv (tag, Dockerfile, stage, ...);
# the tags are its first column.
IMAGES ?= $(shell awk '!/^\#/ && NF { print $$1 }' docker/images.tsv)
# auto: an official base if the daemon has it, else its local stand-in;
# 1: always the stand-ins; 0: always the official images (pulled).
STANDINS ?= auto
# Extra docker build options, e.g. --no-cache to time a cold build.
BUILD_FLAGS ?=
# The labels' values (version, commit, time, source) are derived by
# scripts/lib.sh, so a direct scripts/build-images.sh builds the same images.
export STANDINS BUILD_FLAGS

.PHONY: bootstrap stand-ins images check check-rust check-shell lint lint-rust lint-shell lint-docker lint-deploy test compare mutants soak

# Install what the image work needs and start dockerd when it is down.
bootstrap:
	scripts/bootstrap.sh

# Local stand-ins for the official base images (no registry here); writes
# results/bases.txt with the base each build really uses.
stand-ins: bootstrap
	scripts/stand-ins.sh

# Build $(IMAGES), each as its row of docker/images.tsv says.
images: stand-ins
	scripts/build-images.sh $(IMAGES)

# Lint the Dockerfiles (rules waived in .hadolint.yaml, each with its reason).
lint-docker: bootstrap
	hadolint docker/*.Dockerfile

# Formatting and clippy, warnings as errors.
lint-rust: bootstrap check-rust

# shellcheck over scripts/ and .ci/.
lint-shell: bootstrap check-shell

# The checks of `make check`, without bootstrap: they need the tools it
# installs (shellcheck, rustfmt, clippy, the aarch64 musl target and
# qemu-aarch64-static for hello-tiny's arm64 build) on PATH, not root.
check-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy -p who-server --all-targets --features tls --locked -- -D warnings

check-shell:
	scripts/shellcheck.sh

# What an edit is checked with before `make test`: no root, no Docker, no
# bootstrap. The programs' unit and process tests; the unit tests of compare,
# benchkit (its library) and the test kit (docker-backed tests: `make test`).
check: check-rust check-shell
	cargo test --locked -p who-server -p hello -p simple-script -p hello-tiny
	cargo test --locked -p who-server --features tls
	cargo test --locked -p compare -p benchkit -p testkit --lib --bins

# Kubernetes manifests (kubernetes-validate, checkov) and compose files.
lint-deploy: bootstrap
	scripts/lint-deploy.sh

# Every static check; fast, so it runs before the images are built.
lint: lint-rust lint-shell lint-docker lint-deploy

# Everything CI checks: the lints, then the images the tests run, then the
# workspace's tests (programs, images, compose, swarm, compare), and
# who-server's whole suite again with its tls feature (HTTPS, mutual TLS,
# HTTP/2), which changes how every connection starts.
test: lint images
	cargo test --workspace --locked
	cargo test --locked -p who-server --features tls

# Build $(IMAGES) cold then warm and measure them side by side in rounds
# (results/compare.json, .md, charts, and README.md's results table; see
# compare/README.md). compare builds every image itself, so it needs the
# stand-ins, not `images`: scripts/compare.sh bootstraps and makes them
# while compare compiles. COMPARE_ARGS adds options, e.g. --rounds 5, or
# --skip-build to measure the images `make images` made as they are.
comma := ,
empty :=
space := $(empty) $(empty)
compare:
	scripts/compare.sh --readme README.md --images $(subst $(space),$(comma),$(strip $(IMAGES))) $(COMPARE_ARGS)

# Mutation testing of who-server, hello and simple-script with cargo-mutants
# (installed when missing): every mutant must be caught by their tests.
# Takes tens of minutes, so it is not part of `make test`; settings and the
# exclusions, each with its reason, are in .cargo/mutants.toml; results in
# mutants.out/ (README, "Mutation testing").
mutants:
	command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
	cargo mutants --package who-server --package hello --package simple-script --jobs 2

# The soak of who-server (issue 20; who-server/tests/soak.rs): the release
# binary, then the who:rust image with --cpus 1 --memory 64m, each SOAK_TIME
# under wrk and hostile clients on 127.0.0.1, sampled every 5 s; fails if
# memory, descriptors or threads grow, if a probe waits over 1 s while a
# slot is free, or if the log writes more than its summaries. Minutes long,
# so not part of `make test`. Needs wrk, and for the image Docker and
# who:rust (`make images IMAGES=who:rust`); SOAK_TARGETS=binary skips it.
SOAK_TIME ?= 10m
SOAK_TARGETS ?= binary,image
SOAK_IMAGE ?= who:rust
soak:
	SOAK_TIME=$(SOAK_TIME) SOAK_TARGETS=$(SOAK_TARGETS) SOAK_IMAGE=$(SOAK_IMAGE) \
		cargo test --release --locked -p who-server --test soak -- --ignored --nocapture

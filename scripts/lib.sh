# shellcheck shell=bash
# Helpers shared by the image scripts; sourced, never run.
# The official base images are named in one place only: the `ARG *_IMAGE=`
# defaults of docker/*.Dockerfile. Everything here derives from them.

# STANDINS=auto uses an official image when the daemon already has it, its
# local stand-in otherwise; 1 always uses the stand-ins, 0 never (pulls).
STANDINS=${STANDINS:-auto}
# Without this, bash runs $(...) without -e: a failing step inside would
# go unnoticed and hand an empty value on.
shopt -s inherit_errexit
# The stand-ins are tagged $STANDIN_PREFIX<official name>.
STANDIN_PREFIX=${STANDIN_PREFIX:-standin/}

# say/die: one line on stderr, behind the script's SAY_PREFIX if it set one
# (e.g. `bootstrap: `), so a line in a long make log says who wrote it.
say() { printf '%s%s\n' "${SAY_PREFIX:-}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# image_args FILE: the `NAME=official` base-image ARG defaults of a Dockerfile.
image_args() {
  sed -n 's/^ARG \([A-Z_]*_IMAGE\)=\(.*\)$/\1=\2/p' "$1"
}

# official_bases: every official base image the Dockerfiles name, once each.
official_bases() {
  local file
  for file in docker/*.Dockerfile; do image_args "$file"; done | cut -d= -f2 | sort -u
}

# base_for OFFICIAL: the image a build should use in its place.
base_for() {
  case $STANDINS in
    0) printf '%s\n' "$1" ;;
    1) printf '%s%s\n' "$STANDIN_PREFIX" "$1" ;;
    *) if have_image "$1"; then printf '%s\n' "$1"; else printf '%s%s\n' "$STANDIN_PREFIX" "$1"; fi ;;
  esac
}

# The repository these scripts live in (its metadata labels the images,
# whatever build context a caller points the build at).
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CATALOG=$REPO_ROOT/docker/images.tsv

# catalog_row TAG: the catalog's row for TAG (its columns, space-separated);
# fails with one line when TAG is not in docker/images.tsv.
catalog_row() {
  local row
  row=$(awk -v tag="$1" '!/^#/ && $1 == tag { print; exit }' "$CATALOG")
  [ -n "$row" ] || die "$1 is not in docker/images.tsv (its tags: $(catalog_tags | paste -sd' '))"
  printf '%s\n' "$row"
}

# platform_of TAG: the platform an image of the catalog is built for and
# runs on: linux/arm64 for the -arm64 variants (who:rust-arm64), else
# linux/amd64. testkit::catalog's platform() reads tags the same way.
platform_of() {
  case $1 in
    *-arm64) printf 'linux/arm64\n' ;;
    *) printf 'linux/amd64\n' ;;
  esac
}

# catalog_tags: every tag of the catalog, one a line.
catalog_tags() {
  awk '!/^#/ && NF { print $1 }' "$CATALOG"
}

# public_url URL: a git remote's URL as a public https:// address, or
# nothing for a remote a stranger could not open (a local path, file://).
# https://user:token@host/o/r.git -> https://host/o/r;
# git@host:o/r.git and ssh://git@host[:port]/o/r -> https://host/o/r.
public_url() {
  local url=$1
  case $url in
    http://* | https://*) ;;
    ssh://*)
      url=${url#ssh://}
      url=${url#*@}
      local host=${url%%/*}
      url=https://${host%%:*}/${url#*/}
      ;;
    *@*:*)
      url=${url#*@}
      url=https://${url%%:*}/${url#*:}
      ;;
    *) return 0 ;;
  esac
  local scheme=${url%%://*} rest=${url#*://}
  local authority=${rest%%/*} path=
  [ "$rest" = "$authority" ] || path=/${rest#*/}
  authority=${authority##*@}
  path=${path%/}
  path=${path%.git}
  [ -n "$authority" ] || return 0
  printf '%s://%s%s\n' "$scheme" "$authority" "$path"
}

# image_metadata: the values that label the images and date their files,
# each derived here unless already set in the environment, so that
# scripts/build-images.sh run directly and `make images` build the same
# images. All come from $REPO_ROOT, never from a build context elsewhere.
#   VERSION            Cargo.toml's [workspace.package] version
#   REVISION           the commit (git rev-parse HEAD)
#   SOURCE_DATE_EPOCH  the last commit's time
#   CREATED            SOURCE_DATE_EPOCH as an RFC 3339 UTC time
#   SOURCE             the `origin` remote, when it is a public URL
# Without git (a tarball), there is no commit to name: REVISION stays empty
# and its label is left out rather than made up; SOURCE_DATE_EPOCH is then
# Cargo.toml's mtime, which `git archive` sets to the commit's time. An
# empty SOURCE leaves that label out too: the address is not known.
image_metadata() {
  local git=(git -C "$REPO_ROOT")
  if [ -z "${VERSION:-}" ]; then
    VERSION=$(awk -F'"' '/^\[/ { section = $0 } section == "[workspace.package]" && /^version *=/ { print $2; exit }' \
      "$REPO_ROOT/Cargo.toml")
    [ -n "$VERSION" ] || die "no version in $REPO_ROOT/Cargo.toml's [workspace.package]"
  fi
  # A git checkout of this tree, not a tarball unpacked inside another one.
  local in_git=
  if [ "$("${git[@]}" rev-parse --show-toplevel 2>/dev/null || true)" = "$REPO_ROOT" ]; then in_git=1; fi
  if [ -z "${REVISION:-}" ] && [ -n "$in_git" ]; then REVISION=$("${git[@]}" rev-parse HEAD); fi
  if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    if [ -n "$in_git" ]; then
      SOURCE_DATE_EPOCH=$("${git[@]}" log -1 --format=%ct)
    else
      SOURCE_DATE_EPOCH=$(stat -c %Y "$REPO_ROOT/Cargo.toml")
    fi
  fi
  if [ -z "${CREATED:-}" ]; then CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ); fi
  if [ -z "${SOURCE:-}" ] && [ -n "$in_git" ]; then
    SOURCE=$(public_url "$("${git[@]}" remote get-url origin 2>/dev/null || true)")
  fi
  REVISION=${REVISION:-} SOURCE=${SOURCE:-}
}

case $STANDINS in
  auto | 0 | 1) ;;
  *) die "STANDINS must be auto, 0 or 1 (got '$STANDINS')" ;;
esac

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

say() { printf '%s\n' "$*" >&2; }
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

case $STANDINS in
  auto | 0 | 1) ;;
  *) die "STANDINS must be auto, 0 or 1 (got '$STANDINS')" ;;
esac

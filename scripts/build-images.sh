#!/usr/bin/env bash
# Builds images named PROGRAM:VARIANT, e.g. who:rust or web:go-naive.
# The tag is the whole interface: VARIANT names docker/VARIANT.Dockerfile and
# PROGRAM picks the stage (--target) or the APP build arg, whichever that
# Dockerfile has. Base images come from scripts/lib.sh's base_for.
# Quiet on success: one line per image; the full log goes to $LOG_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

[ $# -gt 0 ] || die "usage: $0 PROGRAM:VARIANT..."
LOG_DIR=${LOG_DIR:-target/image-logs}
# Tag as ${TAG_PREFIX}PROGRAM:VARIANT, e.g. for a test build beside the real one.
TAG_PREFIX=${TAG_PREFIX:-}
# Extra docker build options, e.g. BUILD_FLAGS=--no-cache to time a cold build.
read -r -a extra <<<"${BUILD_FLAGS:-}"
# The legacy builder, which any client has; DOCKER_BUILDKIT=1 works too
# (with a client that has BuildKit: buildx, or the 20.10 CLI).
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
# Metadata passed to the Dockerfiles that declare it (the Makefile sets it).
: "${VERSION:=unknown}" "${REVISION:=unknown}" "${CREATED:=unknown}" "${SOURCE:=unknown}"
: "${SOURCE_DATE_EPOCH:=0}"
APP=
mkdir -p "$LOG_DIR"

# build_args FILE PROGRAM: the docker build options for one image.
build_args() {
  local file=$1 name official
  while IFS='=' read -r name official; do
    printf '%s\n' --build-arg "$name=$(base_for "$official")"
  done < <(image_args "$file")
  if grep -q "^FROM .* AS $2\$" "$file"; then printf '%s\n' --target "$2"; fi
  for name in APP VERSION REVISION CREATED SOURCE SOURCE_DATE_EPOCH; do
    if grep -q "^ARG $name\b" "$file"; then printf '%s\n' --build-arg "$name=${!name}"; fi
  done
}

for image in "$@"; do
  APP=${image%%:*}
  file=docker/${image#*:}.Dockerfile
  [ -f "$file" ] || die "$image: there is no $file"
  log=$LOG_DIR/${image/:/-}.log
  mapfile -t args < <(build_args "$file" "$APP")
  start=$SECONDS
  if ! docker build -f "$file" -t "$TAG_PREFIX$image" "${args[@]}" "${extra[@]}" . >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "$image failed to build; full log: $log"
  fi
  say "built $TAG_PREFIX$image in $((SECONDS - start)) s ($(docker image inspect -f '{{.Size}}' "$TAG_PREFIX$image" | numfmt --to=si)B, log: $log)"
done

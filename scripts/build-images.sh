#!/usr/bin/env bash
# Builds images named PROGRAM:VARIANT, e.g. who:rust or web:go-naive, each
# as its row of docker/images.tsv says: the Dockerfile, and the stage that
# becomes `--target STAGE` (when the Dockerfile has `FROM ... AS STAGE`)
# and `--build-arg APP=STAGE` (when it declares `ARG APP`: the one program
# its builder compiles). A tag not in the catalog is an error. Base images
# come from scripts/lib.sh's base_for, the labels' metadata from its
# image_metadata.
# A tag whose variant ends in -arm64 (who:rust-arm64) is a linux/arm64 image,
# cross-compiled by the same Dockerfile on this machine (TARGETARCH=arm64,
# no emulation). With BuildKit that is one `docker build --platform`. The
# legacy builder refuses to COPY --from a stage of another platform, so it
# takes two: the builder stage (amd64) compiles, tagged builder/TAG (kept:
# the cache of TAG's next build); then the Dockerfile's final stages, on a
# `binaries` stage of the files copied out, build for arm64.
# Quiet on success: one line per image; the full log goes to $LOG_DIR.
#
#   scripts/build-images.sh TAG...          build them
#   scripts/build-images.sh --bases TAG...  build nothing; print, per tag,
#                                           `TAG<tab>ARG<tab>IMAGE` for each
#                                           base image its build would use
set -euo pipefail
# The build context, resolved from where the caller stands: the repository
# by default; a copy of it (e.g. with a one-line change) is built with this
# repository's catalog and metadata, so the layers it shares hit the cache.
CONTEXT=$(cd "${CONTEXT:-$(dirname "$0")/..}" && pwd)
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

mode=build
if [ "${1:-}" = --bases ]; then
  mode=bases
  shift
fi
[ $# -gt 0 ] || die "usage: $0 [--bases] PROGRAM:VARIANT..."
LOG_DIR=${LOG_DIR:-target/image-logs}
# Tag as ${TAG_PREFIX}PROGRAM:VARIANT, e.g. for a test build beside the real one.
TAG_PREFIX=${TAG_PREFIX:-}
# Extra docker build options, e.g. BUILD_FLAGS=--no-cache to time a cold build.
read -r -a extra <<<"${BUILD_FLAGS:-}"
# The legacy builder, which any client has; DOCKER_BUILDKIT=1 works too
# (with a client that has BuildKit: buildx, or the 20.10 CLI).
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

# Every tag's Dockerfile and stage, checked before anything is built.
declare -A file_of stage_of
for image in "$@"; do
  row=$(catalog_row "$image")
  read -r _ dockerfile stage _ <<<"$row"
  file=$CONTEXT/docker/$dockerfile
  [ -f "$file" ] || die "$image: there is no $file"
  file_of[$image]=$file stage_of[$image]=$stage
done

# bases FILE: `ARG<tab>IMAGE` for each base image a build of FILE uses.
bases() {
  local name official
  while IFS='=' read -r name official; do
    printf '%s\t%s\n' "$name" "$(base_for "$official")"
  done < <(image_args "$1")
}

if [ $mode = bases ]; then
  for image in "$@"; do
    bases "${file_of[$image]}" | sed "s|^|$image\t|"
  done
  exit 0
fi

image_metadata
mkdir -p "$LOG_DIR"

# build_args FILE STAGE: the docker build options for one image.
build_args() {
  local file=$1 stage=$2 name image
  while IFS=$'\t' read -r name image; do
    printf '%s\n' --build-arg "$name=$image"
  done < <(bases "$file")
  if grep -q "^FROM .* AS $stage\$" "$file"; then printf '%s\n' --target "$stage"; fi
  if grep -q "^ARG APP\b" "$file"; then printf '%s\n' --build-arg "APP=$stage"; fi
  for name in VERSION CREATED SOURCE_DATE_EPOCH; do
    if grep -q "^ARG $name\b" "$file"; then printf '%s\n' --build-arg "$name=${!name}"; fi
  done
  # The Dockerfiles that carry OCI labels get these two as well, but only
  # when known: no label beats a made-up one.
  if grep -q '^LABEL org\.opencontainers\.image\.' "$file"; then
    if [ -n "$SOURCE" ]; then printf '%s\n' --label "org.opencontainers.image.source=$SOURCE"; fi
    if [ -n "$REVISION" ]; then printf '%s\n' --label "org.opencontainers.image.revision=$REVISION"; fi
  fi
}

# copy_first: Dockerfile stages (stdin) as the legacy builder can build them
# for another platform. It gives a FROM scratch stage the daemon's platform
# unless its first instruction is a COPY, and then refuses to build on it:
# so every stage's COPYs go first, and a stage FROM another of these stages
# (`FROM oci AS who`) is made FROM that one's base with its instructions
# inlined after the COPYs. The image's config (labels, user, entrypoint)
# comes out the same; only the order of its history differs.
copy_first() {
  awk '
    { instruction = instruction $0 "\n" }
    /\\$/ { next }
    { text[++n] = instruction; instruction = "" }
    END {
      for (i = 1; i <= n; i++) {
        if (text[i] !~ /^FROM /) continue
        split(text[i], word, /[ \t\n]+/)
        start[++m] = i; base[m] = word[2]; name[m] = toupper(word[3]) == "AS" ? word[4] : ""
        stage[name[m]] = m
      }
      start[m + 1] = n + 1
      for (k = 1; k <= m; k++) {
        b = (base[k] in stage) ? stage[base[k]] : 0
        printf "FROM %s%s\n", b ? base[b] : base[k], name[k] != "" ? " AS " name[k] : ""
        for (i = start[k] + 1; i < start[k + 1]; i++) if (text[i] ~ /^COPY /) printf "%s", text[i]
        if (b) for (i = start[b] + 1; i < start[b + 1]; i++) if (text[i] !~ /^COPY /) printf "%s", text[i]
        for (i = start[k] + 1; i < start[k + 1]; i++) if (text[i] !~ /^COPY /) printf "%s", text[i]
      }
    }'
}

# build_arm64 TAG FILE LOG ARGS...: TAG for linux/arm64, as the header says.
build_arm64() {
  local tag=$1 file=$2 log=$3 work id status=0
  shift 3
  if [ "$DOCKER_BUILDKIT" = 1 ]; then
    docker build -f "$file" -t "$tag" --platform linux/arm64 "$@" "${extra[@]}" "$CONTEXT" >"$log" 2>&1
    return
  fi
  # The builder stage stays tagged (builder/who:rust-arm64), the cache of
  # this row's next build. Of the cached layers that fit a step the legacy
  # builder takes the newest, and a cold --no-cache build of the amd64
  # image makes newer ones for the steps the two share (the base's first
  # steps) with no arm64 children: the next arm64 build would miss from
  # there on. --cache-from the last arm64 builder makes it take only layers
  # of that image's chain (a stage outside it, e.g. rust.Dockerfile's
  # planner, runs again: seconds). No ARG in the Dockerfile can part the
  # two chains: an ARG step's cache key is its text, the same for both
  # platforms, so its newest layer is again the cold build's.
  local builder=${TAG_PREFIX}builder/${tag#"$TAG_PREFIX"} cache=()
  if docker image inspect "$builder" >/dev/null 2>&1; then cache=(--cache-from "$builder"); fi
  work=$(mktemp -d)
  {
    # The builder runs as the daemon's amd64 and compiles for arm64;
    # --target builder after the row's own --target: the last one counts.
    docker build -f "$file" -t "$builder" "${cache[@]}" "$@" --build-arg TARGETARCH=arm64 \
      --build-arg BUILDPLATFORM=linux/amd64 --target builder "${extra[@]}" "$CONTEXT" &&
      id=$(docker create "$builder" never-run) &&
      docker cp "$id:/out" "$work/out" && docker rm "$id" >/dev/null &&
      # The Dockerfile's final stages (all below `FROM builder AS binaries`),
      # on a `binaries` stage made of those files: everything is arm64.
      { printf 'FROM scratch AS binaries\nCOPY out /out\n'; sed '1,/^FROM builder AS binaries$/d' "$file" | copy_first; } |
      docker build -f - -t "$tag" --platform linux/arm64 "$@" "$work"
  } >"$log" 2>&1 || status=$?
  rm -rf "$work"
  return "$status"
}

for image in "$@"; do
  file=${file_of[$image]}
  log=$LOG_DIR/${image/:/-}.log
  mapfile -t args < <(build_args "$file" "${stage_of[$image]}")
  start=$SECONDS status=0
  if [ "$(platform_of "$image")" = linux/arm64 ]; then
    build_arm64 "$TAG_PREFIX$image" "$file" "$log" "${args[@]}" || status=$?
  else
    docker build -f "$file" -t "$TAG_PREFIX$image" "${args[@]}" "${extra[@]}" "$CONTEXT" >"$log" 2>&1 || status=$?
  fi
  if [ "$status" != 0 ]; then
    tail -n 30 "$log" >&2
    die "$image failed to build; full log: $log"
  fi
  say "built $TAG_PREFIX$image in $((SECONDS - start)) s ($(docker image inspect -f '{{.Size}}' "$TAG_PREFIX$image" | numfmt --to=si)B, log: $log)"
done

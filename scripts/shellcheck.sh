#!/usr/bin/env bash
# Runs shellcheck over every shell script of scripts/ and .ci/ (sourced ones
# included: they say `# shellcheck shell=bash`). Needs shellcheck on PATH
# (make bootstrap installs it); installs nothing, so `make check` runs it
# without root.
set -euo pipefail
cd "$(dirname "$0")/.."
SAY_PREFIX="shellcheck: "
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

command -v shellcheck >/dev/null ||
  die "shellcheck is not on PATH: apt-get install shellcheck (or make bootstrap), then rerun"
mapfile -t files < <(find scripts .ci -type f | sort | while read -r file; do
  case $file in
    *.sh) printf '%s\n' "$file" ;;
    *) if head -n1 "$file" | grep -q '^#!.*\(bash\|sh\)$'; then printf '%s\n' "$file"; fi ;;
  esac
done)
[ ${#files[@]} -gt 0 ] || die "no scripts found under scripts/ and .ci/"
# -x follows `source` lines, so lib.sh's functions are known where used.
shellcheck -x "${files[@]}"
say "${#files[@]} scripts clean"

#!/usr/bin/env bash
# Checks deploy/ offline: the Kubernetes manifests against the API schemas
# (kubernetes-validate) and security checks (checkov), the compose and stack
# files with the compose tools. Installs what is missing: the Python tools
# into their own virtualenv (checkov pins many libraries; kept apart so it
# cannot break other pip installs), docker-compose from apt.
# Runs every check, then exits non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: a newer checkov brings new checks, and the lint should not start
# failing on its own. The schemas of kubernetes-validate ship in the package.
KUBERNETES_VALIDATE=kubernetes-validate==1.37.0
CHECKOV=checkov==3.3.30
# The oldest Kubernetes still widely run that this package has schemas for;
# everything used here (policy/v1, seccompProfile) is older still.
KUBERNETES_VERSION=1.30.0
VENV=${LINT_VENV:-target/lint-venv}

SAY_PREFIX="lint-deploy: "
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# python_tool COMMAND REQUIREMENT: the tool's path, installed when missing.
python_tool() {
  if [ ! -x "$VENV/bin/$1" ]; then
    if [ ! -x "$VENV/bin/pip" ]; then
      say "python3 -m venv $VENV"
      python3 -m venv "$VENV" ||
        die "cannot make a virtualenv: install python3-venv (apt-get install python3-venv), then rerun"
    fi
    say "pip install $2 (into $VENV)"
    "$VENV/bin/pip" install -q "$2" || die "pip install $2 failed"
  fi
  printf '%s\n' "$VENV/bin/$1"
}

if ! command -v docker-compose >/dev/null; then
  say "apt-get install docker-compose"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } ||
    die "docker-compose is missing and could not be installed: as root, apt-get install docker-compose"
fi
kubernetes_validate=$(python_tool kubernetes-validate "$KUBERNETES_VALIDATE")
checkov=$(python_tool checkov "$CHECKOV")

failed=()
# check NAME COMMAND...: runs one check, shows its output, records a failure.
check() {
  local name=$1
  shift
  say "$name: $*"
  if "$@"; then
    say "$name: ok"
  else
    say "$name: FAILED"
    failed+=("$name")
  fi
}

# Strict: an unknown field (a typo, or one from a newer API) is an error.
check "kubernetes schemas" "$kubernetes_validate" --strict -k "$KUBERNETES_VERSION" deploy/k8s/*.yaml
# .checkov.yaml (beside this repository's root) keeps checkov offline and
# lists the deliberate exceptions; the manifests annotate their own.
check "checkov kubernetes" "$checkov" --config-file .checkov.yaml -d deploy/k8s --framework kubernetes
# The image that deploy/ runs; the *-naive Dockerfiles are bad on purpose.
check "checkov dockerfile" "$checkov" --config-file .checkov.yaml -f docker/rust.Dockerfile --framework dockerfile

# Unset WHO_HOST_PORTS: validate the file as a user runs it.
for file in deploy/compose.yaml deploy/stack.yml; do
  check "docker-compose $file" env -u WHO_HOST_PORTS docker-compose -f "$file" config -q
  if docker compose version >/dev/null 2>&1; then
    check "docker compose $file" env -u WHO_HOST_PORTS docker compose -f "$file" config -q
  fi
done
# What `docker stack deploy` itself makes of the file (Docker CLI 20.10+).
if docker stack config --help >/dev/null 2>&1; then
  check "docker stack config deploy/stack.yml" sh -c 'docker stack config -c deploy/stack.yml >/dev/null'
fi

if [ ${#failed[@]} -gt 0 ]; then
  die "${#failed[@]} check(s) failed: ${failed[*]}"
fi
say "all checks passed"

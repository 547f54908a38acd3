#!/usr/bin/env bash
# testssl.sh (Debian's `testssl`, a checker nobody here wrote) against the
# who:rust-tls image, serving a self-signed test certificate made here
# (ECDSA P-256, a year's validity, for 127.0.0.1). Prints every finding of
# severity MEDIUM or worse, one a line, and fails if any is not one of
# those known below. Two to five minutes (testssl's own checks, most of
# them network waits); not part of `make test`.
#
#   scripts/testssl.sh [IMAGE]    default who:rust-tls (e.g. a TAG_PREFIX build)
#
# Known, and why they stay (issue 22):
#   cert_chain_of_trust  the certificate is self-signed: the test's own
#   cert_revocation      it names no CRL or OCSP responder: the test's own
# (security_headers, none of the headers testssl looks for, is gone since
# answers over TLS say X-Content-Type-Options: nosniff: server/tls.rs.)
set -euo pipefail
cd "$(dirname "$0")/.."
SAY_PREFIX="testssl: "
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

IMAGE=${1:-who:rust-tls}
KNOWN='cert_chain_of_trust cert_revocation'
command -v testssl >/dev/null || die "testssl is not on PATH: apt-get install testssl.sh"
have_image "$IMAGE" || die "no image $IMAGE: build it (scripts/build-images.sh who:rust-tls)"

work=$(mktemp -d)
container=
cleanup() {
  if [ -n "$container" ]; then docker rm -f "$container" >/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2>"$work/openssl.log" ||
  die "openssl could not make a certificate: $(cat "$work/openssl.log")"
# The image runs as 65532: the files must be readable by it.
chmod 755 "$work/tls" && chmod 644 "$work/tls/"*.pem
container=$(docker run -d --label rust-multi-stage.test=1 -p 127.0.0.1::8080 \
  -v "$work/tls:/tls:ro" -e WHO_CERT=/tls/cert.pem -e WHO_KEY=/tls/key.pem "$IMAGE")
port=$(docker port "$container" 8080/tcp | head -n 1 | sed 's/.*://')

say "testssl against $IMAGE on 127.0.0.1:$port (two to five minutes)"
# Its exit status is not a verdict (3.0 exits non-zero after a full scan
# too): the JSON it wrote is, and its absence the failure.
testssl --quiet --color 0 --warnings off --severity MEDIUM --jsonfile "$work/findings.json" \
  "127.0.0.1:$port" >"$work/testssl.log" 2>&1 || true
[ -s "$work/findings.json" ] || die "testssl wrote no findings: $(tail -n 5 "$work/testssl.log")"
python3 - "$work/findings.json" "$KNOWN" <<'EOF'
import json, sys

findings, known = json.load(open(sys.argv[1])), sys.argv[2].split()
unknown = 0
for f in findings:
    mark = "known" if f["id"] in known else "NEW"
    unknown += mark == "NEW"
    print(f"{mark:5}  {f['severity']:8}  {f['id']}: {f['finding']}")
sys.exit(1 if unknown else 0)
EOF

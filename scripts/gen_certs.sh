#!/usr/bin/env bash
# Generates, with the openssl CLI, everything a local TLS setup of metrics-adapter needs:
#   ca.crt/ca.key          a throwaway certificate authority
#   server.crt/server.key  serving certificate for localhost and 127.0.0.1, signed by the CA
#   client.crt/client.key  client certificate (CN=metrics-adapter-test, O=system:masters)
#   front-proxy-ca.crt/.key        a second CA, the aggregator's request-header CA (kubeadm's
#                                  front-proxy-ca); separate so that its certificates are no
#                                  ordinary client certificates
#   front-proxy-client.crt/.key    the aggregator's proxy client certificate
#                                  (CN=front-proxy-client, EKU clientAuth)
#   front-proxy-other.crt/.key     signed by the front-proxy CA but with a CN that is not allowed
#                                  (CN=not-front-proxy), for negative tests
# Used by scripts/demo.sh and test/integration/harness.py so both trust the same kind of chain.
#
# Usage: scripts/gen_certs.sh DIR [CA_COMMON_NAME]
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 DIR [CA_COMMON_NAME]" >&2
  exit 2
fi
dir=$1
ca_cn=${2:-metrics-adapter-test-ca}
# Short-lived on purpose: these keys are written unencrypted to a temp dir.
readonly kValidDays=2
readonly kKeyBits=2048

mkdir -p "$dir"
cd "$dir"
umask 077

new_key() { openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:${kKeyBits}" -out "$1"; }

new_key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$kValidDays" -subj "/CN=${ca_cn}" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.crt

sign() {  # sign NAME SUBJECT EXTENSIONS [CA_NAME]
  local name=$1 subject=$2 extensions=$3 ca=${4:-ca}
  new_key "${name}.key"
  openssl req -new -key "${name}.key" -subj "$subject" -out "${name}.csr"
  printf '%s\n' "$extensions" >"${name}.ext"
  openssl x509 -req -in "${name}.csr" -CA "${ca}.crt" -CAkey "${ca}.key" -CAcreateserial -sha256 \
    -days "$kValidDays" -extfile "${name}.ext" -out "${name}.crt" 2>/dev/null
  rm -f "${name}.csr" "${name}.ext"
}

sign server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"

sign client "/O=system:masters/CN=metrics-adapter-test" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

new_key front-proxy-ca.key
openssl req -x509 -new -key front-proxy-ca.key -sha256 -days "$kValidDays" \
  -subj "/CN=${ca_cn}-front-proxy" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out front-proxy-ca.crt

readonly kProxyClientExtensions="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
sign front-proxy-client "/CN=front-proxy-client" "$kProxyClientExtensions" front-proxy-ca
sign front-proxy-other "/CN=not-front-proxy" "$kProxyClientExtensions" front-proxy-ca

rm -f ca.srl front-proxy-ca.srl
# Keys stay private to the user; certificates are public material.
chmod 600 ./*.key
chmod 644 ./*.crt

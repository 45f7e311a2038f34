#!/usr/bin/env bash
# Creates the TLS material an in-cluster metrics-adapter needs (docs/deploy.md, step 3):
#   ca.crt, ca.key       a certificate authority of its own; its certificate is the APIServices'
#                        caBundle. Kept and reused when OUT_DIR already holds both, so renewing
#                        the serving certificate does not change the caBundle.
#   tls.crt, tls.key     the serving certificate for the Service's DNS names, signed by that CA
# and prints the caBundle (base64 of ca.crt, one line) on stdout; everything else goes to stderr,
# so `CA_BUNDLE=$(certs/gen-serving-cert.sh)` works.
#
# Usage: certs/gen-serving-cert.sh [options]
#   --namespace NS            the adapter's namespace             (default metrics-adapter)
#   --service NAME            the adapter's Service               (default metrics-adapter)
#   --cluster-domain DOMAIN   the cluster's DNS domain            (default cluster.local)
#   --out-dir DIR             where the files are written         (default ./metrics-adapter-pki)
#   --days N                  serving certificate validity, 1..825 (default 365)
#   --ca-days N               CA validity (new CA only), 1..3650  (default 1825)
#   --secret-name NAME        name of the Secret                  (default metrics-adapter-serving-cert)
#   --secret-manifest         also write OUT_DIR/serving-cert-secret.yaml (a kubernetes.io/tls Secret)
#   --ca-bundle-manifest FILE also write FILE: deploy/base/ca-bundle.yaml with this caBundle
#
# Keys are written unencrypted with mode 0600: keep OUT_DIR out of version control, and keep
# ca.key somewhere safe (or delete it and make a new CA at renewal time).
set -euo pipefail

readonly kKeyBits=2048
readonly kMaxDays=825  # the longest validity browsers and most policies accept for a leaf
readonly kMaxCaDays=3650
readonly kMaxDnsLabel=63
readonly kMaxDomain=253

namespace=metrics-adapter
service=metrics-adapter
cluster_domain=cluster.local
out_dir=./metrics-adapter-pki
days=365
ca_days=1825
secret_name=metrics-adapter-serving-cert
secret_manifest=0
ca_bundle_manifest=

usage() {
  sed -n '/^# Usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
  exit 2
}
die() {
  echo "gen-serving-cert: $*" >&2
  exit 1
}
need_value() {  # need_value FLAG ARGC
  [[ $2 -ge 2 ]] || die "$1 needs a value"
}

while [[ $# -gt 0 ]]; do
  case $1 in
    --namespace) need_value "$1" $#; namespace=$2; shift 2 ;;
    --service) need_value "$1" $#; service=$2; shift 2 ;;
    --cluster-domain) need_value "$1" $#; cluster_domain=$2; shift 2 ;;
    --out-dir) need_value "$1" $#; out_dir=$2; shift 2 ;;
    --days) need_value "$1" $#; days=$2; shift 2 ;;
    --ca-days) need_value "$1" $#; ca_days=$2; shift 2 ;;
    --secret-name) need_value "$1" $#; secret_name=$2; shift 2 ;;
    --secret-manifest) secret_manifest=1; shift ;;
    --ca-bundle-manifest) need_value "$1" $#; ca_bundle_manifest=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "gen-serving-cert: unknown argument $1" >&2; usage ;;
  esac
done

# The names end up in certificate extensions and YAML: accept only what Kubernetes accepts.
is_dns_label() {
  [[ ${#1} -le $kMaxDnsLabel && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]]
}
is_dns_subdomain() {
  [[ ${#1} -le $kMaxDomain && $1 =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ ]]
}
is_days() {  # is_days VALUE MAX
  [[ $1 =~ ^[1-9][0-9]{0,4}$ && $1 -le $2 ]]
}
is_dns_label "$namespace" || die "--namespace \"$namespace\" is not a DNS label (lower case, digits, '-', at most $kMaxDnsLabel)"
is_dns_label "$service" || die "--service \"$service\" is not a DNS label (lower case, digits, '-', at most $kMaxDnsLabel)"
is_dns_subdomain "$secret_name" || die "--secret-name \"$secret_name\" is not a DNS subdomain"
is_dns_subdomain "$cluster_domain" || die "--cluster-domain \"$cluster_domain\" is not a DNS name"
is_days "$days" "$kMaxDays" || die "--days must be a whole number from 1 to $kMaxDays, not \"$days\""
is_days "$ca_days" "$kMaxCaDays" || die "--ca-days must be a whole number from 1 to $kMaxCaDays, not \"$ca_days\""
command -v openssl >/dev/null 2>&1 || die "openssl is not on PATH (Debian: apt-get install openssl)"

# The aggregator dials <service>.<namespace>.svc and checks that name; the others serve clients
# that use the short or fully qualified forms.
readonly dns_names=(
  "$service"
  "$service.$namespace"
  "$service.$namespace.svc"
  "$service.$namespace.svc.$cluster_domain"
)

umask 077
mkdir -p "$out_dir"
work=$(mktemp -d "$out_dir/.gen-serving-cert.XXXXXX")
trap 'rm -rf "$work"' EXIT

new_key() { openssl genpkey -quiet -algorithm RSA -pkeyopt "rsa_keygen_bits:${kKeyBits}" -out "$1"; }

if [[ -f $out_dir/ca.crt && -f $out_dir/ca.key ]]; then
  echo "gen-serving-cert: reusing the CA in $out_dir (the caBundle does not change)" >&2
  cp "$out_dir/ca.crt" "$out_dir/ca.key" "$work/"
elif [[ -e $out_dir/ca.crt || -e $out_dir/ca.key ]]; then
  die "$out_dir holds only one of ca.crt and ca.key; remove it or restore the other"
else
  echo "gen-serving-cert: creating a new CA in $out_dir" >&2
  new_key "$work/ca.key"
  openssl req -x509 -new -key "$work/ca.key" -sha256 -days "$ca_days" \
    -subj "/CN=metrics-adapter-ca@$(date -u +%Y%m%dT%H%M%SZ)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$work/ca.crt" 2>/dev/null
fi

san=$(printf 'DNS:%s,' "${dns_names[@]}")
new_key "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
cat >"$work/tls.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=${san%,}
EOF
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -sha256 -days "$days" -extfile "$work/tls.ext" -out "$work/tls.crt" 2>/dev/null
openssl verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null ||
  die "the new serving certificate does not verify against the CA; nothing was written"

# Keys private to the user; certificates are public material.
chmod 600 "$work/ca.key" "$work/tls.key"
chmod 644 "$work/ca.crt" "$work/tls.crt"
mv -f "$work/ca.crt" "$work/ca.key" "$work/tls.crt" "$work/tls.key" "$out_dir/"

ca_bundle=$(base64 -w0 <"$out_dir/ca.crt")

if [[ $secret_manifest -eq 1 ]]; then
  manifest=$out_dir/serving-cert-secret.yaml
  cat >"$manifest" <<EOF
# Generated by certs/gen-serving-cert.sh; holds a private key: do not commit it.
apiVersion: v1
kind: Secret
metadata:
  name: $secret_name
  namespace: $namespace
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 <"$out_dir/tls.crt")
  tls.key: $(base64 -w0 <"$out_dir/tls.key")
  ca.crt: $ca_bundle
EOF
  chmod 600 "$manifest"
  echo "gen-serving-cert: wrote $manifest (kubectl apply -f $manifest)" >&2
fi

if [[ -n $ca_bundle_manifest ]]; then
  cat >"$ca_bundle_manifest" <<EOF
# Generated by certs/gen-serving-cert.sh. Not applied to the cluster (local-config):
# deploy/base/kustomization.yaml copies data.caBundle into the three APIServices.
apiVersion: v1
kind: ConfigMap
metadata:
  name: metrics-adapter-ca-bundle
  annotations:
    config.kubernetes.io/local-config: "true"
data:
  caBundle: $ca_bundle
EOF
  chmod 644 "$ca_bundle_manifest"
  echo "gen-serving-cert: wrote $ca_bundle_manifest" >&2
fi

echo "gen-serving-cert: serving certificate for ${dns_names[*]}, valid $days days" >&2
echo "$ca_bundle"

#!/usr/bin/env bash
# Lays out the runtime image's whole filesystem in ROOTFS: the binary, exactly the shared
# libraries it loads (as ldd resolves them on this Debian 12 build machine, the dynamic loader
# included), the CA bundle for an HTTPS Prometheus, name-service files, and an empty /tmp.
# Nothing else: no shell, no package manager, no coreutils. The Dockerfile copies ROOTFS into a
# `FROM scratch` stage; test_deploy.py runs the result with chroot to prove it is complete.
#
# Usage: scripts/image_rootfs.sh BINARY ROOTFS
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BINARY ROOTFS" >&2
  exit 2
fi
binary=$1
rootfs=$2
readonly kImageBinary=/usr/local/bin/metrics-adapter
readonly kCaBundle=/etc/ssl/certs/ca-certificates.crt
readonly kNonRootId=65532

[[ -x $binary ]] || { echo "$0: $binary is not an executable" >&2; exit 1; }
[[ -f $kCaBundle ]] || { echo "$0: $kCaBundle is missing (apt-get install ca-certificates)" >&2; exit 1; }
if [[ -e $rootfs ]] && [[ -n $(ls -A "$rootfs") ]]; then
  echo "$0: $rootfs exists and is not empty" >&2
  exit 1
fi

# Copies a file to the same path under ROOTFS, following symlinks (a library's soname link
# becomes a regular file named as the loader looks it up).
copy() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L "$1" "$rootfs$1"
}

copy_binary_to() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp "$binary" "$rootfs$1"
}

copy_binary_to "$kImageBinary"
# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the loader's own absolute path.
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
if ldd "$binary" | grep -q 'not found'; then
  echo "$0: ldd cannot resolve every library of $binary:" >&2
  ldd "$binary" | grep 'not found' >&2
  exit 1
fi
for library in $libraries; do
  copy "$library"
done
copy "$kCaBundle"
mkdir -p "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n' \
  "$kNonRootId" "$kNonRootId" > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:%d:\n' "$kNonRootId" > "$rootfs/etc/group"
# glibc's defaults without this file try DNS before /etc/hosts; Kubernetes mounts both files.
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
echo "image_rootfs: $(find "$rootfs" -type f | wc -l) files, $(du -sh "$rootfs" | cut -f1) in $rootfs"

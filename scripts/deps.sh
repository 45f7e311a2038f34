#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests and the demo need (docs/design.md),
# and only those that are missing. As root it runs apt-get; otherwise it prints the command.
set -euo pipefail

readonly kPackages=(
  build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev clang-format
  clang-tidy libboost1.81-dev libssl-dev libcurl4-openssl-dev rapidjson-dev libabsl-dev
  prometheus-cpp-dev libyaml-cpp-dev libre2-dev libgtest-dev libgmock-dev libbenchmark-dev
  prometheus curl openssl wrk nginx gnuplot-nox python3 ca-certificates
)
readonly kKubectlHelp="install kubectl from https://kubernetes.io/docs/tasks/tools/ and put it on PATH"

missing=()
for package in "${kPackages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$package")
done
need_kubectl=0
command -v kubectl >/dev/null 2>&1 || need_kubectl=1

if [[ ${#missing[@]} -eq 0 && $need_kubectl -eq 0 ]]; then
  echo "deps: all ${#kPackages[@]} Debian packages are installed and kubectl is on PATH"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "deps: missing Debian packages; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
  if [[ $need_kubectl -eq 1 ]]; then
    echo "deps: kubectl is not on PATH: $kKubectlHelp (or: sudo apt-get install kubectl, where an" \
      "apt source provides it)" >&2
  fi
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "deps: installing ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [[ $need_kubectl -eq 1 ]]; then
  if apt-cache show kubectl >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends kubectl
  else
    echo "deps: kubectl is not on PATH and no apt source provides it: $kKubectlHelp" >&2
    exit 1
  fi
fi

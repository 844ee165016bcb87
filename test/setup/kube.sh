#!/usr/bin/env bash
# Installs, idempotently, what the deploy tier (test/e2e/deploy/) runs the Helm chart against: a real
# Kubernetes API server without a container engine.
#   etcd 3.4 from Debian (etcd-server). The tests start their own etcd on loopback ports in a temp dir;
#   the package must not leave a system etcd running: while apt runs a policy-rc.d refuses every
#   service start, and when this script is the one that installed etcd-server, the system service is
#   stopped and disabled. A machine that already had etcd-server is left as it was.
#   kube-apiserver and kubectl, built from the Go module proxy (k8s.io/kubernetes at $KUBE_VERSION)
#   into .tools/bin, once per version: the module is copied to a scratch dir, its vendor/ and go.work
#   removed and each staging replace (`k8s.io/X => ./staging/src/k8s.io/X`) pointed at the published
#   k8s.io/X module of the same release. The version stamp in -ldflags is what `kubectl version` and
#   /version report; Helm checks the chart's kubeVersion against it. The first build takes ~12+ min
#   and ~2 GB of memory; -trimpath makes the Go build cache independent of the scratch dir, so later
#   builds on the same machine are fast.
# Usage: test/setup/kube.sh [all|apt|build]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/.tools/bin"
mkdir -p "$tools"
what=${1:-all}

KUBE_VERSION=v1.36.3
# The staging modules (k8s.io/api, client-go, ...) are published as v0.<minor>.<patch>.
STAGING_VERSION=v0.${KUBE_VERSION#v1.}
KUBE_MINOR=$(echo "$KUBE_VERSION" | cut -d. -f2)

die() { echo "test setup (kube): $*" >&2; exit 1; }

install_etcd() {
  command -v etcd >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to apt-get install etcd-server"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install etcd (3.4 or later) by hand"
  echo "test setup: installing etcd-server from Debian" >&2
  local policy=/usr/sbin/policy-rc.d own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# test/setup/kube.sh: no service starts while packages install\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=true
  fi
  local ok=true
  apt-get update -qq || ok=false
  $ok && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null || ok=false; }
  $own_policy && rm -f "$policy"
  $ok || die "apt-get install etcd-server failed"
  # The tests run their own etcd; the system one must neither run now nor start at boot.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  elif command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d etcd disable >/dev/null 2>&1 || true
    service etcd stop >/dev/null 2>&1 || true
  fi
  command -v etcd >/dev/null 2>&1 || die "etcd-server installed but no etcd on PATH"
}

# build_kube: kube-apiserver and kubectl at $KUBE_VERSION into .tools/bin.
build_kube() {
  local stamp="$tools/.kube-$KUBE_VERSION"
  [ -x "$tools/kube-apiserver" ] && [ -x "$tools/kubectl" ] && [ -f "$stamp" ] && return 0
  command -v go >/dev/null 2>&1 || die "go is required to build kube-apiserver"
  echo "test setup: building kube-apiserver and kubectl $KUBE_VERSION from the Go module proxy (first run only: ~12+ min)" >&2
  local work
  work=$(mktemp -d)
  (
    set -e
    export GOFLAGS=-mod=mod
    cd "$work"
    dir=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] && [ -d "$dir" ] || { echo "go mod download k8s.io/kubernetes@$KUBE_VERSION gave no directory" >&2; exit 1; }
    cp -r "$dir" src && chmod -R u+w src
    cd src
    rm -rf vendor go.work go.work.sum
    sed -E -i "s#(k8s\.io/[A-Za-z0-9_.-]+) => \./staging/src/k8s\.io/[A-Za-z0-9_.-]+#\1 => \1 $STAGING_VERSION#" go.mod
    ! grep -q '=> \./staging' go.mod || { echo "go.mod still points at ./staging" >&2; exit 1; }
    # Exactly these flags: the same recipe elsewhere on the machine shares the Go build cache.
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$KUBE_MINOR"
    nice go build -trimpath -ldflags "$ldflags" -o "$tools/kube-apiserver.tmp" ./cmd/kube-apiserver
    nice go build -trimpath -ldflags "$ldflags" -o "$tools/kubectl.tmp" ./cmd/kubectl
    "$tools/kube-apiserver.tmp" --version | grep -qx "Kubernetes $KUBE_VERSION"
    "$tools/kubectl.tmp" version --client | grep -q "Client Version: $KUBE_VERSION"
    mv "$tools/kube-apiserver.tmp" "$tools/kube-apiserver"
    mv "$tools/kubectl.tmp" "$tools/kubectl"
  ) || { rm -rf "$work"; rm -f "$tools/kube-apiserver.tmp" "$tools/kubectl.tmp"; die "could not build kube-apiserver/kubectl $KUBE_VERSION from the Go module proxy"; }
  rm -rf "$work"
  rm -f "$tools"/.kube-v*
  touch "$stamp"
}

case "$what" in
  all|apt) install_etcd ;;
esac
case "$what" in
  all|build) build_kube ;;
esac

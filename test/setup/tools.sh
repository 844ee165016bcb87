#!/usr/bin/env bash
# Installs, idempotently, the real programs the test suite talks to, and fails loudly when it cannot.
#   chromium (browser tests), curl and openssl (reference clients), postgresql (FerretDB's backend) from Debian;
#   ferretdb (a MongoDB-protocol server, run on PostgreSQL) and helm, built from the Go module proxy into .tools/bin;
#   openssh-server, libpam-python, python3-jwt, python3-cryptography and python3-qrcode for the SSH login tests (test/setup/sshd.sh);
#   the third-party OAuth clients of the interop tests: test/e2e/interop/go (golang.org/x/oauth2) built into
#   .tools/bin/oauth2-interop, and Authlib from PyPI in a venv at .tools/python.
#   etcd (Debian), kube-apiserver and kubectl (built from the Go module proxy) for the deploy tier,
#   by test/setup/kube.sh.
#   slapd and ldap-utils from Debian for the LDAP connector tests (test/setup/slapd.sh; no system slapd is left running).
#   step-ca and step (Smallstep) for the mTLS walkthrough tier, built by test/setup/step.sh.
# Usage: test/setup/tools.sh [all|apt|go|kube|interop|slapd|step|sshd]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/.tools/bin"
mkdir -p "$tools"
what=${1:-all}

. "$root/test/setup/lib.sh"

apt_install() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  # Debian splits venv/ensurepip out of python3.
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  # The MongoDB-store tests and benchmarks run FerretDB on a PostgreSQL cluster they start themselves.
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "test setup: installing ${missing[*]} from Debian" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root or sudo to apt-get install ${missing[*]}"
    sudo=sudo
  fi
  $sudo apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# interop_go: the golang.org/x/oauth2 client in test/e2e/interop/go, rebuilt when its sources change.
interop_go() {
  local src="$root/test/e2e/interop/go" bin="$tools/oauth2-interop"
  local sum
  sum=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)
  [ -x "$bin" ] && [ -f "$tools/.oauth2-interop-$sum" ] && return 0
  command -v go >/dev/null 2>&1 || die "go is required to build the golang.org/x/oauth2 interop client"
  echo "test setup: building oauth2-interop (golang.org/x/oauth2) from the Go module proxy" >&2
  (cd "$src" && CGO_ENABLED=0 go build -o "$bin.tmp" . && mv "$bin.tmp" "$bin") || die "could not build test/e2e/interop/go"
  rm -f "$tools"/.oauth2-interop-*
  touch "$tools/.oauth2-interop-$sum"
}

# interop_python: a venv at .tools/python with Authlib and requests from PyPI, pinned in requirements.txt.
interop_python() {
  local venv="$root/.tools/python" req="$root/test/e2e/interop/python/requirements.txt"
  local sum
  sum=$(sha256sum "$req" | cut -c1-16)
  [ -x "$venv/bin/python" ] && [ -f "$venv/.requirements-$sum" ] && return 0
  command -v python3 >/dev/null 2>&1 || die "python3 is required for the Authlib interop client"
  echo "test setup: installing Authlib from PyPI into .tools/python" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" || die "pip could not install $req from PyPI"
  "$venv/bin/python" -c 'import authlib.integrations.requests_client' || die "Authlib is not importable in $venv"
  touch "$venv/.requirements-$sum"
}

case "$what" in
  all|apt)
    apt_install
    bash "$root/test/setup/kube.sh" apt
    ;;
esac
case "$what" in
  all|apt|slapd) bash "$root/test/setup/slapd.sh" || die "slapd setup failed" ;;
esac
case "$what" in
  all|apt|sshd) bash "$root/test/setup/sshd.sh" || die "sshd setup failed" ;;
esac
case "$what" in
  all|go)
    go_tool ferretdb github.com/FerretDB/FerretDB github.com/FerretDB/FerretDB/cmd/ferretdb v1.24.2
    # Release builds stamp the Kubernetes version helm assumes without a cluster (template, lint):
    # the one its client libraries speak. Unstamped it is 1.20, and a chart that needs
    # kubeVersion >=1.25 cannot be templated.
    go_tool helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm v3.21.4 "-s -w -X helm.sh/helm/v3/internal/version.version=v3.21.4 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36"
    ;;
esac
case "$what" in
  all|kube) bash "$root/test/setup/kube.sh" all ;;
esac
case "$what" in
  all|step) bash "$root/test/setup/step.sh" ;;
esac
case "$what" in
  all|interop)
    interop_go
    interop_python
    ;;
esac

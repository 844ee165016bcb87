#!/usr/bin/env bash
# Installs, idempotently, the real programs the test suite talks to, and fails loudly when it cannot.
#   chromium (browser tests), curl and openssl (reference clients) from Debian;
#   ferretdb (a MongoDB-protocol server on SQLite) and helm, built from the Go module proxy into .tools/bin.
# Usage: test/setup/tools.sh [all|apt|go]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/.tools/bin"
mkdir -p "$tools"
what=${1:-all}

die() { echo "test setup: $*" >&2; exit 1; }

apt_install() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
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

# go_tool NAME MODULE_PATH PACKAGE VERSION: builds one binary in a scratch module (go install's
# deprecation lookup is refused by the proxy for some modules; go get + go build is not).
go_tool() {
  local name=$1 module=$2 pkg=$3 version=$4
  local stamp="$tools/.$name-$version"
  [ -x "$tools/$name" ] && [ -f "$stamp" ] && return 0
  command -v go >/dev/null 2>&1 || die "go is required to build $name"
  echo "test setup: building $name $version (first run only)" >&2
  local work
  work=$(mktemp -d)
  (
    cd "$work"
    go mod init "tools-$name" >/dev/null 2>&1
    go get "$pkg@$version" >/dev/null 2>&1 || go get "$module@$version" >/dev/null
    CGO_ENABLED=0 go build -o "$tools/$name" "$pkg"
  ) || { rm -rf "$work"; die "could not build $name $version from the Go module proxy"; }
  rm -rf "$work"
  touch "$stamp"
}

case "$what" in
  all|apt) apt_install ;;
esac
case "$what" in
  all|go)
    go_tool ferretdb github.com/FerretDB/FerretDB github.com/FerretDB/FerretDB/cmd/ferretdb v1.24.2
    go_tool helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm v3.21.4
    ;;
esac

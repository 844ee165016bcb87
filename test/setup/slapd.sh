#!/usr/bin/env bash
# Installs Debian's OpenLDAP server (slapd) and client tools (ldap-utils) for the LDAP connector's
# end-to-end tests, idempotently and without leaving a system slapd running: the package's own
# service start is refused through a temporary policy-rc.d (only if none exists), and debconf is
# told to skip creating a directory, so the machine's /etc/ldap gets nothing beyond the package's
# files. The tests start their own slapd (test/e2e/ldap/directory.ts) with a config in a temp dir.
# Usage: test/setup/slapd.sh
set -euo pipefail

die() { echo "test setup (slapd): $*" >&2; exit 1; }

have() { [ -x /usr/sbin/slapd ] && command -v slapadd >/dev/null 2>&1 && command -v ldapsearch >/dev/null 2>&1 && [ -f /etc/ldap/schema/nis.schema ]; }
have && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "need root or sudo to apt-get install slapd ldap-utils"
  sudo=sudo
fi

echo "test setup: installing slapd and ldap-utils from Debian (their service is not started)" >&2
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
  # exit 101 = "action forbidden": invoke-rc.d then starts no service during the install.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  ours=1
fi
cleanup() { [ -n "$ours" ] && $sudo rm -f "$policy"; return 0; }
trap cleanup EXIT

echo "slapd slapd/no_configuration boolean true" | $sudo debconf-set-selections || die "debconf-set-selections failed"
$sudo apt-get update -qq || die "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slapd ldap-utils >/dev/null \
  || die "apt-get install slapd ldap-utils failed"

# Belt and braces: a system without policy-rc.d support may still have started it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now slapd >/dev/null 2>&1 || true
fi
[ -f /run/slapd/slapd.pid ] && $sudo kill "$(cat /run/slapd/slapd.pid)" 2>/dev/null || true

have || die "slapd, slapadd, ldapsearch or the nis schema are missing after the install"

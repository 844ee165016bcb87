#!/usr/bin/env bash
# Installs, idempotently, what the SSH login tests (test/e2e/ssh/) need from Debian: openssh-server
# (sshd 9.2 is started by the tests themselves, on a loopback port with their own config),
# libpam-python (/lib/security/pam_python.so, Python 3), python3-jwt and python3-cryptography (the
# module's ID token check) and python3-qrcode for host/pam/.
# Installing openssh-server must not leave a system sshd running or starting on port 22: while
# apt runs, a policy-rc.d refuses every service start (invoke-rc.d honours it), and when this
# script is the one that installed the server, /etc/ssh/sshd_not_to_be_run keeps Debian's init
# script and systemd unit from starting it later. A machine that already had openssh-server is
# left exactly as it was.
# pam_python embeds Debian's own Python 3 (/usr/bin/python3), whatever python3 comes first on PATH.
# Usage: test/setup/sshd.sh
set -euo pipefail

die() { echo "test setup (sshd): $*" >&2; exit 1; }

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
# The tests end sshd's connection processes by pid (ps) and add a user (useradd).
command -v ps >/dev/null 2>&1 || missing+=(procps)
command -v useradd >/dev/null 2>&1 || missing+=(passwd)
[ -f /lib/security/pam_python.so ] || [ -f /usr/lib/x86_64-linux-gnu/security/pam_python.so ] || missing+=(libpam-python)
/usr/bin/python3 -c "import qrcode" >/dev/null 2>&1 || missing+=(python3-qrcode)
/usr/bin/python3 -c "import jwt" >/dev/null 2>&1 || missing+=(python3-jwt)
/usr/bin/python3 -c "import cryptography.hazmat.primitives.asymmetric.rsa" >/dev/null 2>&1 || missing+=(python3-cryptography)
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]} (the SSH tests also need root to add a user and a PAM service)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${missing[*]} by hand"

installs_server=false
[ -x /usr/sbin/sshd ] || installs_server=true

policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# test/setup/sshd.sh: no service starts while packages install\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=true
fi
cleanup() { if $own_policy; then rm -f "$policy"; fi; }
trap cleanup EXIT

if $installs_server; then
  mkdir -p /etc/ssh
  touch /etc/ssh/sshd_not_to_be_run
fi

echo "test setup: installing ${missing[*]} from Debian" >&2
apt-get update -qq || die "apt-get update failed"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || die "apt-get install ${missing[*]} failed"

[ -x /usr/sbin/sshd ] || die "openssh-server installed but /usr/sbin/sshd is missing"
/usr/bin/python3 -c "import qrcode" || die "python3-qrcode installed but not importable"
/usr/bin/python3 -c "import jwt, cryptography.hazmat.primitives.asymmetric.rsa" || die "python3-jwt or python3-cryptography installed but not importable"
if $installs_server; then
  # Belt and braces: a system without policy-rc.d support may still have enabled or started it.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  if [ -f /run/sshd.pid ]; then kill "$(cat /run/sshd.pid)" 2>/dev/null || true; rm -f /run/sshd.pid; fi
fi
exit 0

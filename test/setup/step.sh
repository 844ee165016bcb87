#!/usr/bin/env bash
# Builds, idempotently, Smallstep's step-ca (the CA server) and step (its CLI) at pinned versions from the
# Go module proxy into .tools/bin, for the end-to-end tests in test/e2e/mtls/. CGO_ENABLED=0: with cgo,
# step-ca links libpcsclite (YubiKey support), which the tests do not need.
# Usage: test/setup/step.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tools="$root/.tools/bin"
mkdir -p "$tools"
. "$root/test/setup/lib.sh"

STEP_CA_VERSION=v0.30.2
STEP_CLI_VERSION=v0.30.6

go_tool step-ca github.com/smallstep/certificates github.com/smallstep/certificates/cmd/step-ca "$STEP_CA_VERSION"
go_tool step github.com/smallstep/cli github.com/smallstep/cli/cmd/step "$STEP_CLI_VERSION"
"$tools/step-ca" version >/dev/null || die "step-ca $STEP_CA_VERSION does not run"
"$tools/step" version >/dev/null || die "step $STEP_CLI_VERSION does not run"

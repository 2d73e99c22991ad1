#!/usr/bin/env bash
# Runs the end-to-end suite: the real xwebhook binary driven by the official Python svix SDK.
#
#   tests/e2e/run.sh [pytest args…]
#
# Uses (and creates on first run) a virtualenv at <repo>/.venv-e2e with the pinned requirements. Builds the
# binary with `cargo build -p xwebhook` unless XWEBHOOK_BIN names one (CARGO_TARGET_DIR is honoured).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.venv-e2e"
# shellcheck source=../../scripts/lib.sh
source "$repo/scripts/lib.sh"

python_venv "$venv" "$here/requirements.txt"
xwebhook_bin "$repo"

cd "$here"
# The same suite against each deployment: the embedded default, Redis, then Postgres records with a Redis queue.
echo "e2e: embedded store"
"$venv/bin/python" -m pytest -q "$@"
echo "e2e: Redis (${E2E_REDIS_URL:=redis://127.0.0.1:6379})"
E2E_REDIS_URL="$E2E_REDIS_URL" "$venv/bin/python" -m pytest -q "$@"
echo "e2e: Postgres records (${E2E_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/test}) + Redis queue"
E2E_REDIS_URL="$E2E_REDIS_URL" E2E_DATABASE_URL="$E2E_DATABASE_URL" "$venv/bin/python" -m pytest -q "$@"

#!/usr/bin/env bash
# Smoke test through the official npm svix SDK: starts the real xwebhook binary on the embedded store (a fresh
# temp data dir, a free loopback port), runs smoke.mjs against it, and stops the server.
#
#   tests/smoke-npm/run.sh
#
# Needs node >= 20 and npm. Builds the binary with `cargo build -p xwebhook` unless XWEBHOOK_BIN names one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() {
    echo "smoke-npm: $*" >&2
    exit 1
}

command -v node >/dev/null || fail "node is not installed (node >= 20 is needed)"
command -v npm >/dev/null || fail "npm is not installed"
command -v curl >/dev/null || fail "curl is not installed"

if [[ -z "${XWEBHOOK_BIN:-}" ]]; then
    (cd "$repo" && cargo build --quiet -p xwebhook)
    XWEBHOOK_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/xwebhook"
    [[ "$XWEBHOOK_BIN" = /* ]] || XWEBHOOK_BIN="$repo/$XWEBHOOK_BIN"
fi
[[ -x "$XWEBHOOK_BIN" ]] || fail "no xwebhook binary at $XWEBHOOK_BIN"

(cd "$here" && npm ci --silent --no-audit --no-fund) || fail "npm ci failed"

work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    rm -rf "$work"
}
trap stop_server EXIT

# Only this run's settings reach the server: nothing XWEBHOOK_* leaks in from the caller's shell.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^XWEBHOOK_' || true)
export XWEBHOOK_JWT_SECRET="smoke-npm-secret-0123456789"
export XWEBHOOK_ALLOW_SUBNETS=127.0.0.0/8
export XWEBHOOK_RETRY_SCHEDULE=1,1
export XWEBHOOK_DATA_DIR="$work/data"

port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
url="http://127.0.0.1:$port"
token="$("$XWEBHOOK_BIN" jwt generate)"
paging_token="$("$XWEBHOOK_BIN" jwt generate "org_smokepaging$RANDOM$RANDOM")"

"$XWEBHOOK_BIN" serve --listen "127.0.0.1:$port" >"$work/xwebhook.log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null "$url/api/v1/health/ping" 2>/dev/null; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/xwebhook.log" >&2
        fail "xwebhook exited before answering /api/v1/health/ping"
    fi
    ((SECONDS < deadline)) || fail "xwebhook did not answer /api/v1/health/ping within 30 s"
    sleep 0.1
done

echo "smoke-npm: svix $(cd "$here" && node -p 'require("./node_modules/svix/package.json").version') against $url"
if ! (cd "$here" && XWEBHOOK_URL="$url" XWEBHOOK_TOKEN="$token" XWEBHOOK_PAGING_TOKEN="$paging_token" node smoke.mjs); then
    echo "--- xwebhook log ---" >&2
    cat "$work/xwebhook.log" >&2
    fail "the smoke test failed"
fi

# A clean stop is part of the contract too: SIGTERM must end the server with status 0.
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
if ((status != 0)); then
    cat "$work/xwebhook.log" >&2
    fail "xwebhook exited with $status after SIGTERM"
fi

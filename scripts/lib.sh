# Shared by the test scripts that drive the real binary from Python (tests/e2e, tests/portal, scripts/fuzz).
# Source it; it defines functions only.

# python_venv DIR REQUIREMENTS: creates the virtualenv DIR on first use and installs the pinned requirements.
python_venv() {
    local venv="$1" requirements="$2"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
}

# xwebhook_bin REPO: exports XWEBHOOK_BIN as an absolute path, building the debug binary unless it is already set
# (CARGO_TARGET_DIR is honoured).
xwebhook_bin() {
    local repo="$1"
    if [[ -z "${XWEBHOOK_BIN:-}" ]]; then
        (cd "$repo" && cargo build --quiet --locked -p xwebhook)
        XWEBHOOK_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/xwebhook"
    fi
    [[ "$XWEBHOOK_BIN" = /* ]] || XWEBHOOK_BIN="$repo/$XWEBHOOK_BIN"
    export XWEBHOOK_BIN
}

#!/usr/bin/env bash
# Runs the App Portal's browser tests: the real xwebhook binary (embedded store) and the page in headless
# Chromium, driven by Playwright for Python.
#
#   tests/portal/run.sh [pytest args…]
#
# Installs Debian's `chromium` when it is missing (Playwright's own browser downloads are never used); a browser
# that cannot be installed is a failure, never a skip. Uses (and creates on first run) a virtualenv at
# <repo>/.venv-portal. Builds the binary unless XWEBHOOK_BIN names one. PORTAL_SCREENSHOTS=1 rewrites
# docs/portal-*.png.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.venv-portal"
# shellcheck source=../../scripts/lib.sh
source "$repo/scripts/lib.sh"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$CHROMIUM" ]]; then
    echo "portal: installing Debian chromium" >&2
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
[[ -x "$CHROMIUM" ]] || { echo "portal: no browser at $CHROMIUM" >&2; exit 1; }

python_venv "$venv" "$here/requirements.txt"
xwebhook_bin "$repo"

cd "$here"
# No browser download, ever: the system Chromium is the one under test.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/python" -m pytest -q "$@"

#!/bin/sh
# End to end: the .vsix in code-server (VS Code 1.100.3 in a browser), driven by headless
# Chromium. Installs code-server and puppeteer-core from npm into $IMPORTGUARD_E2E_DIR
# (default /tmp/importguard-vscode-e2e), builds the .vsix, installs it, opens
# fixtures/example (a copy) and a file with a finding, and prints the diagnostics (with
# their chain), the code actions and the progress it saw. Only localhost traffic after
# the npm installs.
#
# Needs: node 20 and npm; Debian's chromium and ripgrep (apt-get install chromium
# ripgrep), build tools and libkrb5-dev for code-server's native modules; a Python with
# importguard and pygls 2 installed (IMPORTGUARD_PYTHON, default: python3 on PATH).
# Optional: IMPORTGUARD_E2E_VSIX (a .vsix built already), IMPORTGUARD_E2E_PROJECT (a project to copy instead of fixtures/example) and
# IMPORTGUARD_E2E_FILE (the file to open, relative to it), IMPORTGUARD_E2E_WAIT_S (how long
# to wait for its first diagnostics, default 120).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
EXTENSION=$(dirname "$HERE")
REPO=$(cd "$EXTENSION/../.." && pwd)
WORK=${IMPORTGUARD_E2E_DIR:-/tmp/importguard-vscode-e2e}
PYTHON=${IMPORTGUARD_PYTHON:-$(command -v python3)}
PROJECT=${IMPORTGUARD_E2E_PROJECT:-$REPO/fixtures/example}
FILE=${IMPORTGUARD_E2E_FILE:-vllm_mini/models/deepseek/ops/__init__.py}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
PORT=${IMPORTGUARD_E2E_PORT:-18931}
[ -n "$CHROMIUM" ] || { echo "needs chromium (apt-get install chromium)" >&2; exit 1; }
"$PYTHON" -c "import importguard, pygls" || { echo "$PYTHON lacks importguard or pygls" >&2; exit 1; }

step() { echo "== $*" >&2; }
step "code-server 4.100.3 and puppeteer-core in $WORK"
"$HERE/install-code-server.sh" "$WORK" >&2
[ -d "$WORK/node_modules/puppeteer-core" ] || (cd "$WORK" && npm install --no-audit --no-fund puppeteer-core@24.22.0 >&2)

VSIX=${IMPORTGUARD_E2E_VSIX:-}
if [ -z "$VSIX" ]; then
  step "the .vsix"
  VSIX="$WORK/importguard.vsix"
  (cd "$EXTENSION" && npm ci --no-audit --no-fund >&2 && npx vsce package --allow-missing-repository --out "$VSIX" >&2)
fi

RUN="$WORK/run"
rm -rf "$RUN"
mkdir -p "$RUN/data/User" "$RUN/extensions"
cp -r "$PROJECT" "$RUN/project"
rm -rf "$RUN/project/.importguard_cache"   # a cold analysis, as a fresh checkout has
cat > "$RUN/data/User/settings.json" <<SETTINGS
{
  "security.workspace.trust.enabled": false,
  "importguard.interpreter": "$PYTHON",
  "importguard.trace.server": "verbose",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "telemetry.telemetryLevel": "off",
  "problems.defaultViewMode": "tree"
}
SETTINGS
CODE_SERVER="$WORK/node_modules/.bin/code-server"
step "install the .vsix"
"$CODE_SERVER" --user-data-dir "$RUN/data" --extensions-dir "$RUN/extensions" --install-extension "$VSIX" >&2

step "code-server on 127.0.0.1:$PORT"
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$PORT" > "$RUN/config.yaml"
"$CODE_SERVER" --config "$RUN/config.yaml" --user-data-dir "$RUN/data" --extensions-dir "$RUN/extensions" \
  --disable-telemetry --disable-update-check --disable-workspace-trust "$RUN/project" > "$RUN/code-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT INT TERM
i=0
until curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { cat "$RUN/code-server.log" >&2; exit 1; }; sleep 0.3
done

step "headless Chromium opens $FILE"
cd "$WORK"
URL="http://127.0.0.1:$PORT/?folder=$RUN/project" FILE="$FILE" CHROMIUM="$CHROMIUM" LOGS="$RUN/data/logs" \
  node "$HERE/drive.js"

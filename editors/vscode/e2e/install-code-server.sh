#!/bin/sh
# Install code-server (VS Code in a browser) into $1 with npm, offline from GitHub:
# @vscode/ripgrep's postinstall downloads rg from GitHub, so its download cache is
# seeded with the system's rg (Debian: apt-get install ripgrep), and node-gyp builds
# the native modules against the installed node headers instead of downloading them.
set -eu
DIR=${1:?usage: install-code-server.sh DIR}
VERSION=${CODE_SERVER_VERSION:-4.100.3}
RIPGREP_PACKAGE=1.15.11   # what code-server 4.100.3's npm-shrinkwrap.json pins
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz  # what that version downloads
if [ -x "$DIR/node_modules/.bin/code-server" ]; then
  echo "code-server already installed in $DIR"; exit 0
fi
case "$(node --version)" in v20.*) ;; *) echo "code-server $VERSION needs node 20, found $(node --version)" >&2; exit 1;; esac
RG=$(command -v rg) || { echo "needs ripgrep (apt-get install ripgrep)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "the ripgrep seed is for x86_64 only" >&2; exit 1; }
mkdir -p "$DIR/tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE"
seed=$(mktemp -d)
cp "$RG" "$seed/rg"
tar czf "$DIR/tmp/vscode-ripgrep-cache-$RIPGREP_PACKAGE/$RIPGREP_ASSET" -C "$seed" rg
rm -rf "$seed"
NODEDIR=$(dirname "$(dirname "$(command -v node)")")   # /usr: headers in /usr/include/node
[ -f "$NODEDIR/include/node/node_version.h" ] || { echo "needs node's headers in $NODEDIR/include/node" >&2; exit 1; }
cd "$DIR"
[ -f package.json ] || echo '{"private": true}' > package.json
TMPDIR="$DIR/tmp" npm_config_yes=true npm_config_nodedir="$NODEDIR" \
  npm install --unsafe-perm --no-audit --no-fund "code-server@$VERSION"

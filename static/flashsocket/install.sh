#!/usr/bin/env bash
# Installs the Flash movie of the real socket.io-client 0.9.17 into this folder, where
# crates/server/build.rs finds it and embeds it into the ferrio binary:
#   WebSocketMain.swf          what the client's flashsocket transport loads from a page of
#                              the gateway's own domain,
#   WebSocketMainInsecure.swf  what it loads from a page of another domain.
# ferrio serves them at /{resource}/static/flashsocket/… while flashsocket is on.
#
# They come from the npm package's dist/, fetched with `npm pack` (npm checks the tarball
# against the integrity the registry publishes) and then checked against the SHA-256 sums
# below, so a build gets these exact bytes or fails. They are not committed: they are a
# third party's binaries, and the package is where they are published.
#
# Usage: static/flashsocket/install.sh [destination]   (default: this script's folder)
# Needs npm, tar and sha256sum. Does nothing when the destination already holds both files
# with the right sums, so it needs no network then.
set -euo pipefail

readonly PACKAGE="socket.io-client"
readonly VERSION="0.9.17"
# `sha256sum --check` lines: the two files as socket.io-client 0.9.17 publishes them.
readonly SUMS="0d3fc96ce0400896210be42c02a8a775a1cdc0810a538b63ff220f08ce0c4cb7  WebSocketMain.swf
6f76f654e6aab6b35d6be728bb7ba2bfcdc6a138c4bff5b88585dc56a1e71759  WebSocketMainInsecure.swf"
readonly FILES=(WebSocketMain.swf WebSocketMainInsecure.swf)

destination="${1:-$(dirname "$0")}"
mkdir -p "$destination"
destination="$(cd "$destination" && pwd)"

# Whether folder $1 holds both files with the right sums.
holds_the_movie() {
  (cd "$1" && sha256sum --check --status --strict <<<"$SUMS") 2>/dev/null
}

if holds_the_movie "$destination"; then
  echo "the Flash movie of $PACKAGE $VERSION is already in $destination"
  exit 0
fi

for tool in npm tar sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is required to install the Flash movie" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A registry package has no scripts to run when packed; --ignore-scripts makes sure of it.
npm pack --silent --ignore-scripts --pack-destination "$work" "$PACKAGE@$VERSION" >/dev/null
tar -xzf "$work/$PACKAGE-$VERSION.tgz" -C "$work" "${FILES[@]/#/package/dist/}"
if ! holds_the_movie "$work/package/dist"; then
  echo "error: the Flash movie in $PACKAGE@$VERSION does not have the expected SHA-256 sums:" >&2
  (cd "$work/package/dist" && sha256sum "${FILES[@]}") >&2
  exit 1
fi

# Each file is copied beside its final name and then renamed, so an interrupted install never
# leaves a truncated movie for the build to embed.
for file in "${FILES[@]}"; do
  cp "$work/package/dist/$file" "$destination/$file.partial"
  chmod 0644 "$destination/$file.partial"
  mv -f "$destination/$file.partial" "$destination/$file"
done
echo "installed the Flash movie of $PACKAGE $VERSION in $destination"

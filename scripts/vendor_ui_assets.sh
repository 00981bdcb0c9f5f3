#!/usr/bin/env bash
# Vendor the web UI's two JavaScript libraries from the npm registry into
# modelpack/ui/static/vendor/, with their licences. Pinned versions, sha256-checked
# tarballs: rerunning it reproduces the committed files byte for byte.
#
#     scripts/vendor_ui_assets.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=modelpack/ui/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

HTMX_VERSION=2.0.11
HTMX_SHA256=165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e
UPLOT_VERSION=1.6.32
UPLOT_SHA256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d

fetch() {  # name version sha256 -> path of the checked tarball
    (cd "$WORK" && npm pack --silent "$1@$2" >/dev/null)
    local tarball="$WORK/${1}-${2}.tgz"
    echo "$3  $tarball" | sha256sum --check --quiet
    echo "$tarball"
}

htmx=$(fetch htmx.org "$HTMX_VERSION" "$HTMX_SHA256")
uplot=$(fetch uplot "$UPLOT_VERSION" "$UPLOT_SHA256")

mkdir -p "$DEST"
tar -xzf "$htmx" -C "$WORK" package/dist/htmx.min.js package/LICENSE
cp "$WORK/package/dist/htmx.min.js" "$DEST/htmx.min.js"
cp "$WORK/package/LICENSE" "$DEST/htmx.LICENSE"
rm -rf "$WORK/package"
tar -xzf "$uplot" -C "$WORK" package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE
cp "$WORK/package/dist/uPlot.iife.min.js" "$DEST/uPlot.iife.min.js"
cp "$WORK/package/dist/uPlot.min.css" "$DEST/uPlot.min.css"
cp "$WORK/package/LICENSE" "$DEST/uPlot.LICENSE"
echo "htmx.org $HTMX_VERSION, uplot $UPLOT_VERSION -> $DEST"

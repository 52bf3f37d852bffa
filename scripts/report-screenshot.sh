#!/usr/bin/env bash
# Regenerates docs/report-screenshot.png, the README's picture of `strata report`: the HTML
# report of the bundled demo (fixtures/demo), painted by headless Chromium.
#
# Usage: scripts/report-screenshot.sh   (needs Debian's chromium: apt-get install chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
browser=${STRATA_BROWSER:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$browser" ]; then
  echo "no Chromium found (apt-get install chromium, or set STRATA_BROWSER)" >&2
  exit 2
fi
cargo build --release --quiet
bin="$PWD/${CARGO_TARGET_DIR:-target}/release/strata"
case "${CARGO_TARGET_DIR:-}" in /*) bin="$CARGO_TARGET_DIR/release/strata" ;; esac
out="$PWD/docs/report-screenshot.png"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A clone named after the project, without its remote: the header shows the commit, and no
# path of this machine.
git clone -q . "$work/strata"
git -C "$work/strata" remote remove origin
(cd "$work/strata" && SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) "$bin" report fixtures/demo \
  --no-cache --format html -o "$work/report.html")
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$work/profile" \
  --window-size=1200,1900 --screenshot="$out" \
  "file://$work/report.html" 2>/dev/null
echo "wrote docs/report-screenshot.png"

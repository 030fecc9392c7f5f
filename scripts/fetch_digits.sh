#!/usr/bin/env bash
# Fetches the UCI handwritten digits (1797 8x8 images, 64 pixel values 0-16 and a label per
# row) from Debian's python3-sklearn package, which ships them as digits.csv.gz, without
# installing the package or Python. Writes data/digits.csv; does nothing when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/digits.csv
[ -s "$out" ] && exit 0
mkdir -p data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download python3-sklearn >/dev/null 2>&1) ||
  { apt-get update >/dev/null && (cd "$tmp" && apt-get download python3-sklearn >/dev/null); }
dpkg -x "$tmp"/python3-sklearn_*.deb "$tmp/x"
gzip -dc "$(find "$tmp/x" -name digits.csv.gz | head -1)" > "$out.part"
mv "$out.part" "$out"
echo "fetched $(wc -l < "$out") digit images into $out"

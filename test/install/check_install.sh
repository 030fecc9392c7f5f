#!/usr/bin/env bash
# Installs ejit into a temporary prefix and builds examples/eager_tour against it with
# find_package(ejit), as an outside application would; then runs it on a small size.
set -euo pipefail
build_dir=$1 source_dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
cmake -S "$source_dir/examples/eager_tour" -B "$tmp/app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
ninja -C "$tmp/app" >/dev/null
"$tmp/app/eager_tour" --size 4096 | tail -n 3

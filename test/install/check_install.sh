#!/usr/bin/env bash
# Installs ejit into a temporary prefix and builds examples/eager_tour (ejit::ejit) and
# examples/jit_demo (ejit::jit) against it with find_package(ejit), as an outside application
# would; runs both on a small size, and the installed ejit and ejit-opt tools.
set -euo pipefail
build_dir=$1 source_dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
cmake -S "$source_dir/examples/eager_tour" -B "$tmp/app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
ninja -C "$tmp/app" >/dev/null
"$tmp/app/eager_tour" --size 4096 | tail -n 3
cmake -S "$source_dir/examples/jit_demo" -B "$tmp/jit_app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
ninja -C "$tmp/jit_app" >/dev/null
EJIT_CACHE_DIR=off EJIT_COMPILE=sync "$tmp/jit_app/jit_demo" --size 4096 | grep -E "compiled|first call" | head -n 3
"$tmp/prefix/bin/ejit" dump "$source_dir/examples/traces/chain.mlir" --stage=loops | grep -c "scf.parallel"
"$tmp/prefix/bin/ejit-opt" "$source_dir/examples/traces/chain.mlir" --ejit-cpu-pipeline=stop-after=linalg | grep -c linalg.generic

#!/usr/bin/env bash
# Configures and builds ejit in build/ (Release, Ninja, 2 jobs, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build -j"${EJIT_JOBS:-2}"

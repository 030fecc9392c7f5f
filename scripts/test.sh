#!/usr/bin/env bash
# Sets up, builds and runs every test under ctest (unit tests, accuracy checks, install check).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"${EJIT_JOBS:-2}"

#!/usr/bin/env bash
# The main job: set up, build, and run the demos: eager ops with values and timings, then
# the same kind of functions eager vs compiled through jit().
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/examples/eager_tour/eager_tour "$@"
echo
build/examples/jit_demo/jit_demo "$@"

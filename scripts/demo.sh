#!/usr/bin/env bash
# The main job: set up, build, and run the demo (eager ops with values and timings).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/examples/eager_tour/eager_tour "$@"

#!/usr/bin/env bash
# The main job: set up, build, and run the demos: eager ops with values and timings, the
# same kind of functions eager vs compiled through jit(), then an MLP trained on the UCI
# digits with eager and with jitted steps, and a checkpoint round trip (examples/digits);
# then the trained model's inference exported and run by a program that links only the eager
# library (examples/digits_classify).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/examples/eager_tour/eager_tour "$@"
echo
build/examples/jit_demo/jit_demo "$@"
echo
build/examples/digits/digits --data data/digits.csv --checkpoint build/digits.safetensors --export build/digits-export
echo
# The trained model's inference, exported above, run by a program without LLVM or MLIR.
build/examples/digits_classify/digits_classify build/digits-export

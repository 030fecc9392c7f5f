#!/usr/bin/env bash
# Builds the unit and jit tests with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/ and runs them (all, or the Catch2 test spec given as $1). The caching
# allocator is turned off (EJIT_CACHE_LIMIT_MB=0) so that ASan sees every free; LLVM's
# and MLIR's own one-time allocations are not reported as leaks (detect_leaks=0).
# Slow: a cold build takes about 20 minutes on 2 cores, the tests about 30.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DEJIT_BUILD_BENCH=OFF -DEJIT_BUILD_EXAMPLES=OFF >/dev/null
ninja -C build-asan -j"${EJIT_JOBS:-2}" ejit_unit_tests ejit_jit_tests
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export EJIT_CACHE_LIMIT_MB=0
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
status=0
# Without a spec: everything except the one test that checks the allocator's reuse (off here).
default_spec='~copies share data and memory is reused after the last handle dies'
for t in build-asan/test/unit/ejit_unit_tests build-asan/test/jit/ejit_jit_tests; do
  echo "== $t ${1:-}"
  EJIT_CACHE_DIR="$cache" "$t" "${1:-$default_spec}" || status=1
done
exit $status

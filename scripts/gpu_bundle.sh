#!/usr/bin/env bash
# Packs what the GPU machine needs to run the [cuda] tests and gpu_bench: the built test
# and benchmark binaries (stripped), every shared library they load except glibc's,
# libdevice, a warm kernel cache (PTX and plans for the GPU tests, made here: no GPU is
# needed to compile), and a run script, as .gpu-bundle/ (an xz tar kept under 60 MiB, the
# device tool carrying at most 64).
#
#   scripts/gpu_bundle.sh                 # after scripts/build.sh
#   device run: bash .gpu-bundle/run.sh   with carry [".gpu-bundle"]
#
# run.sh unpacks to /tmp/ejit with Python's tarfile (no xz needed there), finds cuBLAS in
# PyTorch's nvidia wheels when the system has none, runs every [cuda] test in its own
# process under a timeout (EJIT_CUDA_SYNC=1, so a failing kernel names itself), then
# compute-sanitizer on a few tests when the machine has it, gpu_bench and `ejit run
# --device=cuda` on the example traces, and writes one results file under $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-bundle
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/bench" "$stage/cuda/nvvm/libdevice" "$out"
bins=(build/test/jit/ejit_jit_tests build/bench/gpu_bench build/bin/ejit)
# The distributed tests' NCCL case (a world of one on the one GPU), where MPI was built.
[[ -x build/test/distributed/ejit_dist_tests ]] && bins+=(build/test/distributed/ejit_dist_tests)
for b in "${bins[@]}"; do
  [[ -x $b ]] || { echo "gpu_bundle: $b is missing: run scripts/build.sh first" >&2; exit 1; }
  cp "$b" "$stage/bin/"
  strip --strip-unneeded "$stage/bin/$(basename "$b")"
done
cp bench/torch_chain.py "$stage/bench/"
cp -r examples/traces "$stage/traces"
libdevice=${CUDA_HOME:-/usr/local/cuda}/nvvm/libdevice/libdevice.10.bc
[[ -f $libdevice ]] || { echo "gpu_bundle: libdevice is missing ($libdevice): GPU kernels calling it could not load" >&2; exit 1; }
cp "$libdevice" "$stage/cuda/nvvm/libdevice/"
# A warm kernel cache: the GPU tests' and the example traces' PTX and plans, compiled here
# (the [gpu] codegen tests and `ejit dump --device=cuda` make the same entries), so the
# device's time goes to running. The cache key holds the binary's build ID, which strip
# keeps. The test list is how the runner will call each [cuda] test.
warm=$stage/cache
EJIT_CACHE_DIR=$warm build/test/jit/ejit_jit_tests "[gpu]" > /dev/null 2>&1 || true
for t in examples/traces/*.mlir; do
  EJIT_CACHE_DIR=$warm build/bin/ejit dump "$t" --device=cuda --stage=ptx > /dev/null 2>&1 || true
done
# (Catch2 2 exits with the number of tests it lists.)
{ build/test/jit/ejit_jit_tests "[cuda]" --list-test-names-only 2>/dev/null || true; } | sed '/^$/d' > "$stage/cuda-tests.txt"
[[ -s $stage/cuda-tests.txt ]] || { echo "gpu_bundle: no [cuda] tests listed" >&2; exit 1; }
# Every library the binaries load, except glibc's own (the GPU machine has those).
for b in "${bins[@]}"; do ldd "$b"; done | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case $(basename "$lib") in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
cat > "$stage/run-inside.sh" <<'INNER'
#!/usr/bin/env bash
# Runs on the GPU machine from the unpacked bundle.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=${OUT:-/tmp}/gpu-results.txt
extra=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = []
for base in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += glob.glob(os.path.join(base, "nvidia", "*", "lib"))
print(":".join(dirs))
PY
)
# The bundle's libraries are for ejit's binaries only: python3 (PyTorch, run by gpu_bench)
# keeps the machine's own, or it could load the bundle's libstdc++ and fail quietly.
libs="$here/lib${extra:+:$extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ejit_env() { env LD_LIBRARY_PATH="$libs" "$@"; }
mkdir -p /tmp/ejit-cache && cp -r "$here/cache/." /tmp/ejit-cache/ 2>/dev/null
export CUDA_HOME="$here/cuda" EJIT_BENCH_DIR="$here/bench" EJIT_CACHE_DIR=/tmp/ejit-cache
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  echo "== [cuda] tests, each in its own process (timeout 60 s, EJIT_CUDA_SYNC=1)"
  passed=0 failed=0 skipped=0
  while IFS= read -r name; do
    spec=$(printf '%s' "$name" | sed 's/[],[]/\\&/g')  # Catch2 reads , [ ] in a name as syntax
    out=$(EJIT_CUDA_SYNC=1 timeout 60 env LD_LIBRARY_PATH="$libs" "$here/bin/ejit_jit_tests" "$spec" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && grep -q "skipped: no CUDA device" <<< "$out"; then skipped=$((skipped + 1)); echo "SKIP  $name"
    elif [ $rc -eq 0 ]; then passed=$((passed + 1)); echo "PASS  $name"
    else failed=$((failed + 1)); echo "FAIL  $name (exit $rc$([ $rc -eq 124 ] && echo ', timed out'))"; echo "$out" | tail -40; fi
  done < "$here/cuda-tests.txt"
  echo "[cuda] tests: $passed passed, $failed failed, $skipped skipped (no CUDA device)"
  if command -v compute-sanitizer > /dev/null; then
    echo "== compute-sanitizer (memcheck) on two [cuda] tests"
    head -2 "$here/cuda-tests.txt" | while IFS= read -r name; do
      timeout 120 env LD_LIBRARY_PATH="$libs" compute-sanitizer --tool memcheck --error-exitcode 9 \
        "$here/bin/ejit_jit_tests" "$(printf '%s' "$name" | sed 's/[],[]/\\&/g')" 2>&1 | tail -5
    done
  else
    echo "== compute-sanitizer: not on this machine, skipped"
  fi
  if [ -x "$here/bin/ejit_dist_tests" ]; then
    echo "== NCCL: GPU tensors' collectives in a world of one (needs the machine's libnccl.so.2 and Open MPI)"
    EJIT_TEST_WORLD=1 EJIT_TEST_CACHE_ROOT=/tmp/ejit-cache-dist timeout 30 env LD_LIBRARY_PATH="$libs" \
      "$here/bin/ejit_dist_tests" "[nccl]" -s 2>&1 | grep -E "warning|skipped|NCCL|test cases|FAILED|failed|error" | head -30
  fi
  echo "== gpu_bench"
  timeout 240 env LD_LIBRARY_PATH="$libs" EJIT_CHILD_LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}" "$here/bin/gpu_bench" 2>&1
  for t in chain softmax layer_norm mlp train_step; do
    echo "== ejit run $t.mlir --device=cuda (compiled on the GPU vs the interpreter)"
    timeout 60 env LD_LIBRARY_PATH="$libs" "$here/bin/ejit" run "$here/traces/$t.mlir" --device=cuda --repeat 20 2>&1
  done
  echo "== ejit dump --device=cuda --stage=ptx (softmax), head"
  ejit_env "$here/bin/ejit" dump "$here/traces/softmax.mlir" --device=cuda --stage=ptx 2>&1 | head -20
} 2>&1 | tee "$log"
INNER
chmod +x "$stage/run-inside.sh"
tar -C "$stage" -cf - . | xz -T2 -9e > "$out/ejit-gpu.tar.xz"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
rm -rf /tmp/ejit && mkdir -p /tmp/ejit
python3 -c "import tarfile; tarfile.open('ejit-gpu.tar.xz').extractall('/tmp/ejit')"
exec bash /tmp/ejit/run-inside.sh
RUN
bytes=$(stat -c %s "$out/ejit-gpu.tar.xz")
echo "gpu_bundle: $out/ejit-gpu.tar.xz is $((bytes >> 20)) MiB ($bytes bytes; the device tool carries at most 64 MiB)"
if (( bytes > 60 * 1024 * 1024 )); then
  echo "gpu_bundle: the bundle is above 60 MiB: it would not leave room under the 64 MiB carry limit" >&2
  rm -f "$out/ejit-gpu.tar.xz"
  exit 1
fi

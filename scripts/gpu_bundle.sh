#!/usr/bin/env bash
# Packs what the GPU machine needs to run the [cuda] tests and gpu_bench: the built test
# and benchmark binaries, every shared library they load except glibc's, libdevice, and
# a run script, as .gpu-bundle/ (an xz tar under the device tool's 64 MiB carry limit).
#
#   scripts/gpu_bundle.sh                 # after scripts/build.sh
#   device run: bash .gpu-bundle/run.sh   with carry [".gpu-bundle"]
#
# run.sh unpacks to /tmp/ejit with Python's tarfile (no xz needed there), finds cuBLAS in
# PyTorch's nvidia wheels when the system has none, and writes the logs under $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-bundle
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/bench" "$stage/cuda/nvvm/libdevice" "$out"
bins=(build/test/jit/ejit_jit_tests build/bench/gpu_bench build/bin/ejit)
for b in "${bins[@]}"; do
  [[ -x $b ]] || { echo "gpu_bundle: $b is missing: run scripts/build.sh first" >&2; exit 1; }
  cp "$b" "$stage/bin/"
done
cp bench/torch_chain.py "$stage/bench/"
cp -r examples/traces "$stage/traces"
libdevice=${CUDA_HOME:-/usr/local/cuda}/nvvm/libdevice/libdevice.10.bc
[[ -f $libdevice ]] && cp "$libdevice" "$stage/cuda/nvvm/libdevice/"
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
export LD_LIBRARY_PATH="$here/lib${extra:+:$extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CUDA_HOME="$here/cuda" EJIT_BENCH_DIR="$here/bench" EJIT_CACHE_DIR=/tmp/ejit-cache
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  echo "== [cuda] tests"
  "$here/bin/ejit_jit_tests" "[cuda]" --durations yes 2>&1
  echo "== gpu_bench"
  "$here/bin/gpu_bench" 2>&1
  for t in chain softmax layer_norm mlp train_step; do
    echo "== ejit run $t.mlir --device=cuda (compiled on the GPU vs the interpreter)"
    "$here/bin/ejit" run "$here/traces/$t.mlir" --device=cuda --repeat 20 2>&1
  done
  echo "== ejit dump --device=cuda --stage=ptx (softmax), head"
  "$here/bin/ejit" dump "$here/traces/softmax.mlir" --device=cuda --stage=ptx 2>&1 | head -20
} 2>&1 | tee "$log"
INNER
chmod +x "$stage/run-inside.sh"
tar -C "$stage" -cf - . | xz -T2 -6 > "$out/ejit-gpu.tar.xz"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
rm -rf /tmp/ejit && mkdir -p /tmp/ejit
python3 -c "import tarfile; tarfile.open('ejit-gpu.tar.xz').extractall('/tmp/ejit')"
exec bash /tmp/ejit/run-inside.sh
RUN
size=$(du -m "$out/ejit-gpu.tar.xz" | cut -f1)
echo "gpu_bundle: $out/ejit-gpu.tar.xz is ${size} MiB (the device tool carries at most 64 MiB)"
(( size < 62 )) || { echo "gpu_bundle: too large to carry" >&2; exit 1; }

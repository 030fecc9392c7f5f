#!/usr/bin/env bash
# Installs ejit's build dependencies from Debian's packages (idempotent; needs root or sudo).
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libfmt-dev catch2
  nlohmann-json3-dev        # JSON of safetensors checkpoint headers (header-only)
  libprotobuf-dev protobuf-compiler   # TensorBoard event files (ejit::summary: Event/Summary protocol buffers)
  python3-protobuf          # the tests' independent reader of those files (test/summary/read_events.py)
  libopenmpi-dev openmpi-bin   # distributed training (ejit::distributed) and its 2-rank tests under mpirun
  libeigen3-dev             # a peer in bench/ (header-only)
  libopenblas0-pthread      # matmul's BLAS, loaded at run time, run single-threaded in ejit's pool (docs/DESIGN-NOTES.md)
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools   # the JIT layers
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
else
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The demo's data set (UCI digits, from Debian's python3-sklearn package; no Python needed).
"$(dirname "$0")/fetch_digits.sh" || echo "setup: could not fetch the digits data (examples/digits needs it)"

#!/usr/bin/env bash
# Installs ejit into a temporary prefix and builds examples/eager_tour (ejit::ejit) and
# examples/jit_demo (ejit::jit) against it with find_package(ejit), as an outside application
# would; runs both on a small size, and the installed ejit and ejit-opt tools. Then a small
# application of ejit::summary (find_package(ejit COMPONENTS summary), which finds protobuf)
# writes an events file, and one of ejit::distributed (COMPONENTS distributed, which finds MPI)
# all-reduces in a world of one. Last, the installed `ejit export` writes a library that an
# application of ejit::ejit alone (no LLVM, no MLIR) loads and runs.
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
mkdir -p "$tmp/summary_src"
cat >"$tmp/summary_src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(summary_app LANGUAGES CXX)
find_package(ejit REQUIRED COMPONENTS summary)
add_executable(summary_app main.cpp)
target_compile_features(summary_app PRIVATE cxx_std_20)
target_link_libraries(summary_app PRIVATE ejit::summary)
EOF
cat >"$tmp/summary_src/main.cpp" <<'EOF'
#include <ejit/summary.h>
#include <cstdio>
int main(int, char** argv) {
  ejit::SummaryWriter w(argv[1]);
  w.scalar("loss", 0.5, 1);
  std::printf("summary_app wrote %s\n", w.path().filename().c_str());
}
EOF
cmake -S "$tmp/summary_src" -B "$tmp/summary_app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
ninja -C "$tmp/summary_app" >/dev/null
"$tmp/summary_app/summary_app" "$tmp/runs" | sed 's/tfevents\..*/tfevents.<...>/'
test -s "$tmp"/runs/events.out.tfevents.*
# ejit::distributed (find_package(ejit COMPONENTS distributed), which finds MPI): a world of
# one without mpirun.
mkdir -p "$tmp/dist_src"
cat >"$tmp/dist_src/CMakeLists.txt" <<'EOF2'
cmake_minimum_required(VERSION 3.20)
project(dist_app LANGUAGES CXX)
find_package(ejit REQUIRED COMPONENTS distributed)
add_executable(dist_app main.cpp)
target_compile_features(dist_app PRIVATE cxx_std_20)
target_link_libraries(dist_app PRIVATE ejit::distributed)
EOF2
cat >"$tmp/dist_src/main.cpp" <<'EOF2'
#include <ejit/distributed.h>
#include <ejit/ops.h>
#include <cstdio>
int main() {
  namespace dist = ejit::distributed;
  if (!dist::available()) { std::printf("dist_app: built without MPI\n"); return 0; }
  const float s = dist::all_reduce(ejit::full({2}, 3.0)).to_vector<float>()[0];
  std::printf("dist_app: rank %d of %d, all_reduce %.1f\n", dist::rank(), dist::world_size(), s);
}
EOF2
cmake -S "$tmp/dist_src" -B "$tmp/dist_app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
ninja -C "$tmp/dist_app" >/dev/null
"$tmp/dist_app/dist_app"
# Deployment: the installed tool exports a trace; an ejit::ejit-only application loads it.
mkdir -p "$tmp/load_src"
cat >"$tmp/load_src/CMakeLists.txt" <<'EOF3'
cmake_minimum_required(VERSION 3.20)
project(load_app LANGUAGES CXX)
find_package(ejit REQUIRED)
add_executable(load_app main.cpp)
target_compile_features(load_app PRIVATE cxx_std_20)
target_link_libraries(load_app PRIVATE ejit::ejit)
EOF3
cat >"$tmp/load_src/main.cpp" <<'EOF3'
#include <ejit/compiled_library.h>
#include <ejit/ejit.h>
#include <cstdio>
int main(int, char** argv) {
  const ejit::CompiledLibrary lib = ejit::load_compiled(argv[1]);
  const ejit::Trace& t = lib.trace(0);
  std::vector<ejit::Tensor> in;
  for (int v : t.inputs) in.push_back(ejit::randn(t.values[v].shape, 1));
  const double d = ejit::max(ejit::abs(lib(in)[0] - ejit::eval_trace(t, in)[0])).item<double>();
  std::printf("load_app: %s %s, max abs difference from the interpreter %s\n", lib.name().c_str(),
              lib.signature(0).c_str(), d < 1e-4 ? "< 1e-4" : "TOO LARGE");
  return d < 1e-4 ? 0 : 1;
}
EOF3
cmake -S "$tmp/load_src" -B "$tmp/load_app" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
ninja -C "$tmp/load_app" >/dev/null
EJIT_CACHE_DIR=off "$tmp/prefix/bin/ejit" export "$source_dir/examples/traces/softmax.mlir" -o "$tmp/softmax.so" >/dev/null
"$tmp/load_app/load_app" "$tmp/softmax.so"
! ldd "$tmp/load_app/load_app" | grep -E 'libLLVM|libMLIR'

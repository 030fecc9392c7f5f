// The generated PTX assembles with the CUDA toolkit's ptxas (present on these machines at
// /usr/local/cuda/bin; the test is skipped where it is not).
// REQUIRES: ptxas
// RUN: %ejit dump %ejit_src/examples/traces/chain.mlir --stage=ptx > %t.chain.ptx
// RUN: %ptxas -arch=sm_90 %t.chain.ptx -o %t.chain.cubin
// RUN: %ejit dump %ejit_src/examples/traces/softmax.mlir --stage=ptx > %t.softmax.ptx
// RUN: rm -rf %t.parts && mkdir %t.parts
// RUN: %python %s.split.py %t.softmax.ptx %t.parts/softmax
// RUN: for f in %t.parts/softmax.*; do %ptxas -arch=sm_90 $f -o /dev/null; done

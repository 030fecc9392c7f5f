// A hand-written MLP training step (Eigen's GEMM, loops for the rest): the peer of ejit's
// eager and jitted steps in train_bench.
#pragma once

#include <cstdint>

namespace bench {

/// One SGD step of a 2-layer ReLU MLP with softmax cross-entropy; row-major buffers;
/// w1 (in x hidden), b1, w2 (hidden x out), b2 are updated in place. Returns the loss.
/// Returns a negative value when built without Eigen.
float hand_mlp_step(const float* x, const int64_t* labels, float* w1, float* b1, float* w2, float* b2, int batch,
                    int in, int hidden, int out, float lr);

}  // namespace bench

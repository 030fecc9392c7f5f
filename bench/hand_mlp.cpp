// hand_mlp_step with Eigen matrices (multi-threaded GEMM through OpenMP when enabled).
#include "hand_mlp.h"

#if __has_include(<Eigen/Dense>)
#include <Eigen/Dense>
#include <cmath>

namespace bench {

float hand_mlp_step(const float* xp, const int64_t* labels, float* w1p, float* b1p, float* w2p, float* b2p, int batch,
                    int in, int hidden, int out, float lr) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Row = Eigen::Matrix<float, 1, Eigen::Dynamic>;
  Eigen::Map<const Mat> x(xp, batch, in);
  Eigen::Map<Mat> w1(w1p, in, hidden), w2(w2p, hidden, out);
  Eigen::Map<Row> b1(b1p, hidden), b2(b2p, out);
  Mat h = (x * w1).rowwise() + b1;
  h = h.cwiseMax(0.f);
  Mat z = (h * w2).rowwise() + b2;
  float loss = 0;
  for (int i = 0; i < batch; ++i) {  // softmax, loss and dz = (p - onehot) / batch in one pass per row
    float m = z.row(i).maxCoeff();
    z.row(i) = (z.row(i).array() - m).exp();
    float s = z.row(i).sum();
    loss += std::log(s) - std::log(z(i, labels[i]));
    z.row(i) /= s * batch;
    z(i, labels[i]) -= 1.f / batch;
  }
  Mat dh = (z * w2.transpose()).cwiseProduct((h.array() > 0.f).cast<float>().matrix());
  w2.noalias() -= lr * (h.transpose() * z);
  b2 -= lr * z.colwise().sum();
  w1.noalias() -= lr * (x.transpose() * dh);
  b1 -= lr * dh.colwise().sum();
  return loss / batch;
}

}  // namespace bench
#else
namespace bench {
float hand_mlp_step(const float*, const int64_t*, float*, float*, float*, float*, int, int, int, int, float) { return -1; }
}  // namespace bench
#endif

// record_traces: records a few real traces and saves them as ejit-dialect .mlir files
// (the ones in examples/traces/, which `ejit dump` and `ejit run` read).
//   build/examples/record_traces/record_traces examples/traces
#include <ejit/autodiff.h>
#include <ejit/ejit.h>

#include <functional>

using namespace ejit;

namespace {

/// Runs fn on args with a Recorder on and saves the trace as DIR/NAME.mlir.
void record(const std::string& dir, const std::string& name, const std::vector<Tensor>& args,
            const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn) {
  Recorder rec;
  rec.add_inputs(args);
  Trace t = rec.finish(fn(args));
  t.save(dir + "/" + name + ".mlir", name);
  fmt::print("{}/{}.mlir: {} inputs, {} outputs, {} ops\n", dir, name, t.inputs.size(), t.outputs.size(), t.nodes.size());
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : ".";

  // A two-layer MLP forward: softmax(relu(x @ w1 + b1) @ w2 + b2).
  record(dir, "mlp", {randn({32, 64}, 1), randn({64, 128}, 2), randn({128}, 3), randn({128, 10}, 4), randn({10}, 5)},
         [](const std::vector<Tensor>& a) {
           Tensor h = relu(matmul(a[0], a[1]) + a[2]);
           return std::vector<Tensor>{softmax(matmul(h, a[3]) + a[4])};
         });

  record(dir, "softmax", {randn({256, 1024}, 6)},
         [](const std::vector<Tensor>& a) { return std::vector<Tensor>{softmax(a[0])}; });

  record(dir, "layer_norm", {randn({256, 1024}, 7), rand({1024}, 8), randn({1024}, 9)},
         [](const std::vector<Tensor>& a) { return std::vector<Tensor>{layer_norm(a[0], a[1], a[2])}; });

  // An elementwise chain that fuses into one loop.
  record(dir, "chain", {randn({1024, 1024}, 10), randn({1024, 1024}, 11), randn({1024}, 12)},
         [](const std::vector<Tensor>& a) {
           return std::vector<Tensor>{exp(a[0] * a[1]) + tanh(a[2]) * 0.5f - a[0] / (1 + a[1] * a[1])};
         });

  // One SGD step of a linear softmax classifier, with its backward (GradientTape):
  // returns the loss and the updated weights.
  record(dir, "train_step", {randn({64, 32}, 13), randn({32, 10}, 14) * 0.1f, softmax(randn({64, 10}, 15))},
         [](const std::vector<Tensor>& a) {
           GradientTape tape;
           tape.watch(a[1]);
           Tensor loss = cross_entropy(matmul(a[0], a[1]), a[2]);
           Tensor g = tape.gradient(loss, {a[1]})[0];
           return std::vector<Tensor>{loss, a[1] - g * 0.1f};
         });
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "record_traces: {}\n", e.what());
  return 1;
}

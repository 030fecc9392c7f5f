// digits: an MLP learns the UCI handwritten digits (1797 8x8 images), once with eager steps
// and once with a jitted step (forward, backward and Adam update compiled together), from the
// same initial weights and batches. Then a checkpoint round trip into a fresh model.
// --logdir DIR writes TensorBoard summaries of both runs (DIR/eager, DIR/jitted).
// --export DIR exports the trained model's jitted inference function to DIR/digits_predict.so
// with the test set as .npy files: examples/digits_classify runs it without LLVM or MLIR.
// --distributed (under mpirun -np N) trains data-parallel instead: each rank takes its shard
// of every global batch of 64, gradients are averaged across ranks, and the final loss is
// compared with one process training on the same global batches.
//
//   digits [--data data/digits.csv] [--epochs 20] [--checkpoint build/digits.safetensors]
//          [--dump ejit|linalg|fused|loops|llvm-dialect|llvm] [--logdir runs/digits] [--export build/digits-export]
//   mpirun -np 2 digits --distributed [--data ...] [--epochs 20]
#include <ejit/checkpoint.h>
#include <ejit/data.h>
#include <ejit/distributed.h>
#include <ejit/ejit.h>
#include <ejit/jit.h>
#include <ejit/metrics.h>
#include <ejit/nn.h>
#include <ejit/optimizers.h>
#include <ejit/summary.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

using namespace ejit;
using namespace ejit::metrics;
using namespace ejit::optim;

namespace {

struct Split {
  Tensor x_train, y_train, x_test, y_test;
};

/// Reads the CSV (64 pixel values 0..16, then the label, per row); pixels scaled to [0, 1];
/// a fixed, seeded 80/20 split.
Split load_digits(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("[digits] cannot open {} (run scripts/fetch_digits.sh)", path));
  std::vector<std::vector<float>> rows;
  std::vector<int64_t> labels;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<float> v;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) v.push_back(std::stof(cell));
    if (v.size() != 65) throw Error(fmt::format("[digits] {}: a row has {} values, expected 65", path, v.size()));
    labels.push_back(static_cast<int64_t>(v.back()));
    v.pop_back();
    for (float& p : v) p /= 16.f;
    rows.push_back(std::move(v));
  }
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(2024));
  const size_t n_train = rows.size() * 8 / 10;
  auto pack = [&](size_t begin, size_t end) {
    std::vector<float> x;
    std::vector<int64_t> y;
    for (size_t i = begin; i < end; ++i) {
      x.insert(x.end(), rows[order[i]].begin(), rows[order[i]].end());
      y.push_back(labels[order[i]]);
    }
    const int64_t n = static_cast<int64_t>(end - begin);
    return std::pair{from_vector(x, {n, 64}), from_vector(y, {n})};
  };
  auto [xtr, ytr] = pack(0, n_train);
  auto [xte, yte] = pack(n_train, rows.size());
  return {xtr, ytr, xte, yte};
}

std::shared_ptr<nn::Sequential> make_model(uint64_t seed) {
  auto m = std::make_shared<nn::Sequential>();
  m->add(std::make_shared<nn::Dense>(64, 128, nn::Activation::Relu, true, seed));
  m->add(std::make_shared<nn::Dense>(128, 64, nn::Activation::Relu, true, seed + 1));
  m->add(std::make_shared<nn::Dense>(64, 10, nn::Activation::None, true, seed + 2));
  return m;
}

double accuracy(nn::Module& model, const Tensor& x, const Tensor& y) {
  return mean(cast(eq(argmax(model(x), 1), y), DType::F32)).item<double>();
}

struct Run {
  std::vector<double> loss, train_acc, test_acc, ms_per_step;
};

/// One training: `step(x, y)` runs forward, backward and the update, and updates the metrics.
/// With a SummaryWriter, each epoch's numbers and weights go to TensorBoard too.
template <class Step>
Run train(const char* label, Step& step, nn::Module& model, const Split& d, int epochs, int64_t batch, Mean& loss_metric,
          SparseCategoricalAccuracy& acc_metric, SummaryWriter* summaries, int world = 1, int rank = 0, bool say = true) {
  Run r;
  // With several ranks each reads every world-th element of the same shuffled order in
  // batches of batch/world: batch k of all ranks together is batch k of one process. The
  // whole batches only (take), so that every rank makes as many steps (and collectives).
  Dataset ds = Dataset::from_tensors({d.x_train, d.y_train})
                   .shuffle(Dataset::kFullShuffle, 7)
                   .take(d.x_train.dim(0) / batch * batch)
                   .shard(world, rank)
                   .batch(batch / world, true)
                   .prefetch(2);
  if (say) {
    fmt::print("\n{} training ({} steps per epoch, batch {}{}):\n", label, d.x_train.dim(0) / batch, batch,
               world > 1 ? fmt::format(", {} per rank on {} ranks", batch / world, world) : "");
    fmt::print("  epoch    loss  train acc  test acc  ms/step\n");
  }
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    loss_metric.reset_state();
    acc_metric.reset_state();
    double ms = 0;
    int steps = 0;
    for (const std::vector<Tensor>& b : ds) {
      auto t0 = std::chrono::steady_clock::now();
      step(b[0], b[1]);
      ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ++steps;
    }
    r.loss.push_back(loss_metric.result().item<double>());
    r.train_acc.push_back(acc_metric.result().item<double>());
    r.test_acc.push_back(accuracy(model, d.x_test, d.y_test));
    r.ms_per_step.push_back(ms / steps);
    if (summaries) {
      summaries->scalar("loss", r.loss.back(), epoch);
      summaries->scalar("accuracy/train", r.train_acc.back(), epoch);
      summaries->scalar("accuracy/test", r.test_acc.back(), epoch);
      summaries->scalar("ms_per_step", r.ms_per_step.back(), epoch);
      for (const auto& [path, v] : model.named_variables()) summaries->histogram("weights/" + path, v.value(), epoch);
    }
    if (say && (epoch <= 3 || epoch % 5 == 0 || epoch == epochs))
      fmt::print("  {:5d}  {:6.4f}     {:6.2f}%   {:6.2f}%  {:7.3f}\n", epoch, r.loss.back(), 100 * r.train_acc.back(),
                 100 * r.test_acc.back(), r.ms_per_step.back());
  }
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// One training step: forward, backward and the update (gradients and loss averaged across
/// ranks when `averaged`: host steps between the compiled kernels of a jitted step).
auto step_for(nn::Module& model, Optimizer& opt, Mean& loss_metric, SparseCategoricalAccuracy& acc, bool averaged = false) {
  return [&model, &opt, &loss_metric, &acc, averaged](const Tensor& x, const Tensor& y) {
    std::vector<Variable> vars = model.trainable_variables();
    GradientTape tape;
    Tensor logits = model(x);
    Tensor loss = cross_entropy(logits, y);
    std::vector<Tensor> grads = tape.gradient(loss, vars);
    if (averaged) {
      grads = distributed::average_gradients(grads);
      loss = distributed::all_reduce(loss, distributed::Op::Mean);
    }
    opt.apply_gradients(grads, vars);
    loss_metric.update_state(loss);
    acc.update_state(y, logits);
    return loss;
  };
}

/// --distributed: the jitted step data-parallel on every rank of the MPI world (each rank its
/// shard of each global batch, gradients averaged), then one process's training on the same
/// global batches, and whether the final losses match. Rank 0 prints.
int train_distributed(const Split& d, int epochs, int64_t batch) {
  namespace dist = distributed;
  const int world = dist::world_size(), rank = dist::rank();
  if (batch % world != 0) throw Error(fmt::format("[digits] batch {} does not split over {} ranks", batch, world));
  if (rank == 0)
    fmt::print("UCI digits, data-parallel on {} ranks: {} training and {} test images; MLP 64-128-64-10, Adam, global "
               "batch {}\n", world, d.x_train.dim(0), d.x_test.dim(0), batch);
  auto model = make_model(1);
  dist::broadcast_variables(model->trainable_variables());  // every rank starts from rank 0's weights
  Adam adam(3e-3);
  adam.build(*model);
  Mean loss_metric("loss");
  SparseCategoricalAccuracy acc_metric;
  // Compiled before the first step returns: MPI's waits spin, and would starve a background
  // compile on a machine with as many cores as ranks.
  const JitOptions sync{.compile = CompileMode::Sync};
  auto step = jit(step_for(*model, adam, loss_metric, acc_metric, true), "distributed_step", sync);
  Run parallel = train("data-parallel jitted", step, *model, d, epochs, batch, loss_metric, acc_metric, nullptr, world, rank,
                       rank == 0);

  auto one_model = make_model(1);
  Adam one_adam(3e-3);
  one_adam.build(*one_model);
  Mean one_loss("loss");
  SparseCategoricalAccuracy one_acc;
  auto one_step = jit(step_for(*one_model, one_adam, one_loss, one_acc, false), "one_process_step", sync);
  Run one = train("one process, same global batches,", one_step, *one_model, d, epochs, batch, one_loss, one_acc, nullptr, 1, 0,
                  rank == 0);

  const double diff = std::abs(parallel.loss.back() - one.loss.back());
  const bool match = diff <= 1e-5;
  const CacheStats s = step.stats();
  if (rank == 0) {
    fmt::print("\nms per step (median over epochs): {} ranks {:.3f}, one process {:.3f}; the data-parallel step: {} "
               "compiled calls, {} eager\n", world, median(parallel.ms_per_step), median(one.ms_per_step), s.hits,
               s.misses + s.eager_calls);
    fmt::print("final loss on {} ranks {:.7f}, one process {:.7f}: |difference| {:.2g} (tolerance 1e-5)\n", world,
               parallel.loss.back(), one.loss.back(), diff);
    fmt::print("{}: the losses {}; test accuracy {:.2f}% on {} ranks, {:.2f}% in one process\n", match ? "OK" : "FAILED",
               match ? "match" : "DIFFER", 100 * parallel.test_acc.back(), world, 100 * one.test_acc.back());
  }
  return match ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"data", "data/digits.csv"}, {"epochs", "20"},
                                            {"checkpoint", "build/digits.safetensors"}, {"dump", ""}, {"logdir", ""}, {"export", ""}};
  bool distributed = false;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--distributed") {
      distributed = true;
      --i;  // a flag without a value
      continue;
    }
    if (i + 1 >= argc || k.rfind("--", 0) != 0 || !opt.count(k.substr(2))) {
      fmt::print(stderr, "usage: digits [--data CSV] [--epochs N] [--checkpoint PATH] [--dump STAGE] [--logdir DIR] "
                         "[--export DIR] [--distributed]\n");
      return 2;
    }
    opt[k.substr(2)] = argv[i + 1];
  }
  try {
    const Split d = load_digits(opt["data"]);
    const int epochs = std::stoi(opt["epochs"]);
    const int64_t batch = 64;
    if (distributed) return train_distributed(d, epochs, batch);
    fmt::print("UCI digits: {} training and {} test images of 8x8 pixels; MLP 64-128-64-10, Adam, {} threads\n",
               d.x_train.dim(0), d.x_test.dim(0), num_threads());

    // TensorBoard: one run folder per training, the same tags in both, so their curves overlay.
    std::optional<SummaryWriter> eager_log, jit_log;
    if (!opt["logdir"].empty()) {
      eager_log.emplace(std::filesystem::path(opt["logdir"]) / "eager");
      jit_log.emplace(std::filesystem::path(opt["logdir"]) / "jitted");
      const std::string config = fmt::format(
          "| setting | value |\n| --- | --- |\n| data | {} ({} training, {} test images) |\n| model | MLP 64-128-64-10 |\n"
          "| optimizer | Adam, learning rate 3e-3 |\n| epochs | {} |\n| batch | {} |\n| threads | {} |\n",
          opt["data"], d.x_train.dim(0), d.x_test.dim(0), epochs, batch, num_threads());
      eager_log->text("config", config, 0);
      jit_log->text("config", config, 0);
    }

    // The same model, optimizer and metrics twice: once stepped eagerly, once through jit().
    auto eager_model = make_model(1);
    Adam eager_opt(3e-3);
    eager_opt.build(*eager_model);  // slots named by variable path, so checkpoints match them
    Mean eager_loss("loss");
    SparseCategoricalAccuracy eager_acc;
    auto eager_step = step_for(*eager_model, eager_opt, eager_loss, eager_acc);
    Run eager = train("eager", eager_step, *eager_model, d, epochs, batch, eager_loss, eager_acc,
                      eager_log ? &*eager_log : nullptr);

    auto model = make_model(1);
    Adam adam(3e-3);
    adam.build(*model);
    Mean loss_metric("loss");
    SparseCategoricalAccuracy acc_metric;
    auto step = jit(step_for(*model, adam, loss_metric, acc_metric), "train_step");
    Run compiled = train("jitted", step, *model, d, epochs, batch, loss_metric, acc_metric, jit_log ? &*jit_log : nullptr);
    if (jit_log) {
      // The graph of the model's loss on one batch, recorded as jit() records (its variables are inputs).
      Recorder rec;
      const Tensor xb = d.x_train.slice(0, 0, batch), yb = d.y_train.slice(0, 0, batch);
      rec.add_inputs({xb, yb});
      const Tensor loss = cross_entropy((*model)(xb), yb);
      jit_log->graph(rec.finish({loss}));
      eager_log->flush();
      jit_log->flush();
      fmt::print("TensorBoard summaries in {0}/eager and {0}/jitted (tensorboard --logdir {0})\n", opt["logdir"]);
    }

    CacheStats s = step.stats();
    const double eager_ms = median(eager.ms_per_step), jit_ms = median(compiled.ms_per_step);
    fmt::print("\nms per step (median over epochs): eager {:.3f}, jitted {:.3f}: {:.2f}x faster\n", eager_ms, jit_ms,
               eager_ms / jit_ms);
    fmt::print("jit cache: {} hits, {} misses, {} eager calls, {:.0f} ms compiling{}\n", s.hits, s.misses, s.eager_calls,
               s.compile_ms, s.disk_hits ? fmt::format(" ({} from the disk cache)", s.disk_hits) : "");
    if (s.eager_while_compiling > 0)
      fmt::print("{} of the jitted run's {} steps ran eagerly while the step compiled in the background "
                 "(EJIT_COMPILE=sync compiles it before the first step)\n",
                 s.eager_while_compiling, s.hits + s.misses + s.eager_calls);
    fmt::print("final loss eager {:.6f} vs jitted {:.6f}; test accuracy eager {:.2f}% vs jitted {:.2f}%\n",
               eager.loss.back(), compiled.loss.back(), 100 * eager.test_acc.back(), 100 * compiled.test_acc.back());

    // Checkpoint: model and optimizer saved, then restored into a freshly initialized model.
    Checkpoint ckpt{{"model", *model}, {"optimizer", adam}};
    ckpt.save(opt["checkpoint"]);
    auto fresh = make_model(99);
    const double before = accuracy(*fresh, d.x_test, d.y_test);
    RestoreReport report = Checkpoint({{"model", *fresh}}).restore(opt["checkpoint"]);
    const double after = accuracy(*fresh, d.x_test, d.y_test);
    fmt::print("checkpoint {} (model and optimizer, {} variables): a fresh model scores {:.2f}%; restoring only\n"
               "its model part gives {:.2f}% (trained model {:.2f}%); {} variables restored, {} optimizer entries left\n",
               opt["checkpoint"], ckpt.named_variables().size(), 100 * before, 100 * after,
               100 * compiled.test_acc.back(), report.restored.size(), report.unmatched_file_entries.size());

    if (!opt["export"].empty()) {
      // Deployment: the trained model's inference, jitted for the whole test set and for one
      // image, exported with its weights baked in (examples/digits_classify loads it).
      const std::filesystem::path dir = opt["export"];
      std::filesystem::create_directories(dir);
      auto predict = jit([&model](const Tensor& x) { return argmax((*model)(x), 1); }, "digits_predict",
                         {.compile = CompileMode::Sync});
      const Tensor predicted = predict(d.x_test);
      predict(d.x_test.slice(0, 0, 1));
      predict.export_library((dir / "digits_predict.so").string());
      save_npy((dir / "x_test.npy").string(), d.x_test);
      save_npy((dir / "y_test.npy").string(), d.y_test);
      const double acc = mean(cast(eq(predicted, d.y_test), DType::F32)).item<double>();
      fmt::print("exported {} ({} bytes; 2 signatures) and the test set; jitted inference scores {:.2f}%\n",
                 (dir / "digits_predict.so").string(), std::filesystem::file_size(dir / "digits_predict.so"), 100 * acc);
    }

    if (!opt["dump"].empty()) {
      for (int i = 0; i < kNumStages; ++i)
        if (opt["dump"] == stage_name(static_cast<Stage>(i)))
          fmt::print("\n// the compiled train step at stage {}\n{}\n", opt["dump"], step.ir(static_cast<Stage>(i)));
    }
    const bool ok = compiled.test_acc.back() >= 0.95 && after == compiled.test_acc.back();
    fmt::print("{}: test accuracy {:.2f}% (target >= 95%), restored model {}\n", ok ? "OK" : "FAILED",
               100 * compiled.test_acc.back(), after == compiled.test_acc.back() ? "identical" : "DIFFERENT");
    return ok ? 0 : 1;
  } catch (const Error& e) {
    fmt::print(stderr, "digits: {}\n", e.what());
    return 2;
  }
}

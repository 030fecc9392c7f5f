// write_events LOGDIR: writes the known summaries that read_events.py --expect roundtrip checks
// (keep the two in step): scalars, histograms, text and a trace's graph, in one events file.
#include <ejit/ejit.h>
#include <ejit/summary.h>
#include <fmt/format.h>

using namespace ejit;

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: write_events LOGDIR\n");
    return 2;
  }
  try {
    SummaryWriter w(argv[1], SummaryOptions{.max_queue = 4});
    for (int step = 0; step < 5; ++step) w.scalar("loss", 1.0 / (step + 1), step);
    w.scalar("train/accuracy", Tensor(scalar<int64_t>(7)), 5);
    w.scalar("train/flag", ones({1, 1}, DType::Bool), 6);
    w.histogram("weights", arange(0, 100, 1, DType::F32), 1, 10);
    w.histogram("constant", full({3}, 2.5, DType::F64), 2);
    w.text("config", "lr = 3e-3, **bold**, caf\xc3\xa9", 0);

    Tensor x = tensor({1.f, 2.f, 3.f}), y = tensor({4.f, 5.f, 6.f});
    Recorder rec;
    rec.add_inputs({x, y});
    Tensor out = sum(exp(x * y));
    w.graph(rec.finish({out}));
    fmt::print("{}\n", w.path().string());
  } catch (const Error& e) {
    fmt::print(stderr, "write_events: {}\n", e.what());
    return 1;
  }
  return 0;
}

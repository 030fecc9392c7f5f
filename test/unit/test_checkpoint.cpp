// Checkpoints: safetensors layout byte for byte, round trips, matching by path, reports, strict
// mode, mismatches and corrupt files that restore nothing, and saves that never lose a file.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "ejit/checkpoint.h"
#include "ejit/nn.h"
#include "ejit/optimizers.h"
#include "test_util.h"

using namespace ejit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// A Trackable holding a fixed list of variables (an "optimizer", or a layer).
struct Bag : Trackable {
  std::vector<std::pair<std::string, Variable>> vars;
  std::vector<std::pair<std::string, Variable>> named_variables() const override { return vars; }
};

/// A two-layer model: encoder/{kernel,bias}, head/{kernel,bias}.
struct Model : Trackable {
  Bag encoder, head;
  explicit Model(uint64_t seed, int64_t hidden = 4) {
    encoder.vars = {{"kernel", Variable(randn({3, hidden}, seed))}, {"bias", Variable(randn({hidden}, seed + 1))}};
    head.vars = {{"kernel", Variable(randn({hidden, 2}, seed + 2))}, {"bias", Variable(randn({2}, seed + 3))}};
  }
  std::vector<std::pair<std::string, Variable>> named_variables() const override {
    std::vector<std::pair<std::string, Variable>> out;
    for (auto& [p, v] : encoder.vars) out.emplace_back("encoder/" + p, v);
    for (auto& [p, v] : head.vars) out.emplace_back("head/" + p, v);
    return out;
  }
};

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/ejit_test_" + std::to_string(::getpid()) + "_" + name;
}

using test::read_bytes;
using test::write_bytes;

bool exists(const std::string& path) { return std::ifstream(path).good(); }

/// The values of every variable of t, as doubles, by key (to check nothing changed).
std::vector<std::vector<double>> snapshot(const Trackable& t) {
  std::vector<std::vector<double>> out;
  for (auto& [p, v] : t.named_variables()) out.push_back(v.value().to_vector<double>());
  return out;
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.to_vector<double>() == b.to_vector<double>();
}

}  // namespace

TEST_CASE("checkpoint: safetensors bytes follow the spec byte for byte", "[checkpoint]") {
  // 8-byte little-endian header length, a JSON header padded with spaces so the data starts
  // 8-byte aligned, then the buffers back to back in the order given.
  std::vector<std::pair<std::string, Tensor>> tensors{{"b", tensor<float>({1.0f, 2.0f})},
                                                      {"a", from_vector<int64_t>({7}, {1, 1})}};
  const std::string header = R"({"__metadata__":{"k":"v"},"a":{"data_offsets":[8,16],"dtype":"I64","shape":[1,1]},)"
                             R"("b":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}} )";
  REQUIRE(header.size() == 136);
  const std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8) +
                               std::string("\x07\0\0\0\0\0\0\0", 8);
  const std::string bytes = safetensors_bytes(tensors, {{"k", "v"}});
  REQUIRE(bytes == expected);

  SafeTensors back = parse_safetensors(bytes);
  REQUIRE(back.metadata == std::map<std::string, std::string>{{"k", "v"}});
  REQUIRE(back.tensors.size() == 2);
  REQUIRE(back.tensors[0].first == "b");  // file order is offset order
  REQUIRE(same_values(back.tensors[0].second, tensors[0].second));
  REQUIRE(same_values(back.tensors[1].second, tensors[1].second));
}

TEST_CASE("checkpoint: a file as Python's safetensors writes it loads", "[checkpoint]") {
  // No metadata of ours, keys in another order than the data, extra padding, a zero-size tensor.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"net/e":{"dtype":"F32","shape":[0,3],"data_offsets":[16,16]},)"
      R"("net/w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})";
  header.append((8 - header.size() % 8) % 8 + 8, ' ');
  std::string n(8, '\0');
  n[0] = static_cast<char>(header.size());
  double w[2] = {0.5, -3.25};
  const std::string path = temp_path("python.safetensors");
  write_bytes(path, n + header + std::string(reinterpret_cast<const char*>(w), 16));

  SafeTensors st = load_safetensors(path);
  REQUIRE(st.metadata.at("format") == "pt");
  REQUIRE(st.tensors.size() == 2);
  REQUIRE(st.tensors[0].first == "net/w");  // in data order
  REQUIRE(st.tensors[1].second.shape() == Shape{0, 3});

  Bag net;
  net.vars = {{"w", Variable(zeros({2}, DType::F64))}, {"e", Variable(zeros({0, 3}))}};
  REQUIRE(Checkpoint{{"net", net}}.restore(path, true).complete());
  REQUIRE(net.vars[0].second.value().to_vector<double>() == std::vector<double>{0.5, -3.25});
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: round trip of every dtype, rank 0 and zero-size", "[checkpoint]") {
  Bag a, b;
  a.vars = {{"f32", Variable(randn({2, 3}, 1))},
            {"f64", Variable(randn({4}, 2, DType::F64))},
            {"i32", Variable(from_vector<int32_t>({1, -2, 3, 2147483647}, {2, 2}))},
            {"i64", Variable(scalar<int64_t>(int64_t{1} << 40))},
            {"bool", Variable(tensor<bool>({true, false, true}))},
            {"empty", Variable(zeros({0, 3}))}};
  for (auto& [p, v] : a.vars) b.vars.emplace_back(p, Variable(zeros_like(v.value())));
  const std::string path = temp_path("dtypes.safetensors");
  Checkpoint{{"obj", a}}.save(path);
  RestoreReport r = Checkpoint{{"obj", b}}.restore(path, /*strict=*/true);
  REQUIRE(r.complete());
  REQUIRE(r.restored.size() == 6);
  for (size_t i = 0; i < a.vars.size(); ++i) {
    INFO(a.vars[i].first);
    REQUIRE(same_values(a.vars[i].second.value(), b.vars[i].second.value()));
  }
  SafeTensors st = load_safetensors(path);
  REQUIRE(st.metadata.at("format") == "ejit.checkpoint");
  REQUIRE(st.metadata.at("format_version") == "1");
  REQUIRE(st.metadata.at("objects") == R"(["obj"])");
  REQUIRE(st.metadata.count("ejit_version") == 1);
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: values are matched by path, not by order", "[checkpoint]") {
  Model m(1);
  const std::string path = temp_path("order.safetensors");
  Checkpoint{{"model", m}}.save(path);
  // The same variables listed in reverse order.
  Model m2(100);
  Bag reversed;
  auto vars = m2.named_variables();
  reversed.vars.assign(vars.rbegin(), vars.rend());
  REQUIRE(Checkpoint{{"model", reversed}}.restore(path, true).complete());
  auto want = m.named_variables();
  for (size_t i = 0; i < want.size(); ++i) REQUIRE(same_values(want[i].second.value(), vars[i].second.value()));
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: subsets restore what matches and report the rest", "[checkpoint]") {
  Model m(1);
  Bag opt;
  opt.vars = {{"step", Variable(scalar<int64_t>(5), "step", false)}, {"encoder/kernel/m", Variable(ones({3, 4}))}};
  const std::string path = temp_path("subset.safetensors");
  Checkpoint{{"model", m}, {"optimizer", opt}}.save(path);

  SECTION("a model without its optimizer") {
    Model m2(50);
    RestoreReport r = Checkpoint{{"model", m2}}.restore(path);
    REQUIRE(r.restored.size() == 4);
    REQUIRE(r.unmatched_variables.empty());
    REQUIRE(r.unmatched_file_entries ==  // in file order
            std::vector<std::string>{"optimizer/step", "optimizer/encoder/kernel/m"});
    REQUIRE(snapshot(m2) == snapshot(m));
    REQUIRE_THAT(r.str(), Contains("2 file entries matched no variable") && Contains("optimizer/step"));
  }
  SECTION("only the encoder, by a path as the object name") {
    Bag enc;
    enc.vars = {{"kernel", Variable(zeros({3, 4}))}, {"bias", Variable(zeros({4}))}};
    RestoreReport r = Checkpoint{{"model/encoder", enc}}.restore(path);
    REQUIRE(r.restored == std::vector<std::string>{"model/encoder/kernel", "model/encoder/bias"});
    REQUIRE(r.unmatched_file_entries.size() == 4);
    REQUIRE(same_values(enc.vars[0].second.value(), m.encoder.vars[0].second.value()));
    REQUIRE(same_values(enc.vars[1].second.value(), m.encoder.vars[1].second.value()));
  }
  SECTION("the encoder of a saved model into another model's encoder") {
    Model other(7);
    auto head_before = other.head.vars[0].second.value();
    Checkpoint{{"model/encoder", other.encoder}}.restore(path);
    REQUIRE(same_values(other.encoder.vars[0].second.value(), m.encoder.vars[0].second.value()));
    REQUIRE(same_values(other.head.vars[0].second.value(), head_before));  // untouched
  }
  SECTION("variables the file does not have keep their values and are reported") {
    Model m2(50);
    Bag extra;
    extra.vars = {{"new", Variable(full({2}, 3.0f))}};
    RestoreReport r = Checkpoint{{"model", m2}, {"extra", extra}}.restore(path);
    REQUIRE(r.unmatched_variables == std::vector<std::string>{"extra/new"});
    REQUIRE(extra.vars[0].second.value().to_vector<float>() == std::vector<float>{3, 3});
    REQUIRE_FALSE(r.complete());
  }
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: strict mode names what did not match and restores nothing", "[checkpoint]") {
  Model m(1);
  Bag opt;
  opt.vars = {{"step", Variable(scalar<int64_t>(5))}};
  const std::string path = temp_path("strict.safetensors");
  Checkpoint{{"model", m}, {"optimizer", opt}}.save(path);

  Model m2(50);
  Bag extra;
  extra.vars = {{"new", Variable(zeros({2}))}};
  auto before = snapshot(m2);
  REQUIRE_THROWS_WITH(Checkpoint({{"model", m2}, {"extra", extra}}).restore(path, true),
                      StartsWith("[checkpoint] strict restore") && Contains("optimizer/step") &&
                          Contains("extra/new") && Contains("nothing restored"));
  REQUIRE(snapshot(m2) == before);
  // The full set passes strict mode.
  Bag opt2;
  opt2.vars = {{"step", Variable(scalar<int64_t>(0))}};
  REQUIRE(Checkpoint{{"model", m2}, {"optimizer", opt2}}.restore(path, true).complete());
  REQUIRE(opt2.vars[0].second.value().item<int64_t>() == 5);
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: a wrong shape or dtype restores nothing", "[checkpoint]") {
  Model m(1);
  const std::string path = temp_path("mismatch.safetensors");
  Checkpoint{{"model", m}}.save(path);

  SECTION("shape") {
    Model wide(50, /*hidden=*/5);  // encoder and head shapes differ; head/bias (2,) still fits
    auto before = snapshot(wide);
    REQUIRE_THROWS_WITH(Checkpoint({{"model", wide}}).restore(path),
                        StartsWith("[checkpoint]") && Contains("model/encoder/kernel") && Contains("(3,4)") &&
                            Contains("(3,5)") && Contains("nothing restored"));
    REQUIRE(snapshot(wide) == before);  // head/bias, which matched, was not assigned either
  }
  SECTION("dtype") {
    Model m2(50);
    Bag wrong;
    wrong.vars = m2.named_variables();
    wrong.vars[3].second = Variable(zeros({2}, DType::F64));  // head/bias as f64
    auto before = snapshot(wrong);
    REQUIRE_THROWS_WITH(Checkpoint({{"model", wrong}}).restore(path),
                        Contains("'model/head/bias' is f32(2,) in the file, f64(2,) in the object"));
    REQUIRE(snapshot(wrong) == before);
  }
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: truncated and corrupt files are errors that restore nothing", "[checkpoint]") {
  Model m(1);
  const std::string path = temp_path("corrupt.safetensors");
  Checkpoint{{"model", m}}.save(path);
  const std::string good = read_bytes(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(good[i])) << (8 * i);

  Model m2(50);
  auto before = snapshot(m2);
  const auto check = [&](const std::string& bytes, const std::string& what) {
    write_bytes(path, bytes);
    INFO(what);
    REQUIRE_THROWS_WITH(Checkpoint({{"model", m2}}).restore(path),
                        StartsWith("[checkpoint] '" + path + "'") && Contains(what));
    REQUIRE(snapshot(m2) == before);
  };
  check("", "truncated");
  check(good.substr(0, 5), "truncated");
  check(good.substr(0, 8 + n / 2), "truncated");
  check(good.substr(0, good.size() - 1), "truncated");
  check(good + "xx", "follow the last entry");
  std::string bad_json = good;
  bad_json[8] = 'x';
  check(bad_json, "not a JSON object");
  std::string huge = good;
  huge[7] = '\x01';
  check(huge, "implausible");
  std::string bad_dtype = good;
  bad_dtype.replace(bad_dtype.find("\"F32\""), 5, "\"F16\"");
  check(bad_dtype, "\"F16\" is not supported");
  std::string gap = good;  // shift the first entry's begin: offsets no longer contiguous
  size_t at = gap.find("[0,");
  REQUIRE(at != std::string::npos);
  gap[at + 1] = '4';
  check(gap, "corrupt");
  // Dims whose product overflows 64 bits must not pass for a small tensor.
  std::string overflow = R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}})";
  REQUIRE_THROWS_WITH(
      parse_safetensors(std::string(1, static_cast<char>(overflow.size())) + std::string(7, '\0') + overflow),
      Contains("plausible tensor"));
  REQUIRE_THROWS_WITH(Checkpoint({{"model", m2}}).restore(temp_path("missing.safetensors")),
                      StartsWith("[checkpoint] cannot open"));
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: a failed save leaves the previous file whole", "[checkpoint]") {
  Model m(1);
  const std::string path = temp_path("atomic.safetensors");
  Checkpoint ckpt{{"model", m}};
  ckpt.save(path);
  const std::string saved = read_bytes(path);
  m.encoder.vars[0].second.assign(zeros({3, 4}));  // new values that must not half-replace the old
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());

  SECTION("an error in the middle of writing") {
    detail::set_checkpoint_save_fault(20);
    REQUIRE_THROWS_WITH(ckpt.save(path), StartsWith("[checkpoint] simulated failure"));
    REQUIRE(read_bytes(path) == saved);
    REQUIRE_FALSE(exists(tmp));  // the temporary file is removed
  }
  SECTION("a crash in the middle of writing (a child process dies)") {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      detail::set_checkpoint_save_fault(40, /*crash=*/true);
      try {
        ckpt.save(path);
      } catch (...) {
      }
      ::_exit(1);  // not reached when the fault fires
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 77);
    REQUIRE(read_bytes(path) == saved);
    const std::string child_tmp = path + ".tmp-" + std::to_string(child);
    REQUIRE(read_bytes(child_tmp).size() == 40);  // what the crash left behind, beside the file
    std::remove(child_tmp.c_str());
  }
  SECTION("a folder that does not exist") {
    REQUIRE_THROWS_WITH(ckpt.save(temp_path("no_such_dir/x.safetensors")), StartsWith("[checkpoint] cannot create"));
  }
  SECTION("a path that is a folder: the rename fails, the temporary file goes") {
    const std::string dir = temp_path("a_dir");
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    write_bytes(dir + "/keep", "x");  // a non-empty folder cannot be replaced
    REQUIRE_THROWS_WITH(ckpt.save(dir), StartsWith("[checkpoint] cannot rename"));
    REQUIRE_FALSE(exists(dir + ".tmp-" + std::to_string(::getpid())));
    std::remove((dir + "/keep").c_str());
    ::rmdir(dir.c_str());
  }
  // The previous checkpoint still restores.
  Model m2(50);
  REQUIRE(Checkpoint{{"model", m2}}.restore(path, true).complete());
  REQUIRE(same_values(m2.encoder.vars[1].second.value(), m.encoder.vars[1].second.value()));
  REQUIRE(m2.encoder.vars[0].second.value().to_vector<float>() != std::vector<float>(12, 0.0f));
  // And a successful save replaces it.
  ckpt.save(path);
  REQUIRE(read_bytes(path) != saved);
  std::remove(path.c_str());
}

TEST_CASE("checkpoint: names and keys are checked", "[checkpoint]") {
  Model m(1);
  REQUIRE_THROWS_WITH(Checkpoint({{"model", m}, {"model", m}}), Contains("two objects are named 'model'"));
  REQUIRE_THROWS_WITH(Checkpoint({{"", m}}), StartsWith("[checkpoint] object name"));
  REQUIRE_THROWS_WITH(Checkpoint({{"a//b", m}}), StartsWith("[checkpoint] object name"));
  Bag dup;
  dup.vars = {{"w", Variable(zeros({1}))}, {"w", Variable(zeros({1}))}};
  REQUIRE_THROWS_WITH(Checkpoint({{"x", dup}}).save(temp_path("dup.safetensors")), Contains("'x/w'"));
  REQUIRE_FALSE(exists(temp_path("dup.safetensors")));
  // Names may nest, so two checkpointed objects can still collide on a key.
  Bag inner;
  inner.vars = {{"kernel", Variable(zeros({1}))}};
  Bag outer;
  outer.vars = {{"enc/kernel", Variable(zeros({1}))}};
  REQUIRE_THROWS_WITH(Checkpoint({{"m", outer}, {"m/enc", inner}}).named_variables(), Contains("'m/enc/kernel'"));
}

TEST_CASE("checkpoint: an nn model and its Adam resume training exactly", "[checkpoint]") {
  auto make_model = [](uint64_t seed) {
    auto m = std::make_shared<nn::Sequential>();
    m->add(std::make_shared<nn::Dense>(4, 8, nn::Activation::Relu, true, seed));
    m->add(std::make_shared<nn::Dense>(8, 3, nn::Activation::None, true, seed + 1));
    return m;
  };
  Tensor x = randn({16, 4}, 3);
  Tensor labels = arange(16) % int64_t{3};
  auto step = [&](nn::Sequential& model, optim::Adam& opt) {
    auto vars = model.trainable_variables();
    GradientTape tape;
    Tensor loss = cross_entropy(model(x), labels);
    opt.apply_gradients(tape.gradient(loss, vars), vars);
    return loss.item<float>();
  };

  auto model = make_model(1);
  optim::Adam opt(0.01);
  opt.build(*model);  // slots keyed by the model's paths
  for (int i = 0; i < 3; ++i) step(*model, opt);
  const std::string path = temp_path("adam.safetensors");
  Checkpoint{{"model", *model}, {"optimizer", opt}}.save(path);

  auto fresh = make_model(100);
  optim::Adam fresh_opt(0.01);
  fresh_opt.build(*fresh);
  RestoreReport r = Checkpoint{{"model", *fresh}, {"optimizer", fresh_opt}}.restore(path, /*strict=*/true);
  REQUIRE(r.complete());
  REQUIRE(fresh_opt.iterations().value().item<int64_t>() == 3);
  // The next step is the same on both.
  REQUIRE(step(*fresh, fresh_opt) == step(*model, opt));
  REQUIRE(snapshot(*fresh) == snapshot(*model));
  REQUIRE(snapshot(fresh_opt) == snapshot(opt));

  // A model alone (for inference) restores from the same file.
  auto inference = make_model(200);
  RestoreReport only_model = Checkpoint{{"model", *inference}}.restore(path);
  REQUIRE(only_model.unmatched_variables.empty());
  REQUIRE_FALSE(only_model.unmatched_file_entries.empty());  // the optimizer's entries
  std::remove(path.c_str());
}

// nn::Module tracking and path names, and each layer's forward against a hand computation.
#include <ejit/nn.h>

#include <cmath>
#include <set>

#include "test_util.h"

using namespace ejit;
using ejit::test::error_of;
using ejit::test::check_values;

namespace {

struct Encoder : nn::Module {
  Encoder() : Module("encoder") {
    first = register_module(std::make_shared<nn::Dense>(4, 8, nn::Activation::Relu, true, 1));
    second = register_module(std::make_shared<nn::Dense>(8, 2, nn::Activation::None, true, 2));
    norm = register_module(std::make_shared<nn::LayerNorm>(2));
    scale = add_variable("scale", ones({2}), /*trainable=*/false);
  }
  Tensor forward(const Tensor& x) override { return norm->forward(second->forward(first->forward(x))) * scale; }
  std::shared_ptr<nn::Dense> first, second;
  std::shared_ptr<nn::LayerNorm> norm;
  Variable scale;
};

struct Model : nn::Module {
  Model() {
    encoder = register_module(std::make_shared<Encoder>());
    head = register_module(std::make_shared<nn::Dense>(2, 3, nn::Activation::None, true, 3), "head");
  }
  Tensor forward(const Tensor& x) override { return head->forward(encoder->forward(x)); }
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<nn::Dense> head;
};

std::vector<std::string> paths(const nn::Module& m) {
  std::vector<std::string> out;
  for (auto& [p, v] : m.named_variables()) out.push_back(p);
  return out;
}

}  // namespace

TEST_CASE("modules track nested sub-modules and variables under path names", "[nn]") {
  Model m;
  CHECK(paths(m) == std::vector<std::string>{"encoder/dense/kernel", "encoder/dense/bias", "encoder/dense_1/kernel",
                                             "encoder/dense_1/bias", "encoder/layer_norm/gamma",
                                             "encoder/layer_norm/beta", "encoder/scale", "head/kernel", "head/bias"});
  CHECK(m.variables().size() == 9);
  auto trainable = m.trainable_variables();
  REQUIRE(trainable.size() == 8);
  for (const Variable& v : trainable) CHECK_FALSE(v.same(m.encoder->scale));
  CHECK(trainable[0].same(m.encoder->first->kernel()));
  CHECK(m.encoder->first->kernel().name() == "kernel");
  auto kids = m.children();
  REQUIRE(kids.size() == 2);
  CHECK(kids[0].first == "encoder");
  CHECK(kids[1].first == "head");
  CHECK(m.type_name() == "module");

  // The forward runs through every layer.
  Tensor y = m(ones({5, 4}));
  CHECK(y.shape() == Shape{5, 3});
}

TEST_CASE("shared modules and tied variables are listed once, names are checked", "[nn]") {
  auto shared = std::make_shared<nn::Dense>(3, 3, nn::Activation::None, true, 7);
  nn::Module parent("parent");
  parent.register_module(shared, "a");
  parent.register_module(shared, "b");
  CHECK(paths(parent) == std::vector<std::string>{"a/kernel", "a/bias"});
  Variable tied = parent.add_variable("tied", shared->kernel());
  CHECK(tied.same(shared->kernel()));
  CHECK(parent.variables().size() == 2);
  // Copying a Variable handle shares the variable: the module sees the assignment.
  Variable copy = shared->bias();
  copy.assign(full({3}, 2.0f));
  check_values(parent.named_variables()[1].second, {2, 2, 2});

  CHECK_THAT(error_of([&] { parent.add_variable("a", zeros({1})); }), Catch::StartsWith("[module]") &&
                                                                          Catch::Contains("already has an entry named 'a'"));
  CHECK_THAT(error_of([&] { parent.add_variable("x/y", zeros({1})); }), Catch::Contains("invalid name 'x/y'"));
  CHECK_THAT(error_of([&] { parent.register_module(std::shared_ptr<nn::Module>()); }), Catch::Contains("null module"));
  CHECK_THAT(error_of([&] { nn::Module().forward(zeros({1})); }), Catch::Contains("does not define forward()"));
}

TEST_CASE("train() and eval() reach every sub-module", "[nn]") {
  Model m;
  CHECK(m.training());
  m.eval();
  CHECK_FALSE(m.training());
  CHECK_FALSE(m.encoder->first->training());
  m.train();
  CHECK(m.encoder->norm->training());
}

TEST_CASE("Dense computes activation(x @ kernel + bias)", "[nn]") {
  nn::Dense d(3, 2, nn::Activation::Relu, true, 5);
  Variable k = d.kernel(), b = d.bias();
  k.assign(tensor({1.f, -1.f, 2.f, 0.5f, -3.f, 1.f}, {3, 2}));
  b.assign(tensor({0.5f, -1.f}));
  Tensor x = tensor({1.f, 2.f, 3.f, -1.f, 0.f, 1.f}, {2, 3});
  // row 0: [1+4-9+0.5, -1+1+3-1] = [-3.5, 2]; row 1: [-1-3+0.5, 1+1-1] = [-3.5, 1]
  check_values(d(x), {0, 2, 0, 1});

  // Leading batch dims, no bias, a custom activation.
  nn::Dense lin(3, 2, [](const Tensor& t) { return t * 2.0f; }, /*use_bias=*/false, 5);
  CHECK_FALSE(lin.bias().defined());
  CHECK(lin.trainable_variables().size() == 1);
  lin.kernel().assign(k.value());
  Tensor y = lin(reshape(x, {2, 1, 3}));
  CHECK(y.shape() == Shape{2, 1, 2});
  check_values(y, {-8, 6, -8, 4});

  CHECK_THAT(error_of([&] { d(ones({2, 5})); }),
             Catch::StartsWith("[dense] input of shape (2,5) does not fit the kernel of shape (3,2)"));
  CHECK_THAT(error_of([&] { nn::Dense(0, 2); }), Catch::StartsWith("[dense]"));
}

TEST_CASE("initializers are seeded: Glorot uniform bounds, He normal scale", "[nn]") {
  nn::Dense a(64, 32, nn::Activation::None, true, 42), b(64, 32, nn::Activation::None, true, 42);
  CHECK(a.kernel().value().to_vector<float>() == b.kernel().value().to_vector<float>());
  check_values(a.bias(), std::vector<double>(32, 0.0));
  double bound = std::sqrt(6.0 / 96.0);
  CHECK(max(abs(a.kernel().value())).item<double>() <= bound);
  CHECK(max(abs(a.kernel().value())).item<double>() > 0.9 * bound);

  // Layers without a seed draw distinct seeds from the sequence; manual_seed repeats it.
  nn::manual_seed(100);
  nn::Dense c(8, 8), d(8, 8);
  CHECK(c.kernel().value().to_vector<float>() != d.kernel().value().to_vector<float>());
  nn::manual_seed(100);
  nn::Dense c2(8, 8);
  CHECK(c.kernel().value().to_vector<float>() == c2.kernel().value().to_vector<float>());

  Tensor h = nn::he_normal({200, 400}, 200, 9);
  CHECK(std::fabs(stddev(h).item<double>() - std::sqrt(2.0 / 200)) < 0.002);
  CHECK(std::fabs(mean(h).item<double>()) < 0.002);
  nn::Dense he(200, 400, nn::Activation::Relu, true, 9, nn::Init::HeNormal);
  CHECK(he.kernel().value().to_vector<float>() == h.to_vector<float>());
}

TEST_CASE("Sequential chains its layers and names them by type", "[nn]") {
  nn::Sequential seq({std::make_shared<nn::Dense>(2, 2, nn::Activation::None, true, 1), std::make_shared<nn::Dropout>(0.5, 3),
                      std::make_shared<nn::Dense>(2, 1, nn::Activation::Tanh, true, 2)});
  seq.add(std::make_shared<nn::LayerNorm>(1, 1e-5, /*affine=*/false), "norm");
  CHECK(seq.size() == 4);
  CHECK(paths(seq) == std::vector<std::string>{"dense/kernel", "dense/bias", "dropout/step", "dense_1/kernel",
                                               "dense_1/bias"});
  CHECK(seq.trainable_variables().size() == 4);
  seq.eval();
  Tensor x = tensor({0.5f, -1.f}, {1, 2});
  auto d0 = std::static_pointer_cast<nn::Dense>(seq[0]);
  auto d1 = std::static_pointer_cast<nn::Dense>(seq[2]);
  Tensor want_pre = tanh(matmul(matmul(x, d0->kernel()) + d0->bias(), d1->kernel()) + d1->bias());
  Tensor without_norm = seq[2]->forward(seq[1]->forward(seq[0]->forward(x)));
  check_values(without_norm, want_pre.to_vector<double>());
  check_values(seq(x), {0});  // layer norm over one element gives 0
}

TEST_CASE("LayerNorm normalizes the trailing dims, then scales and shifts", "[nn]") {
  nn::LayerNorm ln(3);
  CHECK(paths(ln) == std::vector<std::string>{"gamma", "beta"});
  ln.gamma().assign(tensor({1.f, 2.f, 1.f}));
  ln.beta().assign(tensor({0.f, 0.f, 1.f}));
  Tensor x = tensor({1.f, 2.f, 3.f, 2.f, 4.f, 6.f}, {2, 3});
  // Row 0: mean 2, var 2/3; row 1: mean 4, var 8/3.
  double s0 = 1 / std::sqrt(2.0 / 3 + 1e-5), s1 = 1 / std::sqrt(8.0 / 3 + 1e-5);
  check_values(ln(x), {-s0, 0, 1 + s0, -2 * s1, 0, 1 + 2 * s1}, 1e-5, 1e-5);

  nn::LayerNorm ln2(Shape{2, 3}, 1e-5, false);
  CHECK(ln2.variables().empty());
  CHECK(ln2(x).shape() == Shape{2, 3});
  CHECK(std::fabs(mean(ln2(x)).item<double>()) < 1e-6);
  CHECK_THAT(error_of([&] { ln(ones({2, 4})); }),
             Catch::StartsWith("[layer_norm] input of shape (2,4) does not end with the normalized shape (3,)"));
}

TEST_CASE("Dropout: seeded masks, new each call, scaled, off at inference", "[nn]") {
  Tensor x = ones({100, 100});
  nn::Dropout a(0.25, 11), b(0.25, 11);
  Tensor a1 = a(x), a2 = a(x), b1 = b(x), b2 = b(x);
  CHECK(a1.to_vector<float>() == b1.to_vector<float>());  // same seed, same sequence
  CHECK(a2.to_vector<float>() == b2.to_vector<float>());
  CHECK(a1.to_vector<float>() != a2.to_vector<float>());  // a new mask each call
  for (const Tensor& y : {a1, a2}) {
    std::set<float> values;
    for (float v : y.to_vector<float>()) values.insert(v);
    CHECK(values == std::set<float>{0.f, 1.f / 0.75f});
    double kept = mean(y != 0.f).item<double>();
    CHECK(std::fabs(kept - 0.75) < 0.02);
  }
  // Two masks of different calls overlap as independent ones would (0.75^2 kept in both).
  CHECK(std::fabs(mean((a1 != 0.f) && (a2 != 0.f)).item<double>() - 0.5625) < 0.02);
  CHECK(a.named_variables()[0].first == "step");
  CHECK(a.named_variables()[0].second.value().item<double>() == 2);
  CHECK(a.trainable_variables().empty());

  // The gradient is the mask times the scale.
  Tensor w = full({4, 4}, 3.0f);
  nn::Dropout c(0.5, 1), c_again(0.5, 1);
  GradientTape tape;
  tape.watch(w);
  Tensor y = c(w);
  Tensor g = tape.gradient(sum(y), {w})[0];
  check_values(g, (c_again(w) / 3.0f).to_vector<double>());

  a.eval();
  CHECK(a(x).to_vector<float>() == x.to_vector<float>());
  nn::Dropout none(0.0);
  CHECK(none(x).to_vector<float>() == x.to_vector<float>());
  CHECK_THAT(error_of([] { nn::Dropout(1.0); }), Catch::StartsWith("[dropout] rate must be in [0, 1), got 1"));
  CHECK_THAT(error_of([&] { b(ones({2}, DType::I32)); }), Catch::StartsWith("[dropout] input must be f32 or f64"));
}

TEST_CASE("Embedding takes rows of its table, gradients add up for repeated indices", "[nn]") {
  nn::Embedding emb(5, 3, 4);
  CHECK(paths(emb) == std::vector<std::string>{"embeddings"});
  Tensor table = emb.embeddings();
  CHECK(max(abs(table)).item<double>() <= 0.05);
  emb.embeddings().assign(reshape(arange(0, 15, 1, DType::F32), {5, 3}));
  Tensor idx = tensor({4, 0, 4}, {1, 3});
  Tensor y = emb(idx);
  CHECK(y.shape() == Shape{1, 3, 3});
  check_values(y, {12, 13, 14, 0, 1, 2, 12, 13, 14});

  GradientTape tape;
  Tensor loss = sum(emb(idx));
  Tensor g = tape.gradient(loss, emb.trainable_variables())[0];
  check_values(g, {1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2});
  CHECK_THAT(error_of([&] { emb(tensor({1.f})); }), Catch::StartsWith("[embedding] indices must be i32 or i64, got f32"));
}

TEST_CASE("gradients of a model reach every trainable variable", "[nn]") {
  Model m;
  Tensor x = randn({6, 4}, 3);
  Tensor labels = tensor({0, 1, 2, 0, 1, 2});
  GradientTape tape;
  Tensor loss = cross_entropy(m(x), labels);
  auto vars = m.trainable_variables();
  auto grads = tape.gradient(loss, vars);
  REQUIRE(grads.size() == vars.size());
  for (size_t i = 0; i < vars.size(); ++i) CHECK(grads[i].shape() == vars[i].shape());
  CHECK(max(abs(grads.back())).item<double>() > 0);  // head/bias
}

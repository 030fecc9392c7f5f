// Module: registration of variables and sub-modules, path names, training mode.
#include "../support/check.h"
#include "ejit/nn.h"

namespace ejit::nn {

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

Tensor Module::forward(const Tensor&) { fail("module", "'{}' does not define forward()", type_name_); }

void Module::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos)
    fail("module", "'{}': invalid name '{}' (must be non-empty, without '/')", type_name_, name);
  for (const Entry& e : entries_)
    if (e.name == name) fail("module", "'{}' already has an entry named '{}'", type_name_, name);
}

Variable Module::add_variable(const std::string& name, const Tensor& initial, bool trainable) {
  check_new_name(name);
  if (!initial.defined()) fail("module", "'{}': the initial value of '{}' is an undefined tensor", type_name_, name);
  entries_.push_back({name, Variable(initial, name, trainable), nullptr});
  return entries_.back().variable;
}

Variable Module::add_variable(const std::string& name, const Variable& v) {
  check_new_name(name);
  if (!v.defined()) fail("module", "'{}': variable '{}' is undefined", type_name_, name);
  entries_.push_back({name, v, nullptr});
  return v;
}

void Module::add_module(std::shared_ptr<Module> m, std::string name) {
  if (!m) fail("module", "'{}': cannot register a null module", type_name_);
  if (m.get() == this) fail("module", "'{}': cannot register a module inside itself", type_name_);
  if (name.empty()) {
    auto taken = [&](const std::string& n) {
      for (const Entry& e : entries_)
        if (e.name == n) return true;
      return false;
    };
    name = m->type_name();
    for (int i = 1; taken(name); ++i) name = m->type_name() + "_" + std::to_string(i);
  }
  check_new_name(name);
  entries_.push_back({std::move(name), Variable(), std::move(m)});
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const {
  for (const Entry& e : entries_) {
    if (e.module) {
      e.module->collect(prefix + e.name + "/", out);
      continue;
    }
    bool seen = false;
    for (const auto& [path, v] : out) seen = seen || v.same(e.variable);
    if (!seen) out.emplace_back(prefix + e.name, e.variable);
  }
}

std::vector<std::pair<std::string, Variable>> Module::named_variables() const {
  std::vector<std::pair<std::string, Variable>> out;
  collect("", out);
  return out;
}

std::vector<Variable> Module::variables() const {
  std::vector<Variable> out;
  for (auto& [path, v] : named_variables()) out.push_back(v);
  return out;
}

std::vector<Variable> Module::trainable_variables() const {
  std::vector<Variable> out;
  for (auto& [path, v] : named_variables())
    if (v.trainable()) out.push_back(v);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::children() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const Entry& e : entries_)
    if (e.module) out.emplace_back(e.name, e.module);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (const Entry& e : entries_)
    if (e.module) e.module->train(on);
}

}  // namespace ejit::nn

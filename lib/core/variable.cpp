// Variable: shared state behind a handle; reads are reported to observers (tapes, recorders).
#include "ejit/variable.h"

#include "ejit/ops.h"
#include "../support/check.h"
#include "observer.h"

namespace ejit {

Variable::Variable(Tensor initial, std::string name, bool trainable) {
  if (!initial.defined()) fail("variable", "'{}': the initial value is an undefined tensor", name);
  state_ = std::make_shared<State>(State{std::move(initial), std::move(name), trainable});
}

const Variable::State& Variable::state(const char* op) const {
  if (!state_) fail(op, "use of an undefined variable");
  return *state_;
}

Tensor Variable::value() const {
  const State& s = state("variable");
  if (const auto* list = detail::observers())
    for (detail::OpObserver* o : *list) o->on_variable_read(*this, s.value);
  return s.value;
}

void Variable::assign(const Tensor& v) {
  const State& s = state("assign");
  if (!v.defined()) fail("assign", "variable '{}': the new value is an undefined tensor", s.name);
  if (v.shape() != s.value.shape() || v.dtype() != s.value.dtype())
    fail("assign", "variable '{}' holds {}{}, the new value is {}{}", s.name, s.value.dtype(), s.value.shape(),
         v.dtype(), v.shape());
  // A variable stays on its device: a value from another one (a checkpoint read on the
  // host, say) is copied there.
  state_->value = v.device() == s.value.device() ? v : v.to(s.value.device());
  if (const auto* list = detail::observers())
    for (detail::OpObserver* o : *list) o->on_variable_assign(*this, state_->value);
}

void Variable::assign_add(const Tensor& delta) { assign(cast(value() + delta, dtype())); }
void Variable::assign_sub(const Tensor& delta) { assign(cast(value() - delta, dtype())); }

const std::string& Variable::name() const { return state("variable").name; }
bool Variable::trainable() const { return state("variable").trainable; }
const Shape& Variable::shape() const { return state("variable").value.shape(); }
DType Variable::dtype() const { return state("variable").value.dtype(); }

}  // namespace ejit

// The thread-local op observer slot.
#include "observer.h"

namespace ejit::detail {
namespace {
thread_local OpObserver* t_observer = nullptr;
}

OpObserver* observer() { return t_observer; }
OpObserver* set_observer(OpObserver* o) {
  OpObserver* prev = t_observer;
  t_observer = o;
  return prev;
}

}  // namespace ejit::detail

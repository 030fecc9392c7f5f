// The thread-local list of op observers.
#include "observer.h"

#include <algorithm>

namespace ejit::detail {
namespace {
thread_local std::vector<OpObserver*> t_list;
thread_local int t_pause_depth = 0;
thread_local const std::vector<OpObserver*>* t_active = nullptr;

void refresh() { t_active = t_pause_depth == 0 && !t_list.empty() ? &t_list : nullptr; }
}  // namespace

const std::vector<OpObserver*>* observers() { return t_active; }

void add_observer(OpObserver* o) {
  t_list.push_back(o);
  refresh();
}

void remove_observer(OpObserver* o) {
  auto it = std::find(t_list.rbegin(), t_list.rend(), o);
  if (it != t_list.rend()) t_list.erase(std::next(it).base());
  refresh();
}

PauseRecording::PauseRecording() {
  ++t_pause_depth;
  refresh();
}

PauseRecording::~PauseRecording() {
  --t_pause_depth;
  refresh();
}

}  // namespace ejit::detail

// The tape's pointer set and the per-thread free lists behind tensors.
#include <catch2/catch.hpp>
#include <ejit/ejit.h>

#include <set>
#include <thread>
#include <vector>

#include "../../lib/autodiff/pointer_set.h"
#include "../../lib/core/small_objects.h"
#include "../../lib/core/tensor_list.h"

using namespace ejit;

TEST_CASE("PointerSet: inserts, finds and grows like a set", "[small_objects]") {
  detail::PointerSet s;
  std::set<const void*> ref;
  std::vector<int> storage(20000);
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < storage.size(); i += 1 + i % 3) {
      const void* p = &storage[i];
      REQUIRE(s.insert(p) == ref.insert(p).second);
    }
    REQUIRE(s.size() == ref.size());
    for (size_t i = 0; i < storage.size(); ++i) REQUIRE(s.contains(&storage[i]) == (ref.count(&storage[i]) > 0));
  }
  REQUIRE_FALSE(s.insert(nullptr));
  REQUIRE_FALSE(s.contains(nullptr));
  s.clear();
  REQUIRE(s.size() == 0);
  REQUIRE_FALSE(s.contains(&storage[0]));
  REQUIRE(s.insert(&storage[0]));
}

TEST_CASE("small objects: blocks are reused on a thread and may be freed on another", "[small_objects]") {
  void* a = detail::small_object_allocate(48);
  detail::small_object_free(a, 48);
  void* b = detail::small_object_allocate(40);  // the same size class: the block just freed
  REQUIRE(b == a);
  detail::small_object_free(b, 40);
  void* big = detail::small_object_allocate(4096);  // past the classes: the system's
  detail::small_object_free(big, 4096);
  // Tensors made on one thread and dropped on others (and the reverse) stay intact.
  std::vector<Tensor> made;
  for (int i = 0; i < 1000; ++i) made.push_back(full({3}, static_cast<double>(i)));
  bool intact = true;  // Catch2's assertions are for the test's own thread
  std::thread t([&] {
    std::vector<Tensor> mine;
    for (int i = 0; i < 1000; ++i) mine.push_back(full({2}, static_cast<double>(-i)));
    made.clear();  // freed on this thread
    for (int i = 0; i < 1000; ++i) intact &= mine[i].to_vector<float>() == std::vector<float>(2, static_cast<float>(-i));
  });
  t.join();
  REQUIRE(intact);
  std::vector<Tensor> again;
  for (int i = 0; i < 1000; ++i) again.push_back(full({3}, static_cast<double>(i) + 0.5));
  for (int i = 0; i < 1000; ++i) REQUIRE(again[i].to_vector<float>() == std::vector<float>(3, static_cast<float>(i) + 0.5f));
}

TEST_CASE("TensorList: inline up to four tensors, then on the heap, with copies sharing bodies", "[small_objects]") {
  std::vector<Tensor> ts;
  for (int i = 0; i < 9; ++i) ts.push_back(full({2}, static_cast<float>(i)));
  for (size_t n = 0; n <= ts.size(); ++n) {
    detail::TensorList l(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(n));
    detail::TensorList pushed;
    for (size_t i = 0; i < n; ++i) pushed.push_back(ts[i]);
    detail::TensorList copy = l, moved = std::move(pushed);
    REQUIRE(l.size() == n);
    REQUIRE(copy.size() == n);
    REQUIRE(moved.size() == n);
    REQUIRE(pushed.empty());  // NOLINT: a moved-from list is empty
    for (size_t i = 0; i < n; ++i) {
      REQUIRE(l[i].impl() == ts[i].impl());
      REQUIRE(copy[i].impl() == ts[i].impl());
      REQUIRE(moved[i].impl() == ts[i].impl());
    }
    REQUIRE(static_cast<size_t>(l.end() - l.begin()) == n);
    REQUIRE(l.vec().size() == n);
    copy = detail::TensorList{ts[0]};
    REQUIRE(copy.size() == 1);
  }
}

// A set of pointers with open addressing (linear probing, at most half full): a tape
// inserts one per recorded op, and std::unordered_set's node per insert was a heap
// allocation each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ejit::detail {

class PointerSet {
 public:
  /// True when p was not in the set.
  bool insert(const void* p) {
    if (!p) return false;
    if (2 * (size_ + 1) > slots_.size()) grow();
    const void*& slot = find(p);
    if (slot) return false;
    slot = p;
    ++size_;
    return true;
  }
  bool contains(const void* p) const {
    if (!p || slots_.empty()) return false;
    for (size_t i = hash(p);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i] == p) return true;
      if (!slots_[i]) return false;
    }
  }
  void clear() {
    slots_.clear();
    size_ = 0;
  }
  size_t size() const { return size_; }

 private:
  size_t hash(const void* p) const {
    const auto x = reinterpret_cast<uintptr_t>(p);
    return static_cast<size_t>((x >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (slots_.size() - 1);
  }
  const void*& find(const void* p) {
    for (size_t i = hash(p);; i = (i + 1) & (slots_.size() - 1))
      if (!slots_[i] || slots_[i] == p) return slots_[i];
  }
  void grow() {
    std::vector<const void*> old(slots_.empty() ? 64 : 2 * slots_.size(), nullptr);
    old.swap(slots_);
    for (const void* p : old)
      if (p) find(p) = p;
  }

  std::vector<const void*> slots_;
  size_t size_ = 0;
};

}  // namespace ejit::detail

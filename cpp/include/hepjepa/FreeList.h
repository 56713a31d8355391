// hepjepa::FreeList<T>: reusable scratch objects for a const, thread-safe run() (JetTagProducer).
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace hepjepa {

/// A mutex-guarded stack of T objects. A call leases one (made fresh when the stack is empty)
/// and gives it back when the lease ends, so buffers keep their capacity across calls and
/// threads, there are never more objects than the most calls at once, and all of them die with
/// the owner (a thread_local cache keyed by the owner's address outlived the owner instead).
/// T may be incomplete where a FreeList<T> member is declared; it must be complete where the
/// owner's constructor, destructor and lease() calls are compiled.
template <class T>
class FreeList {
public:
  /// Exclusive use of one T until destruction; movable, not copyable.
  class Lease {
  public:
    Lease(FreeList& owner, std::unique_ptr<T> item) : owner_(&owner), item_(std::move(item)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (item_) owner_->giveBack(std::move(item_));
    }
    T& operator*() const { return *item_; }
    T* operator->() const { return item_.get(); }

  private:
    FreeList* owner_;
    std::unique_ptr<T> item_;
  };

  FreeList() = default;
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  /// An object from the stack, or a new default-constructed one when every object is in use.
  Lease lease() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        std::unique_ptr<T> item = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(item));
      }
      // room for every object ever made, reserved now (where a throw is harmless) so that the
      // push_back in giveBack(), run from ~Lease, never allocates and so never throws
      free_.reserve(++made_);
    }
    return Lease(*this, std::make_unique<T>());
  }

  /// Objects currently on the stack (not leased).
  size_t idle() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return free_.size();
  }

private:
  void giveBack(std::unique_ptr<T> item) noexcept {
    const std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(item));
  }

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<T>> free_;
  size_t made_ = 0;
};

}  // namespace hepjepa

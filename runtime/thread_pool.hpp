// A fixed pool of worker threads owned by one Session.
//
// parallel_for splits [0, n) into one contiguous chunk per thread; every
// element is computed by the same code whichever thread runs it, so results
// do not depend on the thread count. No allocation per call: the work item
// is passed as a function pointer and a pointer to the caller's functor.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tspike {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n); returns when all
  // are done. The calling thread takes the first chunk.
  template <typename F>
  void parallel_for(int64_t n, F&& fn) {
    if (workers_.empty() || n < 2) {
      if (n > 0) fn(int64_t{0}, n);
      return;
    }
    run(
        n, [](void* f, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(f))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Task = void (*)(void*, int64_t, int64_t);
  void run(int64_t n, Task task, void* context);
  void work(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  Task task_ = nullptr;
  void* context_ = nullptr;
  int64_t n_ = 0;
};

}  // namespace tspike

#include "runtime/thread_pool.hpp"

namespace tspike {

namespace {
void chunk(int64_t n, int parts, int index, int64_t& begin, int64_t& end) {
  begin = n * index / parts;
  end = n * (index + 1) / parts;
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int k = 1; k < threads; ++k) workers_.emplace_back([this, k] { work(k); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run(int64_t n, Task task, void* context) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = task;
    context_ = context;
    n_ = n;
    pending_ = static_cast<int>(workers_.size());
    generation_++;
  }
  wake_.notify_all();
  int64_t begin, end;
  chunk(n, threads(), 0, begin, end);
  if (begin < end) task(context, begin, end);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::work(int index) {
  uint64_t seen = 0;
  for (;;) {
    Task task;
    void* context;
    int64_t n;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      task = task_;
      context = context_;
      n = n_;
    }
    int64_t begin, end;
    chunk(n, threads(), index, begin, end);
    if (begin < end) task(context, begin, end);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

}  // namespace tspike

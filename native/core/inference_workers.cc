#include "core/inference_workers.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>

#include <algorithm>
#include <utility>

namespace te {

InferenceWorkers::InferenceWorkers(int workers, int intra_op_threads)
    : intra_op_threads_(std::max({1, workers, intra_op_threads})) {
  const int count = std::max(1, workers);
  threads_.reserve(count);
  for (int i = 0; i < count; ++i) {
    // The first `intra_op_threads_ % count` workers take one thread more than the rest.
    const int share = intra_op_threads_ / count + (i < intra_op_threads_ % count ? 1 : 0);
    threads_.emplace_back([this, share] { Run(share); });
  }
}

InferenceWorkers::~InferenceWorkers() { CancelAndJoin(); }

bool InferenceWorkers::Post(Job job) { return Enqueue(std::move(job), false); }

bool InferenceWorkers::PostExclusive(Job job) { return Enqueue(std::move(job), true); }

bool InferenceWorkers::Enqueue(Job job, bool exclusive) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) return false;
    queue_.push_back(Entry{std::move(job), exclusive});
  }
  changed_.notify_all();
  return true;
}

void InferenceWorkers::FinishAndStop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
  }
  changed_.notify_all();
}

void InferenceWorkers::CancelAndJoin() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
    cancel_pending_ = true;
  }
  changed_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
  }
}

void InferenceWorkers::Run(int intra_op_threads) {
  // Both settings are per thread in libtorch, which is why they are made here and not at load.
  at::set_num_threads(intra_op_threads);
  // The profiling executor re-optimizes the graph during the first calls, which on a BERT-base
  // graph in libtorch 1.13 made the first forwards take seconds to minutes. Without it the first
  // forward costs about what later ones do (measured: README, "First forward").
  torch::jit::setGraphExecutorOptimize(false);

  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // While an exclusive job waits for the others to finish or runs, nothing behind it starts.
    changed_.wait(lock, [this] {
      return (!queue_.empty() && !exclusive_taken_) || (queue_.empty() && !accepting_);
    });
    if (queue_.empty()) return;
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    const bool cancelled = cancel_pending_;
    if (entry.exclusive) {
      exclusive_taken_ = true;
      changed_.wait(lock, [this] { return running_ == 0; });
    }
    ++running_;
    lock.unlock();
    entry.job(cancelled);
    // Destroyed before the lock is retaken: a job may own what must be freed on this thread.
    entry.job = nullptr;
    lock.lock();
    --running_;
    if (entry.exclusive) exclusive_taken_ = false;
    changed_.notify_all();
  }
}

}  // namespace te

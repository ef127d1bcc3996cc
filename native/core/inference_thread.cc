#include "core/inference_thread.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>

#include <utility>

namespace te {

InferenceThread::InferenceThread(int intra_op_threads)
    : intra_op_threads_(intra_op_threads < 1 ? 1 : intra_op_threads) {
  thread_ = std::thread([this] { Run(); });
}

InferenceThread::~InferenceThread() { CancelAndJoin(); }

bool InferenceThread::Post(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void InferenceThread::FinishAndStop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
  }
  wake_.notify_one();
}

void InferenceThread::CancelAndJoin() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepting_ = false;
    cancel_pending_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void InferenceThread::Run() {
  // Both settings are per thread in libtorch, which is why they are made here and not at load.
  at::set_num_threads(intra_op_threads_);
  // The profiling executor re-optimizes the graph during the first calls, which on a BERT-base
  // graph in libtorch 1.13 made the first forwards take seconds to minutes. Without it the first
  // forward costs about what later ones do (measured: README, "First forward").
  torch::jit::setGraphExecutorOptimize(false);

  for (;;) {
    Job job;
    bool cancelled = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return !queue_.empty() || !accepting_; });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      cancelled = cancel_pending_;
    }
    job(cancelled);
  }
}

}  // namespace te

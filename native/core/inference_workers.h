// The threads owned by one model, which run its load and its forwards.
//
// Forwards must not run on the event loop nor on libuv's shared pool (which also serves fs and
// DNS), and libtorch's intra-op thread count is a per-calling-thread OpenMP setting, so each model
// gets threads of its own, configured once when they start. One worker runs the queued jobs in
// order; several take the next job as each comes free, so that forwards too small to keep all
// intra-op threads busy run side by side instead (inter-op parallelism).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace te {

class InferenceWorkers {
 public:
  // A job receives `cancelled == true` instead of running when the workers stop before reaching
  // it, so that every job is answered exactly once.
  using Job = std::function<void(bool cancelled)>;

  // Starts `workers` threads (>= 1) that share `intra_op_threads` (>= workers) as evenly as they
  // can: each sets its own libtorch intra-op thread count and turns the TorchScript graph
  // executor's optimizations off (see model loading in README).
  InferenceWorkers(int workers, int intra_op_threads);
  // Cancels what is still queued and joins.
  ~InferenceWorkers();

  InferenceWorkers(const InferenceWorkers&) = delete;
  InferenceWorkers& operator=(const InferenceWorkers&) = delete;

  // Queues a job. Returns false, without running or cancelling it, once the workers are stopping.
  bool Post(Job job);

  // Queues a job that runs alone: after every job queued before it has finished, and before any
  // queued after it starts. Returns false as Post does.
  bool PostExclusive(Job job);

  // Lets the queued jobs run, then ends the threads. Returns at once; the destructor joins.
  void FinishAndStop();

  // Answers the queued jobs as cancelled, waits for the running ones, and joins.
  void CancelAndJoin();

  int workers() const { return static_cast<int>(threads_.size()); }
  int intra_op_threads() const { return intra_op_threads_; }

 private:
  struct Entry {
    Job job;
    bool exclusive;
  };

  bool Enqueue(Job job, bool exclusive);
  void Run(int intra_op_threads);

  const int intra_op_threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Entry> queue_;
  int running_ = 0;
  bool exclusive_taken_ = false;
  bool accepting_ = true;
  bool cancel_pending_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace te

// A thread owned by one model that runs its load and forwards in order.
//
// Forwards must not run on the event loop nor on libuv's shared pool (which also serves fs and
// DNS), and libtorch's intra-op thread count is a per-calling-thread OpenMP setting, so each model
// gets a thread of its own, configured once when it starts.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace te {

class InferenceThread {
 public:
  // A job receives `cancelled == true` instead of running when the thread stops before reaching
  // it, so that every job is answered exactly once.
  using Job = std::function<void(bool cancelled)>;

  // Starts the thread; on it, sets libtorch's intra-op thread count to `intra_op_threads` (>= 1)
  // and turns the TorchScript graph executor's optimizations off (see model loading in README).
  explicit InferenceThread(int intra_op_threads);
  // Cancels what is still queued and joins.
  ~InferenceThread();

  InferenceThread(const InferenceThread&) = delete;
  InferenceThread& operator=(const InferenceThread&) = delete;

  // Queues a job. Returns false, without running or cancelling it, once the thread is stopping.
  bool Post(Job job);

  // Lets the queued jobs run, then ends the thread. Returns at once; the destructor joins.
  void FinishAndStop();

  // Answers the queued jobs as cancelled, waits for the running one, and joins.
  void CancelAndJoin();

  int intra_op_threads() const { return intra_op_threads_; }

 private:
  void Run();

  const int intra_op_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool accepting_ = true;
  bool cancel_pending_ = false;
  std::thread thread_;
};

}  // namespace te

// One background writer that turns a stream of records into few transactions (group commit),
// shared by the audit log (audit/audit_log.h) and the invocation log (agents/invocation_log.h).
//
// Callers on any thread push() an item; one thread takes what is queued, up to max_batch items,
// and hands it to the owner's `write` (one transaction). Bounded twice: by count and by bytes
// (each item's size as the owner measures it: an invocation carries its request body), so a
// flood of large items cannot take memory that a count alone would allow. A full queue refuses
// the push at once; what that means (503, or drop and count) is the owner's choice.
//
// A failed batch is retried after `retry_pauses` (a busy database, a failover). If it still
// fails for a reason a single row can cause (StoreError kinds invalid, duplicate, gone, other),
// its items are written one by one, so that one bad record never takes the others down: the
// bad one is parked — reported not written, counted in `isolated`, logged with its description.
// When the store itself is unavailable (kinds busy, full) the items are not tried one by one.
// A batch whose connection went during its COMMIT (StoreError::commit_outcome_unknown) may be in
// the store: it is neither retried (that could write it twice) nor reported not written; its
// items are reported Written::maybe, for the owner to say so.
//
// Template over the item; the whole implementation is here.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/metrics.h"
#include "core/thread_priority.h"
#include "store/store_error.h"

namespace pc::store {

// What became of an item: committed, given up, or in a commit whose outcome is unknown.
enum class Written { yes, no, maybe };

// Series a writer keeps current; any may be null. Each owner passes its own families.
struct BatchMetrics {
  core::Counter* written = nullptr;   // items committed
  core::Counter* batches = nullptr;   // transactions committed
  core::Counter* failed = nullptr;    // items given up (their batch failed for good, or parked)
  core::Counter* rejected = nullptr;  // pushes refused: queue full (count or bytes) or stopped
  core::Counter* isolated = nullptr;  // bad records parked after their batch failed
  core::Gauge* depth = nullptr;       // items queued
  core::Gauge* bytes = nullptr;       // bytes queued
};

template <class Item>
class BatchWriter {
 public:
  struct Options {
    std::string name;  // in log lines: "audit", "invocation"
    std::size_t max_batch = 1024;
    std::size_t max_queue = 1 << 16;        // items waiting at most
    std::size_t max_queue_bytes = 64 << 20;  // bytes waiting at most (an item larger than this alone is refused)
    // How long items nobody waits on may gather before they are written; an urgent item (or
    // flush()) cuts it short.
    std::chrono::milliseconds linger{5};
    std::vector<std::chrono::milliseconds> retry_pauses;  // pauses before each retry of a failed batch
  };
  struct Hooks {
    std::function<std::size_t(const Item&)> size;  // bytes the item holds while queued
    // Writes the batch in one transaction, all or nothing; throws on failure and then leaves
    // the items as they were (they are retried, or written one by one).
    std::function<void(std::vector<Item>&)> write;
    // After the item's batch committed (yes), was given up (no), or went with its connection
    // during the commit (maybe). On the writer thread: keep it short. Optional.
    std::function<void(Item&, Written)> done;
    // Whether someone waits on the item (write it without lingering). Optional.
    std::function<bool(const Item&)> urgent;
    // A short identity for log lines about a parked item (an id, never content). Optional.
    std::function<std::string(const Item&)> describe;
  };

  BatchWriter(Options options, Hooks hooks, BatchMetrics metrics)
      : opts_(std::move(options)), hooks_(std::move(hooks)), metrics_(metrics) {
    if (opts_.max_batch == 0 || opts_.max_queue == 0 || opts_.max_queue_bytes == 0)
      throw std::invalid_argument(opts_.name + " writer: max_batch, max_queue and max_queue_bytes must be positive");
    if (!hooks_.write || !hooks_.size) throw std::invalid_argument(opts_.name + " writer: write and size are required");
    thread_ = std::thread([this] { run(); });
  }
  ~BatchWriter() { stop(); }
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  // Queues the item; false (counted in rejected, item dropped) when the queue is full by count
  // or by bytes, or the writer is stopped.
  bool push(Item item) {
    const std::size_t size = hooks_.size(item);
    const bool urgent = hooks_.urgent && hooks_.urgent(item);
    bool wake = false;
    {
      std::lock_guard lk(mu_);
      if (stopping_ || queue_.size() >= opts_.max_queue || size > opts_.max_queue_bytes - std::min(bytes_, opts_.max_queue_bytes)) {
        if (metrics_.rejected) metrics_.rejected->inc();
        return false;
      }
      queue_.push_back(Queued{std::move(item), size});
      bytes_ += size;
      ++queued_;
      publish_depth();
      // Only the first item after the writer went to sleep pays for a wake-up; the rest of a
      // burst queues behind it and goes out in the same batch.
      if (urgent && !urgent_) {
        urgent_ = true;
        wake = true;
      }
      if (idle_ || queue_.size() == opts_.max_batch) {
        idle_ = false;
        wake = true;
      }
    }
    if (wake) work_.notify_one();
    return true;
  }

  // Blocks until everything queued before the call is written or given up.
  void flush() {
    std::unique_lock lk(mu_);
    urgent_ = true;
    work_.notify_one();
    const std::uint64_t target = queued_;
    progress_.wait(lk, [&] { return finished_ >= target; });
  }

  // Refuses new items, writes everything queued, then joins the writer. Idempotent.
  void stop() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    work_.notify_one();
    std::call_once(joined_, [this] {
      if (thread_.joinable()) thread_.join();
    });
  }

 private:
  struct Queued {
    Item item;
    std::size_t size;
  };

  void publish_depth() {
    if (metrics_.depth) metrics_.depth->set(static_cast<double>(queue_.size()));
    if (metrics_.bytes) metrics_.bytes->set(static_cast<double>(bytes_));
  }

  void run() {
    // Below the I/O threads (core/thread_priority.h): a batch never holds up a client.
    core::name_this_thread(opts_.name + "-writer");
    core::lower_this_thread_priority(core::kWriterNice);
    std::vector<Item> batch;
    std::vector<Written> ok;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lk(mu_);
        while (queue_.empty() && !stopping_) {
          idle_ = true;
          work_.wait(lk);
        }
        idle_ = false;
        if (queue_.empty()) return;  // stopping, and everything queued was written
        if (!urgent_ && !stopping_ && queue_.size() < opts_.max_batch)
          work_.wait_for(lk, opts_.linger, [&] { return urgent_ || stopping_ || queue_.size() >= opts_.max_batch; });
        urgent_ = false;
        const std::size_t n = std::min(queue_.size(), opts_.max_batch);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          bytes_ -= queue_.front().size;
          batch.push_back(std::move(queue_.front().item));
          queue_.pop_front();
        }
        publish_depth();
      }
      ok.assign(batch.size(), Written::no);
      write(batch, ok);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (ok[i] != Written::yes && metrics_.failed) metrics_.failed->inc();
        if (!hooks_.done) continue;
        try {
          hooks_.done(batch[i], ok[i]);
        } catch (const std::exception& e) {
          // An owner's bug must not kill the writer: every later item would hang.
          log::error(opts_.name + " writer: completion callback threw", {{"reason", e.what()}});
        } catch (...) {
          log::error(opts_.name + " writer: completion callback threw", {{"reason", "unknown exception"}});
        }
      }
      {
        std::lock_guard lk(mu_);
        finished_ += batch.size();
      }
      progress_.notify_all();
    }
  }

  // One attempt; the error kind when it failed, and whether it failed in a commit that may have
  // gone through.
  bool attempt(std::vector<Item>& items, StoreError::Kind& kind, std::string& reason, bool& unknown) {
    unknown = false;
    try {
      hooks_.write(items);
      if (metrics_.batches) metrics_.batches->inc();
      if (metrics_.written) metrics_.written->inc(static_cast<double>(items.size()));
      return true;
    } catch (const StoreError& e) {
      kind = e.kind();
      reason = e.what();
      unknown = e.commit_outcome_unknown();
    } catch (const std::exception& e) {
      kind = StoreError::Kind::other;
      reason = e.what();
    }
    return false;
  }

  void write(std::vector<Item>& batch, std::vector<Written>& ok) {
    StoreError::Kind kind = StoreError::Kind::other;
    std::string reason;
    bool unknown = false;
    for (std::size_t tries = 0;; ++tries) {
      if (attempt(batch, kind, reason, unknown)) {
        ok.assign(batch.size(), Written::yes);
        return;
      }
      if (unknown) {
        log::error(opts_.name + " batch's commit outcome is unknown (the connection went during it); "
                                "its records are reported maybe written",
                   {{"reason", reason}, {"records", batch.size()}});
        ok.assign(batch.size(), Written::maybe);
        return;
      }
      if (tries >= opts_.retry_pauses.size()) break;
      // The reason only: items may carry what the log must not (paths, ids, content).
      log::warn(opts_.name + " batch write failed, retrying",
                {{"reason", reason}, {"records", batch.size()}, {"attempt", tries + 1}});
      std::this_thread::sleep_for(opts_.retry_pauses[tries]);
    }
    const bool store_unavailable = kind == StoreError::Kind::busy || kind == StoreError::Kind::full;
    if (store_unavailable) {
      log::error(opts_.name + " batch not written; its records are reported not written",
                 {{"reason", reason}, {"records", batch.size()}});
      return;
    }
    if (batch.size() == 1) {  // refused on its own already
      park(batch.front(), reason);
      return;
    }
    // A row can fail the whole batch (PostgreSQL refuses a value, a duplicate key): write them
    // one by one, in order, and park only those that fail on their own.
    log::warn(opts_.name + " batch failed; writing its records one by one to isolate the bad one",
              {{"reason", reason}, {"records", batch.size()}});
    std::vector<Item> one;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      one.clear();
      one.push_back(std::move(batch[i]));
      ok[i] = attempt(one, kind, reason, unknown) ? Written::yes : unknown ? Written::maybe : Written::no;
      batch[i] = std::move(one.front());
      if (ok[i] == Written::yes) continue;
      if (unknown || kind == StoreError::Kind::busy || kind == StoreError::Kind::full) {
        // The store went away meanwhile: the rest would fail the same way.
        log::error(opts_.name + " records not written: the store is unavailable",
                   {{"reason", reason}, {"records", batch.size() - i}});
        return;
      }
      park(batch[i], reason);
    }
  }

  void park(const Item& item, const std::string& reason) {
    if (metrics_.isolated) metrics_.isolated->inc();
    log::error(opts_.name + " record parked: the store refuses it; the rest of its batch is written",
               {{"record", hooks_.describe ? hooks_.describe(item) : std::string("?")}, {"reason", reason}});
  }

  const Options opts_;
  const Hooks hooks_;
  const BatchMetrics metrics_;

  std::mutex mu_;
  std::condition_variable work_;      // the writer waits here for items (or stop)
  std::condition_variable progress_;  // flush() waits here for batches to finish
  std::deque<Queued> queue_;
  std::size_t bytes_ = 0;
  bool stopping_ = false;
  bool idle_ = false;    // the writer is (about to be) asleep on work_: wake it
  bool urgent_ = false;  // an item has a waiter (or flush() was called): no lingering
  std::uint64_t queued_ = 0;
  std::uint64_t finished_ = 0;
  std::once_flag joined_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace pc::store

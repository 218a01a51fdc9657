// Names and priorities of the gateway's background threads. The I/O threads answer clients; the
// writers (audit, invocation records), the SQLite checkpointer and the log writer only have to
// keep up. On a core shared with an I/O thread, a background thread woken for a batch used to run
// its whole batch (milliseconds) while every connection of that I/O thread waited: the tail of
// the invoke benchmark. A higher nice value gives it a smaller weight, so the scheduler lets a
// woken I/O thread preempt it, while it still gets its share of the CPU under full load (nice 5
// is about a third of a nice-0 thread's weight; the writers never starve, they batch more).
#pragma once

#include <string_view>

namespace pc::core {

// How much lower than the I/O threads each kind of background thread runs (nice increments).
inline constexpr int kWriterNice = 5;        // audit and invocation writers: batches to commit
inline constexpr int kMaintenanceNice = 10;  // checkpoints, log lines: deferrable

// Names the calling thread (visible in top -H, perf, gdb; at most 15 characters kept).
void name_this_thread(std::string_view name);
// Raises the calling thread's nice value by `increment` (Linux: per thread). Best effort: a
// failure leaves the priority as it was and is not an error.
void lower_this_thread_priority(int increment);

}  // namespace pc::core

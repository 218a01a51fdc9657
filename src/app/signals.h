// The process signals a long-running command reacts to: SIGHUP (reload) and SIGTERM/SIGINT
// (drain and exit). They are blocked in every thread and taken synchronously with sigwait by the
// one thread that handles them, so no thread ever runs a signal's default action.
//
// A thread inherits the signal mask of the thread that starts it, so block_process_signals()
// must run before the process starts ANY thread: main() calls it before `serve` and
// `example-agent` do anything else. One thread started earlier (the log writer, say) keeps the
// signals unblocked, and the kernel hands it every signal that arrives while the handling thread
// is busy (a reload, a drain): SIGHUP's default action then ends the process.
#pragma once

namespace pc::app {

// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread (and so in every thread it starts).
void block_process_signals();

// Waits for one of them (they must be blocked) and returns its number.
int wait_process_signal();

}  // namespace pc::app

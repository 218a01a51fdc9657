#include "core/thread_priority.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace pc::core {

void name_this_thread(std::string_view name) {
  std::string n(name.substr(0, 15));  // the kernel keeps 16 bytes with the NUL
  pthread_setname_np(pthread_self(), n.c_str());
}

void lower_this_thread_priority(int increment) {
  if (increment <= 0) return;
#ifdef __linux__
  // On Linux nice is a property of the thread (PRIO_PROCESS with a thread id).
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return;
  (void)::setpriority(PRIO_PROCESS, tid, now + increment);
#endif
}

}  // namespace pc::core

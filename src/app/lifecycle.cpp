#include "app/lifecycle.h"

#include <algorithm>
#include <exception>

#include "core/log.h"

namespace pc::app {

Lifecycle::~Lifecycle() { shutdown(std::chrono::milliseconds(0)); }

void Lifecycle::start(Subsystem s, const std::function<void()>& start) {
  if (start) start();
  started_.push_back(std::move(s));
}

void Lifecycle::shutdown(std::chrono::milliseconds drain) {
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (!started_.empty()) {
    Subsystem s = std::move(started_.back());
    started_.pop_back();
    try {
      if (s.drain) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        s.drain(std::max(left, std::chrono::milliseconds(0)));
      }
      if (s.stop) s.stop();
    } catch (const std::exception& e) {
      // Keep stopping the rest: what is left must still stop before it is destroyed.
      log::error("subsystem failed to stop cleanly", {{"subsystem", s.name}, {"error", e.what()}});
    }
  }
}

std::vector<std::string> Lifecycle::names() const {
  std::vector<std::string> out;
  for (const auto& s : started_) out.push_back(s.name);
  return out;
}

}  // namespace pc::app

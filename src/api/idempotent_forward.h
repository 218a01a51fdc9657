// How run_idempotent sees the answer of a proxied request (api/idempotent.h). Apart so that it
// can be tested with ForwardTo-like types: net's ForwardTo gains `transform` and `on_outcome`
// in issue 9 (helper "net"); this compiles with or without them.
#pragma once

#include <functional>
#include <utility>

#include "net/http.h"

namespace pc::api::detail {

// With a transform (buffered mode): `answered(response)` gets the Response the transform
// returns, then `ended()` runs once the exchange is over (on_outcome). Without (a relayed body
// that never passes here): only `ended()`, from on_complete. The route's own hooks still run.
template <class To>
void watch_forward(To& to, std::function<void(const net::Response&)> answered, std::function<void()> ended) {
  if constexpr (requires { to.transform; to.on_outcome; }) {
    if (to.transform) {
      to.transform = [inner = std::move(to.transform), answered](auto&& answer) {
        net::Response r = inner(std::forward<decltype(answer)>(answer));
        answered(r);
        return r;
      };
      to.on_outcome = [prev = std::move(to.on_outcome), ended](auto&& outcome) {
        ended();
        if (prev) prev(std::forward<decltype(outcome)>(outcome));
      };
      return;
    }
  }
  to.on_complete = [prev = std::move(to.on_complete), ended](int status) {
    ended();
    if (prev) prev(status);
  };
}

}  // namespace pc::api::detail

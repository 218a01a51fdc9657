// Runs a service's change through its store::AuditedChange (store/store.h) when the caller
// passed one, else on its own: the one place services spell that choice.
#pragma once

#include <functional>
#include <string>

#include "store/store.h"

namespace pc::store {

inline void run_audited(const AuditedChange& audited, const std::string& tenant_id, const std::string& action,
                        const std::string& resource, const std::function<void()>& change) {
  if (audited)
    audited(tenant_id, action, resource, change);
  else
    change();
}

}  // namespace pc::store

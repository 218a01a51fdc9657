// The seam for daily quotas counted by every node together (docs/usage-plans.md "Many nodes"),
// as tenancy::RateLimiter is for rates: the QuotaMeter keeps deciding on its own view, on the hot
// path; a SharedQuota (cluster::RedisSharedQuota) sends what the node admitted to a counter every
// node shares and hands the cluster's total back through QuotaMeter::raise_view, so a node's view
// is the cluster's count as of its last answer plus what it counted since.
#pragma once

#include <cstdint>
#include <string_view>

namespace pc::tenancy {

enum class Meter { invocations = 0, tool_calls = 1 };

class SharedQuota {
 public:
  virtual ~SharedQuota() = default;
  // Called by QuotaMeter::consume under the tenant's counter lock, after its own check passed
  // (`view` + n <= `limit`, or `limit` 0 = unlimited): false refuses the call (what this node
  // holds of the quota is spent and more is on its way, see cluster/shared_quota.h). True: the n
  // calls are this node's, sent without waiting. Never blocks, never calls back into the meter.
  virtual bool take(std::string_view tenant, std::int64_t day, Meter meter, std::uint64_t view, std::uint64_t limit,
                    std::uint32_t n) = 0;
  // A call refused by the meter's own view: the view may be stale, ask for the total (no wait).
  virtual void refresh(std::string_view tenant, std::int64_t day, Meter meter, std::uint64_t view,
                       std::uint64_t limit) = 0;
};

}  // namespace pc::tenancy

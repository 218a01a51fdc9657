// GET /v1/jobs/{jobId} (SPEC §5): an async job as its own tenant sees it. Another tenant's job
// is "not found", exactly like an id that does not exist — and when the id is real, the attempt
// is counted and audited as a tenant-access violation (docs/jobs.md).
#pragma once

#include "api/chain.h"
#include "net/router.h"

namespace pc::agents {
class JobService;
struct JobView;
}
namespace pc::core {
class WorkPool;
}

namespace pc::api {

struct JobRoutesDeps {
  const Chain* chain = nullptr;
  agents::JobService* jobs = nullptr;
  core::WorkPool* pool = nullptr;  // store reads run here, never on the I/O thread
};

void add_job_routes(net::Router& router, JobRoutesDeps deps);

// GET /v1/jobs/{jobId}'s body for a job (also a webhook's payload for a finished job).
std::string job_body(const agents::JobView& job);

// The 202 of an accepted async invocation: {jobId, status:"accepted", mode:"async", pollUrl}.
net::Response job_accepted_response(const std::string& job_id);

}  // namespace pc::api
